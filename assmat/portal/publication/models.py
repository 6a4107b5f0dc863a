"""Tables of portal.publication: the register of the assistant's choices and her fiche's state."""

from __future__ import annotations

from datetime import datetime

from sqlalchemy import CheckConstraint, ForeignKey, Index, String, UniqueConstraint
from sqlalchemy.orm import Mapped, mapped_column

from assmat.core.db.base import Base, _now, same_tenant

# The register's kinds of line and where each came from.
CONSENT = "consent"
CONSENT_WITHDRAWN = "consent_withdrawn"
OBJECTION = "objection"
OBJECTION_WITHDRAWN = "objection_withdrawn"
KINDS = (CONSENT, CONSENT_WITHDRAWN, OBJECTION, OBJECTION_WITHDRAWN)
SOURCES = ("form", "import", "staff")


class PublicationEvent(Base):
    """One line of the register (« Registre des consentements »): a consent, an objection, or the
    withdrawal of either, with its date and its source. Never updated, never deleted but with
    the account."""

    __tablename__ = "publication_register"
    __table_args__ = (
        Index("ix_publication_register_tenant_time", "tenant_id", "created_at"),
        CheckConstraint(f"kind IN {KINDS!r}", name="kind"),
        CheckConstraint(f"source IN {SOURCES!r}", name="source"),
        same_tenant("account_id", "accounts", ondelete="CASCADE"),
    )

    id: Mapped[int] = mapped_column(primary_key=True)
    tenant_id: Mapped[str] = mapped_column(ForeignKey("tenants.slug"))
    account_id: Mapped[int] = mapped_column(index=True)
    kind: Mapped[str] = mapped_column(String(30))
    source: Mapped[str] = mapped_column(String(10))
    # Who recorded it for a staff line (the console user's email, kept if the access is removed).
    recorded_by: Mapped[str | None] = mapped_column(String(254))
    created_at: Mapped[datetime] = mapped_column(default=_now)


class PublicationState(Base):
    """The fiche's current state, updated in the same transaction as each register line (the
    register is the history, this row the answer every page and query reads): the standing
    choice, and a suspension by staff with its reason."""

    __tablename__ = "publication_states"
    __table_args__ = (
        UniqueConstraint("tenant_id", "account_id"),
        CheckConstraint("choice IN ('consent', 'objection')", name="choice"),
        same_tenant("account_id", "accounts", ondelete="CASCADE"),
    )

    id: Mapped[int] = mapped_column(primary_key=True)
    tenant_id: Mapped[str] = mapped_column(ForeignKey("tenants.slug"))
    account_id: Mapped[int]
    choice: Mapped[str | None] = mapped_column(String(20))  # consent | objection | None (none standing)
    # The last register line's kind: tells « never consented » from « consent withdrawn ».
    last_kind: Mapped[str | None] = mapped_column(String(30))
    choice_at: Mapped[datetime | None]
    suspended_at: Mapped[datetime | None]
    suspension_reason: Mapped[str | None] = mapped_column(String(500))
    suspended_by: Mapped[str | None] = mapped_column(String(254))
    updated_at: Mapped[datetime] = mapped_column(default=_now, onupdate=_now)
