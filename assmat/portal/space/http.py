"""The assistant's space: the dashboard (seed 001 §2.1), « Documents utiles » and the
« Signaler un changement de situation » form (seed 002) that reaches the staff's console.

Every section follows the tenant's `features`; every query is bound to the signed-in account
and its tenant. The dashboard costs the same few queries whatever the data: the latest
messages (one), the current children (two), the agréments (one), the availability (four), the
fiche's publication (two)."""

from __future__ import annotations

from typing import Any

from starlette.requests import Request
from starlette.responses import Response
from starlette.routing import Route

from assmat.auth.guards import signed_in
from assmat.core import clock
from assmat.core.errors import Invalid, NotFound, RateLimited
from assmat.core.i18n import gettext as _
from assmat.core.mail.links import mail_base_url
from assmat.portal.agrement.service import agrements_of
from assmat.portal.availability.service import state_of as availability_state_of
from assmat.portal.children.service import current_children
from assmat.portal.messages.service import latest_messages
from assmat.portal.publication.service import publication_status
from assmat.portal.space.service import relais_assistants, report_situation_change
from assmat.portal.structures.http import signed_in_structure
from assmat.portal.structures.service import structure_of
from assmat.web import kit
from assmat.web.kit import client_ip, database, page, redirect, register_notices

DASHBOARD_MESSAGES = 5  # seed 001's dashboard shows the latest few, "Voir plus..." leads to the list
DASHBOARD_CHILDREN = 10  # an agrément is for 6 children at most: the list page has the rest

register_notices(situation_sent=lambda t: _(
    "Your report has been sent to the département's services. They will contact you if needed."
))


async def dashboard(request: Request) -> Response:
    tenant = kit.tenant(request)
    account = signed_in(request)
    features = tenant.config.features
    context: dict[str, Any] = {"account": account, "messages": None, "children": None, "agrements": None,
                               "availability": None, "publication": None, "structure": None}
    async with database(request) as db:
        # Messages are written to the licensed childminders (structures and parents get none).
        if features.messages and account.kind == "assistant":
            context["messages"] = await latest_messages(db, tenant, account, DASHBOARD_MESSAGES)
        structure_account = account.kind in ("mam", "ram")  # a MAM or relais holds no agrément, hosts no child
        if features.children and not structure_account:
            context["children"] = await current_children(db, tenant, account, clock.today(), DASHBOARD_CHILDREN)
        if features.agrement and not structure_account:
            context["agrements"] = await agrements_of(db, tenant, account)
        if account.kind == "assistant":  # None where the tenant offers no availability
            context["availability"] = await availability_state_of(db, tenant, account.id)
        if tenant.config.offers("publication") and account.kind == "assistant":
            context["publication"] = await publication_status(db, tenant, account)
        if features.structures and account.kind in ("mam", "ram"):  # « Notre fiche », a relais' assistants
            context["structure"] = await structure_of(db, tenant, account.id)
    return page(request, "dashboard.html", context)


async def documents(request: Request) -> Response:
    """« Documents utiles » (seed 001 §2.1.3): the département's links, also on the dashboard."""
    kit.tenant(request, feature="documents")
    account = signed_in(request)
    return page(request, "documents.html", {"account": account})


async def situation_change(request: Request) -> Response:
    """Reached from « Mon agrément », on tenants that have it."""
    tenant = kit.tenant(request, feature="agrement")
    account = signed_in(request)
    if request.method == "GET":
        return page(request, "situation_change.html", {"values": {}})
    form = await kit.form(request)
    async with database(request) as db:
        try:
            await report_situation_change(db, tenant, account, form.get("message", ""), ip=client_ip(request),
                                          base_url=mail_base_url(request.app.state.settings, tenant))
        except Invalid as refused:
            return page(request, "situation_change.html", {"values": form, "field_errors": refused.field_errors}, 400)
        except RateLimited as refused:
            return page(request, "situation_change.html", {"values": form, "error": refused.message}, 429)
        await db.commit()
    return redirect("/espace/agrement", info="situation_sent")


async def relais_list(request: Request) -> Response:
    """A relais' assistants (its communes only, published or not), read-only."""
    async with database(request) as db:
        tenant, _account, structure = await signed_in_structure(request, db)
        if structure.kind != "ram":
            raise NotFound()
        assistants = await relais_assistants(db, tenant, structure)
    return page(request, "relais_assistants.html", {"structure": structure, "assistants": assistants,
                                                    "publishes": tenant.config.publication is not None})


routes = [
    Route("/espace", dashboard),
    Route("/espace/documents", documents),
    Route("/espace/relais/assistants", relais_list),
    Route("/espace/agrement/changement-situation", situation_change, methods=["GET", "POST"]),
]
