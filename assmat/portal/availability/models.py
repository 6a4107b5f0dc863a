"""Tables of portal.availability: the assistant's declaration of availabilities (décret
2021-1131: she declares them, the declaration is valid 6 months), its places, their weekly
grid, the dated exceptions of the weekly view, and the reminders already sent.

The weekly grid is one row per place × weekday × time slot (`availability_slots`), not a
bitmask: the parents' search filters on days and slots with a plain, indexed
`EXISTS (… weekday = 2 AND slot = 'matin')` on both backends, and a slot keeps its stable code
from the tenant's YAML, so reordering or adding slots there never reinterprets stored bits."""

from __future__ import annotations

from datetime import date, datetime

from sqlalchemy import Boolean, CheckConstraint, ForeignKey, Index, SmallInteger, String, UniqueConstraint, false
from sqlalchemy.orm import Mapped, mapped_column

from assmat.core.db.base import Base, _now, same_tenant, tenant_key


class AvailabilityDeclaration(Base):
    """An assistant's current declaration: one per account, replaced at every « Enregistrer »."""

    __tablename__ = "availability_declarations"
    __table_args__ = (
        UniqueConstraint("tenant_id", "account_id"),
        Index("ix_availability_declarations_tenant_valid", "tenant_id", "valid_until"),
        same_tenant("account_id", "accounts", ondelete="CASCADE"),
        tenant_key(),
    )

    id: Mapped[int] = mapped_column(primary_key=True)
    tenant_id: Mapped[str] = mapped_column(ForeignKey("tenants.slug"))
    account_id: Mapped[int]
    declared_at: Mapped[datetime] = mapped_column(default=_now)
    declared_on: Mapped[date]  # the tenant-local day of declared_at: what the reminders compare
    valid_until: Mapped[date]  # declared_on + the tenant's validity_months; grey after it
    # « Pas de disponibilité »: declared explicitly, so it is red, not grey.
    none_available: Mapped[bool] = mapped_column(Boolean, default=False, server_default=false())


class AvailablePlace(Base):
    """A place for one age group: how many, from when (None: « maintenant »), until when, which kind."""

    __tablename__ = "availability_places"
    __table_args__ = (
        CheckConstraint("places > 0", name="places_positive"),
        same_tenant("declaration_id", "availability_declarations", ondelete="CASCADE"),
        tenant_key(),
    )

    id: Mapped[int] = mapped_column(primary_key=True)
    tenant_id: Mapped[str] = mapped_column(ForeignKey("tenants.slug"))
    declaration_id: Mapped[int] = mapped_column(index=True)
    position: Mapped[int] = mapped_column(SmallInteger)  # order on the form
    age_group: Mapped[str] = mapped_column(String(40))  # AgeGroup.code of the tenant
    places: Mapped[int] = mapped_column(SmallInteger)
    free_from: Mapped[date | None]
    free_until: Mapped[date | None]
    kind: Mapped[str] = mapped_column(String(20))  # regulier | periscolaire | occasionnel


class AvailableSlot(Base):
    """One ticked cell of a place's weekly grid: weekday (0 = Monday … 6 = Sunday) × time slot."""

    __tablename__ = "availability_slots"
    __table_args__ = (
        UniqueConstraint("tenant_id", "place_id", "weekday", "slot"),
        CheckConstraint("weekday BETWEEN 0 AND 6", name="weekday"),
        Index("ix_availability_slots_tenant_weekday_slot", "tenant_id", "weekday", "slot"),
        same_tenant("place_id", "availability_places", ondelete="CASCADE"),
    )

    id: Mapped[int] = mapped_column(primary_key=True)
    tenant_id: Mapped[str] = mapped_column(ForeignKey("tenants.slug"))
    place_id: Mapped[int]
    weekday: Mapped[int] = mapped_column(SmallInteger)
    slot: Mapped[str] = mapped_column(String(40))  # TimeSlot.code of the tenant


class AvailabilityException(Base):
    """A dated exception of the weekly view: that day (one slot, or the whole day when `slot` is
    None) is unavailable (holidays) or available although the grid says otherwise."""

    __tablename__ = "availability_exceptions"
    __table_args__ = (same_tenant("declaration_id", "availability_declarations", ondelete="CASCADE"),)

    id: Mapped[int] = mapped_column(primary_key=True)
    tenant_id: Mapped[str] = mapped_column(ForeignKey("tenants.slug"))
    declaration_id: Mapped[int] = mapped_column(index=True)
    day: Mapped[date]
    slot: Mapped[str | None] = mapped_column(String(40))
    available: Mapped[bool] = mapped_column(Boolean)


class AvailabilityReminder(Base):
    """A reminder sent: the unique key makes a rerun, or two replicas running the command at
    once, send each reminder once (the second insert fails and its mail is rolled back)."""

    __tablename__ = "availability_reminders"
    __table_args__ = (
        UniqueConstraint("tenant_id", "account_id", "kind", "due_on"),
        same_tenant("account_id", "accounts", ondelete="CASCADE"),
    )

    id: Mapped[int] = mapped_column(primary_key=True)
    tenant_id: Mapped[str] = mapped_column(ForeignKey("tenants.slug"))
    account_id: Mapped[int]
    kind: Mapped[str] = mapped_column(String(20))  # "season" (before 1 June / 1 December) | "place"
    due_on: Mapped[date]  # the deadline (1 June, 1 December) or the date the place becomes free
    sent_at: Mapped[datetime] = mapped_column(default=_now)
