"""Searching a text inside a column with LIKE over a bound parameter: SQLAlchemy's `autoescape`
works only on a literal, and a statement built once (its values bound at each request) has none."""

from __future__ import annotations

LIKE_ESCAPE = "\\"


def contains_pattern(text: str) -> str:
    """The LIKE pattern of `text` anywhere in the value, its own wildcards matched as themselves
    (with `escape=LIKE_ESCAPE`): « 100% » finds « 100% », not « 1000 »."""
    escaped = text.replace(LIKE_ESCAPE, LIKE_ESCAPE * 2).replace("%", LIKE_ESCAPE + "%").replace("_", LIKE_ESCAPE + "_")
    return f"%{escaped}%"
