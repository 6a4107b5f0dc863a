"""Tables of portal.habilitation."""

from __future__ import annotations

from datetime import datetime

from sqlalchemy import ForeignKey, Index, String, Text
from sqlalchemy.orm import Mapped, mapped_column

from assmat.core.db.base import Base, _now, same_tenant, tenant_key

# received → consent_requested → consent_received → activated; or closed: oriented (not on
# file: « vous êtes orienté vers le Pôle PMI »), rejected (with a reason), expired (abandoned).
OPEN_STATES = ("received", "consent_requested", "consent_received")
STATES = {
    "received": "reçue",
    "consent_requested": "consentement demandé",
    "consent_received": "consentement reçu",
    "activated": "habilitation activée",
    "oriented": "orientée vers le Pôle PMI",
    "rejected": "refusée",
    "expired": "expirée",
}


class HabilitationRequest(Base):
    """An assistant's online request for an habilitation (seed 004), as typed, then matched
    against the assistants on file (`account_id`) and worked by the tenant's staff."""

    __tablename__ = "habilitation_requests"
    __table_args__ = (
        tenant_key(),
        same_tenant("account_id", "accounts", ondelete="CASCADE"),
        Index("ix_habilitation_requests_tenant_state", "tenant_id", "state", "updated_at"),
        Index("ix_habilitation_requests_tenant_account", "tenant_id", "account_id"),
    )

    id: Mapped[int] = mapped_column(primary_key=True)
    tenant_id: Mapped[str] = mapped_column(ForeignKey("tenants.slug"))
    state: Mapped[str] = mapped_column(String(20), default="received")
    status: Mapped[str] = mapped_column(String(40))  # the status chosen on the first page
    civility: Mapped[str] = mapped_column(String(10))
    last_name: Mapped[str] = mapped_column(String(100))
    first_name: Mapped[str] = mapped_column(String(100))
    street_number: Mapped[str | None] = mapped_column(String(10))
    street_type: Mapped[str | None] = mapped_column(String(40))
    street_name: Mapped[str] = mapped_column(String(200))
    postal_code: Mapped[str] = mapped_column(String(5))
    city: Mapped[str] = mapped_column(String(100))
    phone: Mapped[str] = mapped_column(String(40))
    email: Mapped[str] = mapped_column(String(254))  # as typed: mail goes only here
    email_key: Mapped[str] = mapped_column(String(254))
    account_id: Mapped[int | None]  # the assistant on file it matched, if any
    matched_by: Mapped[str | None] = mapped_column(String(20))  # email | name_postcode
    ip: Mapped[str | None] = mapped_column(String(45))
    created_at: Mapped[datetime] = mapped_column(default=_now)
    updated_at: Mapped[datetime] = mapped_column(default=_now)  # the last step: expiry counts from it
    consent_requested_at: Mapped[datetime | None]
    consent_received_at: Mapped[datetime | None]
    closed_at: Mapped[datetime | None]  # activated, oriented, rejected or expired
    decided_by: Mapped[str | None] = mapped_column(String(254))
    rejection_reason: Mapped[str | None] = mapped_column(Text)

    def __str__(self) -> str:
        return f"Demande n° {self.id}"
