"""Messages from the département's services (seed 001 §2.3): what an assistant may read, its
read and archived marks, and the staff's writing of a message.

Every query is scoped twice: by tenant, and by recipient (a general message, or a personal one
to this account). A list page is one query (the account's state joined with an outer join,
the total counted by a window function, LIMIT/OFFSET), whatever the number of messages."""

from __future__ import annotations

from dataclasses import dataclass
from functools import cache
from typing import Any

from sqlalchemy import Integer, String, and_, bindparam, case, func, or_, select, union_all, update
from sqlalchemy.dialects.postgresql import insert as pg_insert
from sqlalchemy.dialects.sqlite import insert as sqlite_insert
from sqlalchemy.ext.asyncio import AsyncSession

from assmat.auth.identifiers import normalize_identifier
from assmat.auth.models import Account
from assmat.core import clock
from assmat.core.db.like import LIKE_ESCAPE, contains_pattern
from assmat.core.errors import Invalid, NotFound
from assmat.core.i18n import gettext as _
from assmat.core.mail.outbox import InvalidRecipient, enqueue
from assmat.core.security import audit
from assmat.core.security.audit import EventType
from assmat.portal.messages.models import Message, MessageState, search_text
from assmat.tenants.loader import Tenant

SORTS = ("date", "expediteur", "destinataire", "objet")
EVERYONE = "tous les assistants maternels"  # the console's word for a general message
SUBJECT_MAX = 300
SENDER_MAX = 200
BODY_MAX = 20_000


def everyone_label() -> str:
    return _("all licensed childminders")


def account_name(account: Account) -> str:
    names = " ".join(part for part in (account.first_name, account.last_name) if part)
    return names or account.identifier


def check_reader(account: Account) -> None:
    """Messages are written to the licensed childminders: structures and parents have none to read."""
    if account.kind != "assistant":
        raise NotFound()


# -- reading ------------------------------------------------------------------------------------


# The reading statements are built once per shape, over bound parameters (the tenant, the
# reader, the labels, the page): a page binds its values and SQLAlchemy's compiled cache
# answers. Building the dashboard's union for each request cost a fifth of the page's CPU.
TENANT, READER = bindparam("tenant_id", type_=String), bindparam("account_id", type_=Integer)


def _reading(tenant: Tenant, account: Account) -> dict[str, Any]:
    return {"tenant_id": tenant.slug, "account_id": account.id}


def _visible() -> Any:
    """The messages the reader may see: the tenant's general ones and its own personal ones."""
    return and_(
        Message.tenant_id == TENANT,
        or_(Message.recipient_account_id.is_(None), Message.recipient_account_id == READER),
    )


def _received(archived: bool) -> Any:
    """The reader's received (or archived) messages with its read mark, unsorted."""
    state = and_(MessageState.message_id == Message.id, MessageState.account_id == READER, MessageState.tenant_id == TENANT)
    return (
        select(
            Message.id, Message.created_at, Message.sender, Message.subject, Message.recipient_account_id,
            MessageState.read_at,
        )
        .select_from(Message)
        .outerjoin(MessageState, state)
        .where(_visible())
        .where(MessageState.archived_at.is_not(None) if archived else MessageState.archived_at.is_(None))
    )


def _entry(row: Any, account: Account) -> dict[str, Any]:
    return {
        "id": row.id, "date": clock.local(row.created_at), "sender": row.sender, "subject": row.subject,
        "recipient": everyone_label() if row.recipient_account_id is None else account_name(account),
        "general": row.recipient_account_id is None, "unread": row.read_at is None,
    }


@cache
def _latest_statement(count: int) -> Any:
    """The general and the personal messages, each read newest first along (tenant, recipient,
    time) and cut at `count`, then merged: the cost stays the same however many messages other
    assistants of the tenant get."""
    newest = (Message.created_at.desc(), Message.id.desc())
    parts = [
        _received(archived=False).where(recipient).order_by(*newest).limit(count).subquery()
        for recipient in (Message.recipient_account_id.is_(None), Message.recipient_account_id == READER)
    ]
    both = union_all(select(parts[0]), select(parts[1])).subquery()
    return select(both).order_by(both.c.created_at.desc(), both.c.id.desc()).limit(count)


async def latest_messages(db: AsyncSession, tenant: Tenant, account: Account, count: int) -> list[dict[str, Any]]:
    """The dashboard's "Mes messages": the newest received ones, one query."""
    rows = (await db.execute(_latest_statement(count), _reading(tenant, account))).all()
    return [_entry(row, account) for row in rows]


@dataclass(frozen=True)
class Listing:
    messages: list[dict[str, Any]]
    total: int


@cache
def _listing_statement(archived: bool, sort: str, order: str, searched: bool) -> Any:
    recipient = case((Message.recipient_account_id.is_(None), bindparam("everyone", type_=String)),
                     else_=bindparam("reader_name", type_=String))
    keys = {
        "date": Message.created_at,
        "expediteur": func.lower(Message.sender),
        "destinataire": func.lower(recipient),
        "objet": func.lower(Message.subject),
    }
    key = keys[sort]
    direction = key.desc() if order == "desc" else key.asc()
    tie = (Message.created_at.desc(), Message.id.desc()) if sort != "date" or order == "desc" else (Message.id.asc(),)
    stmt = _received(archived).add_columns(func.count().over().label("total"))
    if searched:
        # Folded on both sides (no accents, lower case): « meteo » finds « Alerte météo ».
        stmt = stmt.where(Message.search_text.like(bindparam("query", type_=String), escape=LIKE_ESCAPE))
    return (stmt.order_by(direction, *tie)
            .limit(bindparam("page_size", type_=Integer)).offset(bindparam("skipped", type_=Integer)))


async def list_messages(
    db: AsyncSession, tenant: Tenant, account: Account, *, archived: bool, sort: str, order: str, query: str,
    page_number: int, page_size: int,
) -> Listing:
    """One page of the received (or archived) messages, sorted by a column of SORTS, searched
    by `query`; one query, the total counted alongside."""
    stmt = _listing_statement(archived, sort, order, bool(query))
    rows = (await db.execute(stmt, {
        **_reading(tenant, account), "everyone": everyone_label(), "reader_name": account_name(account),
        "query": contains_pattern(search_text(query)), "page_size": page_size, "skipped": (page_number - 1) * page_size,
    })).all()
    return Listing([_entry(row, account) for row in rows], rows[0].total if rows else 0)


async def _visible_message(db: AsyncSession, tenant: Tenant, account: Account, message_id: int) -> Message:
    message = await db.scalar(select(Message).where(Message.id == message_id, _visible()), _reading(tenant, account))
    if message is None:
        raise NotFound()
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


@dataclass(frozen=True)
class Reading:
    message: Message
    archived: bool


async def read_message(db: AsyncSession, tenant: Tenant, account: Account, message_id: int) -> Reading:
    """The message, if this account may see it (else NotFound), marked read. The caller commits."""
    message = await _visible_message(db, tenant, account, message_id)
    await _set_state(db, tenant, account, message, read_at=clock.now())
    archived = await db.scalar(
        select(MessageState.archived_at).where(
            MessageState.tenant_id == tenant.slug, MessageState.message_id == message.id,
            MessageState.account_id == account.id,
        )
    )
    return Reading(message, archived is not None)


async def set_archived(db: AsyncSession, tenant: Tenant, account: Account, message_id: int, archived: bool) -> None:
    """Archive (or bring back) a message this account may see, else NotFound. The caller commits."""
    message = await _visible_message(db, tenant, account, message_id)
    await _set_state(db, tenant, account, message, archived_at=clock.now() if archived else None)


# -- writing (the staff's console) ---------------------------------------------------------------


async def write_message(
    db: AsyncSession, tenant: Tenant, values: dict[str, str], *, by: str, base_url: str
) -> Message:
    """A message from the staff member `by`, to every assistant of the tenant (`destinataire`
    "tous") or to the one whose identifier is `identifiant` ("un"). A personal message also
    queues a notice to the assistant's address, in the same transaction: it says a message is
    waiting, never what it says. Raises Invalid whose field_errors hold the console's French
    messages, in the form's order. The caller commits."""
    sender = " ".join(values.get("expediteur", "").split())
    subject = " ".join(values.get("objet", "").split())
    body = values.get("corps", "").replace("\r\n", "\n").strip()
    choice = values.get("destinataire", "")
    errors: dict[str, str] = {}
    if not sender or len(sender) > SENDER_MAX:
        errors["expediteur"] = f"Indiquez l'expéditeur ({SENDER_MAX} caractères au plus)."
    if not subject or len(subject) > SUBJECT_MAX:
        errors["objet"] = f"Indiquez l'objet ({SUBJECT_MAX} caractères au plus)."
    if not body or len(body) > BODY_MAX:
        errors["corps"] = f"Écrivez le message ({BODY_MAX} caractères au plus)."
    if choice not in ("tous", "un"):
        errors["destinataire"] = "Choisissez le destinataire."
    recipient: Account | None = None
    if choice == "un":
        identifier = normalize_identifier(tenant.config.login.identifier, values.get("identifiant", ""))
        if identifier is not None:
            recipient = await db.scalar(select(Account).where(
                Account.tenant_id == tenant.slug, Account.identifier == identifier, Account.kind == "assistant",
            ))
        if recipient is None:
            errors["identifiant"] = "Aucun assistant maternel de votre département n'a cet identifiant."
    if errors:
        raise Invalid(field_errors=errors)
    message = Message(
        tenant_id=tenant.slug, sender=sender, subject=subject, body=body,
        recipient_account_id=recipient.id if recipient is not None else None,
    )
    db.add(message)
    await db.flush()
    notified = False
    if recipient is not None and recipient.email:
        try:
            await enqueue(db, tenant, "personal_message_notice", recipient.email, {}, base_url=base_url)
            notified = True
        except InvalidRecipient:  # an address stored before the shared rule: the message still goes
            await audit.record(db, tenant.slug, EventType.MAIL_NOT_SENT, account_id=recipient.id,
                               template="personal_message_notice", reason="invalid_address")
    await audit.record(db, tenant.slug, EventType.MESSAGE_SENT, account_id=recipient.id if recipient is not None else None,
                       message_id=message.id, general=recipient is None, email_notice=notified, by=by)
    return message
