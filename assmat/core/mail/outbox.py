"""Render an email and queue it in the caller's transaction.

A request never talks to SMTP: it adds an `OutboxMail` row next to its business change and
commits both at once, so a mail exists exactly when the change it reports does. A sender
(`assmat.core.mail.sender.deliver_due`) delivers the rows later, retrying while SMTP is down.
"""

from __future__ import annotations

import re
from dataclasses import dataclass
from datetime import datetime
from pathlib import Path
from typing import Any, Protocol

import jinja2
from babel.dates import format_datetime
from sqlalchemy import update
from sqlalchemy.ext.asyncio import AsyncSession

from assmat.core import clock
from assmat.core.mail.models import OutboxMail
from assmat.core.i18n import DEFAULT_LOCALE, current_locale, gettext, ngettext
from assmat.core.i18n.names import of_name
from assmat.core.db.engine import MAIL_ENQUEUED
from assmat.core.mail.address import plain_address

TEMPLATES_DIR = Path(__file__).resolve().parent / "templates"

# Template id → the context keys its caller must give (beyond the common ones added here).
TEMPLATES: dict[str, frozenset[str]] = {
    "temporary_password": frozenset({"password"}),  # ttl_hours optional: adds the validity
    "reset_link": frozenset({"url", "ttl_hours"}),
    "account_locked": frozenset(),
    "account_locked_admin": frozenset({"identifier", "full_name", "locked_at"}),
    "activation_link": frozenset({"url", "ttl_hours", "full_name"}),
    "email_confirmation": frozenset({"url", "ttl_hours"}),
    "email_change_confirmation": frozenset({"url", "ttl_hours"}),
    "email_change_notice": frozenset({"new_email_masked"}),
    "contact_admin": frozenset({"name", "email", "message"}),
    # Quotes the visitor's name and message only when given them (a verified address): see
    # acknowledgment_context in assmat/portal/contact/service.py.
    "contact_acknowledgment": frozenset(),
    "situation_change_admin": frozenset({"name", "identifier", "message"}),
    "personal_message_notice": frozenset(),
    "admin_set_password": frozenset({"url", "ttl_hours", "console_name"}),
    "availability_reminder": frozenset({"url", "deadline"}),
    "availability_place_reminder": frozenset({"url", "free_from"}),
    # One mail per step of an habilitation request (assmat/portal/habilitation/service.py); quotes
    # nothing the requester typed (her address is not verified yet) but the staff's reason.
    "habilitation": frozenset({"step"}),
    # A family's online registration with an address already an account's (assmat/auth/registration.py),
    # and a family account's deletion (assmat/auth/deletion.py): neither quotes anything typed.
    "registration_exists": frozenset(),  # links to the sign-in and forgot-password pages of portal_url
    "account_deleted": frozenset(),
    # A family's account (assmat/portal/families/service.py): an address appears only where its
    # owner chose to share it (family_email, assistant_email: None otherwise). No Reply-To.
    # Every other link is built from portal_url: `lines` are (name, commune, public_id, free_from).
    "search_alert": frozenset({"search_name", "lines", "url"}),
    "contact_request": frozenset({"message", "phone", "family_email", "url"}),
    "contact_answer": frozenset({"assistant_name", "answer", "assistant_email", "url"}),
}

PLATFORM_NAME = "Portals of licensed childminders"  # msgid already in the catalog
PLATFORM_COLOUR = "#1f3a5f"
SUBJECT_MAX = 300  # OutboxMail.subject


class MailTemplateError(ValueError):
    """Unknown template id or missing context: a programming error, raised before anything is queued."""


class InvalidRecipient(ValueError):
    """The recipient is not exactly one plain address (a list, several addresses, a header break)."""


@dataclass(frozen=True)
class RenderedMail:
    sender: str
    subject: str
    body_text: str
    body_html: str
    locale: str


def _format_datetime(value: Any) -> str:
    if isinstance(value, datetime):
        # Read in the tenant's time (assmat.core.clock), whatever the server's zone.
        return format_datetime(value, "short", tzinfo=clock.PARIS, locale=current_locale.get())
    return str(value)


def _environment() -> jinja2.Environment:
    env = jinja2.Environment(
        loader=jinja2.FileSystemLoader(TEMPLATES_DIR),
        # HTML bodies escape everything the context gives; text bodies and subjects are plain.
        autoescape=jinja2.select_autoescape(enabled_extensions=("html",), default_for_string=False, default=False),
        undefined=jinja2.StrictUndefined,
        extensions=["jinja2.ext.i18n"],
        trim_blocks=True,
        lstrip_blocks=True,
    )
    env.install_gettext_callables(gettext=gettext, ngettext=ngettext, newstyle=True)  # type: ignore[attr-defined]
    env.filters["datetime"] = _format_datetime
    env.filters["of_name"] = of_name
    return env


_env = _environment()


@dataclass(frozen=True)
class MailBranding:
    """What a mail shows of the tenant that sends it: its names, colour, contact and sender."""

    name: str
    service_name: str
    primary_color: str  # validated #rrggbb by the tenant schema: safe in a style attribute
    mail_from: str
    locale: str
    public_url: str | None = None
    contact_phone: str | None = None
    contact_email: str | None = None


class MailTenant(Protocol):
    """A tenant as the mailer sees it (assmat.tenants.loader.Tenant is one): mail sits below the
    tenants' configuration and asks only for what it shows."""

    @property
    def slug(self) -> str: ...

    @property
    def mail(self) -> MailBranding: ...


def single_recipient(to: object) -> str:
    """`to` as one bare address, or InvalidRecipient: mail goes to one stored address only, and
    only an address the shared rule accepts (assmat.core.mail.address)."""
    address = plain_address(to)
    if address is None:
        raise InvalidRecipient("one address expected")
    return address


def _common_context(tenant: MailTenant | None, locale: str, base_url: str) -> dict[str, Any]:
    # Links come from the deployment's base (assmat.core.mail.links), never from the request's Host.
    links = {"portal_url": f"{base_url}/", "admin_url": f"{base_url}/admin"}
    if tenant is None:
        service_name = gettext(PLATFORM_NAME)
        return {
            "service_name": service_name,
            "tenant_name": service_name,
            "primary_color": PLATFORM_COLOUR,
            **links,
            "contact_lines": [],
            "locale": locale,
        }
    branding = tenant.mail
    contact_lines = []
    if branding.contact_phone:
        contact_lines.append(gettext("Phone: %(phone)s") % {"phone": branding.contact_phone})
    if branding.contact_email:
        contact_lines.append(gettext("Email: %(email)s") % {"email": branding.contact_email})
    return {
        "service_name": branding.service_name,
        "tenant_name": branding.name,
        "primary_color": branding.primary_color,
        **links,
        "contact_lines": contact_lines,
        "locale": locale,
    }


def render(
    tenant: MailTenant | None,
    template: str,
    context: dict[str, Any],
    locale: str | None = None,
    *,
    base_url: str,
    platform_sender: str | None = None,
) -> RenderedMail:
    """Subject, text and HTML of `template` in `locale` (else the tenant's, else French).
    `base_url` is `assmat.core.mail.links.mail_base_url(settings, tenant)`: every link of the mail starts with it.
    A tenant's mail comes from its `mail_from`; a mail of no tenant from `platform_sender`
    (`Settings.platform_mail_from`), which it then needs."""
    if template not in TEMPLATES:
        raise MailTemplateError(f"unknown mail template: {template}")
    missing = TEMPLATES[template] - context.keys()
    if missing:
        raise MailTemplateError(f"mail template {template} needs: {', '.join(sorted(missing))}")
    base_url = base_url.rstrip("/") if isinstance(base_url, str) else ""
    if not re.fullmatch(r"https?://[^\s/?#]+(/[^\s?#]*)?", base_url):
        raise MailTemplateError("base_url must be an absolute http(s) address")
    url = context.get("url")
    if url is not None and not (isinstance(url, str) and url.startswith(f"{base_url}/") and not re.search(r"\s", url)):
        raise MailTemplateError("url must start with the mail's base_url (assmat.core.mail.links)")
    if tenant is None and not platform_sender:
        raise MailTemplateError("a mail of no tenant needs platform_sender (Settings.platform_mail_from)")
    locale = locale or (tenant.mail.locale if tenant is not None else DEFAULT_LOCALE)
    token = current_locale.set(locale)
    try:
        values = {**context, **_common_context(tenant, locale, base_url)}
        subject = " ".join(_env.get_template(f"{template}/subject.txt").render(values).split())[:SUBJECT_MAX]
        values["subject"] = subject
        body_text = _env.get_template(f"{template}/body.txt").render(values).strip("\n")
        body_html = _env.get_template(f"{template}/body.html").render(values)
    finally:
        current_locale.reset(token)
    sender = tenant.mail.mail_from if tenant is not None else platform_sender
    return RenderedMail(sender=sender, subject=subject, body_text=body_text, body_html=body_html, locale=locale)


async def enqueue(
    session: AsyncSession,
    tenant: MailTenant | None,
    template: str,
    to: str,
    context: dict[str, Any],
    locale: str | None = None,
    *,
    base_url: str,
    platform_sender: str | None = None,
) -> OutboxMail:
    """Add the rendered mail to `session`; it is queued when the caller commits, with its change.
    `base_url` and `platform_sender`: see `render`."""
    recipient = single_recipient(to)
    mail = render(tenant, template, context, locale, base_url=base_url, platform_sender=platform_sender)
    now = clock.now()
    row = OutboxMail(
        tenant_id=tenant.slug if tenant is not None else None,
        template=template,
        sender=mail.sender,
        recipient=recipient,
        subject=mail.subject,
        body_text=mail.body_text,
        body_html=mail.body_html,
        status="pending",
        attempts=0,
        next_attempt_at=now,
        created_at=now,
    )
    session.add(row)
    session.info[MAIL_ENQUEUED] = True  # the commit wakes the sender (make_sessionmaker)
    return row


async def requeue(session: AsyncSession, tenant: MailTenant | None, mail_id: int) -> bool:
    """Give a failed mail a fresh series of attempts (the console's "retry"). False when the
    mail is not this tenant's or has not failed."""
    tenant_match = OutboxMail.tenant_id == tenant.slug if tenant is not None else OutboxMail.tenant_id.is_(None)
    result = await session.execute(
        update(OutboxMail)
        .where(OutboxMail.id == mail_id, tenant_match, OutboxMail.status == "failed")
        .values(status="pending", attempts=0, next_attempt_at=clock.now(), claimed_until=None)
        .execution_options(synchronize_session=False)
    )
    return result.rowcount == 1  # type: ignore[attr-defined]
