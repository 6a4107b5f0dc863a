"""The parents' search in a real Chromium on a phone (360 px): from the home page, a parent
searches by commune and radius by clicking « Rechercher », opens a fiche from the list, comes
back with « Retour aux résultats », then opens a fiche from the SVG map; the same without
JavaScript. axe on the search page empty, with results, without results and with errors.

Screenshots (1280 and 360 px) go to /tmp/shots12/search/ for a person to look at."""

from __future__ import annotations

import re
import uuid
from datetime import date
from pathlib import Path

import pytest
from playwright.sync_api import Browser, Page, expect

from tests.browser.test_accessibility import (  # noqa: F401 (axe_source is a module fixture)
    DESKTOP, PHONE, assert_fits, assert_no_serious, axe_source, new_context,
)

pytestmark = pytest.mark.browser

GERS = "gers"
SHOTS = Path("/tmp/shots12/search")
AUCH = (43.6465, 0.5855)
PAVIE = (43.6100, 0.5910)


def shoot(page: Page, name: str) -> None:
    SHOTS.mkdir(parents=True, exist_ok=True)
    page.screenshot(path=str(SHOTS / f"{name}.png"), full_page=True)


def published(live_server, last_name: str, at: tuple[float, float], *, show_address: bool) -> None:
    """A Gers assistant with a valid agrément and a fiche, in the search table."""
    from assmat.auth.models import Account
    from assmat.portal.agrement.models import Agrement
    from assmat.portal.directory.service import refresh_entry
    from assmat.portal.profile.models import Fiche

    tenant = live_server.app.state.registry.get(GERS)

    async def add(sessionmaker):
        async with sessionmaker() as db:
            account = Account(tenant_id=GERS, kind="assistant", identifier=f"{last_name.lower()}@example.org",
                              first_name="Lou", last_name=last_name, city="Auch", postal_code="32000")
            db.add(account)
            await db.flush()
            db.add(Agrement(tenant_id=GERS, account_id=account.id, number=f"R-{account.id}",
                            start_date=date(2020, 1, 1), end_date=date(2031, 12, 31), capacity=3))
            db.add(Fiche(tenant_id=GERS, account_id=account.id, public_id=uuid.uuid4().hex[:12],
                         show_address=show_address, latitude=at[0], longitude=at[1], offer_mercredi=True))
            await refresh_entry(db, tenant, account.id)
            await db.commit()

    live_server.run_async(add)


@pytest.fixture
def two_fiches(live_server) -> tuple[str, str]:
    from assmat.core.security.ratelimit import SEARCH_PER_IP

    SEARCH_PER_IP.reset()
    suffix = uuid.uuid4().hex[:6].upper()
    shown, masked = f"VISIBLE{suffix}", f"DISCRETE{suffix}"
    published(live_server, shown, PAVIE, show_address=True)
    published(live_server, masked, (43.6300, 0.5700), show_address=False)
    return f"Lou {shown}", f"Lou {masked}"


def search_auch(page: Page) -> None:
    page.get_by_label("Commune", exact=True).fill("Auch (32000)")
    page.get_by_label("Distance").select_option(label="10 km")
    page.get_by_role("button", name="Rechercher").click()
    page.wait_for_url(re.compile(r"/recherche\?"))


@pytest.mark.parametrize("javascript", [True, False])
def test_a_parent_on_a_phone_searches_opens_a_fiche_comes_back_and_opens_one_from_the_map(
        live_server, browser: Browser, two_fiches, javascript: bool) -> None:
    shown, masked = two_fiches
    context = new_context(browser, PHONE, None, javascript=javascript)
    try:
        page = context.new_page()
        page.goto(live_server.url(GERS, "/"))
        page.get_by_role("link", name="Trouver un assistant maternel").click()
        page.wait_for_url(re.compile(r"/recherche$"))
        if javascript:  # the commune's suggestions, from the communes the site holds
            page.get_by_label("Commune", exact=True).press_sequentially("Auc")
            expect(page.locator('#communes-proposees option[value="Auch (32000)"]')).to_have_count(1)
        search_auch(page)
        expect(page.get_by_role("heading", level=2, name=re.compile(r"\d+ résultats? autour de Auch \(32000\)"))).to_be_visible()
        expect(page.get_by_text("Toute exploitation commerciale des données est interdite.")).to_be_visible()
        assert_fits(page, "search results (phone)")
        shoot(page, f"resultats-360-{'js' if javascript else 'sans-js'}")
        card = page.get_by_role("listitem").filter(has=page.get_by_role("link", name=shown))
        expect(card).to_contain_text("à environ 4 km")
        expect(card).to_contain_text("Disponibilités non mises à jour")
        page.get_by_role("link", name=shown, exact=True).click()
        expect(page.get_by_role("heading", level=1)).to_have_text(shown)
        page.get_by_role("link", name="Retour aux résultats").click()
        page.wait_for_url(re.compile(r"/recherche\?commune=Auch\+%2832000%29&rayon=10$"))
        expect(page.get_by_label("Distance")).to_have_value("10")
        # The map's marker of the masked fiche: her number, at her commune's centre.
        number = page.get_by_role("listitem").filter(has=page.get_by_role("link", name=masked)) \
            .locator(".search-number").inner_text()
        marker = page.get_by_role("link", name=re.compile(rf"^{number}\. {masked}, 32000 Auch$"))
        expect(marker).to_have_count(1)
        # By keyboard: on the shared live server, another test's fiche near Auch may lie over it.
        marker.focus()
        page.keyboard.press("Enter")
        expect(page.get_by_role("heading", level=1)).to_have_text(masked)
        expect(page.get_by_text("Adresse non communiquée")).to_be_visible()
    finally:
        context.close()


def test_the_search_page_passes_axe_and_the_html_checker_with_and_without_results(
        live_server, browser: Browser, two_fiches, axe_source: str, tmp_path: Path) -> None:
    from tests.browser.test_html_validation import checker, describe, validate

    shown, _masked = two_fiches
    context = new_context(browser, DESKTOP, None)
    pages: dict[str, str] = {}
    try:
        page = context.new_page()
        page.goto(live_server.url(GERS, "/recherche"))
        for size in (DESKTOP, PHONE):
            page.set_viewport_size(size)
            assert_no_serious(page, axe_source, f"/recherche {size['width']}")
        pages["/recherche"] = page.content()
        page.set_viewport_size(DESKTOP)
        search_auch(page)
        expect(page.get_by_role("link", name=shown, exact=True)).to_be_visible()
        shoot(page, "resultats-1280")
        pages["/recherche (résultats)"] = page.content()
        for size in (DESKTOP, PHONE):
            page.set_viewport_size(size)
            assert_no_serious(page, axe_source, f"/recherche results {size['width']}")
        page.set_viewport_size(DESKTOP)
        page.get_by_label("Ou par nom").fill("personne-de-ce-nom")
        page.get_by_role("button", name="Rechercher").click()
        expect(page.get_by_text("Aucun assistant maternel ne correspond à cette recherche.")).to_be_visible()
        assert_no_serious(page, axe_source, "/recherche without results")
        shoot(page, "aucun-resultat-1280")
        pages["/recherche (aucun résultat)"] = page.content()
        page.get_by_label("Ou par nom").fill("")
        page.get_by_label("Commune", exact=True).fill("Atlantide")
        page.get_by_role("button", name="Rechercher").click()
        expect(page.locator("#erreur-commune")).to_contain_text("Commune inconnue")
        expect(page.get_by_label("Commune", exact=True)).to_have_value("Atlantide")
        assert_no_serious(page, axe_source, "/recherche with errors")
        shoot(page, "erreurs-1280")
        pages["/recherche (erreurs)"] = page.content()
        page.set_viewport_size(PHONE)
        shoot(page, "erreurs-360")
    finally:
        context.close()
    errors = validate(checker(), pages, tmp_path)
    assert not errors, describe(errors)



def test_the_interactive_map_draws_the_list_s_markers_over_the_tiles(live_server, browser: Browser, two_fiches) -> None:
    """The Gers given a tile service for this test: Leaflet (vendored) over its tiles, under the
    page's own security policy, with the list's numbered markers at their public positions; Enter
    on the masked fiche's focused marker opens her fiche. Tiles come through a route (no network)."""
    import dataclasses

    from assmat.tenants.schema import MapTiles
    from tests.conftest import REPO

    _shown, masked = two_fiches
    registry = live_server.app.state.registry
    original = registry.tenants[GERS]
    tiled = dataclasses.replace(original, config=original.config.model_copy(update={"map": MapTiles(
        tiles_url="https://tuiles.example.org/{z}/{x}/{y}.png", attribution="© Tuiles d'essai")}))
    hosts = [host for host, tenant in registry._by_host.items() if tenant is original]
    png = (REPO / "assmat" / "static" / "vendor" / "leaflet" / "images" / "marker-icon.png").read_bytes()
    tiles: list[str] = []
    registry.tenants[GERS] = tiled
    registry._by_host.update({host: tiled for host in hosts})
    context = new_context(browser, PHONE, None)
    try:
        def tile(route) -> None:
            tiles.append(route.request.url)
            route.fulfill(body=png, content_type="image/png")

        context.route("https://tuiles.example.org/**", tile)
        page = context.new_page()
        problems: list[str] = []
        page.on("console", lambda message: problems.append(message.text) if message.type == "error" else None)
        page.on("pageerror", lambda error: problems.append(str(error)))
        response = page.goto(live_server.url(GERS, "/recherche?commune=Auch&rayon=10"))
        assert response is not None and "https://tuiles.example.org" in response.headers["content-security-policy"]
        page.wait_for_load_state("load")
        number = page.get_by_role("listitem").filter(has=page.get_by_role("link", name=masked)) \
            .locator(".search-number").inner_text()
        pin = page.locator(f'.results-map-pin[title="{number}. {masked}, 32000 Auch"]')
        expect(pin).to_have_text(number)
        expect(page.locator(".results-map-figure")).to_be_hidden()
        expect(page.get_by_text("© Tuiles d'essai")).to_be_visible()
        assert tiles and not problems, problems
        shoot(page, "carte-interactive-360")
        # By keyboard, as a marker may lie under a neighbour's (the suite's many fiches around Auch).
        pin.focus()
        page.keyboard.press("Enter")
        expect(page.get_by_role("heading", level=1)).to_have_text(masked)
    finally:
        context.close()
        registry.tenants[GERS] = original
        registry._by_host.update({host: original for host in hosts})
