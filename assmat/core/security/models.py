"""Tables of core.security."""

from __future__ import annotations

from datetime import datetime
from typing import Any

from sqlalchemy import JSON, CheckConstraint, ForeignKey, Index, String, UniqueConstraint, func
from sqlalchemy.orm import Mapped, mapped_column

from assmat.core.db.base import Base, _now, same_tenant


class AuditEvent(Base):
    """Who did what, where and when. Never a password or a token."""

    __tablename__ = "audit_events"
    __table_args__ = (
        Index("ix_audit_events_tenant_time", "tenant_id", "created_at"),
        # A platform event (tenant_id NULL) is not checked by this one.
        same_tenant("account_id", "accounts", beside_set_null=True),
    )

    id: Mapped[int] = mapped_column(primary_key=True)
    tenant_id: Mapped[str | None] = mapped_column(ForeignKey("tenants.slug"))  # None: platform
    account_id: Mapped[int | None] = mapped_column(ForeignKey("accounts.id", ondelete="SET NULL"), index=True)
    type: Mapped[str] = mapped_column(String(50))
    ip: Mapped[str | None] = mapped_column(String(45))
    detail: Mapped[dict[str, Any]] = mapped_column(JSON, default=dict)
    created_at: Mapped[datetime] = mapped_column(default=_now, server_default=func.now())


class AccountToken(Base):
    """Single-use secrets of every principal: the portal's reset, activation and email links and
    temporary passwords, the console's set-password and reset links, the import's pending
    uploads. Only the SHA-256 of the token is stored. A token belongs to exactly one principal:
    a portal account or a console user (staff or super-admin, whose tenant is None)."""

    __tablename__ = "account_tokens"
    __table_args__ = (
        Index("ix_account_tokens_account_purpose", "account_id", "purpose"),
        CheckConstraint("(account_id IS NULL) <> (admin_id IS NULL)", name="one_principal"),
        same_tenant("account_id", "accounts", ondelete="CASCADE"),
    )

    id: Mapped[int] = mapped_column(primary_key=True)
    token_hash: Mapped[str] = mapped_column(String(64), unique=True)
    tenant_id: Mapped[str | None] = mapped_column(ForeignKey("tenants.slug"))  # None: a super-admin's
    account_id: Mapped[int | None]
    admin_id: Mapped[int | None] = mapped_column(ForeignKey("admins.id", ondelete="CASCADE"), index=True)
    purpose: Mapped[str] = mapped_column(String(30))  # see TokenService's callers
    created_at: Mapped[datetime] = mapped_column(default=_now)
    expires_at: Mapped[datetime] = mapped_column(index=True)  # the purge's key
    used_at: Mapped[datetime | None]  # used, or revoked by a newer token or a password change
    data: Mapped[dict[str, Any]] = mapped_column(JSON, default=dict)


class RateLimitHit(Base):
    """Fixed-window counters shared by every replica (activation per identifier, contact form…)."""

    __tablename__ = "rate_limits"
    __table_args__ = (UniqueConstraint("tenant_id", "bucket", "key", "window_start", name="uq_rate_limits_window"),)

    id: Mapped[int] = mapped_column(primary_key=True)
    tenant_id: Mapped[str] = mapped_column(ForeignKey("tenants.slug"))
    bucket: Mapped[str] = mapped_column(String(40))
    key: Mapped[str] = mapped_column(String(128))  # hashed: no identifier or IP in clear
    window_start: Mapped[datetime] = mapped_column(index=True)  # the purge's key
    count: Mapped[int] = mapped_column(default=0)
