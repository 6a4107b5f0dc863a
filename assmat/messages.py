"""User-facing texts that a tenant may override by id (the YAML `messages:` section).

The msgids are English and translated through the Babel catalogs (French is the default
language); a tenant's override replaces the text in the tenant's own language only.
"""

from __future__ import annotations


def N_(message: str) -> str:
    """Mark a string for extraction without translating it now."""
    return message


MESSAGES: dict[str, str] = {
    # Login (seed 000: "Echec de l'authentification.")
    "login.failed": N_("Authentication failed."),
    "login.locked": N_("Your account is locked, please contact the administrator or your referent to unlock it."),
    "login.first_login": N_("This is your first login. You must change your password."),
    "login.security_update": N_("To secure your account, you must reset your password."),
    # Forgot password (seed 000 §3, seed 003)
    "reset.sent_temporary_password": N_("A new password has just been sent to you by email."),
    "reset.sent_generic": N_(
        "If the information provided is valid, an email will be sent to the address associated "
        "with your account. Please check your mailbox and click the link in this message to reset "
        "your password."
    ),
    "reset.unknown_identifier": N_("The identifier given does not match any account, please contact your PMI service."),
    "reset.email_mismatch": N_("The email associated with the account was not found."),
    "reset.locked": N_("Your account is locked, please contact the administrator or your referent to unlock it."),
    # Personal information (seed 001)
    "dashboard.personal_info_source": N_(
        "The information on this page comes from the business application of the early childhood "
        "care service. To have it corrected, please contact the administrative referent whose "
        "details appear on your approval certificate."
    ),
    # Mon agrément (seed 001 §2.2, seed 002)
    "agrement.read_only": N_(
        "All the information on this page comes from the département's business application. "
        "It can only be viewed: you cannot change it here."
    ),
    "agrement.situation_change_intro": N_(
        "If your situation changes or if you notice an error in this information, tell the département's "
        "services with the form below: they will make the correction."
    ),
    # Children hosted (seed 001)
    "children.legal_reminder": N_(
        "The law requires you to declare the children you host within 8 days and to give the parents' contact details."
    ),
}

MESSAGE_IDS = frozenset(MESSAGES)
