"""Unknown identifier, wrong password, locked and not-activated accounts look the same and
cost the same work (security.md, Enumeration)."""

from __future__ import annotations

import re
from datetime import UTC, datetime

import pytest

from tests.support.portal import text_of

# The same database work for every identifier: the lockout reservation is a conditional UPDATE …
# RETURNING.
pytestmark = pytest.mark.both_backends

GOOD = "Lune2Soleil"


def normalised(html: str) -> str:
    """The page without what changes on every render (CSRF token, captcha id)."""
    return re.sub(r'value="[A-Za-z0-9_-]{20,}"', 'value=""', html)


def attempt(portal, identifier: str, password: str):
    hasher = portal.app.state.hasher
    before = hasher.verifications + hasher.dummy_verifications
    response = portal.login(identifier, password)
    return response, hasher.verifications + hasher.dummy_verifications - before


def test_failures_are_indistinguishable_and_cost_one_verification_each(portal_for):
    portal = portal_for("alpes-maritimes")  # generic messages, as every tenant by default
    portal.create_account("06-2020-0001", GOOD)
    locked, _ = portal.create_account("06-2020-0002", GOOD)
    portal.update_account(locked.id, locked_at=datetime(2026, 1, 1, tzinfo=UTC))
    portal.create_account("06-2020-0003")  # imported, never activated: no password yet

    cases = {
        "unknown": attempt(portal, "06-2099-9999", GOOD),
        "wrong password": attempt(portal, "06-2020-0001", "Mauvais2Passe"),
        "locked": attempt(portal, "06-2020-0002", GOOD),
        "not activated": attempt(portal, "06-2020-0003", GOOD),
    }
    typed = {"unknown": "06-2099-9999", "wrong password": "06-2020-0001", "locked": "06-2020-0002", "not activated": "06-2020-0003"}
    # The form keeps what was typed; apart from that the pages are identical.
    pages = {name: normalised(response.text).replace(typed[name], "ID") for name, (response, _) in cases.items()}
    for name, (response, work) in cases.items():
        assert response.status_code == 400, name
        assert work == 1, f"{name}: {work} verifications"
        assert "Echec de l'authentification." in text_of(response)
        assert pages[name] == pages["unknown"], name
        assert sorted(c.split("=")[0] for c in response.headers.get_list("set-cookie")) == sorted(
            c.split("=")[0] for c in cases["unknown"][0].headers.get_list("set-cookie")
        )


def test_forgot_password_answers_the_same_for_known_and_unknown_accounts(portal_for, smtp_server):
    portal = portal_for("cestas")
    portal.create_account("famille.martin", GOOD, email="martin@example.org")
    known = portal.post("/mot-de-passe-oublie", {"identifiant": "famille.martin", "email": "martin@example.org"})
    unknown = portal.post("/mot-de-passe-oublie", {"identifiant": "personne", "email": "personne@example.org"})
    mismatch = portal.post("/mot-de-passe-oublie", {"identifiant": "famille.martin", "email": "autre@example.org"})
    assert known.status_code == unknown.status_code == mismatch.status_code == 303
    assert known.headers["location"] == unknown.headers["location"] == mismatch.headers["location"]
    assert len(smtp_server.wait_for(1)) == 1
