"""Tables of portal.space."""

from __future__ import annotations

from datetime import datetime

from sqlalchemy import ForeignKey, Index, Text
from sqlalchemy.orm import Mapped, mapped_column

from assmat.core.db.base import Base, _now, same_tenant


class SituationChange(Base):
    """"Signaler un changement de situation": free text from an assistant, for the staff."""

    __tablename__ = "situation_changes"
    __table_args__ = (
        Index("ix_situation_changes_tenant_time", "tenant_id", "created_at"),
        same_tenant("account_id", "accounts", ondelete="CASCADE"),
    )

    id: Mapped[int] = mapped_column(primary_key=True)
    tenant_id: Mapped[str] = mapped_column(ForeignKey("tenants.slug"))
    account_id: Mapped[int] = mapped_column(index=True)
    message: Mapped[str] = mapped_column(Text)
    created_at: Mapped[datetime] = mapped_column(default=_now)
    handled_at: Mapped[datetime | None]
