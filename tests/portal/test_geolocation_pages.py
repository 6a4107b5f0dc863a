"""The correction request end to end, through the pages: she reads the seed's steps on « Ma
fiche », pastes the national map's link, bad links are refused in French with nothing stored,
staff see both positions in the console and accept (the fiche moves, audited) or reject with a
reason she reads; the requested point never reaches a public page."""

from __future__ import annotations

import pytest
from sqlalchemy import func, select, update

from assmat.core.security.models import AuditEvent
from assmat.core.security.ratelimit import CORRECTIONS_PER_ACCOUNT
from assmat.portal.profile.models import Fiche, PositionCorrection
from tests.admin.conftest import ADMIN_PASSWORD, Console, create_admin
from tests.portal.test_profile_pages import assistant, full_form
from tests.support.portal import text_of

pytestmark = pytest.mark.both_backends

PAGE = "/espace/fiche"
POST = "/espace/fiche/geolocalisation"
GOOD_URL = "https://adresse.data.gouv.fr/map?lng=0.59012&lat=43.65034&z=18"


def staff(app, client_for, slug: str = "gers") -> Console:
    console = Console(client_for(slug), app)
    create_admin(app, console.client, slug, f"agent@{slug}.fr", ADMIN_PASSWORD)
    assert console.login(f"agent@{slug}.fr", ADMIN_PASSWORD).status_code == 302
    return console


def decide(console: Console, action: str, correction_id: int, reason: str | None = None):
    data = {"csrf_token": console.csrf("/admin/corrections-geolocalisation/list"), "pks": str(correction_id)}
    if reason is not None:
        data["reason"] = reason
    return console.client.post(f"/admin/corrections-geolocalisation/run/{action}", data=data)


def corrections(portal) -> list[PositionCorrection]:
    return [row for (row,) in portal.query(select(PositionCorrection).where(PositionCorrection.tenant_id == portal.slug))]


def the_fiche(portal, account_id: int) -> Fiche:
    return portal.query(select(Fiche).where(Fiche.tenant_id == portal.slug, Fiche.account_id == account_id))[0][0]


def saved_assistant(portal_for, slug="gers", identifier="AGR-2026-0777"):
    portal, account = assistant(portal_for, slug, identifier)
    assert portal.post(PAGE, full_form()).status_code == 303
    return portal, account


def test_she_reads_the_steps_and_needs_a_saved_fiche_first(portal_for):
    portal, _account = assistant(portal_for, identifier="AGR-2026-0770")
    text = text_of(portal.client.get(PAGE))
    assert '<h2 id="titre-geolocalisation">Géolocalisation</h2>' in text
    assert '<a href="https://adresse.data.gouv.fr/map" rel="noopener">' in text
    assert "Collez l'URL dans le formulaire et envoyez. La géolocalisation sera vérifiée par le service d'assistance " \
           "et corrigée si l'erreur est constatée." in text
    assert "Saisissez votre adresse dans le champ de recherche et choisissez l'une des propositions de saisie." in text
    assert "Enregistrez d'abord votre fiche : sa position pourra ensuite être corrigée." in text
    assert f'action="{POST}"' not in text
    refused = portal.post(POST, {"url-carte": GOOD_URL}, form_path="/espace/fiche/apercu")
    assert refused.status_code == 400 and corrections(portal) == []


@pytest.mark.parametrize("url, message", [
    ("", "Collez l'adresse de la carte nationale des adresses"),
    ("https://www.google.com/maps/@48.44,1.48,17z", "Collez l'adresse de la carte nationale des adresses"),
    ("https://adresse.data.gouv.fr/map?z=18", "ne contient aucune position"),
    ("https://adresse.data.gouv.fr/map?lng=13.40&lat=52.52&z=18", "hors de France"),
    ("https://adresse.data.gouv.fr/map?lng=abc&lat=<script>&z=18", "ne contient aucune position"),
    ("https://adresse.data.gouv.fr/map?lng=1&lat=48&z=" + "9" * 600, "trop longue"),
])
def test_bad_links_are_refused_in_french_and_nothing_is_stored(portal_for, url, message):
    portal, _account = saved_assistant(portal_for)
    response = portal.post(POST, {"url-carte": url, "message": "La maison est au fond de l'impasse."}, form_path=PAGE)
    assert response.status_code == 400
    text = text_of(response)
    assert message in text and 'aria-invalid="true"' in text and "<script>&z" not in response.text
    assert "La maison est au fond de l'impasse." in text  # her message is kept for the next try
    assert corrections(portal) == []
    assert not portal.query(select(AuditEvent.id).where(AuditEvent.type == "position_correction.requested"))


def test_she_asks_staff_accept_and_the_fiche_moves(portal_for, client_for, app):
    portal, account = saved_assistant(portal_for)
    portal.update_account(account.id)  # unchanged address
    sent = portal.post(POST, {"url-carte": GOOD_URL, "message": "Entrée par la rue Dessoles."}, form_path=PAGE)
    assert sent.status_code == 303 and sent.headers["location"] == "/espace/fiche?info=correction_sent"
    text = text_of(portal.client.get(sent.headers["location"]))
    assert "Votre demande de correction a été envoyée. Le service d'assistance va la vérifier." in text
    assert "est en attente de vérification par le service d'assistance" in text
    assert "Position demandée : latitude 43.65034, longitude 0.59012." in text
    (correction,) = corrections(portal)
    assert (correction.account_id, correction.state, correction.latitude, correction.longitude) == \
           (account.id, "pending", 43.65034, 0.59012)

    # A second request replaces the first.
    again = "https://adresse.data.gouv.fr/map?lng=0.59021&lat=43.65041&z=19"
    assert portal.post(POST, {"url-carte": again}, form_path=PAGE).status_code == 303
    (correction,) = corrections(portal)
    assert (correction.latitude, correction.message) == (43.65041, None)

    # The requested point is hers and the staff's only: never on the public fiche.
    public = portal_for("gers").client.get(f"/assistants/{the_fiche(portal, account.id).public_id}")
    assert public.status_code == 200 and "43.6504" not in public.text and "0.5902" not in public.text

    console = staff(app, client_for)
    listing = text_of(console.client.get("/admin/corrections-geolocalisation/list"))
    assert "Prunier" in listing and "en attente" in listing and "fiche sans position" in listing
    details = text_of(console.client.get(f"/admin/corrections-geolocalisation/details/{correction.id}"))
    assert "latitude 43.650410, longitude 0.590210" in details and 'class="correction-map"' in details
    assert decide(console, "accept_correction", correction.id).status_code == 303
    fiche = the_fiche(portal, account.id)
    assert (fiche.latitude, fiche.longitude, fiche.position_source) == (43.65041, 0.59021, "correction")
    assert corrections(portal)[0].state == "accepted" and corrections(portal)[0].reviewed_by == "agent@gers.fr"
    assert portal.query(select(AuditEvent.id).where(
        AuditEvent.tenant_id == "gers", AuditEvent.type == "position_correction.accepted"))
    assert "Votre demande de correction a été acceptée" in text_of(portal.client.get(PAGE))
    # Decided once: a second accept changes nothing.
    decide(console, "accept_correction", correction.id)
    assert portal.query(select(func.count()).select_from(AuditEvent).where(
        AuditEvent.tenant_id == "gers", AuditEvent.type == "position_correction.accepted"))[0][0] == 1


def test_staff_reject_with_a_reason_she_reads_and_the_fiche_stays(portal_for, client_for, app):
    portal, account = saved_assistant(portal_for)
    assert portal.post(POST, {"url-carte": GOOD_URL}, form_path=PAGE).status_code == 303
    (correction,) = corrections(portal)
    console = staff(app, client_for)
    without = decide(console, "reject_correction", correction.id, reason="  ")
    assert without.status_code in (200, 400) and corrections(portal)[0].state == "pending"
    assert decide(console, "reject_correction", correction.id,
                  reason="Le point envoyé est sur la commune voisine.").status_code == 303
    assert corrections(portal)[0].state == "rejected"
    assert the_fiche(portal, account.id).position_source is None
    text = text_of(portal.client.get(PAGE))
    assert ("Votre dernière demande de correction n'a pas été acceptée. Motif : Le point envoyé est sur la "
            "commune voisine.") in text


def test_requests_are_limited_per_day(portal_for, frozen_clock):
    frozen_clock.advance(hours=14, minutes=45)  # 23:45 UTC: the day's window closes in 15 minutes
    portal, _account = saved_assistant(portal_for)
    for number in range(CORRECTIONS_PER_ACCOUNT.limit):
        url = f"https://adresse.data.gouv.fr/map?lng=0.5901{number}&lat=43.6503&z=18"
        assert portal.post(POST, {"url-carte": url}, form_path=PAGE).status_code == 303
    refused = portal.post(POST, {"url-carte": GOOD_URL}, form_path=PAGE)
    assert refused.status_code == 429 and "réessayez demain" in text_of(refused)
    assert corrections(portal)[0].longitude == 0.59014
    # A click on the map counts the same: one limit, whatever the way.
    assert portal.post(POST, {"carte.x": "200", "carte.y": "90"}, form_path=PAGE).status_code == 429
    assert corrections(portal)[0].longitude == 0.59014
    frozen_clock.advance(minutes=16)  # the next day, she may send again
    assert portal.post(POST, {"url-carte": GOOD_URL}, form_path=PAGE).status_code == 303
    assert corrections(portal)[0].longitude == 0.59012


def test_each_request_is_bound_to_its_tenant(portal_for, client_for, app):
    portal, _account = saved_assistant(portal_for)
    assert portal.post(POST, {"url-carte": GOOD_URL}, form_path=PAGE).status_code == 303
    (correction,) = corrections(portal)
    other = staff(app, client_for, "eure-et-loir")
    assert other.client.get(f"/admin/corrections-geolocalisation/details/{correction.id}").status_code in (403, 404)
    assert decide(other, "accept_correction", correction.id).status_code in (403, 404)
    assert corrections(portal)[0].state == "pending"


def test_the_overview_says_whether_geocoding_is_on_and_what_waits(portal_for, client_for, app):
    portal, account = saved_assistant(portal_for)  # her fiche's address has never been geocoded
    assert portal.post(POST, {"url-carte": GOOD_URL}, form_path=PAGE).status_code == 303
    console = staff(app, client_for)
    text = text_of(console.client.get("/admin/vue-d-ensemble"))
    assert "Géolocalisation désactivée : aucun géocodeur configuré" in text  # the tests' settings have none
    assert "Adresses en attente de géolocalisation : 1" in text
    assert "Demandes de correction en attente : 1" in text and "Positions à vérifier : 0" in text


def test_she_clicks_the_map_around_her_position_and_the_point_is_sent(portal_for):
    import base64
    import math

    from assmat.portal.profile.geo import find_commune
    from assmat.portal.profile.svgmap import HEIGHT, KM_PER_DEGREE_LAT, KM_PER_DEGREE_LON_EQUATOR, WIDTH

    portal, account = saved_assistant(portal_for)
    text = portal.client.get(PAGE).text
    assert 'type="image" name="carte"' in text and "la carte fait 1 km de large" in text
    image = base64.b64decode(text.split('src="data:image/svg+xml;base64,')[1].split('"')[0]).decode()
    assert "Position actuelle" in image and "43." not in image and "0.5" not in image  # pixels only, no coordinates

    # Not located yet: the map is centred on her commune; 100 px east and 32 px north of it.
    auch = find_commune("32000", "Auch")
    sent = portal.post(POST, {"carte.x": str(WIDTH // 2 + 100), "carte.y": str(HEIGHT // 2 - 32),
                              "message": "Au bout du chemin."}, form_path=PAGE)
    assert sent.status_code == 303
    (correction,) = corrections(portal)
    north_km, east_km = 32 / 320, 100 / 320  # the drawing is 1 km (320 px) wide
    assert correction.latitude == pytest.approx(auch.latitude + north_km / KM_PER_DEGREE_LAT, abs=1e-6)
    assert correction.longitude == pytest.approx(
        auch.longitude + east_km / (KM_PER_DEGREE_LON_EQUATOR * math.cos(math.radians(auch.latitude))), abs=1e-6)
    assert correction.url == (f"https://adresse.data.gouv.fr/map?lng={correction.longitude:.6f}"
                              f"&lat={correction.latitude:.6f}&z=18")
    assert correction.message == "Au bout du chemin."

    # Once located, the map is centred on her fiche's position: a click on its centre is that point.
    async def locate():
        async with portal.app.state.sessionmaker() as db:
            await db.execute(update(Fiche).where(Fiche.tenant_id == "gers", Fiche.account_id == account.id)
                             .values(latitude=43.6501, longitude=0.5902))
            await db.commit()

    portal.run(locate)
    assert portal.post(POST, {"carte.x": str(WIDTH // 2), "carte.y": str(HEIGHT // 2)}, form_path=PAGE).status_code == 303
    assert (corrections(portal)[0].latitude, corrections(portal)[0].longitude) == (43.6501, 0.5902)


@pytest.mark.parametrize("click, message", [
    ({"carte.x": "0", "carte.y": "0"}, "Collez l'adresse de la carte nationale des adresses"),  # Enter, or the keyboard
    ({"carte.x": "900", "carte.y": "40"}, "Cliquez sur la carte à l'endroit de votre domicile"),
    ({"carte.x": "abc", "carte.y": "40"}, "Cliquez sur la carte à l'endroit de votre domicile"),
])
def test_a_click_outside_the_map_or_from_the_keyboard_sends_nothing(portal_for, click, message):
    portal, _account = saved_assistant(portal_for)
    response = portal.post(POST, {**click, "message": "Ici."}, form_path=PAGE)
    assert response.status_code == 400 and message in text_of(response)
    assert corrections(portal) == []
