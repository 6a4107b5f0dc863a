"""The position an assistant pastes from the national address map, for a correction request."""

import pytest

from assmat.core.errors import Invalid
from assmat.core.geocoding.distance import Point
from assmat.core.geocoding.map_links import parse_map_url
from assmat.core.i18n import current_locale


@pytest.mark.parametrize("url, point", [
    ("https://adresse.data.gouv.fr/map?lng=1.47921&lat=48.4460&z=18", Point(48.446, 1.47921)),
    ("  https://adresse.data.gouv.fr/map?lat=43.6463&lng=0.5866&z=19  ", Point(43.6463, 0.5866)),
    ("https://adresse.data.gouv.fr/map?lon=2.8942&lat=42.6998", Point(42.6998, 2.8942)),
    ("https://adresse.data.gouv.fr/carte-base-adresse-nationale#18/48.4460/1.47921", Point(48.446, 1.47921)),
    ("https://www.adresse.data.gouv.fr/map#17.5/43.70300/7.26700/0/45", Point(43.703, 7.267)),
    ("https://adresse.data.gouv.fr/map?lng=2.5459&lat=51.0853", Point(51.0853, 2.5459)),  # Bray-Dunes
    ("https://adresse.data.gouv.fr/map?lng=-4.7617&lat=48.3592", Point(48.3592, -4.7617)),  # Pointe Saint-Mathieu
    ("https://adresse.data.gouv.fr/map?lng=8.2306&lat=48.9714", Point(48.9714, 8.2306)),  # Lauterbourg
    ("https://adresse.data.gouv.fr/map?lng=3.1667&lat=42.4411", Point(42.4411, 3.1667)),  # Cerbère
    # Corsica (Bonifacio), then the DROM: Guadeloupe, Martinique, Guyane, La Réunion, Mayotte.
    ("https://adresse.data.gouv.fr/map?lng=9.1592&lat=41.3875&z=18", Point(41.3875, 9.1592)),
    ("https://adresse.data.gouv.fr/map?lng=-61.5331&lat=16.2411&z=18", Point(16.2411, -61.5331)),
    ("https://adresse.data.gouv.fr/map?lng=-61.0742&lat=14.6161&z=18", Point(14.6161, -61.0742)),
    ("https://adresse.data.gouv.fr/map?lng=-52.3135&lat=4.9372&z=18", Point(4.9372, -52.3135)),
    ("https://adresse.data.gouv.fr/map?lng=55.4504&lat=-20.8823&z=18", Point(-20.8823, 55.4504)),
    ("https://adresse.data.gouv.fr/map?lng=45.2279&lat=-12.7806&z=18", Point(-12.7806, 45.2279)),
])
def test_a_map_address_gives_its_position(url, point):
    assert parse_map_url(url) == point


@pytest.mark.parametrize("url", [
    "https://adresse.data.gouv.fr/map?lng=-0.1276&lat=51.5072&z=18",  # London
    "https://adresse.data.gouv.fr/map?lng=2.1734&lat=41.3851&z=18",  # Barcelona
    "https://adresse.data.gouv.fr/map?lng=-3.7038&lat=40.4168&z=18",  # Madrid
    "https://adresse.data.gouv.fr/map?lng=12.4964&lat=41.9028&z=18",  # Rome
    "https://adresse.data.gouv.fr/map?lng=9.19&lat=45.4642&z=18",  # Milan
    "https://adresse.data.gouv.fr/map?lng=48.4460&lat=1.47921&z=18",  # latitude and longitude swapped
    "https://adresse.data.gouv.fr/map?lng=1.47921&lat=-48.4460&z=18",  # latitude and sign swapped
    "https://adresse.data.gouv.fr/map#18/0/0",
])
def test_a_position_outside_france_is_refused_in_french(url):
    token = current_locale.set("fr")
    try:
        with pytest.raises(Invalid) as refused:
            parse_map_url(url)
    finally:
        current_locale.reset(token)
    assert refused.value.message.startswith("Cette position est hors de France")


@pytest.mark.parametrize("url, start", [
    ("https://evil.example/map?lng=1.47921&lat=48.4460&z=18", "Collez l'adresse de la carte nationale"),
    ("https://adresse.data.gouv.fr.evil.example/map?lng=1.4&lat=48.4", "Collez l'adresse de la carte nationale"),
    ("javascript:alert(1)//adresse.data.gouv.fr/map?lng=1.4&lat=48.4", "Collez l'adresse de la carte nationale"),
    ("48.4460, 1.47921", "Collez l'adresse de la carte nationale"),
    ("", "Collez l'adresse de la carte nationale"),
    ("https://adresse.data.gouv.fr/map", "Cette adresse de carte ne contient aucune position"),
    ("https://adresse.data.gouv.fr/map?lng=abc&lat=48.4460", "Cette adresse de carte ne contient aucune position"),
    ("https://adresse.data.gouv.fr/map?lng=nan&lat=nan", "Cette adresse de carte ne contient aucune position"),
    ("https://adresse.data.gouv.fr/map?lng=1.4&lat=" + "4" * 400, "Cette adresse de carte ne contient aucune position"),
    ("https://adresse.data.gouv.fr/map#18/x/y", "Cette adresse de carte ne contient aucune position"),
])
def test_anything_else_is_refused_with_what_to_do(url, start):
    token = current_locale.set("fr")
    try:
        with pytest.raises(Invalid) as refused:
            parse_map_url(url)
    finally:
        current_locale.reset(token)
    assert refused.value.message.startswith(start)
