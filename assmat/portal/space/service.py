"""« Signaler un changement de situation » (seed 002): the assistant's report is checked,
counted against the account, kept for the staff's console and mailed to the tenant's
administrator."""

from __future__ import annotations


from sqlalchemy.ext.asyncio import AsyncSession

from assmat.auth.models import Account
from assmat.core.errors import Invalid, RateLimited
from assmat.core.i18n import gettext as _
from assmat.core.mail.outbox import enqueue
from assmat.core.security import audit
from assmat.core.security.audit import EventType
from assmat.core.security.ratelimit import SITUATION_CHANGE_PER_ACCOUNT
from assmat.portal.messages.service import account_name
from assmat.portal.space.models import SituationChange
from assmat.tenants.loader import Tenant

SITUATION_MAX = 5000


async def report_situation_change(
    db: AsyncSession, tenant: Tenant, account: Account, message: str, *, ip: str | None, base_url: str
) -> SituationChange:
    """Checks the report (Invalid), counts it (RateLimited, once the refused attempt's count is
    committed: it still counts), then keeps, mails and audits it. The caller commits."""
    message = message.strip()
    if not message or len(message) > SITUATION_MAX:
        raise Invalid(field_errors={"message": _("Please describe the change (5,000 characters at most).")})
    if not await SITUATION_CHANGE_PER_ACCOUNT.hit(db, tenant.slug, f"account:{account.id}"):
        await db.commit()
        raise RateLimited(_(
            "You have sent several reports today. Please try again tomorrow, or contact the département's services."
        ))
    change = SituationChange(tenant_id=tenant.slug, account_id=account.id, message=message)
    db.add(change)
    await db.flush()
    await enqueue(db, tenant, "situation_change_admin", tenant.config.branding.admin_email, {
        "name": account_name(account), "identifier": account.identifier, "message": message,
    }, base_url=base_url)
    audit.record(db, tenant.slug, EventType.SITUATION_CHANGE_SENT, account_id=account.id, ip=ip, situation_change_id=change.id)
    return change
