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

from sqlalchemy import and_, column, delete, or_, select, table
from sqlalchemy.ext.asyncio import AsyncSession, async_sessionmaker

from assmat.core import clock
from assmat.core.db.base import UTCDateTime

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


def _targets(retention: Retention, now: datetime) -> list[tuple[Any, Any]]:
    """(table, primary key column, condition of the rows to delete)."""

    def dead(rows: Any, keep: timedelta) -> Any:  # expired, or used, longer ago than `keep`
        return or_(rows.c.expires_at < now - keep, rows.c.used_at < now - keep)

    captchas, limits = _rows("captcha_challenges", "expires_at", "used_at"), _rows("rate_limits", "window_start")
    # Sessions and tokens of every principal (portal accounts and console users) share a table.
    sessions, tokens = _rows("sessions", "expires_at"), _rows("account_tokens", "expires_at", "used_at")
    outbox = _rows("outbox", "sent_at", "next_attempt_at", status=True)
    trips = _rows("franceconnect_requests", "expires_at", "used_at")  # a trip to FranceConnect lives ten minutes
    mail_cutoff = now - retention.mail
    return [
        (captchas, dead(captchas, retention.captchas)),
        (trips, dead(trips, retention.captchas)),
        (limits, limits.c.window_start < now - retention.rate_limits),
        (sessions, sessions.c.expires_at < now - retention.sessions),
        (tokens, dead(tokens, retention.tokens)),
        (outbox, or_(
            and_(outbox.c.status == "sent", outbox.c.sent_at < mail_cutoff),
            and_(outbox.c.status == "failed", outbox.c.next_attempt_at < mail_cutoff),
        )),
    ]


def _rows(name: str, *dates: str, status: bool = False) -> Any:
    """The columns the purge reads, by table name: core knows no feature's models."""
    columns = [column("id"), *(column(date, UTCDateTime()) for date in dates)]
    if status:
        columns.append(column("status"))
    return table(name, *columns)


async def purge(
    sessionmaker: async_sessionmaker[AsyncSession], retention: Retention, *, batch: int = BATCH, now: datetime | None = None
) -> PurgeReport:
    """Delete what `retention` no longer keeps, `batch` rows per transaction; counts per table."""
    now = now or clock.now()
    report = PurgeReport()
    for rows, condition in _targets(retention, now):
        deleted = 0
        while True:
            async with sessionmaker() as session, session.begin():
                chosen = select(rows.c.id).where(condition).limit(batch)
                result = await session.execute(delete(rows).where(rows.c.id.in_(chosen)))
            count = result.rowcount  # type: ignore[attr-defined]
            deleted += count
            if count < batch:
                break
        report.deleted[rows.name] = deleted
    if report.total:
        log.info("purge: %s", ", ".join(f"{table} {count}" for table, count in report.deleted.items() if count))
    return report
