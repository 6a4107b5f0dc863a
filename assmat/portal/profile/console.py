"""The moderation of the fiches' free texts, for the tenant's staff, where the tenant asks for it
(`publication.text_moderation`): the texts waiting, approved or refused with a reason the
assistant reads on « Ma fiche ». Each decision is audited."""

from __future__ import annotations

from typing import Any

from markupsafe import Markup, escape
from sqladmin import action
from sqlalchemy import Select
from starlette.requests import Request
from starlette.responses import Response

from assmat.admin.account_column import AccountColumn, account_formatter
from assmat.admin.actions import Done
from assmat.admin.filters import ChoiceFilter
from assmat.admin.formatting import excerpt
from assmat.admin.scoping import TenantScopedView, feature_on
from assmat.portal.profile.models import Fiche
from assmat.portal.profile.service import approve_texts, reject_texts

STATES = {"pending": "en attente de validation", "rejected": "refusés", "approved": "validés"}


def _texts_cell(prefix: str):
    def cell(fiche: Fiche, _attribute: Any) -> Markup:
        parts = []
        for column, label in (("presentation", "Présentation"), ("activities", "Activités"), ("project", "Projet d'accueil")):
            text = getattr(fiche, f"{prefix}{column}")
            parts.append(f"<dt>{label}</dt><dd style=\"white-space: pre-line\">{escape(text or '—')}</dd>")
        return Markup(f"<dl>{''.join(parts)}</dl>")

    return cell


class FicheTextView(AccountColumn, TenantScopedView, model=Fiche):
    name = "Textes de fiche à valider"
    name_plural = "Fiches : textes à valider"
    icon = "fa-solid fa-spell-check"
    column_list = [Fiche.texts_submitted_at, "account", Fiche.texts_state, "excerpt"]
    column_details_list = [Fiche.id, "account", Fiche.texts_state, Fiche.texts_submitted_at, "pending", "published",
                           Fiche.rejection_reason, Fiche.texts_reviewed_at]
    column_labels = {
        "id": "N°", "account": "Assistant(e) maternel(le)", "texts_state": "État des textes",
        "texts_submitted_at": "Envoyés le", "excerpt": "Présentation proposée", "pending": "Textes proposés",
        "published": "Textes publiés", "rejection_reason": "Motif du refus", "texts_reviewed_at": "Décision le",
    }
    column_formatters = {
        "account": account_formatter("account_id"), "texts_state": lambda fiche, _a: STATES.get(fiche.texts_state, ""),
        "excerpt": lambda fiche, _a: excerpt(fiche.pending_presentation or ""),
    }
    column_formatters_detail = {
        "account": account_formatter("account_id"), "texts_state": lambda fiche, _a: STATES.get(fiche.texts_state, ""),
        "pending": _texts_cell("pending_"), "published": _texts_cell(""),
    }
    column_searchable_list = [Fiche.pending_presentation, Fiche.pending_activities, Fiche.pending_project]
    column_sortable_list = [Fiche.texts_submitted_at]
    column_default_sort = [(Fiche.texts_submitted_at, False), (Fiche.id, False)]
    column_filters = [
        ChoiceFilter("etat", "État des textes", {
            "pending": ("en attente de validation", Fiche.texts_state == "pending"),
            "rejected": ("refusés", Fiche.texts_state == "rejected"),
        }),
    ]
    action_labels = {"approve_texts": "Valider les textes", "reject_texts": "Refuser les textes"}
    action_reasons = {"reject_texts": "Motif du refus, lu par l'assistant(e)"}
    action_notes = {
        "approve_texts": "Les textes proposés remplacent aussitôt ceux de la fiche publique.",
        "reject_texts": "La fiche publique garde ses textes validés ; l'assistant(e) lit le motif sur « Ma fiche ».",
    }

    def is_visible(self, request: Request) -> bool:
        tenant = request.scope.get("tenant")
        return (super().is_visible(request) and feature_on(request, "publication")
                and tenant.config.publication.text_moderation)

    def _scoped(self, stmt: Select, request: Request) -> Select:
        # The queue: texts waiting, and the refused ones until she sends new ones.
        return super()._scoped(stmt, request).where(Fiche.texts_state.in_(("pending", "rejected")))

    def describe(self, row: Fiche) -> str:
        return f"Fiche n° {row.id} : {excerpt(row.pending_presentation or row.pending_activities or '—', 60)}"

    @action(name="approve_texts", label="Valider les textes", add_in_detail=True, add_in_list=True)
    async def approve(self, request: Request) -> Response:
        return await self.confirm(request, "approve_texts")

    @action(name="reject_texts", label="Refuser les textes", add_in_detail=True, add_in_list=False)
    async def reject(self, request: Request) -> Response:
        return await self.confirm(request, "reject_texts")

    async def perform(self, request: Request, db: Any, name: str, rows: list[Fiche], by: str) -> Done:
        tenant_id = self.scope_of(request)
        if name == "approve_texts":
            return Done(sum([await approve_texts(db, tenant_id, row, by=by) for row in rows]))
        reason = request.state.action_reason  # required and checked by the chassis (action_reasons)
        return Done(sum([await reject_texts(db, tenant_id, row, reason, by=by) for row in rows]))


FicheTextView.identity = "fiche-texts"
