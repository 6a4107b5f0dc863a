"""Seed 004, mon-enfant.fr espace professionnel (Cnaf): sign in with the email address, a
30-minute session, the forgotten-password form with its code to copy, the emailed password to
personalise at the first use, and the alphanumeric policy — with the tenant's own configuration,
checked as a user sees it."""

from __future__ import annotations

import re
from datetime import timedelta
from urllib.parse import parse_qs, urlsplit

import pytest
from sqlalchemy import select

from assmat.auth.captcha import DEFAULT_LENGTH, derive_answer
from assmat.core.mail.models import OutboxMail
from tests.support.portal import CSRF, text_of

SLUG = "mon-enfant"
CAPTCHA_ID = re.compile(r'name="captcha_id" value="([^"]+)"')

EMAIL = "Nadia.Roux@Example.fr"
GOOD = "Canigou66Perpignan"  # letters and digits only
OTHER = "Tramontane2026"

WRONG_CAPTCHA = "Le cryptogramme de sécurité saisi est incorrect."


def body(mail) -> str:
    return mail.get_body(("plain",)).get_content()


def outbox(portal) -> list[tuple[str, str]]:
    return [tuple(row) for row in portal.query(select(OutboxMail.template, OutboxMail.recipient).order_by(OutboxMail.id))]


def habilitated(portal, password: str | None = GOOD, **kwargs):
    account, temporary = portal.create_account(EMAIL, password, email=EMAIL, first_name="Nadia", last_name="Roux", **kwargs)
    return account, temporary


def forgot(portal, email: str, *, answer: str | None = None):
    page = portal.client.get("/mot-de-passe-oublie")
    csrf = CSRF.search(page.text).group(1)
    captcha_id = CAPTCHA_ID.search(page.text).group(1)
    if answer is None:
        answer = derive_answer(portal.app.state.settings.effective_secret_key, SLUG, captcha_id, DEFAULT_LENGTH)
    return portal.client.post("/mot-de-passe-oublie", data={
        "csrf_token": csrf, "email": email, "captcha_id": captcha_id, "captcha": answer,
    })


# -- sign in with the email address --------------------------------------------------------------------


@pytest.mark.parametrize("typed", ["nadia.roux@example.fr", "NADIA.ROUX@EXAMPLE.FR", "  Nadia.Roux@Example.fr  "])
def test_login_by_email_ignores_case_and_surrounding_spaces(portal_for, typed):
    mon_enfant = portal_for(SLUG)
    assert mon_enfant.tenant.config.login.identifier == "email"
    habilitated(mon_enfant)
    page = mon_enfant.client.get("/connexion").text
    assert 'type="email"' in page and 'name="identifiant"' in page
    response = mon_enfant.login(typed, GOOD)
    assert response.status_code == 303 and response.headers["location"] == "/espace"
    assert mon_enfant.client.get("/espace").status_code == 200


def test_login_with_a_wrong_password_is_refused(portal_for):
    mon_enfant = portal_for(SLUG)
    account, _ = habilitated(mon_enfant)
    response = mon_enfant.login("nadia.roux@example.fr", OTHER)
    assert response.status_code == 400 and "Echec de l'authentification." in text_of(response)
    assert mon_enfant.account(account.id).failed_logins == 1


# -- the 30-minute session -----------------------------------------------------------------------------


def test_session_survives_29_idle_minutes(portal_for, frozen_clock):
    mon_enfant = portal_for(SLUG)
    idle = mon_enfant.tenant.config.session.idle_timeout
    assert idle == timedelta(minutes=30)  # "La durée d'une session utilisateur est de 30 minutes"
    habilitated(mon_enfant)
    mon_enfant.login(EMAIL, GOOD)
    frozen_clock.advance(seconds=(idle - timedelta(minutes=1)).total_seconds())
    assert mon_enfant.client.get("/espace").status_code == 200
    # That visit was activity: another 29 minutes are fine too.
    frozen_clock.advance(seconds=(idle - timedelta(minutes=1)).total_seconds())
    assert mon_enfant.client.get("/espace").status_code == 200


def test_session_ends_after_31_idle_minutes(portal_for, frozen_clock):
    mon_enfant = portal_for(SLUG)
    idle = mon_enfant.tenant.config.session.idle_timeout
    habilitated(mon_enfant)
    mon_enfant.login(EMAIL, GOOD)
    frozen_clock.advance(seconds=(idle + timedelta(minutes=1)).total_seconds())
    expired = mon_enfant.client.get("/espace")
    assert expired.status_code == 303
    location = urlsplit(expired.headers["location"])
    assert location.path == "/connexion"
    assert parse_qs(location.query)["info"] == ["session_expired"]
    assert "Votre session a expiré. Veuillez vous reconnecter." in text_of(mon_enfant.client.get(expired.headers["location"]))
    # Signing in again works.
    assert mon_enfant.login(EMAIL, GOOD).headers["location"] == "/espace"


# -- forgotten password: the form with a code to copy --------------------------------------------------


def test_forgot_password_form_asks_the_email_and_a_code(portal_for):
    mon_enfant = portal_for(SLUG)
    assert mon_enfant.tenant.config.password_reset.captcha is True
    page = text_of(mon_enfant.client.get("/mot-de-passe-oublie"))
    assert 'name="email"' in page and 'name="identifiant"' not in page
    assert 'name="captcha_id"' in page and 'name="captcha"' in page
    assert "Vérification du texte" in page and "Recommencer" in page  # the guide's words


def test_forgot_password_with_a_wrong_code_sends_nothing(portal_for, smtp_server):
    mon_enfant = portal_for(SLUG)
    account, _ = habilitated(mon_enfant)
    for typed in ("", "0000", "XXXXXX"):
        response = forgot(mon_enfant, "nadia.roux@example.fr", answer=typed)
        assert response.status_code == 400
        assert WRONG_CAPTCHA in text_of(response)
    assert outbox(mon_enfant) == []
    assert smtp_server.messages == []
    assert mon_enfant.login(EMAIL, GOOD).headers["location"] == "/espace"


def test_forgot_password_sends_a_temporary_password_to_personalise_at_first_use(portal_for, smtp_server):
    mon_enfant = portal_for(SLUG)
    account, _ = habilitated(mon_enfant)
    response = forgot(mon_enfant, " NADIA.roux@example.fr ")
    assert response.status_code == 303 and response.headers["location"] == "/connexion?info=reset_sent"
    notice = mon_enfant.tenant.config.messages["reset.sent_temporary_password"]
    assert notice in text_of(mon_enfant.client.get(response.headers["location"]))

    (mail,) = smtp_server.wait_for(1)
    assert mail["To"] == EMAIL
    assert mail["Subject"] == "Demande de modification de mot de passe"
    temporary = re.search(r"Votre nouveau mot de passe est : (\S+)", body(mail)).group(1)
    assert temporary.isascii() and temporary.isalnum()  # valid under the tenant's alphanumeric policy
    assert re.search(r"[0-9]", temporary) and re.search(r"[A-Za-z]", temporary)

    used = mon_enfant.login(EMAIL, temporary)
    assert used.status_code == 303 and used.headers["location"] == "/changement-mot-de-passe"
    assert mon_enfant.client.get("/espace").headers["location"] == "/changement-mot-de-passe"
    changed = mon_enfant.post("/changement-mot-de-passe", {"mot_de_passe": OTHER, "confirmation": OTHER})
    assert changed.status_code == 303 and changed.headers["location"] == "/espace"
    assert mon_enfant.client.get("/espace").status_code == 200

    mon_enfant.client.cookies.clear()
    assert mon_enfant.login(EMAIL, temporary).status_code == 400
    assert mon_enfant.login(EMAIL, OTHER).headers["location"] == "/espace"


def test_forgot_password_for_an_unknown_address_gets_the_same_answer(portal_for, smtp_server):
    mon_enfant = portal_for(SLUG)
    habilitated(mon_enfant)
    unknown = forgot(mon_enfant, "inconnue@example.fr")
    known = forgot(mon_enfant, EMAIL)
    assert (unknown.status_code, unknown.headers["location"]) == (known.status_code, known.headers["location"])
    smtp_server.wait_for(1)
    assert [recipient for _template, recipient in outbox(mon_enfant)] == [EMAIL]


# -- the policy: 8 alphanumeric characters, a digit and a letter ----------------------------------------


def forced_change_page(portal):
    account, temporary = habilitated(portal, password=None, temporary=True)
    response = portal.login(EMAIL, temporary)
    assert response.headers["location"] == "/changement-mot-de-passe"
    return account


def test_policy_is_shown_on_the_change_form(portal_for):
    mon_enfant = portal_for(SLUG)
    forced_change_page(mon_enfant)
    page = text_of(mon_enfant.client.get("/changement-mot-de-passe"))
    for item in ("8 caractères minimum", "1 lettre minimum", "1 chiffre minimum",
                 "Aucun caractère spécial : lettres et chiffres uniquement"):
        assert item in page


@pytest.mark.parametrize("special", list("!#$%&*+-./:;=?@_~'\"()[]{}|€§"))
def test_any_special_character_is_refused(portal_for, special):
    mon_enfant = portal_for(SLUG)
    account = forced_change_page(mon_enfant)
    password = f"Canigou66{special}Roc"
    response = mon_enfant.post("/changement-mot-de-passe", {"mot_de_passe": password, "confirmation": password})
    assert response.status_code == 400
    assert f"Le mot de passe contient des caractères non acceptés : {special}" in text_of(response)
    assert mon_enfant.account(account.id).password_hash is None


@pytest.mark.parametrize(("password", "message"), [
    ("Canigoupyrenees", "Le mot de passe doit contenir au moins 1 chiffre."),
    ("66066066066", "Le mot de passe doit contenir au moins 1 lettre."),
    ("Cani66", "Le mot de passe doit contenir au moins 8 caractères."),
    ("Canigou 66", "Le mot de passe ne doit pas contenir d'espace."),
], ids=["no_digit", "no_letter", "too_short", "space"])
def test_password_needs_a_digit_and_a_letter(portal_for, password, message):
    mon_enfant = portal_for(SLUG)
    account = forced_change_page(mon_enfant)
    response = mon_enfant.post("/changement-mot-de-passe", {"mot_de_passe": password, "confirmation": password})
    assert response.status_code == 400
    assert message in text_of(response)
    assert mon_enfant.account(account.id).password_hash is None


def test_eight_letters_and_digits_are_enough(portal_for):
    mon_enfant = portal_for(SLUG)
    account = forced_change_page(mon_enfant)
    response = mon_enfant.post("/changement-mot-de-passe", {"mot_de_passe": "Vallespir7", "confirmation": "Vallespir7"})
    assert response.status_code == 303 and response.headers["location"] == "/espace"
    assert mon_enfant.account(account.id).must_change_password is False
