"""The ASGI application: one process serving every tenant on its own host."""

from __future__ import annotations

import gc
import logging
from collections.abc import AsyncIterator
from contextlib import asynccontextmanager
from pathlib import Path

from sqlalchemy import text
from sqlalchemy.exc import InterfaceError, OperationalError, SQLAlchemyError
from sqlalchemy.exc import TimeoutError as PoolTimeout
from starlette.applications import Starlette
from starlette.exceptions import HTTPException
from starlette.middleware import Middleware
from starlette.requests import Request
from starlette.responses import JSONResponse, PlainTextResponse, RedirectResponse, Response
from starlette.routing import Mount, Route
from starlette.staticfiles import StaticFiles
from starlette.types import Receive, Scope, Send

from assmat.core.db.engine import make_engine, make_sessionmaker
from assmat.core.i18n import current_locale
from assmat.core.mail.sender import make_backend
from assmat.core.db.purge import Retention
from assmat.core.mail.worker import MailWorker
from assmat.core.settings import Settings
from assmat.tenants.loader import load_valid_tenants
from assmat.tenants.registry import TenantRegistry
from assmat.tenants.rows import sync_tenant_rows
from assmat.admin import set_password as admin_set_password
from assmat.admin.accounts import AccountView
from assmat.admin.audit import AuditView, PlatformAuditView
from assmat.admin.console import mount_console
from assmat.admin.outbox import OutboxView
from assmat.admin.overview import OVERVIEW_SECTIONS, OverviewView
from assmat.admin.platform import PlatformTenantsView, TenantAdminView
from assmat.core.security.hashing import make_hasher
from assmat.portal.agrement import http as agrement_routes
from assmat.portal.availability import http as availability_routes
from assmat.portal.children.console import DeclarationView
from assmat.portal.habilitation import http as habilitation_routes
from assmat.portal.habilitation.console import HabilitationRequestView
from assmat.portal.structures import http as structures_routes
from assmat.portal.structures.console import StructureView
from assmat.portal.habilitation.service import overview_section as habilitation_overview
from assmat.portal.children import http as children_routes
from assmat.portal.contact import http as contact_routes
from assmat.portal.contact.console import ContactView
from assmat.portal.imports.console import ImportView
from assmat.portal.messages import http as messages_routes
from assmat.portal.messages.console import MessageView
from assmat.portal.directory import http as directory_routes
from assmat.portal.families import http as families_routes
from assmat.portal.directory import service as directory_service  # noqa: F401  (keeps the search table up to date)
from assmat.portal.profile import http as profile_routes
from assmat.portal.profile.console import FichePositionView, FicheTextView, PositionCorrectionView
from assmat.portal.profile.geolocation import overview_section as geolocation_overview
from assmat.portal.publication import http as publication_routes
from assmat.portal.publication.console import FicheView, RegisterView, TownHallListView
from assmat.portal.photos import http as photos_routes
from assmat.portal.photos.console import PhotoView
from assmat.portal.space import http as space_routes
from assmat.portal.space.console import SituationChangeView
from assmat.web import pages
# `assmat serve` logs through it: the command reaches the HTTP chassis only through this module.
from assmat.web.access_log import uvicorn_log_config  # noqa: F401
from assmat.auth import http as accounts
from assmat.auth import captcha_http as captcha_routes
from assmat.auth.franceconnect import http as franceconnect_routes
from assmat.web.csrf import CsrfCookieMiddleware
from assmat.auth.session_middleware import AccountSessionMiddleware
from assmat.web.middleware import (
    ErrorPagesMiddleware,
    LocaleMiddleware,
    RefuseNulMiddleware,
    SecurityHeadersMiddleware,
    TenantMiddleware,
)
from assmat.core.errors import DomainError
from assmat.web.forms import FormRefused
from assmat.web.kit import Redirect
from assmat.web.templating import render, templates

log = logging.getLogger("assmat")
STATIC = Path(__file__).resolve().parent / "static"

# The console's views in their menu order: the chassis' own and each feature's.
OVERVIEW_SECTIONS[:] = [geolocation_overview, habilitation_overview]  # what the features add to the console's overview

CONSOLE_VIEWS = [
    OverviewView, AccountView, ImportView, AuditView, OutboxView, ContactView, MessageView,  # a tenant's console
    DeclarationView, SituationChangeView, FicheTextView, FicheView, RegisterView, TownHallListView, PhotoView,
    FichePositionView, PositionCorrectionView, HabilitationRequestView, StructureView,
    PlatformTenantsView, TenantAdminView, PlatformAuditView,  # the platform's
]


async def healthz(request: Request) -> Response:
    return PlainTextResponse("ok")


async def readyz(request: Request) -> Response:
    try:
        async with request.app.state.sessionmaker() as session:
            await session.execute(text("SELECT 1"))
    except Exception:
        log.exception("readiness check failed")
        return JSONResponse({"database": "unavailable"}, status_code=503)
    return JSONResponse({"database": "ok"})


async def unknown_host(scope: Scope, receive: Receive, send: Send) -> None:
    """The page for a host that is no tenant's: no branding, nothing about other tenants."""
    token = current_locale.set("fr")
    try:
        response = templates.TemplateResponse(
            Request(scope), "unknown_host.html", {"tenant": None, "locale": "fr"}, status_code=404
        )
    finally:
        current_locale.reset(token)
    await response(scope, receive, send)


# The database cannot be reached or dropped the connection, or the pool is exhausted: an outage.
OUTAGE = (OperationalError, InterfaceError, PoolTimeout)


def status_of(exc: BaseException) -> int:
    if isinstance(exc, HTTPException):
        return exc.status_code
    return 503 if isinstance(exc, OUTAGE) else 500


async def error_page(scope: Scope, status: int, message: str | None = None) -> Response:
    """The French (or the visitor's language) error page of the tenant whose host this is."""
    token = current_locale.set(scope.get("locale", "fr"))
    try:
        response = render(Request(scope), "error.html", {"status": status, "message": message}, status_code=status)
    finally:
        current_locale.reset(token)
    if status == 503:
        response.headers["retry-after"] = "60"  # an outage is worth retrying soon, not hammering
    return response


async def http_error(request: Request, exc: Exception) -> Response:
    status = status_of(exc)
    if status >= 500:
        log.exception("server error", exc_info=exc)
    return await error_page(request.scope, status)


async def redirect_to(request: Request, exc: Exception) -> Response:
    assert isinstance(exc, Redirect)
    return RedirectResponse(exc.url, status_code=303)


async def refused(request: Request, exc: Exception) -> Response:
    """A domain refusal no handler answered in place: its status and message, on the tenant's
    page; a refused form on the form error page (never with a token leaking through Referer)."""
    assert isinstance(exc, DomainError)
    if isinstance(exc, FormRefused):
        response = render(request, "form_error.html", {"message": exc.message}, status_code=exc.status)
        response.headers["referrer-policy"] = "no-referrer"
        return response
    return await error_page(request.scope, exc.status, exc.message)


async def database_error(request: Request, exc: Exception) -> Response:
    """A database fault in a handler: the request is denied (its transaction rolled back with
    its session), the trace goes to the log, the user gets a plain page: 503 during an outage;
    any other database error is a bug (bad input must be refused before any query)."""
    status = status_of(exc)
    if status != 503:
        raise exc
    log.error("database unavailable on %s %s", request.method, request.url.path, exc_info=exc)
    return await error_page(request.scope, 503)


def create_app(settings: Settings | None = None, registry: TenantRegistry | None = None) -> Starlette:
    settings = settings or Settings()
    settings.effective_secret_key  # noqa: B018 - refuse to start without a key in production
    if registry is None:
        registry = TenantRegistry(load_valid_tenants(settings.tenant_configs), settings.base_domain)

    # Created here (it connects lazily) so that the console can be mounted at once.
    engine = make_engine(settings.database_url)

    def wake_mail() -> None:
        worker = getattr(app.state, "mail_worker", None)
        if worker is not None:
            worker.nudge()

    @asynccontextmanager
    async def lifespan(app: Starlette) -> AsyncIterator[None]:
        app.state.engine = engine
        app.state.sessionmaker = make_sessionmaker(engine, wake_mail)
        await sync_tenant_rows(app.state.sessionmaker, registry)
        # A commit that queued mail wakes it (make_sessionmaker); it also purges expired rows (captchas, rate limits, sessions, tokens, old mail) hourly.
        app.state.mail_worker = MailWorker(app.state.sessionmaker, make_backend(settings),
                                           retention=Retention.from_settings(settings))
        if settings.mail_in_process:
            app.state.mail_worker.start()
        # What the start built (tenants, templates' environment, models, the console) lives as
        # long as the process: out of the collector's sight, a full collection no longer walks
        # it — it stopped every request in flight for up to 64 ms (benchmarks/pages.py, p99).
        gc.freeze()
        try:
            yield
        finally:
            await app.state.mail_worker.stop()
            await engine.dispose()

    app = Starlette(
        routes=[
            Route("/healthz", healthz),
            Route("/readyz", readyz),
            Mount("/static", StaticFiles(directory=STATIC), name="static"),
            *pages.routes,
            *captcha_routes.routes,
            *accounts.routes,
            *franceconnect_routes.routes,
            *contact_routes.routes,
            *space_routes.routes,
            *agrement_routes.routes,
            *messages_routes.routes,
            *children_routes.routes,
            *profile_routes.routes,
            *availability_routes.routes,
            *publication_routes.routes,
            *photos_routes.routes,
            *habilitation_routes.routes,
            *structures_routes.routes,
            *directory_routes.routes,
            *families_routes.routes,
            *admin_set_password.routes,
        ],
        middleware=[
            Middleware(SecurityHeadersMiddleware, production=settings.is_production),
            Middleware(ErrorPagesMiddleware, page=error_page, status_of=status_of),
            Middleware(TenantMiddleware, registry=registry, not_found=unknown_host),
            Middleware(LocaleMiddleware),
            Middleware(RefuseNulMiddleware, page=error_page),
            Middleware(CsrfCookieMiddleware, secure=settings.is_production),
            Middleware(AccountSessionMiddleware),
            # After the session: an account activated by habilitation reaches only what its tenant grants.
            Middleware(habilitation_routes.HabilitationAccess),
        ],
        # Other exceptions reach ErrorPagesMiddleware, inside the security headers.
        exception_handlers={HTTPException: http_error, SQLAlchemyError: database_error, Redirect: redirect_to,
                            DomainError: refused},
        lifespan=lifespan,
    )
    app.state.settings = settings
    app.state.registry = registry
    app.state.hasher = make_hasher(settings)
    app.state.home_departements = {}  # per tenant, for the search's commune suggestions (portal.directory.page)
    console = mount_console(app, engine, wake_mail, CONSOLE_VIEWS)
    # The console is an application of its own: its outage pages are ours too.
    console.admin.exception_handlers[SQLAlchemyError] = database_error
    console.admin.exception_handlers[Exception] = http_error
    return app
