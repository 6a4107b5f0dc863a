"""Failed logins do the same database work whatever the identifier (security.md, « Found by an
authorised test »): an unknown identifier answered 5 ms sooner than an existing one on
PostgreSQL (z = 16.7 over 300 tries), because it skipped the reservation UPDATE, its commit, the
temporary-password lookup and the lock UPDATE.

Counted, not timed: every SQL statement and commit of the login POST, recorded by an SQLAlchemy
event listener on the app's engine, must be the same sequence for every kind of failure, with one
password-hash verification each."""

from __future__ import annotations

from contextlib import contextmanager, nullcontext
from datetime import UTC, datetime, timedelta

import pytest
from sqlalchemy import event

from tests.conftest import make_settings
from tests.support.db import sent_transactions
from tests.support.portal import text_of

# Counts the statements of a login on each backend.
pytestmark = pytest.mark.both_backends

GOOD = "Mimosa#Corniche7"
EXISTING = "06-AM-0001"


@contextmanager
def recorded(engine):
    """The statements (text, without values) and commits the block runs, in order; on
    PostgreSQL also the BEGIN, COMMIT and ROLLBACK the driver sends (assmat.core.db.postgresql_driver
    begins at the first write, and sends none for a statement that commits alone)."""
    seen: list[str] = []

    def statement(conn, cursor, text, parameters, context, executemany):
        seen.append(" ".join(text.split()))

    def commit(conn):
        seen.append("COMMIT")

    sync = engine.sync_engine
    event.listen(sync, "before_cursor_execute", statement)
    event.listen(sync, "commit", commit)
    wire = sent_transactions(seen, prefix="sent: ") if sync.dialect.name == "postgresql" else nullcontext()
    try:
        with wire:
            yield seen
    finally:
        event.remove(sync, "before_cursor_execute", statement)
        event.remove(sync, "commit", commit)


def work_of(portal, identifier: str, password: str) -> tuple[int, list[str], int]:
    """(status, statements, hash verifications) of one login POST from a browser with no session."""
    portal.client.cookies.clear()
    token = portal.csrf("/connexion")
    hasher = portal.app.state.hasher
    before = hasher.verifications + hasher.dummy_verifications
    with recorded(portal.app.state.engine) as seen:
        response = portal.client.post("/connexion", data={"csrf_token": token, "identifiant": identifier, "mot_de_passe": password})
    assert "Echec de l'authentification." in text_of(response)
    return response.status_code, list(seen), hasher.verifications + hasher.dummy_verifications - before


@pytest.fixture
def settings(tmp_path, database_url):
    """No in-process mail sender: its polls and purges run on the same engine, and a commit of
    theirs landing inside a recording made this comparison fail at random."""
    return make_settings(tmp_path, database_url, mail_in_process=False)


@pytest.fixture
def am(portal_for):
    portal = portal_for("alpes-maritimes")  # generic answers, no captcha on the login form
    portal.create_account(EXISTING, GOOD)
    locked, _ = portal.create_account("06-AM-0002", GOOD)
    portal.update_account(locked.id, locked_at=datetime(2026, 1, 1, tzinfo=UTC), failed_logins=5)
    until, _ = portal.create_account("06-AM-0003", GOOD)
    now = datetime.now(UTC)
    portal.update_account(until.id, locked_at=now, locked_until=now + timedelta(minutes=15), failed_logins=5)
    portal.create_account("06-AM-0004")  # imported, not activated yet
    disabled, _ = portal.create_account("06-AM-0005", GOOD)
    portal.update_account(disabled.id, disabled_at=datetime(2026, 1, 1, tzinfo=UTC))
    return portal


FAILURES = {
    "unknown identifier": ("06-AM-9999", GOOD),
    "malformed identifier": ("pas un identifiant !", GOOD),
    "locked for good, right password": ("06-AM-0002", GOOD),
    "locked for 15 minutes, right password": ("06-AM-0003", GOOD),
    "not activated": ("06-AM-0004", GOOD),
    "disabled": ("06-AM-0005", GOOD),
}


@pytest.mark.parametrize("case", list(FAILURES))
def test_every_failure_runs_the_statements_of_a_wrong_password(am, case):
    status, reference, work = work_of(am, EXISTING, "Mauvais#Passe1")
    assert status == 400 and work == 1
    reservation = next(i for i, s in enumerate(reference) if s.startswith("UPDATE accounts") and "RETURNING" in s)
    assert reference.count("COMMIT") >= 2
    if am.app.state.engine.dialect.name == "postgresql":
        # The lookup reads outside a transaction and the reservation commits as it runs: the
        # first BEGIN on the wire is the failure's record, after the password's verification.
        assert "sent: start" not in reference[:reservation + 2], reference
        assert reference.count("sent: start") == reference.count("sent: commit") == 1, reference
    status, seen, work = work_of(am, *FAILURES[case])
    assert status == 400
    assert work == 1, f"{case}: {work} hash verifications"
    assert seen == reference, case
