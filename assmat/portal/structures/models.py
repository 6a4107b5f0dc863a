"""Tables of portal.structures: the tenant's MAM (maisons d'assistants maternels) and relais, the
accounts that sign in for each, and the assistants who work in a MAM."""

from __future__ import annotations

from datetime import datetime

from sqlalchemy import CheckConstraint, ForeignKey, String, Text, UniqueConstraint
from sqlalchemy.orm import Mapped, mapped_column

from assmat.core.db.base import Base, _now, same_tenant, tenant_key

KINDS = ("mam", "ram")


class Structure(Base):
    """A MAM or a relais (the seed's RAM) and its public fiche.

    Staff set the kind, the name, the email (the identifier of its first account, never an
    assistant's) and a relais' communes; the structure's accounts edit the rest of the fiche
    (« Notre fiche »): what it publishes is exactly what it filled in (`public_email` is the
    address parents see, the staff's `email` is only for signing in and mail)."""

    __tablename__ = "structures"
    __table_args__ = (
        CheckConstraint(f"kind IN {KINDS!r}", name="kind"),
        tenant_key(),
    )

    id: Mapped[int] = mapped_column(primary_key=True)
    tenant_id: Mapped[str] = mapped_column(ForeignKey("tenants.slug"), index=True)
    kind: Mapped[str] = mapped_column(String(3))
    name: Mapped[str] = mapped_column(String(200))
    address: Mapped[str | None] = mapped_column(String(300))
    postal_code: Mapped[str | None] = mapped_column(String(10))
    city: Mapped[str | None] = mapped_column(String(100))
    email: Mapped[str] = mapped_column(String(254))
    phone: Mapped[str | None] = mapped_column(String(40))
    communes: Mapped[str | None] = mapped_column(Text)  # a relais: the communes it covers, one a line
    presentation: Mapped[str | None] = mapped_column(Text)
    public_email: Mapped[str | None] = mapped_column(String(254))
    hours: Mapped[str | None] = mapped_column(String(1000))  # « Horaires et accueil »: opening hours, how to reach it
    created_at: Mapped[datetime] = mapped_column(default=_now)
    updated_at: Mapped[datetime] = mapped_column(default=_now, onupdate=_now)

    def __str__(self) -> str:
        return self.name


class StructureAccount(Base):
    """An account that signs in for a structure (kind mam or ram, identifier its email); a
    structure has one or more, an account belongs to one structure."""

    __tablename__ = "structure_accounts"
    __table_args__ = (
        UniqueConstraint("tenant_id", "account_id"),
        same_tenant("structure_id", "structures", ondelete="CASCADE"),
        same_tenant("account_id", "accounts", ondelete="CASCADE"),
    )

    id: Mapped[int] = mapped_column(primary_key=True)
    tenant_id: Mapped[str] = mapped_column(ForeignKey("tenants.slug"))
    structure_id: Mapped[int] = mapped_column(index=True)
    account_id: Mapped[int]
    created_at: Mapped[datetime] = mapped_column(default=_now)


class StructureMember(Base):
    """An assistant who works in a MAM: at most one MAM each (the unique key), same tenant (the
    composite keys)."""

    __tablename__ = "structure_members"
    __table_args__ = (
        UniqueConstraint("tenant_id", "account_id"),
        same_tenant("structure_id", "structures", ondelete="CASCADE"),
        same_tenant("account_id", "accounts", ondelete="CASCADE"),
    )

    id: Mapped[int] = mapped_column(primary_key=True)
    tenant_id: Mapped[str] = mapped_column(ForeignKey("tenants.slug"))
    structure_id: Mapped[int] = mapped_column(index=True)
    account_id: Mapped[int]
    linked_by: Mapped[str | None] = mapped_column(String(254))  # the staff member, or « import »
    created_at: Mapped[datetime] = mapped_column(default=_now)
