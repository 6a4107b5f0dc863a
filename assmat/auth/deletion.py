"""« Supprimer mon compte »: a family account is deleted with every personal datum it holds.

Its rows go with it (every table that references an account does so ON DELETE CASCADE: sessions,
tokens, password history, and a family's searches, alerts, favourites and requests); the audit
trail stays but no longer names the person: its lines lose the account, the address they came
from and any personal detail; the mails queued or kept for its address go too. A last email to
the address the account had confirms the deletion. The family does it with its password; staff
do it from the console, confirmed and audited."""

from __future__ import annotations

from sqlalchemy import delete, func, select, update

from assmat.auth import credentials
from assmat.auth.context import AuthContext
from assmat.auth.models import Account
from assmat.auth.sessions import end_all_sessions
from assmat.core.mail.models import OutboxMail
from assmat.core.security import audit
from assmat.core.security.audit import EventType
from assmat.core.security.models import AuditEvent

# Detail keys of an account's audit lines that could name the person.
PERSONAL_DETAIL = {"identifier", "email", "full_name", "first_name", "last_name", "new_email", "address", "name"}


def may_delete(account: Account) -> bool:
    """Only a family account is deleted this way (an assistant's comes from the PMI's file)."""
    return account.kind == "parent"


async def delete_own_account(ctx: AuthContext, account: Account, password: str, ip: str | None) -> None:
    """The family's own deletion, confirmed by its password (counted like a login: the form is
    no way around the lockout). WrongCurrentPassword, nothing deleted, when it is wrong."""
    if not may_delete(account):
        raise PermissionError("not a family account")
    await credentials.check_current_password(ctx, account, password, ip)
    await erase(ctx, account, by="self", ip=ip)
    await ctx.db.commit()


async def erase(ctx: AuthContext, account: Account, *, by: str, ip: str | None = None) -> None:
    """Delete the account and its personal data in the caller's transaction (not committed)."""
    address = account.email
    events = (await ctx.db.execute(select(AuditEvent.id, AuditEvent.detail).where(
        AuditEvent.tenant_id == ctx.tenant.slug, AuditEvent.account_id == account.id))).all()
    for event_id, detail in events:
        kept = {key: value for key, value in (detail or {}).items() if key not in PERSONAL_DETAIL}
        await ctx.db.execute(update(AuditEvent).where(AuditEvent.tenant_id == ctx.tenant.slug, AuditEvent.id == event_id)
                             .values(account_id=None, ip=None, detail=kept))
    if address:
        await ctx.db.execute(delete(OutboxMail).where(
            OutboxMail.tenant_id == ctx.tenant.slug, func.lower(OutboxMail.recipient) == address.lower()))
    await end_all_sessions(ctx.db, account.principal)
    await ctx.db.execute(delete(Account).where(Account.tenant_id == ctx.tenant.slug, Account.id == account.id))
    await audit.record(ctx.db, ctx.tenant.slug, EventType.ACCOUNT_DELETED, by=by)
    await ctx.mail("account_deleted", address)
