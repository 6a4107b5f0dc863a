"""Domain errors: what a service refuses, said once, without any HTTP.

Services raise them; the web chassis maps each family to its page and status in one place
(assmat.app), so a handler never builds an error response by hand. A handler still catches the
ones it answers in place (the form shown again with its message)."""

from __future__ import annotations


class DomainError(Exception):
    """A refusal; `status` is what an HTTP caller answers, `message` what the person reads."""

    status = 400

    def __init__(self, message: str | None = None):
        super().__init__(message or self.__class__.__name__)
        self.message = message


class NotFound(DomainError):
    status = 404


class Forbidden(DomainError):
    status = 403


class Invalid(DomainError):
    """Bad input: a message for the page and, by field name, the message for each field."""

    status = 400

    def __init__(self, message: str | None = None, field_errors: dict[str, str] | None = None):
        super().__init__(message)
        self.field_errors = field_errors or {}


class RateLimited(DomainError):
    status = 429
