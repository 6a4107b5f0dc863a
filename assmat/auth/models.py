"""Tables of auth."""

from __future__ import annotations

from datetime import date, datetime

from sqlalchemy import CheckConstraint, ForeignKey, Index, String, Text, UniqueConstraint
from sqlalchemy.orm import Mapped, mapped_column

from assmat.core.db.base import Base, _now, same_tenant, tenant_key
from assmat.core.security.tokens import Principal


class Account(Base):
    """A person or structure who signs in to a tenant's portal."""

    __tablename__ = "accounts"
    __table_args__ = (
        UniqueConstraint("tenant_id", "identifier", name="uq_accounts_tenant_identifier"),
        Index("ix_accounts_tenant_email", "tenant_id", "email_key"),
        tenant_key(),
    )

    id: Mapped[int] = mapped_column(primary_key=True)
    tenant_id: Mapped[str] = mapped_column(ForeignKey("tenants.slug", ondelete="RESTRICT"), index=True)
    kind: Mapped[str] = mapped_column(String(20), default="assistant")  # assistant | mam | ram | parent
    identifier: Mapped[str] = mapped_column(String(254))  # normalised form of what the user types
    email: Mapped[str | None] = mapped_column(String(254))  # as given: mail goes only here
    email_key: Mapped[str | None] = mapped_column(String(254))  # normalised, for lookups only
    civility: Mapped[str | None] = mapped_column(String(20))
    first_name: Mapped[str | None] = mapped_column(String(100))
    last_name: Mapped[str | None] = mapped_column(String(100))
    birth_date: Mapped[date | None]
    phone: Mapped[str | None] = mapped_column(String(40))
    family_situation: Mapped[str | None] = mapped_column(String(60))  # seed 001's « Situation familiale »

    password_hash: Mapped[str | None] = mapped_column(String(255))  # None: not activated yet
    password_changed_at: Mapped[datetime | None]
    must_change_password: Mapped[bool] = mapped_column(default=False)
    temporary_password_expires_at: Mapped[datetime | None]
    needs_security_update: Mapped[bool] = mapped_column(default=False)  # legacy accounts (seed 003)

    failed_logins: Mapped[int] = mapped_column(default=0)
    locked_at: Mapped[datetime | None]
    locked_until: Mapped[datetime | None]  # None with locked_at set: locked until an admin unlocks
    disabled_at: Mapped[datetime | None]
    activated_at: Mapped[datetime | None]
    terms_version: Mapped[str | None] = mapped_column(String(64))
    terms_accepted_at: Mapped[datetime | None]
    email_confirmed_at: Mapped[datetime | None]
    # A family account created online (« Créer mon compte famille »): unusable until its address is
    # confirmed (email_confirmed_at), deleted by `registrations-expire` if it never is.
    registered_at: Mapped[datetime | None]
    last_login_at: Mapped[datetime | None]
    # From the département's monthly file.
    address: Mapped[str | None] = mapped_column(String(300))
    postal_code: Mapped[str | None] = mapped_column(String(10))
    city: Mapped[str | None] = mapped_column(String(100))
    imported_at: Mapped[datetime | None]
    missing_from_import_at: Mapped[datetime | None]  # absent from the latest file: staff decide

    created_at: Mapped[datetime] = mapped_column(default=_now)
    updated_at: Mapped[datetime] = mapped_column(default=_now, onupdate=_now)

    @property
    def principal(self) -> Principal:
        return Principal("account", self.id, self.tenant_id)


class PasswordHistory(Base):
    """Previous password hashes, for the tenant's reuse rule (months or count)."""

    __tablename__ = "password_history"
    __table_args__ = (
        Index("ix_password_history_account_time", "account_id", "created_at"),
        same_tenant("account_id", "accounts", ondelete="CASCADE"),
    )

    id: Mapped[int] = mapped_column(primary_key=True)
    tenant_id: Mapped[str] = mapped_column(ForeignKey("tenants.slug"))
    account_id: Mapped[int]
    password_hash: Mapped[str] = mapped_column(String(255))
    created_at: Mapped[datetime] = mapped_column(default=_now)


class UserSession(Base):
    """A signed-in browser, of the portal (an account) or of a console (staff or a super-admin,
    whose tenant is None). The cookie holds a random token; only its SHA-256 is stored, so a
    database leak gives no usable session."""

    __tablename__ = "sessions"
    __table_args__ = (
        CheckConstraint("(account_id IS NULL) <> (admin_id IS NULL)", name="one_principal"),
        same_tenant("account_id", "accounts", ondelete="CASCADE"),
    )

    id: Mapped[str] = mapped_column(String(64), primary_key=True)  # sha256(token) hex
    tenant_id: Mapped[str | None] = mapped_column(ForeignKey("tenants.slug"))  # None: a super-admin's
    account_id: Mapped[int | None] = mapped_column(index=True)
    admin_id: Mapped[int | None] = mapped_column(ForeignKey("admins.id", ondelete="CASCADE"), index=True)
    created_at: Mapped[datetime] = mapped_column(default=_now)
    last_seen_at: Mapped[datetime] = mapped_column(default=_now)
    expires_at: Mapped[datetime] = mapped_column(index=True)  # absolute timeout; the purge's key
    ip: Mapped[str | None] = mapped_column(String(45))
    user_agent: Mapped[str | None] = mapped_column(String(300))
    # A FranceConnect sign-in's ID token, for its logout (id_token_hint): here only, gone with the session.
    franceconnect_id_token: Mapped[str | None] = mapped_column(Text)


class CaptchaChallenge(Base):
    """One captcha: the answer's hash, single use, short-lived."""

    __tablename__ = "captcha_challenges"

    id: Mapped[str] = mapped_column(String(64), primary_key=True)  # random, public
    tenant_id: Mapped[str] = mapped_column(ForeignKey("tenants.slug"))
    answer_hash: Mapped[str] = mapped_column(String(64))
    created_at: Mapped[datetime] = mapped_column(default=_now)
    expires_at: Mapped[datetime] = mapped_column(index=True)  # the purge's key
    used_at: Mapped[datetime | None]


class Admin(Base):
    """A member of a tenant's staff in its console, or a platform super-admin (tenant_id None)."""

    __tablename__ = "admins"
    __table_args__ = (UniqueConstraint("tenant_id", "email_key", name="uq_admins_tenant_email"), tenant_key())

    id: Mapped[int] = mapped_column(primary_key=True)
    tenant_id: Mapped[str | None] = mapped_column(ForeignKey("tenants.slug"), index=True)
    email: Mapped[str] = mapped_column(String(254))
    email_key: Mapped[str] = mapped_column(String(254))
    role: Mapped[str] = mapped_column(String(20))  # admin | read_only | super
    password_hash: Mapped[str | None] = mapped_column(String(255))
    failed_logins: Mapped[int] = mapped_column(default=0)
    locked_at: Mapped[datetime | None]
    locked_until: Mapped[datetime | None]
    disabled_at: Mapped[datetime | None]
    last_login_at: Mapped[datetime | None]
    created_at: Mapped[datetime] = mapped_column(default=_now)

    @property
    def principal(self) -> Principal:
        return Principal("admin", self.id, self.tenant_id)

    def __str__(self) -> str:
        return self.email
