"""FranceConnect's pages: the trip out (POST, from the login page or the activation's second
step), the return (`/franceconnect/retour`: a session, or a French page saying what happened
with a way back) and the return from its logout. Handlers read, call the service, answer."""

from __future__ import annotations

from starlette.exceptions import HTTPException
from starlette.requests import Request
from starlette.responses import RedirectResponse, Response
from starlette.routing import Route

from assmat.auth.franceconnect import service
from assmat.auth.franceconnect.client import FranceConnectFailed
from assmat.auth.franceconnect.service import (
    AlreadyLinked, IdentityMismatch, NotLinked, RequestInvalid, Unavailable,
)
from assmat.auth.guards import STEP_ROUTES, set_session_cookie
from assmat.auth.http import auth_context_for, token_page
from assmat.auth.sessions import close_session
from assmat.auth.session_middleware import SESSION_COOKIE
from assmat.core.i18n import gettext as _
from assmat.core.security.tokens import new_secret
from assmat.web import kit
from assmat.web.csrf import read_cookie
from assmat.web.kit import client_ip, database, page, redirect

BROWSER_COOKIE = "fc_navigateur"
CALLBACK = "/franceconnect/retour"
AFTER_LOGOUT = "/franceconnect/deconnecte"


def _offered(request: Request) -> None:
    if not service.offered(kit.tenant(request).config):
        raise HTTPException(404)


def _away(request: Request, url: str, browser_secret: str) -> Response:
    """To the provider, this browser marked by a secret only it holds (sent back on the return:
    SameSite=Lax lets a top-level GET carry it)."""
    response = RedirectResponse(url, status_code=303)
    response.set_cookie(BROWSER_COOKIE, browser_secret, max_age=int(service.REQUEST_TTL.total_seconds()), httponly=True,
                        samesite="lax", secure=request.app.state.settings.is_production, path="/franceconnect")
    return response


def _browser(request: Request) -> str:
    """This browser's secret: the one it already holds (a trip already under way in another
    tab), or a new one."""
    current = read_cookie(request.scope, BROWSER_COOKIE)
    return current if current and 20 <= len(current) <= 100 else new_secret()


def problem(request: Request, message: str, back: str, status: int = 400) -> Response:
    return token_page(request, page(request, "franceconnect_problem.html", {"message": message, "back": back}, status))


def unavailable_text() -> str:
    return _("FranceConnect is not available at the moment. Please try again later, or sign in with your identifier and password.")


async def sign_in(request: Request) -> Response:
    await kit.form(request)  # the CSRF token first, as on every form
    _offered(request)
    browser = _browser(request)
    async with database(request) as db:
        ctx = auth_context_for(request, db)
        try:
            url = await service.start(ctx, service.LOGIN, browser, ctx.url(CALLBACK))
        except FranceConnectFailed:
            return problem(request, unavailable_text(), "/connexion", 503)
    return _away(request, url, browser)


async def activate(request: Request) -> Response:
    """The activation's second step by FranceConnect (« Identifiez-vous via France Connect »)."""
    await kit.form(request)  # the CSRF token first, as on every form
    _offered(request)
    token = request.path_params["token"]
    browser = _browser(request)
    async with database(request) as db:
        ctx = auth_context_for(request, db)
        try:
            url = await service.start_link(ctx, token, browser, ctx.url(CALLBACK))
        except RequestInvalid:
            return token_page(request, page(request, "link_invalid.html", {}, 400))
        except Unavailable:
            return problem(request, _("FranceConnect is not available for MAM and relais accounts."), f"/activation/{token}")
        except FranceConnectFailed:
            return problem(request, unavailable_text(), f"/activation/{token}", 503)
    return _away(request, url, browser)


async def callback(request: Request) -> Response:
    """Back from FranceConnect: `code` and `state`, or `error` (and `error_description`)."""
    _offered(request)
    params = request.query_params
    async with database(request) as db:
        ctx = auth_context_for(request, db)
        try:
            trip = await service.claim(ctx, params.get("state"), read_cookie(request.scope, BROWSER_COOKIE),
                                       (service.LOGIN, service.LINK))
        except RequestInvalid:
            return problem(request, _(
                "This FranceConnect sign-in has expired, was already used, or was started in another browser. Please start again."
            ), "/connexion")
        back = "/activation" if trip.purpose == service.LINK else "/connexion"
        if params.get("error"):
            cancelled = params.get("error") == "access_denied"
            return problem(request, _("You cancelled the sign-in with FranceConnect.") if cancelled else _(
                "FranceConnect could not identify you. Please try again later, or use your identifier and password."
            ), back)
        try:
            outcome = await service.finish(ctx, trip, params.get("code"), ctx.url(CALLBACK), client_ip(request),
                                           request.headers.get("user-agent"))
        except RequestInvalid:
            return problem(request, _("This FranceConnect sign-in could not be completed. Please start again."), back)
        except FranceConnectFailed:
            return problem(request, unavailable_text(), back, 502)
        except NotLinked:
            return problem(request, _(
                "No account of this site is linked to this FranceConnect identity yet. To link it, activate your account: "
                "enter your personal identifier and your birth date, then choose « Identify yourself with FranceConnect »."
            ), "/activation")
        except IdentityMismatch:
            return problem(request, _(
                "The identity given by FranceConnect does not match this account (family name or birth date). "
                "The account was not linked. Check with your PMI service that the details of your file are right."
            ), "/activation")
        except AlreadyLinked:
            return problem(request, _("This FranceConnect identity is already linked to another account. Contact your PMI service."),
                           "/connexion")
        except Unavailable:
            return problem(request, _(
                "This account cannot be opened with FranceConnect: it is locked or disabled, or it is a MAM or relais account. "
                "Contact the site administrator."
            ), "/connexion")
        await close_session(db, ctx.tenant.slug, read_cookie(request.scope, SESSION_COOKIE))
        await db.commit()
    response = redirect(STEP_ROUTES[outcome.next_step] if outcome.next_step else "/espace")
    set_session_cookie(request, response, outcome.session_token)
    response.delete_cookie(BROWSER_COOKIE, path="/franceconnect")
    return response


async def after_logout(request: Request) -> Response:
    """Back from FranceConnect's logout: the local session ended before leaving."""
    _offered(request)
    async with database(request) as db:
        try:
            await service.claim(auth_context_for(request, db), request.query_params.get("state"),
                                read_cookie(request.scope, BROWSER_COOKIE), (service.LOGOUT,))
        except RequestInvalid:
            pass  # signed out here whatever the provider says
    response = redirect("/connexion", info="logged_out")
    response.delete_cookie(BROWSER_COOKIE, path="/franceconnect")
    return response


async def logout_away(request: Request, id_token: str) -> Response | None:
    """After the local session of a FranceConnect sign-in ended: to FranceConnect's logout,
    or None when it cannot be reached (the local logout stands)."""
    browser = _browser(request)
    async with database(request) as db:
        ctx = auth_context_for(request, db)
        try:
            url = await service.logout_url(ctx, id_token, browser, ctx.url(AFTER_LOGOUT))
        except FranceConnectFailed:
            return None
    response = _away(request, url, browser)
    return response


routes = [
    Route("/franceconnect/connexion", sign_in, methods=["POST"]),
    Route("/activation/{token}/franceconnect", activate, methods=["POST"]),
    Route(CALLBACK, callback),
    Route(AFTER_LOGOUT, after_logout),
]
