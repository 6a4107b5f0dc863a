"""MAM and relais (seed 002) in a real Chromium, through their visible buttons: staff create a
relais in Eure-et-Loir's console (« Créer une structure »), then the relais asks its password on
« J'ai oublié mon mot de passe » with its email and « un relais d'assistant maternel »; axe on both."""

from __future__ import annotations

import re
import uuid

import pytest
from playwright.sync_api import Page, expect
from sqlalchemy import select

from tests.browser.test_accessibility import assert_no_serious, axe_source  # noqa: F401 (fixture)
from tests.browser.test_every_form import console_sign_in, expect_no_expired_form

pytestmark = pytest.mark.browser

SLUG = "eure-et-loir"


def outbox_to(live_server, address: str) -> list[str]:
    from assmat.core.mail.models import OutboxMail

    async def read(sessionmaker):
        async with sessionmaker() as db:
            return list((await db.scalars(select(OutboxMail.template).where(OutboxMail.recipient == address))).all())

    return live_server.run_async(read)


def test_staff_create_a_relais_which_then_asks_its_password_by_its_kind(live_server, page: Page, axe_source: str) -> None:  # noqa: F811
    from assmat.auth.captcha import DEFAULT_LENGTH, derive_answer

    email = f"relais-{uuid.uuid4().hex[:8]}@example.org"
    console_sign_in(live_server, page, SLUG)
    page.goto(live_server.url(SLUG, "/admin/structures/list"))
    page.get_by_role("link", name="Créer une structure").click()
    expect(page.get_by_role("heading", level=1)).to_have_text("Créer une structure")
    assert_no_serious(page, axe_source, "/admin/structures/nouvelle")
    page.get_by_label("Relais d'assistants maternels (RAM)").check()
    page.get_by_role("button", name="Créer la structure").click()
    expect_no_expired_form(page)
    expect(page.get_by_role("alert")).to_contain_text("Indiquez le nom de la structure.")
    page.get_by_label("Nom", exact=True).fill("Relais petite enfance de Lucé")
    page.get_by_label("Adresse électronique").fill(email)
    page.get_by_label("Communes couvertes (relais)").fill("Lucé\nMainvilliers")
    page.get_by_role("button", name="Créer la structure").click()
    page.wait_for_url(re.compile(r"/admin/structures/details/\d+$"))
    expect(page.get_by_text("Relais petite enfance de Lucé").first).to_be_visible()
    assert outbox_to(live_server, email) == ["activation_link"]

    page.goto(live_server.url(SLUG, "/mot-de-passe-oublie"))
    assert_no_serious(page, axe_source, "/mot-de-passe-oublie (Eure-et-Loir)")
    page.get_by_role("textbox", name="Adresse e-mail").fill(email)  # the seed's label (reset.email_label)
    page.get_by_label("un relais d'assistant maternel").check()
    captcha_id = page.locator("input[name=captcha_id]").input_value()
    answer = derive_answer(live_server.settings.effective_secret_key, SLUG, captcha_id, DEFAULT_LENGTH)
    page.locator("input[name=captcha]").fill(answer)
    page.get_by_role("button", name="M'envoyer un nouveau mot de passe").click()
    expect_no_expired_form(page)
    page.wait_for_url(re.compile(r"/connexion\?info=reset_sent$"))
    assert outbox_to(live_server, email) == ["activation_link", "temporary_password"]
