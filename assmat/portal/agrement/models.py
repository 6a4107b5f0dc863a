"""Tables of portal.agrement."""

from __future__ import annotations

from datetime import date

from sqlalchemy import ForeignKey, String, UniqueConstraint
from sqlalchemy.orm import Mapped, mapped_column

from assmat.core.db.base import Base, same_tenant


class Agrement(Base):
    """An assistant's agrément (approval), as the département's business application sends it."""

    __tablename__ = "agrements"
    __table_args__ = (
        UniqueConstraint("tenant_id", "number", name="uq_agrements_tenant_number"),
        same_tenant("account_id", "accounts", ondelete="CASCADE"),
    )

    id: Mapped[int] = mapped_column(primary_key=True)
    tenant_id: Mapped[str] = mapped_column(ForeignKey("tenants.slug"))
    account_id: Mapped[int] = mapped_column(index=True)
    number: Mapped[str] = mapped_column(String(40))
    start_date: Mapped[date | None]
    end_date: Mapped[date | None]
    capacity: Mapped[int | None]
    place: Mapped[str | None] = mapped_column(String(300))
    # The département's status when its file has one (import column `agrement_status`): None is a
    # current agrément; renewal, suspended, withdrawn or expired suspend the public fiche.
    status: Mapped[str | None] = mapped_column(String(20))
