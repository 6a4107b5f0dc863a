"""List filters for the console, in French, that never look outside the console's rows.

SQLAdmin's own lookup filters list the distinct values of a whole table (another tenant's event
types, its account ids…) and label their choices in English; their operation filter shows
English text that no catalog translates. These filters take the request's scope for their
choices and render French templates."""

from __future__ import annotations

from collections.abc import Callable
from datetime import UTC, datetime, time, timedelta
from typing import Any

from sqlalchemy import ColumnElement, Select, select
from starlette.requests import Request

from assmat.core.clock import PARIS
from assmat.admin.scoping import console_rows
from assmat.core.dates import parse_french_date

ALL = "__all"  # SQLAdmin's "no filter" value


class ChoiceFilter:
    """Fixed choices, each a label and the condition it selects."""

    has_operator = False
    template = "filters/choice_filter.html"

    def __init__(self, parameter_name: str, title: str, choices: dict[str, tuple[str, ColumnElement[bool]]]):
        self.parameter_name = parameter_name
        self.title = title
        self.choices = choices

    async def lookups(self, request: Request, model: Any, run_query: Callable) -> list[tuple[str, str]]:
        return [(value, label) for value, (label, _condition) in self.choices.items()]

    async def get_filtered_query(self, query: Select, value: Any, model: Any) -> Select:
        choice = self.choices.get(value)
        return query.where(choice[1]) if choice else query


class ValuesFilter:
    """The distinct values a column takes among the rows this console may see."""

    has_operator = False
    template = "filters/choice_filter.html"

    def __init__(self, column: Any, title: str, labels: dict[str, str] | None = None, parameter_name: str | None = None):
        self.column = column
        self.title = title
        self.labels = labels or {}
        self.parameter_name = parameter_name or column.key

    async def lookups(self, request: Request, model: Any, run_query: Callable) -> list[tuple[str, str]]:
        rows = await run_query(
            select(self.column).where(console_rows(model, request), self.column.is_not(None)).distinct().order_by(self.column)
        )
        return [(value, self.labels.get(value, value)) for (value,) in rows]

    async def get_filtered_query(self, query: Select, value: Any, model: Any) -> Select:
        if not isinstance(value, str) or not value or value == ALL:
            return query
        return query.where(self.column == value)


class TenantFilter:
    """The configured tenants (and the platform itself when `platform_label` is given)."""

    has_operator = False
    template = "filters/choice_filter.html"

    def __init__(self, column: Any, title: str = "Collectivité", platform_label: str | None = None):
        self.column = column
        self.title = title
        self.parameter_name = "tenant"
        self.platform_label = platform_label

    async def lookups(self, request: Request, model: Any, run_query: Callable) -> list[tuple[str, str]]:
        choices = [(slug, tenant.config.name) for slug, tenant in request.app.state.registry.tenants.items()]
        return choices + ([("-", self.platform_label)] if self.platform_label else [])

    async def get_filtered_query(self, query: Select, value: Any, model: Any) -> Select:
        if not isinstance(value, str) or not value or value == ALL:
            return query
        if value == "-" and self.platform_label:
            return query.where(self.column.is_(None))
        return query.where(self.column == value)


class TextFilter:
    """A free text, turned into a condition by `condition(text)`."""

    has_operator = False
    template = "filters/text_filter.html"

    def __init__(self, parameter_name: str, title: str, condition: Callable[[str], ColumnElement[bool]]):
        self.parameter_name = parameter_name
        self.title = title
        self.condition = condition

    async def lookups(self, request: Request, model: Any, run_query: Callable) -> list[tuple[str, str]]:
        return []

    async def get_filtered_query(self, query: Select, value: Any, model: Any) -> Select:
        text = value.strip()[:200] if isinstance(value, str) else ""
        return query.where(self.condition(text)) if text else query


class DateFilter:
    """Rows from a day (`since=True`) or until a day, inclusive, in French time."""

    has_operator = False
    template = "filters/date_filter.html"

    def __init__(self, column: Any, parameter_name: str, title: str, since: bool):
        self.column = column
        self.parameter_name = parameter_name
        self.title = title
        self.since = since

    async def lookups(self, request: Request, model: Any, run_query: Callable) -> list[tuple[str, str]]:
        return []

    async def get_filtered_query(self, query: Select, value: Any, model: Any) -> Select:
        day = parse_french_date(value) if isinstance(value, str) else None
        if day is None:
            return query
        if self.since:
            return query.where(self.column >= datetime.combine(day, time(), PARIS).astimezone(UTC))
        return query.where(self.column < datetime.combine(day + timedelta(days=1), time(), PARIS).astimezone(UTC))
