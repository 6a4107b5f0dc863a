"""A tenant console's first page: its effective configuration, check-config's advisories, its
accounts by state and its locks over the last 30 days."""

from __future__ import annotations

from collections.abc import Awaitable, Callable
from dataclasses import dataclass, field
from datetime import UTC, date, datetime, time, timedelta
from typing import Any

import anyio
from pydantic import BaseModel
from sqladmin import BaseView, expose
from sqlalchemy import func, select
from sqlalchemy.ext.asyncio import AsyncSession
from starlette.requests import Request
from starlette.responses import Response

from assmat.core import clock
from assmat.admin.accounts import ACTIVE, STATES, account_state_sql
from assmat.admin.formatting import yes_no
from assmat.core.clock import PARIS
from assmat.admin.scoping import is_tenant_staff
from assmat.auth.models import Account
from assmat.core.security.audit import EventType
from assmat.core.security.models import AuditEvent
from assmat.tenants.advisories import advisories

CHART_DAYS = 30
# Sections the features add to the overview (title, lines), registered by the composition root
# (assmat.app): the console knows no feature. Each is called with the session, the tenant and the
# settings.
OverviewSection = Callable[[AsyncSession, Any, Any], Awaitable[tuple[str, list[str]] | None]]
OVERVIEW_SECTIONS: list[OverviewSection] = []
# The chart's geometry, in SVG user units (the CSS scales the whole drawing).
BAR_WIDTH, BAR_GAP, BAR_MAX_HEIGHT, CHART_TOP = 18, 6, 100, 16


@dataclass
class ConfigEntry:
    key: str
    description: str
    value: str | None = None  # None for a section, whose entries are `children`
    children: list[ConfigEntry] = field(default_factory=list)


def config_value(value: Any) -> str:
    if value is None:
        return "—"
    if isinstance(value, bool):
        return yes_no(value)
    if isinstance(value, timedelta):
        minutes = int(value.total_seconds() // 60)
        if minutes % (24 * 60) == 0:
            return f"{minutes // (24 * 60)} j"
        if minutes % 60 == 0:
            return f"{minutes // 60} h"
        return f"{minutes} min"
    if isinstance(value, (list, tuple)):
        return ", ".join(config_value(item) for item in value) or "—"
    if isinstance(value, dict):
        return "; ".join(f"{key} : {config_value(item)}" for key, item in value.items()) or "—"
    return str(value)


def config_entries(model: BaseModel) -> list[ConfigEntry]:
    """The validated configuration, key by key, with the schema's French descriptions."""
    entries = []
    for name, info in type(model).model_fields.items():
        value = getattr(model, name)
        entry = ConfigEntry(key=info.alias or name, description=info.description or "")
        if isinstance(value, BaseModel):
            entry.children = config_entries(value)
        elif isinstance(value, list) and value and all(isinstance(item, BaseModel) for item in value):
            entry.children = [
                ConfigEntry(key=str(index), description="", children=config_entries(item))
                for index, item in enumerate(value, start=1)
            ]
        else:
            entry.value = config_value(value)
        entries.append(entry)
    return entries


async def account_counts(db: AsyncSession, tenant_id: str) -> dict[str, int]:
    """How many of the tenant's accounts are in each state (the states of the accounts list)."""
    states = select(account_state_sql().label("state")).where(Account.tenant_id == tenant_id).subquery()
    found = dict((await db.execute(select(states.c.state, func.count()).group_by(states.c.state))).all())
    return {label: found.get(label, 0) for label in (ACTIVE, *(label for label, _, _ in STATES))}


async def daily_locks(db: AsyncSession, tenant_id: str, today: date, days: int = CHART_DAYS) -> list[tuple[date, int]]:
    """Accounts locked per day (French time) over the `days` days ending today."""
    first = today - timedelta(days=days - 1)
    since = datetime.combine(first, time(), PARIS).astimezone(UTC)
    stamps = (await db.scalars(
        select(AuditEvent.created_at).where(
            AuditEvent.tenant_id == tenant_id, AuditEvent.type == EventType.ACCOUNT_LOCKED.value, AuditEvent.created_at >= since
        )
    )).all()
    per_day = {first + timedelta(days=offset): 0 for offset in range(days)}
    for stamp in stamps:
        day = stamp.astimezone(PARIS).date()
        if day in per_day:
            per_day[day] += 1
    return list(per_day.items())


@dataclass(frozen=True)
class Bar:
    day: date
    count: int
    x: int
    y: int
    height: int
    labelled: bool  # its date is written under the axis


LABEL_MIN_BARS = 4  # a "JJ/MM" label is about 3 bars wide: closer labels would overlap


def labelled_days(days: list[date]) -> set[int]:
    """Indexes of the bars whose date is written: always the first and the last, then the first
    of a month and every seventh day unless it would touch a label already kept."""
    if not days:
        return set()
    kept = {0, len(days) - 1}
    for index, day in enumerate(days):
        if (day.day == 1 or index % 7 == 0) and all(abs(index - other) >= LABEL_MIN_BARS for other in kept):
            kept.add(index)
    return kept


def chart_bars(series: list[tuple[date, int]]) -> list[Bar]:
    peak = max((count for _, count in series), default=0) or 1
    labelled = labelled_days([day for day, _ in series])
    bars = []
    for index, (day, count) in enumerate(series):
        height = round(count / peak * BAR_MAX_HEIGHT)
        bars.append(Bar(day, count, x=index * (BAR_WIDTH + BAR_GAP), y=CHART_TOP + BAR_MAX_HEIGHT - height,
                        height=height, labelled=index in labelled))
    return bars


class OverviewView(BaseView):
    name = "Vue d'ensemble"
    icon = "fa-solid fa-gauge"

    def is_accessible(self, request: Request) -> bool:
        return is_tenant_staff(request)

    def is_visible(self, request: Request) -> bool:
        return self.is_accessible(request)

    @expose("/vue-d-ensemble", methods=["GET"], identity="overview")
    async def overview(self, request: Request) -> Response:
        tenant = request.scope["tenant"]
        today = clock.today()
        async with request.app.state.sessionmaker() as db:
            counts = await account_counts(db, tenant.slug)
            locks = await daily_locks(db, tenant.slug, today)
            sections = [found for section in OVERVIEW_SECTIONS
                        if (found := await section(db, tenant, request.app.state.settings)) is not None]
        raw = await anyio.to_thread.run_sync(tenant.source.read_text, "utf-8")
        bars = chart_bars(locks)
        return await self.templates.TemplateResponse(request, "overview.html", {
            "title": "Vue d'ensemble",
            "tenant": tenant,
            "entries": config_entries(tenant.config),
            "raw_config": raw,
            "source_name": tenant.source.name,
            "advisories": advisories(tenant.config),
            "sections": sections,
            "counts": counts,
            "total": sum(counts.values()),
            "bars": bars,
            "locks_total": sum(bar.count for bar in bars),
            "chart": {"width": len(bars) * (BAR_WIDTH + BAR_GAP), "height": CHART_TOP + BAR_MAX_HEIGHT + 20,
                      "bar_width": BAR_WIDTH, "baseline": CHART_TOP + BAR_MAX_HEIGHT},
        })
