"""Tenant scoping for SQLAdmin views: the one place that decides which rows a console sees.

Overriding list_query alone leaks (stack.md): edit and delete load rows by primary key
alone, and actions are GET routes with no access check. A scoped view therefore filters the
list, count, details and edit queries, refuses None on every per-row check, sets tenant_id
itself, and `scoped_rows` re-checks scope for every action's primary keys."""

from __future__ import annotations

from typing import Any

from sqladmin import ModelView
from sqlalchemy import Select, func, select
from starlette.exceptions import HTTPException
from starlette.requests import Request

from assmat.admin.backend import console_user


class TenantScopedView(ModelView):
    """A tenant's own rows, for that tenant's staff on that tenant's host."""

    can_create = False
    can_edit = False
    can_delete = False
    can_export = False
    page_size = 50

    @staticmethod
    def scope_of(request: Request) -> str:
        user = console_user(request)
        tenant = request.scope.get("tenant")
        if user is None or tenant is None or user.admin.tenant_id != tenant.slug:
            raise HTTPException(403)
        return tenant.slug

    def is_accessible(self, request: Request) -> bool:
        user = console_user(request)
        tenant = request.scope.get("tenant")
        return user is not None and tenant is not None and user.admin.tenant_id == tenant.slug

    def is_visible(self, request: Request) -> bool:
        return self.is_accessible(request)

    def _scoped(self, stmt: Select, request: Request) -> Select:
        return stmt.where(self.model.tenant_id == self.scope_of(request))

    def list_query(self, request: Request) -> Select:
        return self._scoped(select(self.model), request)

    def count_query(self, request: Request) -> Select:
        return self._scoped(select(func.count(self.pk_columns[0])).select_from(self.model), request)

    def details_query(self, request: Request) -> Select:
        return self._scoped(super().details_query(request), request)

    def form_edit_query(self, request: Request) -> Select:
        return self._scoped(super().form_edit_query(request), request)

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

    async def scoped_rows(self, request: Request, db, pks: list[str]) -> list[Any]:
        """The rows of these primary keys that belong to the console's tenant; any other id is
        refused as a whole (404), never acted upon."""
        tenant_id = self.scope_of(request)
        try:
            ids = [int(pk) for pk in pks if pk]
        except ValueError:
            raise HTTPException(404) from None
        if not ids:
            raise HTTPException(404)
        rows = list((await db.scalars(
            select(self.model).where(self.model.id.in_(ids), self.model.tenant_id == tenant_id)
        )).all())
        if len(rows) != len(set(ids)):
            raise HTTPException(404)
        return rows


class PlatformView(ModelView):
    """Platform-wide rows, for super-admins on the root domain only."""

    can_create = False
    can_edit = False
    can_delete = False
    page_size = 50

    def is_accessible(self, request: Request) -> bool:
        user = console_user(request)
        return user is not None and user.is_super and request.scope.get("tenant") is None

    def is_visible(self, request: Request) -> bool:
        return self.is_accessible(request)
