"""Typed domain errors; the web layer turns each into the tenant's wording."""

from __future__ import annotations

from assmat.core.errors import DomainError


class AuthError(DomainError):
    """Base of every account-flow refusal."""


class LoginFailed(AuthError):
    """Wrong identifier or password, or an account that cannot sign in: one generic answer."""


class CaptchaWrong(AuthError):
    """The security code typed is wrong: checked before the password, which is not verified."""


class AccountLocked(AuthError):
    """Raised only where the tenant reveals the locked state; otherwise LoginFailed."""


class TemporaryPasswordExpired(AuthError):
    """The right temporary password, too late: a new one must be asked for."""


class EmailNotConfirmed(AuthError):
    """The right password, but the address given at activation is not confirmed yet."""


class PasswordRejected(AuthError):
    """The new password breaks the tenant's rules; `messages` says which, one per rule."""

    def __init__(self, messages: list[str], field: str = "mot_de_passe"):
        super().__init__("; ".join(messages))
        self.messages = messages
        self.field = field


class WrongCurrentPassword(AuthError):
    """The current password given to change a password or an email is wrong."""


class TokenInvalid(AuthError):
    """Unknown, used, expired, revoked or another tenant's token: one answer for all."""


class RateLimited(AuthError):
    """Too many attempts for this identifier or address; try again later."""

    status = 429
