"""The moderation of the fiches' free texts, for the tenant's staff, where the tenant asks for it
(`publication.text_moderation`): the texts waiting, approved or refused with a reason the
assistant reads on « Ma fiche ». Each decision is audited."""

from __future__ import annotations

from typing import Any

from markupsafe import Markup, escape
from sqladmin import action
from sqlalchemy import Select, select
from starlette.requests import Request
from starlette.responses import Response

from assmat.admin.account_column import AccountColumn, account_formatter
from assmat.admin.actions import Done
from assmat.admin.filters import ChoiceFilter
from assmat.admin.formatting import excerpt
from assmat.admin.scoping import TenantScopedView, feature_on
from assmat.portal.profile.geolocation import (
    accept_correction,
    distance_m,
    needs_check,
    reject_correction,
    to_check_clause,
)
from assmat.portal.profile.models import Fiche, PositionCorrection
from assmat.portal.profile.service import approve_texts, reject_texts
from assmat.portal.profile.svgmap import render_two_points

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


# -- geolocation ---------------------------------------------------------------------------------------

SOURCE_LABELS = {"geocoder": "géocodeur (BAN)", "correction": "correction acceptée", "import": "import",
                 "demo": "démonstration", None: "—"}
TYPE_LABELS = {"housenumber": "numéro", "street": "rue", "locality": "lieu-dit", "municipality": "commune seule",
               None: "—"}
CORRECTION_STATES = {"pending": "en attente", "accepted": "acceptée", "rejected": "refusée"}


def _score(fiche: Fiche, _attribute: Any) -> str:
    if fiche.geocode_failed_at is not None and fiche.geocode_score is None:
        return "introuvable"
    if fiche.geocode_score is None:
        return "—"
    flag = " (à vérifier)" if needs_check(fiche.geocode_score, fiche.geocode_type) else ""
    return f"{fiche.geocode_score:.2f}{flag}"


class FichePositionView(AccountColumn, TenantScopedView, model=Fiche):
    """Where each fiche is placed and how sure the geocoder was: the « position à vérifier »
    filter lists the low scores, the communes alone and the addresses not found."""

    name = "Géolocalisation d'une fiche"
    name_plural = "Fiches : géolocalisation"
    icon = "fa-solid fa-location-dot"
    column_list = ["account", Fiche.position_source, Fiche.geocode_type, "score", Fiche.geocoded_at]
    column_details_list = [Fiche.id, "account", Fiche.position_source, Fiche.geocode_label, Fiche.geocode_type, "score",
                           Fiche.geocoded_at, Fiche.geocode_failed_at, Fiche.latitude, Fiche.longitude]
    column_labels = {
        "id": "N°", "account": "Assistant(e) maternel(le)", "position_source": "Origine de la position",
        "geocode_type": "Précision", "score": "Score", "geocoded_at": "Géolocalisée le",
        "geocode_label": "Adresse trouvée", "geocode_failed_at": "Introuvable depuis le", "latitude": "Latitude",
        "longitude": "Longitude",
    }
    column_formatters = {
        "account": account_formatter("account_id"),
        "position_source": lambda fiche, _a: SOURCE_LABELS.get(fiche.position_source, fiche.position_source),
        "geocode_type": lambda fiche, _a: TYPE_LABELS.get(fiche.geocode_type, fiche.geocode_type),
        "score": _score,
    }
    column_formatters_detail = column_formatters
    column_searchable_list = [Fiche.geocode_label]
    column_sortable_list = [Fiche.geocoded_at, Fiche.geocode_score]
    column_default_sort = [(Fiche.geocode_score, False), (Fiche.id, False)]
    column_filters = [
        ChoiceFilter("position", "Position", {
            "a-verifier": ("position à vérifier", to_check_clause()),
            "sans-position": ("sans position", Fiche.latitude.is_(None)),
            "corrigee": ("corrigée par le service", Fiche.position_source == "correction"),
        }),
    ]

    def is_visible(self, request: Request) -> bool:
        return super().is_visible(request) and feature_on(request, "publication")

    def describe(self, row: Fiche) -> str:
        return f"Fiche n° {row.id}"


FichePositionView.identity = "fiche-positions"


class PositionCorrectionView(AccountColumn, TenantScopedView, model=PositionCorrection):
    """« Corrections de géolocalisation »: the assistants' requests (seed 002), the current and
    the requested positions side by side (numbers and a small map), accept (the fiche moves,
    audited) or reject with a reason she reads on « Ma fiche »."""

    name = "Correction de géolocalisation"
    name_plural = "Corrections de géolocalisation"
    icon = "fa-solid fa-map-pin"
    column_list = [PositionCorrection.requested_at, "account", PositionCorrection.state, "positions"]
    column_details_list = [PositionCorrection.id, "account", PositionCorrection.state, PositionCorrection.requested_at,
                           "current", "requested", "map", PositionCorrection.message,
                           PositionCorrection.rejection_reason, PositionCorrection.reviewed_at,
                           PositionCorrection.reviewed_by]
    column_labels = {
        "id": "N°", "account": "Assistant(e) maternel(le)", "state": "État", "requested_at": "Demandée le",
        "positions": "Écart", "current": "Position actuelle (A)", "requested": "Position demandée (B)",
        "map": "Carte", "message": "Message de l'assistant(e)", "rejection_reason": "Motif du refus",
        "reviewed_at": "Décision le", "reviewed_by": "Décision par",
    }
    column_searchable_list = [PositionCorrection.message]
    column_sortable_list = [PositionCorrection.requested_at]
    column_default_sort = [(PositionCorrection.requested_at, True), (PositionCorrection.id, True)]
    column_filters = [
        ChoiceFilter("etat", "État", {
            "pending": ("en attente", PositionCorrection.state == "pending"),
            "accepted": ("acceptées", PositionCorrection.state == "accepted"),
            "rejected": ("refusées", PositionCorrection.state == "rejected"),
        }),
    ]
    action_labels = {"accept_correction": "Accepter la correction", "reject_correction": "Refuser la correction"}
    action_reasons = {"reject_correction": "Motif du refus, lu par l'assistant(e)"}
    action_notes = {
        "accept_correction": "La fiche est placée à la position demandée ; le géocodeur ne la déplace plus tant que "
                             "l'adresse ne change pas.",
        "reject_correction": "La fiche garde sa position ; l'assistant(e) lit le motif sur « Ma fiche ».",
    }

    def is_visible(self, request: Request) -> bool:
        return super().is_visible(request) and feature_on(request, "publication")

    def describe(self, row: PositionCorrection) -> str:
        return f"Demande n° {row.id} du {row.requested_at:%d/%m/%Y}"

    async def _positions(self, request: Request, rows: list[PositionCorrection]) -> None:
        """The fiches' current positions of a page of requests, in one query."""
        ids = [row.account_id for row in rows]
        found: dict[int, tuple[float | None, float | None]] = {}
        if ids:
            for fiche in await self._run_arbitrary_query(
                select(Fiche.account_id, Fiche.latitude, Fiche.longitude)
                .where(Fiche.tenant_id == self.scope_of(request), Fiche.account_id.in_(ids))
            ):
                found[fiche.account_id] = (fiche.latitude, fiche.longitude)
        request.state.fiche_positions = found

    async def list(self, request: Request) -> Any:
        pagination = await super().list(request)
        await self._positions(request, list(pagination.rows))
        return pagination

    async def get_object_for_details(self, request: Request) -> Any:
        row = await super().get_object_for_details(request)
        await self._positions(request, [row] if row is not None else [])
        return row

    @staticmethod
    def _current(request: Request, row: PositionCorrection) -> tuple[float, float] | None:
        lat, lon = request.state.fiche_positions.get(row.account_id, (None, None))
        return (lat, lon) if lat is not None and lon is not None else None

    def _gap(row: PositionCorrection, _attribute: Any, request: Request) -> str:
        current = PositionCorrectionView._current(request, row)
        gap = distance_m(row, *current) if current else None
        return "fiche sans position" if gap is None else f"{gap:,} m".replace(",", "\u202f")

    def _current_cell(row: PositionCorrection, _attribute: Any, request: Request) -> str:
        current = PositionCorrectionView._current(request, row)
        return "aucune" if current is None else f"latitude {current[0]:.6f}, longitude {current[1]:.6f}"

    def _map_cell(row: PositionCorrection, _attribute: Any, request: Request) -> Markup:
        current = PositionCorrectionView._current(request, row)
        return render_two_points(current, (row.latitude, row.longitude))

    column_formatters = {
        "account": account_formatter("account_id"),
        "state": lambda row, _a: CORRECTION_STATES.get(row.state, row.state),
        "positions": _gap,
    }
    column_formatters_detail = {
        "account": account_formatter("account_id"),
        "state": lambda row, _a: CORRECTION_STATES.get(row.state, row.state),
        "current": _current_cell,
        "requested": lambda row, _a: f"latitude {row.latitude:.6f}, longitude {row.longitude:.6f}",
        "map": _map_cell,
    }

    @action(name="accept_correction", label="Accepter la correction", add_in_detail=True, add_in_list=False)
    async def accept(self, request: Request) -> Response:
        return await self.confirm(request, "accept_correction")

    @action(name="reject_correction", label="Refuser la correction", add_in_detail=True, add_in_list=False)
    async def reject(self, request: Request) -> Response:
        return await self.confirm(request, "reject_correction")

    async def perform(self, request: Request, db: Any, name: str, rows: list[PositionCorrection], by: str) -> Done:
        tenant_id = self.scope_of(request)
        if name == "accept_correction":
            return Done(sum([await accept_correction(db, request.scope["tenant"], row, by=by) for row in rows]))
        reason = request.state.action_reason  # required and checked by the chassis (action_reasons)
        return Done(sum([await reject_correction(db, tenant_id, row, reason, by=by) for row in rows]))


PositionCorrectionView.identity = "corrections-geolocalisation"
