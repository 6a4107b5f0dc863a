"""Pure-ASGI middlewares: security headers, error pages, tenant by host (fail closed),
language, and the refusal of NUL bytes in addresses."""

from __future__ import annotations

import logging
from collections.abc import Awaitable, Callable
from urllib.parse import urlsplit

from starlette.datastructures import Headers, MutableHeaders
from starlette.types import ASGIApp, Message, Receive, Scope, Send

from assmat.core.i18n import LOCALES, current_locale
from assmat.core.i18n import gettext as _
from assmat.tenants.registry import ROOT, TenantRegistry
from assmat.web.csrf import read_cookie

LANG_COOKIE = "lang"
log = logging.getLogger("assmat")

# (scope, status, message or None) → the response to send; rendered by the app's templates.
ErrorPage = Callable[[Scope, int, "str | None"], Awaitable[ASGIApp]]


class ErrorPagesMiddleware:
    """What no handler answered becomes a page here, inside SecurityHeadersMiddleware, so every
    error carries the security headers: a database outage anywhere (a session loaded by a
    middleware, a console page) is a 503, anything else a 500 whose trace goes to the log.

    `status_of` maps the exception to 503 (outage) or 500; `page` renders it."""

    def __init__(self, app: ASGIApp, page: ErrorPage, status_of: Callable[[BaseException], int]):
        self.app = app
        self.page = page
        self.status_of = status_of

    async def __call__(self, scope: Scope, receive: Receive, send: Send) -> None:
        if scope["type"] != "http":
            await self.app(scope, receive, send)
            return
        started = False

        async def watching_send(message: Message) -> None:
            nonlocal started
            if message["type"] == "http.response.start":
                started = True
            await send(message)

        try:
            await self.app(scope, receive, watching_send)
        except Exception as exc:
            status = self.status_of(exc)
            if started:  # an inner error page was already sent (SQLAdmin's app); or a body broke
                raise
            bug = status >= 500 and status != 503
            if status == 503:
                log.error("database unavailable on %s %s", scope.get("method"), scope.get("path"), exc_info=exc)
            elif bug:
                log.exception("server error", exc_info=exc)
            response = await self.page(scope, status, None)
            await response(scope, receive, send)
            if bug:
                raise  # the server's log and the test client see it


class RefuseNulMiddleware:
    """A NUL byte in the path or the query is no address of ours, and PostgreSQL refuses it in
    any text: a 400 page before any route runs. (Forms are checked by `read_form`.)"""

    def __init__(self, app: ASGIApp, page: ErrorPage):
        self.app = app
        self.page = page

    async def __call__(self, scope: Scope, receive: Receive, send: Send) -> None:
        if scope["type"] == "http" and ("\x00" in scope["path"] or b"%00" in scope.get("query_string", b"")):
            response = await self.page(scope, 400, _("The address contains a character that is not allowed."))
            await response(scope, receive, send)
            return
        await self.app(scope, receive, send)


class TenantMiddleware:
    """Puts the request's tenant in scope["tenant"] (None on the platform's root domain).

    Sits first and resets state on every request; an unknown host is answered 404 before any
    route runs: better to fail than to reveal data."""

    def __init__(self, app: ASGIApp, registry: TenantRegistry, not_found: ASGIApp):
        self.app = app
        self.registry = registry
        self.not_found = not_found

    async def __call__(self, scope: Scope, receive: Receive, send: Send) -> None:
        if scope["type"] not in ("http", "websocket"):
            await self.app(scope, receive, send)
            return
        resolution = self.registry.resolve(Headers(scope=scope).get("host"))
        scope["tenant"] = resolution.tenant
        scope["is_root"] = resolution.kind == ROOT
        if resolution.kind == "unknown" and scope["path"] not in ("/healthz", "/readyz"):
            await self.not_found(scope, receive, send)
            return
        await self.app(scope, receive, send)


class LocaleMiddleware:
    """The language of this request: the `lang` cookie if valid, else the tenant's default."""

    def __init__(self, app: ASGIApp):
        self.app = app

    async def __call__(self, scope: Scope, receive: Receive, send: Send) -> None:
        if scope["type"] != "http":
            await self.app(scope, receive, send)
            return
        tenant = scope.get("tenant")
        locale = tenant.config.locale if tenant else "fr"
        chosen = read_cookie(scope, LANG_COOKIE)
        if chosen in LOCALES:
            locale = chosen
        scope["locale"] = locale
        token = current_locale.set(locale)
        try:
            await self.app(scope, receive, send)
        finally:
            current_locale.reset(token)


CSP = (
    "default-src 'self'; img-src 'self' data:; style-src 'self'; script-src 'self'; "
    "object-src 'none'; base-uri 'none'; form-action 'self'; frame-ancestors 'none'"
)


def content_security_policy(scope: Scope) -> str:
    """The one policy; a tenant that signs in with FranceConnect lets its forms lead there (the
    sign-in button, and the sign-out that ends at FranceConnect: form-action covers redirects)."""
    tenant = scope.get("tenant")
    franceconnect = getattr(getattr(tenant, "config", None), "franceconnect", None)
    if franceconnect is None or not franceconnect.enabled:
        return CSP
    parts = urlsplit(franceconnect.issuer)
    return CSP.replace("form-action 'self'", f"form-action 'self' {parts.scheme}://{parts.netloc}")


CONSOLE_PREFIX = "/admin"
CONSOLE_ASSETS = "/admin/statics/"


def holds_personal_data(scope: Scope) -> bool:
    """Signed-in portal pages and every console page: never stored by the browser, so that Back
    after signing out shows nothing. Read at response time: the account is in scope by then."""
    path = scope.get("path", "")
    if path == CONSOLE_PREFIX or (path.startswith(CONSOLE_PREFIX + "/") and not path.startswith(CONSOLE_ASSETS)):
        return True
    return scope.get("account") is not None


class SecurityHeadersMiddleware:
    def __init__(self, app: ASGIApp, production: bool):
        self.app = app
        self.production = production

    async def __call__(self, scope: Scope, receive: Receive, send: Send) -> None:
        if scope["type"] != "http":
            await self.app(scope, receive, send)
            return

        async def send_with_headers(message: Message) -> None:
            if message["type"] == "http.response.start":
                headers = MutableHeaders(scope=message)
                headers.setdefault("content-security-policy", content_security_policy(scope))
                headers.setdefault("x-content-type-options", "nosniff")
                headers.setdefault("referrer-policy", "same-origin")
                headers.setdefault("x-frame-options", "DENY")
                headers.setdefault("cross-origin-opener-policy", "same-origin")
                headers.setdefault("permissions-policy", "camera=(), microphone=(), geolocation=()")
                if holds_personal_data(scope):
                    headers["cache-control"] = "no-store"
                if self.production:
                    headers.setdefault("strict-transport-security", "max-age=63072000; includeSubDomains")
            await send(message)

        await self.app(scope, receive, send_with_headers)
