"""« Mes disponibilités » in a real Chromium (issue 11, seed 004 « Etape 2 »): a Gers assistant
declares two places and ticks their slots by clicking « Ajouter une place » and « Enregistrer »,
on a desktop with JavaScript and on a phone without; a refused form says why in French. Then the
idle warning: a minute before the 30-minute idle timeout a box offers « Rester connecté(e) », and
what she typed survives. Time moves with assmat.core.clock (the live server is a thread of this
process) and, in the page, with Playwright's clock. Screenshots go to /tmp/shots11/availability/."""

from __future__ import annotations

import re
import uuid
from collections.abc import Iterator
from pathlib import Path

import pytest
from playwright.sync_api import Page, expect

pytestmark = pytest.mark.browser

SLUG = "gers"
PASSWORD = "Cathedrale#Beauce28"
SHOTS = Path("/tmp/shots11/availability")
MORNING = "Matin (7 h – 12 h)"
NOON = "Midi (12 h – 14 h)"


def sign_in(live_server, live_accounts, page: Page) -> object:
    identifier = f"AGR-DI-{uuid.uuid4().hex[:6].upper()}"
    account, _ = live_accounts.create(SLUG, identifier, PASSWORD, email=f"{identifier.lower()}@example.org")
    page.goto(live_server.url(SLUG, "/connexion"))
    page.get_by_role("textbox", name="Identifiant").fill(identifier)
    page.get_by_label("Mot de passe", exact=False).fill(PASSWORD)
    page.get_by_role("button", name=re.compile(r"^(Se connecter|Connexion)$")).click()
    page.wait_for_url(live_server.url(SLUG, "/espace"))
    return account


def shoot(page: Page, name: str) -> None:
    SHOTS.mkdir(parents=True, exist_ok=True)
    page.screenshot(path=str(SHOTS / f"{name}.png"), full_page=True)


def fits(page: Page) -> bool:
    width, client = page.evaluate("() => [document.documentElement.scrollWidth, document.documentElement.clientWidth]")
    return width <= client


@pytest.fixture(params=[({"width": 1280, "height": 900}, True), ({"width": 360, "height": 740}, False)],
                ids=["desktop", "phone-without-javascript"])
def page(request: pytest.FixtureRequest, browser) -> Iterator[Page]:
    viewport, javascript = request.param
    context = browser.new_context(locale="fr-FR", viewport=viewport, java_script_enabled=javascript)
    context.set_default_timeout(10_000)
    try:
        yield context.new_page()
    finally:
        context.close()


def test_an_assistant_declares_places_and_ticks_slots(live_server, live_accounts, page: Page, frozen_clock) -> None:
    sign_in(live_server, live_accounts, page)
    size = "1280" if page.viewport_size["width"] > 400 else "360"
    expect(page.get_by_role("region", name="Mes disponibilités")).to_contain_text("Disponibilités non renseignées")
    page.get_by_role("link", name="Mettre à jour mes disponibilités").click()
    page.wait_for_url(live_server.url(SLUG, "/espace/disponibilites"))
    expect(page.get_by_role("heading", level=1)).to_have_text("Mes disponibilités")
    expect(page.get_by_text("Par sécurité, votre session se ferme après 30 minutes sans action")).to_be_visible()

    first = page.get_by_role("group", name="Place 1")
    first.get_by_label("Tranche d'âge").select_option(label="Moins de 18 mois")
    first.get_by_label("Nombre de places").fill("1")
    for day in ("Lundi", "Mardi", "Jeudi"):
        first.get_by_role("checkbox", name=f"{day}, {MORNING}").check()
    page.get_by_role("button", name="Ajouter une place").click()  # re-rendered, nothing saved

    expect(first.get_by_label("Nombre de places")).to_have_value("1")
    expect(first.get_by_role("checkbox", name=f"Jeudi, {MORNING}")).to_be_checked()
    second = page.get_by_role("group", name="Place 2")
    second.get_by_label("Tranche d'âge").select_option(label="Plus de 3 ans")
    second.get_by_label("Nombre de places").fill("0")
    second.get_by_label("Disponible à partir du").fill("04/01/2027")
    second.get_by_label("Type d'accueil").select_option(label="Périscolaire")
    second.get_by_role("checkbox", name=f"Mercredi, {NOON}").check()
    page.get_by_role("button", name="Enregistrer").click()

    expect(page.get_by_role("alert").first).to_contain_text("Le formulaire contient des erreurs")
    expect(second.get_by_label("Nombre de places")).to_have_attribute("aria-invalid", "true")
    expect(second).to_contain_text("Indiquez un nombre de places entre 1 et 6.")
    shoot(page, f"form-error-{size}")
    second.get_by_label("Nombre de places").fill("2")
    page.get_by_role("button", name="Enregistrer").click()

    page.wait_for_url(re.compile(r"/espace/disponibilites\?info=availability_saved$"))
    expect(page.get_by_role("status")).to_have_text("Vos disponibilités ont été enregistrées.")
    seen = page.get_by_role("region", name="Ce que voient les familles")
    expect(seen).to_contain_text("Place disponible maintenant")
    expect(seen).to_contain_text("Plus de 3 ans : 2 places, à partir du 04/01/2027 (Périscolaire)")
    week = seen.get_by_role("table", name="Semaine du 02/11/2026 au 08/11/2026")
    expect(week.get_by_role("row", name=re.compile(r"^Matin")).get_by_role("cell").nth(0)).to_contain_text("disponible")
    expect(page.get_by_role("group", name="Place 2").get_by_label("Disponible à partir du")).to_have_value("04/01/2027")
    assert fits(page), "the page is wider than the screen"
    shoot(page, f"saved-{size}")
    page.goto(live_server.url(SLUG, "/espace"))
    expect(page.get_by_role("region", name="Mes disponibilités")).to_contain_text("Place disponible maintenant")
    shoot(page, f"dashboard-{size}")


def test_no_availability_is_declared_and_shown_red(live_server, live_accounts, page: Page, frozen_clock) -> None:
    sign_in(live_server, live_accounts, page)
    page.goto(live_server.url(SLUG, "/espace/disponibilites"))
    page.get_by_role("checkbox", name=re.compile("Je n'ai aucune place disponible")).check()
    page.get_by_role("button", name="Enregistrer").click()
    page.wait_for_url(re.compile(r"\?info=availability_saved$"))
    expect(page.get_by_role("region", name="Ce que voient les familles")).to_contain_text("Pas de disponibilité")
    expect(page.get_by_role("table")).to_have_count(1)  # only the empty place's grid: no weeks shown


def test_the_idle_warning_keeps_the_session_and_the_typing(live_server, live_accounts, browser, frozen_clock) -> None:
    from sqlalchemy import select

    from assmat.auth.models import UserSession

    def last_seen(account_id: int):
        async def read(sessionmaker):
            async with sessionmaker() as db:
                return (await db.execute(select(UserSession.last_seen_at).where(
                    UserSession.tenant_id == SLUG, UserSession.account_id == account_id))).scalar_one()
        return live_server.run_async(read)

    context = browser.new_context(locale="fr-FR", viewport={"width": 360, "height": 740})
    context.set_default_timeout(10_000)
    try:
        page = context.new_page()
        account = sign_in(live_server, live_accounts, page)
        page.clock.install()
        page.goto(live_server.url(SLUG, "/espace/disponibilites"))
        warning = page.locator("#avertissement-session")
        expect(warning).to_be_hidden()
        place = page.get_by_role("group", name="Place 1")
        place.get_by_label("Tranche d'âge").select_option(label="De 18 mois à 3 ans")
        place.get_by_label("Nombre de places").fill("3")
        place.get_by_role("checkbox", name=f"Vendredi, {MORNING}").check()

        # 29 minutes without a request: the box comes, about a minute before the 30-minute timeout.
        frozen_clock.advance(minutes=29)
        page.clock.run_for("28:00")
        expect(warning).to_be_hidden()
        page.clock.run_for("01:05")
        expect(warning).to_be_visible()
        expect(page.get_by_role("alert")).to_contain_text("Votre session va se fermer pour inactivité")
        shoot(page, "idle-warning-360")
        page.get_by_role("button", name="Rester connecté(e)").click()
        expect(warning).to_be_hidden()
        assert last_seen(account.id) == frozen_clock.now

        # 49 minutes after the page was opened, 20 after « Rester connecté(e) »: still signed in.
        frozen_clock.advance(minutes=20)
        page.get_by_role("button", name="Enregistrer").click()
        page.wait_for_url(re.compile(r"/espace/disponibilites\?info=availability_saved$"))
        expect(page.get_by_role("region", name="Ce que voient les familles")).to_contain_text("Place disponible maintenant")
        expect(page.get_by_role("group", name="Place 1").get_by_label("Nombre de places")).to_have_value("3")

        # Without it the idle timeout is real: 31 minutes later the session is gone.
        frozen_clock.advance(minutes=31)
        page.reload()
        expect(page).to_have_url(re.compile(r"/connexion\?"))
    finally:
        context.close()
