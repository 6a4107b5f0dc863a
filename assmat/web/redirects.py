"""Where a `next=` parameter may send the browser: local paths only."""

from __future__ import annotations

from urllib.parse import unquote, urlsplit


def safe_next(value: object, default: str = "/") -> str:
    """`value` if it is a path on this host, else `default`.

    Browsers drop tabs and newlines and read a backslash as a slash, so `//evil`, `/\\evil`
    and `/%09/evil` all leave the site: each is refused, raw and percent-decoded."""
    if not isinstance(value, str) or not value or len(value) > 2000:
        return default
    for candidate in (value, unquote(value)):
        if not candidate.startswith("/") or candidate[1:2] in ("/", "\\"):
            return default
        if any(ord(c) < 0x20 or c in "\\\x7f" for c in candidate):
            return default
    parts = urlsplit(value)
    if parts.scheme or parts.netloc:
        return default
    return value
