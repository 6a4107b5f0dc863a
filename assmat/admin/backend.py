"""SQLAdmin authentication for the consoles: our own server-side sessions, CSRF on login.

SQLAdmin's AuthenticationBackend installs a second SessionMiddleware that clashes with the
app's (stack.md): it is removed, and the console identity lives in the one session store
(`assmat.auth.sessions`), under its own cookie."""

from __future__ import annotations

from sqladmin.authentication import AuthenticationBackend
from starlette.exceptions import HTTPException
from starlette.requests import Request
from starlette.responses import RedirectResponse, Response

from assmat.auth.errors import LoginFailed
from assmat.auth.login import Attempt, sign_in
from assmat.auth.staff import AdminService, ConsoleUser, console_lockout
from assmat.web.csrf import read_cookie
from assmat.web.forms import BadForm, CsrfFailed, expired_form_message, read_form

ADMIN_COOKIE = "admin_session"


def admin_service(request: Request, db) -> AdminService:
    state = request.app.state
    return AdminService(db, state.hasher, request.scope.get("tenant"), console_lockout(state.settings))


def console_user(request: Request) -> ConsoleUser | None:
    return request.scope.get("console_user")


class ConsoleAuth(AuthenticationBackend):
    def __init__(self) -> None:
        super().__init__(secret_key="unused")
        self.middlewares = []  # no second SessionMiddleware: sessions are server-side

    async def login(self, request: Request) -> Response | bool:
        try:
            form = await read_form(request)
        except CsrfFailed:
            raise HTTPException(403, detail=expired_form_message()) from None
        except BadForm:
            return False
        attempt = Attempt(form.get("username", ""), form.get("password", ""),
                          request.client.host if request.client else None,
                          previous_session=read_cookie(request.scope, ADMIN_COOKIE))
        async with request.app.state.sessionmaker() as db:
            try:
                token = (await sign_in(admin_service(request, db), attempt)).session_token
            except LoginFailed:
                return False
        response = RedirectResponse(request.url_for("admin:index"), status_code=302)
        response.set_cookie(ADMIN_COOKIE, token, httponly=True, samesite="strict",
                            secure=request.app.state.settings.is_production, path="/admin")
        return response

    async def logout(self, request: Request) -> Response | bool:
        async with request.app.state.sessionmaker() as db:
            await admin_service(request, db).close_session(read_cookie(request.scope, ADMIN_COOKIE))
        response = RedirectResponse(request.url_for("admin:login"), status_code=302)
        response.delete_cookie(ADMIN_COOKIE, path="/admin")
        return response

    async def authenticate(self, request: Request) -> Response | bool:
        if "console_user" not in request.scope:
            async with request.app.state.sessionmaker() as db:
                request.scope["console_user"] = await admin_service(request, db).load_session(
                    read_cookie(request.scope, ADMIN_COOKIE)
                )
        return request.scope["console_user"] is not None

    async def get_user_id(self, request: Request) -> int | None:
        user = console_user(request)
        return user.admin.id if user else None
