"""Messages sent with a tenant's contact form, and marking them handled."""

from __future__ import annotations

from assmat.core.security.audit import EventType
from assmat.admin.actions import MarkHandled
from assmat.admin.filters import ChoiceFilter
from assmat.admin.formatting import excerpt
from assmat.admin.scoping import TenantScopedView
from assmat.portal.contact.models import ContactMessage


class ContactView(MarkHandled, TenantScopedView, model=ContactMessage):
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
    handled_event = EventType.CONTACT_HANDLED

    def describe(self, row: ContactMessage) -> str:
        return f"{row.name} <{row.email}> — {excerpt(row.message)}"

    def handled_detail(self, row: ContactMessage) -> dict:
        return {"message_id": row.id}
