"""The tenant guard (tests/support/tenant_guard.py) catches a statement on a tenant's rows that
does not name the tenant, lets through the ones that do, and knows its allowances by name."""

from __future__ import annotations

import asyncio
from collections.abc import Iterator
from datetime import UTC, datetime

import pytest
from sqlalchemy import create_engine, delete, exists, func, pool, select, update

from assmat.auth.models import Account
from assmat.core.db.engine import make_engine, make_sessionmaker, sync_url
from assmat.core.db.purge import Retention, purge
from assmat.portal.children.models import CarePeriod, Child
from assmat.portal.messages.models import Message, MessageState
from tests.support.tenant_guard import ALLOWANCES, TenantGuard

# The statements the guard reads are each dialect's: both backends.
pytestmark = pytest.mark.both_backends


@pytest.fixture
def strict(tenant_guard: TenantGuard) -> Iterator[TenantGuard]:
    """The guard, judging this test's own statements as if the application had written them."""
    tenant_guard.take()
    tenant_guard.trust_tests = False
    try:
        yield tenant_guard
    finally:
        tenant_guard.trust_tests = True
        tenant_guard.take()


def test_a_statement_without_the_tenant_fails_with_its_text(database_url, strict):
    engine = create_engine(sync_url(database_url), poolclass=pool.NullPool)
    try:
        with engine.connect() as connection:
            connection.execute(select(Account.id).where(Account.id == 1))
            connection.execute(select(Account.id).where(Account.tenant_id == "gers", Account.id == 1))
    finally:
        engine.dispose()
    caught = strict.take()
    assert [(v.kind, v.tables) for v in caught] == [("SELECT", ("accounts",))]
    assert "FROM accounts WHERE accounts.id =" in caught[0].sql
    assert "without a tenant_id predicate" in str(caught[0])


def test_async_sessions_are_watched_and_the_purge_is_a_named_allowance(database_url, strict):
    async def run() -> None:
        engine = make_engine(database_url)
        try:
            sessionmaker = make_sessionmaker(engine)
            async with sessionmaker() as session:
                await session.execute(delete(Account).where(Account.identifier == "x"))
            await purge(sessionmaker, Retention(), now=datetime(2026, 1, 1, tzinfo=UTC))
        finally:
            await engine.dispose()

    asyncio.run(run())
    assert [(v.kind, v.tables) for v in strict.take()] == [("DELETE", ("accounts",))]
    assert [a.name for a in ALLOWANCES if "assmat.core.db.purge:purge" in a.functions] == ["purge"]


@pytest.mark.parametrize("statement, unscoped", [
    (select(Account), {"accounts"}),
    (select(Account).where(Account.tenant_id == "gers"), set()),
    (select(Account).where(Account.tenant_id.in_(["gers"])), set()),
    (select(Account).where((Account.tenant_id == "gers") | (Account.id == 1)), {"accounts"}),
    (select(Child).join(CarePeriod, CarePeriod.child_id == Child.id).where(Child.tenant_id == "gers"), {"care_periods"}),
    (select(Child).join(CarePeriod, (CarePeriod.tenant_id == Child.tenant_id) & (CarePeriod.child_id == Child.id))
     .where(Child.tenant_id == "gers"), set()),
    (select(Message.id).where(Message.tenant_id == "gers",
                              ~exists().where(MessageState.message_id == Message.id)), {"message_states"}),
    (select(Message.id).where(Message.tenant_id == "gers", ~exists().where(
        MessageState.tenant_id == Message.tenant_id, MessageState.message_id == Message.id)), set()),
    (select(func.count()).select_from(select(Child.id).where(Child.account_id == 3).subquery()), {"children"}),
    (update(Account).where(Account.id == 1).values(failed_logins=0), {"accounts"}),
    (update(Account).where(Account.tenant_id == "gers", Account.id == 1).values(failed_logins=0), set()),
    (delete(Child).where(Child.id.in_(select(Child.id).where(Child.tenant_id == "gers"))), {"children"}),
])
def test_what_counts_as_naming_the_tenant(tenant_guard, statement, unscoped):
    assert tenant_guard.unscoped_tables(statement) == unscoped


def test_an_account_matched_within_its_audit_events_tenant_is_scoped(tenant_guard):
    """The platform's audit trail spans tenants: each account is looked up in its event's tenant."""
    from sqlalchemy import or_

    from assmat.core.security.models import AuditEvent

    unscoped = select(AuditEvent).where(AuditEvent.account_id.in_(select(Account.id).where(Account.email == "a@b.fr")))
    scoped = select(AuditEvent).where(AuditEvent.account_id.in_(
        select(Account.id).where(Account.tenant_id == AuditEvent.tenant_id, or_(Account.email == "a@b.fr"))))
    assert tenant_guard.unscoped_tables(unscoped) == {"accounts"}
    assert tenant_guard.unscoped_tables(scoped) == set()


def test_the_unit_of_work_writes_back_what_a_scoped_select_loaded(database_url, strict):
    """Flushing an object loaded with its tenant updates it by primary key: allowed, as the
    load named the tenant; the same UPDATE written by hand is not."""
    from sqlalchemy.orm import Session

    from assmat.tenants.models import TenantRow

    engine = create_engine(sync_url(database_url), poolclass=pool.NullPool)
    try:
        with Session(engine, expire_on_commit=False) as session:  # as the app's sessions
            session.add(TenantRow(slug="gers", name="Gers"))
            session.flush()  # no relationship orders the two inserts
            session.add(Account(tenant_id="gers", identifier="a1"))
            session.commit()
            account = session.scalar(select(Account).where(Account.tenant_id == "gers", Account.identifier == "a1"))
            account.first_name = "Ana"
            session.commit()
            session.execute(update(Account).where(Account.id == account.id).values(last_name="B"))
            session.commit()
    finally:
        engine.dispose()
    assert [(v.kind, v.tables) for v in strict.take()] == [("UPDATE", ("accounts",))]
