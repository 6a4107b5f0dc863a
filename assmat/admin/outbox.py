"""A tenant's outgoing mail, read-only, and a retry for mail that failed.

Bodies are never shown: a mail may carry a temporary password or a single-use link, and the
sender erases them once the mail is delivered (assmat/core/mail/sender.py)."""

from __future__ import annotations

from typing import Any

from sqladmin import action
from starlette.requests import Request
from starlette.responses import Response

from assmat.admin.actions import Done
from assmat.admin.filters import ChoiceFilter
from assmat.admin.scoping import TenantScopedView
from assmat.core.security import audit
from assmat.core.security.audit import EventType
from assmat.core.mail.models import OutboxMail
from assmat.core.mail.outbox import requeue

STATUS_LABELS = {"pending": "en attente", "sending": "en cours d'envoi", "sent": "envoyé", "failed": "en échec"}


def _status_cell(mail: OutboxMail, _attribute: Any) -> str:
    return STATUS_LABELS.get(mail.status, mail.status)


def _content_cell(mail: OutboxMail, _attribute: Any) -> str:
    if mail.status == "sent" and not mail.body_text:
        return "contenu effacé après envoi"
    return "non affiché (il peut contenir un mot de passe provisoire ou un lien), effacé à l'envoi"


class OutboxView(TenantScopedView, model=OutboxMail):
    name = "Courriel"
    name_plural = "Courriels envoyés"
    icon = "fa-solid fa-envelope"
    column_list = [OutboxMail.created_at, OutboxMail.recipient, OutboxMail.subject, OutboxMail.status,
                   OutboxMail.attempts, OutboxMail.last_error, OutboxMail.sent_at]
    column_details_list = [OutboxMail.id, OutboxMail.created_at, OutboxMail.template, OutboxMail.sender,
                           OutboxMail.recipient, OutboxMail.subject, OutboxMail.body_text, OutboxMail.status, OutboxMail.attempts,
                           OutboxMail.next_attempt_at, OutboxMail.last_error, OutboxMail.sent_at]
    column_labels = {
        "id": "N°", "created_at": "Créé le", "template": "Modèle", "sender": "Expéditeur", "recipient": "Destinataire",
        "subject": "Objet", "status": "Statut", "attempts": "Tentatives", "next_attempt_at": "Prochaine tentative",
        "last_error": "Dernière erreur", "sent_at": "Envoyé le", "body_text": "Contenu",
    }
    column_formatters = {"status": _status_cell}
    column_formatters_detail = {"status": _status_cell, "body_text": _content_cell}
    column_searchable_list = [OutboxMail.recipient, OutboxMail.subject]
    column_sortable_list = [OutboxMail.created_at, OutboxMail.status, OutboxMail.attempts, OutboxMail.sent_at]
    column_default_sort = [(OutboxMail.created_at, True), (OutboxMail.id, True)]
    column_filters = [
        ChoiceFilter("status", "Statut", {
            value: (label, OutboxMail.status == value) for value, label in STATUS_LABELS.items()
        }),
    ]
    action_labels = {"retry": "Relancer l'envoi"}
    action_notes = {"retry": "Seuls les courriels en échec sont relancés, avec une nouvelle série de tentatives."}

    def describe(self, row: OutboxMail) -> str:
        return f"{row.recipient} — {row.subject} ({STATUS_LABELS.get(row.status, row.status)})"

    @action(name="retry", label="Relancer l'envoi", add_in_detail=True, add_in_list=True)
    async def retry(self, request: Request) -> Response:
        return await self.confirm(request, "retry")

    async def perform(self, request: Request, db, name: str, rows: list[OutboxMail], by: str) -> Done:
        tenant = request.scope["tenant"]
        retried = 0
        for mail in rows:
            if await requeue(db, tenant, mail.id):
                await audit.record(db, tenant.slug, EventType.MAIL_REQUEUED, mail_id=mail.id, recipient=mail.recipient, by=by)
                retried += 1
        return Done(retried)
