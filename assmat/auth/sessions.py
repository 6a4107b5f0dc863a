"""Server-side sessions: revocable, with idle and absolute timeouts per tenant."""

from __future__ import annotations

from datetime import timedelta

from sqlalchemy import delete, select, update
from sqlalchemy.ext.asyncio import AsyncSession

from assmat.core import clock
from assmat.core.security.tokens import digest, new_secret
from assmat.auth.models import Account, UserSession

# Writing last_seen_at on every request would turn every page view into a write.
TOUCH_EVERY = timedelta(seconds=60)


async def open_session(
    session: AsyncSession, account: Account, absolute_timeout: timedelta, ip: str | None, user_agent: str | None
) -> str:
    """A new session (a new id at every login). Returns the cookie value."""
    token = new_secret()
    now = clock.now()
    session.add(
        UserSession(
            id=digest(token),
            tenant_id=account.tenant_id,
            account_id=account.id,
            created_at=now,
            last_seen_at=now,
            expires_at=now + absolute_timeout,
            ip=ip,
            user_agent=(user_agent or "")[:300],
        )
    )
    return token


async def load_session(
    session: AsyncSession, tenant_id: str, token: str | None, idle_timeout: timedelta
) -> tuple[UserSession, Account] | None:
    """The live session and its account for this tenant, or None (anonymous).

    A session of another tenant is anonymous here; an expired one is deleted."""
    if not token or len(token) > 100:
        return None
    row = await session.execute(
        select(UserSession, Account)
        .join(Account, Account.id == UserSession.account_id)
        .where(UserSession.id == digest(token), UserSession.tenant_id == tenant_id, Account.tenant_id == tenant_id)
    )
    found = row.first()
    if found is None:
        return None
    user_session, account = found
    now = clock.now()
    if user_session.expires_at <= now or user_session.last_seen_at + idle_timeout <= now or account.disabled_at:
        await session.execute(delete(UserSession).where(UserSession.id == user_session.id, UserSession.tenant_id == tenant_id))
        await session.commit()
        return None
    if now - user_session.last_seen_at >= TOUCH_EVERY:
        await session.execute(
            update(UserSession).where(UserSession.id == user_session.id, UserSession.tenant_id == tenant_id).values(last_seen_at=now)
        )
        await session.commit()
    return user_session, account


async def close_session(session: AsyncSession, tenant_id: str, token: str | None) -> None:
    if token:
        await session.execute(delete(UserSession).where(UserSession.id == digest(token), UserSession.tenant_id == tenant_id))


async def end_all_sessions(session: AsyncSession, tenant_id: str, account_id: int) -> None:
    """Lock, disable and password change end every session of the account."""
    await session.execute(delete(UserSession).where(UserSession.tenant_id == tenant_id, UserSession.account_id == account_id))
