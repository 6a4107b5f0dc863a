"""Composite keys (0008): the database itself refuses a row that points at another tenant's
row, on both backends, and deleting a parent does what it did before (cascade, or SET NULL
that keeps the row's tenant)."""

from __future__ import annotations

from collections.abc import Iterator
from datetime import UTC, date, datetime

import pytest
from sqlalchemy import create_engine, event, pool, select
from sqlalchemy.exc import IntegrityError
from sqlalchemy.orm import Session

from assmat.auth.models import Account, Admin, UserSession
from assmat.core.db.engine import sync_url
from assmat.core.security.models import AuditEvent
from assmat.portal.children.models import CarePeriod, Child
from assmat.portal.imports.models import ImportRun
from assmat.portal.messages.models import Message, MessageState
from assmat.tenants.models import TenantRow

# The database itself refuses: its keys and their checks are each backend's own.
pytestmark = pytest.mark.both_backends

NOW = datetime(2026, 11, 2, 9, 0, tzinfo=UTC)


@pytest.fixture
def db(database_url: str) -> Iterator[Session]:
    """A session with foreign keys enforced, as the app's engine does on SQLite."""
    engine = create_engine(sync_url(database_url), poolclass=pool.NullPool)
    if engine.dialect.name == "sqlite":
        event.listen(engine, "connect", lambda connection, _record: connection.execute("PRAGMA foreign_keys=ON"))
    try:
        with Session(engine) as session:
            yield session
    finally:
        engine.dispose()


def child(tenant: str, account_id: int) -> Child:
    return Child(tenant_id=tenant, account_id=account_id, last_name="N", first_name="P", birth_date=date(2025, 1, 1),
                 address="1 rue", postal_code="32000", city="Auch")


@pytest.fixture
def world(db: Session) -> dict[str, int]:
    """Gers and Cestas, each with an account, a child, a message and a console admin."""
    db.add_all([TenantRow(slug="gers", name="Gers"), TenantRow(slug="cestas", name="Cestas")])
    db.flush()
    ids: dict[str, int] = {}
    for slug in ("gers", "cestas"):
        account = Account(tenant_id=slug, identifier="a1", email="a@example.org", email_key="a@example.org")
        admin = Admin(tenant_id=slug, email="s@example.org", email_key="s@example.org", role="admin")
        message = Message(tenant_id=slug, sender="PMI", subject="S", body="B")
        db.add_all([account, admin, message])
        db.flush()
        kid = child(slug, account.id)
        db.add(kid)
        db.flush()
        ids |= {f"{slug}_account": account.id, f"{slug}_admin": admin.id, f"{slug}_message": message.id,
                f"{slug}_child": kid.id}
    db.commit()
    return ids


CROSSING = {
    "child of another tenant's account": lambda ids: child("gers", ids["cestas_account"]),
    "care period of another tenant's child": lambda ids: CarePeriod(
        tenant_id="gers", child_id=ids["cestas_child"], childcare_type="standard", start_date=date(2026, 1, 1)),
    "state of another tenant's message": lambda ids: MessageState(
        tenant_id="gers", message_id=ids["cestas_message"], account_id=ids["gers_account"]),
    "message to another tenant's account": lambda ids: Message(
        tenant_id="gers", sender="PMI", subject="S", body="B", recipient_account_id=ids["cestas_account"]),
    "session of another tenant's account": lambda ids: UserSession(
        id="x" * 64, tenant_id="gers", account_id=ids["cestas_account"], expires_at=NOW),
    "audit event about another tenant's account": lambda ids: AuditEvent(
        tenant_id="gers", account_id=ids["cestas_account"], type="login.success"),
    "import run by another tenant's admin": lambda ids: ImportRun(
        tenant_id="gers", admin_id=ids["cestas_admin"], filename="f.csv"),
}


@pytest.mark.parametrize("case", CROSSING)
def test_the_database_refuses_a_row_pointing_into_another_tenant(db, world, case):
    db.add(CROSSING[case](world))
    with pytest.raises(IntegrityError):
        db.commit()


def test_rows_pointing_inside_their_tenant_are_accepted(db, world):
    db.add_all([
        child("gers", world["gers_account"]),
        CarePeriod(tenant_id="gers", child_id=world["gers_child"], childcare_type="standard", start_date=date(2026, 1, 1)),
        MessageState(tenant_id="gers", message_id=world["gers_message"], account_id=world["gers_account"]),
        AuditEvent(tenant_id="gers", account_id=world["gers_account"], type="login.success"),
        AuditEvent(tenant_id=None, account_id=None, type="platform.event"),
        ImportRun(tenant_id="gers", admin_id=world["gers_admin"], filename="f.csv"),
    ])
    db.commit()


def test_deleting_a_parent_cascades_or_sets_null_as_before(db, world):
    """Children, periods and states go with their account; an audit event and an import run
    lose their author but keep their tenant."""
    db.add_all([
        CarePeriod(tenant_id="gers", child_id=world["gers_child"], childcare_type="standard", start_date=date(2026, 1, 1)),
        MessageState(tenant_id="gers", message_id=world["gers_message"], account_id=world["gers_account"]),
        AuditEvent(tenant_id="gers", account_id=world["gers_account"], type="login.success"),
        ImportRun(tenant_id="gers", admin_id=world["gers_admin"], filename="f.csv"),
    ])
    db.commit()
    db.delete(db.get(Account, world["gers_account"]))
    db.delete(db.get(Admin, world["gers_admin"]))
    db.commit()
    db.expunge_all()
    assert db.scalars(select(Child.tenant_id)).all() == ["cestas"]
    assert db.scalars(select(CarePeriod.id)).all() == []
    assert db.scalars(select(MessageState.id)).all() == []
    assert [(e.tenant_id, e.account_id) for e in db.scalars(select(AuditEvent))] == [("gers", None)]
    assert [(r.tenant_id, r.admin_id) for r in db.scalars(select(ImportRun))] == [("gers", None)]
