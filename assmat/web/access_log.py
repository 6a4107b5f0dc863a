"""Keep secrets out of the access log.

uvicorn logs every request's path and query string. Reset, activation, email-confirmation and
console set-password links carry their single-use token in the path, and a log is read by more
people, kept longer and copied further than the database that stores only the tokens' hashes.
`RedactTokens` rewrites the logged path before any handler sees it; `assmat serve` installs it
through uvicorn's logging configuration, so every worker process has it.
"""

from __future__ import annotations

import copy
import logging
import re
from typing import Any

REDACTED = "[redacted]"
# The routes whose next segment is a token (portal and console).
_TOKEN_ROUTE = re.compile(r"(/(?:reinitialisation|activation|confirmation-email|admin/mot-de-passe|habilitation/consentement)/)[^/?#\s]+")
# The OpenID Connect values FranceConnect's returns carry in the query string, whatever they look like.
_SECRET_PARAM = re.compile(r"([?&](?:code|state|id_token_hint)=)[^&#\s]+")
# Any other value that looks like a generated secret (secrets.token_urlsafe, signed values):
# 20+ URL-safe characters mixing letters and digits. Words of the routes have no digits.
_SECRET_LIKE = re.compile(r"(?<![A-Za-z0-9_\-.%])(?=[A-Za-z0-9_\-.%]*\d)(?=[A-Za-z0-9_\-.%]*[A-Za-z])[A-Za-z0-9_\-.%]{20,}")


# The address a parent searches from (`/recherche?adresse=…`, also carried encoded in a fiche's
# `retour`): hers, and no business of the log.
_PARENT_ADDRESS = re.compile(r"((?:[?&]|%3F|%26)adresse(?:=|%3D))(?:(?!%26)[^&#\s])*", re.I)


def redact(path: str) -> str:
    """`path` (with its query string) with every token, and a parent's address, replaced by REDACTED."""
    path = _TOKEN_ROUTE.sub(lambda m: m.group(1) + REDACTED, path)
    path = _PARENT_ADDRESS.sub(lambda m: m.group(1) + REDACTED, path)
    path = _SECRET_PARAM.sub(lambda m: m.group(1) + REDACTED, path)
    return _SECRET_LIKE.sub(REDACTED, path)


class RedactTokens(logging.Filter):
    """For uvicorn.access: its records carry (client, method, path, http version, status)."""

    def filter(self, record: logging.LogRecord) -> bool:
        args = record.args
        if isinstance(args, tuple) and len(args) >= 3 and isinstance(args[2], str):
            record.args = (*args[:2], redact(args[2]), *args[3:])
        elif isinstance(record.msg, str) and not args:
            record.msg = redact(record.msg)
        return True


def uvicorn_log_config() -> dict[str, Any]:
    """uvicorn's default logging configuration with the access log redacted."""
    from uvicorn.config import LOGGING_CONFIG

    config = copy.deepcopy(LOGGING_CONFIG)
    config.setdefault("filters", {})["redact_tokens"] = {"()": RedactTokens}
    config["loggers"]["uvicorn.access"]["filters"] = ["redact_tokens"]
    return config
