"""Tenant isolation on the portal (security.md)."""

from __future__ import annotations

import pytest

# One pass of the portal's isolation tests on each backend.
pytestmark = pytest.mark.both_backends

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


def space_routes(app) -> list[tuple[str, set[str]]]:
    """Every route of the signed-in space, an id of 1 in its path, with its methods."""
    import re

    from starlette.routing import Route

    routes = [route for route in app.routes if isinstance(route, Route) and route.path.startswith("/espace")]
    assert len(routes) >= 15  # dashboard, agrément, account, messages and children pages
    return [(re.sub(r"\{[^}]+\}", "1", route.path), set(route.methods or ())) for route in routes]


# The pages of a feature exist only on the tenants that offer it (kit.tenant(request, feature=…)).
FEATURE_PAGES = [("/espace/fiche", "publication"), ("/espace/disponibilites", "availability"),
                 ("/espace/documents", "documents"), ("/espace/agrement", "agrement"),
                 ("/espace/enfants", "children"), ("/espace/messages", "messages")]


def test_every_page_of_the_space_needs_a_session_of_its_own_tenant(app, portal_for):
    """On the Alpes-Maritimes (children, messages, agrément) and the Gers (fiche, availability):
    each route of the space, anonymous or with a Cestas session, sends to the sign-in page (or
    refuses a POST without its token); the page of a feature a tenant does not offer is a 404
    there and is checked on the other tenant."""
    cestas = portal_for("cestas")
    cestas.create_account("famille.iso", GOOD)
    assert cestas.login("famille.iso", GOOD).status_code == 303
    checked: set[str] = set()
    for slug in ("alpes-maritimes", "gers"):
        anonymous = portal_for(slug)
        foreign = portal_for(slug)
        foreign.client.cookies.set("session", cestas.client.cookies.get("session"), domain=f"{slug}.localhost")
        for path, methods in space_routes(app):
            feature = next((name for prefix, name in FEATURE_PAGES if path.startswith(prefix)), None)
            if feature is not None and not anonymous.tenant.config.offers(feature):
                if "GET" in methods:  # the page of a feature the tenant does not offer does not exist
                    assert anonymous.client.get(path).status_code == 404, (slug, path)
                continue
            checked.add(path)
            for portal in (anonymous, foreign):
                if "GET" in methods:
                    response = portal.client.get(path)
                    assert response.status_code == 303, (slug, path, response.status_code)
                    assert response.headers["location"].startswith("/connexion"), path
                if "POST" in methods:
                    response = portal.client.post(path, data={"message": "x"})
                    assert response.status_code in (303, 403), (slug, path, response.status_code)
                    assert response.status_code == 403 or response.headers["location"].startswith("/connexion"), path
    assert checked == {path for path, _methods in space_routes(app)}


# -- FranceConnect -------------------------------------------------------------------------------------


@pytest.fixture
def franceconnect_portals(tmp_path, database_url, oidc_provider, tenant_registry, monkeypatch):
    """Eure-et-Loir and the Gers both with FranceConnect, at the same provider and client."""
    from assmat.auth.franceconnect.client import forget_providers
    from tests.conftest import app_for, clients_of, make_settings
    from tests.support.oidc import CLIENT_SECRET, SECRET_ENV, tenant_configs_with_franceconnect
    from tests.support.portal import Portal

    monkeypatch.setenv(SECRET_ENV, CLIENT_SECRET)
    forget_providers()
    configs = tenant_configs_with_franceconnect(tmp_path / "tenants", oidc_provider, ("eure-et-loir", "gers"))
    app = app_for(make_settings(tmp_path, database_url, tenant_configs=configs, public_url_template="http://{slug}.localhost"),
                  tenant_registry)
    with clients_of(app) as make:
        yield lambda slug: Portal(make(slug), app, slug)


def test_franceconnect_pages_do_not_exist_where_the_tenant_does_not_offer_it(portal_for):
    cestas = portal_for("cestas")
    for path in ("/franceconnect/retour?state=x&code=y", "/franceconnect/deconnecte?state=x"):
        assert cestas.client.get(path).status_code == 404
    assert cestas.post("/franceconnect/connexion", {}, form_path="/connexion").status_code == 404
    assert "FranceConnect" not in cestas.client.get("/connexion").text


def test_a_franceconnect_trip_of_one_tenant_is_refused_by_another(franceconnect_portals):
    from datetime import date
    from urllib.parse import urlsplit

    from tests.support.oidc import at_provider
    from tests.support.portal import text_of

    eure, gers = franceconnect_portals("eure-et-loir"), franceconnect_portals("gers")
    eure.create_account("280002", email=None, first_name="Camille", last_name="Démo", birth_date=date(1985, 4, 12))
    gers.create_account("AGR-2026-0300", "Lune#Soleil42", first_name="Camille", last_name="Démo", birth_date=date(1985, 4, 12))
    step2 = eure.post("/activation", {"identifiant": "280002", "date_naissance": "12/04/1985"}).headers["location"]
    away = eure.post(f"{step2}/franceconnect", {}, form_path=step2).headers["location"]
    back = urlsplit(at_provider(away, "fc-camille-demo"))
    # The Eure-et-Loir's return, its browser cookie copied, brought to the Gers: refused there.
    gers.client.cookies.set("fc_navigateur", eure.client.cookies.get("fc_navigateur"), domain="gers.localhost",
                            path="/franceconnect")
    refused = gers.client.get(f"{back.path}?{back.query}")
    assert refused.status_code == 400 and "Veuillez recommencer" in text_of(refused)
    assert gers.client.get("/espace").status_code == 303
    # It stays whole for the Eure-et-Loir, where the identity gets linked.
    assert eure.client.get(f"{back.path}?{back.query}").headers["location"] == "/espace"
    # That link opens nothing on the Gers: the same identity is unknown there.
    away = gers.post("/franceconnect/connexion", {}, form_path="/connexion").headers["location"]
    back = urlsplit(at_provider(away, "fc-camille-demo"))
    assert f"{back.scheme}://{back.netloc}" == "http://gers.localhost"
    unlinked = gers.client.get(f"{back.path}?{back.query}")
    assert unlinked.status_code == 400 and "Aucun compte de ce site" in text_of(unlinked)
    assert gers.client.get("/espace").status_code == 303
