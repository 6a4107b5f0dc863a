"""Account flows of one tenant: login and lockout, temporary passwords, reset, activation,
password and email changes. Configured by the tenant's YAML; no web code here.

Every public method commits its own transaction(s): the lockout reservation must be visible to
parallel requests before a password is verified, and mail is enqueued in the same transaction
as the change it announces."""

from __future__ import annotations

import logging
from dataclasses import dataclass
from datetime import date, timedelta

from sqlalchemy import func, select, update
from sqlalchemy.ext.asyncio import AsyncSession

from assmat.core import clock
from assmat.core.security import audit
from assmat.core.security import tokens
from assmat.auth.errors import (
    AccountLocked,
    EmailNotConfirmed,
    LoginFailed,
    PasswordRejected,
    RateLimited,
    TemporaryPasswordExpired,
    TokenInvalid,
    WrongCurrentPassword,
)
from assmat.core.security.hashing import AsyncHasher
from assmat.auth.identifiers import normalize_email, normalize_identifier, normalize_name
from assmat.auth.lockout import Lockout, lock_duration_words
from assmat.auth.policy import check_password, generate_temporary_password
from assmat.core.security.ratelimit import hit
from assmat.auth.sessions import end_all_sessions
from assmat.auth.models import Account, PasswordHistory
from assmat.core.security.models import AccountToken
from assmat.core.i18n import current_locale
from assmat.core.i18n import gettext as _
from assmat.core.mail.address import plain_address
from assmat.core.mail.outbox import InvalidRecipient, enqueue
from assmat.tenants.messages import message_text
from assmat.tenants.loader import Tenant

TEMPORARY_PASSWORD = "temporary_password"
RESET = "reset"
ACTIVATION = "activation"
ACTIVATION_STEP2 = "activation_step2"
EMAIL_CHANGE = "email_change"
EMAIL_CONFIRMATION = "email_confirmation"
LETTER_TTL = timedelta(days=30)  # a letter travels by post: its temporary password lives longer
STEP2_TTL = timedelta(minutes=30)
NO_ROW = 0  # an id no row has: a failed login without a usable account runs its statements on it

log = logging.getLogger("assmat.auth")


@dataclass(frozen=True)
class LoginOutcome:
    account: Account
    used_temporary_password: bool


@dataclass(frozen=True)
class ResetOutcome:
    """What happened, for the tenant that reveals it; the generic answer ignores it."""

    status: str  # sent | unknown_identifier | email_mismatch | locked | throttled


class AccountService:
    def __init__(self, tenant: Tenant, db: AsyncSession, hasher: AsyncHasher, secret_key: str, base_url: str):
        self.tenant = tenant
        self.config = tenant.config
        self.db = db
        self.hasher = hasher
        self.secret_key = secret_key
        self.base_url = base_url.rstrip("/")
        self.mail_failures: list[str] = []  # templates that could not be queued (see _mail)
        self.lockout = Lockout(db, Account, tenant.config.lockout, tenant.slug)

    # -- lookups -----------------------------------------------------------------------------

    def normalize(self, raw_identifier: object) -> str | None:
        return normalize_identifier(self.config.login.identifier, raw_identifier)

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

    async def _reload(self, account: Account) -> None:
        """`account` as the database has it after an UPDATE statement (a refresh, within the tenant)."""
        await self.db.scalar(
            select(Account).where(Account.tenant_id == self.tenant.slug, Account.id == account.id)
            .execution_options(populate_existing=True)
        )

    async def _mail(self, template: str, to: str | None, *, about: int | None = None, **context: object) -> None:
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
            audit.record(self.db, self.tenant.slug, "mail.not_sent", account_id=about, template=template,
                         reason="invalid_address" if isinstance(exc, InvalidRecipient) else "error")
            self.mail_failures.append(template)
            return

    def _url(self, path: str) -> str:
        return f"{self.base_url}{path}"

    # -- login and lockout ---------------------------------------------------------------------

    async def _lock_if_reached(self, account: Account, ip: str | None) -> bool:
        """Lock once: of parallel failures reaching the threshold, exactly one locks and mails."""
        if not await self.lockout.lock_if_reached(account.id):
            return False
        now = clock.now()
        await end_all_sessions(self.db, self.tenant.slug, account.id)
        audit.record(self.db, self.tenant.slug, "account.locked", account_id=account.id, ip=ip)
        if self.config.lockout.notify_user:
            # A lock that lifts by itself says so: « contact the administrator » would be false.
            await self._mail("account_locked", account.email, about=account.id,
                             lock_duration=lock_duration_words(self.config.lockout))
        if self.config.lockout.notify_admins:
            await self._mail(
                "account_locked_admin",
                self.config.branding.admin_email,
                about=account.id,
                identifier=account.identifier,
                full_name=full_name(account),
                locked_at=now,
            )
        return True

    def _may_unlock_with(self, account: Account, token: AccountToken) -> bool:
        """Where the tenant lets a locked account reset its password, a temporary password
        emailed after the lock is the way back in: using it lifts the lock."""
        return (
            self.config.password_reset.allowed_when_locked
            and account.locked_at is not None
            and token.expires_at > clock.now()
            and token.created_at >= account.locked_at
        )

    async def _temporary_password_matches(self, account_id: int, password: str) -> AccountToken | None:
        """The temporary password token this password opens, checked by keyed hash: a random
        temporary password is too long to brute-force, so no argon2 work is added."""
        candidate = tokens.keyed_digest(self.secret_key, self.tenant.slug, str(account_id), password)
        return await self.db.scalar(
            select(AccountToken).where(
                AccountToken.tenant_id == self.tenant.slug,
                AccountToken.account_id == account_id,
                AccountToken.purpose == TEMPORARY_PASSWORD,
                AccountToken.token_hash == candidate,
            )
        )

    async def _find_for_login(self, raw_identifier: object) -> Account | None:
        """One SELECT whatever was typed: a malformed identifier looks up one no row has."""
        identifier = self.normalize(raw_identifier) or ""
        return await self.db.scalar(
            select(Account).where(Account.tenant_id == self.tenant.slug, Account.identifier == identifier)
        )

    async def authenticate(self, raw_identifier: object, password: str, ip: str | None) -> LoginOutcome:
        """Sign in, or raise. On success the transaction is left open for the caller to add the
        session and commit: one commit for the whole login.

        Every failure does the same database work, whether the identifier is unknown, disabled,
        locked, not activated or has a wrong password: the same statements in the same order
        (the lookup, the reservation UPDATE and its commit, the temporary-password lookup, the
        lock UPDATE, the audit INSERT and its commit), on an id no row has when there is no
        usable account, and one password verification. A 5 ms gap between those paths was
        measurable from outside (security.md).

        A temporary password (letter, emailed reset, unlock) stays valid until a new password
        replaces it or it expires: leaving the forced change, or having a first choice refused,
        does not spend it. Signing in with it opens a session restricted to the forced change
        and ends every other session of the account, so at most one such session lives; the
        forced change spends it (`change_forced_password`)."""
        lockout = self.config.lockout
        account = await self._find_for_login(raw_identifier)
        usable = account is not None and account.disabled_at is None
        if usable:
            await self.lockout.clear_expired(account)
        row_id = account.id if usable else NO_ROW
        reserved = await self.lockout.reserve(row_id)
        ok = False
        if reserved and account is not None and account.password_hash is not None:
            ok = await self.hasher.verify(account.password_hash, password)
        else:
            await self.hasher.dummy_verify(password)  # unknown, disabled, locked, not activated: the same work

        temporary: AccountToken | None = None
        if not ok:
            # Random and long, a temporary password is checked by keyed hash: no argon2 work,
            # and no query on an ordinary successful login.
            temporary = await self._temporary_password_matches(row_id, password)
            if temporary is not None and temporary.used_at is not None:
                temporary = None
        if temporary is not None and not reserved:
            assert account is not None
            if self._may_unlock_with(account, temporary):
                await self.lockout.unlock(account.id)
                audit.record(self.db, self.tenant.slug, "account.unlocked", account_id=account.id, by="temporary_password")
                await self.db.commit()
                await self._reload(account)
                return await self.authenticate(raw_identifier, password, ip)
            temporary = None
        if temporary is not None and temporary.expires_at <= clock.now():
            assert account is not None
            await self.lockout.release(account.id)
            audit.record(self.db, self.tenant.slug, "login.failed", account_id=account.id, ip=ip, reason="temporary_expired")
            await self.db.commit()
            raise TemporaryPasswordExpired()

        if not ok and temporary is None:
            if usable:
                locked = await self._lock_if_reached(account, ip)
            else:
                locked = await self.lockout.lock_if_reached(NO_ROW)  # matches nothing: the same statement
            reason = "unknown" if account is None else "disabled" if not usable else "locked" if not reserved else "password"
            audit.record(self.db, self.tenant.slug, "login.failed", account_id=account.id if account else None, ip=ip,
                         reason=reason)
            await self.db.commit()
            if lockout.reveal_locked_state and (locked or (usable and not reserved)):
                raise AccountLocked()
            raise LoginFailed()
        assert account is not None

        if account.activated_at is not None and account.email_confirmed_at is None and self._needs_email_confirmation(account):
            await self.lockout.release(account.id)
            await self._send_email_confirmation(account, account.email)
            audit.record(self.db, self.tenant.slug, "login.failed", account_id=account.id, ip=ip, reason="email_unconfirmed")
            await self.db.commit()
            raise EmailNotConfirmed()

        now = clock.now()
        values: dict[str, object] = {"last_login_at": now, **self.lockout.released()}
        if temporary is not None:
            # Re-checked and row-locked by a conditional UPDATE … RETURNING: a forced change that
            # spent it meanwhile wins, and parallel sign-ins with it run this transaction one
            # after the other, each ending the session the previous one opened.
            claimed = await self.db.execute(
                update(AccountToken)
                .where(AccountToken.id == temporary.id, AccountToken.tenant_id == self.tenant.slug, AccountToken.used_at.is_(None),
                       AccountToken.expires_at > now)
                .values(data={"last_sign_in_at": now.isoformat()})
                .returning(AccountToken.id)
            )
            if claimed.scalar() is None:
                await self.lockout.release(account.id)
                audit.record(self.db, self.tenant.slug, "login.failed", account_id=account.id, ip=ip, reason="temporary_spent")
                await self.db.commit()
                raise LoginFailed()
            await end_all_sessions(self.db, self.tenant.slug, account.id)
            values["must_change_password"] = True  # a temporary password is only a way to the forced change
        elif account.password_hash and self.hasher.needs_rehash(account.password_hash):
            values["password_hash"] = await self.hasher.hash(password)
        account = (await self.db.execute(
            update(Account).where(Account.id == account.id, Account.tenant_id == self.tenant.slug).values(**values).returning(Account)
        )).scalar_one()
        audit.record(
            self.db, self.tenant.slug, "login.success", account_id=account.id, ip=ip, with_temporary=temporary is not None
        )
        # No commit here: the caller opens the session and commits both at once.
        return LoginOutcome(account, temporary is not None)

    async def change_forced_password(
        self, account: Account, password: object, confirmation: object, ip: str | None, reason: str
    ) -> None:
        """The forced change. After a temporary-password sign-in, the temporary password is
        spent here, by a conditional UPDATE … RETURNING in the transaction that stores the new
        password: of two parallel changes exactly one sets a password. TokenInvalid when none
        is left to spend (the caller ends its session and sends the browser to sign in)."""
        await self.validate_new_password(account, password, confirmation)
        if account.must_change_password:
            now = clock.now()
            spent = await self.db.execute(
                update(AccountToken)
                .where(
                    AccountToken.account_id == account.id,
                    AccountToken.tenant_id == self.tenant.slug,
                    AccountToken.purpose == TEMPORARY_PASSWORD,
                    AccountToken.used_at.is_(None),
                    AccountToken.expires_at > now,
                )
                .values(used_at=now)
                .returning(AccountToken.id)
            )
            if not spent.scalars().all():
                # Expired or revoked while the flag is still set: every session of the account
                # is restricted, so all end with the flag. When a parallel change won, the flag
                # is already down and its new session must live: nothing to do but refuse.
                cleared = await self.db.execute(
                    update(Account)
                    .where(Account.id == account.id, Account.tenant_id == self.tenant.slug, Account.must_change_password.is_(True))
                    .values(must_change_password=False)
                    .returning(Account.id)
                )
                if cleared.scalar() is not None:
                    await end_all_sessions(self.db, self.tenant.slug, account.id)
                audit.record(self.db, self.tenant.slug, "password.change_refused", account_id=account.id, ip=ip,
                             reason="temporary_password_spent")
                await self.db.commit()
                raise TokenInvalid()
        await self.set_password(account, str(password), ip, reason=reason)

    def _needs_email_confirmation(self, account: Account) -> bool:
        return self.config.activation.mode == "pmi_number_birthdate" and self.config.activation.email_confirmation

    async def check_current_password(self, account: Account, password: str, ip: str | None) -> None:
        """The current password, for a change of password or email: counted like a login, so
        the form is no way around the lockout."""
        if not await self.lockout.reserve(account.id):
            await self.hasher.dummy_verify(password)
            raise WrongCurrentPassword()
        ok = account.password_hash is not None and await self.hasher.verify(account.password_hash, password)
        if not ok:
            await self._lock_if_reached(account, ip)
            audit.record(self.db, self.tenant.slug, "password.check_failed", account_id=account.id, ip=ip)
            await self.db.commit()
            raise WrongCurrentPassword()
        await self.lockout.release(account.id)
        await self.db.commit()

    # -- passwords -------------------------------------------------------------------------------

    async def _check_history(self, account: Account, password: str) -> bool:
        """True when `password` was used within the tenant's history window."""
        history = self.config.password_policy.history
        hashes: list[str] = [account.password_hash] if account.password_hash else []
        if history is not None:
            query = select(PasswordHistory.password_hash).where(
                PasswordHistory.tenant_id == self.tenant.slug, PasswordHistory.account_id == account.id
            )
            if history.months:
                query = query.where(PasswordHistory.created_at >= clock.now() - timedelta(days=30 * history.months))
            query = query.order_by(PasswordHistory.created_at.desc())
            if history.count:
                query = query.limit(history.count)
            hashes += list((await self.db.scalars(query)).all())
        for stored in dict.fromkeys(hashes):
            if await self.hasher.verify(stored, password):
                return True
        return False

    async def _was_temporary_password(self, account: Account, password: str) -> bool:
        return await self._temporary_password_matches(account.id, password) is not None

    def _text(self, message_id: str) -> str:
        return message_text(self.config.messages, current_locale.get(), self.config.locale, message_id)

    async def validate_new_password(self, account: Account, password: object, confirmation: object) -> str:
        """The new password if acceptable; PasswordRejected with one message per broken rule."""
        if not isinstance(password, str) or not password:
            raise PasswordRejected([_("Please enter a new password.")])
        policy = self.config.password_policy
        violations = [v.message for v in check_password(
            password, policy, identifier=account.identifier,
            names=[n for n in (account.first_name, account.last_name) if n],
        )]
        if violations:
            # A tenant may lead the list with its seed's summary (« Mot de passe non conforme… »).
            lead = self._text("password.not_compliant")
            raise PasswordRejected([lead, *violations] if lead else violations)
        if not isinstance(confirmation, str) or confirmation != password:
            raise PasswordRejected([self._text("password.mismatch")], field="confirmation")
        if await self._was_temporary_password(account, password):
            raise PasswordRejected([_("The temporary password cannot become your new password.")])
        if await self._check_history(account, password):
            raise PasswordRejected([_("This password has already been used recently: please choose another one.")])
        return password

    async def set_password(self, account: Account, password: str, ip: str | None, reason: str) -> None:
        """Store a validated password. Every session and every pending token of the account ends."""
        now = clock.now()
        new_hash = await self.hasher.hash(password)
        await self.db.execute(
            update(Account)
            .where(Account.id == account.id, Account.tenant_id == self.tenant.slug)
            .values(
                password_hash=new_hash,
                password_changed_at=now,
                must_change_password=False,
                needs_security_update=False,
                failed_logins=0,
                locked_at=None,
                locked_until=None,
                activated_at=func.coalesce(Account.activated_at, now),
            )
        )
        self.db.add(PasswordHistory(tenant_id=self.tenant.slug, account_id=account.id, password_hash=new_hash, created_at=now))
        # An email change asked with the old password must not outlive it.
        await tokens.revoke(self.db, self.tenant.slug, account.id, RESET, TEMPORARY_PASSWORD, ACTIVATION, ACTIVATION_STEP2, EMAIL_CHANGE)
        await end_all_sessions(self.db, self.tenant.slug, account.id)
        audit.record(self.db, self.tenant.slug, "password.changed", account_id=account.id, ip=ip, reason=reason)

    async def change_password(self, account: Account, current: str, password: object, confirmation: object, ip: str | None) -> None:
        await self.check_current_password(account, current, ip)
        await self.validate_new_password(account, password, confirmation)
        await self.set_password(account, str(password), ip, reason="change")
        await self.db.commit()

    async def issue_temporary_password(self, account: Account, ttl: timedelta, reason: str, ip: str | None = None) -> str:
        """A fresh temporary password, valid under the policy; the account keeps its current
        password until the temporary one is used (a reset request changes nothing by itself)."""
        password = generate_temporary_password(self.config.password_policy)
        await tokens.issue(
            self.db, self.tenant.slug, account.id, TEMPORARY_PASSWORD, ttl,
            token_hash=tokens.keyed_digest(self.secret_key, self.tenant.slug, str(account.id), password),
        )
        audit.record(self.db, self.tenant.slug, "temporary_password.issued", account_id=account.id, ip=ip, reason=reason)
        return password

    async def accept_terms(self, account: Account, ip: str | None) -> None:
        await self.db.execute(
            update(Account)
            .where(Account.id == account.id, Account.tenant_id == self.tenant.slug)
            .values(terms_version=self.tenant.terms_version, terms_accepted_at=clock.now())
        )
        audit.record(self.db, self.tenant.slug, "terms.accepted", account_id=account.id, ip=ip, version=self.tenant.terms_version)
        await self.db.commit()

    def pending_step(self, account: Account) -> str | None:
        return pending_step(self.tenant, account)

    async def create_account(
        self,
        raw_identifier: str,
        *,
        email: str | None,
        first_name: str | None = None,
        last_name: str | None = None,
        birth_date: date | None = None,
        kind: str = "assistant",
        with_temporary_password: bool = False,
    ) -> tuple[Account, str | None]:
        """An account as staff create it: ready for the tenant's activation mode; with a
        temporary password (letter mode) that is returned once, to print."""
        identifier = self.normalize(raw_identifier)
        if identifier is None:
            raise ValueError(_("The identifier is not valid for this portal."))
        if await self.find(identifier) is not None:
            raise ValueError(_("An account with this identifier already exists."))
        email_key = normalize_email(email) if email else None
        if email and email_key is None:
            raise ValueError(_("Please enter a valid email address."))
        email = plain_address(email) if email else None
        account = Account(
            tenant_id=self.tenant.slug, kind=kind, identifier=identifier, email=email, email_key=email_key,
            first_name=first_name, last_name=last_name, birth_date=birth_date, created_at=clock.now(),
        )
        self.db.add(account)
        await self.db.flush()
        password = None
        if with_temporary_password:
            password = await self.issue_temporary_password(account, LETTER_TTL, reason="letter")
        audit.record(self.db, self.tenant.slug, "account.created", account_id=account.id, kind=kind,
                     with_temporary_password=with_temporary_password)
        await self.db.commit()
        return account, password

    # -- staff actions (the console) -------------------------------------------------------------

    async def _send_reset(self, account: Account, reason: str) -> None:
        """A new way in, following the tenant's reset mode: an emailed temporary password (the
        Gers: "vous recevrez un mail avec un mot de passe provisoire") or a link."""
        reset = self.config.password_reset
        if reset.mode == "temporary_password":
            ttl = reset.effective_temporary_password_ttl
            password = await self.issue_temporary_password(account, ttl, reason=reason)
            await self._mail("temporary_password", account.email, about=account.id, password=password, ttl_hours=_hours(ttl))
        else:
            ttl = reset.effective_link_ttl
            token = await tokens.issue(self.db, self.tenant.slug, account.id, RESET, ttl)
            await self._mail("reset_link", account.email, about=account.id, url=self._url(f"/reinitialisation/{token}"), ttl_hours=_hours(ttl))

    async def staff_unlock(self, account: Account, by: str) -> None:
        await self.lockout.unlock(account.id)
        if account.email:
            await self._send_reset(account, reason="unlock")
        audit.record(self.db, self.tenant.slug, "account.unlocked", account_id=account.id, by=by)

    async def _lift_lock_for_staff(self, account: Account, by: str, action: str) -> bool:
        """A reset or a letter from staff is a way back in, and a locked account could not use
        it (the Gers seed: the administrator unlocks, then a temporary password is emailed). So
        the staff member's act lifts the lock too, audited as an unlock. True when it did."""
        lifted = await self.db.execute(
            update(Account)
            .where(Account.id == account.id, Account.tenant_id == self.tenant.slug, Account.locked_at.is_not(None))
            .values(locked_at=None, locked_until=None, failed_logins=0)
            .returning(Account.id)
        )
        if lifted.scalar() is None:
            return False
        audit.record(self.db, self.tenant.slug, "account.unlocked", account_id=account.id, by=by, action=action)
        return True

    async def staff_send_reset(self, account: Account, by: str) -> bool:
        """A reset from staff; True when it also lifted a lock."""
        unlocked = await self._lift_lock_for_staff(account, by, "send_reset")
        await self._send_reset(account, reason="staff")
        audit.record(self.db, self.tenant.slug, "reset.sent_by_staff", account_id=account.id, by=by)
        return unlocked

    async def staff_set_disabled(self, account: Account, disabled: bool, by: str) -> None:
        await self.db.execute(
            update(Account).where(Account.id == account.id, Account.tenant_id == self.tenant.slug)
            .values(disabled_at=clock.now() if disabled else None)
        )
        if disabled:
            await end_all_sessions(self.db, self.tenant.slug, account.id)
        audit.record(self.db, self.tenant.slug, "account.disabled" if disabled else "account.enabled", account_id=account.id, by=by)

    async def staff_resend_activation(self, account: Account, by: str) -> bool:
        """An activation link to the stored address; False when there is none (print a letter)."""
        if not account.email or account.password_hash is not None:
            return False
        ttl = self.config.activation.link_ttl
        token = await tokens.issue(self.db, self.tenant.slug, account.id, ACTIVATION, ttl, data={"email": account.email})
        await self._mail("activation_link", account.email, about=account.id, url=self._url(f"/activation/{token}"), ttl_hours=_hours(ttl),
                         full_name=full_name(account))
        audit.record(self.db, self.tenant.slug, "activation.sent_by_staff", account_id=account.id, by=by)
        return True

    async def staff_letter(self, account: Account, by: str) -> str:
        """A fresh temporary password for the printed letter, shown once; a locked account is
        unlocked, or the letter could not be used."""
        await self._lift_lock_for_staff(account, by, "letter")
        password = await self.issue_temporary_password(account, LETTER_TTL, reason="letter")
        audit.record(self.db, self.tenant.slug, "letter.printed", account_id=account.id, by=by)
        return password

    # -- forgot password -------------------------------------------------------------------------

    async def request_reset(self, raw_identifier: object, raw_email: object, ip: str | None) -> ResetOutcome:
        reset = self.config.password_reset
        account: Account | None = None
        if "identifier" in reset.identify_by:
            account = await self.find(raw_identifier)
            if account is None:
                return await self._reset_refused("unknown_identifier", None, ip)
            if "email" in reset.identify_by:
                email = normalize_email(raw_email)
                if email is None or account.email_key != email:
                    return await self._reset_refused("email_mismatch", account, ip)
        else:
            email = normalize_email(raw_email)
            if email is not None:
                account = await self.db.scalar(
                    select(Account)
                    .where(Account.tenant_id == self.tenant.slug, Account.email_key == email)
                    .order_by(Account.id)
                    .limit(1)
                )
            if account is None:
                return await self._reset_refused("unknown_identifier", None, ip)
        if account.disabled_at is not None:
            return await self._reset_refused("unknown_identifier", account, ip)
        if account.locked_at is not None and not reset.allowed_when_locked:
            if account.locked_until is None or account.locked_until > clock.now():
                return await self._reset_refused("locked", account, ip)
        if not await hit(self.db, self.tenant.slug, "reset", str(account.id), limit=5, window=timedelta(hours=1)):
            return await self._reset_refused("throttled", account, ip)
        await self._send_reset(account, reason="reset")
        audit.record(self.db, self.tenant.slug, "reset.requested", account_id=account.id, ip=ip, mode=reset.mode)
        await self.db.commit()
        return ResetOutcome("sent")

    async def _reset_refused(self, status: str, account: Account | None, ip: str | None) -> ResetOutcome:
        audit.record(self.db, self.tenant.slug, "reset.refused", account_id=account.id if account else None, ip=ip, reason=status)
        await self.db.commit()
        return ResetOutcome(status)

    async def reset_token_account(self, token: object) -> Account | None:
        row = await tokens.find_live(self.db, self.tenant.slug, RESET, token)
        return await self.get(row.account_id) if row else None

    async def reset_with_token(self, token: object, password: object, confirmation: object, ip: str | None) -> Account:
        account = await self.reset_token_account(token)
        if account is None:
            raise TokenInvalid()
        await self.validate_new_password(account, password, confirmation)
        if await tokens.consume(self.db, self.tenant.slug, RESET, token) is None:
            raise TokenInvalid()
        await self.set_password(account, str(password), ip, reason="reset")
        audit.record(self.db, self.tenant.slug, "reset.used", account_id=account.id, ip=ip)
        await self.db.commit()
        return account

    # -- activation ------------------------------------------------------------------------------

    async def _throttle_identifier(self, bucket: str, raw_identifier: object, ip: str | None) -> None:
        key = self.normalize(raw_identifier) or "?"
        allowed = await hit(self.db, self.tenant.slug, bucket, f"id:{key}", limit=5, window=timedelta(hours=1))
        allowed_ip = await hit(self.db, self.tenant.slug, bucket, f"ip:{ip}", limit=30, window=timedelta(hours=1))
        await self.db.commit()
        if not (allowed and allowed_ip):
            raise RateLimited()

    async def activation_by_identity(
        self, raw_identifier: object, last_name: object, first_name: object, birth_date: date | None,
        raw_email: object, ip: str | None,
    ) -> None:
        """Alpes-Maritimes: identifier + identity → a link to set the password, emailed to the
        address given. One generic answer whatever matched (RateLimited apart)."""
        await self._throttle_identifier("activation", raw_identifier, ip)
        fields = set(self.config.activation.identity_fields or [])
        account = await self.find(raw_identifier)
        email = normalize_email(raw_email)
        matches = (
            account is not None
            and account.password_hash is None
            and account.disabled_at is None
            and ("last_name" not in fields or normalize_name(str(last_name or "")) == normalize_name(account.last_name))
            and ("first_name" not in fields or normalize_name(str(first_name or "")) == normalize_name(account.first_name))
            and ("birth_date" not in fields or (birth_date is not None and birth_date == account.birth_date))
            and ("email" not in fields or (email is not None and (account.email_key is None or account.email_key == email)))
        )
        if not matches or account is None:
            audit.record(self.db, self.tenant.slug, "activation.refused", account_id=account.id if account else None, ip=ip)
            await self.db.commit()
            return
        ttl = self.config.activation.link_ttl
        address = account.email if "email" not in fields or account.email_key == email else plain_address(raw_email)
        token = await tokens.issue(self.db, self.tenant.slug, account.id, ACTIVATION, ttl, data={"email": address})
        await self._mail("activation_link", address, about=account.id, url=self._url(f"/activation/{token}"), ttl_hours=_hours(ttl),
                         full_name=full_name(account))
        audit.record(self.db, self.tenant.slug, "activation.requested", account_id=account.id, ip=ip)
        await self.db.commit()

    async def activation_by_pmi_number(self, raw_identifier: object, birth_date: date | None, ip: str | None) -> str | None:
        """Eure-et-Loir step 1: PMI number + birth date → a short-lived step-2 token, or None."""
        await self._throttle_identifier("activation", raw_identifier, ip)
        account = await self.find(raw_identifier)
        if (
            account is None
            or account.password_hash is not None
            or account.disabled_at is not None
            or birth_date is None
            or account.birth_date != birth_date
        ):
            audit.record(self.db, self.tenant.slug, "activation.refused", account_id=account.id if account else None, ip=ip)
            await self.db.commit()
            return None
        token = await tokens.issue(self.db, self.tenant.slug, account.id, ACTIVATION_STEP2, STEP2_TTL)
        audit.record(self.db, self.tenant.slug, "activation.identified", account_id=account.id, ip=ip)
        await self.db.commit()
        return token

    async def activation_token(self, token: object) -> tuple[AccountToken, Account] | None:
        for purpose in (ACTIVATION, ACTIVATION_STEP2):
            row = await tokens.find_live(self.db, self.tenant.slug, purpose, token)
            if row is not None and (account := await self.get(row.account_id)) is not None:
                return row, account
        return None

    async def complete_activation(
        self, token: object, password: object, confirmation: object, raw_email: object, ip: str | None
    ) -> Account:
        """Set the first password from an activation link (identity check) or step 2 (PMI
        number: with the email address, confirmed by a link before first use)."""
        found = await self.activation_token(token)
        if found is None:
            raise TokenInvalid()
        row, account = found
        email: str | None = None
        if row.purpose == ACTIVATION_STEP2:
            email = normalize_email(raw_email)
            if email is None:
                raise PasswordRejected([_("Please enter a valid email address.")], field="email")
        await self.validate_new_password(account, password, confirmation)
        if await tokens.consume(self.db, self.tenant.slug, row.purpose, token) is None:
            raise TokenInvalid()
        now = clock.now()
        if row.purpose == ACTIVATION:
            address = row.data.get("email") or account.email
            await self.db.execute(
                update(Account).where(Account.id == account.id, Account.tenant_id == self.tenant.slug).values(
                    email=address, email_key=normalize_email(address), email_confirmed_at=now
                )
            )
        else:
            address = plain_address(raw_email)
            await self.db.execute(
                update(Account).where(Account.id == account.id, Account.tenant_id == self.tenant.slug).values(
                    email=address, email_key=email,
                    email_confirmed_at=None if self.config.activation.email_confirmation else now,
                )
            )
        await self.set_password(account, str(password), ip, reason="activation")
        if row.purpose == ACTIVATION_STEP2 and self.config.activation.email_confirmation:
            await self._send_email_confirmation(account, address)
        audit.record(self.db, self.tenant.slug, "activation.completed", account_id=account.id, ip=ip)
        await self.db.commit()
        return account

    async def _send_email_confirmation(self, account: Account, address: str | None) -> None:
        ttl = self.config.activation.link_ttl
        token = await tokens.issue(self.db, self.tenant.slug, account.id, EMAIL_CONFIRMATION, ttl, data={"email": address})
        await self._mail("email_confirmation", address, about=account.id, url=self._url(f"/confirmation-email/{token}"), ttl_hours=_hours(ttl))

    # -- email change --------------------------------------------------------------------------

    async def request_email_change(self, account: Account, current: str, raw_email: object, ip: str | None) -> None:
        email = normalize_email(raw_email)
        if email is None:
            raise PasswordRejected([_("Please enter a valid email address.")], field="email")
        await self.check_current_password(account, current, ip)
        ttl = self.config.activation.link_ttl
        address = plain_address(raw_email)
        token = await tokens.issue(self.db, self.tenant.slug, account.id, EMAIL_CHANGE, ttl, data={"email": address})
        await self._mail("email_change_confirmation", address, about=account.id, url=self._url(f"/confirmation-email/{token}"), ttl_hours=_hours(ttl))
        audit.record(self.db, self.tenant.slug, "email_change.requested", account_id=account.id, ip=ip)
        await self.db.commit()

    async def email_token_is_live(self, token: object) -> bool:
        for purpose in (EMAIL_CHANGE, EMAIL_CONFIRMATION):
            if await tokens.find_live(self.db, self.tenant.slug, purpose, token) is not None:
                return True
        return False

    async def confirm_email(self, token: object, ip: str | None) -> Account:
        """A link from an email: confirms an address (activation) or applies an email change."""
        for purpose in (EMAIL_CHANGE, EMAIL_CONFIRMATION):
            row = await tokens.consume(self.db, self.tenant.slug, purpose, token)
            if row is None:
                continue
            account = await self.get(row.account_id)
            if account is None:
                break
            old_address = account.email
            address = row.data["email"]
            await self.db.execute(
                update(Account).where(Account.id == account.id, Account.tenant_id == self.tenant.slug).values(
                    email=address, email_key=normalize_email(address), email_confirmed_at=clock.now()
                )
            )
            if purpose == EMAIL_CHANGE:
                # The old address learns of the change: the owner can react if it was not them.
                await tokens.revoke(self.db, self.tenant.slug, account.id, RESET, TEMPORARY_PASSWORD, EMAIL_CHANGE)
                if old_address and normalize_email(old_address) != normalize_email(address):
                    await self._mail("email_change_notice", old_address, about=account.id, new_email_masked=mask_email(address))
                audit.record(self.db, self.tenant.slug, "email.changed", account_id=account.id, ip=ip)
            else:
                audit.record(self.db, self.tenant.slug, "email.confirmed", account_id=account.id, ip=ip)
            await self.db.commit()
            await self._reload(account)
            return account
        await self.db.rollback()
        raise TokenInvalid()


def pending_step(tenant: Tenant, account: Account) -> str | None:
    """What the account must do before anything else: change its password, accept the terms."""
    if account.must_change_password:
        return "change_password"
    if account.needs_security_update:
        return "security_update"
    first_login = tenant.config.first_login
    if first_login.accept_terms and tenant.terms_version and account.terms_version != tenant.terms_version:
        return "terms"
    return None


def full_name(account: Account) -> str:
    return " ".join(p for p in (account.first_name, account.last_name) if p)


def mask_email(address: str) -> str:
    local, _, domain = address.partition("@")
    return f"{local[:1]}***@{domain}"


def _hours(ttl: timedelta) -> int:
    return max(1, int(ttl.total_seconds() // 3600))
