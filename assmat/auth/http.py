"""Account pages: sign in and out, first login, terms, forgot password, activation,
my account. Each view reads a safe form, calls the tenant's account flows, and answers with
the tenant's wording: 303 to the next page on success, 400 (429 when throttled) with the
message otherwise."""

from __future__ import annotations

from typing import Any

from sqlalchemy.ext.asyncio import AsyncSession
from starlette.exceptions import HTTPException
from starlette.requests import Request
from starlette.responses import Response
from starlette.routing import Route

from assmat.auth import captcha
from assmat.core.security import audit
from assmat.core.security.audit import EventType
from assmat.auth.errors import (
    AccountLocked,
    CaptchaWrong,
    EmailNotConfirmed,
    LoginFailed,
    PasswordRejected,
    RateLimited,
    TemporaryPasswordExpired,
    TokenInvalid,
    WrongCurrentPassword,
)
from assmat.auth.identifiers import normalize_email
from assmat.auth.lockout import lock_duration_words
from assmat.auth.policy import rules_as_json
from assmat.core.security.ratelimit import CAPTCHA_FORM, CAPTCHA_ISSUE
from assmat.auth import activation as activation_flow, credentials, deletion, recovery, registration
from assmat.core.errors import Invalid
from assmat.auth.franceconnect import service as franceconnect
from assmat.auth.context import AuthContext, auth_context
from assmat.auth.login import Attempt, PortalDoor, pending_step, sign_in
from assmat.auth.sessions import close_session, open_session
from assmat.core.i18n import gettext as _
from assmat.tenants.loader import Tenant
from assmat.web.csrf import read_cookie
from assmat.core.dates import parse_french_date
from assmat.web.redirects import safe_next
from assmat.auth.session_middleware import SESSION_COOKIE
from assmat.web.templating import tenant_text
from assmat.web import kit
from assmat.auth.guards import STEP_ROUTES, clear_session_cookie, current_account, set_session_cookie, signed_in
from assmat.web.kit import client_ip, database, page, redirect, register_notices


# Short notices shown after a redirect, by code: nothing user-supplied is ever echoed.
register_notices(**{
    "logged_out": lambda t: _("You are signed out."),
    "session_expired": lambda t: _("Your session has ended. Please sign in again."),
    "reset_sent": lambda t: reset_sent_text(t, "reset.sent_temporary_password"),
    "reset_link_sent": lambda t: reset_sent_text(t, "reset.sent_generic"),
    "password_changed": lambda t: _("Your password has been changed. Sign in with your new password."),
    "temporary_password_spent": lambda t: _(
        "Your temporary password is no longer valid: it has expired, or a new password has already replaced it. "
        "Sign in with your password, or ask for a new one with « Forgot your password? »."
    ),
    "activation_sent": lambda t: _(
        "If the information matches an account, an email has been sent to the address given with a link to set your password."
    ),
    "activation_done": lambda t: _("Your account is activated. Sign in with your identifier and your new password."),
    "email_confirmation_sent": lambda t: _(
        "Your password is saved. A confirmation email has been sent: click the link it contains to finish creating your account."
    ),
    "email_change_sent": lambda t: _("A confirmation link has been sent to the new address. The change applies once you click it."),
    "email_changed": lambda t: _("Your email address has been updated."),
    "email_confirmed": lambda t: _("Your email address is confirmed. You can sign in."),
})

REGISTER = "/creer-mon-compte"
REGISTER_SENT = "/creer-mon-compte/envoye"
DELETE_ACCOUNT = "/espace/compte/suppression"
ACCOUNT_DELETED = "/compte-supprime"


# -- what a lock means on this tenant -------------------------------------------------------------
# Each text says what is true for the tenant's lockout (for good, or for how long), within its
# reveal_locked_state choice: a tenant that hides the lock keeps one answer for every failure,
# but that answer must stay true for a locked account too.


def login_failed_text(tenant: Tenant) -> str:
    """The one answer to every failed login."""
    text = tenant_text(tenant, "login.failed")
    lockout = tenant.config.lockout
    if lockout.reveal_locked_state:
        return text  # a locked account gets its own message
    duration = lock_duration_words(lockout)
    if duration is None:
        hint = _("After %(count)s failed attempts, the account is locked until an administrator unlocks it.")
    else:
        hint = _("After %(count)s failed attempts, the account is locked for %(duration)s.")
    return f"{text} {hint % {'count': lockout.max_failures, 'duration': duration}}"


def login_locked_text(tenant: Tenant) -> str:
    """For a tenant that reveals the lock (the Gers' words for a lock that staff lift)."""
    duration = lock_duration_words(tenant.config.lockout)
    if duration is None or "login.locked" in tenant.config.messages:
        return tenant_text(tenant, "login.locked")
    return _("Your account is locked for %(duration)s after repeated failed attempts. Try again later.") % {
        "duration": duration
    }


def reset_locked_text(tenant: Tenant) -> str:
    duration = lock_duration_words(tenant.config.lockout)
    if duration is None or "reset.locked" in tenant.config.messages:
        return tenant_text(tenant, "reset.locked")
    return _(
        "Your account is locked for %(duration)s after repeated failed attempts: no new password can be sent "
        "until then. Try again later."
    ) % {"duration": duration}


def reset_sent_text(tenant: Tenant | None, message_id: str) -> str:
    """The answer to a reset request. A locked account gets no mail where resets are refused
    when locked; where that is not said explicitly, the generic answer says it."""
    text = tenant_text(tenant, message_id)
    if tenant is None:
        return text
    reset, lockout = tenant.config.password_reset, tenant.config.lockout
    if reset.allowed_when_locked or (reset.reveal_unknown_account and lockout.reveal_locked_state):
        return text
    duration = lock_duration_words(lockout)
    if duration is None:
        caveat = _("No email is sent for an account locked after repeated failed attempts: contact the administrator to unlock it.")
    else:
        caveat = _(
            "No email is sent for an account locked after repeated failed attempts: the lock lasts %(duration)s, then try again."
        ) % {"duration": duration}
    return f"{text} {caveat}"


# -- plumbing ------------------------------------------------------------------------------------


def auth_context_for(request: Request, db: AsyncSession) -> AuthContext:
    return auth_context(db, kit.tenant(request), request.app.state.hasher, request.app.state.settings)


def password_rules(tenant: Tenant) -> list[dict[str, Any]]:
    """The checklist, each line in the tenant's seed wording where its YAML gives one."""
    return [
        {**rule, "label": tenant_text(tenant, f"password_rule.{rule['code']}", rule["label"])}
        for rule in rules_as_json(tenant.config.password_policy)
    ]


async def new_captcha(request: Request, length: int = captcha.DEFAULT_LENGTH, digits: bool = False) -> str:
    """A new challenge for the page; 429 once this client has asked for too many."""
    tenant = kit.tenant(request)
    async with database(request) as db:
        if not await CAPTCHA_ISSUE.hit(db, tenant.slug, f"ip:{client_ip(request)}"):
            await db.commit()
            raise HTTPException(429)
        challenge = await captcha.new_challenge(db, tenant.slug, request.app.state.settings.effective_secret_key,
                                                length, digits)
        await db.commit()
    return challenge


async def captcha_passes(request: Request, form: dict[str, str]) -> bool:
    """Whether the form's captcha was answered; 429 once this client has submitted too many
    forms with a captcha (counted before the check, right or wrong)."""
    tenant = kit.tenant(request)
    async with database(request) as db:
        if not await CAPTCHA_FORM.hit(db, tenant.slug, f"ip:{client_ip(request)}"):
            await db.commit()
            raise HTTPException(429)
        ok = await captcha.check_challenge(
            db, tenant.slug, request.app.state.settings.effective_secret_key, form.get("captcha_id", ""), form.get("captcha", "")
        )
        await db.commit()
    return ok


# -- sign in / out -------------------------------------------------------------------------------


async def login_page(
    request: Request, form: dict[str, str] | None = None, error: str | None = None, status: int = 200, captcha_error: bool = False
) -> Response:
    tenant = kit.tenant(request)
    context: dict[str, Any] = {
        "identifier": (form or {}).get("identifiant", ""),
        "next": safe_next((form or {}).get("next") or request.query_params.get("next"), ""),
        "error": error,
        "captcha_error": error if captcha_error else None,
    }
    if tenant.config.login.captcha:
        context["captcha_id"] = await new_captcha(request)
    return page(request, "login.html", context, status)


async def login(request: Request) -> Response:
    tenant = kit.tenant(request)
    if request.method == "GET":
        if current_account(request) is not None:
            return redirect("/espace")
        return await login_page(request)
    form = await kit.form(request)
    if form.get("nouveau_captcha"):
        return await login_page(request, form)
    attempt = Attempt(
        form.get("identifiant", ""), form.get("mot_de_passe", ""), client_ip(request), request.headers.get("user-agent"),
        captcha_id=form.get("captcha_id", ""), captcha_answer=form.get("captcha", ""),
        previous_session=read_cookie(request.scope, SESSION_COOKIE),
    )
    async with database(request) as db:
        try:
            outcome = await sign_in(PortalDoor(auth_context_for(request, db)), attempt)
        except RateLimited:
            raise HTTPException(429) from None
        except CaptchaWrong:
            return await login_page(request, form, _("The security code typed is incorrect."), 400, captcha_error=True)
        except AccountLocked:
            return await login_page(request, form, login_locked_text(tenant), 400)
        except TemporaryPasswordExpired:
            return await login_page(request, form, _(
                "This temporary password has expired: ask for a new one with « Forgot your password? »."
            ), 400)
        except EmailNotConfirmed:
            return await login_page(request, form, _(
                "You must confirm your email address first: a new confirmation link has just been sent to you."
            ), 400)
        except LoginFailed:
            return await login_page(request, form, login_failed_text(tenant), 400)
    pending = outcome.next_step
    target = STEP_ROUTES[pending] if pending else safe_next(form.get("next"), "/espace")
    response = redirect(target)
    set_session_cookie(request, response, outcome.session_token)
    return response


async def logout(request: Request) -> Response:
    tenant = kit.tenant(request)
    form = await kit.form(request)
    token = read_cookie(request.scope, SESSION_COOKIE)
    account = current_account(request)
    async with database(request) as db:
        # A FranceConnect sign-in ends at FranceConnect too; its ID token goes with the session.
        id_token = await franceconnect.session_id_token(auth_context_for(request, db), token) if account else None
        await close_session(db, tenant.slug, token)
        if account is not None:
            await audit.record(db, tenant.slug, EventType.LOGOUT, account_id=account.id, ip=client_ip(request))
        await db.commit()
    away = await franceconnect_logout(request, id_token) if id_token and franceconnect.offered(tenant.config) else None
    response = away or redirect("/connexion", info="logged_out")
    clear_session_cookie(request, response)
    return response


async def franceconnect_logout(request: Request, id_token: str) -> Response | None:
    from assmat.auth.franceconnect.http import logout_away  # its pages build on these

    return await logout_away(request, id_token)


# -- first login: forced password change, terms ---------------------------------------------------


async def forced_change(request: Request) -> Response:
    tenant = kit.tenant(request)
    account = signed_in(request, step="change_password")
    reason = "security_update" if account.needs_security_update and not account.must_change_password else "first_login"
    context = {"rules": password_rules(tenant), "reason": reason}
    if request.method == "GET":
        return page(request, "forced_change.html", context)
    form = await kit.form(request)
    async with database(request) as db:
        ctx = auth_context_for(request, db)
        try:
            await credentials.change_forced_password(ctx,
                account, form.get("mot_de_passe"), form.get("confirmation"), client_ip(request), reason=reason
            )
        except PasswordRejected as exc:
            return page(request, "forced_change.html", {**context, "errors": exc.messages, "error_field": exc.field}, 400)
        except TokenInvalid:
            # The temporary password expired, or a parallel change already replaced it.
            await close_session(db, tenant.slug, read_cookie(request.scope, SESSION_COOKIE))
            await db.commit()
            response = redirect("/connexion", info="temporary_password_spent")
            clear_session_cookie(request, response)
            return response
        # Every session ended with the change; this browser gets a fresh one.
        token = await open_session(
            db, account, tenant.config.session.absolute_timeout, client_ip(request), request.headers.get("user-agent")
        )
        await db.commit()
        refreshed = await ctx.get(account.id)
        pending = pending_step(tenant, refreshed) if refreshed else None
    response = redirect(STEP_ROUTES[pending] if pending else "/espace")
    set_session_cookie(request, response, token)
    return response


async def terms(request: Request) -> Response:
    kit.tenant(request)
    account = signed_in(request, step="terms")
    if request.method == "GET":
        return page(request, "accept_terms.html")
    form = await kit.form(request)
    if form.get("accepter") not in ("1", "on", "oui"):
        return page(request, "accept_terms.html", {"error": _("You must accept the terms of use to continue.")}, 400)
    async with database(request) as db:
        await credentials.accept_terms(auth_context_for(request, db), account, client_ip(request))
    return redirect("/espace")


# -- forgot password --------------------------------------------------------------------------------

# The options of seed 002's form (« sélectionnez l'option « une maison d'assistant maternel » »).
ACCOUNT_KIND_LABELS = {
    "assistant": lambda: _("a childminder"),
    "mam": lambda: _("a childminders' house (MAM)"),
    "ram": lambda: _("a childminders' relay (RAM)"),
}


async def forgot_page(
    request: Request, form: dict[str, str] | None = None, error: str | None = None, status: int = 200, captcha_error: bool = False
) -> Response:
    tenant = kit.tenant(request)
    context: dict[str, Any] = {"values": form or {}, "error": error, "captcha_error": error if captcha_error else None}
    if tenant.config.password_reset.captcha:
        context["captcha_id"] = await new_captcha(request)
    context["account_kinds"] = [(kind, ACCOUNT_KIND_LABELS[kind]()) for kind in recovery.account_kinds(tenant.config)]
    return page(request, "forgot_password.html", context, status)


async def forgot_password(request: Request) -> Response:
    tenant = kit.tenant(request)
    if request.method == "GET":
        return await forgot_page(request)
    form = await kit.form(request)
    if form.get("nouveau_captcha"):
        return await forgot_page(request, form)
    reset = tenant.config.password_reset
    if reset.captcha and not await captcha_passes(request, form):
        return await forgot_page(request, form, _("The security code typed is incorrect."), 400, captcha_error=True)
    missing = [f for f, name in (("identifier", "identifiant"), ("email", "email")) if f in reset.identify_by and not form.get(name, "").strip()]
    if missing:
        return await forgot_page(request, form, _("Please fill in every field."), 400)
    kinds = recovery.account_kinds(tenant.config)
    kind = form.get("type_compte") or "assistant"  # the option checked by default
    if kinds and kind not in kinds:
        return await forgot_page(request, form, _("Please choose the kind of your account."), 400)
    async with database(request) as db:
        ctx = auth_context_for(request, db)
        outcome = await recovery.request_reset(ctx, form.get("identifiant"), form.get("email"), client_ip(request),
                                               kind=kind)
    sent_code = "reset_sent" if reset.mode == "temporary_password" else "reset_link_sent"
    if reset.reveal_unknown_account and outcome.status != "sent":
        # The tenant chose the seed's explicit messages (the Gers).
        explicit = {
            "unknown_identifier": tenant_text(tenant, "reset.unknown_identifier"),
            "email_mismatch": tenant_text(tenant, "reset.email_mismatch"),
        }
        if tenant.config.lockout.reveal_locked_state:
            explicit["locked"] = reset_locked_text(tenant)
        if outcome.status in explicit:
            return await forgot_page(request, form, explicit[outcome.status], 400)
    return redirect("/connexion", info=sent_code)


async def reset_with_link(request: Request) -> Response:
    tenant = kit.tenant(request)
    token = request.path_params["token"]
    async with database(request) as db:
        ctx = auth_context_for(request, db)
        account = await recovery.reset_token_account(ctx, token)
        if account is None:
            return token_page(request, page(request, "link_invalid.html", {}, 400))
        context = {"rules": password_rules(tenant)}
        if request.method == "GET":
            return token_page(request, page(request, "reset_password.html", context))
        form = await kit.form(request)
        try:
            await recovery.reset_with_token(ctx, token, form.get("mot_de_passe"), form.get("confirmation"), client_ip(request))
        except PasswordRejected as exc:
            return token_page(request, page(request, "reset_password.html", {**context, "errors": exc.messages, "error_field": exc.field}, 400))
        except TokenInvalid:
            return token_page(request, page(request, "link_invalid.html", {}, 400))
    return redirect("/connexion", info="password_changed")


def token_page(request: Request, response: Response) -> Response:
    # The token is in the URL: it must not leak to another site through the Referer header.
    response.headers["referrer-policy"] = "no-referrer"
    response.headers["cache-control"] = "no-store"
    return response


# -- activation ------------------------------------------------------------------------------------


async def activation(request: Request) -> Response:
    tenant = kit.tenant(request)
    mode = tenant.config.activation.mode
    template = f"activation_{mode}.html"
    if request.method == "GET":
        return page(request, template, {"values": {}})
    if mode == "letter":
        raise HTTPException(405)
    form = await kit.form(request)
    fields = set(tenant.config.activation.identity_fields or []) if mode == "identity_check" else {"birth_date"}
    birth_date = parse_french_date(form.get("date_naissance")) if "birth_date" in fields else None
    errors = []
    if not form.get("identifiant", "").strip():
        errors.append(_("Please enter your identifier."))
    if "birth_date" in fields and birth_date is None:
        errors.append(_("The birth date must be written DD/MM/YYYY."))
    if "last_name" in fields and not form.get("nom", "").strip():
        errors.append(_("Please enter your last name."))
    if "first_name" in fields and not form.get("prenom", "").strip():
        errors.append(_("Please enter your first name."))
    if "email" in fields and normalize_email(form.get("email")) is None:
        errors.append(_("Please enter a valid email address."))
    if errors:
        return page(request, template, {"values": form, "errors": errors}, 400)
    async with database(request) as db:
        ctx = auth_context_for(request, db)
        try:
            if mode == "identity_check":
                await activation_flow.activation_by_identity(ctx,
                    form.get("identifiant"), form.get("nom"), form.get("prenom"), birth_date, form.get("email"), client_ip(request)
                )
                return redirect("/connexion", info="activation_sent")
            token = await activation_flow.activation_by_pmi_number(ctx, form.get("identifiant"), birth_date, client_ip(request))
        except RateLimited:
            return page(request, template, {"values": form, "errors": [_(
                "Too many attempts for this identifier. Please try again in an hour."
            )]}, 429)
    if token is None:
        return page(request, template, {"values": form, "errors": [_(
            "These details do not allow an account to be activated. Check them, or contact your PMI service."
        )]}, 400)
    return redirect(f"/activation/{token}")


async def activation_link(request: Request) -> Response:
    tenant = kit.tenant(request)
    token = request.path_params["token"]
    async with database(request) as db:
        ctx = auth_context_for(request, db)
        found = await activation_flow.activation_token(ctx, token)
        if found is None:
            return token_page(request, page(request, "link_invalid.html", {}, 400))
        row, _account = found
        context = {"rules": password_rules(tenant), "ask_email": row.purpose == "activation_step2", "values": {},
                   "franceconnect": franceconnect.offered_at_activation(tenant.config) and franceconnect.may_use(_account)}
        if request.method == "GET":
            return token_page(request, page(request, "activation_password.html", context))
        form = await kit.form(request)
        try:
            await activation_flow.complete_activation(ctx, token, form.get("mot_de_passe"), form.get("confirmation"), form.get("email"), client_ip(request))
        except PasswordRejected as exc:
            return token_page(request, page(request, "activation_password.html", {
                **context, "values": {"email": form.get("email", "")}, "errors": exc.messages, "error_field": exc.field,
            }, 400))
        except TokenInvalid:
            return token_page(request, page(request, "link_invalid.html", {}, 400))
    if context["ask_email"] and tenant.config.activation.email_confirmation:
        return redirect("/connexion", info="email_confirmation_sent")
    return redirect("/connexion", info="activation_done")


async def confirm_email(request: Request) -> Response:
    """Links in emails are opened by mail scanners too: GET shows a button, POST applies."""
    kit.tenant(request)
    token = request.path_params["token"]
    if request.method == "GET":
        async with database(request) as db:
            live = await credentials.email_token_is_live(auth_context_for(request, db), token)
        if not live:
            return token_page(request, page(request, "link_invalid.html", {}, 400))
        return token_page(request, page(request, "confirm_email.html"))
    form = await kit.form(request)
    async with database(request) as db:
        ctx = auth_context_for(request, db)
        try:
            account = await credentials.confirm_email(ctx, token, client_ip(request))
        except TokenInvalid:
            return token_page(request, page(request, "link_invalid.html", {}, 400))
    signed = current_account(request)
    if signed is not None and signed.id == account.id:
        return redirect("/espace/compte/email", info="email_changed")
    return redirect("/connexion", info="email_confirmed")


# -- my account ---------------------------------------------------------------------------------------


async def account_page(request: Request) -> Response:
    """« Mon compte » (seed 001 §2.5): personal information and every account flow."""
    tenant = kit.tenant(request)
    account = signed_in(request)
    idle_minutes = int(tenant.config.session.idle_timeout.total_seconds() // 60)
    return page(request, "account.html", {"account": account, "idle_minutes": idle_minutes})


async def change_password(request: Request) -> Response:
    tenant = kit.tenant(request)
    account = signed_in(request)
    context = {"rules": password_rules(tenant), "account": account}
    if request.method == "GET":
        return page(request, "change_password.html", context)
    form = await kit.form(request)
    async with database(request) as db:
        ctx = auth_context_for(request, db)
        try:
            await credentials.change_password(ctx,
                account, form.get("mot_de_passe_actuel", ""), form.get("mot_de_passe"), form.get("confirmation"), client_ip(request)
            )
        except WrongCurrentPassword:
            return page(request, "change_password.html", {**context, "errors": [_("The current password is incorrect.")],
                                                           "error_field": "mot_de_passe_actuel"}, 400)
        except PasswordRejected as exc:
            return page(request, "change_password.html", {**context, "errors": exc.messages, "error_field": exc.field}, 400)
    # Every session ended, this one too: the user signs in again with the new password (seed 001).
    response = redirect("/connexion", info="password_changed")
    clear_session_cookie(request, response)
    return response


async def change_email(request: Request) -> Response:
    account = signed_in(request)
    context = {"account": account, "values": {}}
    if request.method == "GET":
        return page(request, "change_email.html", context)
    form = await kit.form(request)
    async with database(request) as db:
        ctx = auth_context_for(request, db)
        try:
            await credentials.request_email_change(ctx, account, form.get("mot_de_passe_actuel", ""), form.get("email"), client_ip(request))
        except WrongCurrentPassword:
            return page(request, "change_email.html", {**context, "values": form, "errors": [_("The current password is incorrect.")],
                                                        "error_field": "mot_de_passe_actuel"}, 400)
        except PasswordRejected as exc:
            return page(request, "change_email.html", {**context, "values": form, "errors": exc.messages, "error_field": exc.field}, 400)
    return redirect("/espace/compte/email", info="email_change_sent")


# -- family accounts: « Créer mon compte famille », « Supprimer mon compte » ------------------------


def _signup_open(request: Request) -> Tenant:
    tenant = kit.tenant(request)
    if not (tenant.config.features.parents and tenant.config.families.signup):
        raise HTTPException(404)
    return tenant


async def register_page(request: Request, values: dict[str, str], *, field_errors: dict[str, str] | None = None,
                        error: str | None = None, captcha_error: str | None = None, status: int = 200) -> Response:
    tenant = kit.tenant(request)
    context: dict[str, Any] = {
        "values": values, "field_errors": field_errors or {}, "error": error, "captcha_error": captcha_error,
        "rules": password_rules(tenant), "asks_identifier": registration.asks_identifier(tenant.config),
    }
    if tenant.config.families.captcha:
        context["captcha_id"] = await new_captcha(request)
    return page(request, "register.html", context, status)


async def register(request: Request) -> Response:
    """« Créer mon compte famille »: the form; after it, one answer whatever the address."""
    tenant = _signup_open(request)
    if request.method == "GET":
        if current_account(request) is not None:
            return redirect("/espace")
        return await register_page(request, {})
    form = await kit.form(request)
    kept = {key: form.get(key, "") for key in ("nom", "prenom", "email", "email_confirmation", "identifiant")}
    if form.get("nouveau_captcha"):
        return await register_page(request, kept)
    if tenant.config.families.captcha and not await captcha_passes(request, form):
        message = _("The security code typed is incorrect.")
        return await register_page(request, kept, error=message, captcha_error=message, status=400)
    new = registration.Registration(
        last_name=" ".join(form.get("nom", "").split()), first_name=" ".join(form.get("prenom", "").split()),
        email=form.get("email", "").strip(), email_confirmation=form.get("email_confirmation", "").strip(),
        password=form.get("mot_de_passe", ""), confirmation=form.get("confirmation", ""),
        identifier=form.get("identifiant", ""), accepts_terms=form.get("conditions") in ("1", "on", "oui"),
    )
    async with database(request) as db:
        try:
            await registration.register(auth_context_for(request, db), new, client_ip(request))
        except Invalid as refused:
            return await register_page(request, kept, field_errors=refused.field_errors, error=refused.message, status=400)
        except RateLimited:
            return await register_page(request, kept, error=_(
                "Too many accounts were requested from this connection. Please try again in an hour."), status=429)
    return redirect(REGISTER_SENT)


async def register_sent(request: Request) -> Response:
    _signup_open(request)
    return page(request, "register_sent.html")


async def delete_account(request: Request) -> Response:
    """« Supprimer mon compte »: a family account, confirmed by its password."""
    tenant = kit.tenant(request)
    account = signed_in(request)
    if not deletion.may_delete(account):
        raise HTTPException(404)
    if request.method == "GET":
        return page(request, "delete_account.html", {"account": account})
    form = await kit.form(request)
    async with database(request) as db:
        try:
            await deletion.delete_own_account(auth_context_for(request, db), account, form.get("mot_de_passe_actuel", ""),
                                              client_ip(request))
        except WrongCurrentPassword:
            return page(request, "delete_account.html", {"account": account, "error": _("The current password is incorrect.")}, 400)
    response = redirect(ACCOUNT_DELETED)
    clear_session_cookie(request, response)
    return response


async def account_deleted(request: Request) -> Response:
    kit.tenant(request)
    return page(request, "account_deleted.html")


routes = [
    Route(REGISTER, register, methods=["GET", "POST"]),
    Route(REGISTER_SENT, register_sent),
    Route(DELETE_ACCOUNT, delete_account, methods=["GET", "POST"]),
    Route(ACCOUNT_DELETED, account_deleted),
    Route("/connexion", login, methods=["GET", "POST"], name="login"),
    Route("/deconnexion", logout, methods=["POST"], name="logout"),
    Route("/changement-mot-de-passe", forced_change, methods=["GET", "POST"]),
    Route("/conditions", terms, methods=["GET", "POST"]),
    Route("/mot-de-passe-oublie", forgot_password, methods=["GET", "POST"]),
    Route("/reinitialisation/{token}", reset_with_link, methods=["GET", "POST"]),
    Route("/activation", activation, methods=["GET", "POST"]),
    Route("/activation/{token}", activation_link, methods=["GET", "POST"]),
    Route("/confirmation-email/{token}", confirm_email, methods=["GET", "POST"]),
    Route("/espace/compte", account_page),
    Route("/espace/compte/mot-de-passe", change_password, methods=["GET", "POST"]),
    Route("/espace/compte/email", change_email, methods=["GET", "POST"]),
]
