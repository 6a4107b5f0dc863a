"""« Mon agrément » (seed 001 §2.2), on tenants with `features.agrement`; its form « Signaler un
changement de situation » is assmat.portal.space's."""

from __future__ import annotations

from starlette.requests import Request
from starlette.responses import Response
from starlette.routing import Route

from assmat.auth.guards import signed_in
from assmat.portal.agrement.service import agrements_of
from assmat.web import kit
from assmat.web.kit import database, page


async def agrement(request: Request) -> Response:
    tenant = kit.tenant(request, feature="agrement")
    account = signed_in(request)
    async with database(request) as db:
        agrements = await agrements_of(db, tenant, account)
    return page(request, "agrement.html", {"account": account, "agrements": agrements})


routes = [Route("/espace/agrement", agrement)]
