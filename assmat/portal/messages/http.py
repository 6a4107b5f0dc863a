"""Messages from the département's services (seed 001 §2.3): the received list, the archived
list, one message, archive and unarchive. Assistants only read: they never send.

Every query is scoped twice: by tenant, and by recipient (a general message, or a personal one
to this account). A list page is one query (the account's state joined with an outer join,
the total counted by a window function, LIMIT/OFFSET), whatever the number of messages."""

from __future__ import annotations

from datetime import UTC, datetime
from typing import Any
from urllib.parse import urlencode

from sqlalchemy import String, and_, case, func, literal, or_, select, union_all, update
from sqlalchemy.dialects.postgresql import insert as pg_insert
from sqlalchemy.dialects.sqlite import insert as sqlite_insert
from sqlalchemy.ext.asyncio import AsyncSession
from starlette.exceptions import HTTPException
from starlette.requests import Request
from starlette.responses import Response
from starlette.routing import Route

from assmat.core import clock
from assmat.auth.models import Account
from assmat.portal.messages.models import Message, MessageState, search_text
from assmat.core.i18n import gettext as _
from assmat.tenants.loader import Tenant
from assmat.web import ids  # noqa: F401 - the {…:id} path converter
from assmat.web import kit
from assmat.auth.guards import signed_in
from assmat.web.kit import database, page, redirect

PAGE_SIZE = 20
SORTS = ("date", "expediteur", "destinataire", "objet")
SEARCH_MAX = 200


def _messages_tenant(request: Request) -> Tenant:
    tenant = kit.tenant(request)
    if not tenant.config.features.messages:
        raise HTTPException(404)
    return tenant


def everyone_label() -> str:
    return _("all licensed childminders")


def account_name(account: Account) -> str:
    names = " ".join(part for part in (account.first_name, account.last_name) if part)
    return names or account.identifier


def _visible(tenant: Tenant, account: Account) -> Any:
    """The messages this account may see: the tenant's general ones and its own personal ones."""
    return and_(
        Message.tenant_id == tenant.slug,
        or_(Message.recipient_account_id.is_(None), Message.recipient_account_id == account.id),
    )


def _state_join(tenant: Tenant, account: Account) -> Any:
    return and_(
        MessageState.message_id == Message.id,
        MessageState.account_id == account.id,
        MessageState.tenant_id == tenant.slug,
    )


def local_time(value: datetime) -> datetime:
    if value.tzinfo is None:
        value = value.replace(tzinfo=UTC)
    return clock.local(value)


def _received(tenant: Tenant, account: Account, archived: bool) -> Any:
    """The account's received (or archived) messages with its read mark, unsorted."""
    return (
        select(
            Message.id, Message.created_at, Message.sender, Message.subject, Message.recipient_account_id,
            MessageState.read_at,
        )
        .select_from(Message)
        .outerjoin(MessageState, _state_join(tenant, account))
        .where(_visible(tenant, account))
        .where(MessageState.archived_at.is_not(None) if archived else MessageState.archived_at.is_(None))
    )


def _entry(row: Any, account: Account) -> dict[str, Any]:
    return {
        "id": row.id, "date": local_time(row.created_at), "sender": row.sender, "subject": row.subject,
        "recipient": everyone_label() if row.recipient_account_id is None else account_name(account),
        "general": row.recipient_account_id is None, "unread": row.read_at is None,
    }


async def latest_messages(db: AsyncSession, tenant: Tenant, account: Account, count: int) -> list[dict[str, Any]]:
    """The dashboard's "Mes messages": the newest received ones, one query. The general and the
    personal ones are each read newest first along (tenant, recipient, time) and cut at `count`:
    the cost stays the same however many messages other assistants of the tenant get."""
    newest = (Message.created_at.desc(), Message.id.desc())
    parts = [
        _received(tenant, account, archived=False).where(recipient).order_by(*newest).limit(count).subquery()
        for recipient in (Message.recipient_account_id.is_(None), Message.recipient_account_id == account.id)
    ]
    both = union_all(select(parts[0]), select(parts[1])).subquery()
    stmt = select(both).order_by(both.c.created_at.desc(), both.c.id.desc()).limit(count)
    return [_entry(row, account) for row in (await db.execute(stmt)).all()]


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
    tenant = _messages_tenant(request)
    account = signed_in(request)
    if account.kind != "assistant":  # messages are written to the licensed childminders
        raise HTTPException(404)
    sort, order, query, page_number = _listing_params(request)
    everyone = everyone_label()
    recipient = case((Message.recipient_account_id.is_(None), literal(everyone, String())), else_=literal(account_name(account), String()))
    keys = {
        "date": Message.created_at,
        "expediteur": func.lower(Message.sender),
        "destinataire": func.lower(recipient),
        "objet": func.lower(Message.subject),
    }
    key = keys[sort]
    direction = key.desc() if order == "desc" else key.asc()
    tie = (Message.created_at.desc(), Message.id.desc()) if sort != "date" or order == "desc" else (Message.id.asc(),)
    stmt = _received(tenant, account, archived).add_columns(func.count().over().label("total"))
    if query:
        # Folded on both sides (no accents, lower case): « meteo » finds « Alerte météo ».
        stmt = stmt.where(Message.search_text.contains(search_text(query), autoescape=True))
    stmt = stmt.order_by(direction, *tie).limit(PAGE_SIZE).offset((page_number - 1) * PAGE_SIZE)
    async with database(request) as db:
        rows = (await db.execute(stmt)).all()
    total = rows[0].total if rows else 0
    pages = max(1, -(-total // PAGE_SIZE))
    base = "/espace/messages/archives" if archived else "/espace/messages"

    def link(**changes: Any) -> str:
        values: dict[str, Any] = {"tri": sort, "ordre": order, "q": query, "page": page_number, **changes}
        values = {k: v for k, v in values.items() if v not in ("", None) and not (k == "page" and v == 1)}
        return f"{base}?{urlencode(values)}" if values else base

    def sort_link(column: str) -> str:
        next_order = "asc" if sort == column and order == "desc" else ("desc" if sort == column else ("desc" if column == "date" else "asc"))
        return link(tri=column, ordre=next_order, page=1)

    messages = [_entry(row, account) for row in rows]
    columns = [("date", _("Date")), ("expediteur", _("Sender")), ("destinataire", _("Recipient")), ("objet", _("Subject"))]
    return page(request, "messages_list.html", {
        "account": account, "archived": archived, "messages": messages, "query": query, "sort": sort, "order": order,
        "columns": [{"key": k, "label": label, "url": sort_link(k), "active": sort == k} for k, label in columns],
        "page_number": page_number, "pages": pages, "total": total,
        "previous_url": link(page=page_number - 1) if page_number > 1 else None,
        "next_url": link(page=page_number + 1) if page_number < pages else None,
        "base": base,
    })


async def inbox(request: Request) -> Response:
    return await _listing(request, archived=False)


async def archives(request: Request) -> Response:
    return await _listing(request, archived=True)


async def _visible_message(db: AsyncSession, tenant: Tenant, account: Account, message_id: int) -> Message:
    message = await db.scalar(select(Message).where(Message.id == message_id, _visible(tenant, account)))
    if message is None:
        raise HTTPException(404)
    return message


async def _set_state(db: AsyncSession, tenant: Tenant, account: Account, message: Message, **values: Any) -> None:
    """Upsert this account's state for the message: the row is created once (concurrent
    requests included), then the given columns are updated."""
    dialect = db.get_bind().dialect.name
    insert = pg_insert if dialect == "postgresql" else sqlite_insert
    await db.execute(
        insert(MessageState)
        .values(tenant_id=tenant.slug, message_id=message.id, account_id=account.id)
        .on_conflict_do_nothing(index_elements=["tenant_id", "message_id", "account_id"])
    )
    where = [
        MessageState.tenant_id == tenant.slug, MessageState.message_id == message.id, MessageState.account_id == account.id,
    ]
    if "read_at" in values:  # the first reading is the one kept
        where.append(MessageState.read_at.is_(None))
    await db.execute(update(MessageState).where(*where).values(**values).execution_options(synchronize_session=False))


async def read(request: Request) -> Response:
    tenant = _messages_tenant(request)
    account = signed_in(request)
    if account.kind != "assistant":  # messages are written to the licensed childminders
        raise HTTPException(404)
    async with database(request) as db:
        message = await _visible_message(db, tenant, account, request.path_params["message_id"])
        await _set_state(db, tenant, account, message, read_at=clock.now())
        archived = await db.scalar(
            select(MessageState.archived_at).where(
                MessageState.tenant_id == tenant.slug, MessageState.message_id == message.id,
                MessageState.account_id == account.id,
            )
        )
        await db.commit()
        context = {
            "account": account, "message": message, "date": local_time(message.created_at),
            "recipient": everyone_label() if message.recipient_account_id is None else account_name(account),
            "archived": archived is not None,
        }
    return page(request, "messages_read.html", context)


async def _archive(request: Request, archive: bool) -> Response:
    tenant = _messages_tenant(request)
    account = signed_in(request)
    if account.kind != "assistant":  # messages are written to the licensed childminders
        raise HTTPException(404)
    form = await kit.form(request)
    async with database(request) as db:
        message = await _visible_message(db, tenant, account, request.path_params["message_id"])
        await _set_state(db, tenant, account, message, archived_at=clock.now() if archive else None)
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
