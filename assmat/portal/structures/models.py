"""Tables of portal.structures: the tenant's MAM (maisons d'assistants maternels) and relais."""

from __future__ import annotations

from datetime import datetime

from sqlalchemy import CheckConstraint, ForeignKey, String, Text, UniqueConstraint
from sqlalchemy.orm import Mapped, mapped_column

from assmat.core.db.base import Base, _now, same_tenant, tenant_key

KINDS = ("mam", "ram")


class Structure(Base):
    """A MAM or a relais (the seed's RAM), and the account that signs in for it by its email."""

    __tablename__ = "structures"
    __table_args__ = (
        CheckConstraint(f"kind IN {KINDS!r}", name="kind"),
        UniqueConstraint("tenant_id", "account_id", name="uq_structures_tenant_account"),
        same_tenant("account_id", "accounts", beside_set_null=True),
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
    account_id: Mapped[int | None] = mapped_column(ForeignKey("accounts.id", ondelete="SET NULL"))
    created_at: Mapped[datetime] = mapped_column(default=_now)

    def __str__(self) -> str:
        return self.name
