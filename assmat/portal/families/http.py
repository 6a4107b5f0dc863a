"""The pages of a family account (« Mes favoris », « Mes recherches », « Mes données »), the
contact form of a public fiche, the assistant's « Demandes de contact », and what a signed-in
family sees on the fiche and the search page (registered there as their parts). Read, call,
render: the rules are in assmat.portal.families.service."""

from __future__ import annotations

from typing import Any
from urllib.parse import parse_qsl

from sqlalchemy.ext.asyncio import AsyncSession
from starlette.requests import Request
from starlette.responses import Response
from starlette.routing import Route

from assmat.auth.guards import current_account, signed_in
from assmat.auth.models import Account
from assmat.core.errors import Invalid, NotFound, RateLimited
from assmat.core.i18n import gettext as _
from assmat.core.mail.links import mail_base_url
from assmat.portal.directory import http as directory_http
from assmat.portal.directory.page import PATH as SEARCH_PATH
from assmat.portal.families.service import (
    MESSAGE_MAX,
    NAME_MAX,
    QUERY_MAX,
    add_favourite,
    answer_request,
    contact_open,
    contactable,
    delete_request,
    delete_search,
    favourite_ids,
    favourites_of,
    offers_families,
    remove_favourite,
    requests_received,
    requests_sent,
    save_search,
    searches_of,
    send_contact,
    set_contact_open,
    valid_public_id,
)
from assmat.portal.profile import http as profile_http
from assmat.portal.profile.service import PublicFiche
from assmat.tenants.geocoding import geocoder_for
from assmat.tenants.loader import Tenant
from assmat.web import kit
from assmat.web.kit import database, page, redirect, register_notices

register_notices(
    favourite_added=lambda t: _("The fiche has been added to your favourites."),
    favourite_removed=lambda t: _("The fiche has been removed from your favourites."),
    search_saved=lambda t: _("Your search has been saved. You will receive an email when a new childminder matches it."),
    search_deleted=lambda t: _("The search has been deleted."),
    family_message_sent=lambda t: _("Your message has been sent to the childminder. Her answer will reach you by email."),
    request_deleted=lambda t: _("The contact request has been deleted."),
    answer_sent=lambda t: _("Your answer has been sent to the family by email."),
    contact_setting=lambda t: _("Your choice has been saved."),
)

# Where a favourite's button may send the browser back: this site's fiche, search and family pages.
_BACK_PREFIXES = ("/assistants/", f"{SEARCH_PATH}?", "/espace/favoris", "/espace/mes-donnees")


def _back(value: str, fallback: str) -> str:
    if (len(value) <= QUERY_MAX + 100 and value.startswith(_BACK_PREFIXES) and "//" not in value
            and not any(ch in value for ch in "\\\r\n\t")):
        return value
    return fallback


def _family(request: Request) -> tuple[Tenant, Account]:
    tenant = kit.tenant(request)
    if not offers_families(tenant):
        raise NotFound()
    account = signed_in(request)
    if account.kind != "parent":
        raise NotFound()
    return tenant, account


def _assistant(request: Request) -> tuple[Tenant, Account]:
    tenant = kit.tenant(request)
    if not offers_families(tenant):
        raise NotFound()
    account = signed_in(request)
    if account.kind != "assistant":
        raise NotFound()
    return tenant, account


def _signed_family(request: Request) -> Account | None:
    tenant = request.scope.get("tenant")
    account = current_account(request)
    if tenant is None or account is None or account.kind != "parent" or not offers_families(tenant):
        return None
    return account


# -- the parts of the fiche and of the search page --------------------------------------------------------

async def _fiche_part(request: Request, db: AsyncSession, tenant: Tenant, fiche: PublicFiche) -> dict[str, Any]:
    """On a public fiche: the contact button (unless she turned requests off) for a family or a
    visitor, the favourite button for a signed-in family."""
    if not offers_families(tenant):
        return {}
    family = _signed_family(request)
    back = request.url.path + (f"?{request.url.query}" if request.url.query else "")
    return {"family_part": {
        "signed_in": family is not None,
        "favourite": family is not None and bool(await favourite_ids(db, tenant, family, [fiche.public_id])),
        # Offered to families and to visitors (the form asks them to sign in), not to other accounts.
        "contact": (family is not None or current_account(request) is None)
        and await contact_open(db, tenant, fiche.account_id),
        "back": back,
    }}


async def _search_part(request: Request, db: AsyncSession, tenant: Tenant, public_ids: list[str],
                       query: str) -> dict[str, Any]:
    """On a page of results, for a signed-in family: a favourite button on each result and
    « Enregistrer cette recherche »."""
    family = _signed_family(request)
    if family is None:
        return {}
    return {"family_part": {
        "favourites": await favourite_ids(db, tenant, family, public_ids), "ids": public_ids, "query": query,
        "back": f"{SEARCH_PATH}?{request.url.query}", "name_max": NAME_MAX,
    }}


profile_http.FICHE_PARTS.append(_fiche_part)
directory_http.RESULT_PARTS.append(_search_part)


# -- favourites -------------------------------------------------------------------------------------------

async def favourites_page(request: Request) -> Response:
    tenant, account = _family(request)
    async with database(request) as db:
        favourites = await favourites_of(db, tenant, account)
    return page(request, "families_favourites.html", {"favourites": favourites})


async def favourite_change(request: Request) -> Response:
    """« Ajouter à mes favoris » / « Retirer de mes favoris »: back to the page it was clicked on."""
    tenant, account = _family(request)
    if request.path_params["action"] not in ("ajouter", "retirer"):
        raise NotFound()
    form = await kit.form(request)
    public_id = form.get("fiche", "")
    adding = request.path_params["action"] == "ajouter"
    if not valid_public_id(public_id):
        raise NotFound()
    async with database(request) as db:
        if adding:
            await add_favourite(db, tenant, account, public_id)
        else:
            await remove_favourite(db, tenant, account, public_id)
        await db.commit()
    back = _back(form.get("retour", ""), "/espace/favoris")
    info = "favourite_added" if adding else "favourite_removed"
    return redirect(back.split("?", 1)[0], **dict(_query_pairs(back), info=info))


def _query_pairs(url: str) -> list[tuple[str, str]]:
    return [(k, v) for k, v in parse_qsl(url.split("?", 1)[1] if "?" in url else "") if k != "info"]


# -- saved searches ---------------------------------------------------------------------------------------

async def searches_page(request: Request) -> Response:
    tenant, account = _family(request)
    async with database(request) as db:
        searches = await searches_of(db, tenant, account)
    return page(request, "families_searches.html", {"searches": searches, "search_path": SEARCH_PATH})


async def search_save(request: Request) -> Response:
    """« Enregistrer cette recherche »: the search's query string, read again by the search page;
    a wrong name or search shows the form again with its message."""
    tenant, account = _family(request)
    form = await kit.form(request)
    query = form.get("requete", "")[:QUERY_MAX + 1]
    async with database(request) as db:
        try:
            await save_search(db, tenant, account, form.get("nom", ""), query,
                              geocoder_for(request.app.state.settings, tenant))
        except Invalid as refused:
            return page(request, "families_search_save.html", {
                "values": {"nom": form.get("nom", "")[:NAME_MAX], "requete": query[:QUERY_MAX]},
                "errors": refused.field_errors, "name_max": NAME_MAX, "search_path": SEARCH_PATH}, 400)
        await db.commit()
    return redirect("/espace/recherches", info="search_saved")


async def search_delete(request: Request) -> Response:
    tenant, account = _family(request)
    form = await kit.form(request)
    async with database(request) as db:
        await delete_search(db, tenant, account, _id(request))
        await db.commit()
    back = _back(form.get("retour", ""), "/espace/recherches")
    return redirect(back if back in ("/espace/mes-donnees",) else "/espace/recherches", info="search_deleted")


def _id(request: Request) -> int:
    raw = request.path_params["id"]
    if not raw.isdigit() or len(raw) > 12:
        raise NotFound()
    return int(raw)


# -- contact requests -------------------------------------------------------------------------------------

async def contact_page(request: Request) -> Response:
    """« Contacter cette assistante maternelle »: a family's message to her, relayed by email."""
    tenant, account = _family(request)
    public_id = request.path_params["public_id"]
    values: dict[str, str] = {}
    async with database(request) as db:
        fiche = await contactable(db, tenant, public_id)
        if request.method == "POST":
            values = await kit.form(request)
            try:
                await send_contact(db, tenant, account, public_id, values,
                                   base_url=mail_base_url(request.app.state.settings, tenant))
            except (Invalid, RateLimited) as refused:
                return page(request, "families_contact.html", {
                    "fiche": fiche, "values": {k: values.get(k, "")[:MESSAGE_MAX] for k in ("message", "telephone")},
                    "share": values.get("partager-email") == "1", "errors": getattr(refused, "field_errors", {}) or {},
                    "error": refused.message if isinstance(refused, RateLimited) else None,
                    "account": account, "message_max": MESSAGE_MAX}, refused.status)
            await db.commit()
            return redirect(f"/assistants/{fiche.public_id}", info="family_message_sent")
    return page(request, "families_contact.html", {"fiche": fiche, "values": values, "share": False, "errors": {},
                                                   "account": account, "message_max": MESSAGE_MAX})


async def requests_page(request: Request) -> Response:
    """The assistant's « Demandes de contact »: the requests she received, her answers, and
    whether she receives any."""
    tenant, account = _assistant(request)
    async with database(request) as db:
        received = await requests_received(db, tenant, account)
        is_open = await contact_open(db, tenant, account.id)
    return page(request, "families_requests.html", {"received": received, "open": is_open, "errors": {},
                                                    "account": account, "message_max": MESSAGE_MAX})


async def request_answer(request: Request) -> Response:
    tenant, account = _assistant(request)
    form = await kit.form(request)
    request_id = _id(request)
    async with database(request) as db:
        try:
            await answer_request(db, tenant, account, request_id, form,
                                 base_url=mail_base_url(request.app.state.settings, tenant))
        except Invalid as refused:
            await db.rollback()
            received = await requests_received(db, tenant, account)
            return page(request, "families_requests.html", {
                "received": received, "open": await contact_open(db, tenant, account.id),
                "errors": {request_id: refused.field_errors.get("reponse", "")}, "answer": form.get("reponse", "")[:MESSAGE_MAX],
                "account": account, "message_max": MESSAGE_MAX}, 400)
        await db.commit()
    return redirect("/espace/demandes", info="answer_sent")


async def contact_setting(request: Request) -> Response:
    tenant, account = _assistant(request)
    form = await kit.form(request)
    async with database(request) as db:
        await set_contact_open(db, tenant, account, form.get("recevoir") == "1")
        await db.commit()
    return redirect("/espace/demandes", info="contact_setting")


# -- « Mes données » --------------------------------------------------------------------------------------

async def my_data(request: Request) -> Response:
    tenant, account = _family(request)
    async with database(request) as db:
        context = {"favourites": await favourites_of(db, tenant, account),
                   "searches": await searches_of(db, tenant, account),
                   "sent": await requests_sent(db, tenant, account), "search_path": SEARCH_PATH}
    return page(request, "families_data.html", context)


async def request_delete(request: Request) -> Response:
    tenant, account = _family(request)
    await kit.form(request)
    async with database(request) as db:
        await delete_request(db, tenant, account, _id(request))
        await db.commit()
    return redirect("/espace/mes-donnees", info="request_deleted")


routes = [
    Route("/espace/favoris", favourites_page),
    Route("/espace/favoris/{action:str}", favourite_change, methods=["POST"]),
    Route("/espace/recherches", searches_page),
    Route("/espace/recherches/enregistrer", search_save, methods=["POST"]),
    Route("/espace/recherches/{id:str}/supprimer", search_delete, methods=["POST"]),
    Route("/espace/mes-donnees", my_data),
    Route("/espace/mes-donnees/demandes/{id:str}/supprimer", request_delete, methods=["POST"]),
    Route("/assistants/{public_id}/contact", contact_page, methods=["GET", "POST"]),
    Route("/espace/demandes", requests_page),
    Route("/espace/demandes/reglage", contact_setting, methods=["POST"]),
    Route("/espace/demandes/{id:str}/repondre", request_answer, methods=["POST"]),
]
