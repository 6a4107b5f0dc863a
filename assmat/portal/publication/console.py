"""The staff's side of publication, on tenants that publish: « Fiches » (every assistant with her
fiche's state in words, filters, suspend with a reason / resume), the « Registre des
consentements » (read-only) and the « Liste pour les mairies » (CSV and printable page).

Every view reads the same service (`published_clause`, `decide`) as the public pages do."""

from __future__ import annotations

import csv
import io
from collections.abc import Callable
from typing import Any

from sqladmin import BaseView, action, expose
from sqlalchemy import ColumnElement, Select, exists, not_, or_, select
from starlette.exceptions import HTTPException
from starlette.requests import Request
from starlette.responses import Response

from assmat.admin.actions import Done
from assmat.admin.backend import console_user
from assmat.admin.filters import ValuesFilter
from assmat.admin.formatting import plain
from assmat.admin.scoping import TenantScopedView, csv_cell, feature_on, is_tenant_staff
from assmat.auth.models import Account
from assmat.core import clock
from assmat.core.security import audit
from assmat.core.security.audit import EventType
from assmat.portal.agrement.models import Agrement
from assmat.portal.availability.service import stale_clause
from assmat.portal.publication.models import PublicationEvent, PublicationState
from assmat.portal.publication.service import (
    decide,
    published_clause,
    resume,
    suspend,
    town_hall_list,
    valid_agrement_exists,
)
from assmat.tenants.loader import Tenant

# What staff read for each reason (the assistant reads `label_for`'s longer sentences).
STAFF_LABELS = {
    None: "publiée",
    "no_publication": "aucune fiche publiée sur ce portail",
    "not_assistant": "pas une assistante maternelle",
    "disabled": "compte désactivé",
    "no_agrement": "suspendue : aucun agrément",
    "agrement_expired": "suspendue : agrément expiré",
    "agrement_renewal": "suspendue : agrément en renouvellement ou en révision",
    "agrement_suspended": "suspendue : agrément suspendu",
    "agrement_withdrawn": "suspendue : agrément retiré",
    "agrement_not_started": "suspendue : agrément pas encore commencé",
    "suspended": "suspendue par le service",
    "objected": "non publiée : opposition",
    "no_consent": "non publiée : sans consentement",
    "withdrawn": "non publiée : consentement retiré",
}
KIND_LABELS = {
    "consent": "consentement", "consent_withdrawn": "retrait du consentement", "objection": "opposition",
    "objection_withdrawn": "retrait de l'opposition",
}
SOURCE_LABELS = {"form": "l'assistante (son espace)", "import": "import mensuel", "staff": "le service"}


def state_conditions(tenant: Tenant) -> dict[str, tuple[str, ColumnElement[bool]]]:
    """The « État » filter's choices for this tenant's regime: value → (label, condition on Account)."""
    slug, regime = tenant.slug, tenant.config.publication.regime if tenant.config.publication else None

    def state_where(*conditions: ColumnElement[bool]) -> ColumnElement[bool]:
        return exists(select(PublicationState.id).where(
            PublicationState.tenant_id == slug, PublicationState.account_id == Account.id, *conditions))

    choices = {
        "publiees": ("publiées", published_clause(tenant)),
        "suspendues": ("suspendues", or_(not_(valid_agrement_exists(slug, clock.today())),
                                         state_where(PublicationState.suspended_at.is_not(None)))),
    }
    if regime == "opt_out":
        choices["opposition"] = ("opposition", state_where(PublicationState.choice == "objection"))
    if regime == "consent":
        choices["sans_consentement"] = ("sans consentement", not_(state_where(PublicationState.choice == "consent")))
    if tenant.config.offers("availability"):
        choices["disponibilites_perimees"] = ("disponibilités périmées", stale_clause(tenant, clock.today()))
    return choices


class StateFilter:
    """« État de la fiche »: its choices depend on the request's tenant, so the view applies the
    condition itself (`FicheView.list_query`); this only lists the choices."""

    has_operator = False
    template = "filters/choice_filter.html"
    parameter_name = "etat"
    title = "État de la fiche"

    async def lookups(self, request: Request, model: Any, run_query: Callable) -> list[tuple[str, str]]:
        tenant = request.scope.get("tenant")
        if tenant is None:
            return []
        return [(value, label) for value, (label, _) in state_conditions(tenant).items()]

    async def get_filtered_query(self, query: Select, value: Any, model: Any) -> Select:
        return query


class PublicationFeature:
    """Shown and reachable on tenants that publish only."""

    def is_accessible(self, request: Request) -> bool:
        return super().is_accessible(request) and feature_on(request, "publication")  # type: ignore[misc]

    def is_visible(self, request: Request) -> bool:
        return self.is_accessible(request)


def _names(row: Any) -> str:
    return " ".join(part for part in (row.last_name, row.first_name) if part) or row.identifier


class FicheView(PublicationFeature, TenantScopedView, model=Account):
    name = "Fiche"
    name_plural = "Fiches"
    icon = "fa-solid fa-id-card"
    can_export = True
    column_list = ["names", Account.identifier, Account.city, "publication", "agrement"]
    column_details_list = ["names", Account.identifier, Account.city, "publication", "agrement"]
    column_export_list = ["names", "identifier", "city", "publication", "agrement"]
    column_labels = {
        "names": "Assistant(e) maternel(le)", "identifier": "Identifiant", "city": "Commune",
        "publication": "État de la fiche", "agrement": "Agrément valable jusqu'au",
    }
    column_searchable_list = [Account.identifier, Account.last_name, Account.first_name, Account.city]
    column_sortable_list = [Account.last_name, Account.city]
    column_default_sort = [(Account.last_name, False), (Account.id, False)]
    column_filters = [StateFilter()]
    action_labels = {"suspend": "Suspendre la fiche", "resume": "Lever la suspension"}
    action_reasons = {"suspend": "Motif de la suspension"}
    action_notes = {"suspend": "Le motif est affiché à l'assistant(e) maternel(le) dans son espace, avec l'état de sa fiche."}

    def _scoped(self, stmt: Select, request: Request) -> Select:
        return super()._scoped(stmt, request).where(Account.kind == "assistant")

    def list_query(self, request: Request) -> Select:
        stmt = super().list_query(request)
        chosen = state_conditions(request.scope["tenant"]).get(request.query_params.get("etat") or "")
        return stmt.where(chosen[1]) if chosen else stmt

    def describe(self, row: Account) -> str:
        return f"{_names(row)} ({row.identifier})"

    async def _label_states(self, request: Request, rows: list[Account]) -> None:
        """Each row's state in words, for a page of rows in two queries."""
        tenant = request.scope["tenant"]
        slug, ids = tenant.slug, [row.id for row in rows]
        agrements: dict[int, list[Any]] = {}
        states: dict[int, Any] = {}
        if ids:
            for agrement in await self._run_arbitrary_query(select(
                Agrement.id, Agrement.account_id, Agrement.start_date, Agrement.end_date, Agrement.status,
            ).where(Agrement.tenant_id == slug, Agrement.account_id.in_(ids))):
                agrements.setdefault(agrement.account_id, []).append(agrement)
            for state in await self._run_arbitrary_query(select(
                PublicationState.account_id, PublicationState.choice, PublicationState.last_kind,
                PublicationState.suspended_at, PublicationState.suspension_reason,
            ).where(PublicationState.tenant_id == slug, PublicationState.account_id.in_(ids))):
                states[state.account_id] = state
        regime = tenant.config.publication.regime if tenant.config.publication else None
        today = clock.today()
        labels, ends = {}, {}
        for row in rows:
            state = states.get(row.id)
            label = STAFF_LABELS[decide(regime, row, agrements.get(row.id, []), state, today)]
            if state is not None and state.suspended_at is not None:
                label += f" (motif : {state.suspension_reason})"
            labels[row.id] = label
            ends[row.id] = max((a.end_date for a in agrements.get(row.id, []) if a.end_date), default=None)
        request.state.publication_labels, request.state.agrement_ends = labels, ends

    async def list(self, request: Request) -> Any:
        pagination = await super().list(request)
        await self._label_states(request, list(pagination.rows))
        return pagination

    async def get_object_for_details(self, request: Request) -> Any:
        row = await super().get_object_for_details(request)
        await self._label_states(request, [row] if row is not None else [])
        return row

    async def before_export(self, request: Request, rows: list[Any]) -> None:
        await self._label_states(request, rows)

    async def export_value(self, request: Request, row: Any, name: str) -> Any:
        if name == "names":
            return _names(row)
        if name == "publication":
            return request.state.publication_labels.get(row.id, "")
        if name == "agrement":
            return request.state.agrement_ends.get(row.id)
        return await super().export_value(request, row, name)

    column_formatters = {
        "names": lambda row, _attribute: _names(row),
        "publication": lambda row, _attribute, request: request.state.publication_labels.get(row.id, ""),
        "agrement": lambda row, _attribute, request: plain(request.state.agrement_ends.get(row.id)) or "—",
    }
    column_formatters_detail = column_formatters

    @action(name="suspend", label="Suspendre la fiche", add_in_detail=True, add_in_list=True)
    async def suspend_action(self, request: Request) -> Response:
        return await self.confirm(request, "suspend")

    @action(name="resume", label="Lever la suspension", add_in_detail=True, add_in_list=True)
    async def resume_action(self, request: Request) -> Response:
        return await self.confirm(request, "resume")

    async def perform(self, request: Request, db, name: str, rows: list[Account], by: str) -> Done:
        tenant = request.scope["tenant"]
        if name == "resume":
            return Done(sum([await resume(db, tenant, row, by=by) for row in rows]))
        reason = request.state.action_reason  # required and checked by the chassis (action_reasons)
        return Done(sum([await suspend(db, tenant, row, reason, by=by) for row in rows]))


FicheView.identity = "fiches"


class RegisterView(PublicationFeature, TenantScopedView, model=PublicationEvent):
    name = "Registre des consentements"
    name_plural = "Registre des consentements"
    icon = "fa-solid fa-book"
    can_view_details = False
    can_export = True
    column_list = [PublicationEvent.created_at, "account", PublicationEvent.kind, PublicationEvent.source,
                   PublicationEvent.recorded_by]
    column_export_list = ["created_at", "account", "kind", "source", "recorded_by"]
    column_labels = {
        "created_at": "Date", "account": "Assistant(e) maternel(le)", "kind": "Type", "source": "Source",
        "recorded_by": "Enregistré par",
    }
    column_searchable_list = [PublicationEvent.recorded_by]
    column_sortable_list = [PublicationEvent.created_at]
    column_default_sort = [(PublicationEvent.created_at, True), (PublicationEvent.id, True)]
    column_filters = [
        ValuesFilter(PublicationEvent.kind, "Type", KIND_LABELS),
        ValuesFilter(PublicationEvent.source, "Source", SOURCE_LABELS),
    ]

    def search_query(self, stmt: Select, term: str) -> Select:
        """Her name or identifier, or who recorded the line."""
        pattern = f"%{term.strip()[:100]}%"
        named = exists(select(Account.id).where(
            Account.tenant_id == PublicationEvent.tenant_id, Account.id == PublicationEvent.account_id,
            or_(Account.last_name.ilike(pattern), Account.first_name.ilike(pattern), Account.identifier.ilike(pattern)),
        ))
        return stmt.where(or_(named, PublicationEvent.recorded_by.ilike(pattern)))

    async def _label_accounts(self, request: Request, rows: list[PublicationEvent]) -> None:
        ids = {row.account_id for row in rows}
        labels: dict[int, str] = {}
        if ids:
            found = await self._run_arbitrary_query(
                select(Account.id, Account.first_name, Account.last_name, Account.identifier)
                .where(Account.tenant_id == self.scope_of(request), Account.id.in_(ids)))
            labels = {row.id: f"{_names(row)} ({row.identifier})" for row in found}
        request.state.account_labels = labels

    async def list(self, request: Request) -> Any:
        pagination = await super().list(request)
        await self._label_accounts(request, list(pagination.rows))
        return pagination

    async def before_export(self, request: Request, rows: list[Any]) -> None:
        await self._label_accounts(request, rows)

    async def export_value(self, request: Request, row: Any, name: str) -> Any:
        if name == "account":
            return request.state.account_labels.get(row.account_id, "")
        if name == "kind":
            return KIND_LABELS.get(row.kind, row.kind)
        if name == "source":
            return SOURCE_LABELS.get(row.source, row.source)
        return await super().export_value(request, row, name)

    column_formatters = {
        "account": lambda row, _attribute, request: request.state.account_labels.get(row.account_id, ""),
        "kind": lambda row, _attribute: KIND_LABELS.get(row.kind, row.kind),
        "source": lambda row, _attribute: SOURCE_LABELS.get(row.source, row.source),
    }


RegisterView.identity = "registre-publication"


class TownHallListView(BaseView):
    """« Liste pour les mairies » (art. L.421-8 CASF): every assistant with a valid agrément, by
    commune, whatever her publication choice; a printable page and a CSV. Each is audited."""

    name = "Liste pour les mairies"
    icon = "fa-solid fa-landmark"

    def is_accessible(self, request: Request) -> bool:
        return is_tenant_staff(request) and feature_on(request, "publication")

    def is_visible(self, request: Request) -> bool:
        return self.is_accessible(request)

    async def _entries(self, request: Request, form: str) -> list[Any]:
        if not self.is_accessible(request):
            raise HTTPException(403)
        tenant = request.scope["tenant"]
        user = console_user(request)
        async with request.app.state.sessionmaker() as db:
            entries = await town_hall_list(db, tenant)
            await audit.record(db, tenant.slug, EventType.TOWN_HALL_LIST_EXPORTED, by=user.admin.email if user else None,
                               format=form, count=len(entries))
            await db.commit()
        return entries

    @expose("/liste-mairies", methods=["GET"], identity="town-hall-list")
    async def page(self, request: Request) -> Response:
        entries = await self._entries(request, "page")
        by_city: dict[str, list[Any]] = {}
        for entry in entries:
            by_city.setdefault(entry.city or "Commune non renseignée", []).append(entry)
        response = await self.templates.TemplateResponse(request, "town_hall_list.html", {
            "title": self.name, "tenant": request.scope["tenant"], "by_city": by_city, "count": len(entries),
            "today": clock.today(),
        })
        response.headers["cache-control"] = "no-store"
        return response

    @expose("/liste-mairies/csv", methods=["GET"], identity="town-hall-list-csv")
    async def csv(self, request: Request) -> Response:
        entries = await self._entries(request, "csv")
        buffer = io.StringIO()
        writer = csv.writer(buffer, delimiter=";", lineterminator="\r\n")
        writer.writerow(["Commune", "Nom", "Prénom", "Adresse", "Code postal", "Téléphone", "N° d'agrément",
                         "Places", "Agrément valable jusqu'au"])
        for entry in entries:
            writer.writerow([csv_cell(value) for value in (
                entry.city, entry.last_name, entry.first_name, entry.address, entry.postal_code, entry.phone,
                entry.agrement_number, entry.capacity, entry.valid_until,
            )])
        filename = f"liste-mairies-{clock.today().isoformat()}.csv"
        return Response("\ufeff" + buffer.getvalue(), media_type="text/csv; charset=utf-8", headers={
            "content-disposition": f'attachment; filename="{filename}"', "cache-control": "no-store"})
