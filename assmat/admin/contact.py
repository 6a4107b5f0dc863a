"""Messages sent with a tenant's contact form, and marking them handled."""

from __future__ import annotations

from sqladmin import action
from sqlalchemy import update
from starlette.requests import Request
from starlette.responses import Response

from assmat import clock
from assmat.admin.filters import ChoiceFilter
from assmat.admin.formatting import excerpt
from assmat.admin.scoping import TenantScopedView
from assmat.auth import audit
from assmat.db.models import ContactMessage


class ContactView(TenantScopedView, model=ContactMessage):
    name = "Message"
    name_plural = "Messages de contact"
    icon = "fa-solid fa-comment"
    column_list = [ContactMessage.created_at, ContactMessage.name, ContactMessage.email, ContactMessage.message,
                   ContactMessage.acknowledgment_requested, ContactMessage.handled_at]
    column_details_list = [ContactMessage.id, ContactMessage.created_at, ContactMessage.name, ContactMessage.email,
                           ContactMessage.message, ContactMessage.acknowledgment_requested, ContactMessage.handled_at]
    column_labels = {
        "id": "N°", "created_at": "Reçu le", "name": "Nom", "email": "Email", "message": "Message",
        "acknowledgment_requested": "Accusé de réception demandé", "handled_at": "Traité le",
    }
    column_formatters = {"message": lambda message, _attribute: excerpt(message.message)}
    column_searchable_list = [ContactMessage.name, ContactMessage.email, ContactMessage.message]
    column_sortable_list = [ContactMessage.created_at, ContactMessage.handled_at]
    column_default_sort = [(ContactMessage.created_at, True), (ContactMessage.id, True)]
    column_filters = [
        ChoiceFilter("handled", "Traité", {
            "true": ("oui", ContactMessage.handled_at.is_not(None)), "false": ("non", ContactMessage.handled_at.is_(None)),
        }),
    ]
    action_labels = {"mark_handled": "Marquer comme traité"}

    def describe(self, row: ContactMessage) -> str:
        return f"{row.name} <{row.email}> — {excerpt(row.message)}"

    @action(name="mark_handled", label="Marquer comme traité", add_in_detail=True, add_in_list=True)
    async def mark_handled(self, request: Request) -> Response:
        return await self.confirm(request, "mark_handled")

    async def perform(self, request: Request, db, name: str, rows: list[ContactMessage], by: str) -> int:
        tenant_id = self.scope_of(request)
        handled = 0
        for message in rows:
            # Already handled: keep the first date and its audit line.
            result = await db.execute(
                update(ContactMessage)
                .where(ContactMessage.id == message.id, ContactMessage.tenant_id == tenant_id,
                       ContactMessage.handled_at.is_(None))
                .values(handled_at=clock.now())
                .execution_options(synchronize_session=False)
            )
            if result.rowcount == 1:
                audit.record(db, tenant_id, "contact.handled", message_id=message.id, by=by)
                handled += 1
        return handled
