"""User-facing texts that a tenant may override by id (the YAML `messages:` section).

The msgids are English and translated through the Babel catalogs (French is the default
language); a tenant's override replaces the text in the tenant's own language only.
"""

from __future__ import annotations

from assmat.core.i18n import N_, gettext


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
    # Words of each seed's screens. A page passes its own default (already translated) where
    # it differs from the one here; a tenant's override replaces both.
    "login.title": N_("Reserved access"),
    "login.intro": N_("Please identify yourself."),
    "login.identifier_label": N_("Identifier"),
    "login.password_label": N_("Password"),
    "login.submit": N_("Sign in"),
    "login.forgot_lead": "",
    "login.forgot_link": N_("Forgot your password?"),
    "login.activation_link": N_("First login: activate my account"),
    "login.change_password_link": "",
    "login.required_hint": "",
    "login.help": "",
    "login.assistance_title": "",
    "login.assistance_text": "",
    "reset.title": N_("Forgot your password?"),
    "reset.intro": "",
    "reset.identifier_label": N_("Identifier"),
    "reset.email_label": N_("Email address"),
    "reset.submit": "",
    "reset.back_link": N_("Back to sign in"),
    "reset.sign_in_link": "",
    "new_password.title": "",
    "new_password.subtitle": "",
    "new_password.intro": "",
    "new_password.label": N_("New password"),
    "new_password.confirm_label": "",
    "new_password.submit": "",
    "new_password.cancel": "",
    "password.rules_intro": N_("Your password must meet the following rules:"),
    "password.not_compliant": "",
    "password.mismatch": N_("The password is not identical to the confirmation."),
    "change_password.title": N_("Change my password"),
    "change_password.current_label": N_("Current password"),
    "change_password.new_label": N_("New password"),
    "change_password.confirm_label": N_("Confirm the password"),
    "change_password.submit": N_("Save"),
    "change_password.back_link": "",
    "change_password.notice": "",
    "change_email.title": N_("Change my email address"),
    "change_email.submit": N_("Save"),
    "account.session_notice": "",
    "menu.sign_out": N_("Sign out"),
    "forced_change.notice": "",
    "terms.notice": "",
    "activation.forgot_link": N_("Already activated and forgot your password?"),
    "children.add_link": N_("Add a child"),
    "children.current_title": N_("Children currently hosted"),
    "captcha.legend": N_("Security code"),
    "captcha.intro": "",
    "captcha.label": N_("Copy the security code"),
    "captcha.reload": N_("Reload the security code"),
}

# Lines of the password checklist a tenant may word as its seed does (`password_rule.min_length`…):
# the tenant writes the whole line, numbers included, since its policy is fixed in the same file.
PASSWORD_RULE_CODES = (
    "min_length", "max_length", "uppercase", "lowercase", "letters", "digits", "special", "charset",
    "whitespace", "identifier", "history", "blocklist",
)
for _code in PASSWORD_RULE_CODES:
    MESSAGES[f"password_rule.{_code}"] = ""

MESSAGE_IDS = frozenset(MESSAGES)


def message_text(overrides: dict[str, str], locale: str, tenant_locale: str, message_id: str, default: str | None = None) -> str:
    """A text by id: the tenant's override when the page is in the tenant's language, else the
    given default (already translated), else the catalog's. An empty result means "not shown"."""
    if locale == tenant_locale and message_id in overrides:
        return overrides[message_id]
    if default is not None:
        return default
    catalog_default = MESSAGES[message_id]
    return gettext(catalog_default) if catalog_default else ""
