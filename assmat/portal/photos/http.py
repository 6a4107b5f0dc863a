"""« Mes photos » (seed 002: « valoriser votre offre d'accueil (présentation, activités, photos,
cadre d'accueil...) ») and the photos' own URLs.

The assistant's pages are under /espace/fiche/photos, on tenants that publish fiches with
photos. A photo is served under /photos/{key} (and /photos/{key}/miniature): its random key is
its only name, the content type is fixed, and who may load it is the service's rule."""

from __future__ import annotations

import re

from starlette.requests import Request
from starlette.responses import Response
from starlette.routing import Route

from assmat.auth.guards import current_account, signed_in
from assmat.auth.models import Account
from assmat.core.errors import Invalid, NotFound, RateLimited
from assmat.core.i18n import gettext as _
from assmat.portal.photos.models import Photo
from assmat.portal.photos.service import (
    DESCRIPTION_MAX,
    add_photo,
    delete_photo,
    describe_photo,
    max_bytes,
    max_count,
    megabytes,
    message,
    moderated,
    own_file,
    owned_photo,
    photos_of,
    photos_offered,
    public_file,
)
from assmat.tenants.loader import Tenant
from assmat.web import ids  # noqa: F401 - the {…:id} path converter
from assmat.web import kit
from assmat.web.forms import FileTooLarge
from assmat.web.kit import client_ip, database, page, redirect, register_notices

PAGE = "/espace/fiche/photos"
# A photo's bytes never change under its key: browsers and proxies may keep it without asking
# again. An hour, not a year: a fiche withdrawn from publication stops showing within the hour.
PUBLIC_CACHE = "public, max-age=3600, immutable"
KEY = re.compile("[A-Za-z0-9_-]{24}")  # secrets.token_urlsafe(18)

register_notices(
    photo_added=lambda t: _("Your photo has been added."),
    photo_added_pending=lambda t: _("Your photo has been added. It will appear on your fiche once the service has approved it."),
    photo_described=lambda t: _("The description of the photo has been saved."),
    photo_deleted=lambda t: _("The photo has been deleted."),
)


def _assistant(request: Request) -> tuple[Tenant, Account]:
    """A tenant whose fiches carry photos (elsewhere the page does not exist, as for every
    feature), then a session, then an assistant's account: a structure has no fiche."""
    tenant = kit.tenant(request, feature="publication")
    if not photos_offered(tenant):
        raise NotFound()
    account = signed_in(request)
    if account.kind != "assistant":
        raise NotFound()
    return tenant, account


def _page(request: Request, tenant: Tenant, photos: list[Photo], *, errors: dict[str, str] | None = None,
          values: dict[str, str] | None = None, editing: int | None = None, status: int = 200) -> Response:
    return page(request, "photos.html", {
        "photos": photos, "errors": errors or {}, "values": values or {}, "editing": editing,
        "max_count": max_count(tenant), "max_size": megabytes(max_bytes(tenant)), "moderated": moderated(tenant),
        "description_max": DESCRIPTION_MAX, "page_url": PAGE,
        "count_reached": message("photos.count_reached", max=max_count(tenant)),
    }, status)


async def photos_page(request: Request) -> Response:
    tenant, account = _assistant(request)
    if request.method == "GET":
        async with database(request) as db:
            return _page(request, tenant, await photos_of(db, tenant, account))
    too_large = message("photos.too_large", size=megabytes(max_bytes(tenant)))
    try:
        form = await kit.form_with_file(request, "photo", max_bytes(tenant), too_large)
    except FileTooLarge:
        # Nothing of the body was read as a form: the page says why, and nothing changed.
        async with database(request) as db:
            return _page(request, tenant, await photos_of(db, tenant, account), errors={"photo": too_large}, status=413)
    async with database(request) as db:
        try:
            await add_photo(db, tenant, account, form.content, form.values.get("description"), ip=client_ip(request))
        except Invalid as refused:
            await db.rollback()
            return _page(request, tenant, await photos_of(db, tenant, account), errors=refused.field_errors,
                         values=form.values, status=400)
        except RateLimited as refused:
            return _page(request, tenant, await photos_of(db, tenant, account), errors={"photo": refused.message},
                         values=form.values, status=429)
        await db.commit()
    return redirect(PAGE, info="photo_added_pending" if moderated(tenant) else "photo_added")


async def photo_description(request: Request) -> Response:
    tenant, account = _assistant(request)
    form = await kit.form(request)
    async with database(request) as db:
        photo = await owned_photo(db, tenant, account, request.path_params["photo_id"])
        try:
            await describe_photo(db, tenant, account, photo, form.get("description"), ip=client_ip(request))
        except Invalid as refused:
            return _page(request, tenant, await photos_of(db, tenant, account),
                         errors={f"description-{photo.id}": refused.field_errors["description"]},
                         values={f"description-{photo.id}": form.get("description", "")}, editing=photo.id, status=400)
        await db.commit()
    return redirect(PAGE, info="photo_described")


async def photo_delete(request: Request) -> Response:
    tenant, account = _assistant(request)
    photo_id = request.path_params["photo_id"]
    if request.method == "GET":
        async with database(request) as db:
            photo = await owned_photo(db, tenant, account, photo_id)
        return page(request, "photo_delete.html", {"photo": photo, "page_url": PAGE})
    await kit.form(request)
    async with database(request) as db:
        photo = await owned_photo(db, tenant, account, photo_id)
        await delete_photo(db, tenant, account, photo, ip=client_ip(request))
        await db.commit()
    return redirect(PAGE, info="photo_deleted")


def image_response(request: Request, content: bytes, etag: str, cache: str) -> Response:
    """The JPEG we encoded, never anything a browser could take for a page or a script."""
    headers = {
        "content-disposition": "inline",
        "x-content-type-options": "nosniff",
        "cache-control": cache,
        "etag": etag,
        # Nothing in a JPEG runs; an image opened on its own gets no rights at all.
        "content-security-policy": "default-src 'none'; sandbox",
        "cross-origin-resource-policy": "same-origin",
    }
    if etag in (value.strip() for value in request.headers.get("if-none-match", "").split(",")):
        return Response(status_code=304, headers=headers)
    return Response(content, media_type="image/jpeg", headers=headers)


async def photo_file(request: Request) -> Response:
    """Her own photo, whatever its state, to its owner (never stored by the browser: her session
    makes the response `no-store`); to anyone else, only a photo the public may see."""
    tenant = kit.tenant(request, feature="publication")
    key = request.path_params["key"]
    if not KEY.fullmatch(key):
        raise NotFound()  # no key of ours: not worth a query
    thumbnail = request.url.path.endswith("/miniature")
    account = current_account(request)
    async with database(request) as db:
        content = None
        if account is not None:
            try:
                content = await own_file(db, tenant, account, key, thumbnail)
            except NotFound:
                content = None
        if content is not None:
            cache = "private, no-store"
        else:
            content = await public_file(db, tenant, key, thumbnail)
            cache = PUBLIC_CACHE
    return image_response(request, content, f'"{key}{"-m" if thumbnail else ""}"', cache)


routes = [
    Route(PAGE, photos_page, methods=["GET", "POST"]),
    Route(PAGE + "/{photo_id:id}/description", photo_description, methods=["POST"]),
    Route(PAGE + "/{photo_id:id}/supprimer", photo_delete, methods=["GET", "POST"]),
    Route("/photos/{key:str}", photo_file),
    Route("/photos/{key:str}/miniature", photo_file),
]
