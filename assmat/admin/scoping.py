"""Scoping for SQLAdmin views: the one place that decides which rows a console sees.

Overriding list_query alone leaks (stack.md): edit and delete load rows by primary key
alone, and actions are GET routes with no access check. A scoped view therefore filters the
list, count, details and edit queries, refuses None on every per-row check, sets tenant_id
itself, and `scoped_rows` re-checks scope for every action's primary keys: the rows an action
may touch are exactly the rows the list shows."""

from __future__ import annotations

import csv
import io
from typing import Any, ClassVar

from sqladmin import ModelView
from sqlalchemy import ColumnElement, Integer, Select, func, select, true
from starlette.exceptions import HTTPException
from starlette.requests import Request
from starlette.responses import Response

from assmat.core import clock
from assmat.admin.actions import ConfirmedActions
from assmat.admin.backend import console_user
from assmat.admin.formatting import TYPE_FORMATTERS, plain
from assmat.web.ids import parse_id

# A spreadsheet runs a cell that starts with one of these as a formula (CSV injection).
FORMULA_STARTS = ("=", "+", "-", "@", "\t", "\r")


def is_tenant_staff(request: Request) -> bool:
    """Signed in as staff of the tenant whose host this is."""
    user = console_user(request)
    tenant = request.scope.get("tenant")
    return user is not None and tenant is not None and user.admin.tenant_id == tenant.slug


def is_platform_admin(request: Request) -> bool:
    """Signed in as a super-admin, on the platform's root domain."""
    user = console_user(request)
    return user is not None and user.is_super and request.scope.get("tenant") is None


def feature_on(request: Request, name: str) -> bool:
    """The host's tenant has turned `name` on (a feature's menu entry shows only then)."""
    tenant = request.scope.get("tenant")
    return tenant is not None and tenant.config.offers(name)


def console_rows(model: Any, request: Request) -> ColumnElement[bool]:
    """The rows of `model` this request's console may see: its tenant's on a tenant host,
    every tenant's on the root domain for a super-admin. Anyone else: 403."""
    if is_tenant_staff(request):
        return model.tenant_id == request.scope["tenant"].slug
    if is_platform_admin(request):
        return true()
    raise HTTPException(403)


def csv_cell(value: Any) -> str:
    text = plain(value)
    return "'" + text if text.startswith(FORMULA_STARTS) else text


class ConsoleView(ConfirmedActions, ModelView):
    """What every console list shares: French values, confirmed actions, and a CSV export of
    exactly the rows the list shows with its filters (SQLAdmin's export ignores them)."""

    can_create = False
    can_edit = False
    can_delete = False
    can_export = False
    export_types = ["csv"]
    export_max_rows = 50_000
    page_size = 50
    list_template = "console_list.html"
    # Pages of the view's own that act (add a row, print letters), linked above the list for
    # staff who may act: (label, route name).
    menu_links: ClassVar[tuple[tuple[str, str], ...]] = ()
    column_type_formatters = TYPE_FORMATTERS

    def may_act(self, request: Request) -> bool:
        raise NotImplementedError

    def _scoped(self, stmt: Select, request: Request) -> Select:
        raise NotImplementedError

    def has_permission(self, request: Request, action: str, obj: Any | None = None) -> bool:
        # Custom actions change data: hide their buttons from (and refuse their GET routes to)
        # anyone who may only read.
        if str(action).startswith("action:"):
            return self.may_act(request)
        return super().has_permission(request, action, obj)

    def row_key(self, value: object) -> Any:
        """The primary key a URL names, checked before any query: `abc`, `1.5`, a number past
        the column's range or an oversized text is no row of ours (404), never a database
        error. Every lookup by key (details, edit, delete, files, actions) goes through it."""
        column = self.pk_columns[0]
        if isinstance(column.type, Integer):
            key = parse_id(value)
        else:
            limit = getattr(column.type, "length", None) or 200
            key = value if isinstance(value, str) and 0 < len(value) <= limit else None
        if key is None:
            raise HTTPException(404)
        return key

    def _stmt_by_identifier(self, identifier: str) -> Select:
        # SQLAdmin's own lookup by key converts with int() and lets the database see the rest.
        return select(self.model).where(self.pk_columns[0] == self.row_key(identifier))

    async def get_object_filepath(self, identifier: str, column_name: str) -> Any:
        raise HTTPException(404)  # no console column holds a file: SQLAdmin's file routes serve nothing

    def list_query(self, request: Request) -> Select:
        return self._scoped(select(self.model), request)

    def count_query(self, request: Request) -> Select:
        return self._scoped(select(func.count(self.pk_columns[0])).select_from(self.model), request)

    def details_query(self, request: Request) -> Select:
        return self._scoped(super().details_query(request), request)

    def form_edit_query(self, request: Request) -> Select:
        return self._scoped(super().form_edit_query(request), request)

    async def scoped_rows(self, request: Request, db, pks: list[str]) -> list[Any]:
        """The rows of these primary keys among those the list shows; any other id is refused
        as a whole (404), never acted upon."""
        ids = {self.row_key(pk) for pk in pks if pk}
        if not ids:
            raise HTTPException(404)
        rows = list((await db.scalars(self.list_query(request).where(self.model.id.in_(ids)).order_by(self.model.id))).all())
        if len(rows) != len(ids):
            raise HTTPException(404)
        return rows

    # -- export ------------------------------------------------------------------------------

    async def filtered_query(self, request: Request) -> Select:
        """The list's query with the request's filters, search and sort, unpaginated."""
        stmt = self.list_query(request)
        for filter_ in self.get_filters():
            value = request.query_params.get(filter_.parameter_name)
            if not value:
                continue
            if getattr(filter_, "has_operator", False):
                operation = request.query_params.get(f"{filter_.parameter_name}_op")
                if operation:
                    stmt = await filter_.get_filtered_query(stmt, operation, value, self.model)
            else:
                stmt = await filter_.get_filtered_query(stmt, value, self.model)
        stmt = self.sort_query(stmt, request)
        search = request.query_params.get("search")
        if search:
            stmt = self.search_query(stmt, search)
        return stmt

    async def get_model_objects(self, request: Request, limit: int | None = 0) -> list[Any]:
        stmt = await self.filtered_query(request)
        if limit:
            stmt = stmt.limit(limit)
        return list(await self._run_query(stmt))

    async def export_value(self, request: Request, row: Any, name: str) -> Any:
        return await self.get_prop_value(row, name)

    async def before_export(self, request: Request, rows: list[Any]) -> None:
        """Prepare what export_value needs for these rows (one query, not one per row)."""

    async def export_data(self, data: list[Any], export_type: str = "csv", request: Request | None = None) -> Response:
        if export_type != "csv" or request is None:
            raise HTTPException(404)
        await self.before_export(request, data)
        buffer = io.StringIO()
        # Semicolons and a BOM: what a French spreadsheet opens correctly.
        writer = csv.writer(buffer, delimiter=";", lineterminator="\r\n")
        writer.writerow([self._column_labels.get(name, name) for name in self._export_prop_names])
        for row in data:
            writer.writerow([csv_cell(await self.export_value(request, row, name)) for name in self._export_prop_names])
        filename = f"{self.identity}-{clock.now().date().isoformat()}.csv"
        return Response(
            "\ufeff" + buffer.getvalue(), media_type="text/csv; charset=utf-8",
            headers={"content-disposition": f'attachment; filename="{filename}"', "cache-control": "no-store"},
        )


class TenantScopedView(ConsoleView):
    """A tenant's own rows, for that tenant's staff on that tenant's host."""

    @staticmethod
    def scope_of(request: Request) -> str:
        if not is_tenant_staff(request):
            raise HTTPException(403)
        return request.scope["tenant"].slug

    def is_accessible(self, request: Request) -> bool:
        return is_tenant_staff(request)

    def is_visible(self, request: Request) -> bool:
        return self.is_accessible(request)

    def may_act(self, request: Request) -> bool:
        user = console_user(request)
        return is_tenant_staff(request) and user is not None and user.can_act

    def _scoped(self, stmt: Select, request: Request) -> Select:
        return stmt.where(self.model.tenant_id == self.scope_of(request))

    def _in_scope(self, request: Request, model: Any) -> bool:
        return model is not None and model.tenant_id == self.scope_of(request)

    async def check_can_view_details(self, request: Request, model: Any) -> bool:
        return self._in_scope(request, model) and await super().check_can_view_details(request, model)

    async def check_can_edit(self, request: Request, model: Any) -> bool:
        return self._in_scope(request, model) and await super().check_can_edit(request, model)

    async def check_can_delete(self, request: Request, model: Any) -> bool:
        return self._in_scope(request, model) and await super().check_can_delete(request, model)

    async def on_model_change(self, data: dict, model: Any, is_created: bool, request: Request) -> None:
        data.pop("tenant_id", None)
        model.tenant_id = self.scope_of(request)


class PlatformView(ConsoleView):
    """Platform-wide rows, for super-admins on the root domain only. `platform_rows` narrows
    which rows of the table the view shows (and its actions may touch)."""

    platform_rows: ClassVar[Any] = None  # a condition on the model, or None for every row

    def is_accessible(self, request: Request) -> bool:
        return is_platform_admin(request)

    def is_visible(self, request: Request) -> bool:
        return self.is_accessible(request)

    def may_act(self, request: Request) -> bool:
        return is_platform_admin(request)

    def _scoped(self, stmt: Select, request: Request) -> Select:
        if not is_platform_admin(request):
            raise HTTPException(403)
        return stmt if self.platform_rows is None else stmt.where(self.platform_rows)

    def _in_scope(self, request: Request, model: Any) -> bool:
        return model is not None and is_platform_admin(request)

    async def check_can_view_details(self, request: Request, model: Any) -> bool:
        return self._in_scope(request, model) and await super().check_can_view_details(request, model)

    async def check_can_edit(self, request: Request, model: Any) -> bool:
        return self._in_scope(request, model) and await super().check_can_edit(request, model)

    async def check_can_delete(self, request: Request, model: Any) -> bool:
        return self._in_scope(request, model) and await super().check_can_delete(request, model)
