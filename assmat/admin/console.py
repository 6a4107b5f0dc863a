"""One SQLAdmin application at /admin on every host: a tenant's console on its host, the
platform's console on the root domain. Views decide per request what they show."""

from __future__ import annotations

from collections.abc import Callable, Sequence
from pathlib import Path

from sqladmin import Admin
from sqladmin.authentication import login_required
from sqlalchemy.ext.asyncio import AsyncEngine
from starlette.applications import Starlette
from starlette.exceptions import HTTPException
from starlette.requests import Request
from starlette.responses import RedirectResponse, Response
from starlette.routing import Route

from assmat.admin.audit import EVENT_LABELS
from assmat.admin.backend import ConsoleAuth
from assmat.admin.forgot_password import add_forgot_password
from assmat.admin.formatting import detail_text, fr_datetime
from assmat.admin.french import french_console
from assmat.core.db.engine import make_sessionmaker
from assmat.web.csrf import csrf_token
from assmat.web.forms import BadForm, CsrfFailed, expired_form_message, read_form

TEMPLATES = Path(__file__).parent / "templates"


class Console(Admin):
    @login_required
    async def index(self, request: Request) -> Response:
        """The first page: the tenant's overview on its host, the tenants on the root domain."""
        target = "admin:view-overview" if request.scope.get("tenant") else "admin:view-platform"
        return RedirectResponse(request.url_for(target), status_code=302)


def _logout_by_post(console: Admin) -> None:
    """SQLAdmin's /logout is a GET any page could trigger: same route and name, POST only,
    CSRF-checked, then SQLAdmin's own logout."""

    async def logout(request: Request) -> Response:
        try:
            await read_form(request)
        except CsrfFailed:
            raise HTTPException(403, detail=expired_form_message()) from None
        except BadForm:
            raise HTTPException(403) from None
        return await console.logout(request)

    routes = console.admin.router.routes
    index = next(i for i, route in enumerate(routes) if getattr(route, "name", None) == "logout")
    routes[index] = Route("/logout", logout, methods=["POST"], name="logout")


def console_title(request: Request) -> str:
    tenant = request.scope.get("tenant")
    return f"Console – {tenant.config.name if tenant else 'Plateforme assmat'}"


def mount_console(app: Starlette, engine: AsyncEngine, wake_mail: Callable[[], None], views: Sequence[type]) -> Admin:
    """The console at /admin with `views` in their menu order (assmat.app composes them: the
    chassis' own views and each feature's)."""
    # SQLAdmin turns autoflush off on the sessionmaker it gets: it gets its own.
    console = Console(
        app,
        session_maker=make_sessionmaker(engine, wake_mail),
        base_url="/admin",
        title="Console",
        authentication_backend=ConsoleAuth(),
        templates_dir=str(TEMPLATES),
        i18n_config=french_console(),
    )
    _logout_by_post(console)
    add_forgot_password(console)
    # Inside the mounted console, request.app is SQLAdmin's sub-application: it shares the
    # main app's state (settings, sessionmaker, hasher, mail worker).
    console.admin.state = app.state
    console.templates.env.globals["csrf_token"] = csrf_token
    console.templates.env.globals["console_title"] = console_title
    console.templates.env.globals["event_label"] = lambda event_type: EVENT_LABELS.get(event_type, event_type)
    # Every time a console page writes: Europe/Paris, one formatter (assmat.admin.formatting).
    console.templates.env.filters["fr_datetime"] = fr_datetime
    console.templates.env.filters["detail_text"] = detail_text
    for view in views:
        console.add_view(view)
    return console
