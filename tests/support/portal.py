"""Drive a tenant's portal like a browser does: fetch a form, post it back with its CSRF token."""

from __future__ import annotations

import html
import re
from datetime import date
from typing import Any

from starlette.testclient import TestClient

from assmat.auth import credentials, staff_actions
from assmat.auth.context import auth_context
from assmat.auth.models import Account

CSRF = re.compile(r'name="csrf_token" value="([^"]+)"')


def text_of(response) -> str:
    """The page's HTML with entities decoded, for assertions on French text."""
    return html.unescape(response.text)


class Portal:
    def __init__(self, client: TestClient, app: Any, slug: str):
        self.client = client
        self.app = app
        self.slug = slug
        self.tenant = app.state.registry.get(slug)

    def csrf(self, path: str = "/connexion") -> str:
        response = self.client.get(path)
        match = CSRF.search(response.text)
        assert match, f"no CSRF token on {path} ({response.status_code})"
        return match.group(1)

    def post(self, path: str, data: dict[str, Any], form_path: str | None = None):
        data = dict(data)
        data.setdefault("csrf_token", self.csrf(form_path or path))
        return self.client.post(path, data=data)

    def login(self, identifier: str, password: str, **extra: Any):
        return self.post("/connexion", {"identifiant": identifier, "mot_de_passe": password, **extra})

    def run(self, fn, *args: Any) -> Any:
        """Run an async function on the app's event loop (the one TestClient uses)."""
        return self.client.portal.call(fn, *args)

    def service_call(self, flow: Any, *args: Any, **kwargs: Any) -> Any:
        """Call an account flow (`staff_actions.create_account`…) in a transaction of its own."""
        async def call():
            async with self.app.state.sessionmaker() as db:
                result = await flow(auth_context(db, self.tenant, self.app.state.hasher, self.app.state.settings),
                                    *args, **kwargs)
                await db.commit()
                return result

        return self.run(call)

    def create_account(
        self, identifier: str, password: str | None = None, *, email: str | None = "anne.martin@example.org",
        first_name: str = "Anne", last_name: str = "Martin", birth_date: date | None = date(1980, 5, 17),
        temporary: bool = False, accepted_terms: bool = True, **fields: Any,
    ) -> tuple[Account, str | None]:
        account, temp = self.service_call(
            staff_actions.create_account, identifier, email=email, first_name=first_name, last_name=last_name,
            birth_date=birth_date, with_temporary_password=temporary,
        )
        if password is not None:
            self.service_call(credentials.set_password, account, password, None, "test")
        updates = dict(fields)
        if accepted_terms and self.tenant.terms_version:
            updates["terms_version"] = self.tenant.terms_version
        if updates:
            self.update_account(account.id, **updates)
        return self.account(account.id), temp

    def update_account(self, account_id: int, **values: Any) -> None:
        from sqlalchemy import update

        async def call():
            async with self.app.state.sessionmaker() as db:
                await db.execute(update(Account).where(Account.id == account_id).values(**values))
                await db.commit()

        self.run(call)

    def account(self, account_id: int) -> Account:
        async def call():
            async with self.app.state.sessionmaker() as db:
                return await db.get(Account, account_id)

        return self.run(call)

    def query(self, statement) -> list[Any]:
        async def call():
            async with self.app.state.sessionmaker() as db:
                return list((await db.execute(statement)).all())

        return self.run(call)
