"""Dates as people type them on forms and on the command line: JJ/MM/AAAA."""

from __future__ import annotations

from datetime import date, datetime


def parse_french_date(value: str | None) -> date | None:
    """JJ/MM/AAAA (or the AAAA-MM-JJ of a date input); None when absent or malformed."""
    if not value:
        return None
    value = value.strip()
    for pattern in ("%d/%m/%Y", "%Y-%m-%d"):
        try:
            parsed = datetime.strptime(value, pattern).date()
        except ValueError:
            continue
        if 1900 <= parsed.year <= 2100:
            return parsed
    return None
