"""Tables of FranceConnect: the identities linked to accounts, and the sign-ins under way."""

from __future__ import annotations

from datetime import datetime

from sqlalchemy import ForeignKey, String, UniqueConstraint
from sqlalchemy.orm import Mapped, mapped_column

from assmat.core.db.base import Base, _now, same_tenant


class FranceConnectLink(Base):
    """An account's FranceConnect identity: its `sub`, which FranceConnect gives per service
    (never the email). One per account, one account per identity within a tenant."""

    __tablename__ = "franceconnect_links"
    __table_args__ = (
        UniqueConstraint("tenant_id", "sub", name="uq_franceconnect_links_tenant_sub"),
        UniqueConstraint("tenant_id", "account_id", name="uq_franceconnect_links_tenant_account"),
        same_tenant("account_id", "accounts", ondelete="CASCADE"),
    )

    id: Mapped[int] = mapped_column(primary_key=True)
    tenant_id: Mapped[str] = mapped_column(ForeignKey("tenants.slug"))
    account_id: Mapped[int]
    sub: Mapped[str] = mapped_column(String(255))
    created_at: Mapped[datetime] = mapped_column(default=_now)


class FranceConnectRequest(Base):
    """One trip to FranceConnect: its state (hashed, the key), its nonce, the browser that left
    (the hash of a cookie's secret), what it is for, and until when. Used once."""

    __tablename__ = "franceconnect_requests"
    __table_args__ = (same_tenant("account_id", "accounts", ondelete="CASCADE"),)

    id: Mapped[str] = mapped_column(String(64), primary_key=True)  # sha256(state)
    tenant_id: Mapped[str] = mapped_column(ForeignKey("tenants.slug"))
    purpose: Mapped[str] = mapped_column(String(20))  # login | link (activation's second step) | logout
    account_id: Mapped[int | None]  # the account being activated (link)
    browser_hash: Mapped[str] = mapped_column(String(64))
    nonce: Mapped[str] = mapped_column(String(100))
    created_at: Mapped[datetime] = mapped_column(default=_now)
    expires_at: Mapped[datetime] = mapped_column(index=True)
    used_at: Mapped[datetime | None]
