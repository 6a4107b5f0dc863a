"""Bad input gets a clear 400 in French and changes nothing; a database fault denies cleanly."""

from __future__ import annotations

import pytest
from sqlalchemy import func, select
from sqlalchemy.exc import OperationalError

from assmat.db.models import AuditEvent
from tests.support.portal import text_of

GOOD = "Lune2Soleil"


def audit_count(portal) -> int:
    return portal.query(select(func.count()).select_from(AuditEvent))[0][0]


def test_a_one_megabyte_password_is_refused_and_changes_nothing(portal_for):
    portal = portal_for("cestas")
    account, _ = portal.create_account("famille.big", GOOD)
    before = audit_count(portal)
    response = portal.login("famille.big", "x" * 1_000_000)
    assert response.status_code == 400 and "trop volumineux" in text_of(response)
    assert audit_count(portal) == before and portal.account(account.id).failed_logins == 0


@pytest.mark.parametrize("path", ["/connexion", "/mot-de-passe-oublie", "/activation", "/contact"])
def test_array_valued_fields_are_refused(portal_for, path):
    portal = portal_for("alpes-maritimes")
    token = portal.csrf("/connexion")
    before = audit_count(portal)
    response = portal.client.post(path, data={"csrf_token": token, "identifiant": ["a", "b"], "email": ["a@x.fr", "b@x.fr"]})
    assert response.status_code == 400 and "chaque champ doit être envoyé une seule fois" in text_of(response)
    assert audit_count(portal) == before


def test_json_is_not_a_form(portal_for):
    response = portal_for("cestas").client.post("/connexion", json={"identifiant": "a"})
    assert response.status_code == 400 and "ne sont pas un formulaire" in text_of(response)


@pytest.mark.parametrize("value", ["32/13/2020", "abc", "2020-02-30", "01/01/0001", ""])
def test_malformed_dates_are_refused_with_a_french_message(portal_for, value):
    portal = portal_for("eure-et-loir")
    response = portal.post("/activation", {"identifiant": "280001", "date_naissance": value})
    assert response.status_code == 400 and "JJ/MM/AAAA" in text_of(response)


def test_a_database_error_mid_login_denies_without_a_trace(portal_for, monkeypatch):
    portal = portal_for("cestas")
    portal.create_account("famille.panne", GOOD)
    hasher = portal.app.state.hasher

    async def broken(*args, **kwargs):
        raise OperationalError("SELECT 1", {}, Exception("connection lost"))

    monkeypatch.setattr(hasher, "verify", broken)
    response = portal.login("famille.panne", GOOD)
    assert response.status_code == 503
    assert "Traceback" not in response.text and "OperationalError" not in response.text
    assert "session=" not in response.headers.get("set-cookie", "")
    assert portal.client.get("/espace").status_code == 303
