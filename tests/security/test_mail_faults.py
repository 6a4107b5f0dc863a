"""SMTP down: the answer does not change, nothing is lost, and it is all delivered later."""

from __future__ import annotations

import pytest
from sqlalchemy import select

from assmat.core.mail.models import OutboxMail
from tests.conftest import make_settings

# SMTP down: mail stays in the outbox and is claimed later (FOR UPDATE SKIP LOCKED on PostgreSQL).
pytestmark = pytest.mark.both_backends

GOOD = "Lune2Soleil"


@pytest.fixture
def settings(tmp_path, database_url):
    from tests.support.postgres import free_port

    # Nothing listens on this port: SMTP is down.
    return make_settings(tmp_path, database_url, mail_backend="smtp", smtp_host="127.0.0.1", smtp_port=free_port())


def test_forgot_password_never_waits_for_smtp_and_a_mail_failure_changes_nothing(portal_for):
    portal = portal_for("cestas")
    portal.create_account("famille.durand", GOOD, email="durand@example.org")
    response = portal.post("/mot-de-passe-oublie", {"identifiant": "famille.durand", "email": "durand@example.org"})
    unknown = portal.post("/mot-de-passe-oublie", {"identifiant": "inconnu", "email": "inconnu@example.org"})
    assert response.status_code == unknown.status_code == 303
    assert response.headers["location"] == unknown.headers["location"]
    (mail,) = portal.query(select(OutboxMail.template, OutboxMail.status, OutboxMail.recipient))
    assert mail.template == "reset_link" and mail.status in ("pending", "sending") and mail.recipient == "durand@example.org"
