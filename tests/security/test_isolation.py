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
                 ("/espace/enfants", "children"), ("/espace/messages", "messages"),
                 ("/espace/notre-fiche", "structures"), ("/espace/relais", "structures"),
                 # a family's pages and the assistant's contact requests: where parents and the search are on
                 ("/espace/favoris", "parents"), ("/espace/recherches", "parents"), ("/espace/mes-donnees", "parents"),
                 ("/espace/demandes", "parents")]


def test_every_page_of_the_space_needs_a_session_of_its_own_tenant(app, portal_for):
    """On the Alpes-Maritimes (children, messages, agrément), the Gers (fiche, availability) and
    Eure-et-Loir (a MAM's or relais' « Notre fiche », a relais' assistants) and mon-enfant (a
    family's pages):
    each route of the space, anonymous or with a Cestas session, sends to the sign-in page (or
    refuses a POST without its token); the page of a feature a tenant does not offer is a 404
    there and is checked on the other tenant."""
    cestas = portal_for("cestas")
    cestas.create_account("famille.iso", GOOD)
    assert cestas.login("famille.iso", GOOD).status_code == 303
    checked: set[str] = set()
    for slug in ("alpes-maritimes", "gers", "eure-et-loir", "mon-enfant"):
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


# -- MAM and relais (seed 002): Eure-et-Loir's only ---------------------------------------------------------

def test_a_structures_pages_are_its_own_tenants_only(portal_for):
    """A structure's public page and the list of the relais are a 404 on every other host and
    where the tenant has no structures; its account's session is anonymous on another tenant's host; a relais' list
    never names another tenant's assistant of the same commune (tests/flows/test_structure_fiches.py
    holds the communes)."""
    from assmat.portal.structures import service

    eure = portal_for("eure-et-loir")
    structure, account = eure.service_call(service.create_structure, service.NewStructure(
        kind="ram", name="Relais de Chartres", email="relais.chartres@example.org", city="Chartres",
        communes="Auch\nChartres"), "agent@example.org")
    assert eure.client.get(f"/structures/{structure.id}").status_code == 200
    assert f'href="/structures/{structure.id}"' in eure.client.get("/relais").text
    for slug in ("gers", "cestas", "alpes-maritimes", "mon-enfant"):
        other = portal_for(slug)
        for path in (f"/structures/{structure.id}", "/relais", "/espace/notre-fiche", "/espace/relais/assistants"):
            assert other.client.get(path).status_code == 404, (slug, path)
    gers = portal_for("gers")
    gers.create_account("AGR-2026-0310", GOOD, first_name="Gaëlle", last_name="Auscitaine", city="Auch")
    eure.create_account("280301", GOOD, first_name="Chloé", last_name="Chartraine", city="Chartres")
    from assmat.auth import credentials
    from tests.flows.test_eure_et_loir import GOOD as EURE_GOOD
    from tests.flows.test_eure_et_loir import login

    eure.service_call(credentials.set_password, account, EURE_GOOD, None, "test")
    from datetime import UTC, datetime

    eure.update_account(account.id, email_confirmed_at=datetime.now(UTC))
    assert login(eure, "relais.chartres@example.org", EURE_GOOD).status_code == 303
    listing = eure.client.get("/espace/relais/assistants").text
    assert "Chartraine" in listing and "Auscitaine" not in listing
    gers.client.cookies.set("session", eure.client.cookies.get("session"), domain="gers.localhost")
    assert gers.client.get("/espace").headers["location"].startswith("/connexion")


def test_a_family_s_items_are_reached_only_on_their_own_tenant(portal_for, frozen_clock):
    """mon-enfant's favourites, searches and contact requests, by their ids, from a Cestas family
    (Cestas has family accounts but no search): 404, and nothing is deleted."""
    from urllib.parse import urlencode

    from sqlalchemy import select

    from assmat.portal.families.models import ContactRequest, Favourite, SavedSearch
    from tests.portal.test_families import SEARCH, contact, family, post_from, public_id, published

    anne = published(portal_for("mon-enfant"), "Isolee", email="anne.isolee@example.org")
    mine, _ = family(portal_for)
    pid = public_id(mine, anne)
    post_from(mine, f"/assistants/{pid}", "/espace/favoris/ajouter", {"fiche": pid, "retour": "/espace/favoris"})
    post_from(mine, f"/recherche?{urlencode(SEARCH)}", "/espace/recherches/enregistrer",
              {"nom": "Auch", "requete": urlencode(SEARCH)})
    contact(mine, pid)
    (search_id,) = [r[0] for r in mine.query(select(SavedSearch.id).where(SavedSearch.tenant_id == "mon-enfant"))]
    (request_id,) = [r[0] for r in mine.query(select(ContactRequest.id).where(ContactRequest.tenant_id == "mon-enfant"))]
    cestas = portal_for("cestas")
    cestas.create_account("famille.cestas", GOOD, kind="parent")
    assert cestas.login("famille.cestas", GOOD).status_code == 303
    for path, data in ((f"/espace/recherches/{search_id}/supprimer", {}),
                       (f"/espace/mes-donnees/demandes/{request_id}/supprimer", {}),
                       ("/espace/favoris/retirer", {"fiche": pid}), (f"/espace/demandes/{request_id}/repondre", {"reponse": "x"})):
        assert cestas.post(path, data, form_path="/espace").status_code == 404, path
    for path in ("/espace/favoris", "/espace/recherches", "/espace/mes-donnees", f"/assistants/{pid}/contact"):
        assert cestas.client.get(path).status_code == 404, path
    counts = [len(mine.query(select(table.id).where(table.tenant_id == "mon-enfant")))
              for table in (Favourite, SavedSearch, ContactRequest)]
    assert counts == [1, 1, 1]


# -- the habilitation request (seed 004): mon-enfant's only ------------------------------------------------

HABILITATION_PAGES = ["/habilitation", "/habilitation/demande?statut=assistant_inscrit", "/habilitation/enregistree",
                      "/habilitation/consentement/x"]


def test_the_habilitation_pages_exist_only_where_the_tenant_turns_them_on(app, portal_for):
    from tests.support.site import route_of, site_routes

    routes = site_routes(app)
    assert all(route_of(routes, path.split("?")[0]) for path in HABILITATION_PAGES)
    assert portal_for("mon-enfant").client.get("/habilitation").status_code == 200
    for slug in ("gers", "cestas", "alpes-maritimes", "eure-et-loir"):
        portal = portal_for(slug)
        assert not portal.tenant.config.offers("habilitation")
        for path in HABILITATION_PAGES:
            assert portal.client.get(path).status_code == 404, (slug, path)
        assert portal.post("/habilitation", {"statut": "assistant_inscrit"}, form_path="/contact").status_code == 404
        assert "demande d'habilitation" not in portal.client.get("/connexion").text


def test_a_consent_link_works_on_its_own_tenants_host_only(app, portal_for):
    from assmat.portal.habilitation.models import HabilitationRequest
    from assmat.portal.habilitation.service import CONSENT
    from tests.support.site import issue_token

    mon_enfant = portal_for("mon-enfant")
    account, _ = mon_enfant.create_account("nadia.iso@example.fr", None, email="nadia.iso@example.fr")

    async def add():
        async with app.state.sessionmaker() as db:
            row = HabilitationRequest(tenant_id="mon-enfant", account_id=account.id, state="consent_requested",
                                      status="assistant_inscrit", civility="Mme", last_name="Iso", first_name="Nadia",
                                      street_name="rue Iso", postal_code="66000", city="Perpignan", phone="0468000000",
                                      email="nadia.iso@example.fr", email_key="nadia.iso@example.fr")
            db.add(row)
            await db.commit()
            return row.id

    request_id = mon_enfant.run(add)
    token = issue_token(mon_enfant, account.id, CONSENT, {"request": request_id})
    gers = portal_for("gers")
    assert gers.client.get(f"/habilitation/consentement/{token}").status_code == 404
    assert mon_enfant.client.get(f"/habilitation/consentement/{token}").status_code == 200


def test_a_session_of_another_tenant_is_not_an_habilitated_one(portal_for):
    """The guard of habilitated accounts reads this host's sessions only: a Cestas session on
    mon-enfant is anonymous (sent to sign in), never a 403 that would say it exists there."""
    cestas = portal_for("cestas")
    cestas.create_account("famille.habil", GOOD)
    cestas.login("famille.habil", GOOD)
    other = portal_for("mon-enfant")
    other.client.cookies.set("session", cestas.client.cookies.get("session"), domain="mon-enfant.localhost")
    for path in ("/espace", "/espace/fiche", "/espace/disponibilites"):
        response = other.client.get(path)
        assert response.status_code == 303 and response.headers["location"].startswith("/connexion"), path
def test_the_parents_search_shows_only_its_own_tenant_and_exists_only_where_offered(app, portal_for, frozen_clock):
    """A fiche of the Gers at Chartres' very centre is no result of the Eure-et-Loir's search
    around Chartres (nor the reverse, by name); `/recherche` and its suggestions are 404 on the
    tenants without `features.public_search`."""
    import re

    from assmat.core.geocoding.distance import Point
    from assmat.core.security.ratelimit import SEARCH_PER_IP
    from tests.portal.test_directory import CHARTRES, assistant

    SEARCH_PER_IP.reset()
    gers, eure = portal_for("gers"), portal_for("eure-et-loir")
    assistant(gers, "Gersoise", city="Chartres", postal_code="28000", at=CHARTRES)
    assistant(eure, "Eurelienne", city="Chartres", postal_code="28000", at=Point(48.4470, 1.4890))
    assistant(gers, "Auscitaine", at=Point(43.6465, 0.5855))
    for portal, own, other in ((eure, "Eurelienne", "Gersoise"), (gers, "Gersoise", "Eurelienne")):
        around = portal.client.get("/recherche", params={"commune": "Chartres (28000)", "rayon": "30"})
        assert around.status_code == 200
        assert "Anne " + own in around.text and "Anne " + other not in around.text, portal.slug
        assert "Anne " + other not in portal.client.get("/recherche", params={"nom": other}).text
        links = re.findall(r'href="/assistants/([^"?]+)', around.text)
        assert links and all(portal.client.get(f"/assistants/{pid}").status_code == 200 for pid in links)
    for slug, tenant in app.state.registry.tenants.items():
        if not tenant.config.offers("public_search"):
            anonymous = portal_for(slug)
            assert anonymous.client.get("/recherche", params={"commune": "Auch"}).status_code == 404, slug
            assert anonymous.client.get("/recherche/communes", params={"q": "Au"}).status_code == 404, slug
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


# -- family accounts (issue 13): registration where the tenant allows it, deletion of one's own ----------

FAMILY_PAGES = ["/creer-mon-compte", "/creer-mon-compte/envoye"]


def test_the_family_registration_exists_only_where_the_tenant_turns_it_on(portal_for):
    assert portal_for("mon-enfant").client.get("/creer-mon-compte").status_code == 200
    for slug in ("gers", "cestas", "alpes-maritimes", "eure-et-loir"):
        portal = portal_for(slug)
        assert not portal.tenant.config.families.signup
        for path in FAMILY_PAGES:
            assert portal.client.get(path).status_code == 404, (slug, path)
        refused = portal.post("/creer-mon-compte", {"nom": "Iso", "email": "iso@example.fr"}, form_path="/contact")
        assert refused.status_code == 404


def test_a_registrations_confirmation_link_works_on_its_own_tenants_host_only(portal_for):
    from assmat.auth.context import EMAIL_CONFIRMATION
    from tests.support.site import issue_token

    mon_enfant = portal_for("mon-enfant")
    account, _ = mon_enfant.create_account("famille.iso@example.fr", GOOD, email="famille.iso@example.fr")
    token = issue_token(mon_enfant, account.id, EMAIL_CONFIRMATION, {"email": "famille.iso@example.fr"})
    assert portal_for("cestas").client.get(f"/confirmation-email/{token}").status_code == 400
    assert mon_enfant.client.get(f"/confirmation-email/{token}").status_code == 200


def test_a_family_session_of_another_tenant_deletes_nothing(portal_for):
    cestas = portal_for("cestas")
    family, _ = cestas.create_account("famille.iso", GOOD)
    cestas.update_account(family.id, kind="parent")
    assert cestas.login("famille.iso", GOOD).status_code == 303
    token = cestas.csrf("/espace/compte/suppression")
    other = portal_for("mon-enfant")
    other.client.cookies.set("session", cestas.client.cookies.get("session"), domain="mon-enfant.localhost")
    answer = other.client.post("/espace/compte/suppression", data={"csrf_token": token, "mot_de_passe_actuel": GOOD})
    assert answer.status_code in (303, 403)
    assert answer.status_code == 403 or answer.headers["location"].startswith("/connexion")
    assert cestas.account(family.id) is not None
