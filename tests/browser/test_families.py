"""Family accounts in a real Chromium (issue 13, « Parents »): « Créer mon compte famille » from
mon-enfant's sign-in page, its emailed confirmation, the sign-in, then « Supprimer mon compte »,
each form submitted by its visible button (the CSRF gate of conftest.py checks every page), each
new page checked by axe-core and photographed at 1280 and 360 px."""

from __future__ import annotations

import os
import re
import uuid
from pathlib import Path

import pytest
from playwright.sync_api import Page, expect

from tests.browser.test_accessibility import axe_source, describe, run_axe, serious  # noqa: F401 - the fixture
from tests.browser.test_every_form import expect_no_expired_form, mail_body

pytestmark = pytest.mark.browser

ME = "mon-enfant"
PASSWORD = "Famille66Perpignan"  # mon-enfant's policy: letters and digits
SHOTS = Path(os.environ.get("ASSMAT_SCREENSHOTS", "/tmp/assmat-screenshots"))


def check_page(page: Page, axe: str, name: str, width: int) -> None:
    """axe-core finds nothing serious, nothing is wider than the screen, and a screenshot is kept."""
    found = serious(run_axe(page, axe))
    assert not found, f"axe-core on {name} at {width}px:\n{describe(found)}"
    scroll, client = page.evaluate("() => [document.documentElement.scrollWidth, document.documentElement.clientWidth]")
    assert scroll <= client, f"{name} is {scroll}px wide on a {client}px screen"
    SHOTS.mkdir(parents=True, exist_ok=True)
    page.screenshot(path=str(SHOTS / f"families-{name}-{width}.png"), full_page=True)


def forget_rate_limits(live_server, slug: str) -> None:
    """The live server lives for the whole browser suite, and every test signs in, registers or
    answers a captcha from 127.0.0.1: what the tests before used of this tenant's per-IP limits
    (5 registrations an hour, 10 captcha forms in 10 minutes) is forgotten, so that this test
    sends its forms as a visitor who has sent none."""
    from sqlalchemy import delete

    from assmat.core.security.models import RateLimitHit

    async def forget(sessionmaker) -> None:
        async with sessionmaker() as db:
            await db.execute(delete(RateLimitHit).where(RateLimitHit.tenant_id == slug))
            await db.commit()

    live_server.run_async(forget)


@pytest.mark.parametrize("width", [1280, 360])
def test_a_family_creates_confirms_uses_and_deletes_its_account(live_server, page: Page, axe_source: str,  # noqa: F811
                                                                 width: int) -> None:
    from assmat.auth.captcha import DEFAULT_LENGTH, derive_answer

    forget_rate_limits(live_server, ME)
    page.set_viewport_size({"width": width, "height": 800})
    address = f"famille-{uuid.uuid4().hex[:8]}@example.org"
    page.goto(live_server.url(ME, "/connexion"))
    page.get_by_role("link", name="Créer mon compte famille").click()
    expect(page.get_by_role("heading", level=1, name="Créer mon compte famille")).to_be_visible()
    page.get_by_role("button", name="Créer mon compte").click()  # empty: the code to copy is checked first
    expect_no_expired_form(page)
    expect(page.get_by_text("Le cryptogramme de sécurité saisi est incorrect.").first).to_be_visible()
    check_page(page, axe_source, "creer-mon-compte-erreurs", width)
    page.get_by_role("textbox", name=re.compile(r"^Votre nom")).fill("Bernard")
    page.get_by_role("textbox", name=re.compile(r"^Votre prénom")).fill("Claire")
    page.get_by_role("textbox", name=re.compile(r"^Adresse électronique")).fill(address)
    page.get_by_role("textbox", name=re.compile(r"^Confirmer l'adresse électronique")).fill(address)
    page.locator("#mot_de_passe").fill(PASSWORD)
    expect(page.locator("#mot_de_passe-rules li[data-rule='min_length']")).to_have_class(re.compile(r"\brule-ok\b"))
    page.locator("#confirmation").fill(PASSWORD)
    page.get_by_label(re.compile(r"^J'ai lu et j'accepte les")).check()
    check_page(page, axe_source, "creer-mon-compte", width)
    captcha_id = page.locator("input[name=captcha_id]").input_value()
    page.get_by_role("textbox", name="Vérification du texte").fill(
        derive_answer(live_server.settings.effective_secret_key, ME, captcha_id, DEFAULT_LENGTH))
    page.get_by_role("button", name="Créer mon compte").click()
    expect_no_expired_form(page)
    page.wait_for_url(re.compile(r"/creer-mon-compte/envoye$"))
    expect(page.get_by_text("Votre demande est enregistrée. Un courriel a été envoyé à l'adresse indiquée.")).to_be_visible()
    check_page(page, axe_source, "creer-mon-compte-envoye", width)

    link = re.search(r"https?://\S+(/confirmation-email/[A-Za-z0-9_-]+)", mail_body(live_server, address, "confirmation-email"))
    page.goto(live_server.url(ME, link.group(1)))
    page.get_by_role("button", name="Confirmer cette adresse").click()
    expect_no_expired_form(page)
    page.wait_for_url(re.compile(r"/connexion\?info=email_confirmed$"))
    page.get_by_role("textbox", name=re.compile(r"adresse électronique", re.I)).fill(address)
    page.get_by_label(re.compile(r"^Votre mot de passe")).first.fill(PASSWORD)
    page.get_by_role("button", name=re.compile(r"^(Se connecter|Connexion)$")).click()
    page.wait_for_url(re.compile(r"/espace$"))

    page.goto(live_server.url(ME, "/espace/compte"))
    page.get_by_role("link", name="Supprimer mon compte").click()
    page.wait_for_url(re.compile(r"/espace/compte/suppression$"))
    check_page(page, axe_source, "suppression", width)
    page.get_by_label(re.compile(r"^Saisissez votre mot de passe pour confirmer")).fill("Mauvais123")
    page.get_by_role("button", name="Supprimer mon compte").click()
    expect_no_expired_form(page)
    expect(page.get_by_text("Le mot de passe actuel est incorrect.")).to_be_visible()
    page.get_by_label(re.compile(r"^Saisissez votre mot de passe pour confirmer")).fill(PASSWORD)
    page.get_by_role("button", name="Supprimer mon compte").click()
    expect_no_expired_form(page)
    page.wait_for_url(re.compile(r"/compte-supprime$"))
    expect(page.get_by_text("Votre compte famille et vos données personnelles ont été supprimés.")).to_be_visible()
    check_page(page, axe_source, "compte-supprime", width)
    assert "supprimé" in mail_body(live_server, address, "supprimé")
    page.goto(live_server.url(ME, "/espace/compte"))
    page.wait_for_url(re.compile(r"/connexion"))  # signed out: the session ended with the account


def test_mon_enfant_staff_delete_a_family_account_from_its_page(live_server, live_accounts, page: Page) -> None:
    """« Supprimer le compte famille » on the account's page of the console, then its confirmation
    by its visible button: the account is gone, the list says so, and the family is told by email."""
    from tests.browser.test_console import create_console_admin, wait_for_mail

    console_password = "Console2026Perpignan"  # mon-enfant's policy: letters and digits only
    staff = f"agent-{uuid.uuid4().hex[:8]}@mon-enfant.fr"
    create_console_admin(live_server, ME, staff, console_password)
    address = f"famille-{uuid.uuid4().hex[:8]}@example.org"
    account, _ = live_accounts.create(ME, address, PASSWORD, email=address, kind="parent", birth_date=None)
    page.goto(live_server.url(ME, "/admin/login"))
    page.get_by_label("Adresse email").fill(staff)
    page.get_by_label("Mot de passe").fill(console_password)
    page.get_by_role("button", name="Se connecter").click()
    page.wait_for_url(live_server.url(ME, "/admin/vue-d-ensemble"))
    page.goto(live_server.url(ME, f"/admin/account/details/{account.id}"))
    page.get_by_role("link", name="Supprimer le compte famille").click()
    expect(page.get_by_role("heading", name="Supprimer le compte famille : confirmation")).to_be_visible()
    page.get_by_role("button", name="Confirmer : Supprimer le compte famille").click()
    page.wait_for_url(re.compile(r"/admin/account/list\?done=delete_family&count=1"))
    assert live_accounts.get(account.id) is None
    mail = wait_for_mail(live_server.settings.mail_dir, address, "Votre compte famille a été supprimé")
    assert "Votre compte famille a été supprimé, avec vos données personnelles" in mail.get_body(("plain",)).get_content()
