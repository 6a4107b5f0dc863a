"""« Publication de ma fiche » in a real Chromium: on mon-enfant an assistant gives then withdraws
her consent, on Eure-et-Loir she objects then cancels, by clicking the visible buttons, on a
desktop and on a phone without JavaScript; the Gers staff suspend a fiche with a reason in the
console, and she reads it on her dashboard. Screenshots of every new page at 1280 and 360 px
go to /tmp/shots11/publication/."""

from __future__ import annotations

import re
import uuid
from collections.abc import Iterator
from datetime import UTC, datetime
from pathlib import Path

import pytest
from playwright.sync_api import Page, expect

from tests.browser.test_every_form import (
    PASSWORD,
    console_sign_in,
    done,
    email_confirmed,
    expect_no_expired_form,
    said,
    store,
    with_agrement,
)

pytestmark = pytest.mark.browser

SHOTS = Path("/tmp/shots11/publication")
VIEWPORTS = {"desktop": {"width": 1280, "height": 800}, "phone": {"width": 360, "height": 740}}


@pytest.fixture(params=[("desktop", True), ("phone", False)], ids=["desktop", "phone-without-javascript"])
def page(request: pytest.FixtureRequest, browser) -> Iterator[Page]:
    name, javascript = request.param
    context = browser.new_context(locale="fr-FR", viewport=VIEWPORTS[name], java_script_enabled=javascript)
    context.set_default_timeout(10_000)
    page = context.new_page()
    page.shot_prefix = name  # type: ignore[attr-defined]
    try:
        yield page
    finally:
        context.close()


def shot(page: Page, name: str) -> None:
    SHOTS.mkdir(parents=True, exist_ok=True)
    page.screenshot(path=str(SHOTS / f"{name}-{page.shot_prefix}.png"), full_page=True)  # type: ignore[attr-defined]


def register_of(live_server, account_id: int) -> list[tuple[str, str]]:
    from sqlalchemy import select

    from assmat.portal.publication.models import PublicationEvent

    async def read(sessionmaker):
        async with sessionmaker() as db:
            return [tuple(r) for r in (await db.execute(
                select(PublicationEvent.kind, PublicationEvent.source)
                .where(PublicationEvent.account_id == account_id)
                .order_by(PublicationEvent.id))).all()]

    return live_server.run_async(read)


def sign_in(page: Page, live_server, slug: str, identifier: str) -> None:
    page.goto(live_server.url(slug, "/connexion"))
    page.get_by_role("textbox", name=re.compile(r"identifiant|adresse électronique", re.I)).fill(identifier)
    page.locator("#champ-mot_de_passe").fill(PASSWORD)
    page.get_by_role("button", name=said(live_server, slug, "login.submit")).click()
    page.wait_for_url(re.compile(r"/espace$"))


def status_text(page: Page) -> str:
    return page.locator("#etat-publication").inner_text()


def test_an_assistant_gives_then_withdraws_her_consent_on_mon_enfant(live_server, live_accounts, page: Page) -> None:
    slug = "mon-enfant"
    email = f"assmat-{uuid.uuid4().hex[:10]}@example.org"
    account, _ = live_accounts.create(slug, email, PASSWORD, email=email)
    email_confirmed(live_server, account.id)
    with_agrement(live_server, account)
    sign_in(page, live_server, slug, email)
    expect(page.get_by_role("region", name="Publication de ma fiche")).to_contain_text(
        "vous n'avez pas donné votre consentement pour la publication de vos coordonnées")
    page.get_by_role("region", name="Publication de ma fiche").get_by_role("link", name=re.compile("^Voir plus")).click()
    page.wait_for_url(re.compile(r"/espace/publication$"))
    shot(page, "mon-enfant-avant-consentement")

    page.get_by_role("button", name="J'accepte que mes coordonnées et mes disponibilités soient publiées").click()
    expect_no_expired_form(page)
    expect(page.get_by_role("status")).to_contain_text("Votre consentement est enregistré.")
    assert status_text(page) == "Votre fiche est publiée : les familles peuvent la consulter."
    shot(page, "mon-enfant-consentement-donne")

    page.get_by_role("button", name="Retirer mon consentement").click()
    expect_no_expired_form(page)
    expect(page.get_by_role("status")).to_contain_text("Votre consentement est retiré.")
    assert status_text(page) == "Votre fiche n'est plus publiée : vous avez retiré votre consentement."
    expect(page.get_by_role("button", name="J'accepte que mes coordonnées et mes disponibilités soient publiées")).to_be_visible()
    assert register_of(live_server, account.id) == [("consent", "form"), ("consent_withdrawn", "form")]


def test_an_assistant_objects_then_cancels_on_eure_et_loir(live_server, live_accounts, page: Page) -> None:
    from assmat.auth.captcha import DEFAULT_LENGTH, derive_answer

    slug = "eure-et-loir"
    number = f"{uuid.uuid4().int % 1_000_000:06d}"
    account, _ = live_accounts.create(slug, number, PASSWORD)
    email_confirmed(live_server, account.id)
    with_agrement(live_server, account)
    page.goto(live_server.url(slug, "/connexion"))
    page.get_by_role("textbox", name=re.compile(r"^Identifiant")).fill(number)
    page.get_by_label(re.compile(r"^Mot de passe")).first.fill(PASSWORD)
    captcha_id = page.locator("input[name=captcha_id]").input_value()
    answer = derive_answer(live_server.settings.effective_secret_key, slug, captcha_id, DEFAULT_LENGTH)
    page.get_by_role("textbox", name=said(live_server, slug, "captcha.label")).fill(answer)
    page.get_by_role("button", name=said(live_server, slug, "login.submit")).click()
    page.wait_for_url(re.compile(r"/espace$"))
    shot(page, "eure-et-loir-tableau-de-bord")

    page.goto(live_server.url(slug, "/espace/publication"))
    assert status_text(page) == "Votre fiche est publiée : les familles peuvent la consulter."
    expect(page.get_by_text("Vous figurerez toujours dans les listes fournies aux mairies")).to_be_visible()
    page.get_by_role("button", name="Je m'oppose à la publication de ma fiche").click()
    expect_no_expired_form(page)
    expect(page.get_by_role("status")).to_contain_text("Votre opposition est enregistrée.")
    assert status_text(page) == "Votre fiche n'est pas publiée : vous vous êtes opposé(e) à sa publication."
    shot(page, "eure-et-loir-opposition")
    page.get_by_role("button", name="Annuler mon opposition").click()
    expect(page.get_by_role("status")).to_contain_text("Votre opposition est annulée.")
    assert register_of(live_server, account.id) == [("objection", "form"), ("objection_withdrawn", "form")]


def test_gers_explains_the_mandatory_publication(live_server, live_accounts, page: Page) -> None:
    account, _ = live_accounts.create("gers", f"AGR-{uuid.uuid4().hex[:8].upper()}", PASSWORD)
    with_agrement(live_server, account)
    sign_in(page, live_server, "gers", account.identifier)
    page.goto(live_server.url("gers", "/espace/publication"))
    expect(page.get_by_text("vous ne pouvez pas vous y opposer")).to_be_visible()
    expect(page.locator("form button[name=choix]")).to_have_count(0)
    shot(page, "gers-publication-obligatoire")


def test_staff_suspend_a_fiche_with_a_reason_and_she_reads_it(live_server, live_accounts, page: Page) -> None:
    account, _ = live_accounts.create("gers", f"AGR-{uuid.uuid4().hex[:8].upper()}", PASSWORD,
                                      last_name=f"Suspendue{uuid.uuid4().hex[:4]}")
    with_agrement(live_server, account)
    console_sign_in(live_server, page)
    page.goto(live_server.url("gers", f"/admin/fiches/list?search={account.last_name}"))
    expect(page.locator("tbody tr").filter(has_text=account.last_name)).to_contain_text("publiée")
    shot(page, "console-fiches")
    page.goto(live_server.url("gers", f"/admin/fiches/details/{account.id}"))
    page.get_by_role("link", name="Suspendre la fiche", exact=True).click()
    # The reason is required: without one, the page comes back saying so.
    page.get_by_role("button", name="Confirmer : Suspendre la fiche").click()
    expect(page.get_by_text("Indiquez le motif.")).to_be_visible()
    page.get_by_label(re.compile("^Motif de la suspension")).fill("Contrôle du domicile en cours")
    shot(page, "console-suspendre")
    page.get_by_role("button", name="Confirmer : Suspendre la fiche").click()
    expect_no_expired_form(page)
    done(page, "Suspendre la fiche").to_be_visible()
    page.goto(live_server.url("gers", f"/admin/fiches/list?search={account.last_name}"))
    expect(page.locator("tbody tr").filter(has_text=account.last_name)).to_contain_text(
        "suspendue par le service (motif : Contrôle du domicile en cours)")
    page.goto(live_server.url("gers", "/admin/registre-publication/list"))
    shot(page, "console-registre")
    page.goto(live_server.url("gers", "/admin/liste-mairies"))
    expect(page.get_by_role("heading", name="Assistants maternels agréés par commune")).to_be_visible()
    shot(page, "console-liste-mairies")

    page.context.clear_cookies()
    sign_in(page, live_server, "gers", account.identifier)
    expect(page.get_by_role("region", name="Publication de ma fiche")).to_contain_text(
        "Votre fiche est momentanément suspendue par les services du département. Motif : Contrôle du domicile en cours. Pour toute question")
    shot(page, "gers-tableau-de-bord-suspendue")


# -- axe and the Nu HTML checker on every new page ------------------------------------------------------------

from tests.browser.test_accessibility import (  # noqa: E402
    DESKTOP,
    PHONE,
    assert_fits,
    assert_no_serious,
    axe_source,  # noqa: F401 (module fixture)
    new_context,
)
from tests.browser.test_html_validation import checker, describe, validate  # noqa: E402
from tests.browser.test_console import CONSOLE_PASSWORD, create_console_admin  # noqa: E402

PUBLICATION_PAGES = [
    ("mon-enfant", "/espace"), ("mon-enfant", "/espace/publication"), ("eure-et-loir", "/espace/publication"),
    ("gers", "/espace/publication"), ("gers", "/admin/fiches/list"), ("gers", "/admin/fiches/list?etat=suspendues"),
    ("gers", "/admin/fiches/details/{fiche}"), ("gers", "/admin/fiches/action/suspend?pks={fiche}"),
    ("gers", "/admin/registre-publication/list"), ("gers", "/admin/liste-mairies"),
]


@pytest.fixture(scope="module")
def signed_in_everywhere(live_server, browser) -> tuple[dict, dict[str, int]]:
    """One browser storage signed in on mon-enfant, Eure-et-Loir and Gers as an assistant with an
    agrément, and on the Gers console; the Gers assistant suspended, with a register line."""
    from assmat.auth.captcha import DEFAULT_LENGTH, derive_answer
    from assmat.portal.publication.models import PublicationEvent, PublicationState
    from tests.browser.conftest import LiveAccounts

    accounts = LiveAccounts(live_server)
    context = browser.new_context(locale="fr-FR")
    try:
        page = context.new_page()
        ids: dict[str, int] = {}
        for slug, identifier in (("mon-enfant", f"a11y-{uuid.uuid4().hex[:8]}@example.org"),
                                 ("eure-et-loir", f"{uuid.uuid4().int % 1_000_000:06d}"),
                                 ("gers", f"AGR-{uuid.uuid4().hex[:8].upper()}")):
            account, _ = accounts.create(slug, identifier, PASSWORD, email=f"{uuid.uuid4().hex[:8]}@example.org",
                                         last_name=f"Fiche{slug[:4].capitalize()}")
            email_confirmed(live_server, account.id)
            with_agrement(live_server, account)
            ids[slug] = account.id
            page.goto(live_server.url(slug, "/connexion"))
            page.get_by_role("textbox", name=re.compile(r"identifiant|adresse électronique", re.I)).fill(identifier)
            page.locator("#champ-mot_de_passe").fill(PASSWORD)
            if slug == "eure-et-loir":
                captcha_id = page.locator("input[name=captcha_id]").input_value()
                answer = derive_answer(live_server.settings.effective_secret_key, slug, captcha_id, DEFAULT_LENGTH)
                page.get_by_role("textbox", name=said(live_server, slug, "captcha.label")).fill(answer)
            page.get_by_role("button", name=said(live_server, slug, "login.submit")).click()
            page.wait_for_url(re.compile(r"/espace$"))
        store(live_server,
              PublicationState(tenant_id="gers", account_id=ids["gers"], suspended_at=datetime.now(UTC),
                               suspension_reason="Visite à programmer", suspended_by="agent@gers.fr"),
              PublicationEvent(tenant_id="gers", account_id=ids["gers"], kind="consent", source="staff",
                               recorded_by="agent@gers.fr"))
        staff = f"a11y-{uuid.uuid4().hex[:8]}@example.org"
        create_console_admin(live_server, "gers", staff, CONSOLE_PASSWORD)
        page.goto(live_server.url("gers", "/admin/login"))
        page.get_by_label("Adresse email").fill(staff)
        page.get_by_label("Mot de passe").fill(CONSOLE_PASSWORD)
        page.get_by_role("button", name="Se connecter").click()
        page.wait_for_url(re.compile(r"/admin/vue-d-ensemble$"))
        return context.storage_state(), {"fiche": ids["gers"]}
    finally:
        context.close()


@pytest.mark.parametrize(("slug", "path"), PUBLICATION_PAGES, ids=[f"{s}{p}" for s, p in PUBLICATION_PAGES])
def test_publication_page_is_accessible(live_server, browser, axe_source, signed_in_everywhere, slug, path) -> None:
    state, ids = signed_in_everywhere
    url = live_server.url(slug, path.format(**ids))
    context = new_context(browser, DESKTOP, state)
    try:
        page = context.new_page()
        response = page.goto(url)
        assert response is not None and response.status == 200, url
        assert_no_serious(page, axe_source, f"{url} (desktop)")
        page.set_viewport_size(PHONE)
        assert_no_serious(page, axe_source, f"{url} (phone)")
    finally:
        context.close()
    context = new_context(browser, PHONE, state, javascript=False)
    try:
        page = context.new_page()
        page.goto(url)
        expect(page.get_by_role("heading", level=1)).to_be_visible()
        assert_fits(page, f"{url} (phone, JavaScript off)")
    finally:
        context.close()


def test_publication_pages_are_valid_html(live_server, browser, signed_in_everywhere, tmp_path) -> None:
    command = checker()
    state, ids = signed_in_everywhere
    context = new_context(browser, DESKTOP, state)
    try:
        page = context.new_page()
        bodies = {}
        for slug, path in PUBLICATION_PAGES:
            response = page.goto(live_server.url(slug, path.format(**ids)))
            assert response is not None and response.status == 200, path
            bodies[f"{slug}{path}"] = response.text()
    finally:
        context.close()
    errors = validate(command, bodies, tmp_path)
    assert not errors, f"Nu HTML checker: errors on {len(errors)} of {len(bodies)} pages:\n{describe(errors)}"
