"""« Ma fiche » (the assistant edits her public fiche, and previews it) and the public fiche
`/assistants/{public_id}` that parents open, on tenants that publish (`publication`).

The rules and the masking live in assmat.portal.profile.service; these views read, call, render."""

from __future__ import annotations

from collections.abc import Awaitable, Callable
from typing import Any

from sqlalchemy.ext.asyncio import AsyncSession
from starlette.exceptions import HTTPException
from starlette.requests import Request
from starlette.responses import Response
from starlette.routing import Route

from assmat.auth.guards import signed_in
from assmat.auth.models import Account
from assmat.core import clock
from assmat.core.errors import Invalid, NotFound, RateLimited
from assmat.core.i18n import gettext as _
from assmat.portal.availability.service import public_availability
from assmat.portal.photos.service import photos_offered, published_photos
from assmat.portal.profile.geolocation import (
    CORRECTION_MESSAGE_MAX,
    CORRECTION_URL_MAX,
    NATIONAL_MAP_URL,
    correction_of,
    picker_image,
    request_correction,
)
from assmat.portal.profile.models import OFFER_CODES, Fiche, PositionCorrection
from assmat.portal.profile.service import (
    FLAGS,
    FORM_FIELDS,
    HOUSING,
    OFFERS,
    RATES,
    SHORT_TEXTS,
    SHOWN,
    TEXT_MAX,
    TEXTS,
    InvalidFiche,
    PublicFiche,
    blank_fiche,
    euros,
    fiche_of,
    preview_fiche,
    public_fiche,
    save_fiche,
    published_members,
    shown_texts,
)
from assmat.portal.structures import service as structures
from assmat.tenants.loader import Tenant
from assmat.web import kit
from assmat.web.kit import client_ip, database, page, redirect, register_notices

# Parents may keep a public fiche a few minutes; never in a shared cache: the page may come with
# the CSRF cookie. Signed-in pages are never stored (SecurityHeadersMiddleware says no-store).
PUBLIC_CACHE = "private, max-age=300"

register_notices(
    fiche_saved=lambda t: _("Your fiche has been saved."),
    fiche_pending=lambda t: _("Your fiche has been saved. Your texts will be published once the service has approved them."),
    correction_sent=lambda t: _("Your correction request has been sent. The support service will check it."),
)


# What other features add to a public fiche (a family's favourite and contact buttons): each
# part gives context for the page of one fiche; assmat.portal.families registers its own.
FICHE_PARTS: list[Callable[[Request, AsyncSession, Tenant, PublicFiche], Awaitable[dict[str, Any]]]] = []


def _assistant(request: Request) -> tuple[Tenant, Account]:
    """Her own fiche, on a tenant that publishes: only an assistant has one."""
    tenant = kit.tenant(request, feature="publication")
    account = signed_in(request)
    if account.kind != "assistant":
        raise NotFound()
    return tenant, account


def _values(fiche: Fiche) -> dict[str, str]:
    """The form's fields as stored: what the page shows first."""
    texts = shown_texts(fiche)
    values = {name: texts[column] or "" for name, column, _label in TEXTS}
    values.update({name: getattr(fiche, column) or "" for name, column in SHORT_TEXTS})
    values["logement"] = fiche.housing or ""
    values["etage"] = "" if fiche.floor is None else str(fiche.floor)
    values.update({name: "1" if getattr(fiche, column) else "" for name, column in FLAGS + SHOWN})
    values.update({f"offre-{code}": "1" if getattr(fiche, f"offer_{code}") else "" for code in OFFER_CODES})
    values.update({name: euros(getattr(fiche, column)) for name, column, _range in RATES})
    return values


def _geolocation(correction: PositionCorrection | None, values: dict[str, str] | None = None,
                 errors: dict[str, str] | None = None, picker: str | None = None) -> dict[str, Any]:
    """The « Géolocalisation » section: her last request (its point is hers to see), the form
    with the map she may click (`picker`: its image, around her current position)."""
    return {
        "correction": correction, "picker": picker,
        "requested_on": clock.local(correction.requested_at).strftime("%d/%m/%Y") if correction else None,
        "values": values or {}, "errors": errors or {}, "map_url": NATIONAL_MAP_URL,
        "url_max": CORRECTION_URL_MAX, "message_max": CORRECTION_MESSAGE_MAX,
    }


def _form_page(request: Request, tenant: Tenant, account: Account, fiche: Fiche, values: dict[str, str],
               errors: dict[str, str] | None = None, status: int = 200, *,
               geolocation: dict[str, Any] | None = None) -> Response:
    publication = tenant.config.publication
    return page(request, "profile_form.html", {
        "geolocation": geolocation or _geolocation(None),
        "account": account, "fiche": fiche, "values": values, "errors": errors or {},
        "offers": OFFERS, "housing": HOUSING, "text_fields": TEXTS, "text_max": TEXT_MAX,
        "text_max_shown": f"{TEXT_MAX:,}".replace(",", "\u202f"),
        "show_rates": publication.show_rates, "moderated": publication.text_moderation,
        "masking": publication.regime == "mandatory_with_masking", "photos_offered": photos_offered(tenant),
    }, status)


async def my_fiche(request: Request) -> Response:
    tenant, account = _assistant(request)
    if request.method == "GET":
        async with database(request) as db:
            fiche = await fiche_of(db, tenant, account) or blank_fiche(tenant, account)
            correction = await correction_of(db, tenant, account)
        picker = picker_image(fiche, account) if fiche.id else None
        return _form_page(request, tenant, account, fiche, _values(fiche),
                          geolocation=_geolocation(correction, picker=picker))
    form = await kit.form(request, max_fields=FORM_FIELDS)
    async with database(request) as db:
        try:
            fiche = await save_fiche(db, tenant, account, form, ip=client_ip(request))
        except InvalidFiche as refused:
            fiche = await fiche_of(db, tenant, account) or blank_fiche(tenant, account)
            return _form_page(request, tenant, account, fiche, form, refused.field_errors, 400,
                              geolocation=_geolocation(await correction_of(db, tenant, account)))
        pending = fiche.texts_state == "pending"
        await db.commit()
    return redirect("/espace/fiche", info="fiche_pending" if pending else "fiche_saved")


async def position_correction(request: Request) -> Response:
    """Her correction request (seed 002): a click on the map or the national map's link, and a
    message; refused in French with nothing stored, or sent for the support service to check."""
    tenant, account = _assistant(request)
    form = await kit.form(request, max_fields=6)
    async with database(request) as db:
        fiche = await fiche_of(db, tenant, account)
        try:
            await request_correction(db, tenant, account, fiche, form, ip=client_ip(request))
        except (Invalid, RateLimited) as refused:  # refused before anything was added: nothing to undo
            errors = getattr(refused, "field_errors", None) or {"url-carte": refused.message or ""}
            shown = fiche or blank_fiche(tenant, account)
            values = {"url-carte": form.get("url-carte", "")[:CORRECTION_URL_MAX],
                      "message": form.get("message", "")[:CORRECTION_MESSAGE_MAX]}
            picker = picker_image(fiche, account) if fiche is not None else None
            return _form_page(request, tenant, account, shown, _values(shown), status=refused.status,
                              geolocation=_geolocation(await correction_of(db, tenant, account), values, errors,
                                                       picker))
        await db.commit()
    return redirect("/espace/fiche", info="correction_sent")


def back_to_results(value: str | None) -> str | None:
    """The « Retour aux résultats » link of a fiche opened from the parents' search (its `retour`
    parameter): a path of the search page only, never another site or page."""
    if not value or len(value) > 2000 or not (value == "/recherche" or value.startswith("/recherche?")):
        return None
    if "//" in value or any(ch in value for ch in "\\\r\n\t"):
        return None
    return value


async def _fiche_page(request: Request, db: AsyncSession, tenant: Tenant, fiche: PublicFiche, *, preview: bool) -> Response:
    """The fiche with its availability in the tenant's forms (None where it offers none) and its
    published photos."""
    context: dict[str, Any] = {
        "fiche": fiche, "preview": preview,
        "back_to_results": None if preview else back_to_results(request.query_params.get("retour")),
        "availability": await public_availability(db, tenant, fiche.account_id),
        # Her own preview shows the photos parents see: the published ones.
        "photos": await published_photos(db, tenant, fiche.account_id),
        # Her MAM, if she works in one (« Voir les coordonnées »: its fiche).
        "mam": await structures.mam_of(db, tenant, fiche.account_id) if tenant.config.features.structures else None,
    }
    if not preview:
        for part in FICHE_PARTS:
            context.update(await part(request, db, tenant, fiche))
    return page(request, "profile_public.html", context)


async def my_fiche_preview(request: Request) -> Response:
    tenant, account = _assistant(request)
    async with database(request) as db:
        fiche = await preview_fiche(db, tenant, account)
        return await _fiche_page(request, db, tenant, fiche, preview=True)


async def assistant_fiche(request: Request) -> Response:
    """The public fiche. Any id that shows no fiche (malformed, unknown, another tenant's, not
    published) gets the very page of an unknown address: nothing tells them apart."""
    try:
        tenant = kit.tenant(request, feature="publication")
        async with database(request) as db:
            fiche = await public_fiche(db, tenant, request.path_params["public_id"])
            response = await _fiche_page(request, db, tenant, fiche, preview=False)
    except NotFound:
        raise HTTPException(404) from None
    response.headers["cache-control"] = PUBLIC_CACHE
    return response


async def structure_fiche(request: Request) -> Response:
    """A MAM's or relais' public fiche: what it chose to publish, and a MAM's members whose fiche
    is published. Another tenant's id, a malformed or unknown one: the page of an unknown address."""
    try:
        tenant = kit.tenant(request, feature="structures")
        async with database(request) as db:
            structure = await structures.get(db, tenant, request.path_params["structure_id"])
            members = await published_members(db, tenant, structure.id) \
                if structure.kind == "mam" and tenant.config.offers("publication") else []
    except NotFound:
        raise HTTPException(404) from None
    response = page(request, "structure_public.html", {
        "structure": structure, "members": members, "communes": structures.communes_of(structure)})
    response.headers["cache-control"] = PUBLIC_CACHE
    return response


routes = [
    Route("/espace/fiche", my_fiche, methods=["GET", "POST"]),
    Route("/espace/fiche/apercu", my_fiche_preview),
    Route("/espace/fiche/geolocalisation", position_correction, methods=["POST"]),
    Route("/assistants/{public_id}", assistant_fiche),
    Route("/structures/{structure_id:id}", structure_fiche),
]
