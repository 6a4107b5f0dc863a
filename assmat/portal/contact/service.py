"""Contact the administrator (Gers): the message is checked, counted against the visitor's
connection, kept for the console and mailed to the tenant's administrator, with a receipt to
the visitor when asked."""

from __future__ import annotations

from dataclasses import dataclass

from sqlalchemy.ext.asyncio import AsyncSession

from assmat.auth.identifiers import normalize_email
from assmat.auth.models import Account
from assmat.core.errors import Invalid, RateLimited
from assmat.core.i18n import gettext as _
from assmat.core.mail.outbox import enqueue
from assmat.core.security import audit
from assmat.core.security.audit import EventType
from assmat.core.security.ratelimit import CONTACT_PER_IP
from assmat.portal.contact.models import ContactMessage
from assmat.tenants.loader import Tenant

NAME_MAX = 200
MESSAGE_MAX = 5000


@dataclass(frozen=True)
class ContactForm:
    name: str
    email: str
    message: str
    acknowledgment: bool


def read_contact(values: dict[str, str]) -> ContactForm:
    """The form's fields, trimmed; raises Invalid with a message for each wrong field."""
    name, email, message = (values.get(k, "").strip() for k in ("nom", "email", "message"))
    errors: dict[str, str] = {}
    if not name or len(name) > NAME_MAX:
        errors["nom"] = _("Please enter your name (200 characters at most).")
    if normalize_email(email) is None:
        errors["email"] = _("Please enter a valid email address.")
    if not message or len(message) > MESSAGE_MAX:
        errors["message"] = _("Please enter your message (5,000 characters at most).")
    if errors:
        raise Invalid(field_errors=errors)
    return ContactForm(name, email, message, values.get("accuse_reception") in ("1", "on", "oui"))


def acknowledgment_context(account: Account | None, email: str, name: str, message: str) -> dict[str, str]:
    """What the acknowledgment may quote. Anyone can type any address in the contact form: a
    receipt quoting the visitor's words would relay free text, from the tenant's address, to
    whoever they chose. So it confirms receipt and quotes nothing, except for a signed-in
    visitor asking it at their account's confirmed address (where their temporary passwords
    and links already go): they get the copy seed 000 describes."""
    verified = (
        account is not None
        and account.email_confirmed_at is not None
        and account.email is not None
        and normalize_email(account.email) == normalize_email(email)
    )
    return {"name": name, "message": message} if verified else {}


async def send_contact(
    db: AsyncSession, tenant: Tenant, values: dict[str, str], *, ip: str | None, account: Account | None, base_url: str
) -> None:
    """Checks the form (Invalid), then counts it against `ip` (RateLimited, once the
    refused attempt's count is committed: it still counts), then keeps and mails it. The caller commits."""
    contact = read_contact(values)
    if not await CONTACT_PER_IP.hit(db, tenant.slug, f"ip:{ip}"):
        await db.commit()
        raise RateLimited(_("Too many messages were sent from your connection. Please try again later."))
    db.add(ContactMessage(tenant_id=tenant.slug, name=contact.name, email=contact.email, message=contact.message,
                          acknowledgment_requested=contact.acknowledgment, ip=ip))
    await enqueue(db, tenant, "contact_admin", tenant.config.branding.admin_email,
                  {"name": contact.name, "email": contact.email, "message": contact.message}, base_url=base_url)
    if contact.acknowledgment:
        copy = acknowledgment_context(account, contact.email, contact.name, contact.message)
        await enqueue(db, tenant, "contact_acknowledgment", contact.email, copy, base_url=base_url)
    await audit.record(db, tenant.slug, EventType.CONTACT_SENT, ip=ip, acknowledgment=contact.acknowledgment)
