"""What an account holder changes: the password (new, forced, temporary), the email address
(change and confirmation) and the accepted terms."""

from __future__ import annotations

from datetime import timedelta

from sqlalchemy import func, select, update

from assmat.auth.context import (
    ACTIVATION, ACTIVATION_STEP2, EMAIL_CHANGE, EMAIL_CONFIRMATION, RESET, TEMPORARY_PASSWORD, AuthContext,
    hours, mask_email,
)
from assmat.auth.errors import PasswordRejected, TokenInvalid, WrongCurrentPassword
from assmat.auth.identifiers import normalize_email
from assmat.auth.models import Account, PasswordHistory
from assmat.auth.policy import check_password, generate_temporary_password
from assmat.auth.sessions import end_all_sessions
from assmat.core import clock
from assmat.core.i18n import gettext as _
from assmat.core.mail.address import plain_address
from assmat.core.security import audit
from assmat.core.security.audit import EventType
from assmat.core.security.models import AccountToken
from assmat.core.security.tokens import Principal


async def temporary_password_matches(ctx: AuthContext, account_id: int, password: str) -> AccountToken | None:
    """The temporary password token this password opens, checked by keyed hash: a random
    temporary password is too long to brute-force, so no argon2 work is added."""
    candidate = ctx.tokens.password_hash(Principal("account", account_id, ctx.tenant.slug), password)
    return await ctx.db.scalar(
        select(AccountToken).where(
            AccountToken.account_id == account_id,
            AccountToken.purpose == TEMPORARY_PASSWORD,
            AccountToken.token_hash == candidate,
        )
    )


async def _was_temporary_password(ctx: AuthContext, account: Account, password: str) -> bool:
    return await temporary_password_matches(ctx, account.id, password) is not None


async def change_forced_password(
    ctx: AuthContext, account: Account, password: object, confirmation: object, ip: str | None, reason: str
) -> None:
    """The forced change. After a temporary-password sign-in, the temporary password is
    spent here, by a conditional UPDATE … RETURNING in the transaction that stores the new
    password: of two parallel changes exactly one sets a password. TokenInvalid when none
    is left to spend (the caller ends its session and sends the browser to sign in)."""
    await validate_new_password(ctx, account, password, confirmation)
    if account.must_change_password:
        now = clock.now()
        spent = await ctx.db.execute(
            update(AccountToken)
            .where(
                AccountToken.account_id == account.id,
                AccountToken.tenant_id == ctx.tenant.slug,
                AccountToken.purpose == TEMPORARY_PASSWORD,
                AccountToken.used_at.is_(None),
                AccountToken.expires_at > now,
            )
            .values(used_at=now)
            .returning(AccountToken.id)
        )
        if not spent.scalars().all():
            # Expired or revoked while the flag is still set: every session of the account
            # is restricted, so all end with the flag. When a parallel change won, the flag
            # is already down and its new session must live: nothing to do but refuse.
            cleared = await ctx.db.execute(
                update(Account)
                .where(Account.id == account.id, Account.tenant_id == ctx.tenant.slug, Account.must_change_password.is_(True))
                .values(must_change_password=False)
                .returning(Account.id)
            )
            if cleared.scalar() is not None:
                await end_all_sessions(ctx.db, account.principal)
            await audit.record(ctx.db, ctx.tenant.slug, EventType.PASSWORD_CHANGE_REFUSED, account_id=account.id, ip=ip,
                               reason="temporary_password_spent")
            await ctx.db.commit()
            raise TokenInvalid()
    await set_password(ctx, account, str(password), ip, reason=reason)


async def check_current_password(ctx: AuthContext, account: Account, password: str, ip: str | None) -> None:
    """The current password, for a change of password or email: counted like a login, so
    the form is no way around the lockout."""
    if not await ctx.lockout.reserve(account.id):
        await ctx.hasher.dummy_verify(password)
        raise WrongCurrentPassword()
    ok = account.password_hash is not None and await ctx.hasher.verify(account.password_hash, password)
    if not ok:
        await ctx.lock_if_reached(account, ip)
        await audit.record(ctx.db, ctx.tenant.slug, EventType.PASSWORD_CHECK_FAILED, account_id=account.id, ip=ip)
        await ctx.db.commit()
        raise WrongCurrentPassword()
    await ctx.lockout.release(account.id)
    await ctx.db.commit()


async def _check_history(ctx: AuthContext, account: Account, password: str) -> bool:
    """True when `password` was used within the tenant's history window."""
    history = ctx.config.password_policy.history
    hashes: list[str] = [account.password_hash] if account.password_hash else []
    if history is not None:
        query = select(PasswordHistory.password_hash).where(PasswordHistory.tenant_id == ctx.tenant.slug, PasswordHistory.account_id == account.id)
        if history.months:
            query = query.where(PasswordHistory.created_at >= clock.now() - timedelta(days=30 * history.months))
        query = query.order_by(PasswordHistory.created_at.desc())
        if history.count:
            query = query.limit(history.count)
        hashes += list((await ctx.db.scalars(query)).all())
    for stored in dict.fromkeys(hashes):
        if await ctx.hasher.verify(stored, password):
            return True
    return False


async def validate_new_password(ctx: AuthContext, account: Account, password: object, confirmation: object) -> str:
    """The new password if acceptable; PasswordRejected with one message per broken rule."""
    if not isinstance(password, str) or not password:
        raise PasswordRejected([_("Please enter a new password.")])
    policy = ctx.config.password_policy
    violations = [v.message for v in check_password(
        password, policy, identifier=account.identifier,
        names=[n for n in (account.first_name, account.last_name) if n],
    )]
    if violations:
        # A tenant may lead the list with its seed's summary (« Mot de passe non conforme… »).
        lead = ctx.text("password.not_compliant")
        raise PasswordRejected([lead, *violations] if lead else violations)
    if not isinstance(confirmation, str) or confirmation != password:
        raise PasswordRejected([ctx.text("password.mismatch")], field="confirmation")
    if await _was_temporary_password(ctx, account, password):
        raise PasswordRejected([_("The temporary password cannot become your new password.")])
    if await _check_history(ctx, account, password):
        raise PasswordRejected([_("This password has already been used recently: please choose another one.")])
    return password


async def set_password(ctx: AuthContext, account: Account, password: str, ip: str | None, reason: str) -> None:
    """Store a validated password. Every session and every pending token of the account ends."""
    now = clock.now()
    new_hash = await ctx.hasher.hash(password)
    await ctx.db.execute(
        update(Account)
        .where(Account.id == account.id, Account.tenant_id == ctx.tenant.slug)
        .values(
            password_hash=new_hash,
            password_changed_at=now,
            must_change_password=False,
            needs_security_update=False,
            failed_logins=0,
            locked_at=None,
            locked_until=None,
            activated_at=func.coalesce(Account.activated_at, now),
        )
    )
    ctx.db.add(PasswordHistory(tenant_id=ctx.tenant.slug, account_id=account.id, password_hash=new_hash, created_at=now))
    # An email change asked with the old password must not outlive it.
    await ctx.tokens.revoke(account.principal, RESET, TEMPORARY_PASSWORD, ACTIVATION, ACTIVATION_STEP2, EMAIL_CHANGE)
    await end_all_sessions(ctx.db, account.principal)
    await audit.record(ctx.db, ctx.tenant.slug, EventType.PASSWORD_CHANGED, account_id=account.id, ip=ip, reason=reason)


async def change_password(
    ctx: AuthContext, account: Account, current: str, password: object, confirmation: object, ip: str | None
) -> None:
    await check_current_password(ctx, account, current, ip)
    await validate_new_password(ctx, account, password, confirmation)
    await set_password(ctx, account, str(password), ip, reason="change")
    await ctx.db.commit()


async def issue_temporary_password(
    ctx: AuthContext, account: Account, ttl: timedelta, reason: str, ip: str | None = None
) -> str:
    """A fresh temporary password, valid under the policy; the account keeps its current
    password until the temporary one is used (a reset request changes nothing by itself)."""
    password = generate_temporary_password(ctx.config.password_policy)
    await ctx.tokens.issue(TEMPORARY_PASSWORD, account.principal, ttl, password=password)
    await audit.record(ctx.db, ctx.tenant.slug, EventType.TEMPORARY_PASSWORD_ISSUED, account_id=account.id, ip=ip, reason=reason)
    return password


async def accept_terms(ctx: AuthContext, account: Account, ip: str | None) -> None:
    await ctx.db.execute(
        update(Account)
        .where(Account.id == account.id, Account.tenant_id == ctx.tenant.slug)
        .values(terms_version=ctx.tenant.terms_version, terms_accepted_at=clock.now())
    )
    await audit.record(ctx.db, ctx.tenant.slug, EventType.TERMS_ACCEPTED, account_id=account.id, ip=ip, version=ctx.tenant.terms_version)
    await ctx.db.commit()


async def send_email_confirmation(ctx: AuthContext, account: Account, address: str | None) -> None:
    # A family's online registration lives as long as `families.confirmation_ttl`.
    ttl = ctx.config.families.confirmation_ttl if account.registered_at is not None else ctx.config.activation.link_ttl
    token = await ctx.tokens.issue(EMAIL_CONFIRMATION, account.principal, ttl, data={"email": address})
    await ctx.mail("email_confirmation", address, about=account.id, url=ctx.url(f"/confirmation-email/{token}"), ttl_hours=hours(ttl))


async def address_holder(ctx: AuthContext, email: str, but: int | None = None) -> str | None:
    """The kind of the account whose address or identifier `email` (normalised) is, or None."""
    query = select(Account.kind).where(
        Account.tenant_id == ctx.tenant.slug, (Account.email_key == email) | (Account.identifier == email))
    if but is not None:
        query = query.where(Account.id != but)
    return await ctx.db.scalar(query.order_by(Account.id).limit(1))


async def refuse_a_structures_address(ctx: AuthContext, account: Account, email: str) -> None:
    """Seed 002: a MAM's or relais' address is its own (its identifier), never an assistant's.
    Likewise, where families sign in by their address, a family's address is never another
    account's (it names the account on the login form and the reset form)."""
    if ctx.config.features.parents and ctx.config.login.effective_families_identifier == "email":
        holder = await address_holder(ctx, email, but=account.id)
        if holder is not None and "parent" in (holder, account.kind):
            raise PasswordRejected([_("This address is already the one of another account: please enter your own.")],
                                   field="email")
    if account.kind in ("mam", "ram") or not ctx.config.features.structures:
        return
    taken = await ctx.db.scalar(select(Account.id).where(
        Account.tenant_id == ctx.tenant.slug, Account.kind.in_(("mam", "ram")), Account.email_key == email).limit(1))
    if taken is not None:
        raise PasswordRejected([_("This address is the one of a MAM or a relais: please enter your own.")], field="email")


async def request_email_change(
    ctx: AuthContext, account: Account, current: str, raw_email: object, ip: str | None
) -> None:
    email = normalize_email(raw_email)
    if email is None:
        raise PasswordRejected([_("Please enter a valid email address.")], field="email")
    await refuse_a_structures_address(ctx, account, email)
    await check_current_password(ctx, account, current, ip)
    ttl = ctx.config.activation.link_ttl
    address = plain_address(raw_email)
    token = await ctx.tokens.issue(EMAIL_CHANGE, account.principal, ttl, data={"email": address})
    await ctx.mail("email_change_confirmation", address, about=account.id, url=ctx.url(f"/confirmation-email/{token}"), ttl_hours=hours(ttl))
    await audit.record(ctx.db, ctx.tenant.slug, EventType.EMAIL_CHANGE_REQUESTED, account_id=account.id, ip=ip)
    await ctx.db.commit()


async def email_token_is_live(ctx: AuthContext, token: object) -> bool:
    for purpose in (EMAIL_CHANGE, EMAIL_CONFIRMATION):
        if await ctx.tokens.find(purpose, token, ctx.tenant.slug) is not None:
            return True
    return False


async def confirm_email(ctx: AuthContext, token: object, ip: str | None) -> Account:
    """A link from an email: confirms an address (activation) or applies an email change."""
    for purpose in (EMAIL_CHANGE, EMAIL_CONFIRMATION):
        row = await ctx.tokens.consume(purpose, token, ctx.tenant.slug)
        if row is None:
            continue
        account = await ctx.get(row.account_id)
        if account is None:
            break
        old_address = account.email
        address = row.data["email"]
        await ctx.db.execute(
            update(Account).where(Account.id == account.id, Account.tenant_id == ctx.tenant.slug).values(
                email=address, email_key=normalize_email(address), email_confirmed_at=clock.now()
            )
        )
        if purpose == EMAIL_CHANGE:
            # The old address learns of the change: the owner can react if it was not them.
            await ctx.tokens.revoke(account.principal, RESET, TEMPORARY_PASSWORD, EMAIL_CHANGE)
            if old_address and normalize_email(old_address) != normalize_email(address):
                await ctx.mail("email_change_notice", old_address, about=account.id, new_email_masked=mask_email(address))
            await audit.record(ctx.db, ctx.tenant.slug, EventType.EMAIL_CHANGED, account_id=account.id, ip=ip)
        else:
            # A family's online registration becomes usable here.
            await ctx.db.execute(update(Account).where(Account.id == account.id, Account.tenant_id == ctx.tenant.slug)
                                 .values(activated_at=func.coalesce(Account.activated_at, clock.now())))
            await audit.record(ctx.db, ctx.tenant.slug, EventType.EMAIL_CONFIRMED, account_id=account.id, ip=ip)
        await ctx.db.commit()
        await ctx.db.scalar(select(Account).where(Account.id == account.id, Account.tenant_id == ctx.tenant.slug).execution_options(populate_existing=True))
        return account
    await ctx.db.rollback()
    raise TokenInvalid()
