"""What every account flow of a tenant's portal works with, built by one factory
(`auth_context`) for the account pages, the console's actions and the CLI alike.

The flows are modules over this context: `login` (sign in, next step), `credentials`
(passwords, temporary passwords, email addresses, terms), `recovery` (forgot password),
`activation` (first password) and `staff_actions` (what the console does to an account).
Configured by the tenant's YAML; no web code here.

Every public flow commits its own transaction(s): the lockout reservation must be visible to
parallel requests before a password is verified, and mail is enqueued in the same transaction
as the change it announces."""

from __future__ import annotations

import logging
from datetime import timedelta
from typing import TYPE_CHECKING

from sqlalchemy import select
from sqlalchemy.ext.asyncio import AsyncSession

from assmat.auth.identifiers import normalize_identifier
from assmat.auth.lockout import Lockout, lock_duration_words
from assmat.auth.models import Account
from assmat.auth.sessions import end_all_sessions
from assmat.core import clock
from assmat.core.i18n import current_locale
from assmat.core.mail.links import mail_base_url
from assmat.core.mail.outbox import InvalidRecipient, enqueue
from assmat.core.security import audit
from assmat.core.security.audit import EventType
from assmat.core.security.hashing import AsyncHasher
from assmat.core.security.tokens import TokenService
from assmat.tenants.loader import Tenant
from assmat.tenants.messages import message_text

if TYPE_CHECKING:
    from assmat.core.settings import Settings

# Token purposes of portal accounts.
TEMPORARY_PASSWORD = "temporary_password"
RESET = "reset"
ACTIVATION = "activation"
ACTIVATION_STEP2 = "activation_step2"
EMAIL_CHANGE = "email_change"
EMAIL_CONFIRMATION = "email_confirmation"
LETTER_TTL = timedelta(days=30)  # a letter travels by post: its temporary password lives longer

log = logging.getLogger("assmat.auth")


class AuthContext:
    """One tenant, one database transaction, the process's hasher, the secret key and the
    base of mail links."""

    def __init__(self, tenant: Tenant, db: AsyncSession, hasher: AsyncHasher, secret_key: str, base_url: str):
        self.tenant = tenant
        self.config = tenant.config
        self.db = db
        self.hasher = hasher
        self.secret_key = secret_key
        self.base_url = base_url.rstrip("/")
        self.mail_failures: list[str] = []  # templates that could not be queued (see mail)
        self.lockout = Lockout(db, Account, tenant.config.lockout, tenant.slug)
        self.tokens = TokenService(db, secret_key)

    def normalize(self, raw_identifier: object) -> str | None:
        """What was typed in the login form's one identifier field, in its canonical form: where
        structures (MAM, relais) or families sign in by their address and the assistants do not,
        an address (an « @ ») is read as one, anything else by `login.identifier`."""
        login = self.config.login
        by_email = self.config.features.structures or (
            self.config.features.parents and login.effective_families_identifier == "email")
        if by_email and isinstance(raw_identifier, str) and "@" in raw_identifier:
            return normalize_identifier("email", raw_identifier)
        return normalize_identifier(login.identifier, raw_identifier)

    def identifier_for(self, kind: str, raw_identifier: object) -> str | None:
        """The canonical identifier of a new account of `kind`: a structure's by
        `login.structures_identifier`, a family's by `login.families_identifier`, anyone else's by
        `login.identifier`."""
        login = self.config.login
        if kind in ("mam", "ram"):
            return normalize_identifier(login.structures_identifier, raw_identifier)
        if kind == "parent":
            return normalize_identifier(login.effective_families_identifier, raw_identifier)
        return normalize_identifier(login.identifier, raw_identifier)

    async def find(self, raw_identifier: object) -> Account | None:
        identifier = self.normalize(raw_identifier)
        if identifier is None:
            return None
        return await self.db.scalar(
            select(Account).where(Account.tenant_id == self.tenant.slug, Account.identifier == identifier)
        )

    async def get(self, account_id: int) -> Account | None:
        return await self.db.scalar(
            select(Account).where(Account.tenant_id == self.tenant.slug, Account.id == account_id)
        )

    async def mail(self, template: str, to: str | None, *, about: int | None = None, **context: object) -> None:
        """Queue a mail in the transaction of the change it announces. A mail that cannot be
        queued (an address the mailer refuses, a template that fails to render) never undoes or
        blocks that change (a lock, an unlock, a reset): the failure goes to the audit trail of
        the account `about`, and `mail_failures` lets the console say the mail was not sent."""
        if not to:
            return
        try:
            await enqueue(self.db, self.tenant, template, to, context, base_url=self.base_url)
        except Exception as exc:  # render and address errors alike; nothing was added to the session
            log.warning("mail %s not queued for account %s: %s", template, about, type(exc).__name__, exc_info=True)
            await audit.record(self.db, self.tenant.slug, EventType.MAIL_NOT_SENT, account_id=about, template=template,
                               reason="invalid_address" if isinstance(exc, InvalidRecipient) else "error")
            self.mail_failures.append(template)
            return

    def url(self, path: str) -> str:
        return f"{self.base_url}{path}"

    def text(self, message_id: str) -> str:
        return message_text(self.config.messages, current_locale.get(), self.config.locale, message_id)

    async def lock_if_reached(self, account: Account, ip: str | None) -> bool:
        """Lock once: of parallel failures reaching the threshold, exactly one locks and mails."""
        if not await self.lockout.lock_if_reached(account.id):
            return False
        now = clock.now()
        await end_all_sessions(self.db, account.principal)
        await audit.record(self.db, self.tenant.slug, EventType.ACCOUNT_LOCKED, account_id=account.id, ip=ip)
        if self.config.lockout.notify_user:
            # A lock that lifts by itself says so: « contact the administrator » would be false.
            await self.mail("account_locked", account.email, about=account.id,
                            lock_duration=lock_duration_words(self.config.lockout))
        if self.config.lockout.notify_admins:
            await self.mail(
                "account_locked_admin",
                self.config.branding.admin_email,
                about=account.id,
                identifier=account.identifier,
                full_name=full_name(account),
                locked_at=now,
            )
        return True


def auth_context(db: AsyncSession, tenant: Tenant, hasher: AsyncHasher, settings: "Settings") -> AuthContext:
    """The one way to build the context of a tenant's account flows."""
    return AuthContext(tenant, db, hasher, settings.effective_secret_key, mail_base_url(settings, tenant))


def full_name(account: Account) -> str:
    return " ".join(p for p in (account.first_name, account.last_name) if p)


def mask_email(address: str) -> str:
    local, _, domain = address.partition("@")
    return f"{local[:1]}***@{domain}"


def hours(ttl: timedelta) -> int:
    return max(1, int(ttl.total_seconds() // 3600))
