"""FranceConnect on a tenant's portal: a trip to the provider (state and nonce of 43
characters, single use, bound to the browser and the tenant, ten minutes), then its return:
signing in with a linked identity, or linking one at the activation's second step (Eure-et-Loir)
when its pivot identity matches the account. Never for MAM and relais accounts.

The caller gives the browser's secret (a cookie) and the callback's URL; this module answers
with what the caller shows or where it sends the browser."""

from __future__ import annotations

import logging
import os
import re
from dataclasses import dataclass
from datetime import date, timedelta

from sqlalchemy import delete, select, update

from assmat.auth.context import ACTIVATION_STEP2, AuthContext
from assmat.auth.errors import AuthError
from assmat.auth.franceconnect.client import FranceConnectClient, FranceConnectFailed, Identity
from assmat.auth.franceconnect.models import FranceConnectLink, FranceConnectRequest
from assmat.auth.identifiers import normalize_name
from assmat.auth.login import pending_step
from assmat.auth.models import Account, UserSession
from assmat.auth.sessions import open_session
from assmat.core import clock
from assmat.core.security import audit
from assmat.core.security.audit import EventType
from assmat.core.security.tokens import digest, new_secret
from assmat.tenants.schema import TenantConfig

REQUEST_TTL = timedelta(minutes=10)
LOGIN, LINK, LOGOUT = "login", "link", "logout"
NOT_FOR_KINDS = ("mam", "ram")  # seed 002: « cette fonctionnalité n'est pas disponible pour les comptes MAM ou RAM »
# Usage names: « DUPONT épouse MARTIN », « MARTIN née DUPONT » name two people's names.
_NAME_JOINERS = re.compile(r"\b(?:epouse|ep|nee|veuve|vve|dite)\b\.?")

log = logging.getLogger("assmat.auth.franceconnect")


class NotLinked(AuthError):
    """A FranceConnect identity no account of the tenant is linked to."""


class IdentityMismatch(AuthError):
    """FranceConnect's identity is not the account's (birth date or family name)."""


class AlreadyLinked(AuthError):
    """This FranceConnect identity is already linked to another account of the tenant."""


class Unavailable(AuthError):
    """The account cannot sign in now: disabled, locked, or of a kind FranceConnect is not for."""


class RequestInvalid(AuthError):
    """Unknown, used, expired state, or one from another browser or tenant."""


def offered(config: TenantConfig) -> bool:
    return config.franceconnect.enabled


def offered_at_activation(config: TenantConfig) -> bool:
    return config.franceconnect.enabled and config.activation.franceconnect


def may_use(account: Account) -> bool:
    return account.kind not in NOT_FOR_KINDS


def client(config: TenantConfig) -> FranceConnectClient:
    fc = config.franceconnect
    secret = os.environ.get(fc.client_secret_env)
    if not secret:
        raise FranceConnectFailed(f"secret variable {fc.client_secret_env} not set")
    return FranceConnectClient(fc.issuer, fc.client_id, secret, fc.scopes)


async def start(ctx: AuthContext, purpose: str, browser_secret: str, redirect_uri: str, account_id: int | None = None) -> str:
    """A new trip to FranceConnect: the provider's authorization URL."""
    state, nonce = new_secret(), new_secret()
    now = clock.now()
    url = await client(ctx.config).authorization_url(redirect_uri, state, nonce)
    ctx.db.add(FranceConnectRequest(
        id=digest(state), tenant_id=ctx.tenant.slug, purpose=purpose, account_id=account_id,
        browser_hash=digest(browser_secret), nonce=nonce, created_at=now, expires_at=now + REQUEST_TTL,
    ))
    await ctx.db.commit()
    return url


async def start_link(ctx: AuthContext, step2_token: object, browser_secret: str, redirect_uri: str) -> str:
    """The activation's second step by FranceConnect: the step-2 token must be live."""
    row = await ctx.tokens.find(ACTIVATION_STEP2, step2_token, ctx.tenant.slug)
    account = await ctx.get(row.account_id) if row is not None and row.account_id is not None else None
    if account is None or not offered_at_activation(ctx.config):
        raise RequestInvalid()
    if not may_use(account):
        raise Unavailable()
    return await start(ctx, LINK, browser_secret, redirect_uri, account.id)


async def claim(ctx: AuthContext, state: object, browser_secret: str | None, purposes: tuple[str, ...]) -> FranceConnectRequest:
    """The request this state names, for this tenant, this browser and one of these purposes,
    used once: of two parallel returns exactly one gets it; another browser spends nothing."""
    if not isinstance(state, str) or not state or len(state) > 200 or not browser_secret or len(browser_secret) > 100:
        raise RequestInvalid()
    now = clock.now()
    claimed = (await ctx.db.execute(
        update(FranceConnectRequest)
        .where(FranceConnectRequest.id == digest(state), FranceConnectRequest.tenant_id == ctx.tenant.slug,
               FranceConnectRequest.browser_hash == digest(browser_secret), FranceConnectRequest.purpose.in_(purposes),
               FranceConnectRequest.used_at.is_(None), FranceConnectRequest.expires_at > now)
        .values(used_at=now)
        .returning(FranceConnectRequest)
    )).scalar()
    await ctx.db.commit()
    if claimed is None:
        raise RequestInvalid()
    return claimed


@dataclass(frozen=True)
class SignedIn:
    account: Account
    session_token: str
    next_step: str | None


async def finish(ctx: AuthContext, request: FranceConnectRequest, code: object, redirect_uri: str,
                 ip: str | None, user_agent: str | None) -> SignedIn:
    """The return from FranceConnect with a code: the identity verified, then signed in (a
    linked identity) or linked (the activation's second step) and signed in."""
    if not isinstance(code, str) or not code or len(code) > 500:
        raise RequestInvalid()
    try:
        identity = await client(ctx.config).identity(code, redirect_uri, request.nonce)
    except FranceConnectFailed as exc:
        log.warning("FranceConnect answer refused for %s: %s", ctx.tenant.slug, exc.reason)
        await audit.record(ctx.db, ctx.tenant.slug, EventType.FRANCECONNECT_REFUSED, account_id=request.account_id, ip=ip,
                           reason=exc.reason[:200])
        await ctx.db.commit()
        raise
    if request.purpose == LINK:
        account = await _link(ctx, request, identity, ip)
    else:
        account = await _linked_account(ctx, identity, ip)
    return await _open(ctx, account, identity, ip, user_agent)


def identity_matches(account: Account, claims: dict[str, object]) -> bool:
    """Birth date, and family name (birth or usage name) normalised for case, accents,
    hyphens and « épouse »/« née »."""
    try:
        born = date.fromisoformat(str(claims.get("birthdate") or ""))
    except ValueError:
        return False
    if account.birth_date is None or born != account.birth_date:
        return False
    theirs = {normalize_name(str(claims.get(key) or "")) for key in ("family_name", "preferred_username")} - {""}
    mine = normalize_name(account.last_name)
    ours = {mine, *(part.strip() for part in _NAME_JOINERS.split(mine))} - {""}
    return bool(theirs & ours)


async def _link(ctx: AuthContext, request: FranceConnectRequest, identity: Identity, ip: str | None) -> Account:
    account = await ctx.get(request.account_id) if request.account_id is not None else None
    if account is None:
        raise RequestInvalid()
    if not identity_matches(account, identity.claims):
        await audit.record(ctx.db, ctx.tenant.slug, EventType.FRANCECONNECT_REFUSED, account_id=account.id, ip=ip, reason="identity_mismatch")
        await ctx.db.commit()
        raise IdentityMismatch()
    other = await ctx.db.scalar(select(FranceConnectLink).where(
        FranceConnectLink.tenant_id == ctx.tenant.slug, FranceConnectLink.sub == identity.sub))
    if other is not None and other.account_id != account.id:
        await audit.record(ctx.db, ctx.tenant.slug, EventType.FRANCECONNECT_REFUSED, account_id=account.id, ip=ip, reason="already_linked")
        await ctx.db.commit()
        raise AlreadyLinked()
    await ctx.tokens.revoke(account.principal, ACTIVATION_STEP2)  # the step is done
    if other is None:
        await ctx.db.execute(delete(FranceConnectLink).where(
            FranceConnectLink.tenant_id == ctx.tenant.slug, FranceConnectLink.account_id == account.id))
        ctx.db.add(FranceConnectLink(tenant_id=ctx.tenant.slug, account_id=account.id, sub=identity.sub, created_at=clock.now()))
    await ctx.db.execute(update(Account).where(Account.id == account.id, Account.tenant_id == ctx.tenant.slug)
                         .values(activated_at=account.activated_at or clock.now()))
    await audit.record(ctx.db, ctx.tenant.slug, EventType.FRANCECONNECT_LINKED, account_id=account.id, ip=ip)
    await audit.record(ctx.db, ctx.tenant.slug, EventType.ACTIVATION_COMPLETED, account_id=account.id, ip=ip, by="franceconnect")
    await ctx.db.flush()
    return account


async def _linked_account(ctx: AuthContext, identity: Identity, ip: str | None) -> Account:
    link = await ctx.db.scalar(select(FranceConnectLink).where(
        FranceConnectLink.tenant_id == ctx.tenant.slug, FranceConnectLink.sub == identity.sub))
    account = await ctx.get(link.account_id) if link is not None else None
    if account is None:
        await audit.record(ctx.db, ctx.tenant.slug, EventType.FRANCECONNECT_REFUSED, ip=ip, reason="not_linked")
        await ctx.db.commit()
        raise NotLinked()
    return account


async def _open(ctx: AuthContext, account: Account, identity: Identity, ip: str | None, user_agent: str | None) -> SignedIn:
    """The lockout, disable and kind rules of every sign-in, then a session holding the ID
    token for the logout."""
    if account.disabled_at is None:
        await ctx.lockout.clear_expired(account)
    if account.disabled_at is not None or account.locked_at is not None or not may_use(account):
        reason = "disabled" if account.disabled_at else "locked" if account.locked_at else "kind"
        await audit.record(ctx.db, ctx.tenant.slug, EventType.LOGIN_FAILED, account_id=account.id, ip=ip, reason=reason, by="franceconnect")
        await ctx.db.commit()
        raise Unavailable()
    account = (await ctx.db.execute(
        update(Account).where(Account.id == account.id, Account.tenant_id == ctx.tenant.slug)
        .values(last_login_at=clock.now()).returning(Account)
    )).scalar_one()
    token = await open_session(ctx.db, account, ctx.config.session.absolute_timeout, ip, user_agent)
    await ctx.db.flush()
    await ctx.db.execute(update(UserSession).where(UserSession.id == digest(token), UserSession.tenant_id == ctx.tenant.slug)
                         .values(franceconnect_id_token=identity.id_token))
    await audit.record(ctx.db, ctx.tenant.slug, EventType.LOGIN_SUCCEEDED, account_id=account.id, ip=ip, by="franceconnect")
    await ctx.db.commit()
    return SignedIn(account, token, pending_step(ctx.tenant, account))


async def session_id_token(ctx: AuthContext, session_token: str | None) -> str | None:
    """The ID token of a FranceConnect sign-in's session, for its logout."""
    if not session_token or len(session_token) > 100:
        return None
    return await ctx.db.scalar(select(UserSession.franceconnect_id_token).where(
        UserSession.id == digest(session_token), UserSession.tenant_id == ctx.tenant.slug))


async def logout_url(ctx: AuthContext, id_token: str, browser_secret: str, post_logout_redirect_uri: str) -> str:
    """FranceConnect's end of session, for a session its sign-in opened (the local one ended)."""
    state = new_secret()
    now = clock.now()
    url = await client(ctx.config).end_session_url(id_token, state, post_logout_redirect_uri)
    ctx.db.add(FranceConnectRequest(
        id=digest(state), tenant_id=ctx.tenant.slug, purpose=LOGOUT, browser_hash=digest(browser_secret),
        nonce="-", created_at=now, expires_at=now + REQUEST_TTL,
    ))
    await ctx.db.commit()
    return url


async def is_linked(ctx: AuthContext, account_id: int) -> bool:
    return await ctx.db.scalar(select(FranceConnectLink.id).where(
        FranceConnectLink.tenant_id == ctx.tenant.slug, FranceConnectLink.account_id == account_id)) is not None


async def unlink(ctx: AuthContext, account: Account, by: str | None = None) -> bool:
    """Staff unlink an account from its FranceConnect identity (audited). False: none was linked."""
    removed = await ctx.db.execute(delete(FranceConnectLink).where(
        FranceConnectLink.tenant_id == ctx.tenant.slug, FranceConnectLink.account_id == account.id))
    if not removed.rowcount:  # type: ignore[attr-defined]
        return False
    await audit.record(ctx.db, ctx.tenant.slug, EventType.FRANCECONNECT_UNLINKED, account_id=account.id, by=by)
    await ctx.db.commit()
    return True
