"""Tables of portal.messages."""

from __future__ import annotations

import unicodedata
from datetime import datetime
from typing import Any

from sqlalchemy import ForeignKey, Index, String, Text, UniqueConstraint, event
from sqlalchemy.orm import Mapped, mapped_column

from assmat.core.db.base import Base, _now, same_tenant, tenant_key


class Message(Base):
    """A message from the département's services: general (recipient None: every assistant of
    the tenant) or personal. Assistants cannot send any (seed 001 §2.3)."""

    __tablename__ = "messages"
    __table_args__ = (
        Index("ix_messages_tenant_time", "tenant_id", "created_at"),
        Index("ix_messages_tenant_recipient_time", "tenant_id", "recipient_account_id", "created_at"),
        same_tenant("recipient_account_id", "accounts", ondelete="CASCADE"),
        tenant_key(),
    )

    id: Mapped[int] = mapped_column(primary_key=True)
    tenant_id: Mapped[str] = mapped_column(ForeignKey("tenants.slug"))
    sender: Mapped[str] = mapped_column(String(200))  # a label, e.g. the service name
    recipient_account_id: Mapped[int | None]
    subject: Mapped[str] = mapped_column(String(300))
    body: Mapped[str] = mapped_column(Text)
    created_at: Mapped[datetime] = mapped_column(default=_now)
    # sender, subject and body folded by search_text(): what the inbox's search matches, alike on
    # SQLite and PostgreSQL. Written with the message (below), filled for older ones by 0006.
    search_text: Mapped[str] = mapped_column(Text, default="", server_default="")


def search_text(*parts: str | None) -> str:
    """Text as search compares it: without accents, lower case, single spaces, so that
    « meteo », « MÉTÉO » and « Météo » all find « Alerte météo »."""
    decomposed = unicodedata.normalize("NFKD", " ".join(part for part in parts if part))
    letters = "".join(c for c in decomposed if not unicodedata.combining(c))
    return " ".join(letters.casefold().split())


@event.listens_for(Message, "before_insert")
@event.listens_for(Message, "before_update")
def _fold_for_search(_mapper: Any, _connection: Any, message: Message) -> None:
    message.search_text = search_text(message.sender, message.subject, message.body)


class MessageState(Base):
    """What one assistant did with one message: read, archived. No row: unread, in the inbox."""

    __tablename__ = "message_states"
    __table_args__ = (
        UniqueConstraint("tenant_id", "message_id", "account_id", name="uq_message_states_tenant_message_account"),
        Index("ix_message_states_account_message", "account_id", "message_id"),
        same_tenant("message_id", "messages", ondelete="CASCADE"),
        same_tenant("account_id", "accounts", ondelete="CASCADE"),
    )

    id: Mapped[int] = mapped_column(primary_key=True)
    tenant_id: Mapped[str] = mapped_column(ForeignKey("tenants.slug"))
    message_id: Mapped[int]
    account_id: Mapped[int]
    read_at: Mapped[datetime | None]
    archived_at: Mapped[datetime | None]
