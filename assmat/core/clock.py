"""The one clock. Code asks `clock.now()`; tests freeze it instead of sleeping.

Dates people read (today's date on a form, a time in a mail or on a page) are in the tenant's
zone. The tenants are French authorities in metropolitan France and their configuration names
no zone, so every tenant's zone is PARIS, declared here and nowhere else.
"""

from __future__ import annotations

from collections.abc import Callable
from datetime import UTC, date, datetime
from zoneinfo import ZoneInfo

PARIS = ZoneInfo("Europe/Paris")

_now: Callable[[], datetime] = lambda: datetime.now(UTC)  # noqa: E731


def now() -> datetime:
    """Current time, timezone-aware UTC."""
    return _now()


def today(tz: ZoneInfo = PARIS) -> date:
    """Today's date where the tenant is (in Paris it turns at 22:00 or 23:00 UTC, not midnight)."""
    return now().astimezone(tz).date()


def local(value: datetime, tz: ZoneInfo = PARIS) -> datetime:
    """An aware datetime as the tenant's people read it."""
    return value.astimezone(tz)


def set_clock(source: Callable[[], datetime] | None) -> None:
    """Replace the clock (tests); None restores the system clock."""
    global _now
    _now = source or (lambda: datetime.now(UTC))
