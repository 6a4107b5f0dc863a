"""Signing in, for every principal: `sign_in()` runs the one login sequence (captcha →
reservation → verify → rehash → session → next step) through a door, the portal's
(`PortalDoor`: a tenant's accounts, its lockout, temporary passwords) or a console's
(`assmat.auth.staff.AdminService`: staff and super-admins, the consoles' lockout). A handler
reads the form, calls `sign_in()` and sets the cookie."""

from __future__ import annotations

from dataclasses import dataclass
from datetime import timedelta
from functools import cache
from typing import Any, Protocol

from sqlalchemy import Integer, String, bindparam, select, update
from sqlalchemy.ext.asyncio import AsyncSession

from assmat.auth import credentials
from assmat.auth.context import AuthContext
from assmat.auth import captcha
from assmat.auth.errors import (
    AccountLocked, CaptchaWrong, EmailNotConfirmed, LoginFailed, RateLimited, TemporaryPasswordExpired,
)
from assmat.auth.lockout import released_values
from assmat.auth.models import Account, Admin
from assmat.auth.sessions import close_session, end_all_sessions, open_session
from assmat.core.security.ratelimit import CAPTCHA_FORM
from assmat.core import clock
from assmat.core.security import audit
from assmat.core.security.audit import EventType
from assmat.core.security.models import AccountToken
from assmat.tenants.loader import Tenant

NO_ROW = 0  # an id no row has: a failed login without a usable account runs its statements on it


@dataclass(frozen=True)
class LoginOutcome:
    account: Account
    used_temporary_password: bool


@dataclass(frozen=True)
class Attempt:
    """What a sign-in form sends, and where from."""

    identifier: object
    password: str
    ip: str | None
    user_agent: str | None = None
    captcha_id: object = ""
    captcha_answer: object = ""
    previous_session: str | None = None  # the cookie's session, ended: a new id at every login


@dataclass(frozen=True)
class SignedIn:
    principal: Account | Admin
    session_token: str  # the cookie's value
    next_step: str | None  # a pending step (pending_step) before anything else


class Door(Protocol):
    """Who may sign in here, and by which rules."""

    db: AsyncSession
    tenant_id: str | None  # None: the platform's console
    session_timeout: timedelta  # absolute

    def captcha_key(self) -> tuple[str, str] | None:
        """(tenant slug, secret key) when a captcha guards this door."""

    async def authenticate(self, identifier: object, password: str, ip: str | None) -> Account | Admin:
        """Reservation → verify → rehash under the door's lockout, or raise an AuthError."""

    def next_step(self, principal: Account | Admin) -> str | None: ...


async def sign_in(door: Door, attempt: Attempt) -> SignedIn:
    """The one login sequence. RateLimited when this client sent too many captcha forms,
    CaptchaWrong before any password work, else the door's AuthError, or a new session."""
    if (key := door.captcha_key()) is not None:
        slug, secret_key = key
        # Counted before the check, right or wrong; a wrong captcha costs no password verification.
        allowed = await CAPTCHA_FORM.hit(door.db, slug, f"ip:{attempt.ip}")
        await door.db.commit()
        if not allowed:
            raise RateLimited()
        if not await captcha.check_challenge(door.db, slug, secret_key, attempt.captcha_id, attempt.captcha_answer):
            raise CaptchaWrong()
    principal = await door.authenticate(attempt.identifier, attempt.password, attempt.ip)
    await close_session(door.db, door.tenant_id, attempt.previous_session)
    token = await open_session(door.db, principal, door.session_timeout, attempt.ip, attempt.user_agent)
    await door.db.commit()  # the login's changes and its session at once
    return SignedIn(principal, token, door.next_step(principal))


class PortalDoor:
    """A tenant's portal: its accounts, its lockout, its captcha and session timeouts."""

    def __init__(self, ctx: AuthContext):
        self.ctx = ctx
        self.db = ctx.db
        self.tenant_id = ctx.tenant.slug
        self.session_timeout = ctx.config.session.absolute_timeout

    def captcha_key(self) -> tuple[str, str] | None:
        return (self.ctx.tenant.slug, self.ctx.secret_key) if self.ctx.config.login.captcha else None

    async def authenticate(self, identifier: object, password: str, ip: str | None) -> Account:
        return (await authenticate(self.ctx, identifier, password, ip)).account

    def next_step(self, principal: Account | Admin) -> str | None:
        assert isinstance(principal, Account)
        return pending_step(self.ctx.tenant, principal)


def pending_step(tenant: Tenant, account: Account) -> str | None:
    """What the account must do before anything else: change its password, accept the terms."""
    if account.must_change_password:
        return "change_password"
    if account.needs_security_update:
        return "security_update"
    first_login = tenant.config.first_login
    if first_login.accept_terms and tenant.terms_version and account.terms_version != tenant.terms_version:
        return "terms"
    return None


def _may_unlock_with(ctx: AuthContext, account: Account, token: AccountToken) -> bool:
    """Where the tenant lets a locked account reset its password, a temporary password
    emailed after the lock is the way back in: using it lifts the lock."""
    return (
        ctx.config.password_reset.allowed_when_locked
        and account.locked_at is not None
        and token.expires_at > clock.now()
        and token.created_at >= account.locked_at
    )


# Built once, its values bound at each sign-in.
ACCOUNT_BY_IDENTIFIER = select(Account).where(
    Account.tenant_id == bindparam("tenant_id", type_=String), Account.identifier == bindparam("identifier", type_=String)
)


async def _find_for_login(ctx: AuthContext, raw_identifier: object) -> Account | None:
    """One SELECT whatever was typed: a malformed identifier looks up one no row has."""
    identifier = ctx.normalize(raw_identifier) or ""
    return await ctx.db.scalar(ACCOUNT_BY_IDENTIFIER, {"tenant_id": ctx.tenant.slug, "identifier": identifier})


async def authenticate(ctx: AuthContext, raw_identifier: object, password: str, ip: str | None) -> LoginOutcome:
    """Sign in, or raise. On success the transaction is left open for the caller to add the
    session and commit: one commit for the whole login.

    Every failure does the same database work, whether the identifier is unknown, disabled,
    locked, not activated or has a wrong password: the same statements in the same order
    (the lookup, the reservation UPDATE and its commit, the temporary-password lookup, the
    lock UPDATE, the audit INSERT and its commit), on an id no row has when there is no
    usable account, and one password verification. A 5 ms gap between those paths was
    measurable from outside (security.md).

    A temporary password (letter, emailed reset, unlock) stays valid until a new password
    replaces it or it expires: leaving the forced change, or having a first choice refused,
    does not spend it. Signing in with it opens a session restricted to the forced change
    and ends every other session of the account, so at most one such session lives; the
    forced change spends it (`change_forced_password`)."""
    lockout = ctx.config.lockout
    account = await _find_for_login(ctx, raw_identifier)
    usable = account is not None and account.disabled_at is None
    if usable:
        await ctx.lockout.clear_expired(account)
    row_id = account.id if usable else NO_ROW
    reserved = await ctx.lockout.reserve(row_id)
    ok = False
    if reserved and account is not None and account.password_hash is not None:
        ok = await ctx.hasher.verify(account.password_hash, password)
    else:
        await ctx.hasher.dummy_verify(password)  # unknown, disabled, locked, not activated: the same work

    temporary: AccountToken | None = None
    if not ok:
        # Random and long, a temporary password is checked by keyed hash: no argon2 work,
        # and no query on an ordinary successful login.
        temporary = await credentials.temporary_password_matches(ctx, row_id, password)
        if temporary is not None and temporary.used_at is not None:
            temporary = None
    if temporary is not None and not reserved:
        assert account is not None
        if _may_unlock_with(ctx, account, temporary):
            await ctx.lockout.unlock(account.id)
            await audit.record(ctx.db, ctx.tenant.slug, EventType.ACCOUNT_UNLOCKED, account_id=account.id, by="temporary_password")
            await ctx.db.commit()
            await ctx.db.scalar(select(Account).where(Account.id == account.id, Account.tenant_id == ctx.tenant.slug).execution_options(populate_existing=True))
            return await authenticate(ctx, raw_identifier, password, ip)
        temporary = None
    if temporary is not None and temporary.expires_at <= clock.now():
        assert account is not None
        await ctx.lockout.release(account.id)
        await audit.record(ctx.db, ctx.tenant.slug, EventType.LOGIN_FAILED, account_id=account.id, ip=ip, reason="temporary_expired")
        await ctx.db.commit()
        raise TemporaryPasswordExpired()

    if not ok and temporary is None:
        if usable:
            locked = await ctx.lock_if_reached(account, ip)
        else:
            locked = await ctx.lockout.lock_if_reached(NO_ROW)  # matches nothing: the same statement
        reason = "unknown" if account is None else "disabled" if not usable else "locked" if not reserved else "password"
        await audit.record(ctx.db, ctx.tenant.slug, EventType.LOGIN_FAILED, account_id=account.id if account else None, ip=ip,
                           reason=reason)
        await ctx.db.commit()
        if lockout.reveal_locked_state and (locked or (usable and not reserved)):
            raise AccountLocked()
        raise LoginFailed()
    assert account is not None

    if account.email_confirmed_at is None and _needs_email_confirmation(ctx, account):
        await ctx.lockout.release(account.id)
        await credentials.send_email_confirmation(ctx, account, account.email)
        await audit.record(ctx.db, ctx.tenant.slug, EventType.LOGIN_FAILED, account_id=account.id, ip=ip, reason="email_unconfirmed")
        await ctx.db.commit()
        raise EmailNotConfirmed()

    now = clock.now()
    new_hash = None
    if temporary is not None:
        # Re-checked and row-locked by a conditional UPDATE … RETURNING: a forced change that
        # spent it meanwhile wins, and parallel sign-ins with it run this transaction one
        # after the other, each ending the session the previous one opened.
        claimed = await ctx.db.execute(
            update(AccountToken)
            .where(AccountToken.id == temporary.id, AccountToken.used_at.is_(None), AccountToken.expires_at > now)
            .values(data={"last_sign_in_at": now.isoformat()})
            .returning(AccountToken.id)
        )
        if claimed.scalar() is None:
            await ctx.lockout.release(account.id)
            await audit.record(ctx.db, ctx.tenant.slug, EventType.LOGIN_FAILED, account_id=account.id, ip=ip, reason="temporary_spent")
            await ctx.db.commit()
            raise LoginFailed()
        await end_all_sessions(ctx.db, account.principal)
    elif account.password_hash and ctx.hasher.needs_rehash(account.password_hash):
        new_hash = await ctx.hasher.hash(password)
    signed_in = _signed_in(lockout.reset_counter_on_success, rehashed=new_hash is not None, temporary=temporary is not None)
    account = (await ctx.db.execute(
        signed_in, {"now": now, "account_id": account.id, "of_tenant": ctx.tenant.slug, "new_hash": new_hash}
    )).scalar_one()
    await audit.record(
        ctx.db, ctx.tenant.slug, EventType.LOGIN_SUCCEEDED, account_id=account.id, ip=ip, with_temporary=temporary is not None
    )
    # No commit here: the caller opens the session and commits both at once.
    return LoginOutcome(account, temporary is not None)


@cache
def _signed_in(reset_counter: bool, rehashed: bool, temporary: bool) -> Any:
    """A successful sign-in's UPDATE … RETURNING the account, built once per kind of sign-in,
    its values bound at each (every sign-in runs it). The row it returns is the account from
    now on (populate_existing): no evaluation of the change against the session's objects,
    which cost more than the statement."""
    values: dict[str, Any] = {
        "last_login_at": bindparam("now", type_=Account.__table__.c.last_login_at.type),
        **released_values(Account, reset_counter),
    }
    if rehashed:
        values["password_hash"] = bindparam("new_hash", type_=String)
    if temporary:
        values["must_change_password"] = True  # a temporary password is only a way to the forced change
    return (
        update(Account)
        .where(Account.id == bindparam("account_id", type_=Integer), Account.tenant_id == bindparam("of_tenant", type_=String))
        .values(**values)
        .returning(Account)
        .execution_options(synchronize_session=False, populate_existing=True)
    )


def _needs_email_confirmation(ctx: AuthContext, account: Account) -> bool:
    # A family's online registration is unusable until its address is confirmed.
    if account.registered_at is not None:
        return True
    if account.activated_at is None:
        return False
    # A structure's address (MAM, relais) is the one staff recorded, its identifier, and the
    # password it signs in with came by mail to it: nothing left to confirm.
    if account.kind in ("mam", "ram"):
        return False
    return ctx.config.activation.mode == "pmi_number_birthdate" and ctx.config.activation.email_confirmation
