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


class Fiche(Base):
    """What an assistant tells parents about her care, created on her first save.

    The free texts are stored twice where the tenant moderates them: `presentation`, `activities`
    and `project` are the approved texts the public fiche shows, `pending_*` what waits for the
    staff. Without moderation the pending columns stay empty. Contact channels are not copied
    here: the phone, email and address come from the account as imported; the fiche only says
    which of them parents see (`show_*`). `latitude`/`longitude` locate the place of exercise
    (the home or the MAM), filled by the demo or an import until a geocoder exists."""

    __tablename__ = "fiches"
    __table_args__ = (
        UniqueConstraint("tenant_id", "account_id"),
        UniqueConstraint("tenant_id", "public_id"),
        CheckConstraint("texts_state IN ('approved', 'pending', 'rejected')", name="texts_state"),
        CheckConstraint("housing IS NULL OR housing IN ('appartement', 'maison')", name="housing"),
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

    created_at: Mapped[datetime] = mapped_column(default=_now)
    updated_at: Mapped[datetime] = mapped_column(default=_now, onupdate=_now)
