"""Loads the signed-in account of a tenant's portal into scope["account"] (None: anonymous)."""

from __future__ import annotations

from starlette.types import ASGIApp, Receive, Scope, Send

from assmat.auth.sessions import load_session
from assmat.web.csrf import read_cookie
from assmat.web.kit import LENT_SESSION

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
        if tenant is None or not token or scope["path"].startswith(SKIP_PREFIXES):
            await self.app(scope, receive, send)
            return
        # A page view's first unit of work (kit.database) goes on with this one and its
        # connection: one checkout per page, not two (on PostgreSQL a checkout is three more
        # round trips: the pool's ping, BEGIN, and the ROLLBACK when it goes back). Not for a
        # POST: its handler reads a body first (an upload from a phone may take seconds), and
        # the connection would wait for it.
        lend = scope["method"] in ("GET", "HEAD")
        db = scope["app"].state.sessionmaker()
        try:
            found = await load_session(db, tenant.slug, token, tenant.config.session.idle_timeout)
            # Detached, as if its own session had closed: a rollback in the handler must not
            # expire what the menu and the templates read.
            db.expunge_all()
            scope["account"] = found[1] if found else None
            if lend:
                scope[LENT_SESSION] = db
            else:
                await db.close()
            await self.app(scope, receive, send)
        finally:
            scope.pop(LENT_SESSION, None)
            await db.close()  # whoever had it: closing a closed session costs nothing
