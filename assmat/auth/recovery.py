"""« Mot de passe oublié » : a new way in by the tenant's reset mode (an emailed temporary
password or a link), and the link's use."""

from __future__ import annotations

from dataclasses import dataclass

from sqlalchemy import select

from assmat.auth import credentials
from assmat.auth.context import RESET, AuthContext, hours
from assmat.auth.errors import TokenInvalid
from assmat.auth.identifiers import normalize_email
from assmat.auth.models import Account
from assmat.core import clock
from assmat.core.security import audit
from assmat.core.security.audit import EventType
from assmat.core.security.ratelimit import RESET_PER_ACCOUNT


@dataclass(frozen=True)
class ResetOutcome:
    """What happened, for the tenant that reveals it; the generic answer ignores it."""

    status: str  # sent | unknown_identifier | email_mismatch | locked | throttled


async def send_reset(ctx: AuthContext, account: Account, reason: str) -> None:
    """A new way in, following the tenant's reset mode: an emailed temporary password (the
    Gers: "vous recevrez un mail avec un mot de passe provisoire") or a link."""
    reset = ctx.config.password_reset
    if reset.mode == "temporary_password":
        ttl = reset.effective_temporary_password_ttl
        password = await credentials.issue_temporary_password(ctx, account, ttl, reason=reason)
        await ctx.mail("temporary_password", account.email, about=account.id, password=password, ttl_hours=hours(ttl))
    else:
        ttl = reset.effective_link_ttl
        token = await ctx.tokens.issue(RESET, account.principal, ttl)
        await ctx.mail("reset_link", account.email, about=account.id, url=ctx.url(f"/reinitialisation/{token}"), ttl_hours=hours(ttl))


def account_kinds(config) -> list[str]:
    """The kinds of account the form asks to choose among, on a portal with structures (seed 002:
    « sélectionnez l'option « une maison d'assistant maternel » »); empty elsewhere."""
    return ["assistant", *config.features.structures] if config.features.structures else []


async def request_reset(
    ctx: AuthContext, raw_identifier: object, raw_email: object, ip: str | None, kind: object = None
) -> ResetOutcome:
    """`kind`: the kind of account chosen, on a portal with structures (`account_kinds`); only an
    account of that kind is found (an unknown kind finds none)."""
    reset = ctx.config.password_reset
    kinds = account_kinds(ctx.config)
    of_kind = (Account.kind == (kind if kind in kinds else "")) if kinds else True
    account: Account | None = None
    if "identifier" in reset.identify_by:
        account = await ctx.find(raw_identifier)
        if account is not None and kinds and account.kind != kind:
            account = None
        if account is None:
            return await _reset_refused(ctx, "unknown_identifier", None, ip)
        if "email" in reset.identify_by:
            email = normalize_email(raw_email)
            if email is None or account.email_key != email:
                return await _reset_refused(ctx, "email_mismatch", account, ip)
    else:
        email = normalize_email(raw_email)
        if email is not None:
            account = await ctx.db.scalar(
                select(Account)
                .where(Account.tenant_id == ctx.tenant.slug, Account.email_key == email, of_kind)
                .order_by(Account.id)
                .limit(1)
            )
        if account is None:
            return await _reset_refused(ctx, "unknown_identifier", None, ip)
    if account.disabled_at is not None:
        return await _reset_refused(ctx, "unknown_identifier", account, ip)
    if account.locked_at is not None and not reset.allowed_when_locked:
        if account.locked_until is None or account.locked_until > clock.now():
            return await _reset_refused(ctx, "locked", account, ip)
    if not await RESET_PER_ACCOUNT.hit(ctx.db, ctx.tenant.slug, str(account.id)):
        return await _reset_refused(ctx, "throttled", account, ip)
    await send_reset(ctx, account, reason="reset")
    await audit.record(ctx.db, ctx.tenant.slug, EventType.RESET_REQUESTED, account_id=account.id, ip=ip, mode=reset.mode)
    await ctx.db.commit()
    return ResetOutcome("sent")


async def _reset_refused(ctx: AuthContext, status: str, account: Account | None, ip: str | None) -> ResetOutcome:
    await audit.record(ctx.db, ctx.tenant.slug, EventType.RESET_REFUSED, account_id=account.id if account else None, ip=ip, reason=status)
    await ctx.db.commit()
    return ResetOutcome(status)


async def reset_token_account(ctx: AuthContext, token: object) -> Account | None:
    row = await ctx.tokens.find(RESET, token, ctx.tenant.slug)
    return await ctx.get(row.account_id) if row else None


async def reset_with_token(
    ctx: AuthContext, token: object, password: object, confirmation: object, ip: str | None
) -> Account:
    account = await reset_token_account(ctx, token)
    if account is None:
        raise TokenInvalid()
    await credentials.validate_new_password(ctx, account, password, confirmation)
    if await ctx.tokens.consume(RESET, token, ctx.tenant.slug) is None:
        raise TokenInvalid()
    await credentials.set_password(ctx, account, str(password), ip, reason="reset")
    await audit.record(ctx.db, ctx.tenant.slug, EventType.RESET_USED, account_id=account.id, ip=ip)
    await ctx.db.commit()
    return account
