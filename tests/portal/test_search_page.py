"""The parents' search page `/recherche` (portal.directory.http): every criterion through the
form's GET parameters, the French errors next to their fields with what was typed kept (400,
never 500), the count and pagination keeping the criteria, the cards in the fiche's words, the
SVG map with the list's numbers and a masked fiche at its commune's centre, the per-IP limit, an
address against the real addok and with the geocoder down, and the commune suggestions."""

from __future__ import annotations

import re
from datetime import date, timedelta
from urllib.parse import parse_qs, unquote, urlsplit

import pytest

from assmat.core.geocoding.distance import Point
from assmat.core.security.ratelimit import SEARCH_PER_IP
from assmat.portal.availability.rules import Place
from assmat.portal.profile.svgmap import results_frame, results_pixel
from assmat.tenants import geocoding
from tests.portal.test_directory import AUCH, CONDOM, GERS, PAVIE, assistant, declare
from tests.support.portal import text_of

pytestmark = pytest.mark.both_backends

CARD = re.compile(r'<li class="card search-card">.*?</li>\s*(?=<li class="card|</ol>)', re.S)
MARKER = re.compile(r'<a class="results-map-marker" href="([^"]+)" data-numero="(\d+)" data-spot="([^"]+)"')


@pytest.fixture(autouse=True)
def fresh_limit():
    SEARCH_PER_IP.reset()
    yield
    SEARCH_PER_IP.reset()


@pytest.fixture
def gers(portal_for, frozen_clock):
    return portal_for(GERS)


def names(response) -> list[str]:
    return re.findall(r'<h3><span class="search-number" aria-hidden="true">\d+</span> <a href="[^"]+">([^<]+)</a>',
                      response.text)


def test_the_empty_form_is_a_get_form_with_the_tenant_s_slots_and_the_offer_labels(gers):
    response = gers.client.get("/recherche")
    page = text_of(response)
    assert response.status_code == 200
    assert '<form method="get" action="/recherche"' in response.text
    assert "Trouver un assistant maternel" in page and "Où ?" in page and "Quoi ?" in page
    for slot in gers.tenant.config.availability.time_slots:
        assert slot.label in page
    assert "Accueil périscolaire" in page and "Enfant en situation de handicap" in page
    assert 'name="robots"' not in response.text  # the empty form may be indexed; results are not
    assert "résultat" not in page


def test_a_search_by_commune_lists_cards_in_the_fiche_s_words(gers):
    anne = assistant(gers, "Martin", at=Point(43.6500, 0.5900), offers=("periscolaire", "handicap"))
    declare(gers, anne, Place("moins_18_mois", 2, date(2026, 12, 1), None, "regulier", frozenset({(0, "matin")})))
    assistant(gers, "Durand", at=AUCH)  # no declaration: not up to date
    none = assistant(gers, "Petit", at=AUCH)
    declare(gers, none, none=True)
    assistant(gers, "Loin", city="Condom", postal_code="32100", at=CONDOM)
    response = gers.client.get("/recherche", params={"commune": "Auch (32000)", "rayon": ""})
    page = text_of(response)
    assert response.status_code == 200, page
    assert names(response) == ["Anne Durand", "Anne Martin", "Anne Petit"]  # by name without a distance
    assert "3 résultats" in page and 'content="noindex"' in response.text
    cards = [text_of(type("R", (), {"text": c})) for c in CARD.findall(response.text)]
    assert "Disponibilités non mises à jour" in cards[0]
    assert "Places disponibles" in cards[1] and "Moins de 18 mois : 2 places, à partir du 01/12/2026" in cards[1]
    assert "Accueil périscolaire" in cards[1]
    assert "Mise à jour le" in cards[1]
    assert "Pas de disponibilité" in cards[2]
    assert "Toute exploitation commerciale des données est interdite" in page
    assert "43.65" not in response.text and "0.59" not in response.text  # no coordinates at all


def test_a_radius_search_orders_by_distance_with_the_announced_km(gers):
    assistant(gers, "Proche", at=PAVIE)
    assistant(gers, "Centre", at=AUCH)
    assistant(gers, "Loin", at=Point(43.7200, 0.5855))  # 8 km north of Auch's centre
    response = gers.client.get("/recherche", params={"commune": "32000", "rayon": "5"})
    page = text_of(response)
    assert names(response) == ["Anne Centre", "Anne Proche"]
    assert "à environ 1 km" in page and "à environ 4 km" in page
    assert "autour de Auch (32000)" in page
    wider = gers.client.get("/recherche", params={"commune": "32000", "rayon": "10"})
    assert names(wider) == ["Anne Centre", "Anne Proche", "Anne Loin"]


def test_each_criterion_of_what_narrows_the_list(gers):
    baby = assistant(gers, "Bebe", at=AUCH, offers=("mercredi",))
    declare(gers, baby, Place("moins_18_mois", 1, None, None, "regulier", frozenset({(2, "matin")})))
    older = assistant(gers, "Grand", at=AUCH, offers=("handicap",))
    declare(gers, older, Place("plus_3_ans", 1, None, None, "regulier", frozenset({(0, "soir")})))
    base = {"commune": "Auch", "rayon": "5"}
    assert names(gers.client.get("/recherche", params={**base, "age": "6"})) == ["Anne Bebe"]
    born = (date(2026, 11, 2) - timedelta(days=4 * 365)).isoformat()
    assert names(gers.client.get("/recherche", params={**base, "naissance": born})) == ["Anne Grand"]
    assert names(gers.client.get("/recherche", params={**base, "jours": "2"})) == ["Anne Bebe"]
    assert names(gers.client.get("/recherche", params={**base, "creneaux": "soir"})) == ["Anne Grand"]
    assert names(gers.client.get("/recherche", params={**base, "accueil": "handicap"})) == ["Anne Grand"]
    assert names(gers.client.get("/recherche", params={**base, "debut": "2026-12-01", "age": "6"})) == ["Anne Bebe"]
    assert names(gers.client.get("/recherche", params={"nom": "gran"})) == ["Anne Grand"]
    none = gers.client.get("/recherche", params={**base, "accueil": ["handicap", "mercredi"]})
    assert names(none) == [] and "Aucun assistant maternel ne correspond à cette recherche" in text_of(none)


@pytest.mark.parametrize(("params", "field", "message"), [
    ({"commune": "Atlantide"}, "commune", "Commune inconnue"),
    ({"commune": "Auch", "rayon": "7"}, "rayon", "Choisissez une distance parmi 1, 3, 5, 10, 20, 30 km"),
    ({"nom": "x"}, "nom", "Saisissez entre 2 et 100 lettres du nom"),
    ({"commune": "Auch", "age": "abc"}, "age", "en mois"),
    ({"commune": "Auch", "naissance": "31/02/2020"}, "naissance", "Cette date de naissance n'est pas possible"),
    ({"commune": "Auch", "debut": "demain"}, "debut", "dans les deux prochaines années"),
    ({"commune": "Auch", "jours": "9"}, "jours", "Jour inconnu"),
    ({"commune": "Auch", "creneaux": "minuit"}, "creneaux", "Créneau horaire inconnu"),
    ({"commune": "Auch", "accueil": "piscine"}, "accueil", "Type d'accueil inconnu"),
    ({"commune": "Auch", "page": "9999"}, "page", "Cette page de résultats n'existe pas"),
    ({"rayon": "5"}, "commune", "Indiquez une commune, une adresse ou un nom"),
])
def test_a_wrong_criterion_is_told_next_to_its_field_and_kept(gers, params, field, message):
    response = gers.client.get("/recherche", params=params)
    page = text_of(response)
    assert response.status_code == 400
    # A field the form shows has its message under it; the page number, in the banner.
    where = r'id="erreurs".*?<li>([^<]+)</li>\s*</ul>' if field == "page" else rf'<p class="error-text" id="erreur-{field}">([^<]+)</p>'
    error = re.search(where, page, re.S)
    assert error and message in error.group(1), page
    for name, value in params.items():
        if name in ("commune", "nom", "age", "naissance", "debut"):
            assert f'value="{value}"' in page  # what was typed stays


def test_pagination_keeps_every_criterion_and_the_url_is_the_search(gers):
    for n in range(23):
        assistant(gers, f"Nom{n:02d}", at=AUCH, offers=("mercredi",))
    first = gers.client.get("/recherche", params={"commune": "Auch", "rayon": "5", "accueil": "mercredi"})
    assert "23 résultats" in text_of(first) and len(names(first)) == 20
    following = re.search(r'<a href="([^"]+)" rel="next">', first.text).group(1).replace("&amp;", "&")
    assert parse_qs(urlsplit(following).query) == {"commune": ["Auch"], "rayon": ["5"], "accueil": ["mercredi"],
                                                   "page": ["2"]}
    second = gers.client.get(following)
    assert names(second) == ["Anne Nom20", "Anne Nom21", "Anne Nom22"]
    assert '<ol class="search-list" start="21">' in second.text and "Page 2 sur 2" in text_of(second)
    assert 'rel="prev"' in second.text
    # The same URL opened again (shared) gives the same page.
    assert names(gers.client.get(following)) == names(second)
    beyond = gers.client.get(following.replace("page=2", "page=3"))
    assert names(beyond) == [] and "Cette page de résultats n'existe pas." in text_of(beyond)
    assert '">Première page des résultats</a>' in text_of(beyond)


def test_the_map_numbers_match_the_list_and_a_masked_fiche_sits_at_its_commune_centre(gers):
    assistant(gers, "Cachee", at=Point(43.6300, 0.5700), show_address=False)  # her address: never used
    assistant(gers, "Visible", at=PAVIE)
    response = gers.client.get("/recherche", params={"commune": "Auch", "rayon": "10"})
    markers = MARKER.findall(response.text)
    assert [number for _href, number, _spot in markers] == ["1", "2"]
    cards = re.findall(r'<span class="search-number" aria-hidden="true">(\d+)</span> <a href="([^"]+)">', response.text)
    assert [(n, href) for href, n, _spot in markers] == cards  # the same numbers, the same fiches
    middle, scale = results_frame([(AUCH.lat, AUCH.lon), (PAVIE.lat, PAVIE.lon)], (AUCH.lat, AUCH.lon), 10)
    spots = {unquote(href).split("?")[0]: spot for href, _n, spot in markers}
    masked = next(s for h, s in spots.items() if "pubCachee" in h)
    assert masked == " ".join(results_pixel((AUCH.lat, AUCH.lon), middle, scale))
    assert masked != " ".join(results_pixel((43.63, 0.57), middle, scale))
    assert 'class="results-map-ring"' in response.text
    svg = response.text[response.text.index("<svg"):response.text.index("</svg>")]
    assert "43.6" not in svg and "0.57" not in svg


def test_the_fiche_opened_from_a_search_links_back_to_it_and_nowhere_else(gers):
    assistant(gers, "Retour", at=AUCH)
    response = gers.client.get("/recherche", params={"commune": "Auch", "rayon": "5"})
    href = re.search(r'<a href="(/assistants/[^"]+)">Anne Retour', response.text).group(1).replace("&amp;", "&")
    fiche = gers.client.get(href)
    back = re.search(r'<a href="([^"]+)">Retour aux résultats</a>', fiche.text)
    assert fiche.status_code == 200 and back
    assert back.group(1).replace("&amp;", "&") == "/recherche?commune=Auch&rayon=5"
    public_id = href.split("?")[0]
    for evil in ("https://evil.example/recherche?x", "//evil.example/recherche", "/recherche//evil", "/espace"):
        other = gers.client.get(public_id, params={"retour": evil})
        assert other.status_code == 200 and "Retour aux résultats" not in text_of(other)


def test_searches_are_limited_per_address_then_allowed_in_the_next_window(gers, frozen_clock):
    assistant(gers, "Limite", at=AUCH)
    for _ in range(SEARCH_PER_IP.limit):
        assert gers.client.get("/recherche", params={"commune": "Auch"}).status_code == 200
    refused = gers.client.get("/recherche", params={"commune": "Auch"})
    assert refused.status_code == 429
    assert "Trop de recherches" in text_of(refused)
    assert gers.client.get("/recherche").status_code == 200  # the empty form is never counted
    frozen_clock.advance(minutes=11)
    assert gers.client.get("/recherche", params={"commune": "Auch"}).status_code == 200


def test_the_commune_suggestions_come_from_the_communes_we_hold(gers, portal_for):
    # Every commune with a centre in France is held; the tenant's own départements come first.
    assert gers.client.get("/recherche/communes", params={"q": "au"}).json()[0] != "Auch (32000)"
    assistant(gers, "Auscitaine", at=AUCH)
    gers.app.state.home_departements.clear()  # remembered ten minutes otherwise
    suggested = gers.client.get("/recherche/communes", params={"q": "au"}).json()
    assert "Auch (32000)" in suggested and len(suggested) == 10
    gers_first = [label for label in suggested if "(32" in label]
    assert gers_first == ["Aubiet (32270)", "Auch (32000)"] and suggested[:2] == gers_first
    assert gers.client.get("/recherche/communes", params={"q": "auch"}).json()[:2] == ["Auch (32000)", "Auchel (62260)"]
    assert "Auch (32000)" in gers.client.get("/recherche/communes", params={"q": "3200"}).json()
    assert gers.client.get("/recherche/communes", params={"q": "a"}).json() == []
    assert gers.client.get("/recherche/communes", params={"q": "<script>"}).json() == []


def test_an_address_is_located_by_the_real_addok(portal_for, frozen_clock, addok_url, monkeypatch):
    portal = portal_for(GERS)
    monkeypatch.setattr(portal.app.state.settings, "geocoder_url", addok_url)
    assistant(portal, "Adresse", at=AUCH)
    assistant(portal, "Pavie", city="Pavie", postal_code="32550", at=PAVIE)  # 4 km from the street
    response = portal.client.get("/recherche", params={"adresse": "3 rue Dessoles", "commune": "Auch", "rayon": "3"})
    page = text_of(response)
    assert response.status_code == 200, page
    assert names(response) == ["Anne Adresse"] and "autour de 3 Rue Dessoles 32000 Auch" in page


def test_an_unreachable_geocoder_is_told_and_the_commune_search_still_works(portal_for, frozen_clock, monkeypatch):
    portal = portal_for(GERS)
    monkeypatch.setattr(portal.app.state.settings, "geocoder_url", "http://127.0.0.1:9")  # nothing listens
    geocoding._geocoders.pop("http://127.0.0.1:9", None)
    assistant(portal, "Commune", at=AUCH)
    down = portal.client.get("/recherche", params={"adresse": "12 rue de la Paix", "commune": "Auch", "rayon": "5"})
    assert down.status_code == 400
    assert "Le service de recherche d'adresses ne répond pas" in text_of(down)
    assert 'value="12 rue de la Paix"' in text_of(down)
    works = portal.client.get("/recherche", params={"commune": "Auch", "rayon": "5"})
    assert names(works) == ["Anne Commune"]


def test_no_search_where_the_tenant_does_not_offer_it(portal_for):
    for slug in ("alpes-maritimes", "cestas"):
        portal = portal_for(slug)
        assert portal.client.get("/recherche").status_code == 404
        assert portal.client.get("/recherche/communes", params={"q": "au"}).status_code == 404
