"""Console users: a tenant's staff (roles admin and read_only) and platform super-admins.

Passwords under the tenant's policy (the platform's default policy for super-admins), the
same race-free lockout as the portal but with the consoles' own rule (temporary: staff
addresses are public, and a tenant's permanent portal lock would let anyone shut a console for
good), server-side sessions in their own table and cookie."""

from __future__ import annotations

from dataclasses import dataclass
from datetime import timedelta

from sqlalchemy import delete, func, select, update
from sqlalchemy.ext.asyncio import AsyncSession

from assmat.core import clock
from assmat.core.security import audit
from assmat.auth.errors import LoginFailed, PasswordRejected, TokenInvalid
from assmat.core.security.hashing import AsyncHasher
from assmat.auth.identifiers import normalize_email
from assmat.auth.lockout import Lockout
from assmat.auth.policy import check_password
from assmat.core.security.tokens import digest, new_secret
from assmat.auth.models import Admin, AdminSession, AdminToken
from assmat.core.i18n import gettext as _
from assmat.core.mail.outbox import InvalidRecipient, enqueue
from assmat.tenants.loader import Tenant
from assmat.tenants.schema import Lockout as LockoutConfig
from assmat.tenants.schema import PasswordPolicy

ROLES = ("admin", "read_only", "super")
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
    def __init__(self, db: AsyncSession, hasher: AsyncHasher, tenant: Tenant | None,
                 lockout: LockoutConfig = CONSOLE_LOCKOUT):
        self.db = db
        self.hasher = hasher
        self.tenant = tenant
        self.tenant_id = tenant.slug if tenant else None
        self.policy = tenant.config.password_policy if tenant else PLATFORM_POLICY
        self.lockout = Lockout(db, Admin, lockout, self.tenant_id)

    async def find(self, email: object) -> Admin | None:
        key = normalize_email(email)
        if key is None:
            return None
        query = select(Admin).where(Admin.email_key == key)
        # Staff sign in on their tenant's host; super-admins only on the platform's domain.
        query = query.where(Admin.tenant_id == self.tenant_id) if self.tenant_id else query.where(Admin.tenant_id.is_(None))
        return await self.db.scalar(query)

    async def create(self, email: str, role: str) -> tuple[Admin, str]:
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
        audit.record(self.db, self.tenant_id, "admin.created", role=role, admin_email=admin.email)
        return admin, token

    async def issue_set_password(self, admin: Admin, ttl: timedelta = SET_PASSWORD_TTL, purpose: str = "set_password") -> str:
        await self.db.execute(
            update(AdminToken).where(AdminToken.admin_id == admin.id, AdminToken.used_at.is_(None)).values(used_at=clock.now())
        )
        token = new_secret()
        now = clock.now()
        self.db.add(AdminToken(token_hash=digest(token), admin_id=admin.id, purpose=purpose,
                               created_at=now, expires_at=now + ttl))
        return token

    async def request_reset(self, email: object, base_url: str, ip: str | None) -> None:
        """A console's « Mot de passe oublié ? »: a single-use link to choose a new password,
        mailed to the stored address of an active console user of this console. The caller
        answers the same whatever happens here; the mail waits in the outbox, never the reply.
        Choosing the password through the link also lifts a console lockout."""
        admin = await self.find(email)
        if admin is None or admin.disabled_at is not None:
            return
        recent = await self.db.scalar(
            select(func.count()).select_from(AdminToken)
            .where(AdminToken.admin_id == admin.id, AdminToken.purpose == "reset",
                   AdminToken.created_at > clock.now() - timedelta(hours=1))
        )
        if recent >= RESETS_PER_HOUR:
            return
        token = await self.issue_set_password(admin, RESET_TTL, purpose="reset")
        try:
            await enqueue(self.db, self.tenant, "reset_link", admin.email, {
                "url": f"{base_url}/admin/mot-de-passe/{token}", "ttl_hours": int(RESET_TTL.total_seconds() // 3600),
            }, base_url=base_url)
        except InvalidRecipient:  # a stored address the mailer refuses: nothing to send, same answer
            await self.db.rollback()
            return
        audit.record(self.db, self.tenant_id, "admin.password_reset_requested", ip=ip, admin_email=admin.email)
        await self.db.commit()

    async def authenticate(self, email: object, password: str, ip: str | None) -> Admin:
        admin = await self.find(email)
        if admin is None or admin.disabled_at is not None or admin.password_hash is None:
            await self.hasher.dummy_verify(password)
            audit.record(self.db, self.tenant_id, "admin.login_failed", ip=ip)
            await self.db.commit()
            raise LoginFailed()
        await self.lockout.clear_expired(admin)
        if not await self.lockout.reserve(admin.id):
            await self.hasher.dummy_verify(password)
            audit.record(self.db, self.tenant_id, "admin.login_failed", ip=ip, admin_email=admin.email, reason="locked")
            await self.db.commit()
            raise LoginFailed()
        if not await self.hasher.verify(admin.password_hash, password):
            if await self.lockout.lock_if_reached(admin.id):
                await self.db.execute(delete(AdminSession).where(AdminSession.admin_id == admin.id))
                audit.record(self.db, self.tenant_id, "admin.locked", ip=ip, admin_email=admin.email)
            audit.record(self.db, self.tenant_id, "admin.login_failed", ip=ip, admin_email=admin.email)
            await self.db.commit()
            raise LoginFailed()
        await self.lockout.release(admin.id)
        await self.db.execute(update(Admin).where(Admin.id == admin.id).values(last_login_at=clock.now()))
        audit.record(self.db, self.tenant_id, "admin.login", ip=ip, admin_email=admin.email)
        await self.db.commit()
        return admin

    async def set_password_with_token(self, token: object, password: object, confirmation: object) -> Admin:
        if not isinstance(token, str) or len(token) > 200:
            raise TokenInvalid()
        row = await self.db.scalar(select(AdminToken).where(AdminToken.token_hash == digest(token)))
        if row is None or row.used_at is not None or row.expires_at <= clock.now():
            raise TokenInvalid()
        admin = await self.db.get(Admin, row.admin_id)
        if admin is None or admin.tenant_id != self.tenant_id:
            raise TokenInvalid()
        if not isinstance(password, str) or not password:
            raise PasswordRejected([_("Please enter a new password.")])
        violations = [v.message for v in check_password(password, self.policy, identifier=admin.email)]
        if violations:
            raise PasswordRejected(violations)
        if confirmation != password:
            raise PasswordRejected([_("The password is not identical to the confirmation.")], field="confirmation")
        used = await self.db.execute(
            update(AdminToken).where(AdminToken.id == row.id, AdminToken.used_at.is_(None)).values(used_at=clock.now())
            .returning(AdminToken.id)
        )
        if used.scalar() is None:
            raise TokenInvalid()
        await self.db.execute(
            update(Admin).where(Admin.id == admin.id).values(
                password_hash=await self.hasher.hash(password), failed_logins=0, locked_at=None, locked_until=None
            )
        )
        await self.db.execute(delete(AdminSession).where(AdminSession.admin_id == admin.id))
        audit.record(self.db, self.tenant_id, "admin.password_set", admin_email=admin.email)
        await self.db.commit()
        return admin

    # -- sessions --------------------------------------------------------------------------------

    async def open_session(self, admin: Admin) -> str:
        token = new_secret()
        now = clock.now()
        self.db.add(AdminSession(id=digest(token), admin_id=admin.id, tenant_id=admin.tenant_id, created_at=now,
                                 last_seen_at=now, expires_at=now + CONSOLE_ABSOLUTE))
        await self.db.commit()
        return token

    async def load_session(self, token: str | None) -> ConsoleUser | None:
        """The console user of this host's tenant (or of the platform on the root domain)."""
        if not token or len(token) > 100:
            return None
        found = (await self.db.execute(
            select(AdminSession, Admin).join(Admin, Admin.id == AdminSession.admin_id).where(AdminSession.id == digest(token))
        )).first()
        if found is None:
            return None
        session, admin = found
        now = clock.now()
        if session.tenant_id != self.tenant_id or admin.tenant_id != self.tenant_id:
            return None  # another tenant's console session is anonymous here
        if admin.disabled_at or admin.locked_at or session.expires_at <= now or session.last_seen_at + CONSOLE_IDLE <= now:
            await self.db.execute(delete(AdminSession).where(AdminSession.id == session.id))
            await self.db.commit()
            return None
        if now - session.last_seen_at >= timedelta(seconds=60):
            await self.db.execute(update(AdminSession).where(AdminSession.id == session.id).values(last_seen_at=now))
            await self.db.commit()
        return ConsoleUser(admin, session.id)

    async def close_session(self, token: str | None) -> None:
        if token:
            await self.db.execute(delete(AdminSession).where(AdminSession.id == digest(token)))
            await self.db.commit()
