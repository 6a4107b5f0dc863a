"""Tables of portal.children."""

from __future__ import annotations

from datetime import date, datetime

from sqlalchemy import ForeignKey, Index, String, false
from sqlalchemy.orm import Mapped, mapped_column

from assmat.core.db.base import Base, _now, same_tenant, tenant_key


class Child(Base):
    """A child an assistant declares as hosted (seed 001 §2.4.1), with the guardians' details."""

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
    # Guardians: optional in the form, "mais doivent être renseignées".
    guardian1_civility: Mapped[str | None] = mapped_column(String(20))
    guardian1_last_name: Mapped[str | None] = mapped_column(String(100))
    guardian1_first_name: Mapped[str | None] = mapped_column(String(100))
    guardian1_email: Mapped[str | None] = mapped_column(String(254))
    guardian1_phone: Mapped[str | None] = mapped_column(String(40))
    guardian2_civility: Mapped[str | None] = mapped_column(String(20))
    guardian2_last_name: Mapped[str | None] = mapped_column(String(100))
    guardian2_first_name: Mapped[str | None] = mapped_column(String(100))
    guardian2_email: Mapped[str | None] = mapped_column(String(254))
    guardian2_phone: Mapped[str | None] = mapped_column(String(40))
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
