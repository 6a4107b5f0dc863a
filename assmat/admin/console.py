"""One SQLAdmin application at /admin on every host: a tenant's console on its host, the
platform's console on the root domain. Views decide per request what they show."""

from __future__ import annotations

from collections.abc import Callable, Sequence
from pathlib import Path

from sqladmin import Admin, BaseView, ModelView
from sqladmin.authentication import login_required
from sqlalchemy.ext.asyncio import AsyncEngine
from starlette.applications import Starlette
from starlette.exceptions import HTTPException
from starlette.requests import Request
from starlette.responses import RedirectResponse, Response
from starlette.routing import Route

from assmat.admin.backend import ConsoleAuth
from assmat.admin.forgot_password import add_forgot_password
from assmat.admin.formatting import detail_text, fr_datetime
from assmat.admin.french import french_console
from assmat.core.db.engine import make_sessionmaker
from assmat.core.security.audit import event_label
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


def mount_console(
    app: Starlette, engine: AsyncEngine, wake_mail: Callable[[], None], views: Sequence[type[BaseView | ModelView]]
) -> Admin:
    """The console at /admin with `views` in menu order: the composition root (assmat.app) gives
    every feature's views beside the chassis's own, so the chassis imports no feature."""
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
    console.templates.env.globals["event_label"] = event_label
    # Times in the tenant's zone (assmat.core.clock), one formatter (assmat.admin.formatting).
    console.templates.env.filters["fr_datetime"] = fr_datetime
    console.templates.env.filters["detail_text"] = detail_text
    for view in views:
        # SQLAdmin sets the session maker, the templates and the admin on the view *class*: a
        # subclass per app keeps two apps of one process (the test suite's) from sharing them,
        # where the last app built would serve every console from its own database.
        console.add_view(type(view.__name__, (view,), {"__module__": view.__module__}))
    return console
