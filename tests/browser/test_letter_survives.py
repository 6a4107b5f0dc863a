"""Seed 000 (Gers) in a real Chromium: someone who leaves the forced change, or whose first choice
is refused, signs in again with the letter. Before, the letter's temporary password was spent at
the first sign-in; three more tries then locked the account for good."""

from __future__ import annotations

import uuid

import pytest
from playwright.sync_api import expect

pytestmark = pytest.mark.browser

NEW_PASSWORD = "Lune#Soleil42"
FIRST_LOGIN = "Il s'agit de votre première connexion. Vous devez changer votre mot de passe."


def sign_in(page, identifier: str, password: str) -> None:
    page.get_by_label("Identifiant").fill(identifier)
    page.get_by_label("Mot de passe", exact=False).fill(password)
    page.get_by_role("button", name="Se connecter").click()


def test_the_letter_opens_the_forced_change_again_after_leaving_it(live_server, live_accounts, browser) -> None:
    identifier = f"AGR-{uuid.uuid4().hex[:10].upper()}"
    account, temporary = live_accounts.create("gers", identifier, temporary=True, accepted_terms=False)
    for attempt in range(4):  # more than the Gers' three failures
        context = browser.new_context(locale="fr-FR")  # a browser closed on the forced change, then reopened
        try:
            page = context.new_page()
            page.goto(live_server.url("gers", "/connexion"))
            sign_in(page, identifier, temporary)
            page.wait_for_url(live_server.url("gers", "/changement-mot-de-passe"))
            expect(page.get_by_role("status").filter(has_text=FIRST_LOGIN)).to_be_visible()
            if attempt == 0:
                # A first choice refused by the rules spends nothing either.
                page.get_by_label("Nouveau mot de passe").fill("abc")
                page.get_by_label("Confirmation").fill("abc")
                page.get_by_role("button", name="Se connecter").click()  # the Gers seed's forced-change button
                expect(page.get_by_text("8 caractères").first).to_be_visible()
            if attempt == 3:
                page.get_by_label("Nouveau mot de passe").fill(NEW_PASSWORD)
                page.get_by_label("Confirmation").fill(NEW_PASSWORD)
                page.get_by_role("button", name="Se connecter").click()  # the Gers seed's forced-change button
                page.wait_for_url(live_server.url("gers", "/conditions"))
        finally:
            context.close()
    stored = live_accounts.get(account.id)
    assert stored.locked_at is None and stored.must_change_password is False
