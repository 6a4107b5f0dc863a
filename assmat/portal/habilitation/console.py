"""« Demandes d'habilitation »: the staff's queue of seed 004. Each request shows the assistant on
file it matched (or none), and its steps: orient to the Pôle PMI, ask for consent, record the
signed letter (paper), activate (a generated password is emailed), or refuse with a reason.
Each step is audited and emailed to the requester by the service."""

from __future__ import annotations

from typing import Any

from sqladmin import action
from starlette.requests import Request
from starlette.responses import Response

from assmat.admin.account_column import AccountColumn, account_formatter
from assmat.admin.actions import Done
from assmat.admin.filters import ChoiceFilter
from assmat.admin.scoping import TenantScopedView, feature_on
from assmat.auth.context import auth_context
from assmat.core.mail.links import mail_base_url
from assmat.portal.habilitation import service
from assmat.portal.habilitation.models import OPEN_STATES, STATES, HabilitationRequest

MATCHES = {"email": "par l'adresse électronique", "name_postcode": "par le nom, le prénom et le code postal"}


def _address(row: HabilitationRequest, _attribute: Any) -> str:
    street = " ".join(p for p in (row.street_number, row.street_type, row.street_name) if p)
    return f"{street}, {row.postal_code} {row.city}"


class HabilitationRequestView(AccountColumn, TenantScopedView, model=HabilitationRequest):
    name = "Demande d'habilitation"
    name_plural = "Demandes d'habilitation"
    icon = "fa-solid fa-user-check"
    none_label = "aucun(e) au fichier : à orienter vers le Pôle PMI"
    column_list = [HabilitationRequest.created_at, HabilitationRequest.last_name, HabilitationRequest.first_name,
                   HabilitationRequest.email, HabilitationRequest.state, "account"]
    column_details_list = [
        HabilitationRequest.id, HabilitationRequest.state, HabilitationRequest.created_at, HabilitationRequest.civility,
        HabilitationRequest.last_name, HabilitationRequest.first_name, "address", HabilitationRequest.phone,
        HabilitationRequest.email, "account", HabilitationRequest.matched_by, HabilitationRequest.consent_requested_at,
        HabilitationRequest.consent_received_at, HabilitationRequest.closed_at, HabilitationRequest.decided_by,
        HabilitationRequest.rejection_reason,
    ]
    column_labels = {
        "id": "N°", "state": "État", "created_at": "Reçue le", "civility": "Civilité", "last_name": "Nom",
        "first_name": "Prénom", "address": "Adresse", "phone": "Téléphone", "email": "Adresse électronique",
        "account": "Assistant(e) au fichier", "matched_by": "Retrouvé(e)", "consent_requested_at": "Consentement demandé le",
        "consent_received_at": "Consentement reçu le", "closed_at": "Close le", "decided_by": "Dernière étape par",
        "rejection_reason": "Motif du refus",
    }
    column_searchable_list = [HabilitationRequest.last_name, HabilitationRequest.email, HabilitationRequest.postal_code]
    column_sortable_list = [HabilitationRequest.created_at, HabilitationRequest.last_name]
    column_default_sort = [(HabilitationRequest.created_at, True), (HabilitationRequest.id, True)]
    column_filters = [
        ChoiceFilter("etat", "État", {
            "open": ("en cours", HabilitationRequest.state.in_(OPEN_STATES)),
            **{state: (label, HabilitationRequest.state == state) for state, label in STATES.items()},
        }),
    ]
    column_formatters = {
        "account": account_formatter("account_id", none_label),
        "state": lambda row, _a: STATES.get(row.state, row.state),
    }
    column_formatters_detail = {
        **column_formatters,
        "address": _address,
        "matched_by": lambda row, _a: MATCHES.get(row.matched_by or "", ""),
    }
    action_labels = {
        "orient": "Orienter vers le Pôle PMI",
        "request_consent": "Demander le consentement",
        "record_consent": "Consentement reçu (lettre signée)",
        "activate": "Activer l'habilitation",
        "reject": "Refuser la demande",
    }
    action_reasons = {"reject": "Motif du refus, lu par le demandeur dans le courriel"}
    action_notes = {
        "orient": "Le demandeur n'est pas au fichier : il reçoit un courriel l'orientant vers le Pôle PMI ; la demande est close.",
        "request_consent": "Consentement sur papier : le demandeur est prévenu par courriel qu'une lettre à signer lui est "
                           "adressée. En ligne : il reçoit un lien à usage unique pour donner son accord.",
        "record_consent": "La lettre signée est revenue : le demandeur est prévenu par courriel.",
        "activate": "Un mot de passe est généré et envoyé par courriel ; il devra être personnalisé à la première "
                    "connexion. L'adresse de la demande devient l'identifiant du compte.",
        "reject": "Le demandeur reçoit le motif par courriel ; la demande est close.",
    }

    def is_visible(self, request: Request) -> bool:
        return super().is_visible(request) and feature_on(request, "habilitation")

    def describe(self, row: HabilitationRequest) -> str:
        return f"Demande n° {row.id} du {row.created_at:%d/%m/%Y} ({STATES.get(row.state, row.state)})"

    @action(name="orient", label="Orienter vers le Pôle PMI", add_in_detail=True, add_in_list=False)
    async def orient(self, request: Request) -> Response:
        return await self.confirm(request, "orient")

    @action(name="request_consent", label="Demander le consentement", add_in_detail=True, add_in_list=False)
    async def ask_consent(self, request: Request) -> Response:
        return await self.confirm(request, "request_consent")

    @action(name="record_consent", label="Consentement reçu (lettre signée)", add_in_detail=True, add_in_list=False)
    async def consent_received(self, request: Request) -> Response:
        return await self.confirm(request, "record_consent")

    @action(name="activate", label="Activer l'habilitation", add_in_detail=True, add_in_list=False)
    async def activate(self, request: Request) -> Response:
        return await self.confirm(request, "activate")

    @action(name="reject", label="Refuser la demande", add_in_detail=True, add_in_list=False)
    async def reject(self, request: Request) -> Response:
        return await self.confirm(request, "reject")

    async def perform(self, request: Request, db: Any, name: str, rows: list[HabilitationRequest], by: str) -> Done:
        tenant = request.scope["tenant"]
        settings = request.app.state.settings
        base_url = mail_base_url(settings, tenant)
        done = 0
        for row in rows:
            try:
                if name == "orient":
                    await service.orient_to_pmi(db, tenant, row, by=by, base_url=base_url)
                elif name == "request_consent":
                    await service.request_consent(db, tenant, row, by=by, base_url=base_url)
                elif name == "record_consent":
                    await service.record_consent(db, tenant, row, by=by, base_url=base_url)
                elif name == "activate":
                    await service.activate(auth_context(db, tenant, request.app.state.hasher, settings), row, by=by)
                else:  # the reason is required and checked by the chassis (action_reasons)
                    await service.reject(db, tenant, row, request.state.action_reason, by=by, base_url=base_url)
            except service.StepRefused:
                continue  # counted out: the list says how many requests moved
            done += 1
        return Done(done)


HabilitationRequestView.identity = "demandes-habilitation"
