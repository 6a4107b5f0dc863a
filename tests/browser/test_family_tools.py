"""A family account on mon-enfant in a real Chromium, through the visible buttons: « Ajouter à mes
favoris » on a result, « Enregistrer cette recherche » (and its error page), « Contacter cette
assistante maternelle », « Mes données » and its « Supprimer », « Retirer de mes favoris »; then the
assistant answers in « Demandes de contact » and turns them off. axe on every new page, and a
screenshot of each at 1280 and 360 px (under the test's temporary directory)."""

from __future__ import annotations

import re
import uuid
from datetime import date
from urllib.parse import urlencode

import pytest
from playwright.sync_api import Page, expect

from tests.browser.test_accessibility import assert_no_serious, axe_source  # noqa: F401 (fixture)
from tests.browser.test_every_form import PASSWORD, expect_no_expired_form, said

pytestmark = pytest.mark.browser

SLUG = "mon-enfant"


def sign_in(page: Page, live_server, slug: str, identifier: str) -> None:
    page.goto(live_server.url(slug, "/connexion"))
    page.get_by_label("Votre adresse électronique").fill(identifier)
    page.get_by_label("Votre mot de passe").first.fill(PASSWORD)
    page.get_by_role("button", name=said(live_server, slug, "login.submit")).click()
    page.wait_for_url(re.compile(r"/espace$"))


def published_assistant(live_server, live_accounts, last_name: str):
    """An assistant of mon-enfant with a password, an agrément, her consent and a fiche: published."""
    from assmat.auth.models import Account
    from assmat.portal.agrement.models import Agrement
    from assmat.portal.directory.service import refresh_entry
    from assmat.portal.profile.models import Fiche
    from assmat.portal.publication.service import record_choice

    email = f"{last_name.lower()}-{uuid.uuid4().hex[:6]}@example.org"
    account, _ = live_accounts.create(SLUG, email, PASSWORD, email=email, last_name=last_name)
    tenant = live_server.app.state.registry.get(SLUG)
    public_id = uuid.uuid4().hex[:12]

    async def publish(sessionmaker):
        async with sessionmaker() as db:
            row = await db.get(Account, account.id)
            row.city, row.postal_code = "Auch", "32000"
            db.add(Agrement(tenant_id=SLUG, account_id=account.id, number=f"A-{public_id}", start_date=date(2020, 1, 1),
                            end_date=date(2035, 12, 31), capacity=3))
            db.add(Fiche(tenant_id=SLUG, account_id=account.id, public_id=public_id, show_address=False,
                         presentation="Bonjour."))
            await db.flush()
            await record_choice(db, tenant, row, "consent", source="staff", admin="test")
            await refresh_entry(db, tenant, account.id)
            await db.commit()

    live_server.run_async(publish)
    return account, public_id


def family(live_server, live_accounts):
    from sqlalchemy import update

    from assmat.auth.models import Account

    email = f"famille-{uuid.uuid4().hex[:6]}@example.org"
    account, _ = live_accounts.create(SLUG, email, PASSWORD, email=email, first_name="Claire", last_name="Famille")

    async def as_parent(sessionmaker):
        async with sessionmaker() as db:
            await db.execute(update(Account).where(Account.tenant_id == SLUG, Account.id == account.id).values(kind="parent"))
            await db.commit()

    live_server.run_async(as_parent)
    return account


def shots(page: Page, directory, name: str) -> None:
    """The page at 1280 and 360 px, kept for a person to look at."""
    for width in (1280, 360):
        page.set_viewport_size({"width": width, "height": 900})
        page.screenshot(path=str(directory / f"{name}-{width}.png"), full_page=True)
    page.set_viewport_size({"width": 1280, "height": 900})


def test_a_family_uses_favourites_searches_contact_and_my_data(live_server, live_accounts, page: Page,
                                                              axe_source: str, tmp_path) -> None:  # noqa: F811
    anne, public_id = published_assistant(live_server, live_accounts, "Navigatrice")
    parent = family(live_server, live_accounts)
    sign_in(page, live_server, SLUG, parent.identifier)

    results = live_server.url(SLUG, f"/recherche?{urlencode({'commune': 'Auch (32000)', 'rayon': '5'})}")
    page.goto(results)
    assert_no_serious(page, axe_source, "/recherche (famille)")
    shots(page, tmp_path, "recherche-famille")
    page.get_by_role("button", name="Ajouter à mes favoris : Anne Navigatrice").click()
    expect_no_expired_form(page)
    expect(page.get_by_role("status")).to_contain_text("La fiche a été ajoutée à vos favoris.")
    expect(page.get_by_role("button", name="Retirer de mes favoris : Anne Navigatrice")).to_be_visible()

    # The save form's error page: the browser's own check removed, as a script could post it.
    page.locator("#champ-nom-recherche").evaluate("e => e.removeAttribute('required')")
    page.get_by_role("button", name="Enregistrer cette recherche").click()
    expect(page.get_by_role("alert")).to_contain_text("Donnez un nom à cette recherche")
    assert_no_serious(page, axe_source, "/espace/recherches/enregistrer (erreur)")
    shots(page, tmp_path, "recherche-enregistrer-erreur")
    page.get_by_label("Nom de cette recherche").fill("Près de l'école")
    page.get_by_role("button", name="Enregistrer cette recherche").click()
    page.wait_for_url(re.compile(r"/espace/recherches\?info=search_saved$"))
    expect(page.get_by_role("status")).to_contain_text("Votre recherche a bien été enregistrée.")
    assert_no_serious(page, axe_source, "/espace/recherches")
    shots(page, tmp_path, "mes-recherches")
    page.get_by_role("link", name="Lancer cette recherche : Près de l'école").click()
    expect(page.get_by_role("link", name="Anne Navigatrice", exact=True)).to_be_visible()

    page.goto(live_server.url(SLUG, "/espace/favoris"))
    assert_no_serious(page, axe_source, "/espace/favoris")
    shots(page, tmp_path, "mes-favoris")
    page.get_by_role("link", name="Anne Navigatrice", exact=True).click()
    page.get_by_role("link", name="Contacter cette assistante maternelle").click()
    expect(page.get_by_role("heading", level=1)).to_have_text("Contacter cette assistante maternelle")
    expect(page.get_by_label(re.compile("Communiquer mon adresse électronique"))).not_to_be_checked()
    assert_no_serious(page, axe_source, "/assistants/…/contact")
    page.get_by_role("button", name="Envoyer").click()
    expect(page.get_by_role("alert")).to_contain_text("Veuillez écrire votre message")
    shots(page, tmp_path, "contact-erreur")
    page.get_by_label("Votre message").fill("Bonjour, avez-vous une place en janvier ?")
    page.get_by_role("button", name="Envoyer").click()
    page.wait_for_url(re.compile(rf"/assistants/{public_id}\?info="))
    expect(page.get_by_role("status")).to_contain_text("Votre message a été envoyé à l'assistante maternelle.")

    page.goto(live_server.url(SLUG, "/espace"))
    page.get_by_role("link", name="Mes données").first.click()
    expect(page.get_by_role("heading", level=1)).to_have_text("Mes données")
    assert_no_serious(page, axe_source, "/espace/mes-donnees")
    shots(page, tmp_path, "mes-donnees")
    expect(page.get_by_text("Adresse électronique non partagée")).to_be_visible()

    # The assistant answers, then turns requests off.
    assistant_page = page.context.browser.new_page()
    sign_in(assistant_page, live_server, SLUG, anne.identifier)
    assistant_page.get_by_role("link", name="Demandes de contact").first.click()
    expect(assistant_page.get_by_text("avez-vous une place en janvier")).to_be_visible()
    assert_no_serious(assistant_page, axe_source, "/espace/demandes")
    shots(assistant_page, tmp_path, "demandes-de-contact")
    assert parent.email not in assistant_page.content()
    assistant_page.get_by_label("Votre réponse").fill("Oui, appelez-moi le soir.")
    assistant_page.get_by_role("button", name="Répondre").click()
    expect(assistant_page.get_by_role("status")).to_contain_text("Votre réponse a été envoyée à la famille")
    assistant_page.get_by_label("Les familles peuvent me contacter depuis ma fiche").uncheck()
    assistant_page.get_by_role("button", name="Enregistrer").click()
    expect(assistant_page.get_by_role("status")).to_contain_text("Votre choix a bien été enregistré.")
    assistant_page.close()

    page.reload()
    expect(page.get_by_text("Oui, appelez-moi le soir.")).to_be_visible()
    page.get_by_role("button", name=re.compile(r"^Supprimer : demande du")).click()
    expect_no_expired_form(page)
    expect(page.get_by_role("status")).to_contain_text("La demande de contact a été supprimée.")
    page.get_by_role("button", name="Supprimer : Près de l'école").click()
    expect(page.get_by_role("status")).to_contain_text("La recherche a été supprimée.")
    page.get_by_role("button", name="Retirer de mes favoris : Anne Navigatrice").click()
    expect(page.get_by_role("status")).to_contain_text("La fiche a été retirée de vos favoris.")
    expect(page.get_by_text("Aucun favori.")).to_be_visible()
    page.goto(live_server.url(SLUG, f"/assistants/{public_id}"))
    expect(page.get_by_role("link", name="Contacter cette assistante maternelle")).to_have_count(0)
