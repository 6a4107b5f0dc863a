"""The one clock: UTC instants, tenant-local dates, one declaration of the tenants' zone."""

from __future__ import annotations

from datetime import UTC, date, datetime
from pathlib import Path

from assmat.core import clock

ASSMAT = Path(__file__).resolve().parents[2] / "assmat"
# A revision never imports live code: 0005 keeps the zone it applied, frozen in its own text.
FROZEN_COPIES = {ASSMAT / "migrations" / "versions" / "0005_family_situation_declaration_dates.py"}


def test_today_is_the_tenants_date_not_utcs(frozen_clock):
    frozen_clock.now = datetime(2026, 12, 31, 22, 30, tzinfo=UTC)  # 23:30 in Paris (UTC+1)
    assert clock.now().date() == date(2026, 12, 31)
    assert clock.today() == date(2026, 12, 31)
    frozen_clock.advance(minutes=31)  # 00:01 on 1 January in Paris, still 31 December in UTC
    assert clock.now().date() == date(2026, 12, 31)
    assert clock.today() == date(2027, 1, 1)


def test_summer_time_moves_the_local_hour(frozen_clock):
    frozen_clock.now = datetime(2026, 7, 14, 21, 59, tzinfo=UTC)  # UTC+2 in summer
    assert clock.local(clock.now()).hour == 23
    assert clock.today() == date(2026, 7, 14)
    frozen_clock.advance(minutes=1)
    assert clock.today() == date(2026, 7, 15)


def test_the_zone_is_named_in_one_place():
    named = sorted(
        str(path.relative_to(ASSMAT)) for path in ASSMAT.rglob("*.py")
        if "Europe/Paris" in path.read_text(encoding="utf-8") and path not in FROZEN_COPIES
    )
    assert named == ["core/clock.py"]
