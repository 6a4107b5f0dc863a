"""Deliver queued mail: claim due rows, send each, record the outcome.

Delivery is at least once: a row is marked sent only after the SMTP server accepted it, so a
crash between the two sends it again when its claim expires. The Message-ID is derived from the
row, so a receiving server or client can recognise such a repeat.
"""

from __future__ import annotations

import asyncio
import logging
import os
import smtplib
import ssl
import uuid
from collections.abc import Callable
from dataclasses import dataclass
from datetime import datetime, timedelta
from email.message import EmailMessage
from email.utils import format_datetime, parseaddr
from pathlib import Path
from typing import Protocol

from sqlalchemy import and_, or_, select, update
from sqlalchemy.ext.asyncio import AsyncSession, async_sessionmaker

from assmat.core import clock
from assmat.core.mail.models import OutboxMail
from assmat.core.settings import Settings

log = logging.getLogger("assmat.core.mail")

MAX_ATTEMPTS = 12  # 30 s, 1 min, 2 min … then hourly: about 5 hours before giving up
BASE_DELAY = timedelta(seconds=30)
MAX_DELAY = timedelta(hours=1)
# A claimed row belongs to its worker this long; after that another worker may take it.
LEASE = timedelta(minutes=5)
SMTP_TIMEOUT = 10.0
# Stop sending from a claim this long before it expires, so no two workers send the same row.
LEASE_MARGIN = timedelta(seconds=4 * SMTP_TIMEOUT)
ERROR_MAX = 300
ERASED_BODY = ""  # the body of a delivered mail, erased with its secrets
_MESSAGE_ID_NAMESPACE = uuid.UUID("5b0e1f0c-8a44-4c1e-9a77-0c4a1d6a8b21")


class DeliveryError(Exception):
    """A send failed; the message is short and safe to store and show (no credentials)."""


class MailBackend(Protocol):
    description: str

    async def send(self, message: EmailMessage) -> None: ...


def backoff(attempts: int) -> timedelta:
    """The wait after the `attempts`-th failed try: 30 s doubling each time, at most an hour."""
    return min(BASE_DELAY * 2 ** max(attempts - 1, 0), MAX_DELAY)


def _short(text: str, secret: str = "") -> str:
    if secret:
        text = text.replace(secret, "***")
    return " ".join(text.split())[:ERROR_MAX]


def describe_error(exc: BaseException) -> str:
    if isinstance(exc, DeliveryError):
        return _short(str(exc))
    if isinstance(exc, smtplib.SMTPRecipientsRefused):
        codes = sorted({str(code) for code, _ in exc.recipients.values()})
        return _short(f"SMTP recipient refused ({', '.join(codes)})")
    if isinstance(exc, smtplib.SMTPResponseException):
        reply = exc.smtp_error.decode("utf-8", "replace") if isinstance(exc.smtp_error, bytes) else str(exc.smtp_error)
        return _short(f"SMTP {exc.smtp_code} {reply}")
    return _short(f"{type(exc).__name__}: {exc}")


class SmtpBackend:
    """smtplib in a worker thread: one connection per message, 10 s timeout per operation."""

    def __init__(self, settings: Settings, timeout: float = SMTP_TIMEOUT):
        self.host = settings.smtp_host
        self.port = settings.smtp_port
        self.username = settings.smtp_username
        self._password = settings.smtp_password
        self.starttls = settings.smtp_starttls
        self.timeout = timeout
        # Our EHLO name; without it smtplib asks DNS for the FQDN, which can stall.
        self.local_hostname = settings.base_domain or "localhost"
        self.description = f"smtp {self.host}:{self.port}" + (" starttls" if self.starttls else "")

    async def send(self, message: EmailMessage) -> None:
        await asyncio.to_thread(self._send, message)

    def _send(self, message: EmailMessage) -> None:
        try:
            with smtplib.SMTP(self.host, self.port, local_hostname=self.local_hostname, timeout=self.timeout) as smtp:
                if self.starttls:
                    smtp.starttls(context=ssl.create_default_context())
                if self.username:
                    smtp.login(self.username, self._password)
                smtp.send_message(message)
        except (smtplib.SMTPException, OSError, ssl.SSLError) as exc:
            raise DeliveryError(_short(describe_error(exc), self._password)) from exc


class FileBackend:
    """Writes each message as an .eml file (demo and development: MAIL_BACKEND=file)."""

    def __init__(self, directory: Path):
        self.directory = Path(directory)
        self.description = f"file {self.directory}"

    async def send(self, message: EmailMessage) -> None:
        await asyncio.to_thread(self._write, message)

    def _write(self, message: EmailMessage) -> Path:
        self.directory.mkdir(parents=True, exist_ok=True)
        name = f"{clock.now():%Y%m%dT%H%M%S}-{uuid.uuid4().hex}.eml"
        target = self.directory / name
        partial = self.directory / f".{name}.part"
        partial.write_bytes(message.as_bytes())
        os.replace(partial, target)  # readers never see a half-written file
        return target


def make_backend(settings: Settings) -> MailBackend:
    if settings.mail_backend == "file":
        return FileBackend(settings.mail_dir)
    return SmtpBackend(settings)


@dataclass(frozen=True)
class ClaimedMail:
    """What a sender needs of a claimed row, detached from any session."""

    id: int
    tenant_id: str | None
    sender: str
    recipient: str
    subject: str
    body_text: str
    body_html: str | None
    attempts: int
    created_at: datetime
    next_attempt_at: datetime
    claimed_until: datetime

    @classmethod
    def of(cls, row: OutboxMail) -> "ClaimedMail":
        assert row.claimed_until is not None
        return cls(
            id=row.id,
            tenant_id=row.tenant_id,
            sender=row.sender,
            recipient=row.recipient,
            subject=row.subject,
            body_text=row.body_text,
            body_html=row.body_html,
            attempts=row.attempts,
            created_at=row.created_at,
            next_attempt_at=row.next_attempt_at,
            claimed_until=row.claimed_until,
        )


def message_id(mail: OutboxMail | ClaimedMail) -> str:
    """Stable across retries of the same row; the domain is the sender's (the tenant's)."""
    address = parseaddr(mail.sender)[1]
    domain = address.rpartition("@")[2] if "@" in address else ""
    seed = f"{mail.id}/{mail.created_at.timestamp()}/{mail.recipient}"
    return f"<{uuid.uuid5(_MESSAGE_ID_NAMESPACE, seed).hex}@{domain or 'assmat'}>"


def build_message(mail: OutboxMail | ClaimedMail) -> EmailMessage:
    message = EmailMessage()
    message["From"] = mail.sender
    message["To"] = mail.recipient
    message["Subject"] = mail.subject
    message["Date"] = format_datetime(mail.created_at)
    message["Message-ID"] = message_id(mail)
    message["Auto-Submitted"] = "auto-generated"  # RFC 3834: no auto-replies to this
    message.set_content(mail.body_text)
    if mail.body_html:
        message.add_alternative(mail.body_html, subtype="html")
    return message


@dataclass
class DeliveryReport:
    claimed: int = 0
    sent: int = 0
    retried: int = 0  # failed, back to pending with a later next_attempt_at
    failed: int = 0  # out of attempts: status 'failed'
    released: int = 0  # claimed but not tried (shutdown, or the claim was about to expire)


def _due(now: datetime):
    return or_(
        and_(OutboxMail.status == "pending", OutboxMail.next_attempt_at <= now),
        # A worker died while sending: its claim ran out.
        and_(OutboxMail.status == "sending", OutboxMail.claimed_until <= now),
    )


async def _claim(sessionmaker: async_sessionmaker[AsyncSession], batch: int, now: datetime) -> list[ClaimedMail]:
    async with sessionmaker() as session, session.begin():
        order = (OutboxMail.next_attempt_at, OutboxMail.id)
        if session.get_bind().dialect.name == "postgresql":
            # Rows another worker is claiming right now are skipped, not waited for.
            ids = list(
                await session.scalars(
                    select(OutboxMail.id).where(_due(now)).order_by(*order).limit(batch).with_for_update(skip_locked=True)
                )
            )
            if not ids:
                return []
            chosen = OutboxMail.id.in_(ids)
        else:
            # SQLite runs one writer at a time; re-checking the condition in the UPDATE keeps a
            # row from being claimed twice.
            subquery = select(OutboxMail.id).where(_due(now)).order_by(*order).limit(batch)
            chosen = and_(OutboxMail.id.in_(subquery), _due(now))
        rows = await session.scalars(
            update(OutboxMail)
            .where(chosen)
            .values(status="sending", claimed_until=now + LEASE, attempts=OutboxMail.attempts + 1)
            .returning(OutboxMail)
            .execution_options(synchronize_session=False)
        )
        claimed = sorted((ClaimedMail.of(row) for row in rows), key=lambda mail: (mail.next_attempt_at, mail.id))
    return claimed


async def _finish(sessionmaker: async_sessionmaker[AsyncSession], mail: ClaimedMail, **values: object) -> bool:
    """Record an outcome, only if the claim is still ours."""
    async with sessionmaker() as session, session.begin():
        result = await session.execute(
            update(OutboxMail)
            .where(
                OutboxMail.id == mail.id,
                OutboxMail.status == "sending",
                OutboxMail.claimed_until == mail.claimed_until,
            )
            .values(claimed_until=None, **values)
            .execution_options(synchronize_session=False)
        )
    if result.rowcount != 1:  # type: ignore[attr-defined]
        log.warning("mail %s: claim lost before its outcome was recorded", mail.id)
        return False
    return True


async def _release(sessionmaker: async_sessionmaker[AsyncSession], mails: list[ClaimedMail]) -> None:
    """Hand untried rows back at once, without counting an attempt."""
    for mail in mails:
        await _finish(sessionmaker, mail, status="pending", attempts=mail.attempts - 1)


async def deliver_due(
    sessionmaker: async_sessionmaker[AsyncSession],
    backend: MailBackend,
    *,
    batch: int = 20,
    now: datetime | None = None,
) -> DeliveryReport:
    """Claim up to `batch` due mails and send them. `now` fixes the time of the whole run
    (tests); by default `clock.now()` is read at each step."""
    current: Callable[[], datetime] = (lambda: now) if now is not None else clock.now
    claimed = await _claim(sessionmaker, batch, current())
    report = DeliveryReport(claimed=len(claimed))
    untried = list(claimed)
    try:
        while untried:
            mail = untried[0]
            if current() >= mail.claimed_until - LEASE_MARGIN:
                break  # another worker may take the rest soon: do not race it
            untried.pop(0)
            if mail.attempts > MAX_ATTEMPTS:
                # Claimed again and again by workers that died while sending it.
                await _finish(sessionmaker, mail, status="failed", last_error="abandoned: the sender stopped while sending")
                report.failed += 1
                continue
            try:
                await backend.send(build_message(mail))
            except Exception as exc:  # noqa: BLE001 - every failure is recorded and retried
                error = describe_error(exc)
                if mail.attempts >= MAX_ATTEMPTS:
                    await _finish(sessionmaker, mail, status="failed", last_error=error)
                    report.failed += 1
                    log.error("mail %s failed for good after %s attempts: %s", mail.id, mail.attempts, error)
                else:
                    retry_at = current() + backoff(mail.attempts)
                    await _finish(sessionmaker, mail, status="pending", next_attempt_at=retry_at, last_error=error)
                    report.retried += 1
                    log.warning("mail %s not sent (attempt %s), retry at %s: %s", mail.id, mail.attempts, retry_at, error)
            else:
                # A delivered mail may hold a temporary password or a live link: the row keeps
                # only what the console shows (template, addresses, subject, status, dates).
                await _finish(sessionmaker, mail, status="sent", sent_at=current(), body_text=ERASED_BODY, body_html=None)
                report.sent += 1
    finally:
        # Reached on shutdown (cancellation) too: the untried rows go back to the queue now
        # rather than when their claim expires.
        if untried:
            report.released = len(untried)
            await _release(sessionmaker, untried)
    return report
