"""Race-free lockout on any table with failed_logins, locked_at and locked_until columns
(portal accounts and console admins), driven by a tenant's `lockout` section.

Each attempt is counted BEFORE its password is verified, by one conditional UPDATE: of N
parallel guesses against a threshold of 3, only 3 get a verification (the failure of Keycloak
CVE-2024-4629), and exactly one of them locks."""

from __future__ import annotations

from dataclasses import dataclass
from datetime import timedelta
from functools import cache
from typing import Any

from sqlalchemy import Integer, String, bindparam, case, select, update
from sqlalchemy.ext.asyncio import AsyncSession

from assmat.core import clock
from assmat.core.db.postgresql_driver import COMMITS_ALONE
from assmat.core.i18n import ngettext
from assmat.tenants.schema import Lockout as LockoutConfig


@cache
def _reserve_statement(model: Any, in_tenant: bool) -> Any:
    """The reservation, built once per table and kind of tenant, its values bound at each login
    (every sign-in runs it). On the table, not the model: nothing reads the counter from the
    loaded row, and the ORM's bulk UPDATE cost 130 Python calls more per sign-in. Committed on
    its own (`reserve`): on PostgreSQL one round trip where BEGIN and COMMIT made it three."""
    rows = model.__table__.c
    same_tenant = rows.tenant_id == bindparam("of_tenant", type_=String) if in_tenant else rows.tenant_id.is_(None)
    return (
        update(model.__table__)
        .where(
            rows.id == bindparam("row_id", type_=Integer), same_tenant,
            rows.locked_at.is_(None), rows.failed_logins < bindparam("max_failures", type_=Integer),
        )
        .values(failed_logins=rows.failed_logins + 1)
        .returning(rows.failed_logins)
        .execution_options(**{COMMITS_ALONE: True})
    )


@cache
def released_values(model: Any, reset_counter: bool) -> dict[str, Any]:
    """The column values that give a correct password's reservation back, or reset the counter
    where the tenant says so (the Gers keeps earlier failures: the seed's quirk), built once."""
    if reset_counter:
        return {"failed_logins": 0}
    return {"failed_logins": case((model.failed_logins > 0, model.failed_logins - 1), else_=0)}


class Lockout:
    def __init__(self, db: AsyncSession, model: Any, config: LockoutConfig, tenant_id: str | None):
        self.db = db
        self.model = model
        self.config = config
        self.tenant_id = tenant_id  # None: the platform's super-admins

    def _row(self, row_id: int) -> tuple[Any, Any]:
        """The row by its id, within its tenant (`== None` renders IS NULL for the platform)."""
        return self.model.id == row_id, self.model.tenant_id == self.tenant_id

    async def clear_expired(self, row: Any) -> None:
        """A temporary lock that has run out is lifted, with its counter."""
        now = clock.now()
        if row.locked_at is not None and row.locked_until is not None and row.locked_until <= now:
            await self.db.execute(
                update(self.model)
                .where(*self._row(row.id), self.model.locked_until <= now)
                .values(locked_at=None, locked_until=None, failed_logins=0)
            )
            await self.db.commit()
            # A refresh, within the tenant.
            await self.db.scalar(select(self.model).where(*self._row(row.id)).execution_options(populate_existing=True))

    async def reserve(self, row_id: int) -> bool:
        """Count one attempt; False when the row is locked or out of attempts. Commits, so that
        parallel requests see the reservation before any password is verified."""
        reserved = await self.db.execute(
            _reserve_statement(self.model, self.tenant_id is not None),
            {"row_id": row_id, "of_tenant": self.tenant_id, "max_failures": self.config.max_failures},
        )
        granted = reserved.scalar() is not None
        await self.db.commit()
        return granted

    def released(self) -> dict[str, Any]:
        """`released_values` under this lockout; callers fold them into their own UPDATE."""
        return released_values(self.model, self.config.reset_counter_on_success)

    async def release(self, row_id: int) -> None:
        await self.db.execute(update(self.model).where(*self._row(row_id)).values(**self.released()))

    async def lock_if_reached(self, row_id: int) -> bool:
        """True for the one caller that locks the row; the caller ends sessions and mails."""
        now = clock.now()
        duration = self.config.duration
        locked = await self.db.execute(
            update(self.model)
            .where(
                *self._row(row_id),
                self.model.locked_at.is_(None),
                self.model.failed_logins >= self.config.max_failures,
            )
            .values(locked_at=now, locked_until=None if duration == "permanent" else now + duration)
            .returning(self.model.id)
        )
        return locked.scalar() is not None

    async def unlock(self, row_id: int) -> None:
        await self.db.execute(
            update(self.model).where(*self._row(row_id)).values(locked_at=None, locked_until=None, failed_logins=0)
        )


@dataclass(frozen=True)
class DurationWords:
    """A temporary lock's length as people say it (« 15 minutes », « 1 heure », « 2 jours »),
    put into words when shown: a mail renders in its own language, a page in the request's."""

    duration: timedelta

    def __str__(self) -> str:
        minutes = int(self.duration.total_seconds() // 60)
        if minutes and minutes % 1440 == 0:
            return ngettext("%(num)d day", "%(num)d days", minutes // 1440) % {"num": minutes // 1440}
        if minutes and minutes % 60 == 0:
            return ngettext("%(num)d hour", "%(num)d hours", minutes // 60) % {"num": minutes // 60}
        return ngettext("%(num)d minute", "%(num)d minutes", minutes) % {"num": minutes}


def lock_duration_words(config: LockoutConfig) -> DurationWords | None:
    """The words for the tenant's lock length; None when a lock lasts until staff lift it."""
    return None if config.duration == "permanent" else DurationWords(config.duration)
