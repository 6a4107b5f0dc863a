"""« Notre fiche »: a MAM's or relais' account edits the structure's public fiche (the page
`/structures/{id}`, in assmat.portal.profile, shows it); the public list of the tenant's relais.
The rules live in the service."""

from __future__ import annotations

from starlette.requests import Request
from starlette.responses import Response
from starlette.routing import Route

from assmat.auth.guards import signed_in
from assmat.auth.models import Account
from assmat.core.errors import Invalid, NotFound
from assmat.core.i18n import gettext as _
from assmat.portal.structures import service
from assmat.portal.structures.models import Structure
from assmat.tenants.loader import Tenant
from assmat.web import kit
from assmat.web.kit import database, page, redirect, register_notices

register_notices(structure_saved=lambda t: _("Our fiche has been saved."))


async def signed_in_structure(request: Request, db) -> tuple[Tenant, Account, Structure]:
    """The signed-in MAM or relais account and its structure; anyone else: NotFound."""
    tenant = kit.tenant(request, feature="structures")
    account = signed_in(request)
    if account.kind not in ("mam", "ram"):
        raise NotFound()
    structure = await service.structure_of(db, tenant, account.id)
    if structure is None:
        raise NotFound()
    return tenant, account, structure


def _form(request: Request, structure: Structure, values: dict[str, str], errors: dict[str, str] | None = None,
          status: int = 200) -> Response:
    return page(request, "structure_form.html", {"structure": structure, "values": values, "errors": errors or {},
                                                 "limits": service.FICHE_LIMITS}, status)


async def our_fiche(request: Request) -> Response:
    async with database(request) as db:
        tenant, account, structure = await signed_in_structure(request, db)
        if request.method == "GET":
            return _form(request, structure, service.fiche_values(structure))
        form = await kit.form(request, max_fields=len(service.FICHE_FIELDS) + 2)
        try:
            await service.save_fiche(db, tenant, structure, account, form)
        except Invalid as refused:  # refused before any change
            values = {field: service.clean(field, form.get(field, "")) for field in service.FICHE_FIELDS}
            return _form(request, structure, values, refused.field_errors, 400)
        await db.commit()
    return redirect("/espace/notre-fiche", info="structure_saved")


async def relais_list(request: Request) -> Response:
    """« La liste des RAM » (seed 002): each relais, its communes and « Voir les coordonnées »;
    a page only where the tenant has relais."""
    tenant = kit.tenant(request, feature="structures")
    if "ram" not in service.kinds_of(tenant.config):
        raise NotFound()
    async with database(request) as db:
        relais = await service.relais_list(db, tenant)
    return page(request, "relais_list.html",
                {"relais": [(structure, service.communes_of(structure)) for structure in relais]})


routes = [Route("/espace/notre-fiche", our_fiche, methods=["GET", "POST"]),
          Route("/relais", relais_list)]
