"""« Ma fiche » in a real Chromium: a Gers assistant fills her fiche and clicks « Enregistrer », on a
desktop with JavaScript and on a phone without, then opens the preview; an anonymous visitor opens
her public fiche on a phone. axe and the Nu HTML checker on each of these pages.

Screenshots (1280 and 360 px) go to /tmp/shots11/profile/ for a person to look at."""

from __future__ import annotations

import re
import uuid
from datetime import date
from collections.abc import Iterator
from pathlib import Path

import pytest
from playwright.sync_api import Browser, Page, expect

from tests.browser.test_accessibility import (  # noqa: F401 (axe_source is a module fixture)
    DESKTOP, PHONE, assert_fits, assert_no_serious, axe_source, new_context,
)
from tests.browser.test_every_form import said

pytestmark = pytest.mark.browser

GERS = "gers"
PASSWORD = "Cathedrale#Beauce28"
SHOTS = Path("/tmp/shots11/profile")
ADDRESS = "8 chemin des Pruniers"
EMAIL_DOMAIN = "pruniers.example.org"


def shoot(page: Page, name: str) -> None:
    SHOTS.mkdir(parents=True, exist_ok=True)
    page.screenshot(path=str(SHOTS / f"{name}.png"), full_page=True)


def gers_assistant(live_server, live_accounts) -> tuple[object, str]:
    """A Gers assistant with the contact details of the département's file."""
    from sqlalchemy import update

    from assmat.auth.models import Account
    from assmat.portal.agrement.models import Agrement

    identifier = f"AGR-{uuid.uuid4().hex[:8].upper()}"
    email = f"{identifier.lower()}@{EMAIL_DOMAIN}"
    account, _ = live_accounts.create(GERS, identifier, PASSWORD, email=email, first_name="Camille", last_name="Prunier")

    async def details(sessionmaker):
        async with sessionmaker() as db:
            await db.execute(update(Account).where(Account.tenant_id == GERS, Account.id == account.id).values(
                phone="05 62 61 00 42", address=ADDRESS, postal_code="32000", city="Auch"))
            # Published (the Gers publishes every assistant whose agrément is valid).
            db.add(Agrement(tenant_id=GERS, account_id=account.id, number=f"AGR-{account.id}", capacity=4,
                            start_date=date(2021, 3, 1), end_date=date(2031, 2, 28)))
            await db.commit()

    live_server.run_async(details)
    return account, email


def sign_in(page: Page, live_server, identifier: str) -> None:
    page.goto(live_server.url(GERS, "/connexion"))
    page.get_by_role("textbox", name=re.compile(r"identifiant", re.I)).fill(identifier)
    page.get_by_label(re.compile(r"^Mot de passe")).first.fill(PASSWORD)
    page.get_by_role("button", name=said(live_server, GERS, "login.submit")).click()
    page.wait_for_url(re.compile(r"/espace$"))


def public_id_of(live_server, account_id: int) -> str:
    from sqlalchemy import select

    from assmat.portal.profile.models import Fiche

    async def read(sessionmaker):
        async with sessionmaker() as db:
            return await db.scalar(select(Fiche.public_id).where(Fiche.tenant_id == GERS, Fiche.account_id == account_id))

    return live_server.run_async(read)


@pytest.fixture(params=[(DESKTOP, True), (PHONE, False)], ids=["desktop", "phone-without-javascript"])
def tab(request: pytest.FixtureRequest, browser: Browser) -> Iterator[tuple[Page, str]]:
    viewport, javascript = request.param
    context = new_context(browser, viewport, None, javascript=javascript)
    try:
        yield context.new_page(), request.node.callspec.id
    finally:
        context.close()


def test_the_assistant_fills_her_fiche_and_previews_it(live_server, live_accounts, tab) -> None:
    page, variant = tab
    account, email = gers_assistant(live_server, live_accounts)
    sign_in(page, live_server, account.identifier)
    page.get_by_role("navigation", name="Menu principal").get_by_role("link", name="Ma fiche").click()
    page.wait_for_url(live_server.url(GERS, "/espace/fiche"))
    expect(page.get_by_role("heading", level=1)).to_have_text("Ma fiche")
    shoot(page, f"ma-fiche-vide-{variant}")
    if variant.startswith("phone"):
        assert_fits(page, "/espace/fiche (phone, JavaScript off)")  # a long email address wraps

    # First a mistake: an amount that is none, and both email and phone hidden (Gers: not both).
    page.get_by_label("Présentation", exact=True).fill("Assistante maternelle depuis 2012, maison avec jardin.")
    page.get_by_label("Salaire horaire brut (€ par heure)").fill("beaucoup")
    page.get_by_label(re.compile(r"^Afficher mon téléphone")).uncheck()
    page.get_by_label(re.compile(r"^Afficher mon courriel")).uncheck()
    page.get_by_role("button", name="Enregistrer").click()
    expect(page.get_by_role("alert").first).to_be_visible()
    expect(page.get_by_text("Vous pouvez masquer votre courriel ou votre téléphone, mais pas les deux")).to_be_visible()
    expect(page.get_by_label("Salaire horaire brut (€ par heure)")).to_have_attribute("aria-invalid", "true")
    shoot(page, f"ma-fiche-erreurs-{variant}")
    assert public_id_of(live_server, account.id) is None  # nothing saved

    # Then right: the phone shown, the email and the address hidden.
    page.get_by_label("Salaire horaire brut (€ par heure)").fill("3,80")
    page.get_by_label(re.compile(r"^Afficher mon téléphone")).check()
    page.get_by_label(re.compile(r"^Afficher mon adresse")).uncheck()
    page.get_by_label("Activités", exact=True).fill("Peinture, lecture, jardinage.")
    page.get_by_label("Logement", exact=True).select_option(label="Maison")
    page.get_by_label("Jardin", exact=True).check()
    page.get_by_label("Le mercredi").check()
    page.get_by_label("Contact seulement si une place est disponible").check()
    page.get_by_role("button", name="Enregistrer").click()
    page.wait_for_url(live_server.url(GERS, "/espace/fiche?info=fiche_saved"))
    expect(page.get_by_role("status")).to_have_text("Votre fiche a été enregistrée.")
    expect(page.get_by_label("Salaire horaire brut (€ par heure)")).to_have_value("3,80")
    expect(page.get_by_label(re.compile(r"^Afficher mon adresse"))).not_to_be_checked()

    page.get_by_role("link", name="Voir l'aperçu de ma fiche publique").first.click()
    page.wait_for_url(live_server.url(GERS, "/espace/fiche/apercu"))
    expect(page.get_by_role("note")).to_contain_text("Aperçu")
    expect(page.get_by_role("heading", level=1)).to_have_text("Camille Prunier")
    expect(page.get_by_text("Peinture, lecture, jardinage.")).to_be_visible()
    expect(page.get_by_role("img", name="Carte : Auch")).to_be_visible()
    expect(page.get_by_text("Adresse non communiquée : position approximative (centre de la commune)")).to_be_visible()
    body = page.content()
    assert ADDRESS not in body and email not in body and "05 62 61 00 42" in body
    shoot(page, f"apercu-{variant}")
    if variant.startswith("phone"):
        assert_fits(page, "/espace/fiche/apercu (phone, JavaScript off)")


def test_an_anonymous_visitor_opens_the_public_fiche_on_a_phone(live_server, live_accounts, browser: Browser) -> None:
    account, email = gers_assistant(live_server, live_accounts)
    signed = new_context(browser, DESKTOP, None)
    try:
        page = signed.new_page()
        sign_in(page, live_server, account.identifier)
        page.goto(live_server.url(GERS, "/espace/fiche"))
        page.get_by_label("Présentation", exact=True).fill("Bonjour, je m'appelle Camille.")
        page.get_by_role("button", name="Enregistrer").click()
        page.wait_for_url(re.compile(r"info=fiche_saved"))
    finally:
        signed.close()
    public_id = public_id_of(live_server, account.id)
    for javascript in (True, False):
        context = new_context(browser, PHONE, None, javascript=javascript)
        try:
            page = context.new_page()
            response = page.goto(live_server.url(GERS, f"/assistants/{public_id}"))
            assert response is not None and response.status == 200
            expect(page.get_by_role("heading", level=1)).to_have_text("Camille Prunier")
            expect(page.get_by_text("Bonjour, je m'appelle Camille.")).to_be_visible()
            expect(page.get_by_role("img", name="Carte : Auch")).to_be_visible()
            expect(page.get_by_role("link", name=email)).to_be_visible()
            assert_fits(page, "public fiche (phone)")
            shoot(page, f"fiche-publique-360-{'js' if javascript else 'sans-js'}")
        finally:
            context.close()
    context = new_context(browser, DESKTOP, None)
    try:
        page = context.new_page()
        page.goto(live_server.url(GERS, f"/assistants/{public_id}"))
        shoot(page, "fiche-publique-1280")
        missing = page.goto(live_server.url(GERS, "/assistants/AAAAAAAAAAAA"))
        assert missing is not None and missing.status == 404
    finally:
        context.close()


def test_the_fiche_pages_pass_axe_and_the_html_checker(live_server, live_accounts, browser: Browser, axe_source: str,
                                                       tmp_path: Path) -> None:
    from tests.browser.test_html_validation import checker, describe, validate

    account, _email = gers_assistant(live_server, live_accounts)
    context = new_context(browser, DESKTOP, None)
    pages: dict[str, str] = {}
    try:
        page = context.new_page()
        sign_in(page, live_server, account.identifier)
        page.goto(live_server.url(GERS, "/espace/fiche"))
        pages["/espace/fiche"] = page.content()
        for size in (DESKTOP, PHONE):
            page.set_viewport_size(size)
            assert_no_serious(page, axe_source, f"/espace/fiche {size['width']}")
        page.set_viewport_size(DESKTOP)
        page.get_by_label("Étage").fill("deux")
        page.get_by_role("button", name="Enregistrer").click()
        expect(page.get_by_role("alert").first).to_be_visible()
        pages["/espace/fiche (erreurs)"] = page.content()
        assert_no_serious(page, axe_source, "/espace/fiche with errors")
        page.get_by_label("Étage").fill("0")
        page.get_by_label("Présentation", exact=True).fill("Bonjour.")
        page.get_by_role("button", name="Enregistrer").click()
        page.wait_for_url(re.compile(r"info=fiche_saved"))
        for path in ("/espace/fiche/apercu", f"/assistants/{public_id_of(live_server, account.id)}"):
            page.goto(live_server.url(GERS, path))
            pages[path] = page.content()
            for size in (DESKTOP, PHONE):
                page.set_viewport_size(size)
                assert_no_serious(page, axe_source, f"{path} {size['width']}")
            page.set_viewport_size(DESKTOP)
    finally:
        context.close()
    errors = validate(checker(), pages, tmp_path)
    assert not errors, describe(errors)


def test_staff_approve_then_refuse_a_fiches_texts(live_server, live_accounts, page: Page) -> None:
    """The moderation queue's two forms, by their buttons: « Confirmer : Valider les textes », and
    the refusal with its reason, which the assistant then reads on « Ma fiche »."""
    from datetime import UTC, datetime

    from assmat.portal.profile.models import Fiche
    from tests.browser.test_every_form import confirm_from_details, console_sign_in, done, store

    account, _email = gers_assistant(live_server, live_accounts)
    (fiche,) = store(live_server, Fiche(
        tenant_id=GERS, account_id=account.id, public_id=uuid.uuid4().hex[:12], texts_state="pending",
        pending_presentation="Première version.", texts_submitted_at=datetime.now(UTC)))
    console_sign_in(live_server, page)
    confirm_from_details(live_server, page, "fiche-texts", fiche.id, "Valider les textes")
    done(page, "Valider les textes").to_be_visible()

    async def resubmit(sessionmaker):
        from sqlalchemy import update

        async with sessionmaker() as db:
            await db.execute(update(Fiche).where(Fiche.tenant_id == GERS, Fiche.id == fiche.id).values(
                texts_state="pending", pending_presentation="Seconde version, trop longue."))
            await db.commit()

    live_server.run_async(resubmit)
    page.goto(live_server.url(GERS, f"/admin/fiche-texts/details/{fiche.id}"))
    page.get_by_role("link", name="Refuser les textes", exact=True).click()
    page.get_by_label(re.compile(r"^Motif du refus")).fill("Merci de raccourcir votre présentation.")
    page.get_by_role("button", name="Confirmer : Refuser les textes").click()
    done(page, "Refuser les textes").to_be_visible()

    assistant_page = page.context.browser.new_context(locale="fr-FR").new_page()
    try:
        sign_in(assistant_page, live_server, account.identifier)
        assistant_page.goto(live_server.url(GERS, "/espace/fiche"))
        expect(assistant_page.get_by_text("Motif : Merci de raccourcir votre présentation.")).to_be_visible()
        expect(assistant_page.get_by_label("Présentation", exact=True)).to_have_value("Seconde version, trop longue.")
    finally:
        assistant_page.context.close()
