"""Messages from the département's services (seed 001 §2.3): the received list, the archived
list, one message, archive and unarchive. Assistants only read: they never send. The queries
and marks are assmat.portal.messages.service's."""

from __future__ import annotations

from typing import Any
from urllib.parse import urlencode

from starlette.requests import Request
from starlette.responses import Response
from starlette.routing import Route

from assmat.auth.guards import signed_in
from assmat.core import clock
from assmat.auth.models import Account
from assmat.core.i18n import gettext as _
from assmat.portal.messages.service import (
    SORTS,
    account_name,
    check_reader,
    everyone_label,
    list_messages,
    read_message,
    set_archived,
)
from assmat.tenants.loader import Tenant
from assmat.web import ids  # noqa: F401 - the {…:id} path converter
from assmat.web import kit
from assmat.web.kit import database, page, redirect

PAGE_SIZE = 20
SEARCH_MAX = 200


def _reader(request: Request) -> tuple[Tenant, Account]:
    tenant = kit.tenant(request, feature="messages")
    account = signed_in(request)
    check_reader(account)
    return tenant, account


def _listing_params(request: Request) -> tuple[str, str, str, int]:
    params = request.query_params
    sort = params.get("tri", "date")
    if sort not in SORTS:
        sort = "date"
    order = params.get("ordre", "desc" if sort == "date" else "asc")
    if order not in ("asc", "desc"):
        order = "desc"
    query = " ".join(params.get("q", "").split())[:SEARCH_MAX]
    try:
        page_number = max(1, min(int(params.get("page", "1")), 100_000))
    except ValueError:
        page_number = 1
    return sort, order, query, page_number


async def _listing(request: Request, archived: bool) -> Response:
    tenant, account = _reader(request)
    sort, order, query, page_number = _listing_params(request)
    async with database(request) as db:
        listing = await list_messages(db, tenant, account, archived=archived, sort=sort, order=order, query=query,
                                      page_number=page_number, page_size=PAGE_SIZE)
    total = listing.total
    pages = max(1, -(-total // PAGE_SIZE))
    base = "/espace/messages/archives" if archived else "/espace/messages"

    def link(**changes: Any) -> str:
        values: dict[str, Any] = {"tri": sort, "ordre": order, "q": query, "page": page_number, **changes}
        values = {k: v for k, v in values.items() if v not in ("", None) and not (k == "page" and v == 1)}
        return f"{base}?{urlencode(values)}" if values else base

    def sort_link(column: str) -> str:
        next_order = "asc" if sort == column and order == "desc" else ("desc" if sort == column else ("desc" if column == "date" else "asc"))
        return link(tri=column, ordre=next_order, page=1)

    columns = [("date", _("Date")), ("expediteur", _("Sender")), ("destinataire", _("Recipient")), ("objet", _("Subject"))]
    return page(request, "messages_list.html", {
        "account": account, "archived": archived, "messages": listing.messages, "query": query, "sort": sort,
        "order": order, "columns": [{"key": k, "label": label, "url": sort_link(k), "active": sort == k} for k, label in columns],
        "page_number": page_number, "pages": pages, "total": total,
        "previous_url": link(page=page_number - 1) if page_number > 1 else None,
        "next_url": link(page=page_number + 1) if page_number < pages else None,
        "base": base,
    })


async def inbox(request: Request) -> Response:
    return await _listing(request, archived=False)


async def archives(request: Request) -> Response:
    return await _listing(request, archived=True)


async def read(request: Request) -> Response:
    tenant, account = _reader(request)
    async with database(request) as db:
        reading = await read_message(db, tenant, account, request.path_params["message_id"])
        await db.commit()
        message = reading.message
        context = {
            "account": account, "message": message, "date": clock.local(message.created_at),
            "recipient": everyone_label() if message.recipient_account_id is None else account_name(account),
            "archived": reading.archived,
        }
    return page(request, "messages_read.html", context)


async def _archive(request: Request, archive: bool) -> Response:
    tenant, account = _reader(request)
    await kit.form(request)
    async with database(request) as db:
        await set_archived(db, tenant, account, request.path_params["message_id"], archive)
        await db.commit()
    return redirect("/espace/messages" if archive else "/espace/messages/archives")


async def archive(request: Request) -> Response:
    return await _archive(request, True)


async def unarchive(request: Request) -> Response:
    return await _archive(request, False)


routes = [
    Route("/espace/messages", inbox),
    Route("/espace/messages/archives", archives),
    Route("/espace/messages/{message_id:id}", read),
    Route("/espace/messages/{message_id:id}/archiver", archive, methods=["POST"]),
    Route("/espace/messages/{message_id:id}/desarchiver", unarchive, methods=["POST"]),
]
