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
from typing import Any
from zoneinfo import ZoneInfo

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
from assmat.tenants.loader import Tenant

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
}

PLATFORM_NAME = "Portals of licensed childminders"  # msgid already in the catalog
PLATFORM_COLOUR = "#1f3a5f"
# The tenants are French authorities: dates in mails are read in metropolitan French time.
MAIL_TIMEZONE = ZoneInfo("Europe/Paris")
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
        return format_datetime(value, "short", tzinfo=MAIL_TIMEZONE, locale=current_locale.get())
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


def platform_sender() -> str:
    """The sender of mails that belong to no tenant."""
    from assmat.core.settings import Settings

    return f"Assmat <ne-pas-repondre@{Settings().base_domain}>"


def single_recipient(to: object) -> str:
    """`to` as one bare address, or InvalidRecipient: mail goes to one stored address only, and
    only an address the shared rule accepts (assmat.core.mail.address)."""
    address = plain_address(to)
    if address is None:
        raise InvalidRecipient("one address expected")
    return address


def _common_context(tenant: Tenant | None, locale: str, base_url: str) -> dict[str, Any]:
    config = tenant.config if tenant is not None else None
    # Links come from the deployment's base (assmat.core.mail.links), never from the request's Host.
    links = {"portal_url": f"{base_url}/", "admin_url": f"{base_url}/admin"}
    if config is None:
        service_name = gettext(PLATFORM_NAME)
        return {
            "tenant": None,
            "service_name": service_name,
            "tenant_name": service_name,
            "primary_color": PLATFORM_COLOUR,
            **links,
            "contact_lines": [],
            "locale": locale,
        }
    contact = config.branding.contact
    contact_lines = []
    if contact.phone:
        contact_lines.append(gettext("Phone: %(phone)s") % {"phone": contact.phone})
    if contact.email:
        contact_lines.append(gettext("Email: %(email)s") % {"email": contact.email})
    return {
        "tenant": config,
        "service_name": config.branding.service_name,
        "tenant_name": config.name,
        "primary_color": config.branding.primary_color,  # validated #rrggbb: safe in a style
        **links,
        "contact_lines": contact_lines,
        "locale": locale,
    }


def render(
    tenant: Tenant | None, template: str, context: dict[str, Any], locale: str | None = None, *, base_url: str
) -> RenderedMail:
    """Subject, text and HTML of `template` in `locale` (else the tenant's, else French).
    `base_url` is `assmat.core.mail.links.mail_base_url(settings, tenant)`: every link of the mail starts with it."""
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
    locale = locale or (tenant.config.locale if tenant is not None else DEFAULT_LOCALE)
    token = current_locale.set(locale)
    try:
        values = {**context, **_common_context(tenant, locale, base_url)}
        subject = " ".join(_env.get_template(f"{template}/subject.txt").render(values).split())[:SUBJECT_MAX]
        values["subject"] = subject
        body_text = _env.get_template(f"{template}/body.txt").render(values).strip("\n")
        body_html = _env.get_template(f"{template}/body.html").render(values)
    finally:
        current_locale.reset(token)
    sender = tenant.config.branding.mail_from if tenant is not None else platform_sender()
    return RenderedMail(sender=sender, subject=subject, body_text=body_text, body_html=body_html, locale=locale)


async def enqueue(
    session: AsyncSession,
    tenant: Tenant | None,
    template: str,
    to: str,
    context: dict[str, Any],
    locale: str | None = None,
    *,
    base_url: str,
) -> OutboxMail:
    """Add the rendered mail to `session`; it is queued when the caller commits, with its change.
    `base_url`: see `render`."""
    recipient = single_recipient(to)
    mail = render(tenant, template, context, locale, base_url=base_url)
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


async def requeue(session: AsyncSession, tenant: Tenant | None, mail_id: int) -> bool:
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
