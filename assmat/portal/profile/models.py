"""Tables of portal.profile: the assistant's public fiche (one row per assistant)."""

from __future__ import annotations

from datetime import datetime

from sqlalchemy import CheckConstraint, ForeignKey, String, Text, UniqueConstraint, false, true
from sqlalchemy.orm import Mapped, mapped_column

from assmat.core.db.base import Base, _now, same_tenant, tenant_key

# The offer flags parents search on: one boolean column each (`offer_<code>`), so the parents'
# search filters them in SQL. The labels live in assmat.portal.profile.service.OFFERS.
OFFER_CODES = (
    "periscolaire", "mercredi", "vacances_scolaires", "temps_partiel", "avant_7h", "apres_20h", "samedi",
    "dimanche", "nuit", "depannage_urgence", "handicap",
)
TEXT_STATES = ("approved", "pending", "rejected")
POSITION_SOURCES = ("geocoder", "correction", "import", "demo")
CORRECTION_STATES = ("pending", "accepted", "rejected")


class Fiche(Base):
    """What an assistant tells parents about her care, created on her first save.

    The free texts are stored twice where the tenant moderates them: `presentation`, `activities`
    and `project` are the approved texts the public fiche shows, `pending_*` what waits for the
    staff. Without moderation the pending columns stay empty. Contact channels are not copied
    here: the phone, email and address come from the account as imported; the fiche only says
    which of them parents see (`show_*`). `latitude`/`longitude` locate the place of exercise
    (the home or the MAM): `position_source` says where they come from (the geocoder, a
    correction accepted by staff, an import, the demo), and the geocoder's answer is kept with
    them (`geocode_*`) so that staff see how sure it is. `address_hash` is the hash of the
    account's address the position was computed (or corrected) for: when the address changes the
    background run geocodes it again (assmat.portal.profile.geolocation)."""

    __tablename__ = "fiches"
    __table_args__ = (
        UniqueConstraint("tenant_id", "account_id"),
        UniqueConstraint("tenant_id", "public_id"),
        CheckConstraint("texts_state IN ('approved', 'pending', 'rejected')", name="texts_state"),
        CheckConstraint("housing IS NULL OR housing IN ('appartement', 'maison')", name="housing"),
        CheckConstraint("position_source IS NULL OR position_source IN ('geocoder', 'correction', 'import', 'demo')",
                        name="position_source"),
        CheckConstraint("geocode_type IS NULL OR geocode_type IN ('housenumber', 'street', 'locality', 'municipality')",
                        name="geocode_type"),
        same_tenant("account_id", "accounts", ondelete="CASCADE"),
        tenant_key(),
    )

    id: Mapped[int] = mapped_column(primary_key=True)
    tenant_id: Mapped[str] = mapped_column(ForeignKey("tenants.slug"))
    account_id: Mapped[int]
    public_id: Mapped[str] = mapped_column(String(16))  # random, URL-safe: /assistants/{public_id}

    presentation: Mapped[str | None] = mapped_column(Text)
    activities: Mapped[str | None] = mapped_column(Text)
    project: Mapped[str | None] = mapped_column(Text)  # projet d'accueil
    pending_presentation: Mapped[str | None] = mapped_column(Text)
    pending_activities: Mapped[str | None] = mapped_column(Text)
    pending_project: Mapped[str | None] = mapped_column(Text)
    texts_state: Mapped[str] = mapped_column(String(10), default="approved", server_default="approved")
    texts_submitted_at: Mapped[datetime | None]
    texts_reviewed_at: Mapped[datetime | None]
    rejection_reason: Mapped[str | None] = mapped_column(String(500))

    housing: Mapped[str | None] = mapped_column(String(20))  # appartement | maison
    floor: Mapped[int | None]
    elevator: Mapped[bool] = mapped_column(default=False, server_default=false())
    garden: Mapped[bool] = mapped_column(default=False, server_default=false())
    pets: Mapped[str | None] = mapped_column(String(200))
    non_smoking: Mapped[bool] = mapped_column(default=False, server_default=false())
    vehicle: Mapped[bool] = mapped_column(default=False, server_default=false())

    # Amounts in euro cents: what a parent compares between assistants.
    hourly_rate_cents: Mapped[int | None]  # salaire horaire brut
    maintenance_cents: Mapped[int | None]  # indemnité d'entretien, par jour
    meal_cents: Mapped[int | None]  # repas fourni, par repas
    languages: Mapped[str | None] = mapped_column(String(200))

    offer_periscolaire: Mapped[bool] = mapped_column(default=False, server_default=false())
    offer_mercredi: Mapped[bool] = mapped_column(default=False, server_default=false())
    offer_vacances_scolaires: Mapped[bool] = mapped_column(default=False, server_default=false())
    offer_temps_partiel: Mapped[bool] = mapped_column(default=False, server_default=false())
    offer_avant_7h: Mapped[bool] = mapped_column(default=False, server_default=false())
    offer_apres_20h: Mapped[bool] = mapped_column(default=False, server_default=false())
    offer_samedi: Mapped[bool] = mapped_column(default=False, server_default=false())
    offer_dimanche: Mapped[bool] = mapped_column(default=False, server_default=false())
    offer_nuit: Mapped[bool] = mapped_column(default=False, server_default=false())
    offer_depannage_urgence: Mapped[bool] = mapped_column(default=False, server_default=false())
    offer_handicap: Mapped[bool] = mapped_column(default=False, server_default=false())

    show_phone: Mapped[bool] = mapped_column(default=True, server_default=true())
    show_email: Mapped[bool] = mapped_column(default=True, server_default=true())
    show_address: Mapped[bool] = mapped_column(default=True, server_default=true())
    calling_hours: Mapped[str | None] = mapped_column(String(200))
    contact_only_if_place: Mapped[bool] = mapped_column(default=False, server_default=false())

    latitude: Mapped[float | None]
    longitude: Mapped[float | None]
    position_source: Mapped[str | None] = mapped_column(String(12))  # POSITION_SOURCES
    geocoded_at: Mapped[datetime | None]
    geocode_score: Mapped[float | None]  # 0–1, the geocoder's confidence
    geocode_type: Mapped[str | None] = mapped_column(String(12))  # housenumber | street | locality | municipality
    geocode_label: Mapped[str | None] = mapped_column(String(300))  # the address the geocoder understood
    address_hash: Mapped[str | None] = mapped_column(String(64))  # of the address the position is for
    geocode_failed_at: Mapped[datetime | None]  # the geocoder found nothing for this address

    created_at: Mapped[datetime] = mapped_column(default=_now)
    updated_at: Mapped[datetime] = mapped_column(default=_now, onupdate=_now)


class PositionCorrection(Base):
    """An assistant's request to move her fiche's position (seed 002: she pastes the national
    address map's link), for staff to accept or reject with a reason she reads. One request per
    assistant: a new one replaces the last (`requested_*`, the state, the dates, the reason).
    The requested point is personal data: only she and staff ever see it."""

    __tablename__ = "position_corrections"
    __table_args__ = (
        UniqueConstraint("tenant_id", "account_id"),
        CheckConstraint("state IN ('pending', 'accepted', 'rejected')", name="state"),
        same_tenant("account_id", "accounts", ondelete="CASCADE"),
    )

    id: Mapped[int] = mapped_column(primary_key=True)
    tenant_id: Mapped[str] = mapped_column(ForeignKey("tenants.slug"))
    account_id: Mapped[int]
    latitude: Mapped[float]
    longitude: Mapped[float]
    url: Mapped[str] = mapped_column(String(500))
    message: Mapped[str | None] = mapped_column(String(1000))
    state: Mapped[str] = mapped_column(String(10), default="pending")
    requested_at: Mapped[datetime] = mapped_column(default=_now)
    reviewed_at: Mapped[datetime | None]
    reviewed_by: Mapped[str | None] = mapped_column(String(254))
    rejection_reason: Mapped[str | None] = mapped_column(String(500))


class AddressPosition(Base):
    """The geocoder's answer for the address of an assistant who has no fiche yet (imported,
    never signed in): the background run locates her address all the same, and her fiche takes
    this position, with its score and address hash, when her first save creates it (the row then
    goes). Kept apart rather than by creating her fiche early: a fiche row is what publishes her
    (the public fiche and the search join it), and that is her first save's to do."""

    __tablename__ = "address_positions"
    __table_args__ = (
        UniqueConstraint("tenant_id", "account_id"),
        same_tenant("account_id", "accounts", ondelete="CASCADE"),
    )

    id: Mapped[int] = mapped_column(primary_key=True)
    tenant_id: Mapped[str] = mapped_column(ForeignKey("tenants.slug"))
    account_id: Mapped[int]
    latitude: Mapped[float | None]
    longitude: Mapped[float | None]
    geocoded_at: Mapped[datetime | None]
    geocode_score: Mapped[float | None]
    geocode_type: Mapped[str | None] = mapped_column(String(12))
    geocode_label: Mapped[str | None] = mapped_column(String(300))
    address_hash: Mapped[str | None] = mapped_column(String(64))
    geocode_failed_at: Mapped[datetime | None]
