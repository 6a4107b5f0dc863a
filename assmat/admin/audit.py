"""The audit trail, read-only: a tenant's own lines in its console, every line in the platform's.
Filters by event type, account and dates; the CSV export holds exactly the filtered rows."""

from __future__ import annotations

from typing import Any

from sqlalchemy import or_, select
from starlette.requests import Request

from assmat.admin.account_column import AccountColumn, account_formatter
from assmat.admin.filters import DateFilter, TenantFilter, TextFilter, ValuesFilter
from assmat.admin.scoping import PlatformView, TenantScopedView
from assmat.auth.models import Account
from assmat.core.security.audit import EventType, event_label
from assmat.core.security.models import AuditEvent


def _event_cell(event: AuditEvent, _attribute: Any) -> str:
    """Staff read the event's label (the type itself stays in the export and the details)."""
    return event_label(event.type)


def _account_matches(text: str):
    """Events of the accounts whose identifier or email contains `text`, each account looked up
    in its event's tenant (the platform's trail spans tenants)."""
    return AuditEvent.account_id.in_(
        select(Account.id).where(
            Account.tenant_id == AuditEvent.tenant_id,
            or_(Account.identifier.icontains(text, autoescape=True), Account.email.icontains(text, autoescape=True)),
        )
    )


class AuditColumns(AccountColumn):
    """What both audit views show, filter and export."""

    icon = "fa-solid fa-list-check"
    column_labels = {
        "created_at": "Date", "event": "Événement", "type": "Type", "account": "Compte", "ip": "Adresse IP",
        "detail": "Détail", "tenant_id": "Collectivité", "id": "N°",
    }
    column_sortable_list = [AuditEvent.created_at]
    column_default_sort = [(AuditEvent.created_at, True), (AuditEvent.id, True)]
    column_formatters = {"event": _event_cell, "account": account_formatter("account_id")}
    column_formatters_detail = {"event": _event_cell, "account": account_formatter("account_id")}
    can_export = True
    common_filters = [
        ValuesFilter(AuditEvent.type, "Type d'événement", labels={event.value: event.label for event in EventType}),
        TextFilter("account", "Compte (identifiant ou email)", _account_matches),
        DateFilter(AuditEvent.created_at, "du", "Depuis le", since=True),
        DateFilter(AuditEvent.created_at, "au", "Jusqu'au", since=False),
    ]

    async def export_value(self, request: Request, row: Any, name: str) -> Any:
        if name == "event":
            return _event_cell(row, name)
        return await super().export_value(request, row, name)


class AuditView(AuditColumns, TenantScopedView, model=AuditEvent):
    name = "Journal"
    name_plural = "Journal d'audit"
    column_list = [AuditEvent.created_at, "event", "account", AuditEvent.ip, AuditEvent.detail]
    column_details_list = [AuditEvent.id, AuditEvent.created_at, "event", AuditEvent.type, "account", AuditEvent.ip,
                           AuditEvent.detail]
    column_export_list = [AuditEvent.created_at, "event", AuditEvent.type, "account", AuditEvent.ip, AuditEvent.detail]
    column_filters = AuditColumns.common_filters


class PlatformAuditView(AuditColumns, PlatformView, model=AuditEvent):
    name = "Journal (toutes collectivités)"
    name_plural = "Journal d'audit (toutes collectivités)"
    column_list = [AuditEvent.created_at, AuditEvent.tenant_id, "event", "account", AuditEvent.ip, AuditEvent.detail]
    column_details_list = [AuditEvent.id, AuditEvent.created_at, AuditEvent.tenant_id, "event", AuditEvent.type,
                           "account", AuditEvent.ip, AuditEvent.detail]
    column_export_list = [AuditEvent.created_at, AuditEvent.tenant_id, "event", AuditEvent.type, "account",
                          AuditEvent.ip, AuditEvent.detail]
    column_filters = [TenantFilter(AuditEvent.tenant_id, platform_label="Plateforme"), *AuditColumns.common_filters]


# SQLAdmin names a view after its model: two views of one model need their own names.
AuditView.identity = "audit"
PlatformAuditView.identity = "platform-audit"
