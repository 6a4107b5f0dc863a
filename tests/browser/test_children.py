"""Seed 001 §2.4 in a real Chromium: an Alpes-Maritimes assistant declares a child with two care
periods through the form, finds it among the children currently hosted, and once the last period
has ended finds it in the history, read-only.

Every field is reached by its label or its role, as assistive technologies reach it: the test
fails if a label goes missing. Time moves with assmat.core.clock, which the live server (a thread of
this process) reads too. Run on a desktop, and on a phone without JavaScript."""

from __future__ import annotations

import re
import uuid
from collections.abc import Iterator
from datetime import UTC, datetime

import pytest
from playwright.sync_api import Page, expect

pytestmark = pytest.mark.browser

SLUG = "alpes-maritimes"
PASSWORD = "Mimosa#Corniche7"
STANDARD = "Garde standard"
OVERTIME = "Dépassement exceptionnel (50 h/mois)"
# frozen_clock starts on Monday 2 November 2026, 10:00 in Nice. The periods: standard care from
# 2 November to 31 December, and an overtime month in January (40 h, under the 50 h cap).
PERIODS = [
    (STANDARD, "02/11/2026", "31/12/2026", ""),
    (OVERTIME, "01/01/2027", "31/01/2027", "40"),
]
AFTER_THE_LAST_PERIOD = datetime(2027, 2, 1, 9, 0, tzinfo=UTC)  # 1 February 2027 in Nice


def sign_in(page: Page, identifier: str) -> None:
    page.get_by_role("textbox", name="Identifiant").fill(identifier)
    page.get_by_label("Mot de passe", exact=False).fill(PASSWORD)
    # Each tenant's own words: « Connexion » in the Alpes-Maritimes, « Se connecter » elsewhere.
    page.get_by_role("button", name=re.compile(r"^(Se connecter|Connexion)$")).click()


def field(page: Page, name: str):
    """A text field by its exact accessible name (the required-field asterisk is aria-hidden)."""
    return page.get_by_role("textbox", name=name, exact=True)


def period_field(page: Page, role: str, label: str, number: int):
    """A cell of the periods table: its label names the column and the row, « Type de garde,
    période 2 » (the row part visually hidden on wide screens, where the column header shows)."""
    # Chromium spaces out the visually hidden part: « Type de garde , période 2 ».
    return page.get_by_role(role, name=re.compile(rf"^{re.escape(label)} ?, période {number}$"))


@pytest.fixture(params=[({"width": 1280, "height": 800}, True), ({"width": 360, "height": 740}, False)],
                ids=["desktop", "phone-without-javascript"])
def page(request: pytest.FixtureRequest, browser) -> Iterator[Page]:
    """A desktop tab, and a phone's without JavaScript: the form needs none."""
    viewport, javascript = request.param
    context = browser.new_context(locale="fr-FR", viewport=viewport, java_script_enabled=javascript)
    context.set_default_timeout(10_000)
    try:
        yield context.new_page()
    finally:
        context.close()


def test_declared_child_goes_to_the_history_after_its_last_period(live_server, live_accounts, page: Page, frozen_clock) -> None:
    identifier = f"06-AM-{uuid.uuid4().hex[:6].upper()}"
    live_accounts.create(SLUG, identifier, PASSWORD, email=f"{identifier.lower()}@example.org",
                         first_name="Hélène", last_name="Lefèvre")
    page.goto(live_server.url(SLUG, "/connexion"))
    sign_in(page, identifier)
    page.wait_for_url(live_server.url(SLUG, "/espace"))

    # From the main menu to the list, then to the form.
    page.get_by_role("navigation", name="Menu principal").get_by_role("link", name="Enfants accueillis").click()
    page.wait_for_url(live_server.url(SLUG, "/espace/enfants"))
    current = page.get_by_role("region", name="Liste des enfants accueillis")  # the guide's title
    history = page.get_by_role("region", name="Historique")
    expect(current).to_contain_text("Aucun enfant n'est déclaré comme accueilli actuellement.")
    page.get_by_role("link", name="Ajouter ou modifier un enfant").click()
    page.wait_for_url(live_server.url(SLUG, "/espace/enfants/nouveau"))
    expect(page.get_by_role("heading", level=1)).to_have_text("Ajouter ou modifier un enfant")

    field(page, "Nom de l'enfant").fill("GIORDANO")
    field(page, "Prénom de l'enfant").fill("Léa")
    field(page, "Date de naissance de l'enfant").fill("14/03/2025")
    page.get_by_label("Civilité du responsable légal 1").select_option(label="Madame")
    field(page, "Nom du responsable légal n°1").fill("GIORDANO")
    field(page, "Prénom du responsable légal n°1").fill("Chiara")
    field(page, "Adresse courriel du responsable légal n°1").fill("chiara.giordano@example.org")
    field(page, "N° de téléphone du responsable légal 1").fill("06 12 34 56 78")
    field(page, "Adresse principale").fill("12 avenue Jean Médecin")
    field(page, "Code postal").fill("06000")
    field(page, "Commune").fill("Nice")
    for number, (kind, start, end, hours) in enumerate(PERIODS, start=1):
        period_field(page, "combobox", "Type de garde", number).select_option(label=kind)
        period_field(page, "textbox", "Date de début", number).fill(start)
        period_field(page, "textbox", "Date de fin", number).fill(end)
        if hours:
            period_field(page, "textbox", "Nombre d'heures par mois", number).fill(hours)
    page.get_by_role("button", name="Valider").click()

    # Back on the list: the child is currently hosted, and may still be edited.
    page.wait_for_url(live_server.url(SLUG, "/espace/enfants?info=created"))
    expect(page.get_by_role("status")).to_have_text("L'enfant a été ajouté.")
    row = current.get_by_role("row").filter(has_text="GIORDANO")
    expect(row).to_have_count(1)
    expect(row).to_contain_text("Léa")
    expect(row).to_contain_text("14/03/2025")
    expect(row.get_by_role("link", name="Modifier Léa GIORDANO")).to_be_visible()
    expect(history).not_to_contain_text("GIORDANO")
    expect(history).to_contain_text("L'historique est vide.")

    # The child's page shows both periods as typed.
    row.get_by_role("link", name="Voir Léa GIORDANO").click()
    expect(page.get_by_role("heading", level=1)).to_have_text("Léa GIORDANO")
    periods = page.get_by_role("table").get_by_role("row")
    expect(periods.filter(has_text=STANDARD)).to_contain_text("02/11/2026")
    expect(periods.filter(has_text=OVERTIME)).to_contain_text("31/01/2027")
    expect(periods.filter(has_text=OVERTIME)).to_contain_text("40")
    expect(page.get_by_role("link", name="Modifier", exact=True)).to_be_visible()
    child_path = page.url.removeprefix(live_server.url(SLUG, ""))
    assert re.fullmatch(r"/espace/enfants/\d+", child_path), child_path

    # Three months later (the next day after the last period): the session has long expired.
    frozen_clock.now = AFTER_THE_LAST_PERIOD
    page.goto(live_server.url(SLUG, "/espace/enfants"))
    page.wait_for_url(re.compile(r"/connexion\?"))
    sign_in(page, identifier)
    page.wait_for_url(live_server.url(SLUG, "/espace/enfants"))

    expect(current).not_to_contain_text("GIORDANO")
    expect(current).to_contain_text("Aucun enfant n'est déclaré comme accueilli actuellement.")
    row = history.get_by_role("row").filter(has_text="GIORDANO")
    expect(row).to_have_count(1)
    expect(row).to_contain_text("Léa")
    # Read-only: only a link to see it, none to edit or delete it.
    expect(row.get_by_role("link")).to_have_count(1)
    expect(row.get_by_role("link", name="Voir Léa GIORDANO")).to_be_visible()
    expect(page.get_by_role("link", name=re.compile(r"^(Modifier|Supprimer)"))).to_have_count(0)

    row.get_by_role("link", name="Voir Léa GIORDANO").click()
    expect(page.get_by_role("note").filter(has_text="Cet enfant est dans l'historique")).to_be_visible()
    expect(page.get_by_role("link", name=re.compile(r"^(Modifier|Supprimer)"))).to_have_count(0)
    for action in ("/modifier", "/supprimer"):  # and not by typing the address either
        response = page.goto(live_server.url(SLUG, child_path + action))
        assert response is not None and response.status == 404
