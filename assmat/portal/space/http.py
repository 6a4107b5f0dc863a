"""The assistant's space: the dashboard (seed 001 §2.1), « Mon agrément » (§2.2) and the
« Signaler un changement de situation » form (seed 002) that reaches the staff's console.

Every section follows the tenant's `features`; every query is bound to the signed-in account
and its tenant. The dashboard costs the same few queries whatever the data: the latest
messages (one), the current children (two), the agréments (one)."""

from __future__ import annotations

from datetime import timedelta
from typing import Any

from sqlalchemy import select
from sqlalchemy.ext.asyncio import AsyncSession
from starlette.exceptions import HTTPException
from starlette.requests import Request
from starlette.responses import Response
from starlette.routing import Route

from assmat.core import clock
from assmat.core.security import audit
from assmat.core.security.audit import EventType
from assmat.core.security.ratelimit import hit
from assmat.auth.models import Account
from assmat.portal.agrement.models import Agrement
from assmat.portal.space.models import SituationChange
from assmat.core.i18n import gettext as _
from assmat.core.mail.links import mail_base_url
from assmat.core.mail.outbox import enqueue
from assmat.portal.children.http import current_children
from assmat.portal.messages.http import account_name, latest_messages
from assmat.tenants.loader import Tenant
from assmat.web import kit
from assmat.auth.guards import signed_in
from assmat.web.kit import client_ip, database, page, redirect

DASHBOARD_MESSAGES = 5  # seed 001's dashboard shows the latest few, "Voir plus..." leads to the list
DASHBOARD_CHILDREN = 10  # an agrément is for 6 children at most: the list page has the rest
SITUATION_MAX = 5000
SITUATION_LIMIT = 5  # reports per account and day: enough for any real change, not a flood of mail

async def _agrements(db: AsyncSession, tenant: Tenant, account: Account) -> list[Agrement]:
    return list(await db.scalars(
        select(Agrement).where(Agrement.tenant_id == tenant.slug, Agrement.account_id == account.id)
        .order_by(Agrement.start_date.desc().nulls_last(), Agrement.id.desc())
    ))


async def dashboard(request: Request) -> Response:
    tenant = kit.tenant(request)
    account = signed_in(request)
    features = tenant.config.features
    context: dict[str, Any] = {"account": account, "messages": None, "children": None, "agrements": None}
    async with database(request) as db:
        # Messages are written to the licensed childminders (structures and parents get none).
        if features.messages and account.kind == "assistant":
            context["messages"] = await latest_messages(db, tenant, account, DASHBOARD_MESSAGES)
        if features.children:
            context["children"] = await current_children(db, tenant, account, clock.today(), DASHBOARD_CHILDREN)
        if features.agrement:
            context["agrements"] = await _agrements(db, tenant, account)
    return page(request, "dashboard.html", context)


async def documents(request: Request) -> Response:
    """« Documents utiles » (seed 001 §2.1.3): the département's links, also on the dashboard."""
    tenant = kit.tenant(request)
    if not tenant.config.features.documents:
        raise HTTPException(404)
    account = signed_in(request)
    return page(request, "documents.html", {"account": account})


def _agrement_tenant(request: Request) -> Tenant:
    tenant = kit.tenant(request)
    if not tenant.config.features.agrement:
        raise HTTPException(404)
    return tenant


async def agrement(request: Request) -> Response:
    tenant = _agrement_tenant(request)
    account = signed_in(request)
    async with database(request) as db:
        agrements = await _agrements(db, tenant, account)
    return page(request, "agrement.html", {"account": account, "agrements": agrements})


async def situation_change(request: Request) -> Response:
    tenant = _agrement_tenant(request)
    account = signed_in(request)
    if request.method == "GET":
        return page(request, "situation_change.html", {"values": {}})
    form = await kit.form(request)
    message = form.get("message", "").strip()
    if not message or len(message) > SITUATION_MAX:
        error = _("Please describe the change (5,000 characters at most).")
        return page(request, "situation_change.html", {"values": form, "field_errors": {"message": error}}, 400)
    async with database(request) as db:
        if not await hit(db, tenant.slug, "situation_change", f"account:{account.id}", limit=SITUATION_LIMIT,
                         window=timedelta(days=1)):
            await db.commit()
            return page(request, "situation_change.html", {"values": form, "error": _(
                "You have sent several reports today. Please try again tomorrow, or contact the département's services."
            )}, 429)
        change = SituationChange(tenant_id=tenant.slug, account_id=account.id, message=message)
        db.add(change)
        await db.flush()
        await enqueue(db, tenant, "situation_change_admin", tenant.config.branding.admin_email, {
            "name": account_name(account), "identifier": account.identifier, "message": message,
        }, base_url=mail_base_url(request.app.state.settings, tenant))
        audit.record(db, tenant.slug, EventType.SITUATION_CHANGE_SENT, account_id=account.id, ip=client_ip(request),
                     situation_change_id=change.id)
        await db.commit()
    return redirect("/espace/agrement", info="situation_sent")


routes = [
    Route("/espace", dashboard),
    Route("/espace/documents", documents),
    Route("/espace/agrement", agrement),
    Route("/espace/agrement/changement-situation", situation_change, methods=["GET", "POST"]),
]
