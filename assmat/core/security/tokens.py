"""Secrets sent by email: 256 bits from `secrets`, stored as SHA-256, single use, expiring."""

from __future__ import annotations

import hashlib
import hmac
import secrets
from datetime import datetime, timedelta
from typing import Any

from sqlalchemy import select, update
from sqlalchemy.ext.asyncio import AsyncSession

from assmat.core import clock
from assmat.core.security.models import AccountToken


def new_secret() -> str:
    return secrets.token_urlsafe(32)


def digest(token: str) -> str:
    return hashlib.sha256(token.encode()).hexdigest()


def keyed_digest(secret_key: str, *parts: str) -> str:
    """HMAC-SHA256 of `parts`, for random secrets too long to brute-force (temporary passwords)."""
    return hmac.new(secret_key.encode(), "\x1f".join(parts).encode(), hashlib.sha256).hexdigest()


async def revoke(session: AsyncSession, tenant_id: str, account_id: int, *purposes: str) -> None:
    """End every live token of these purposes (a newer one was issued, or the password changed)."""
    query = update(AccountToken).where(
        AccountToken.tenant_id == tenant_id, AccountToken.account_id == account_id, AccountToken.used_at.is_(None)
    )
    if purposes:
        query = query.where(AccountToken.purpose.in_(purposes))
    await session.execute(query.values(used_at=clock.now()))


async def issue(
    session: AsyncSession,
    tenant_id: str,
    account_id: int,
    purpose: str,
    ttl: timedelta,
    data: dict[str, Any] | None = None,
    token_hash: str | None = None,
) -> str:
    """A new token; older live tokens of the same purpose die. Returns the clear token."""
    await revoke(session, tenant_id, account_id, purpose)
    token = new_secret()
    now = clock.now()
    session.add(
        AccountToken(
            token_hash=token_hash or digest(token),
            tenant_id=tenant_id,
            account_id=account_id,
            purpose=purpose,
            created_at=now,
            expires_at=now + ttl,
            data=data or {},
        )
    )
    return token


async def find_live(session: AsyncSession, tenant_id: str, purpose: str, token: object) -> AccountToken | None:
    """The live token of this tenant and purpose, without consuming it (to show a form)."""
    if not isinstance(token, str) or len(token) > 200:
        return None
    row = await session.scalar(
        select(AccountToken).where(
            AccountToken.token_hash == digest(token),
            AccountToken.tenant_id == tenant_id,
            AccountToken.purpose == purpose,
        )
    )
    if row is None or row.used_at is not None or row.expires_at <= clock.now():
        return None
    return row


async def consume(session: AsyncSession, tenant_id: str, purpose: str, token: object) -> AccountToken | None:
    """Use a token once: of two parallel uses exactly one gets it (conditional UPDATE)."""
    row = await find_live(session, tenant_id, purpose, token)
    if row is None:
        return None
    result = await session.execute(
        update(AccountToken)
        .where(AccountToken.id == row.id, AccountToken.tenant_id == tenant_id, AccountToken.used_at.is_(None))
        .values(used_at=clock.now())
        .returning(AccountToken.id)
    )
    return row if result.scalar() is not None else None


def is_expired(expires_at: datetime) -> bool:
    return expires_at <= clock.now()
