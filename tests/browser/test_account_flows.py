"""Seed 000 (Gers) account flows in a real Chromium: the letter's first login with the live password
checklist and the show/hide toggle, the lockout after three failures, and the same forced change
with JavaScript off (progressive enhancement)."""

from __future__ import annotations

import re
import uuid

import pytest
from playwright.sync_api import Page, expect

pytestmark = pytest.mark.browser

NEW_PASSWORD = "Lune#Soleil42"  # meets every Gers rule; no identifier, no name in it
CLIENT_RULES = ["min_length", "max_length", "uppercase", "lowercase", "digits", "special", "charset", "whitespace"]
SERVER_RULES = ["identifier", "history", "blocklist"]  # reminders only: never marked in the browser
FIRST_LOGIN = "Il s'agit de votre première connexion. Vous devez changer votre mot de passe."
FAILED = "Echec de l'authentification."
LOCKED = "Votre compte est bloqué, veuillez contacter l'administrateur ou votre référent pour débloquer le compte"


def new_identifier() -> str:
    """A fresh agrément number: the live server's database lives for the whole session."""
    return f"AGR-{uuid.uuid4().hex[:10].upper()}"


def sign_in(page: Page, identifier: str, password: str) -> None:
    page.get_by_label("Identifiant").fill(identifier)
    page.get_by_label("Mot de passe", exact=False).fill(password)
    page.get_by_role("button", name="Se connecter").click()


def rule(page: Page, code: str):
    return page.locator(f"#mot_de_passe-rules li[data-rule='{code}']")


def expect_rules(page: Page, ok: list[str], ko: list[str]) -> None:
    for code in ok:
        expect(rule(page, code)).to_have_class(re.compile(r"\brule-ok\b"))
        expect(rule(page, code)).not_to_have_class(re.compile(r"\brule-ko\b"))
    for code in ko:
        expect(rule(page, code)).to_have_class(re.compile(r"\brule-ko\b"))
        expect(rule(page, code)).not_to_have_class(re.compile(r"\brule-ok\b"))


def tab_to(page: Page, locator, limit: int = 30) -> None:
    """Press Tab until `locator` has the focus, as a keyboard user does."""
    for _ in range(limit):
        if locator.evaluate("element => element === document.activeElement"):
            return
        page.keyboard.press("Tab")
    expect(locator).to_be_focused()


def test_gers_first_login_with_the_letter(live_server, live_accounts, page: Page) -> None:
    identifier = new_identifier()
    account, temporary = live_accounts.create("gers", identifier, temporary=True, accepted_terms=False)
    assert temporary

    response = page.goto(live_server.url("gers", "/connexion"))
    assert response is not None and response.status == 200
    # The letter's identifier, typed in lower case: the agrément number is not case-sensitive.
    sign_in(page, identifier.lower(), temporary)

    page.wait_for_url(live_server.url("gers", "/changement-mot-de-passe"))
    expect(page.get_by_role("status").filter(has_text=FIRST_LOGIN)).to_be_visible()
    new_password = page.get_by_label("Nouveau mot de passe")
    summary = page.locator("#mot_de_passe-rules-summary")
    expect(summary).to_have_attribute("aria-live", "polite")

    # Before typing: only the "nothing forbidden" rules hold; the server-side ones stay unmarked.
    expect_rules(page, ok=["max_length", "charset", "whitespace"],
                 ko=["min_length", "uppercase", "lowercase", "digits", "special"])
    for code in SERVER_RULES:
        expect(rule(page, code)).not_to_have_class(re.compile(r"\brule-(ok|ko)\b"))
    expect(summary).to_have_text("")  # nothing announced before the user types

    # Character by character, as a user types: the checklist follows each key.
    new_password.press_sequentially("abc")
    expect_rules(page, ok=["lowercase", "max_length", "charset", "whitespace"],
                 ko=["min_length", "uppercase", "digits", "special"])
    expect(rule(page, "min_length").locator(".rule-status")).to_have_text(", non satisfait")
    expect(rule(page, "lowercase").locator(".rule-status")).to_have_text(", satisfait")
    expect(summary).to_have_text("4 règles sur 8 respectées")  # announced after a pause in typing

    new_password.press_sequentially("D")
    expect_rules(page, ok=["lowercase", "uppercase"], ko=["min_length", "digits", "special"])
    new_password.press_sequentially("1")
    expect_rules(page, ok=["lowercase", "uppercase", "digits"], ko=["min_length", "special"])
    new_password.press_sequentially(" ")  # a space: the whitespace rule fails, then holds again
    expect_rules(page, ok=[], ko=["whitespace"])
    new_password.press("Backspace")
    new_password.press_sequentially("€")  # not in the Gers list of specials
    expect_rules(page, ok=["lowercase", "uppercase", "digits"], ko=["charset", "special"])
    new_password.press("Backspace")
    expect(summary).to_have_text("6 règles sur 8 respectées")

    new_password.fill("")
    new_password.press_sequentially(NEW_PASSWORD)
    expect_rules(page, ok=CLIENT_RULES, ko=[])
    expect(summary).to_have_text("8 règles sur 8 respectées")
    assert new_password.input_value() == NEW_PASSWORD

    # Show / hide: the typed text becomes readable, then hidden again.
    toggle = page.locator("button.password-toggle[aria-controls='mot_de_passe']")
    expect(toggle).to_be_visible()
    expect(toggle).to_have_text("Afficher le mot de passe")
    expect(toggle).to_have_attribute("aria-pressed", "false")
    expect(new_password).to_have_attribute("type", "password")
    toggle.click()
    expect(new_password).to_have_attribute("type", "text")
    expect(toggle).to_have_text("Masquer le mot de passe")
    expect(toggle).to_have_attribute("aria-pressed", "true")
    expect(new_password).to_have_value(NEW_PASSWORD)
    toggle.click()
    expect(new_password).to_have_attribute("type", "password")
    expect(toggle).to_have_text("Afficher le mot de passe")
    expect(toggle).to_have_attribute("aria-pressed", "false")

    # The same toggle with the keyboard alone: Tab from the field, Space, Enter.
    new_password.focus()
    page.keyboard.press("Tab")
    expect(toggle).to_be_focused()
    page.keyboard.press("Space")
    expect(new_password).to_have_attribute("type", "text")
    page.keyboard.press("Enter")
    expect(new_password).to_have_attribute("type", "password")

    confirmation = page.get_by_label("Confirmation")
    confirmation.fill(NEW_PASSWORD)
    page.get_by_role("button", name="Se connecter", exact=True).click()  # the Gers guide's button

    page.wait_for_url(live_server.url("gers", "/conditions"))
    expect(page.get_by_role("heading", level=1, name="Conditions d'utilisation")).to_be_visible()
    expect(page.get_by_role("heading", name=re.compile(r"^Article 1 —"))).to_be_visible()

    # Keyboard only: Tab to the checkbox, Space ticks it, Tab to "Accepter", Enter submits.
    checkbox = page.get_by_label(re.compile("j'accepte", re.IGNORECASE))
    expect(checkbox).not_to_be_checked()
    tab_to(page, checkbox)
    assert checkbox.evaluate("element => element.matches(':focus-visible')")
    page.keyboard.press("Space")
    expect(checkbox).to_be_checked()
    page.keyboard.press("Tab")
    accept = page.get_by_role("button", name="Accepter")
    expect(accept).to_be_focused()
    outline = accept.evaluate("element => getComputedStyle(element).outlineStyle")
    assert outline != "none", "keyboard focus must be visible"
    page.keyboard.press("Enter")

    page.wait_for_url(live_server.url("gers", "/espace"))
    expect(page.get_by_role("heading", level=1, name="Tableau de bord")).to_be_visible()

    stored = live_accounts.get(account.id)
    assert stored.must_change_password is False
    assert stored.terms_version is not None and stored.terms_accepted_at is not None


def test_gers_lockout_after_three_failures(live_server, live_accounts, page: Page) -> None:
    identifier = new_identifier()
    account, _ = live_accounts.create("gers", identifier, NEW_PASSWORD)
    page.goto(live_server.url("gers", "/connexion"))
    alert_area = page.get_by_role("main")

    for attempt, expected in ((1, FAILED), (2, FAILED), (3, LOCKED)):
        sign_in(page, identifier, f"Mauvais#{attempt}x")
        expect(alert_area).to_contain_text(expected)
        if expected == FAILED:
            expect(alert_area).not_to_contain_text(LOCKED)
        # The form comes back with the identifier kept and the password emptied.
        expect(page.get_by_label("Identifiant")).to_have_value(identifier)
        expect(page.get_by_label("Mot de passe", exact=False)).to_have_value("")

    # The right password is refused too: the lock is permanent (an administrator unlocks).
    sign_in(page, identifier, NEW_PASSWORD)
    expect(alert_area).to_contain_text(LOCKED)
    assert page.url.startswith(live_server.url("gers", "/connexion"))
    expect(page.get_by_role("heading", level=1, name="Tableau de bord")).to_have_count(0)
    stored = live_accounts.get(account.id)
    assert stored.locked_at is not None and stored.failed_logins == 3


def test_password_form_works_without_javascript(live_server, live_accounts, browser) -> None:
    identifier = new_identifier()
    account, temporary = live_accounts.create("gers", identifier, temporary=True, accepted_terms=False)
    context = browser.new_context(locale="fr-FR", java_script_enabled=False, viewport={"width": 1280, "height": 800})
    context.set_default_timeout(10_000)
    try:
        page = context.new_page()
        page.goto(live_server.url("gers", "/connexion"))
        sign_in(page, identifier, temporary)
        page.wait_for_url(live_server.url("gers", "/changement-mot-de-passe"))
        expect(page.get_by_text(FIRST_LOGIN)).to_be_visible()

        # No toggle without the script that makes it work; the rules are a plain visible list.
        expect(page.locator("button.password-toggle")).to_have_count(2)
        for toggle in page.locator("button.password-toggle").all():
            expect(toggle).to_be_hidden()
        rules = page.locator("#mot_de_passe-rules li")
        expect(rules).to_have_count(len(CLIENT_RULES) + len(SERVER_RULES))
        expect(page.get_by_text("Vous devez respecter la consigne suivante :")).to_be_visible()  # the Gers guide
        for label in ("8 caractères minimum", "1 majuscule minimum", "1 minuscule minimum", "1 chiffre minimum",
                      "1 caractère spécial minimum dans la liste suivante",
                      "Le mot de passe ne doit pas avoir été utilisé lors des 6 derniers mois"):
            expect(rules.filter(has_text=label)).to_be_visible()
        for item in rules.all():
            expect(item).not_to_have_class(re.compile(r"\brule-(ok|ko)\b"))
        expect(page.locator("#mot_de_passe-rules .rule-status").first).to_have_text("")

        new_password = page.get_by_label("Nouveau mot de passe")
        new_password.press_sequentially(NEW_PASSWORD)
        expect(new_password).to_have_attribute("type", "password")
        expect(rule(page, "min_length")).not_to_have_class(re.compile(r"\brule-(ok|ko)\b"))
        page.get_by_label("Confirmation").fill(NEW_PASSWORD)
        page.get_by_role("button", name="Se connecter", exact=True).click()  # the Gers guide's button

        page.wait_for_url(live_server.url("gers", "/conditions"))
        page.get_by_label(re.compile("j'accepte", re.IGNORECASE)).check()
        page.get_by_role("button", name="Accepter").click()
        page.wait_for_url(live_server.url("gers", "/espace"))
        expect(page.get_by_role("heading", level=1, name="Tableau de bord")).to_be_visible()
    finally:
        context.close()
    assert live_accounts.get(account.id).must_change_password is False
