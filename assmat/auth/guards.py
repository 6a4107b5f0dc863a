"""Who is signed in, and where they must go first: the guards every signed-in page calls."""

from __future__ import annotations

from starlette.requests import Request
from starlette.responses import Response

from assmat.auth.models import Account
from assmat.auth.login import pending_step
from assmat.auth.session_middleware import SESSION_COOKIE
from assmat.web.csrf import read_cookie
from assmat.web.kit import Redirect, tenant

# The page of each pending step (auth.login.pending_step).
STEP_ROUTES = {"change_password": "/changement-mot-de-passe", "security_update": "/changement-mot-de-passe", "terms": "/conditions"}


def current_account(request: Request) -> Account | None:
    """The signed-in account on this tenant, or None (loaded by AccountSessionMiddleware).
    Another tenant's session is anonymous here."""
    return request.scope.get("account")


def signed_in(request: Request, *, step: str | None = None) -> Account:
    """The account; raises Redirect to the sign-in page, or to the step it must finish first
    (`step` names the step this page is for)."""
    account = current_account(request)
    if account is None:
        params = {"next": request.url.path}
        if read_cookie(request.scope, SESSION_COOKIE) is not None:
            params["info"] = "session_expired"
        raise Redirect("/connexion", **params)
    pending = pending_step(tenant(request), account)
    if pending != step and not (step == "change_password" and pending == "security_update"):
        raise Redirect(STEP_ROUTES[pending] if pending else "/espace")
    return account


def set_session_cookie(request: Request, response: Response, token: str) -> None:
    response.set_cookie(
        SESSION_COOKIE, token, httponly=True, samesite="lax", secure=request.app.state.settings.is_production, path="/"
    )


def clear_session_cookie(request: Request, response: Response) -> None:
    response.delete_cookie(SESSION_COOKIE, httponly=True, samesite="lax", secure=request.app.state.settings.is_production, path="/")
