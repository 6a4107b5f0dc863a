"""Tables. Every row that belongs to a tenant carries `tenant_id`, and every unique
constraint on such a table includes it: the same identifier in two tenants is two accounts."""

from __future__ import annotations

import unicodedata
from datetime import date, datetime
from typing import Any

from sqlalchemy import JSON, DateTime, ForeignKey, Index, MetaData, String, Text, UniqueConstraint, event, false, func
from sqlalchemy.orm import DeclarativeBase, Mapped, mapped_column
from sqlalchemy.types import TypeDecorator

from assmat import clock

NAMING = {
    "ix": "ix_%(column_0_label)s",
    "uq": "uq_%(table_name)s_%(column_0_name)s",
    "ck": "ck_%(table_name)s_%(constraint_name)s",
    "fk": "fk_%(table_name)s_%(column_0_name)s_%(referred_table_name)s",
    "pk": "pk_%(table_name)s",
}


class UTCDateTime(TypeDecorator[datetime]):
    """Aware UTC datetimes on every backend (SQLite stores naive values)."""

    impl = DateTime(timezone=True)
    cache_ok = True

    def process_bind_param(self, value: datetime | None, dialect: Any) -> datetime | None:
        if value is not None and value.tzinfo is None:
            raise ValueError("naive datetime")
        return value

    def process_result_value(self, value: datetime | None, dialect: Any) -> datetime | None:
        if value is not None and value.tzinfo is None:
            from datetime import UTC

            value = value.replace(tzinfo=UTC)
        return value


class Base(DeclarativeBase):
    metadata = MetaData(naming_convention=NAMING)
    type_annotation_map = {datetime: UTCDateTime()}


def _now() -> datetime:
    return clock.now()


class TenantRow(Base):
    """A tenant known to the database; its configuration lives in YAML, not here."""

    __tablename__ = "tenants"

    slug: Mapped[str] = mapped_column(String(63), primary_key=True)
    name: Mapped[str] = mapped_column(String(200))
    created_at: Mapped[datetime] = mapped_column(default=_now)


class Account(Base):
    """A person or structure who signs in to a tenant's portal."""

    __tablename__ = "accounts"
    __table_args__ = (
        UniqueConstraint("tenant_id", "identifier", name="uq_accounts_tenant_identifier"),
        Index("ix_accounts_tenant_email", "tenant_id", "email_key"),
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
    last_login_at: Mapped[datetime | None]
    # From the département's monthly file.
    address: Mapped[str | None] = mapped_column(String(300))
    postal_code: Mapped[str | None] = mapped_column(String(10))
    city: Mapped[str | None] = mapped_column(String(100))
    publication_consent: Mapped[bool] = mapped_column(default=False)
    imported_at: Mapped[datetime | None]
    missing_from_import_at: Mapped[datetime | None]  # absent from the latest file: staff decide

    created_at: Mapped[datetime] = mapped_column(default=_now)
    updated_at: Mapped[datetime] = mapped_column(default=_now, onupdate=_now)


class AuditEvent(Base):
    """Who did what, where and when. Never a password or a token."""

    __tablename__ = "audit_events"
    __table_args__ = (Index("ix_audit_events_tenant_time", "tenant_id", "created_at"),)

    id: Mapped[int] = mapped_column(primary_key=True)
    tenant_id: Mapped[str | None] = mapped_column(ForeignKey("tenants.slug"))  # None: platform
    account_id: Mapped[int | None] = mapped_column(ForeignKey("accounts.id", ondelete="SET NULL"), index=True)
    type: Mapped[str] = mapped_column(String(50))
    ip: Mapped[str | None] = mapped_column(String(45))
    detail: Mapped[dict[str, Any]] = mapped_column(JSON, default=dict)
    created_at: Mapped[datetime] = mapped_column(default=_now, server_default=func.now())


class PasswordHistory(Base):
    """Previous password hashes, for the tenant's reuse rule (months or count)."""

    __tablename__ = "password_history"
    __table_args__ = (Index("ix_password_history_account_time", "account_id", "created_at"),)

    id: Mapped[int] = mapped_column(primary_key=True)
    tenant_id: Mapped[str] = mapped_column(ForeignKey("tenants.slug"))
    account_id: Mapped[int] = mapped_column(ForeignKey("accounts.id", ondelete="CASCADE"))
    password_hash: Mapped[str] = mapped_column(String(255))
    created_at: Mapped[datetime] = mapped_column(default=_now)


class UserSession(Base):
    """A signed-in browser. The cookie holds a random token; only its SHA-256 is stored, so a
    database leak gives no usable session."""

    __tablename__ = "sessions"

    id: Mapped[str] = mapped_column(String(64), primary_key=True)  # sha256(token) hex
    tenant_id: Mapped[str] = mapped_column(ForeignKey("tenants.slug"))
    account_id: Mapped[int] = mapped_column(ForeignKey("accounts.id", ondelete="CASCADE"), index=True)
    created_at: Mapped[datetime] = mapped_column(default=_now)
    last_seen_at: Mapped[datetime] = mapped_column(default=_now)
    expires_at: Mapped[datetime] = mapped_column(index=True)  # absolute timeout; the purge's key
    ip: Mapped[str | None] = mapped_column(String(45))
    user_agent: Mapped[str | None] = mapped_column(String(300))


class AccountToken(Base):
    """Single-use secrets sent by email (reset, activation, email change). Only the SHA-256 of
    the token is stored."""

    __tablename__ = "account_tokens"
    __table_args__ = (Index("ix_account_tokens_account_purpose", "account_id", "purpose"),)

    id: Mapped[int] = mapped_column(primary_key=True)
    token_hash: Mapped[str] = mapped_column(String(64), unique=True)
    tenant_id: Mapped[str] = mapped_column(ForeignKey("tenants.slug"))
    account_id: Mapped[int] = mapped_column(ForeignKey("accounts.id", ondelete="CASCADE"))
    purpose: Mapped[str] = mapped_column(String(30))  # reset | activation | email_change | email_confirmation
    created_at: Mapped[datetime] = mapped_column(default=_now)
    expires_at: Mapped[datetime] = mapped_column(index=True)  # the purge's key
    used_at: Mapped[datetime | None]  # used, or revoked by a newer token or a password change
    data: Mapped[dict[str, Any]] = mapped_column(JSON, default=dict)


class OutboxMail(Base):
    """Every email waits here until delivered: a request only inserts, a sender delivers."""

    __tablename__ = "outbox"
    __table_args__ = (Index("ix_outbox_due", "status", "next_attempt_at"),)

    id: Mapped[int] = mapped_column(primary_key=True)
    tenant_id: Mapped[str | None] = mapped_column(ForeignKey("tenants.slug"), index=True)
    template: Mapped[str] = mapped_column(String(50))
    sender: Mapped[str] = mapped_column(String(300))
    recipient: Mapped[str] = mapped_column(String(254))
    subject: Mapped[str] = mapped_column(String(300))
    body_text: Mapped[str] = mapped_column(Text)
    body_html: Mapped[str | None] = mapped_column(Text)
    status: Mapped[str] = mapped_column(String(20), default="pending")  # pending | sending | sent | failed
    attempts: Mapped[int] = mapped_column(default=0)
    next_attempt_at: Mapped[datetime] = mapped_column(default=_now)
    claimed_until: Mapped[datetime | None]
    last_error: Mapped[str | None] = mapped_column(Text)
    created_at: Mapped[datetime] = mapped_column(default=_now)
    sent_at: Mapped[datetime | None] = mapped_column(index=True)  # the purge's key


class ContactMessage(Base):
    """A message sent with the "contact the administrator" form."""

    __tablename__ = "contact_messages"

    id: Mapped[int] = mapped_column(primary_key=True)
    tenant_id: Mapped[str] = mapped_column(ForeignKey("tenants.slug"), index=True)
    name: Mapped[str] = mapped_column(String(200))
    email: Mapped[str] = mapped_column(String(254))
    message: Mapped[str] = mapped_column(Text)
    acknowledgment_requested: Mapped[bool] = mapped_column(default=False)
    ip: Mapped[str | None] = mapped_column(String(45))
    created_at: Mapped[datetime] = mapped_column(default=_now)
    handled_at: Mapped[datetime | None]


class CaptchaChallenge(Base):
    """One captcha: the answer's hash, single use, short-lived."""

    __tablename__ = "captcha_challenges"

    id: Mapped[str] = mapped_column(String(64), primary_key=True)  # random, public
    tenant_id: Mapped[str] = mapped_column(ForeignKey("tenants.slug"))
    answer_hash: Mapped[str] = mapped_column(String(64))
    created_at: Mapped[datetime] = mapped_column(default=_now)
    expires_at: Mapped[datetime] = mapped_column(index=True)  # the purge's key
    used_at: Mapped[datetime | None]


class RateLimitHit(Base):
    """Fixed-window counters shared by every replica (activation per identifier, contact form…)."""

    __tablename__ = "rate_limits"
    __table_args__ = (UniqueConstraint("tenant_id", "bucket", "key", "window_start", name="uq_rate_limits_window"),)

    id: Mapped[int] = mapped_column(primary_key=True)
    tenant_id: Mapped[str] = mapped_column(ForeignKey("tenants.slug"))
    bucket: Mapped[str] = mapped_column(String(40))
    key: Mapped[str] = mapped_column(String(128))  # hashed: no identifier or IP in clear
    window_start: Mapped[datetime] = mapped_column(index=True)  # the purge's key
    count: Mapped[int] = mapped_column(default=0)


class Agrement(Base):
    """An assistant's agrément (approval), as the département's business application sends it."""

    __tablename__ = "agrements"
    __table_args__ = (UniqueConstraint("tenant_id", "number", name="uq_agrements_tenant_number"),)

    id: Mapped[int] = mapped_column(primary_key=True)
    tenant_id: Mapped[str] = mapped_column(ForeignKey("tenants.slug"))
    account_id: Mapped[int] = mapped_column(ForeignKey("accounts.id", ondelete="CASCADE"), index=True)
    number: Mapped[str] = mapped_column(String(40))
    start_date: Mapped[date | None]
    end_date: Mapped[date | None]
    capacity: Mapped[int | None]
    place: Mapped[str | None] = mapped_column(String(300))


class Admin(Base):
    """A member of a tenant's staff in its console, or a platform super-admin (tenant_id None)."""

    __tablename__ = "admins"
    __table_args__ = (UniqueConstraint("tenant_id", "email_key", name="uq_admins_tenant_email"),)

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

    def __str__(self) -> str:
        return self.email


class AdminSession(Base):
    """A signed-in console user: separate from the portal's sessions, same storage rules."""

    __tablename__ = "admin_sessions"

    id: Mapped[str] = mapped_column(String(64), primary_key=True)  # sha256(token) hex
    admin_id: Mapped[int] = mapped_column(ForeignKey("admins.id", ondelete="CASCADE"), index=True)
    tenant_id: Mapped[str | None] = mapped_column(ForeignKey("tenants.slug"))
    created_at: Mapped[datetime] = mapped_column(default=_now)
    last_seen_at: Mapped[datetime] = mapped_column(default=_now)
    expires_at: Mapped[datetime] = mapped_column(index=True)  # the purge's key


class AdminToken(Base):
    """Set-password links for console users (`assmat create-admin` emails one)."""

    __tablename__ = "admin_tokens"

    id: Mapped[int] = mapped_column(primary_key=True)
    token_hash: Mapped[str] = mapped_column(String(64), unique=True)
    admin_id: Mapped[int] = mapped_column(ForeignKey("admins.id", ondelete="CASCADE"), index=True)
    purpose: Mapped[str] = mapped_column(String(30))
    created_at: Mapped[datetime] = mapped_column(default=_now)
    expires_at: Mapped[datetime]
    used_at: Mapped[datetime | None]


class ImportRun(Base):
    """One upload of the monthly assistants file: dry run or applied, with its report."""

    __tablename__ = "import_runs"

    id: Mapped[int] = mapped_column(primary_key=True)
    tenant_id: Mapped[str] = mapped_column(ForeignKey("tenants.slug"), index=True)
    admin_id: Mapped[int | None] = mapped_column(ForeignKey("admins.id", ondelete="SET NULL"))
    filename: Mapped[str] = mapped_column(String(255))
    dry_run: Mapped[bool] = mapped_column(default=True)
    created_at: Mapped[datetime] = mapped_column(default=_now)
    counts: Mapped[dict[str, Any]] = mapped_column(JSON, default=dict)
    rejected: Mapped[list[Any]] = mapped_column(JSON, default=list)  # [{"line": n, "reason": "…"}]
    missing: Mapped[list[Any]] = mapped_column(JSON, default=list)  # identifiers absent from the file


# --- The assistant's space (seed 001 §2.3, §2.4) -----------------------------------------------


class Child(Base):
    """A child an assistant declares as hosted (seed 001 §2.4.1), with the guardians' details."""

    __tablename__ = "children"
    __table_args__ = (
        Index("ix_children_tenant_account", "tenant_id", "account_id"),
        Index("ix_children_tenant_declared", "tenant_id", "declared_at"),
    )

    id: Mapped[int] = mapped_column(primary_key=True)
    tenant_id: Mapped[str] = mapped_column(ForeignKey("tenants.slug"))
    account_id: Mapped[int] = mapped_column(ForeignKey("accounts.id", ondelete="CASCADE"))
    last_name: Mapped[str] = mapped_column(String(100))
    first_name: Mapped[str] = mapped_column(String(100))
    birth_date: Mapped[date]
    # Guardians: optional in the form, "mais doivent être renseignées".
    guardian1_civility: Mapped[str | None] = mapped_column(String(20))
    guardian1_last_name: Mapped[str | None] = mapped_column(String(100))
    guardian1_first_name: Mapped[str | None] = mapped_column(String(100))
    guardian1_email: Mapped[str | None] = mapped_column(String(254))
    guardian1_phone: Mapped[str | None] = mapped_column(String(40))
    guardian2_civility: Mapped[str | None] = mapped_column(String(20))
    guardian2_last_name: Mapped[str | None] = mapped_column(String(100))
    guardian2_first_name: Mapped[str | None] = mapped_column(String(100))
    guardian2_email: Mapped[str | None] = mapped_column(String(254))
    guardian2_phone: Mapped[str | None] = mapped_column(String(40))
    # Main address (guardian 1), required; second address only when guardian 2 lives elsewhere.
    address: Mapped[str] = mapped_column(String(300))
    postal_code: Mapped[str] = mapped_column(String(10))
    city: Mapped[str] = mapped_column(String(100))
    has_second_address: Mapped[bool] = mapped_column(default=False)
    second_address: Mapped[str | None] = mapped_column(String(300))
    second_postal_code: Mapped[str | None] = mapped_column(String(10))
    second_city: Mapped[str | None] = mapped_column(String(100))

    declared_at: Mapped[datetime] = mapped_column(default=_now)  # first declaration: the 8-day rule
    # Kept by every save from the periods, so the console filters and sorts on plain columns.
    care_start: Mapped[date | None]  # the earliest period's start
    declared_late: Mapped[bool] = mapped_column(default=False, server_default=false())  # children.is_late
    created_at: Mapped[datetime] = mapped_column(default=_now)
    updated_at: Mapped[datetime] = mapped_column(default=_now, onupdate=_now)


class CarePeriod(Base):
    """One row of a child's "Périodes d'accueil": a tenant childcare type code and its dates."""

    __tablename__ = "care_periods"

    id: Mapped[int] = mapped_column(primary_key=True)
    tenant_id: Mapped[str] = mapped_column(ForeignKey("tenants.slug"))
    child_id: Mapped[int] = mapped_column(ForeignKey("children.id", ondelete="CASCADE"), index=True)
    childcare_type: Mapped[str] = mapped_column(String(40))  # ChildcareType.code of the tenant
    start_date: Mapped[date]
    end_date: Mapped[date | None]
    hours_per_month: Mapped[int | None]  # only on the type with max_hours_per_month
    comment: Mapped[str | None] = mapped_column(String(500))


class Message(Base):
    """A message from the département's services: general (recipient None: every assistant of
    the tenant) or personal. Assistants cannot send any (seed 001 §2.3)."""

    __tablename__ = "messages"
    __table_args__ = (
        Index("ix_messages_tenant_time", "tenant_id", "created_at"),
        Index("ix_messages_tenant_recipient_time", "tenant_id", "recipient_account_id", "created_at"),
    )

    id: Mapped[int] = mapped_column(primary_key=True)
    tenant_id: Mapped[str] = mapped_column(ForeignKey("tenants.slug"))
    sender: Mapped[str] = mapped_column(String(200))  # a label, e.g. the service name
    recipient_account_id: Mapped[int | None] = mapped_column(ForeignKey("accounts.id", ondelete="CASCADE"))
    subject: Mapped[str] = mapped_column(String(300))
    body: Mapped[str] = mapped_column(Text)
    created_at: Mapped[datetime] = mapped_column(default=_now)
    # sender, subject and body folded by search_text(): what the inbox's search matches, alike on
    # SQLite and PostgreSQL. Written with the message (below), filled for older ones by 0006.
    search_text: Mapped[str] = mapped_column(Text, default="", server_default="")


def search_text(*parts: str | None) -> str:
    """Text as search compares it: without accents, lower case, single spaces, so that
    « meteo », « MÉTÉO » and « Météo » all find « Alerte météo »."""
    decomposed = unicodedata.normalize("NFKD", " ".join(part for part in parts if part))
    letters = "".join(c for c in decomposed if not unicodedata.combining(c))
    return " ".join(letters.casefold().split())


@event.listens_for(Message, "before_insert")
@event.listens_for(Message, "before_update")
def _fold_for_search(_mapper: Any, _connection: Any, message: Message) -> None:
    message.search_text = search_text(message.sender, message.subject, message.body)


class MessageState(Base):
    """What one assistant did with one message: read, archived. No row: unread, in the inbox."""

    __tablename__ = "message_states"
    __table_args__ = (
        UniqueConstraint("tenant_id", "message_id", "account_id", name="uq_message_states_tenant_message_account"),
        Index("ix_message_states_account_message", "account_id", "message_id"),
    )

    id: Mapped[int] = mapped_column(primary_key=True)
    tenant_id: Mapped[str] = mapped_column(ForeignKey("tenants.slug"))
    message_id: Mapped[int] = mapped_column(ForeignKey("messages.id", ondelete="CASCADE"))
    account_id: Mapped[int] = mapped_column(ForeignKey("accounts.id", ondelete="CASCADE"))
    read_at: Mapped[datetime | None]
    archived_at: Mapped[datetime | None]


class SituationChange(Base):
    """"Signaler un changement de situation": free text from an assistant, for the staff."""

    __tablename__ = "situation_changes"
    __table_args__ = (Index("ix_situation_changes_tenant_time", "tenant_id", "created_at"),)

    id: Mapped[int] = mapped_column(primary_key=True)
    tenant_id: Mapped[str] = mapped_column(ForeignKey("tenants.slug"))
    account_id: Mapped[int] = mapped_column(ForeignKey("accounts.id", ondelete="CASCADE"), index=True)
    message: Mapped[str] = mapped_column(Text)
    created_at: Mapped[datetime] = mapped_column(default=_now)
    handled_at: Mapped[datetime | None]
