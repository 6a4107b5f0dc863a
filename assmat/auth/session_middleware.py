"""Loads the signed-in account of a tenant's portal into scope["account"] (None: anonymous)."""

from __future__ import annotations

from starlette.types import ASGIApp, Receive, Scope, Send

from assmat.auth.sessions import load_session
from assmat.web.csrf import read_cookie

SESSION_COOKIE = "session"
SKIP_PREFIXES = ("/static/", "/healthz", "/readyz", "/theme.css", "/logo", "/captcha/", "/admin")


class AccountSessionMiddleware:
    def __init__(self, app: ASGIApp):
        self.app = app

    async def __call__(self, scope: Scope, receive: Receive, send: Send) -> None:
        if scope["type"] != "http":
            await self.app(scope, receive, send)
            return
        scope["account"] = None
        tenant = scope.get("tenant")
        token = read_cookie(scope, SESSION_COOKIE)
        if tenant is not None and token and not scope["path"].startswith(SKIP_PREFIXES):
            async with scope["app"].state.sessionmaker() as db:
                found = await load_session(db, tenant.slug, token, tenant.config.session.idle_timeout)
            scope["account"] = found[1] if found else None
        await self.app(scope, receive, send)
