"""« Photos à valider »: the photos of the tenant's fiches for its staff, with their thumbnail
(served through the console's own access check), approve, and refuse with a reason the
assistant reads. Shown in the menu where the tenant publishes fiches and moderates photos."""

from __future__ import annotations

from typing import Any

from markupsafe import Markup, escape
from sqladmin import action, expose
from starlette.exceptions import HTTPException
from starlette.requests import Request
from starlette.responses import Response

from assmat.admin.account_column import AccountColumn, account_formatter
from assmat.admin.actions import Done, action_button
from assmat.admin.backend import console_user
from assmat.admin.filters import ChoiceFilter
from assmat.admin.scoping import TenantScopedView, feature_on
from assmat.core.errors import NotFound
from assmat.portal.photos.http import image_response
from assmat.portal.photos.models import APPROVED, PENDING, REJECTED, Photo
from assmat.portal.photos.service import approve, moderated, reject, staff_file

STATES = {PENDING: "en attente de validation", APPROVED: "publiée", REJECTED: "refusée"}


def _thumbnail(photo: Photo, _attribute: Any, request: Request) -> Markup:
    url = request.url_for("admin:view-photo-thumbnail", pk=photo.id)
    return Markup(
        f'<img src="{escape(str(url))}" alt="{escape(photo.description)}" width="{int(photo.thumbnail_width) // 2}" '
        f'height="{int(photo.thumbnail_height) // 2}" class="console-thumbnail">'
    )


def _photo(photo: Photo, _attribute: Any, request: Request) -> Markup:
    url = request.url_for("admin:view-photo-full", pk=photo.id)
    return Markup(
        f'<img src="{escape(str(url))}" alt="{escape(photo.description)}" width="{int(photo.width)}" '
        f'height="{int(photo.height)}" class="console-photo">'
    )


def _state(photo: Photo, _attribute: Any, request: Request) -> Markup:
    """The state, and for a photo waiting: « Valider » in one click, « Refuser » through the page
    that asks for the reason."""
    label = Markup(escape(STATES.get(photo.status, photo.status)))
    user = console_user(request)
    if photo.status != PENDING or user is None or not user.can_act:
        return label
    refuse = request.url_for("admin:action-photo-reject").include_query_params(pks=photo.id)
    return (label + Markup("<br>") + action_button(request, "photo", "approve", photo.id, "Valider")
            + Markup(f' <a class="btn btn-sm btn-outline-danger" href="{escape(str(refuse))}">Refuser</a>'))


class PhotoView(AccountColumn, TenantScopedView, model=Photo):
    name = "Photo à valider"
    name_plural = "Photos à valider"
    icon = "fa-solid fa-image"
    column_list = ["thumbnail", Photo.status, Photo.description, "account", Photo.created_at]  # the decision first
    column_details_list = [Photo.id, Photo.created_at, "photo", Photo.description, "account", Photo.status,
                           Photo.rejection_reason, Photo.reviewed_at, Photo.reviewed_by, Photo.width, Photo.height]
    column_labels = {
        "id": "N°", "created_at": "Envoyée le", "thumbnail": "Photo", "photo": "Photo",
        "description": "Description (texte alternatif)", "account": "Assistant(e) maternel(le)", "status": "État",
        "rejection_reason": "Motif du refus", "reviewed_at": "Examinée le", "reviewed_by": "Examinée par",
        "width": "Largeur (pixels)", "height": "Hauteur (pixels)",
    }
    column_formatters = {
        "account": account_formatter("account_id"), "thumbnail": _thumbnail, "status": _state,
    }
    column_formatters_detail = {
        "account": account_formatter("account_id"), "photo": _photo,
        "status": lambda photo, _attribute: STATES.get(photo.status, photo.status),
    }
    column_searchable_list = [Photo.description]
    column_sortable_list = [Photo.created_at, Photo.status]
    column_default_sort = [(Photo.created_at, False), (Photo.id, False)]  # the oldest waits the longest
    column_filters = [
        ChoiceFilter("etat", "État", {state: (label, Photo.status == state) for state, label in STATES.items()}),
    ]
    action_labels = {"approve": "Valider", "reject": "Refuser"}
    action_notes = {
        "approve": "Les photos validées paraissent sur la fiche publique de l'assistant(e), si sa fiche est publiée.",
        "reject": "Le motif est montré à l'assistant(e) sur sa page « Mes photos » ; la photo n'est pas publiée.",
    }
    action_reasons = {"reject": "Motif du refus, lu par l'assistant(e)"}

    def is_visible(self, request: Request) -> bool:
        tenant = request.scope.get("tenant")
        return super().is_visible(request) and feature_on(request, "publication") and moderated(tenant)

    def describe(self, row: Photo) -> str:
        return f"« {row.description} » ({STATES.get(row.status, row.status)})"

    @action(name="approve", label="Valider", add_in_detail=True, add_in_list=True)
    async def approve_action(self, request: Request) -> Response:
        return await self.confirm(request, "approve")

    @action(name="reject", label="Refuser", add_in_detail=True, add_in_list=True)
    async def reject_action(self, request: Request) -> Response:
        return await self.confirm(request, "reject")

    async def perform(self, request: Request, db, name: str, rows: list[Photo], by: str) -> Done:
        tenant_id = self.scope_of(request)
        if name == "approve":
            return Done(await approve(db, tenant_id, rows, by))
        return Done(await reject(db, tenant_id, rows, request.state.action_reason, by))

    async def _serve(self, request: Request, thumbnail: bool) -> Response:
        tenant_id = self.scope_of(request)  # this tenant's staff only (403 otherwise)
        photo_id = self.row_key(request.path_params["pk"])
        async with request.app.state.sessionmaker() as db:
            try:
                content = await staff_file(db, tenant_id, photo_id, thumbnail)
            except NotFound:
                raise HTTPException(404) from None
        return image_response(request, content, f'"console-{photo_id}{"-m" if thumbnail else ""}"', "private, no-store")

    @expose("/miniature/{pk}")
    async def thumbnail(self, request: Request) -> Response:
        return await self._serve(request, thumbnail=True)

    @expose("/image/{pk}")
    async def full(self, request: Request) -> Response:
        return await self._serve(request, thumbnail=False)


# SQLAdmin names a view after its model; French addresses for staff.
PhotoView.identity = "photo"
