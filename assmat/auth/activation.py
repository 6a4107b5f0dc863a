"""A first password for an account the monthly file created: by identity check and an
emailed link (Alpes-Maritimes), or by PMI number and birth date, then a second step
(Eure-et-Loir)."""

from __future__ import annotations

from datetime import date, timedelta

from sqlalchemy import update

from assmat.auth import credentials
from assmat.auth.context import ACTIVATION, ACTIVATION_STEP2, AuthContext, full_name, hours
from assmat.auth.errors import PasswordRejected, RateLimited, TokenInvalid
from assmat.auth.identifiers import normalize_email, normalize_name
from assmat.auth.models import Account
from assmat.core import clock
from assmat.core.i18n import gettext as _
from assmat.core.mail.address import plain_address
from assmat.core.security import audit
from assmat.core.security.audit import EventType
from assmat.core.security.models import AccountToken
from assmat.core.security.ratelimit import ACTIVATION_PER_IDENTIFIER, ACTIVATION_PER_IP

STEP2_TTL = timedelta(minutes=30)


async def _throttle_identifier(ctx: AuthContext, raw_identifier: object, ip: str | None) -> None:
    key = ctx.normalize(raw_identifier) or "?"
    allowed = await ACTIVATION_PER_IDENTIFIER.hit(ctx.db, ctx.tenant.slug, f"id:{key}")
    allowed_ip = await ACTIVATION_PER_IP.hit(ctx.db, ctx.tenant.slug, f"ip:{ip}")
    await ctx.db.commit()
    if not (allowed and allowed_ip):
        raise RateLimited()


async def activation_by_identity(
    ctx: AuthContext, raw_identifier: object, last_name: object, first_name: object, birth_date: date | None,
    raw_email: object, ip: str | None,
) -> None:
    """Alpes-Maritimes: identifier + identity → a link to set the password, emailed to the
    address given. One generic answer whatever matched (RateLimited apart)."""
    await _throttle_identifier(ctx, raw_identifier, ip)
    fields = set(ctx.config.activation.identity_fields or [])
    account = await ctx.find(raw_identifier)
    email = normalize_email(raw_email)
    matches = (
        account is not None
        and account.password_hash is None
        and account.disabled_at is None
        and ("last_name" not in fields or normalize_name(str(last_name or "")) == normalize_name(account.last_name))
        and ("first_name" not in fields or normalize_name(str(first_name or "")) == normalize_name(account.first_name))
        and ("birth_date" not in fields or (birth_date is not None and birth_date == account.birth_date))
        and ("email" not in fields or (email is not None and (account.email_key is None or account.email_key == email)))
    )
    if not matches or account is None:
        await audit.record(ctx.db, ctx.tenant.slug, EventType.ACTIVATION_REFUSED, account_id=account.id if account else None, ip=ip)
        await ctx.db.commit()
        return
    ttl = ctx.config.activation.link_ttl
    address = account.email if "email" not in fields or account.email_key == email else plain_address(raw_email)
    token = await ctx.tokens.issue(ACTIVATION, account.principal, ttl, data={"email": address})
    await ctx.mail("activation_link", address, about=account.id, url=ctx.url(f"/activation/{token}"), ttl_hours=hours(ttl),
                     full_name=full_name(account))
    await audit.record(ctx.db, ctx.tenant.slug, EventType.ACTIVATION_REQUESTED, account_id=account.id, ip=ip)
    await ctx.db.commit()


async def activation_by_pmi_number(
    ctx: AuthContext, raw_identifier: object, birth_date: date | None, ip: str | None
) -> str | None:
    """Eure-et-Loir step 1: PMI number + birth date → a short-lived step-2 token, or None."""
    await _throttle_identifier(ctx, raw_identifier, ip)
    account = await ctx.find(raw_identifier)
    if (
        account is None
        or account.password_hash is not None
        # Activated through FranceConnect (no password of hers): the PMI number and birth date
        # must not let anyone who knows them choose a password for her.
        or account.activated_at is not None
        or account.disabled_at is not None
        or birth_date is None
        or account.birth_date != birth_date
    ):
        await audit.record(ctx.db, ctx.tenant.slug, EventType.ACTIVATION_REFUSED, account_id=account.id if account else None, ip=ip)
        await ctx.db.commit()
        return None
    token = await ctx.tokens.issue(ACTIVATION_STEP2, account.principal, STEP2_TTL)
    await audit.record(ctx.db, ctx.tenant.slug, EventType.ACTIVATION_IDENTIFIED, account_id=account.id, ip=ip)
    await ctx.db.commit()
    return token


async def activation_token(ctx: AuthContext, token: object) -> tuple[AccountToken, Account] | None:
    for purpose in (ACTIVATION, ACTIVATION_STEP2):
        row = await ctx.tokens.find(purpose, token, ctx.tenant.slug)
        if row is not None and (account := await ctx.get(row.account_id)) is not None:
            return row, account
    return None


async def complete_activation(
    ctx: AuthContext, token: object, password: object, confirmation: object, raw_email: object, ip: str | None
) -> Account:
    """Set the first password from an activation link (identity check) or step 2 (PMI
    number: with the email address, confirmed by a link before first use)."""
    found = await activation_token(ctx, token)
    if found is None:
        raise TokenInvalid()
    row, account = found
    email: str | None = None
    if row.purpose == ACTIVATION_STEP2:
        email = normalize_email(raw_email)
        if email is None:
            raise PasswordRejected([_("Please enter a valid email address.")], field="email")
        await credentials.refuse_a_structures_address(ctx, account, email)
    await credentials.validate_new_password(ctx, account, password, confirmation)
    if await ctx.tokens.consume(row.purpose, token, ctx.tenant.slug) is None:
        raise TokenInvalid()
    now = clock.now()
    if row.purpose == ACTIVATION:
        address = row.data.get("email") or account.email
        await ctx.db.execute(
            update(Account).where(Account.id == account.id, Account.tenant_id == ctx.tenant.slug).values(
                email=address, email_key=normalize_email(address), email_confirmed_at=now
            )
        )
    else:
        address = plain_address(raw_email)
        await ctx.db.execute(
            update(Account).where(Account.id == account.id, Account.tenant_id == ctx.tenant.slug).values(
                email=address, email_key=email,
                email_confirmed_at=None if ctx.config.activation.email_confirmation else now,
            )
        )
    await credentials.set_password(ctx, account, str(password), ip, reason="activation")
    if row.purpose == ACTIVATION_STEP2 and ctx.config.activation.email_confirmation:
        await credentials.send_email_confirmation(ctx, account, address)
    await audit.record(ctx.db, ctx.tenant.slug, EventType.ACTIVATION_COMPLETED, account_id=account.id, ip=ip)
    await ctx.db.commit()
    return account
