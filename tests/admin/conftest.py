"""Console tests: staff of a tenant, super-admins, real SMTP."""

from __future__ import annotations

import re

import pytest

from tests.conftest import smtp_settings
from tests.support.portal import CSRF


@pytest.fixture
def settings(tmp_path, database_url, smtp_server):
    return smtp_settings(tmp_path, database_url, smtp_server)


class Console:
    """A console user's browser on one host."""

    def __init__(self, client, app):
        self.client = client
        self.app = app

    def csrf(self, path: str = "/admin/login") -> str:
        response = self.client.get(path)
        match = CSRF.search(response.text) or re.search(r'name="csrf-token" content="([^"]+)"', response.text)
        assert match, f"no CSRF token on {path} ({response.status_code})"
        return match.group(1)

    def login(self, email: str, password: str):
        return self.client.post("/admin/login", data={"csrf_token": self.csrf(), "username": email, "password": password})

    def run_action(self, action: str, pks: str, identity: str = "account"):
        token = self.csrf(f"/admin/{identity}/list")
        return self.client.post(f"/admin/{identity}/run/{action}", data={"csrf_token": token, "pks": pks})


def create_admin(app, portal_client, tenant_slug: str | None, email: str, password: str, role: str = "admin"):
    """A console user with a password, created as `assmat create-admin` does."""
    from assmat.auth.staff import AdminService

    tenant = app.state.registry.get(tenant_slug) if tenant_slug else None

    async def make():
        async with app.state.sessionmaker() as db:
            service = AdminService(db, app.state.hasher, tenant)
            admin, token = await service.create(email, role)
            await db.commit()
            await service.set_password_with_token(token, password, password)
            return admin

    return portal_client.portal.call(make)


@pytest.fixture
def console_for(app, client_for):
    def make(host: str) -> Console:
        return Console(client_for(host), app)

    return make


ADMIN_PASSWORD = "Console#Solide2026"


def signed_in(console_for, app, host: str, email: str, role: str = "admin") -> Console:
    """A console user of `host`'s tenant (a super-admin on "localhost"), signed in there."""
    console = console_for(host)
    slug = None if host == "localhost" else host
    create_admin(app, console.client, slug, email, ADMIN_PASSWORD, role="super" if slug is None else role)
    assert console.login(email, ADMIN_PASSWORD).status_code == 302
    return console


def store(console: Console, *rows):
    """Add rows straight to the database (fixtures of any tenant); returns them with their ids."""

    async def add():
        async with console.app.state.sessionmaker(expire_on_commit=False) as db:
            db.add_all(rows)
            await db.commit()
        return rows

    return console.client.portal.call(add)


def fetch(console: Console, statement) -> list:
    async def run():
        async with console.app.state.sessionmaker() as db:
            return list((await db.execute(statement)).all())

    return console.client.portal.call(run)


def unlock_link_in(text: str) -> str | None:
    match = re.search(r"/admin/account/run/unlock", text)
    return match.group(0) if match else None
