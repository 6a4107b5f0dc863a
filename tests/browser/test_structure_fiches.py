"""MAM and relais (seed 002) in a real Chromium, through their visible buttons: a MAM signs in
with its email and edits « Notre fiche » (a wrong postcode refused in French, then saved), opens
its public page; a relais opens the list of its communes' assistants; staff edit a structure,
add an account and link an assistant in the console. axe on each page, which also fits 360 px."""

from __future__ import annotations

import os
import re
import uuid

import pytest
from playwright.sync_api import Page, expect

from tests.browser.test_accessibility import assert_fits, assert_no_serious, axe_source  # noqa: F401 (fixture)
from tests.browser.test_every_form import PASSWORD, console_sign_in, email_confirmed, expect_no_expired_form, said

pytestmark = pytest.mark.browser

SLUG = "eure-et-loir"
SHOTS = os.environ.get("ASSMAT_SCREENSHOTS")  # a folder: each new page at 1280 and 360 px, to look at


def shoot(page: Page, name: str, fits: bool = True) -> None:
    """At 1280 and 360 px (a portal page fits the phone's width); screenshots where asked."""
    for width in (1280, 360):
        page.set_viewport_size({"width": width, "height": 900})
        if width == 360 and fits:
            assert_fits(page, f"{name} at 360 px")
        if SHOTS:
            page.screenshot(path=os.path.join(SHOTS, f"{name}-{width}.png"), full_page=True)
    page.set_viewport_size({"width": 1280, "height": 900})


def structure(live_server, kind: str, communes: str = "") -> tuple[int, str, int]:
    """(structure id, its email, its account id): created as staff do, its password set."""
    from assmat.auth import credentials
    from assmat.auth.context import auth_context
    from assmat.core.security.hashing import make_hasher
    from assmat.portal.structures import service

    email = f"{kind}-{uuid.uuid4().hex[:8]}@example.org"
    tenant = live_server.app.state.registry.get(SLUG)

    async def create(sessionmaker):
        async with sessionmaker() as db:
            ctx = auth_context(db, tenant, make_hasher(live_server.settings), live_server.settings)
            made, account = await service.create_structure(ctx, service.NewStructure(
                kind=kind, name=f"{'MAM Les Petits Loups' if kind == 'mam' else 'Relais de Lucé'} {email[4:8]}",
                email=email, city="Chartres", postal_code="28000", communes=communes), "agent@example.org")
            await credentials.set_password(ctx, account, PASSWORD, None, "test")
            await db.commit()
            return made.id, account.id

    structure_id, account_id = live_server.run_async(create)
    email_confirmed(live_server, account_id)
    return structure_id, email, account_id


def sign_in_by_email(page: Page, live_server, email: str) -> None:
    from assmat.auth.captcha import DEFAULT_LENGTH, derive_answer

    page.goto(live_server.url(SLUG, "/connexion"))
    page.get_by_role("textbox", name=re.compile(r"^Identifiant")).fill(email)
    page.get_by_label(re.compile(r"^Mot de passe")).first.fill(PASSWORD)
    captcha_id = page.locator("input[name=captcha_id]").input_value()
    answer = derive_answer(live_server.settings.effective_secret_key, SLUG, captcha_id, DEFAULT_LENGTH)
    page.get_by_role("textbox", name=said(live_server, SLUG, "captcha.label")).fill(answer)
    page.get_by_role("button", name=said(live_server, SLUG, "login.submit")).click()
    page.wait_for_url(re.compile(r"/espace$"))


def test_a_mam_edits_its_fiche_and_opens_its_public_page(live_server, page: Page, axe_source: str) -> None:  # noqa: F811
    structure_id, email, _account = structure(live_server, "mam")
    sign_in_by_email(page, live_server, email)
    page.get_by_role("link", name="Mettre à jour notre fiche").click()
    expect(page.get_by_role("heading", level=1)).to_have_text("Notre fiche")
    assert_no_serious(page, axe_source, "/espace/notre-fiche")
    page.get_by_label("Présentation").fill("Trois assistantes maternelles au cœur de Chartres.")
    page.get_by_label("Code postal").fill("28 abc")
    page.get_by_role("button", name="Enregistrer notre fiche").click()
    expect_no_expired_form(page)
    expect(page.get_by_role("alert")).to_contain_text("Le code postal compte 5 chiffres.")
    assert_no_serious(page, axe_source, "/espace/notre-fiche (erreurs)")
    shoot(page, "notre-fiche-erreurs")
    page.get_by_label("Code postal").fill("28000")
    page.get_by_label("Horaires et contact").fill("Du lundi au vendredi, de 7 h 30 à 18 h 30.")
    page.get_by_role("button", name="Enregistrer notre fiche").click()
    expect(page.get_by_role("status")).to_contain_text("Votre fiche a été enregistrée.")
    shoot(page, "notre-fiche")
    page.get_by_role("link", name="Voir notre fiche publique").click()
    page.wait_for_url(re.compile(rf"/structures/{structure_id}$"))
    expect(page.get_by_text("Trois assistantes maternelles au cœur de Chartres.")).to_be_visible()
    expect(page.get_by_text("Du lundi au vendredi")).to_be_visible()
    assert_no_serious(page, axe_source, "/structures/{id}")
    shoot(page, "structure-publique")


def test_a_relais_opens_the_list_of_its_communes_assistants(live_server, live_accounts, page: Page,
                                                           axe_source: str) -> None:  # noqa: F811
    from sqlalchemy import update

    from assmat.auth.models import Account

    number = f"{uuid.uuid4().int % 1_000_000:06d}"
    account, _ = live_accounts.create(SLUG, number, PASSWORD, first_name="Chloé", last_name="Lucéenne")

    async def place(sessionmaker):
        async with sessionmaker() as db:
            await db.execute(update(Account).where(Account.id == account.id).values(city="Lucé", phone="06 11 22 33 44"))
            await db.commit()

    live_server.run_async(place)
    _relais, email, _account = structure(live_server, "ram", "Lucé")
    sign_in_by_email(page, live_server, email)
    assert_no_serious(page, axe_source, "/espace (relais)")
    shoot(page, "espace-relais")
    page.get_by_role("link", name=re.compile("^Voir la liste")).click()
    expect(page.get_by_role("heading", level=1)).to_have_text("Les assistants maternels de nos communes")
    expect(page.get_by_role("cell", name="Chloé Lucéenne")).to_be_visible()
    assert_no_serious(page, axe_source, "/espace/relais/assistants")
    shoot(page, "relais-assistants")


def test_a_parent_finds_a_relais_from_the_home_page_and_opens_its_contact_details(live_server, page: Page,
                                                                                    axe_source: str) -> None:  # noqa: F811
    """Seed 002: the relais' fiche « à partir de la liste des RAM », by « Voir les coordonnées »."""
    structure_id, email, _account = structure(live_server, "ram", "Lucé")
    name = f"Relais de Lucé {email[4:8]}"  # as structure() names it
    page.goto(live_server.url(SLUG, "/"))
    page.get_by_role("link", name="Voir la liste des relais").click()
    page.wait_for_url(re.compile(r"/relais$"))
    expect(page.get_by_role("heading", level=1)).to_have_text("Les relais d'assistants maternels")
    card = page.locator("li.card").filter(has=page.get_by_role("heading", name=name))
    expect(card).to_contain_text("Communes couvertes : Lucé")
    assert_no_serious(page, axe_source, "/relais")
    shoot(page, "liste-des-relais")
    card.get_by_role("link", name=f"Voir les coordonnées de {name}").click()
    page.wait_for_url(re.compile(rf"/structures/{structure_id}$"))
    expect(page.get_by_role("heading", level=1)).to_have_text(name)


def test_staff_edit_a_structure_add_an_account_and_link_an_assistant(live_server, live_accounts, page: Page,
                                                                    axe_source: str) -> None:  # noqa: F811
    number = f"{uuid.uuid4().int % 1_000_000:06d}"
    live_accounts.create(SLUG, number, PASSWORD, first_name="Julie", last_name="Membre")
    structure_id, _email, _account = structure(live_server, "mam")
    console_sign_in(live_server, page, SLUG)
    page.goto(live_server.url(SLUG, f"/admin/structures/details/{structure_id}"))
    page.get_by_role("link", name="Modifier la structure").click()
    assert_no_serious(page, axe_source, "/admin/structures/modifier/{id}")
    page.get_by_label("Nom", exact=True).fill("MAM Les Loupiots")
    page.get_by_role("button", name="Enregistrer la structure").click()
    expect_no_expired_form(page)
    expect(page.get_by_role("status")).to_contain_text("Structure modifiée.")
    shoot(page, "console-structure", fits=False)
    page.get_by_role("link", name="Comptes et assistants membres").click()
    assert_no_serious(page, axe_source, "/admin/structures/personnes/{id}")
    page.get_by_label("Numéro PMI de l'assistant maternel").fill(number)
    page.get_by_role("button", name="Rattacher l'assistant").click()
    expect_no_expired_form(page)
    expect(page.get_by_role("status")).to_contain_text("Assistant rattaché à la MAM.")
    expect(page.get_by_text("Julie Membre")).to_be_visible()
    page.get_by_role("link", name="Comptes et assistants membres").click()
    page.get_by_label("Adresse électronique du nouveau compte").fill(f"second-{uuid.uuid4().hex[:8]}@example.org")
    page.get_by_role("button", name="Ajouter le compte").click()
    expect_no_expired_form(page)
    expect(page.get_by_role("status")).to_contain_text("Compte ajouté")
    page.get_by_role("link", name="Comptes et assistants membres").click()
    page.get_by_role("button", name="Détacher Julie Membre").click()
    expect(page.get_by_role("status")).to_contain_text("Assistant détaché de la MAM.")
    shoot(page, "console-structure-personnes", fits=False)
