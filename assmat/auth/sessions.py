"""Server-side sessions of every principal: revocable, with idle and absolute timeouts (the
tenant's for the portal, the consoles' own for staff and super-admins), one table.

A session is only ever loaded for the kind of principal its cookie belongs to: a console
cookie never opens the portal, nor the reverse, and a session of another tenant is anonymous."""

from __future__ import annotations

from datetime import timedelta
from functools import cache
from typing import Any

from sqlalchemy import String, bindparam, delete, select, update
from sqlalchemy.ext.asyncio import AsyncSession

from assmat.auth.models import Account, Admin, UserSession
from assmat.core import clock
from assmat.core.security.tokens import Principal, digest, new_secret

# Writing last_seen_at on every request would turn every page view into a write.
TOUCH_EVERY = timedelta(seconds=60)
MAX_COOKIE_LENGTH = 100
NEW_SESSION = UserSession.__table__.insert()


async def open_session(
    session: AsyncSession, principal: Account | Admin, absolute_timeout: timedelta,
    ip: str | None = None, user_agent: str | None = None,
) -> str:
    """A new session (a new id at every login). Returns the cookie value."""
    token = new_secret()
    now = clock.now()
    owner: Principal = principal.principal
    # An INSERT of the row, not an object for the flush: every sign-in runs it, and nothing
    # reads the session back in the transaction that opens it.
    await session.execute(NEW_SESSION, {
        "id": digest(token), "tenant_id": owner.tenant_id, "created_at": now, "last_seen_at": now,
        "expires_at": now + absolute_timeout, "ip": ip, "user_agent": (user_agent or "")[:300],
        "account_id": None, "admin_id": None, **owner.owner,
    })
    return token


def _of_tenant(tenant_id: str | None) -> Any:
    return UserSession.tenant_id == tenant_id if tenant_id is not None else UserSession.tenant_id.is_(None)


@cache
def _lookup(model: type[Account] | type[Admin], in_tenant: bool) -> Any:
    """The session and its principal by the session's id, in one tenant (or the platform's, no
    tenant): built once, its values bound at each request (every signed-in page runs it)."""
    owner = UserSession.account_id if model is Account else UserSession.admin_id
    tenant = bindparam("tenant_id", type_=String)
    same_tenant = (
        (UserSession.tenant_id == tenant, model.tenant_id == tenant) if in_tenant
        else (UserSession.tenant_id.is_(None), model.tenant_id.is_(None))
    )
    return select(UserSession, model).join(model, model.id == owner).where(
        UserSession.id == bindparam("session_id", type_=String), *same_tenant)


async def _load(
    session: AsyncSession, model: type[Account] | type[Admin], tenant_id: str | None, token: str | None,
    idle_timeout: timedelta,
) -> tuple[UserSession, Account | Admin] | None:
    if not token or len(token) > MAX_COOKIE_LENGTH:
        return None
    lookup = _lookup(model, tenant_id is not None)
    found = (await session.execute(lookup, {"session_id": digest(token), "tenant_id": tenant_id})).first()
    if found is None:
        return None
    user_session, principal = found
    now = clock.now()
    ended = principal.disabled_at or (model is Admin and principal.locked_at)
    if user_session.expires_at <= now or user_session.last_seen_at + idle_timeout <= now or ended:
        await session.execute(delete(UserSession).where(UserSession.id == user_session.id, _of_tenant(tenant_id)))
        await session.commit()
        return None
    if now - user_session.last_seen_at >= TOUCH_EVERY:
        await session.execute(
            update(UserSession).where(UserSession.id == user_session.id, _of_tenant(tenant_id)).values(last_seen_at=now)
        )
        await session.commit()
    return user_session, principal


async def load_session(
    session: AsyncSession, tenant_id: str, token: str | None, idle_timeout: timedelta
) -> tuple[UserSession, Account] | None:
    """The live portal session and its account for this tenant, or None (anonymous). An
    expired one is deleted."""
    return await _load(session, Account, tenant_id, token, idle_timeout)  # type: ignore[return-value]


async def load_console_session(
    session: AsyncSession, tenant_id: str | None, token: str | None, idle_timeout: timedelta
) -> tuple[UserSession, Admin] | None:
    """The live console session and its user for this tenant's console (None: the platform's),
    or None. A locked console user's sessions end too."""
    return await _load(session, Admin, tenant_id, token, idle_timeout)  # type: ignore[return-value]


async def touch_session(session: AsyncSession, tenant_id: str, token: str | None) -> bool:
    """Marks the portal session active now, whatever TOUCH_EVERY: a page's « stay signed in »
    (its idle warning) must restart the idle timeout. False when there is no such session."""
    if not token or len(token) > MAX_COOKIE_LENGTH:
        return False
    result = await session.execute(
        update(UserSession).where(UserSession.id == digest(token), UserSession.tenant_id == tenant_id,
                                  UserSession.account_id.is_not(None))
        .values(last_seen_at=clock.now()).execution_options(synchronize_session=False)
    )
    return result.rowcount == 1  # type: ignore[attr-defined]


async def close_session(session: AsyncSession, tenant_id: str, token: str | None) -> None:
    if token:
        await session.execute(delete(UserSession).where(UserSession.id == digest(token), UserSession.tenant_id == tenant_id))


async def end_all_sessions(session: AsyncSession, principal: Principal) -> None:
    """Lock, disable and password change end every session of the principal."""
    owner = UserSession.account_id if principal.kind == "account" else UserSession.admin_id
    await session.execute(delete(UserSession).where(owner == principal.id, UserSession.tenant_id == principal.tenant_id))
