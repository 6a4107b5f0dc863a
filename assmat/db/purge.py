"""Delete the rows that only pile up: expired captchas, past rate-limit windows, ended sessions,
dead tokens and old sent mail.

Anonymous requests write captchas and rate-limit rows, every sign-in a session, every reset a
token: without this the tables grow for ever. Each table is purged by its own time columns,
across tenants (a row's age does not depend on its tenant and no row is read), in batches of
short transactions so that a large backlog never holds long locks. `assmat purge` runs it; the
mail worker (in-process or `assmat mail-worker`) runs it periodically. Running it twice, or in
two processes at once, deletes nothing more: every condition is on the row's own dates.
"""

from __future__ import annotations

import logging
from dataclasses import dataclass, field
from datetime import datetime, timedelta
from typing import Any

from sqlalchemy import and_, delete, or_, select
from sqlalchemy.ext.asyncio import AsyncSession, async_sessionmaker

from assmat import clock
from assmat.db.models import (
    AccountToken,
    AdminSession,
    AdminToken,
    CaptchaChallenge,
    OutboxMail,
    RateLimitHit,
    UserSession,
)

log = logging.getLogger("assmat.purge")

BATCH = 1000


@dataclass(frozen=True)
class Retention:
    """How long each kind of row is kept after it stopped serving (ASSMAT_RETENTION_*)."""

    captchas: timedelta = timedelta(hours=1)  # after expiry or use
    rate_limits: timedelta = timedelta(days=2)  # after the window opened: longer than any window (1 day)
    sessions: timedelta = timedelta(days=1)  # after the absolute timeout (portal and console)
    tokens: timedelta = timedelta(days=7)  # after expiry or use (portal and console links)
    mail: timedelta = timedelta(days=30)  # after delivery, or after the last try of a failed mail

    @classmethod
    def from_settings(cls, settings: Any) -> "Retention":
        return cls(captchas=settings.retention_captchas, rate_limits=settings.retention_rate_limits,
                   sessions=settings.retention_sessions, tokens=settings.retention_tokens, mail=settings.retention_mail)


@dataclass
class PurgeReport:
    deleted: dict[str, int] = field(default_factory=dict)

    @property
    def total(self) -> int:
        return sum(self.deleted.values())


def _targets(retention: Retention, now: datetime) -> list[tuple[str, Any, Any]]:
    """(table, primary key column, condition of the rows to delete)."""

    def dead(model: Any, keep: timedelta) -> Any:  # expired, or used, longer ago than `keep`
        return or_(model.expires_at < now - keep, model.used_at < now - keep)

    mail_cutoff = now - retention.mail
    return [
        ("captcha_challenges", CaptchaChallenge.id, dead(CaptchaChallenge, retention.captchas)),
        ("rate_limits", RateLimitHit.id, RateLimitHit.window_start < now - retention.rate_limits),
        ("sessions", UserSession.id, UserSession.expires_at < now - retention.sessions),
        ("admin_sessions", AdminSession.id, AdminSession.expires_at < now - retention.sessions),
        ("account_tokens", AccountToken.id, dead(AccountToken, retention.tokens)),
        ("admin_tokens", AdminToken.id, dead(AdminToken, retention.tokens)),
        ("outbox", OutboxMail.id, or_(
            and_(OutboxMail.status == "sent", OutboxMail.sent_at < mail_cutoff),
            and_(OutboxMail.status == "failed", OutboxMail.next_attempt_at < mail_cutoff),
        )),
    ]


async def purge(
    sessionmaker: async_sessionmaker[AsyncSession], retention: Retention, *, batch: int = BATCH, now: datetime | None = None
) -> PurgeReport:
    """Delete what `retention` no longer keeps, `batch` rows per transaction; counts per table."""
    now = now or clock.now()
    report = PurgeReport()
    for table, key, condition in _targets(retention, now):
        deleted = 0
        while True:
            async with sessionmaker() as session, session.begin():
                chosen = select(key).where(condition).limit(batch)
                result = await session.execute(
                    delete(key.class_).where(key.in_(chosen)).execution_options(synchronize_session=False)
                )
            count = result.rowcount  # type: ignore[attr-defined]
            deleted += count
            if count < batch:
                break
        report.deleted[table] = deleted
    if report.total:
        log.info("purge: %s", ", ".join(f"{table} {count}" for table, count in report.deleted.items() if count))
    return report
