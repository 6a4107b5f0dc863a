"""A console column naming the portal account a row points at (the assistant of a declaration,
the recipient of a message, the account of an audit line).

The labels of a page of rows come in one query, within the console's scope, and are kept on
the request: lists, details and CSV exports show the same text, and a page of 50 rows costs
one query, not 50. On a tenant host the label links to the account's details."""

from __future__ import annotations

from collections.abc import Callable
from typing import Any

from markupsafe import Markup, escape
from sqlalchemy import select
from starlette.requests import Request

from assmat.admin.scoping import console_rows
from assmat.auth.models import Account


def account_label(first_name: str | None, last_name: str | None, identifier: str) -> str:
    names = " ".join(part for part in (first_name, last_name) if part)
    return f"{names} ({identifier})" if names else identifier


def _text(request: Request, account_id: int | None, none_label: str) -> str:
    if account_id is None:
        return none_label
    return getattr(request.state, "account_labels", {}).get(account_id, f"compte n° {account_id}")


def account_formatter(attribute: str, none_label: str = "") -> Callable[[Any, Any, Request], Markup | str]:
    """The list and details formatter of the column: the label, linked on a tenant host."""

    def cell(row: Any, _attribute: Any, request: Request) -> Markup | str:
        account_id = getattr(row, attribute)
        text = _text(request, account_id, none_label)
        if account_id is None or request.scope.get("tenant") is None:
            return text
        url = request.url_for("admin:details", identity="account", pk=account_id)
        return Markup(f'<a href="{escape(str(url))}">{escape(text)}</a>')

    return cell


class AccountColumn:
    """Mixin for a console view whose column `account_column` shows the account of
    `account_attribute` (formatted by `account_formatter` with the same attribute)."""

    account_attribute = "account_id"
    account_column = "account"
    none_label = ""

    def _account_id(self, row: Any) -> int | None:
        return getattr(row, self.account_attribute)

    async def _label_accounts(self, request: Request, rows: list[Any]) -> None:
        ids = {self._account_id(row) for row in rows} - {None}
        # The rows' own tenants: on the platform's console the rows span tenants, and an account
        # is looked up only among the tenants of the rows that name accounts.
        tenants = {row.tenant_id for row in rows if self._account_id(row) is not None}
        labels: dict[int, str] = {}
        if ids:
            found = await self._run_arbitrary_query(  # type: ignore[attr-defined]
                select(Account.id, Account.first_name, Account.last_name, Account.identifier)
                .where(Account.tenant_id.in_(tenants), Account.id.in_(ids), console_rows(Account, request))
            )
            labels = {row.id: account_label(row.first_name, row.last_name, row.identifier) for row in found}
        request.state.account_labels = labels

    async def list(self, request: Request) -> Any:
        pagination = await super().list(request)  # type: ignore[misc]
        await self._label_accounts(request, list(pagination.rows))
        return pagination

    async def get_object_for_details(self, request: Request) -> Any:
        row = await super().get_object_for_details(request)  # type: ignore[misc]
        await self._label_accounts(request, [row] if row is not None else [])
        return row

    async def before_export(self, request: Request, rows: list[Any]) -> None:
        await self._label_accounts(request, rows)

    async def export_value(self, request: Request, row: Any, name: str) -> Any:
        if name == self.account_column:
            return _text(request, self._account_id(row), self.none_label)
        return await super().export_value(request, row, name)  # type: ignore[misc]
