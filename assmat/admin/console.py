"""One SQLAdmin application at /admin on every host: a tenant's console on its host, the
platform's console on the root domain. Views decide per request what they show."""

from __future__ import annotations

from pathlib import Path

from sqladmin import Admin
from sqlalchemy.ext.asyncio import AsyncEngine
from starlette.applications import Starlette

from assmat.admin.accounts import AccountView
from assmat.admin.backend import ConsoleAuth
from assmat.db.engine import make_sessionmaker
from assmat.web.csrf import csrf_token

TEMPLATES = Path(__file__).parent / "templates"
VIEWS = [AccountView]


def mount_console(app: Starlette, engine: AsyncEngine) -> Admin:
    # SQLAdmin turns autoflush off on the sessionmaker it gets: it gets its own.
    console = Admin(
        app,
        session_maker=make_sessionmaker(engine),
        base_url="/admin",
        title="Console",
        authentication_backend=ConsoleAuth(),
        templates_dir=str(TEMPLATES),
    )
    # Inside the mounted console, request.app is SQLAdmin's sub-application: it shares the
    # main app's state (settings, sessionmaker, hasher, mail worker).
    console.admin.state = app.state
    console.templates.env.globals["csrf_token"] = csrf_token
    for view in VIEWS:
        console.add_view(view)
    return console
