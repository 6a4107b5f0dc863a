"""« Signaler un changement de situation » (seed 002): the assistant's report is checked,
counted against the account, kept for the staff's console and mailed to the tenant's
administrator."""

from __future__ import annotations

from dataclasses import dataclass
from datetime import date

from sqlalchemy import and_, case, literal, select
from sqlalchemy.ext.asyncio import AsyncSession

from assmat.auth.models import Account
from assmat.core import clock
from assmat.core.errors import Invalid, RateLimited
from assmat.core.i18n import gettext as _
from assmat.core.mail.outbox import enqueue
from assmat.core.security import audit
from assmat.core.security.audit import EventType
from assmat.core.security.ratelimit import SITUATION_CHANGE_PER_ACCOUNT
from assmat.portal.messages.service import account_name
from assmat.portal.profile.models import Fiche
from assmat.portal.publication.service import published_clause
from assmat.portal.space.models import SituationChange
from assmat.portal.structures.models import Structure
from assmat.portal.structures.service import covers
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
    await audit.record(db, tenant.slug, EventType.SITUATION_CHANGE_SENT, account_id=account.id, ip=ip, situation_change_id=change.id)
    return change


# -- the relais' assistants (seed 002: « Rapprochez-vous du relais … Il vous aidera dans la mise à jour de votre fiche ») --

@dataclass(frozen=True)
class RelaisAssistant:
    """One line of the relais' list: what a relais needs to help her with her fiche. The phone
    on file is the contact the town halls' list carries (art. L.421-8 CASF); her sign-in email,
    address, birth date, agrément and children are not the relais' to see."""

    name: str
    city: str | None
    published: bool | None  # None: the tenant publishes no fiches
    fiche_updated_on: date | None  # None: she never saved a fiche
    phone: str | None


async def relais_assistants(db: AsyncSession, tenant: Tenant, relais: Structure) -> list[RelaisAssistant]:
    """The tenant's assistants (enabled accounts) whose commune is one of the relais' communes,
    published or not, by commune then name. Two statements whatever the size: the communes of
    every assistant (matched here, accents and hyphens aside), then the matching ones' lines."""
    slug = tenant.slug
    located = await db.execute(select(Account.id, Account.city).where(
        Account.tenant_id == slug, Account.kind == "assistant", Account.disabled_at.is_(None),
        Account.city.is_not(None)))
    ids = [account_id for account_id, city in located.all() if covers(relais, city)]
    if not ids:
        return []
    published = case((published_clause(tenant), True), else_=False) if tenant.config.publication is not None \
        else literal(None)
    rows = await db.execute(
        select(Account.first_name, Account.last_name, Account.city, Account.phone, Fiche.updated_at,
               published.label("published"))
        .outerjoin(Fiche, and_(Fiche.tenant_id == slug, Fiche.account_id == Account.id))
        .where(Account.tenant_id == slug, Account.id.in_(ids))
        .order_by(Account.city, Account.last_name, Account.first_name, Account.id))
    return [RelaisAssistant(" ".join(part for part in (row.first_name, row.last_name) if part) or "—", row.city,
                            None if row.published is None else bool(row.published),
                            clock.local(row.updated_at).date() if row.updated_at else None, row.phone)
            for row in rows.all()]
