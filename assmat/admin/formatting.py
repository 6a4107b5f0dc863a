"""How the console writes values for people: French dates in French time, "oui"/"non", details
of audit lines. One set of rules for lists, details pages and CSV exports."""

from __future__ import annotations

from datetime import date, datetime
from typing import Any

from markupsafe import Markup
from sqladmin.formatters import BASE_FORMATTERS

from assmat.core import clock

def fr_datetime(value: datetime) -> str:
    """In the tenant's time (assmat.core.clock): staff read times where they work."""
    return clock.local(value).strftime("%d/%m/%Y %H:%M")


def fr_date(value: date) -> str:
    return value.strftime("%d/%m/%Y")


def yes_no(value: bool) -> str:
    return "oui" if value else "non"


def excerpt(text: str, length: int = 80) -> str:
    """A long free text on one list line."""
    text = " ".join(text.split())
    return text if len(text) <= length else text[: length - 1] + "…"


def detail_text(detail: dict[str, Any] | None) -> str:
    """An audit line's detail as "key : value, …" (never a secret: audit.record refuses them)."""
    return ", ".join(f"{key} : {plain(value)}" for key, value in (detail or {}).items())


def plain(value: Any) -> str:
    """Any column value as text, the way the console shows it."""
    if value is None:
        return ""
    if isinstance(value, bool):
        return yes_no(value)
    if isinstance(value, datetime):
        return fr_datetime(value)
    if isinstance(value, date):
        return fr_date(value)
    if isinstance(value, dict):
        return detail_text(value)
    return str(value)


# SQLAdmin's defaults render booleans as bare icons (nothing for a screen reader) and dates in
# UTC, English style.
TYPE_FORMATTERS = {
    **BASE_FORMATTERS,
    type(None): lambda value: Markup(""),
    bool: yes_no,
    datetime: fr_datetime,
    date: fr_date,
    dict: detail_text,
}
