"""The fiche's rules without a database: which channels may be hidden under each regime, the
form's checks, the masking of the public data, the commune centres and the SVG map."""

from __future__ import annotations

import html
import re
from datetime import UTC, date, datetime

from pathlib import Path

import pytest

from assmat.auth.models import Account
from assmat.core.i18n import current_locale
from assmat.portal.agrement.models import Agrement
from assmat.portal.profile.geo import commune_code, communes, find_commune
from assmat.portal.profile.models import OFFER_CODES, Fiche
from assmat.portal.profile.service import (
    InvalidFiche,
    build_public_fiche,
    parse_euros,
    validate_fiche,
    visibility_refusal,
)
from assmat.portal.profile.svgmap import (
    HEIGHT,
    PICKER_PX_PER_KM,
    PX_PER_KM,
    WIDTH,
    Place,
    project,
    render_map,
    render_picker,
    unproject,
)
from assmat.tenants.loader import load_valid_tenants
from tests.conftest import TENANT_CONFIGS

TENANTS = load_valid_tenants(TENANT_CONFIGS)
HIDE_BOTH = "Vous pouvez masquer votre courriel ou votre téléphone, mais pas les deux : les parents doivent pouvoir vous joindre."


@pytest.fixture(autouse=True)
def french():
    token = current_locale.set("fr")
    yield
    current_locale.reset(token)


# -- which channels may be hidden ----------------------------------------------------------------------


@pytest.mark.parametrize("show_phone, show_email, refused", [
    (True, True, False), (False, True, False), (True, False, False), (False, False, True),
])
def test_mandatory_with_masking_hides_email_or_phone_not_both(show_phone, show_email, refused):
    refusal = visibility_refusal("mandatory_with_masking", show_phone=show_phone, show_email=show_email)
    assert (refusal == HIDE_BOTH) is refused and (refusal is None) is not refused


@pytest.mark.parametrize("regime", ["opt_out", "consent"])
def test_opt_out_and_consent_may_hide_every_channel(regime):
    assert visibility_refusal(regime, show_phone=False, show_email=False) is None


def form(**fields: str) -> dict[str, str]:
    data = {"presentation": "Bonjour", "afficher-telephone": "1", "afficher-courriel": "1", "afficher-adresse": "1"}
    data.update(fields)
    return {key: value for key, value in data.items() if value is not None}


def test_the_form_refuses_hiding_both_channels_under_masking_with_the_french_message():
    with pytest.raises(InvalidFiche) as refused:
        validate_fiche(form(**{"afficher-telephone": None, "afficher-courriel": None}),
                       regime="mandatory_with_masking", show_rates=True)
    assert refused.value.field_errors == {"afficher-courriel": HIDE_BOTH}
    # The address alone may go.
    values = validate_fiche(form(**{"afficher-adresse": None}), regime="mandatory_with_masking", show_rates=True)
    assert values["show_address"] is False and values["show_phone"] and values["show_email"]


@pytest.mark.parametrize("field, value, message", [
    ("presentation", "x" * 2001, "Ce texte est trop long"),
    ("langues", "x" * 201, "Ce champ est trop long"),
    ("logement", "chateau", "Choisissez un type de logement dans la liste."),
    ("etage", "deux", "Indiquez l'étage par un nombre (0 pour le rez-de-chaussée)."),
    ("tarif-horaire", "beaucoup", "Indiquez un montant en euros compris entre 0,50 et 50,00, par exemple 4,50."),
    ("repas", "31", "Indiquez un montant en euros compris entre 0,50 et 30,00"),
    ("indemnite-entretien", "3,555", "Indiquez un montant en euros"),
])
def test_bad_input_gets_a_french_message_on_its_field(field, value, message):
    with pytest.raises(InvalidFiche) as refused:
        validate_fiche(form(**{field: value}), regime="opt_out", show_rates=True)
    assert message in refused.value.field_errors[field]


def test_amounts_are_read_as_a_french_parent_types_them():
    assert parse_euros("4,50") == parse_euros("4.5") == parse_euros("4,50 €") == parse_euros("4,50\u00a0€")
    assert parse_euros("4,50") is not None and str(parse_euros("4,50")) == "4.50"
    assert parse_euros("-3") is None and parse_euros("1e3") is None and parse_euros("") is None
    values = validate_fiche(form(**{"tarif-horaire": "3,80", "indemnite-entretien": "3,50", "repas": "4"}),
                            regime="opt_out", show_rates=True)
    assert (values["hourly_rate_cents"], values["maintenance_cents"], values["meal_cents"]) == (380, 350, 400)


def test_rates_are_ignored_where_the_tenant_shows_none():
    values = validate_fiche(form(**{"tarif-horaire": "n'importe quoi"}), regime="consent", show_rates=False)
    assert "hourly_rate_cents" not in values


def test_offer_flags_are_one_boolean_each():
    values = validate_fiche(form(**{"offre-samedi": "1", "offre-handicap": "1"}), regime="opt_out", show_rates=True)
    assert {code for code in OFFER_CODES if values[f"offer_{code}"]} == {"samedi", "handicap"}


# -- masking in the public data ---------------------------------------------------------------------------


def account(**fields) -> Account:
    values = dict(id=7, tenant_id="gers", kind="assistant", identifier="AGR-1", first_name="Camille", last_name="Martin",
                  email="camille.secret@example.org", phone="05 62 00 11 22", address="8 chemin des Pruniers",
                  postal_code="32000", city="Auch")
    values.update(fields)
    return Account(**values)


def fiche(**fields) -> Fiche:
    values = dict(id=1, tenant_id="gers", account_id=7, public_id="abcdefghijkl", show_phone=True, show_email=True,
                  show_address=True, latitude=43.6612, longitude=0.5731, elevator=False, garden=True,
                  non_smoking=True, vehicle=False, contact_only_if_place=False, hourly_rate_cents=380,
                  updated_at=datetime(2026, 11, 2, 9, 0, tzinfo=UTC),
                  **{f"offer_{code}": code == "mercredi" for code in OFFER_CODES})
    values.update(fields)
    return Fiche(**values)


AGREMENT = Agrement(tenant_id="gers", account_id=7, number="AGR-1", capacity=4, end_date=date(2031, 2, 28))


def test_a_visible_fiche_shows_every_channel_and_the_exact_place():
    public = build_public_fiche(TENANTS["gers"], account(), fiche(), AGREMENT)
    assert (public.phone, public.email, public.address) == ("05 62 00 11 22", "camille.secret@example.org",
                                                            "8 chemin des Pruniers")
    assert public.map is not None and not public.map.approximate
    assert public.capacity == 4 and public.agrement_end == date(2031, 2, 28)
    assert public.offers == ["Le mercredi"] and public.rates.hourly == "3,80"


@pytest.mark.parametrize("hidden, attribute", [("show_phone", "phone"), ("show_email", "email"), ("show_address", "address")])
def test_a_hidden_channel_never_reaches_the_public_data(hidden, attribute):
    public = build_public_fiche(TENANTS["gers"], account(), fiche(**{hidden: False}), AGREMENT)
    assert getattr(public, attribute) is None
    secrets = {"phone": "05 62 00 11 22", "email": "camille.secret@example.org", "address": "8 chemin des Pruniers"}
    assert secrets[attribute] not in repr(public)


def test_a_hidden_address_is_placed_at_the_commune_centre_never_at_the_home():
    auch = find_commune("32000", "Auch")
    public = build_public_fiche(TENANTS["gers"], account(), fiche(show_address=False), AGREMENT)
    assert public.map.approximate and public.address_hidden
    assert public.map.caption == "Adresse non communiquée : position approximative (centre de la commune)"
    # The drawing is centred on the commune centre: the home's offset from it appears nowhere.
    exact = build_public_fiche(TENANTS["gers"], account(), fiche(latitude=auch.latitude, longitude=auch.longitude), AGREMENT)
    home = build_public_fiche(TENANTS["gers"], account(), fiche(), AGREMENT)
    assert neighbour_dots(public.map.svg) == neighbour_dots(exact.map.svg) != []
    assert neighbour_dots(public.map.svg) != neighbour_dots(home.map.svg)


def neighbour_dots(svg: str) -> list[tuple[str, str]]:
    """Where the nearby communes sit on the drawing: that says where it is centred."""
    return re.findall(r'<circle cx="([\d.]+)" cy="([\d.]+)" r="3" fill="#5b6770"/>', str(svg))


def test_no_coordinates_and_no_known_commune_means_no_map():
    public = build_public_fiche(TENANTS["gers"], account(city="Nulle-Part", postal_code="99999"),
                                fiche(latitude=None, longitude=None), AGREMENT)
    assert public.map is None


def test_a_visible_address_without_coordinates_is_shown_at_the_commune_centre_without_saying_it_is_hidden():
    public = build_public_fiche(TENANTS["gers"], account(), fiche(latitude=None, longitude=None), AGREMENT)
    assert public.map.approximate and public.map.caption == "Position approximative (centre de la commune)"


def test_rates_are_not_built_where_the_tenant_hides_them():
    public = build_public_fiche(TENANTS["mon-enfant"], account(tenant_id="mon-enfant"), fiche(tenant_id="mon-enfant"), None)
    assert public.rates is None and public.capacity is None


# -- commune centres ---------------------------------------------------------------------------------------


def test_the_shipped_communes_cover_the_demo_departements_and_are_well_formed():
    rows = communes()
    assert {row.insee[:2] for row in rows} >= {"32", "28", "66"}
    assert len({row.insee for row in rows}) == len(rows)
    for row in rows:
        assert re.fullmatch(r"\d{5}|2[AB]\d{3}", row.insee) and re.fullmatch(r"\d{5}", row.postal_code)
        assert 41 < row.latitude < 52 and -5 < row.longitude < 10, row  # metropolitan France


@pytest.mark.parametrize("postal_code, city, expected", [
    ("32000", "Auch", "Auch"), ("32000", "AUCH", "Auch"), ("66240", "St Esteve", "Saint-Estève"),
    ("28300", "Lèves", "Lèves"), ("28300", "Mainvilliers", "Mainvilliers"), ("28000", "", "Chartres"),
    ("28300", "", None), ("99999", "Atlantide", None),
])
def test_a_commune_is_found_by_postal_code_and_name(postal_code, city, expected):
    found = find_commune(postal_code, city)
    assert (found.name if found else None) == expected


def test_the_official_list_names_every_commune_and_only_known_centres_are_placed():
    from assmat.portal.profile.geo import _index

    assert len(_index().rows) > 34_000  # every current commune of the Code officiel géographique
    assert commune_code("01400", "L'Abergement-Clémenciat") == "01001"  # no centre: known, never placed
    assert find_commune("01400", "L'Abergement-Clémenciat") is None
    assert commune_code("13008", "Marseille") == commune_code("13008", "") == "13055"  # one of its 18 postal codes
    assert commune_code("28300", "") is None  # a postal code of several communes, and no name: unsure
    masseube = find_commune("32140", "Masseube")  # the official INSEE code, the centre kept
    assert (masseube.insee, masseube.latitude) == ("32242", 43.43)
    text = (Path(__file__).resolve().parents[2] / "assmat/portal/profile/communes.csv").read_text(encoding="utf-8")
    assert text.startswith("# Communes: @etalab/decoupage-administratif 6.0.0") and "Licence Ouverte" in text.splitlines()[0]


# -- the SVG map -------------------------------------------------------------------------------------------


def test_projection_puts_the_centre_in_the_middle_and_north_up():
    centre = (43.6465, 0.5855)
    assert project(*centre, centre) == (WIDTH / 2, HEIGHT / 2)
    x, y = project(43.6465 + 0.01, 0.5855, centre)  # 1.1 km north
    assert x == WIDTH / 2 and y == pytest.approx(HEIGHT / 2 - 1.1057 * PX_PER_KM, abs=0.01)
    x, _y = project(43.6465, 0.5855 + 0.01, centre)  # east
    assert x > WIDTH / 2


def test_the_map_is_an_accessible_figure_with_scale_north_and_commune():
    figure = render_map(43.6465, 0.5855, commune="Auch", approximate=False, nearby=[Place("Pavie", 43.61, 0.591)])
    svg = str(figure.svg)
    assert svg.startswith("<svg") and 'role="img"' in svg and 'aria-labelledby="carte-titre carte-description"' in svg
    assert '<title id="carte-titre">Carte : Auch</title>' in svg
    assert "<desc" in svg and "Emplacement du lieu d'accueil à Auch." in html.unescape(svg)
    assert ">2 km</text>" in svg and ">N</text>" in svg and ">Auch</text>" in svg and ">Pavie</text>" in svg
    assert 'class="fiche-map-marker"' in svg and "fiche-map-ring" not in svg
    assert "43.6" not in svg and "0.58" not in svg  # pixels only, never coordinates


def test_an_approximate_map_draws_a_ring_of_about_one_kilometre():
    figure = render_map(43.6465, 0.5855, commune="Auch", approximate=True)
    svg = str(figure.svg)
    ring = re.search(r'class="fiche-map-ring" cx="([\d.]+)" cy="([\d.]+)" r="([\d.]+)"', svg)
    assert ring and float(ring.group(3)) == PX_PER_KM and (float(ring.group(1)), float(ring.group(2))) == (WIDTH / 2, HEIGHT / 2)
    assert "fiche-map-marker" not in svg and figure.approximate


def test_names_in_the_map_are_escaped():
    svg = str(render_map(43.0, 1.0, commune="<script>", approximate=True, nearby=[Place("A&B", 43.0, 1.01)]).svg)
    assert "<script>" not in svg and "&lt;script&gt;" in svg and "A&amp;B" in svg


def test_communes_outside_the_drawing_are_left_out():
    svg = str(render_map(43.0, 1.0, commune="X", approximate=True, nearby=[Place("Loin", 44.0, 1.0)]).svg)
    assert "Loin" not in svg


@pytest.mark.parametrize("centre", [(43.6465, 0.5855), (48.4469, 1.4892), (-21.115, 55.536), (50.95, 2.37)])
def test_a_pixel_and_its_point_are_one_projection_both_ways(centre):
    for px_per_km in (PX_PER_KM, PICKER_PX_PER_KM):
        for x, y in ((0, 0), (WIDTH, HEIGHT), (17, 203), (WIDTH / 2, HEIGHT / 2), (311.5, 4)):
            lat, lon = unproject(x, y, centre, px_per_km)
            assert project(lat, lon, centre, px_per_km) == (pytest.approx(x, abs=1e-6), pytest.approx(y, abs=1e-6))
        lat, lon = centre[0] + 0.0021, centre[1] - 0.0033
        assert unproject(*project(lat, lon, centre, px_per_km), centre, px_per_km) == (
            pytest.approx(lat, abs=1e-9), pytest.approx(lon, abs=1e-9))
    # The picker is 1 km wide: its edges lie 500 m from the centre.
    west, _lon = unproject(0, HEIGHT / 2, centre, PICKER_PX_PER_KM)[1], None
    from assmat.core.geocoding.distance import Point, haversine_km
    assert haversine_km(Point(*centre), Point(centre[0], west)) == pytest.approx(0.5, abs=0.005)


def test_the_picker_shows_her_position_without_coordinates():
    svg = render_picker("<Position>")
    assert svg.startswith("<svg") and "&lt;Position&gt;" in svg and "200 m" in svg
    assert f'viewBox="0 0 {WIDTH} {HEIGHT}"' in svg
