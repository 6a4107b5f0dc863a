"""What a user types to sign in, reduced to one canonical form per tenant identifier kind.

Case, surrounding and inner spaces and Unicode forms (NFKC: full-width digits, ligatures) all
collapse, so every variant of an identifier shares one account and one failure counter."""

from __future__ import annotations

import re
import unicodedata

from assmat.core.mail.address import address_key

MAX_IDENTIFIER_LENGTH = 254


def _canonical(raw: str) -> str:
    return unicodedata.normalize("NFKC", raw).strip()


def normalize_email(raw: object) -> str | None:
    """The lookup form of an email address, or None when it is not one (the shared rule of
    assmat.core.mail.address)."""
    return address_key(raw)


def normalize_identifier(kind: str, raw: object) -> str | None:
    """The canonical identifier, or None when `raw` cannot be one (the caller answers as for an
    unknown account, with the same work)."""
    if not isinstance(raw, str) or len(raw) > MAX_IDENTIFIER_LENGTH:
        return None
    value = _canonical(raw)
    if kind == "email":
        return normalize_email(value)
    value = re.sub(r"\s+", "", value)
    if not value:
        return None
    if kind == "pmi_number":
        return value if re.fullmatch(r"[0-9]{6}", value) else None
    if kind == "agrement_number":
        return value.upper() if re.fullmatch(r"[A-Za-z0-9./_-]{1,40}", value) else None
    # username
    return value.lower() if re.fullmatch(r"[\w.@+-]{1,150}", value) else None


def normalize_name(raw: str | None) -> str:
    """Names compared for identity checks: no accents, case, hyphens or extra spaces."""
    if not raw:
        return ""
    decomposed = unicodedata.normalize("NFKD", raw)
    letters = "".join(c for c in decomposed if not unicodedata.combining(c))
    return re.sub(r"[\s'’-]+", " ", letters).strip().casefold()
