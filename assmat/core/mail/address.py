"""The one rule for an email address, shared by every form, the import, the console, the CLI and
the mailer: an address accepted anywhere is an address the mailer can send to.

Before this rule was shared, the import stored `<bad@example.org>` and `a,b@x.org`, which the
mailer then refused, in the middle of a lock. The rule is deliberately narrow: one plain ASCII
address (RFC 5321 dot-atom local part, a domain of letters, digits and hyphens with a top-level
domain of letters), no display name, no list, no comment, no quoted local part."""

from __future__ import annotations

import re
import unicodedata

MAX_LENGTH = 254  # RFC 5321 path limit
MAX_LOCAL_LENGTH = 64

_ATOM = r"[A-Za-z0-9!#$%&'*+/=?^_`{|}~-]+"
_LABEL = r"[A-Za-z0-9](?:[A-Za-z0-9-]{0,61}[A-Za-z0-9])?"
_ADDRESS = re.compile(rf"(?P<local>{_ATOM}(?:\.{_ATOM})*)@(?:{_LABEL}\.)+[A-Za-z]{{2,63}}")


def plain_address(raw: object) -> str | None:
    """`raw` as one plain address (Unicode-normalised, surrounding spaces removed), or None."""
    if not isinstance(raw, str) or len(raw) > 4 * MAX_LENGTH:
        return None
    value = unicodedata.normalize("NFKC", raw).strip()
    if len(value) > MAX_LENGTH:
        return None
    match = _ADDRESS.fullmatch(value)
    if match is None or len(match.group("local")) > MAX_LOCAL_LENGTH:
        return None
    return value


def address_key(raw: object) -> str | None:
    """The lookup form of an address (lower case), or None when `raw` is not one."""
    value = plain_address(raw)
    return value.lower() if value is not None else None
