"""What a tenant's staff do to an account from the console or the CLI: create it, unlock,
send a reset or an activation link, print a letter, disable or enable."""

from __future__ import annotations

from datetime import date

from sqlalchemy import ColumnElement, and_, exists, update

from assmat.auth import credentials, recovery
from assmat.auth.context import ACTIVATION, LETTER_TTL, AuthContext, full_name, hours
from assmat.auth.identifiers import normalize_email
from assmat.auth.models import Account
from assmat.auth.sessions import end_all_sessions
from assmat.core import clock
from assmat.core.db.changes import fiche_changed
from assmat.core.i18n import gettext as _
from assmat.core.mail.address import plain_address
from assmat.core.security import audit
from assmat.core.security.audit import EventType
from assmat.core.security.models import AuditEvent


def awaiting_letter() -> ColumnElement[bool]:
    """Accounts whose letter is still to print: never signed in with a password of their own,
    not disabled, and never printed one (an import's new accounts, in the `letter` mode).
    Correlated to the account's row, so it runs inside a tenant's scoped query."""
    printed = exists().where(AuditEvent.tenant_id == Account.tenant_id, AuditEvent.account_id == Account.id,
                             AuditEvent.type == EventType.LETTER_PRINTED.value)
    return and_(Account.activated_at.is_(None), Account.disabled_at.is_(None), ~printed)


async def create_account(
    ctx: AuthContext,
    raw_identifier: str,
    *,
    email: str | None,
    first_name: str | None = None,
    last_name: str | None = None,
    birth_date: date | None = None,
    kind: str = "assistant",
    with_temporary_password: bool = False,
    civility: str | None = None,
    address: str | None = None,
    postal_code: str | None = None,
    city: str | None = None,
    by: str | None = None,
    commit: bool = True,
) -> tuple[Account, str | None]:
    """An account as staff create it: ready for the tenant's activation mode; with a
    temporary password (letter mode) that is returned once, to print. `commit=False`: the
    caller writes more in the same transaction (a structure and its account) and commits."""
    identifier = ctx.identifier_for(kind, raw_identifier)
    if identifier is None:
        raise ValueError(_("The identifier is not valid for this portal."))
    if await ctx.find(identifier) is not None:
        raise ValueError(_("An account with this identifier already exists."))
    email_key = normalize_email(email) if email else None
    if email and email_key is None:
        raise ValueError(_("Please enter a valid email address."))
    if email_key and ctx.config.features.parents and ctx.config.login.effective_families_identifier == "email":
        # Where families sign in by their address, it is never shared with another kind of account.
        holder = await credentials.address_holder(ctx, email_key)
        if holder is not None and holder != kind and "parent" in (holder, kind):
            raise ValueError(_("This address is already the one of another account: please enter your own."))
    email = plain_address(email) if email else None
    account = Account(
        tenant_id=ctx.tenant.slug, kind=kind, identifier=identifier, email=email, email_key=email_key,
        first_name=first_name, last_name=last_name, birth_date=birth_date, civility=civility, address=address,
        postal_code=postal_code, city=city, created_at=clock.now(),
    )
    ctx.db.add(account)
    await ctx.db.flush()
    password = None
    if with_temporary_password:
        password = await credentials.issue_temporary_password(ctx, account, LETTER_TTL, reason="letter")
    await audit.record(ctx.db, ctx.tenant.slug, EventType.ACCOUNT_CREATED, account_id=account.id, kind=kind,
                       with_temporary_password=with_temporary_password, **({"by": by} if by else {}))
    if commit:
        await ctx.db.commit()
    return account, password


async def staff_unlock(ctx: AuthContext, account: Account, by: str) -> None:
    await ctx.lockout.unlock(account.id)
    if account.email:
        await recovery.send_reset(ctx, account, reason="unlock")
    await audit.record(ctx.db, ctx.tenant.slug, EventType.ACCOUNT_UNLOCKED, account_id=account.id, by=by)


async def _lift_lock_for_staff(ctx: AuthContext, account: Account, by: str, action: str) -> bool:
    """A reset or a letter from staff is a way back in, and a locked account could not use
    it (the Gers seed: the administrator unlocks, then a temporary password is emailed). So
    the staff member's act lifts the lock too, audited as an unlock. True when it did."""
    lifted = await ctx.db.execute(
        update(Account)
        .where(Account.id == account.id, Account.tenant_id == ctx.tenant.slug, Account.locked_at.is_not(None))
        .values(locked_at=None, locked_until=None, failed_logins=0)
        .returning(Account.id)
    )
    if lifted.scalar() is None:
        return False
    await audit.record(ctx.db, ctx.tenant.slug, EventType.ACCOUNT_UNLOCKED, account_id=account.id, by=by, action=action)
    return True


async def staff_send_reset(ctx: AuthContext, account: Account, by: str) -> bool:
    """A reset from staff; True when it also lifted a lock."""
    unlocked = await _lift_lock_for_staff(ctx, account, by, "send_reset")
    await recovery.send_reset(ctx, account, reason="staff")
    await audit.record(ctx.db, ctx.tenant.slug, EventType.RESET_SENT_BY_STAFF, account_id=account.id, by=by)
    return unlocked


async def staff_set_disabled(ctx: AuthContext, account: Account, disabled: bool, by: str) -> None:
    await ctx.db.execute(
        update(Account).where(Account.id == account.id, Account.tenant_id == ctx.tenant.slug)
        .values(disabled_at=clock.now() if disabled else None)
    )
    if disabled:
        await end_all_sessions(ctx.db, account.principal)
    await fiche_changed(ctx.db, ctx.tenant, [account.id])  # a disabled account's fiche leaves the search
    await audit.record(ctx.db, ctx.tenant.slug, EventType.ACCOUNT_DISABLED if disabled else EventType.ACCOUNT_ENABLED, account_id=account.id, by=by)


async def staff_resend_activation(ctx: AuthContext, account: Account, by: str) -> bool:
    """An activation link to the stored address; False when there is none (print a letter)."""
    if not account.email or account.password_hash is not None:
        return False
    ttl = ctx.config.activation.link_ttl
    token = await ctx.tokens.issue(ACTIVATION, account.principal, ttl, data={"email": account.email})
    await ctx.mail("activation_link", account.email, about=account.id, url=ctx.url(f"/activation/{token}"), ttl_hours=hours(ttl),
                     full_name=full_name(account))
    await audit.record(ctx.db, ctx.tenant.slug, EventType.ACTIVATION_SENT_BY_STAFF, account_id=account.id, by=by)
    return True


async def staff_letter(ctx: AuthContext, account: Account, by: str) -> str:
    """A fresh temporary password for the printed letter, shown once; a locked account is
    unlocked, or the letter could not be used."""
    await _lift_lock_for_staff(ctx, account, by, "letter")
    password = await credentials.issue_temporary_password(ctx, account, LETTER_TTL, reason="letter")
    await audit.record(ctx.db, ctx.tenant.slug, EventType.LETTER_PRINTED, account_id=account.id, by=by)
    return password
