"""Tables of portal.children."""

from __future__ import annotations

from datetime import date, datetime

from sqlalchemy import CheckConstraint, ForeignKey, Index, SmallInteger, String, UniqueConstraint, false
from sqlalchemy.orm import Mapped, mapped_column, relationship

from assmat.core.db.base import Base, _now, same_tenant, tenant_key


class Child(Base):
    """A child an assistant declares as hosted (seed 001 §2.4.1); its guardians are rows of their own."""

    __tablename__ = "children"
    __table_args__ = (
        Index("ix_children_tenant_account", "tenant_id", "account_id"),
        Index("ix_children_tenant_declared", "tenant_id", "declared_at"),
        same_tenant("account_id", "accounts", ondelete="CASCADE"),
        tenant_key(),
    )

    id: Mapped[int] = mapped_column(primary_key=True)
    tenant_id: Mapped[str] = mapped_column(ForeignKey("tenants.slug"))
    account_id: Mapped[int]
    last_name: Mapped[str] = mapped_column(String(100))
    first_name: Mapped[str] = mapped_column(String(100))
    birth_date: Mapped[date]
    # Main address (guardian 1), required; second address only when guardian 2 lives elsewhere.
    address: Mapped[str] = mapped_column(String(300))
    postal_code: Mapped[str] = mapped_column(String(10))
    city: Mapped[str] = mapped_column(String(100))
    has_second_address: Mapped[bool] = mapped_column(default=False)
    second_address: Mapped[str | None] = mapped_column(String(300))
    second_postal_code: Mapped[str | None] = mapped_column(String(10))
    second_city: Mapped[str | None] = mapped_column(String(100))

    declared_at: Mapped[datetime] = mapped_column(default=_now)  # first declaration: the 8-day rule
    # Kept by every save from the periods, so the console filters and sorts on plain columns.
    care_start: Mapped[date | None]  # the earliest period's start
    declared_late: Mapped[bool] = mapped_column(default=False, server_default=false())  # children.is_late
    created_at: Mapped[datetime] = mapped_column(default=_now)
    updated_at: Mapped[datetime] = mapped_column(default=_now, onupdate=_now)

    # Never loaded behind the caller's back: a page loads them for its children in one query,
    # scoped to the tenant (`selectinload(Child.guardians.and_(Guardian.tenant_id == …))`).
    # The database deletes them with the child (ON DELETE CASCADE).
    guardians: Mapped[list[Guardian]] = relationship(
        order_by="Guardian.position", lazy="raise", passive_deletes=True, cascade="all, delete-orphan"
    )

    def guardian(self, position: int) -> Guardian | None:
        """Legal guardian 1 or 2, when given (guardians must be loaded)."""
        return next((guardian for guardian in self.guardians if guardian.position == position), None)


class Guardian(Base):
    """A legal guardian of a declared child (« représentant légal » 1 or 2), stored only when
    the assistant gave any of its details: optional in the form, "mais doivent être renseignées"
    (seed 001 §2.4.1). Parents' accounts will link to these rows."""

    __tablename__ = "guardians"
    __table_args__ = (
        UniqueConstraint("tenant_id", "child_id", "position"),
        CheckConstraint("position IN (1, 2)", name="position"),
        same_tenant("child_id", "children", ondelete="CASCADE"),
    )

    id: Mapped[int] = mapped_column(primary_key=True)
    tenant_id: Mapped[str] = mapped_column(ForeignKey("tenants.slug"))
    child_id: Mapped[int] = mapped_column(index=True)
    position: Mapped[int] = mapped_column(SmallInteger)  # 1 or 2, as numbered on the form
    civility: Mapped[str | None] = mapped_column(String(20))
    last_name: Mapped[str | None] = mapped_column(String(100))
    first_name: Mapped[str | None] = mapped_column(String(100))
    email: Mapped[str | None] = mapped_column(String(254))
    phone: Mapped[str | None] = mapped_column(String(40))


class CarePeriod(Base):
    """One row of a child's "Périodes d'accueil": a tenant childcare type code and its dates."""

    __tablename__ = "care_periods"
    __table_args__ = (same_tenant("child_id", "children", ondelete="CASCADE"),)

    id: Mapped[int] = mapped_column(primary_key=True)
    tenant_id: Mapped[str] = mapped_column(ForeignKey("tenants.slug"))
    child_id: Mapped[int] = mapped_column(index=True)
    childcare_type: Mapped[str] = mapped_column(String(40))  # ChildcareType.code of the tenant
    start_date: Mapped[date]
    end_date: Mapped[date | None]
    hours_per_month: Mapped[int | None]  # only on the type with max_hours_per_month
    comment: Mapped[str | None] = mapped_column(String(500))
