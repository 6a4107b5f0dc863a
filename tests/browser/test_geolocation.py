"""The correction request of seed 002 in a real Chromium: a Gers assistant reads the steps under
« Géolocalisation » on « Ma fiche », pastes a bad link (refused in French), then the national
map's link, clicks « Envoyer la demande de correction » (on a desktop with JavaScript, on a phone
without), and reads that it waits; staff open « Corrections de géolocalisation », see both
positions and accept; she reads that it was accepted.

Screenshots go to /tmp/shots11/geolocation/ for a person to look at."""

from __future__ import annotations

import re
import uuid
from collections.abc import Iterator
from pathlib import Path

import pytest
from playwright.sync_api import Browser, Page, expect

from tests.browser.test_accessibility import assert_no_serious, axe_source  # noqa: F401 (a fixture)
from tests.browser.test_every_form import console_sign_in, done, expect_no_expired_form, with_agrement

pytestmark = pytest.mark.browser

SLUG = "gers"
PASSWORD = "Lune#Soleil42"
SHOTS = Path("/tmp/shots11/geolocation")
MAP_URL = "https://adresse.data.gouv.fr/map?lng=0.58712&lat=43.64801&z=18"


def shoot(page: Page, name: str) -> None:
    SHOTS.mkdir(parents=True, exist_ok=True)
    page.screenshot(path=str(SHOTS / f"{name}.png"), full_page=True)


def sign_in(page: Page, live_server, identifier: str) -> None:
    page.goto(live_server.url(SLUG, "/connexion"))
    page.get_by_label("Identifiant").fill(identifier)
    page.get_by_label("Mot de passe", exact=False).fill(PASSWORD)
    page.get_by_role("button", name="Se connecter").click()
    page.wait_for_url(live_server.url(SLUG, "/espace"))


@pytest.fixture(params=[({"width": 1280, "height": 800}, True), ({"width": 360, "height": 740}, False)],
                ids=["desktop", "phone-without-javascript"])
def device(request: pytest.FixtureRequest, browser: Browser) -> Iterator[tuple[Page, str]]:
    viewport, javascript = request.param
    context = browser.new_context(locale="fr-FR", viewport=viewport, java_script_enabled=javascript)
    context.set_default_timeout(10_000)
    try:
        yield context.new_page(), request.node.callspec.id
    finally:
        context.close()


def test_she_sends_a_correction_and_staff_accept_it(live_server, live_accounts, browser: Browser, device) -> None:
    page, name = device
    identifier = f"AGR-{uuid.uuid4().hex[:10].upper()}"
    last_name = f"Geoloc{uuid.uuid4().hex[:6]}"
    account, _ = live_accounts.create(SLUG, identifier, PASSWORD, email=f"{identifier.lower()}@example.org",
                                      last_name=last_name)
    with_agrement(live_server, account)
    sign_in(page, live_server, identifier)
    page.goto(live_server.url(SLUG, "/espace/fiche"))
    page.get_by_role("button", name="Enregistrer", exact=True).click()  # her fiche exists from its first save
    page.wait_for_url(re.compile(r"/espace/fiche\?info=fiche_saved$"))

    section = page.get_by_role("region", name="Géolocalisation")
    expect(section).to_contain_text("Collez l'URL dans le formulaire et envoyez. La géolocalisation sera vérifiée par "
                                    "le service d'assistance et corrigée si l'erreur est constatée.")
    expect(section.get_by_role("link", name="https://adresse.data.gouv.fr/map")).to_be_visible()

    # A link of another map: refused in French, nothing sent.
    page.get_by_label(re.compile(r"^URL de la carte")).fill("https://www.google.com/maps/@43.64,0.58,17z")
    page.get_by_role("button", name="Envoyer la demande de correction").click()
    expect_no_expired_form(page)
    expect(page.get_by_role("alert").filter(has_text="Collez l'adresse de la carte nationale des adresses")).to_be_visible()
    expect(page.get_by_label(re.compile(r"^URL de la carte"))).to_have_attribute("aria-invalid", "true")
    shoot(page, f"correction-error-{name}")

    page.get_by_label(re.compile(r"^URL de la carte")).fill(MAP_URL)
    page.get_by_label("Message au service d'assistance (facultatif)").fill("L'entrée est au fond de l'impasse.")
    page.get_by_role("button", name="Envoyer la demande de correction").click()
    page.wait_for_url(re.compile(r"/espace/fiche\?info=correction_sent$"))
    expect(page.get_by_role("status")).to_contain_text("Votre demande de correction a été envoyée.")
    expect(section).to_contain_text("Position demandée : latitude 43.64801, longitude 0.58712.")
    shoot(page, f"correction-sent-{name}")

    console = browser.new_context(locale="fr-FR", viewport={"width": 1280, "height": 800})
    try:
        desk = console.new_page()
        console_sign_in(live_server, desk, SLUG)
        desk.get_by_role("link", name="Corrections de géolocalisation").click()
        row = desk.locator("tbody tr").filter(has_text=last_name)
        expect(row).to_contain_text("en attente")
        row.locator("a[href*='/corrections-geolocalisation/details/']").first.click()
        expect(desk.locator("body")).to_contain_text("latitude 43.648010, longitude 0.587120")
        expect(desk.locator("svg.correction-map")).to_have_count(1)
        shoot(desk, f"console-correction-{name}")
        desk.get_by_role("link", name="Accepter la correction", exact=True).click()
        desk.get_by_role("button", name="Confirmer : Accepter la correction").click()
        expect_no_expired_form(desk)
        done(desk, "Accepter la correction").to_be_visible()
    finally:
        console.close()

    page.goto(live_server.url(SLUG, "/espace/fiche"))
    expect(page.get_by_role("region", name="Géolocalisation")).to_contain_text(
        "Votre demande de correction a été acceptée : votre fiche est placée à la position envoyée.")


def in_auch(live_server, account) -> None:
    """Her address, as the département's file gives it: the map of « Ma fiche » is centred on Auch."""
    from sqlalchemy import update

    from assmat.auth.models import Account

    async def place(sessionmaker):
        async with sessionmaker() as db:
            await db.execute(update(Account).where(Account.id == account.id)
                             .values(address="2 Rue Dessoles", postal_code="32000", city="Auch"))
            await db.commit()

    live_server.run_async(place)


def fiche_position(live_server, account) -> tuple[float | None, float | None]:
    from sqlalchemy import select

    from assmat.portal.profile.models import Fiche

    async def read(sessionmaker):
        async with sessionmaker() as db:
            return tuple((await db.execute(select(Fiche.latitude, Fiche.longitude).where(
                Fiche.tenant_id == SLUG, Fiche.account_id == account.id))).one())

    return live_server.run_async(read)


def test_she_clicks_the_map_and_staff_accept_the_point(live_server, live_accounts, browser: Browser, device,
                                                       axe_source: str) -> None:
    from assmat.portal.profile.geo import find_commune

    page, name = device
    identifier = f"AGR-{uuid.uuid4().hex[:10].upper()}"
    last_name = f"Carte{uuid.uuid4().hex[:6]}"
    account, _ = live_accounts.create(SLUG, identifier, PASSWORD, email=f"{identifier.lower()}@example.org",
                                      last_name=last_name)
    with_agrement(live_server, account)
    in_auch(live_server, account)
    sign_in(page, live_server, identifier)
    page.goto(live_server.url(SLUG, "/espace/fiche"))
    page.get_by_role("button", name="Enregistrer", exact=True).click()
    page.wait_for_url(re.compile(r"/espace/fiche\?info=fiche_saved$"))
    assert fiche_position(live_server, account) == (None, None)

    section = page.get_by_role("region", name="Géolocalisation")
    expect(section).to_contain_text("Ou cliquez sur la carte à l'endroit de votre domicile")
    page.get_by_label("Message au service d'assistance (facultatif)").fill("Ma maison est au nord-est du repère.")
    carte = section.get_by_role("button", name=re.compile("^Carte autour de votre position actuelle"))
    carte.scroll_into_view_if_needed()
    box = carte.bounding_box()
    assert box is not None and box["width"] == 320 and box["x"] >= 0 and box["x"] + 320 <= page.viewport_size["width"]
    shoot(page, f"map-before-click-{name}")
    if name == "desktop":  # axe runs in the page: with JavaScript
        assert_no_serious(page, axe_source, "/espace/fiche with its map")
    carte.click(position={"x": 240, "y": 70})  # 80 px east and 40 px north of her position: 250 m and 125 m
    page.wait_for_url(re.compile(r"/espace/fiche\?info=correction_sent$"))
    expect(page.get_by_role("status")).to_contain_text("Votre demande de correction a été envoyée.")
    auch = find_commune("32000", "Auch")
    expect(section).to_contain_text(f"Position demandée : latitude {round(auch.latitude + 0.125 / 110.57, 6)}")
    shoot(page, f"map-clicked-{name}")

    console = browser.new_context(locale="fr-FR", viewport={"width": 1280, "height": 800})
    try:
        desk = console.new_page()
        console_sign_in(live_server, desk, SLUG)
        desk.get_by_role("link", name="Corrections de géolocalisation").click()
        row = desk.locator("tbody tr").filter(has_text=last_name)
        row.locator("a[href*='/corrections-geolocalisation/details/']").first.click()
        expect(desk.locator("body")).to_contain_text("Ma maison est au nord-est du repère.")
        desk.get_by_role("link", name="Accepter la correction", exact=True).click()
        desk.get_by_role("button", name="Confirmer : Accepter la correction").click()
        expect_no_expired_form(desk)
        done(desk, "Accepter la correction").to_be_visible()
    finally:
        console.close()

    latitude, longitude = fiche_position(live_server, account)
    assert latitude == pytest.approx(auch.latitude + 0.125 / 110.57, abs=1e-6)
    assert longitude > auch.longitude + 0.0025  # 250 m east is about 0.0031° at this latitude
    page.goto(live_server.url(SLUG, "/espace/fiche"))
    expect(page.get_by_role("region", name="Géolocalisation")).to_contain_text(
        "Votre demande de correction a été acceptée")
