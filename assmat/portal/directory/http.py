"""The parents' search `/recherche` and its commune suggestions, on tenants whose
`features.public_search` is on. A GET form: the URL of a search is the search, to share or to
come back to. These views read, call, render: the criteria in assmat.portal.directory.page,
the query in assmat.portal.directory.service."""

from __future__ import annotations

from collections.abc import Awaitable, Callable

from sqlalchemy.ext.asyncio import AsyncSession
from starlette.requests import Request
from starlette.responses import JSONResponse, Response
from starlette.routing import Route

from assmat.core.errors import RateLimited
from assmat.core.i18n import gettext as _
from assmat.core.security.ratelimit import SEARCH_PER_IP
from assmat.portal.directory.page import (
    DEFAULT_RADIUS_KM,
    LIST_FIELDS,
    PATH,
    TEXT_FIELDS,
    Asked,
    card,
    count_text,
    day_choices,
    home_departements,
    interactive_map,
    place_choices,
    public_positions,
    radius_choices,
    read_search,
    results_map,
    suggest_communes,
)
from assmat.portal.directory.service import MAX_PAGE, Page, search
from assmat.portal.profile.service import OFFERS
from assmat.portal.structures.service import has_mams
from assmat.tenants.geocoding import geocoder_for
from assmat.tenants.loader import Tenant
from assmat.web import kit
from assmat.web.kit import client_ip, database, page
from assmat.web.middleware import CSP

FEATURE = "public_search"

# What other features add to a page of results (a signed-in family's buttons): each part gets the
# page's public ids, in the order of its cards, and the search's query string; assmat.portal.families
# registers its own.
RESULT_PARTS: list[Callable[[Request, AsyncSession, Tenant, list[str], str], Awaitable[dict[str, object]]]] = []


def _render(request: Request, tenant: Tenant, asked: Asked, mam_filter: bool, status: int = 200,
            **context: object) -> Response:
    values = dict(asked.values)
    if not any(values.values()) and not any(asked.lists.values()):
        values["rayon"] = str(DEFAULT_RADIUS_KM)  # a fresh form: 5 km around the commune
    return page(request, "search.html", {
        "asked": asked, "values": values, "lists": asked.lists, "errors": asked.errors,
        "radii": radius_choices(), "days": day_choices(), "offers": [(code, _(label)) for code, label in OFFERS],
        "slots": [(slot.code, slot.label) for slot in tenant.config.availability.time_slots], "searched": False,
        "places_of_care": place_choices() if mam_filter or asked.values.get("lieu") else None, **context,
    }, status)


async def search_page(request: Request) -> Response:
    tenant = kit.tenant(request, feature=FEATURE)
    params = {name: request.query_params.getlist(name) for name in (*TEXT_FIELDS, *LIST_FIELDS)}
    asked: Asked | None = None
    if any(params.values()):
        if not SEARCH_PER_IP.hit(tenant.slug, client_ip(request) or "unknown"):
            raise RateLimited(_("Too many searches came from your connection in a short time. Please wait a few "
                                "minutes, then search again."))
        asked = await read_search(tenant, geocoder_for(request.app.state.settings, tenant), params)
    found: Page | None = None
    parts: dict[str, object] = {}
    async with database(request) as db:  # one session: the « À domicile / en MAM » choice, the search
        mam_filter = "mam" in tenant.config.features.structures and await has_mams(db, tenant)
        if asked is not None and asked.criteria is not None:
            found = await search(db, tenant, asked.criteria)
            for part in RESULT_PARTS:
                parts.update(await part(request, db, tenant, [result.public_id for result in found.results],
                                        asked.query()))
    if asked is None:
        return _render(request, tenant, await read_search(tenant, None, {}), mam_filter)
    if found is None:
        return _render(request, tenant, asked, mam_filter, 400)
    ids = [result.public_id for result in found.results]
    positions = public_positions(found)
    back = f"{PATH}?{asked.query(found.page)}"
    first = (found.page - 1) * found.per_page
    cards = [card(tenant, result, first + k + 1, back) for k, result in enumerate(found.results)]
    last = min(found.pages, MAX_PAGE)
    interactive = interactive_map(tenant, asked, cards, positions, ids)
    response = _render(request, tenant, asked, mam_filter, searched=True, found=found, cards=cards, count=count_text(found),
                   figure=results_map(asked, cards, positions, ids), last_page=last, first_page=f"{PATH}?{asked.query()}",
                   previous=f"{PATH}?{asked.query(found.page - 1)}" if found.page > 1 else None,
                   next=f"{PATH}?{asked.query(found.page + 1)}" if found.page < last else None,
                   interactive=interactive, **parts)
    if interactive is not None and tenant.config.map is not None:
        # The tile host may serve images to this page, on this tenant only.
        response.headers["content-security-policy"] = CSP.replace(
            "img-src 'self' data:", f"img-src 'self' data: {tenant.config.map.origin}")
    return response


async def commune_suggestions(request: Request) -> Response:
    """The communes we hold matching what was typed (name or postcode), for the form's list:
    no geocoder call, nothing personal."""
    tenant = kit.tenant(request, feature=FEATURE)
    async with database(request) as db:
        home = await home_departements(db, tenant, request.app.state.home_departements)
    return JSONResponse(suggest_communes(request.query_params.get("q", ""), home),
                        headers={"cache-control": "public, max-age=3600"})


routes = [
    Route(PATH, search_page),
    Route(f"{PATH}/communes", commune_suggestions),
]
