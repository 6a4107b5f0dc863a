"""The changes of situation assistants report (seed 002), for the tenant's staff, who mark them
handled. Readable by the tenant's staff whatever its features (a tenant that turns « Mon
agrément » off keeps its past reports); the menu shows them only where the feature is on."""

from __future__ import annotations

from starlette.requests import Request

from assmat.admin.account_column import AccountColumn, account_formatter
from assmat.admin.actions import MarkHandled
from assmat.admin.filters import ChoiceFilter
from assmat.admin.formatting import excerpt
from assmat.admin.scoping import TenantScopedView, feature_on
from assmat.core.security.audit import EventType
from assmat.portal.space.models import SituationChange


class SituationChangeView(AccountColumn, MarkHandled, TenantScopedView, model=SituationChange):
    name = "Changement de situation"
    name_plural = "Changements de situation"
    icon = "fa-solid fa-file-pen"
    column_list = [SituationChange.created_at, "account", SituationChange.message, SituationChange.handled_at]
    column_details_list = [SituationChange.id, SituationChange.created_at, "account", SituationChange.message,
                           SituationChange.handled_at]
    column_labels = {
        "id": "N°", "created_at": "Reçu le", "account": "Assistant(e) maternel(le)", "message": "Message",
        "handled_at": "Traité le",
    }
    column_formatters = {
        "account": account_formatter("account_id"), "message": lambda change, _attribute: excerpt(change.message),
    }
    column_formatters_detail = {"account": account_formatter("account_id")}
    column_searchable_list = [SituationChange.message]
    column_sortable_list = [SituationChange.created_at, SituationChange.handled_at]
    column_default_sort = [(SituationChange.created_at, True), (SituationChange.id, True)]
    column_filters = [
        ChoiceFilter("traite", "Traité", {
            "true": ("oui", SituationChange.handled_at.is_not(None)), "false": ("non", SituationChange.handled_at.is_(None)),
        }),
    ]
    handled_event = EventType.SITUATION_CHANGE_HANDLED

    def is_visible(self, request: Request) -> bool:
        return super().is_visible(request) and feature_on(request, "agrement")

    def describe(self, row: SituationChange) -> str:
        return f"n° {row.id} — {excerpt(row.message)}"

    def handled_detail(self, row: SituationChange) -> dict:
        return {"situation_change_id": row.id, "account_id": row.account_id}


# SQLAdmin names a view after its model; a French address for staff.
SituationChangeView.identity = "changement-situation"
