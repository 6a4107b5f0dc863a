"""Tenant isolation on the portal (security.md)."""

from __future__ import annotations

GOOD = "Lune2Soleil"


def test_a_session_from_one_tenant_is_anonymous_on_another(portal_for):
    cestas = portal_for("cestas")
    cestas.create_account("famille.iso", GOOD)
    cestas.login("famille.iso", GOOD)
    session = cestas.client.cookies.get("session")
    other = portal_for("mon-enfant")
    other.client.cookies.set("session", session, domain="mon-enfant.localhost")
    response = other.client.get("/espace")
    assert response.status_code == 303 and response.headers["location"].startswith("/connexion")


def test_the_same_identifier_in_two_tenants_is_two_independent_accounts(portal_for):
    am = portal_for("alpes-maritimes")
    gers = portal_for("gers")
    am_account, _ = am.create_account("AGR-2026-0300", "Lune2Soleil")
    gers_account, _ = gers.create_account("AGR-2026-0300", "Lune#Soleil42")
    assert am_account.id != gers_account.id
    assert gers.login("AGR-2026-0300", "Lune2Soleil").status_code == 400  # AM's password
    assert am.login("AGR-2026-0300", "Lune#Soleil42").status_code == 400  # Gers' password
    for _ in range(2):
        gers.login("AGR-2026-0300", "faux")
    assert gers.account(gers_account.id).failed_logins == 3
    assert am.account(am_account.id).failed_logins == 1
    assert am.login("AGR-2026-0300", "Lune2Soleil").status_code == 303
