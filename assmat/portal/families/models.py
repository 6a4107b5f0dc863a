"""Tables of portal.families. Each row belongs to a family account (ON DELETE CASCADE: deleting
the account deletes them) and is keyed by its tenant like every other table."""

from __future__ import annotations

from datetime import datetime

from sqlalchemy import Boolean, ForeignKey, Index, String, Text, UniqueConstraint, false
from sqlalchemy.orm import Mapped, mapped_column

from assmat.core.db.base import Base, _now, same_tenant, tenant_key


class Favourite(Base):
    """A fiche the family keeps, by its public id: the fiche may stop being published, the
    favourite then says so and shows nothing of it."""

    __tablename__ = "family_favourites"
    __table_args__ = (
        UniqueConstraint("tenant_id", "account_id", "public_id"),
        same_tenant("account_id", "accounts", ondelete="CASCADE"),
    )

    id: Mapped[int] = mapped_column(primary_key=True)
    tenant_id: Mapped[str] = mapped_column(ForeignKey("tenants.slug"))
    account_id: Mapped[int]
    public_id: Mapped[str] = mapped_column(String(16))
    created_at: Mapped[datetime] = mapped_column(default=_now)


class SavedSearch(Base):
    """A search of `/recherche` kept under a name: its criteria as the search's own canonical
    query string, read again by assmat.portal.directory.page each time it is used."""

    __tablename__ = "family_searches"
    __table_args__ = (
        Index("ix_family_searches_tenant_account", "tenant_id", "account_id"),
        same_tenant("account_id", "accounts", ondelete="CASCADE"),
        tenant_key(),
    )

    id: Mapped[int] = mapped_column(primary_key=True)
    tenant_id: Mapped[str] = mapped_column(ForeignKey("tenants.slug"))
    account_id: Mapped[int]
    name: Mapped[str] = mapped_column(String(100))
    query: Mapped[str] = mapped_column(String(2000))
    created_at: Mapped[datetime] = mapped_column(default=_now)
    alerted_at: Mapped[datetime | None]  # the last alert mailed


class SearchNotice(Base):
    """What a saved search already told the family about, once each: a fiche that matches
    (`e:<public id>`) or a declared future place that came near (`p:<public id>:<age group>:<date>`)."""

    __tablename__ = "family_search_notices"
    __table_args__ = (
        UniqueConstraint("tenant_id", "search_id", "key"),
        same_tenant("search_id", "family_searches", ondelete="CASCADE"),
    )

    id: Mapped[int] = mapped_column(primary_key=True)
    tenant_id: Mapped[str] = mapped_column(ForeignKey("tenants.slug"))
    search_id: Mapped[int]
    key: Mapped[str] = mapped_column(String(80))
    noticed_at: Mapped[datetime] = mapped_column(default=_now)


class ContactRequest(Base):
    """A family's message to an assistant, relayed by email, and her answer, relayed back. Each
    side's address travels only where that side chose to share it."""

    __tablename__ = "contact_requests"
    __table_args__ = (
        Index("ix_contact_requests_tenant_family", "tenant_id", "family_account_id"),
        Index("ix_contact_requests_tenant_assistant", "tenant_id", "assistant_account_id"),
        same_tenant("family_account_id", "accounts", ondelete="CASCADE"),
        same_tenant("assistant_account_id", "accounts", ondelete="CASCADE"),
    )

    id: Mapped[int] = mapped_column(primary_key=True)
    tenant_id: Mapped[str] = mapped_column(ForeignKey("tenants.slug"))
    family_account_id: Mapped[int]
    assistant_account_id: Mapped[int]
    public_id: Mapped[str] = mapped_column(String(16))  # her fiche, as the family reached it
    message: Mapped[str] = mapped_column(Text)
    phone: Mapped[str | None] = mapped_column(String(20))
    share_email: Mapped[bool] = mapped_column(Boolean, default=False, server_default=false())
    created_at: Mapped[datetime] = mapped_column(default=_now)
    answer: Mapped[str | None] = mapped_column(Text)
    answer_shares_email: Mapped[bool] = mapped_column(Boolean, default=False, server_default=false())
    answered_at: Mapped[datetime | None]


class ContactClosed(Base):
    """An assistant who receives no contact requests: her fiche shows no contact button."""

    __tablename__ = "contact_closed"
    __table_args__ = (
        UniqueConstraint("tenant_id", "account_id"),
        same_tenant("account_id", "accounts", ondelete="CASCADE"),
    )

    id: Mapped[int] = mapped_column(primary_key=True)
    tenant_id: Mapped[str] = mapped_column(ForeignKey("tenants.slug"))
    account_id: Mapped[int]
    closed_at: Mapped[datetime] = mapped_column(default=_now)
