"""« Faites votre demande d'habilitation en ligne » (seed 004): the status choice, the form with
its code to copy, the confirmation page, the online consent link; and the guard that keeps an
habilitated account to what the tenant grants. Only on tenants with an `habilitation` section.
The rules live in assmat.portal.habilitation.service; these views read the form, call it, render."""

from __future__ import annotations

from typing import Any

from starlette.requests import Request
from starlette.responses import RedirectResponse, Response
from starlette.routing import Route
from starlette.types import ASGIApp, Receive, Scope, Send

from assmat.auth.http import captcha_passes, new_captcha
from assmat.core.errors import Invalid, RateLimited
from assmat.core.i18n import gettext as _
from assmat.core.mail.links import mail_base_url
from assmat.portal.habilitation.service import (
    CIVILITIES,
    STATUSES,
    access_of,
    consent_request_of,
    give_consent_online,
    open_paths,
    submit_request,
)
from assmat.web import kit
from assmat.web.kit import client_ip, database, page, redirect
from assmat.web.templating import render

START = "/habilitation"
FORM = "/habilitation/demande"
DONE = "/habilitation/enregistree"
CONSENT = "/habilitation/consentement/{token}"
CAPTCHA_LENGTH = 4  # « A compléter obligatoirement (4 chiffres) »


def _statuses() -> list[tuple[str, str]]:
    return [(code, label()) for code, label in STATUSES.items()]


async def status_choice(request: Request) -> Response:
    """Step 3 of the guide: « Sélectionnez le statut … puis cliquez sur « Poursuivre » »."""
    kit.tenant(request, feature="habilitation")
    context: dict[str, Any] = {"statuses": _statuses(), "chosen": ""}
    if request.method == "GET":
        return page(request, "habilitation_status.html", context)
    form = await kit.form(request)
    chosen = form.get("statut", "")
    if chosen not in STATUSES:
        return page(request, "habilitation_status.html",
                    {**context, "error": _("Please select your status.")}, 400)
    return redirect(FORM, statut=chosen)


async def _form_page(request: Request, values: dict[str, str], *, field_errors: dict[str, str] | None = None,
                     error: str | None = None, captcha_error: str | None = None, status: int = 200) -> Response:
    return page(request, "habilitation_form.html", {
        "values": values, "field_errors": field_errors or {}, "error": error, "captcha_error": captcha_error,
        "civilities": CIVILITIES, "captcha_id": await new_captcha(request, CAPTCHA_LENGTH, digits=True),
    }, status)


async def request_form(request: Request) -> Response:
    """Step 4: the form, « Terminer la demande »; « Recommencer » draws a new code, the fields kept."""
    tenant = kit.tenant(request, feature="habilitation")
    if request.method == "GET":
        statut = request.query_params.get("statut", "")
        if statut not in STATUSES:
            return redirect(START)
        return await _form_page(request, {"statut": statut})
    form = await kit.form(request)
    if form.get("nouveau_captcha"):
        return await _form_page(request, form)
    if not await captcha_passes(request, form):
        message = _("The security code typed is incorrect.")
        return await _form_page(request, form, error=message, captcha_error=message, status=400)
    async with database(request) as db:
        try:
            await submit_request(db, tenant, form, ip=client_ip(request),
                                 base_url=mail_base_url(request.app.state.settings, tenant))
        except Invalid as refused:
            return await _form_page(request, form, field_errors=refused.field_errors, status=400)
        except RateLimited as refused:
            return await _form_page(request, form, error=refused.message, status=429)
        await db.commit()
    return redirect(DONE)


async def registered(request: Request) -> Response:
    """Step 5: « Votre demande a bien été enregistrée. Vous allez recevoir un courriel de confirmation. »"""
    kit.tenant(request, feature="habilitation")
    return page(request, "habilitation_done.html")


async def consent(request: Request) -> Response:
    """The online consent (habilitation.consent: online): the emailed single-use link."""
    tenant = kit.tenant(request, feature="habilitation")
    token = request.path_params["token"]
    async with database(request) as db:
        if request.method == "GET":
            found = await consent_request_of(db, tenant, token)
            response = page(request, "habilitation_consent.html", {"valid": found is not None},
                            200 if found is not None else 404)
        else:
            form = await kit.form(request)
            if form.get("accord") not in ("1", "on", "oui"):
                found = await consent_request_of(db, tenant, token)
                response = page(request, "habilitation_consent.html", {
                    "valid": found is not None, "error": _("Please tick the box to give your consent."),
                }, 400)
            elif await give_consent_online(db, tenant, token, ip=client_ip(request),
                                           base_url=mail_base_url(request.app.state.settings, tenant)):
                await db.commit()
                response = page(request, "habilitation_consent.html", {"valid": True, "given": True})
            else:
                response = page(request, "habilitation_consent.html", {"valid": False}, 404)
    response.headers["referrer-policy"] = "no-referrer"  # a token page
    return response


class HabilitationAccess:
    """Keeps an account activated by habilitation to the pages its tenant grants
    (service.access_of): the space's other pages answer 403 with the reason, « /espace » leads
    to the granted page; the menu shows only those (scope["habilitation_paths"], read by
    base.html). After AccountSessionMiddleware (it reads scope["account"])."""

    def __init__(self, app: ASGIApp):
        self.app = app

    async def __call__(self, scope: Scope, receive: Receive, send: Send) -> None:
        account, tenant = scope.get("account"), scope.get("tenant")
        if scope["type"] == "http" and account is not None and tenant is not None and tenant.config.habilitation:
            async with scope["app"].state.sessionmaker() as db:
                scope["habilitation_paths"] = paths = await open_paths(db, tenant, account)
                access = await access_of(db, tenant, account, scope["path"], paths)
            if access.redirect_to is not None:
                await RedirectResponse(access.redirect_to, status_code=303)(scope, receive, send)
                return
            if not access.allowed:
                response = render(Request(scope, receive), "habilitation_refused.html", {"message": access.message},
                                  status_code=403)
                response.headers["cache-control"] = "no-store"
                await response(scope, receive, send)
                return
        await self.app(scope, receive, send)


routes = [
    Route(START, status_choice, methods=["GET", "POST"]),
    Route(FORM, request_form, methods=["GET", "POST"]),
    Route(DONE, registered),
    Route(CONSENT, consent, methods=["GET", "POST"]),
]
