"""Console users: a tenant's staff (roles admin and read_only) and platform super-admins.

Passwords under the tenant's policy (the platform's default policy for super-admins), the
same race-free lockout as the portal but with the consoles' own rule (temporary: staff
addresses are public, and a tenant's permanent portal lock would let anyone shut a console for
good), tokens of the one token service, sessions of the one session store (own cookie)."""

from __future__ import annotations

from dataclasses import dataclass
from datetime import timedelta

from sqlalchemy import select, update
from sqlalchemy.ext.asyncio import AsyncSession

from assmat.core import clock
from assmat.core.security import audit
from assmat.core.security.audit import EventType
from assmat.auth.errors import LoginFailed, PasswordRejected, TokenInvalid
from assmat.core.security.hashing import AsyncHasher
from assmat.auth.identifiers import normalize_email
from assmat.auth.lockout import Lockout
from assmat.auth.policy import check_password
from assmat.core.security.tokens import TokenService
from assmat.auth.models import Admin
from assmat.auth.sessions import close_session, end_all_sessions, load_console_session
from assmat.core.i18n import gettext as _
from assmat.core.mail.outbox import InvalidRecipient, enqueue
from assmat.tenants.loader import Tenant
from assmat.tenants.schema import Lockout as LockoutConfig
from assmat.tenants.schema import PasswordPolicy

ROLES = ("admin", "read_only", "super")
SET_PASSWORD, RESET = "set_password", "reset"  # token purposes
SET_PASSWORD_TTL = timedelta(hours=48)
# A console « Mot de passe oublié ? » link: short-lived, and a few per hour at most, so that
# anyone typing a public staff address cannot flood its inbox.
RESET_TTL = timedelta(hours=1)
RESETS_PER_HOUR = 3
# Console sessions are short: staff act on other people's accounts.
CONSOLE_IDLE = timedelta(minutes=30)
CONSOLE_ABSOLUTE = timedelta(hours=10)
# Super-admins belong to no tenant: the platform's own, safe rules.
PLATFORM_POLICY = PasswordPolicy(min_length=12, min_lowercase=1, min_uppercase=1, min_digits=1)
# Every console's default lockout; settings.console_lockout_* change it (console_lockout()).
CONSOLE_LOCKOUT = LockoutConfig(max_failures=5, duration=timedelta(minutes=15))


def console_lockout(settings) -> LockoutConfig:
    return LockoutConfig(max_failures=settings.console_lockout_max_failures,
                         duration=timedelta(minutes=settings.console_lockout_minutes))


@dataclass(frozen=True)
class ConsoleUser:
    admin: Admin
    session_id: str

    @property
    def can_act(self) -> bool:
        return self.admin.role in ("admin", "super")

    @property
    def is_super(self) -> bool:
        return self.admin.role == "super"


class AdminService:
    """A console's users, and its door for `assmat.auth.login.sign_in` (no captcha, the
    consoles' lockout and session timeouts, no pending step)."""

    session_timeout = CONSOLE_ABSOLUTE

    def __init__(self, db: AsyncSession, hasher: AsyncHasher, tenant: Tenant | None,
                 lockout: LockoutConfig = CONSOLE_LOCKOUT):
        self.db = db
        self.hasher = hasher
        self.tenant = tenant
        self.tenant_id = tenant.slug if tenant else None
        self.policy = tenant.config.password_policy if tenant else PLATFORM_POLICY
        self.lockout = Lockout(db, Admin, lockout, self.tenant_id)
        self.tokens = TokenService(db)

    async def find(self, email: object) -> Admin | None:
        key = normalize_email(email)
        if key is None:
            return None
        query = select(Admin).where(Admin.email_key == key)
        # Staff sign in on their tenant's host; super-admins only on the platform's domain.
        query = query.where(Admin.tenant_id == self.tenant_id) if self.tenant_id else query.where(Admin.tenant_id.is_(None))
        return await self.db.scalar(query)

    async def create(self, email: str, role: str, by: str | None = None) -> tuple[Admin, str]:
        """A console user and a set-password token (emailed by the caller)."""
        key = normalize_email(email)
        if key is None:
            raise ValueError(_("Please enter a valid email address."))
        if role not in ROLES or (role == "super") != (self.tenant_id is None):
            raise ValueError("super-admins belong to no tenant; tenant staff are admin or read_only")
        if await self.find(email) is not None:
            raise ValueError(_("An account with this identifier already exists."))
        admin = Admin(tenant_id=self.tenant_id, email=email.strip(), email_key=key, role=role, created_at=clock.now())
        self.db.add(admin)
        await self.db.flush()
        token = await self.issue_set_password(admin)
        await audit.record(self.db, self.tenant_id, EventType.ADMIN_CREATED, role=role, admin_email=admin.email,
                           **({"by": by} if by else {}))
        return admin, token

    async def issue_set_password(
        self, admin: Admin, ttl: timedelta = SET_PASSWORD_TTL, purpose: str = SET_PASSWORD
    ) -> str:
        """A link to choose a password; every other live link of the console user dies."""
        await self.tokens.revoke(admin.principal, SET_PASSWORD, RESET)
        return await self.tokens.issue(purpose, admin.principal, ttl)

    async def invite(self, email: str, role: str, base_url: str, platform_sender: str, by: str | None = None) -> Admin:
        """A console user, emailed a link to choose a password (`assmat create-admin` and the
        platform console). ValueError, in French, for a bad address or one already there."""
        admin, token = await self.create(email, role, by)
        await self._mail_set_password(admin, token, base_url, platform_sender)
        return admin

    async def send_set_password_link(self, admin: Admin, base_url: str, platform_sender: str, by: str) -> None:
        """A new link to choose a password (the first one expired, or was lost); the previous
        links die. The mail waits in the outbox if it cannot leave now."""
        token = await self.issue_set_password(admin)
        await self._mail_set_password(admin, token, base_url, platform_sender)
        await audit.record(self.db, self.tenant_id, EventType.ADMIN_SET_PASSWORD_SENT, admin_email=admin.email, by=by)

    async def _mail_set_password(self, admin: Admin, token: str, base_url: str, platform_sender: str) -> None:
        await enqueue(self.db, self.tenant, "admin_set_password", admin.email, {
            "url": f"{base_url}/admin/mot-de-passe/{token}", "ttl_hours": int(SET_PASSWORD_TTL.total_seconds() // 3600),
            # Bare: the mail gives it its French article (« la console du Département du Gers »).
            "console_name": self.tenant.config.name if self.tenant else "plateforme assmat",
        }, base_url=base_url, platform_sender=platform_sender)

    async def request_reset(self, email: object, base_url: str, ip: str | None, platform_sender: str) -> None:
        """A console's « Mot de passe oublié ? »: a single-use link to choose a new password,
        mailed to the stored address of an active console user of this console. The caller
        answers the same whatever happens here; the mail waits in the outbox, never the reply.
        Choosing the password through the link also lifts a console lockout."""
        admin = await self.find(email)
        if admin is None or admin.disabled_at is not None:
            return
        if await self.tokens.recent(admin.principal, RESET, since=timedelta(hours=1)) >= RESETS_PER_HOUR:
            return
        token = await self.issue_set_password(admin, RESET_TTL, purpose=RESET)
        try:
            await enqueue(self.db, self.tenant, "reset_link", admin.email, {
                "url": f"{base_url}/admin/mot-de-passe/{token}", "ttl_hours": int(RESET_TTL.total_seconds() // 3600),
            }, base_url=base_url, platform_sender=platform_sender)
        except InvalidRecipient:  # a stored address the mailer refuses: nothing to send, same answer
            await self.db.rollback()
            return
        await audit.record(self.db, self.tenant_id, EventType.ADMIN_PASSWORD_RESET_REQUESTED, ip=ip, admin_email=admin.email)
        await self.db.commit()

    async def authenticate(self, email: object, password: str, ip: str | None) -> Admin:
        admin = await self.find(email)
        if admin is None or admin.disabled_at is not None or admin.password_hash is None:
            await self.hasher.dummy_verify(password)
            await audit.record(self.db, self.tenant_id, EventType.ADMIN_LOGIN_FAILED, ip=ip)
            await self.db.commit()
            raise LoginFailed()
        await self.lockout.clear_expired(admin)
        if not await self.lockout.reserve(admin.id):
            await self.hasher.dummy_verify(password)
            await audit.record(self.db, self.tenant_id, EventType.ADMIN_LOGIN_FAILED, ip=ip, admin_email=admin.email, reason="locked")
            await self.db.commit()
            raise LoginFailed()
        if not await self.hasher.verify(admin.password_hash, password):
            if await self.lockout.lock_if_reached(admin.id):
                await end_all_sessions(self.db, admin.principal)
                await audit.record(self.db, self.tenant_id, EventType.ADMIN_LOCKED, ip=ip, admin_email=admin.email)
            await audit.record(self.db, self.tenant_id, EventType.ADMIN_LOGIN_FAILED, ip=ip, admin_email=admin.email)
            await self.db.commit()
            raise LoginFailed()
        await self.lockout.release(admin.id)
        values: dict[str, object] = {"last_login_at": clock.now()}
        if self.hasher.needs_rehash(admin.password_hash):
            values["password_hash"] = await self.hasher.hash(password)
        await self.db.execute(update(Admin).where(Admin.id == admin.id).values(**values))
        await audit.record(self.db, self.tenant_id, EventType.ADMIN_LOGIN, ip=ip, admin_email=admin.email)
        await self.db.commit()
        return admin

    def captcha_key(self) -> None:
        return None  # staff addresses are few and the lockout guards them

    def next_step(self, principal: object) -> None:
        return None

    async def set_password_with_token(self, token: object, password: object, confirmation: object) -> Admin:
        row = await self._live_token(token)
        if row is None:
            raise TokenInvalid()
        admin = await self.db.scalar(select(Admin).where(Admin.id == row.admin_id, Admin.tenant_id == self.tenant_id))
        if admin is None:
            raise TokenInvalid()
        if not isinstance(password, str) or not password:
            raise PasswordRejected([_("Please enter a new password.")])
        violations = [v.message for v in check_password(password, self.policy, identifier=admin.email)]
        if violations:
            raise PasswordRejected(violations)
        if confirmation != password:
            raise PasswordRejected([_("The password is not identical to the confirmation.")], field="confirmation")
        if await self.tokens.consume(row.purpose, token, self.tenant_id, kind="admin") is None:
            raise TokenInvalid()
        await self.db.execute(
            update(Admin).where(Admin.id == admin.id).values(
                password_hash=await self.hasher.hash(password), failed_logins=0, locked_at=None, locked_until=None
            )
        )
        await end_all_sessions(self.db, admin.principal)
        await audit.record(self.db, self.tenant_id, EventType.ADMIN_PASSWORD_SET, admin_email=admin.email)
        await self.db.commit()
        return admin

    async def _live_token(self, token: object):
        """A live set-password or reset link of this console."""
        for purpose in (SET_PASSWORD, RESET):
            row = await self.tokens.find(purpose, token, self.tenant_id, kind="admin")
            if row is not None:
                return row
        return None

    # -- sessions --------------------------------------------------------------------------------

    async def load_session(self, token: str | None) -> ConsoleUser | None:
        """The console user of this host's tenant (or of the platform on the root domain)."""
        found = await load_console_session(self.db, self.tenant_id, token, CONSOLE_IDLE)
        return ConsoleUser(found[1], found[0].id) if found else None

    async def close_session(self, token: str | None) -> None:
        await close_session(self.db, self.tenant_id, token)
        await self.db.commit()
