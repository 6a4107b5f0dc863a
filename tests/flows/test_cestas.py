"""Seed 003, Portail Familles (Ville de Cestas): reset by identifier + email with one generic
answer, a link valid 48 hours, single use, killed by a newer request or a password change; the
live password checklist (8-30, lower, upper, digit, no space); legacy accounts forced to set a
new password — with the tenant's own configuration, checked as a user sees it."""

from __future__ import annotations

import re

import pytest
from sqlalchemy import select

from assmat.core.mail.models import OutboxMail
from tests.support.portal import CSRF, text_of

SLUG = "cestas"
BASE = f"http://{SLUG}.localhost"
RESET_LINK = re.compile(re.escape(BASE) + r"(/reinitialisation/[A-Za-z0-9_-]+)")

IDENTIFIER = "famille.dupont"
EMAIL = "dupont.famille@example.fr"
GOOD = "Pins#Landes33"
OTHER = "Arcachon!Dune44"
LEGACY = "vieux2019"  # from before the 4 November 2020 update: no longer valid under the policy

GENERIC = (
    "Si les informations fournies sont valides, un courriel vous sera envoyé à l'adresse associée à votre compte. "
    "Veuillez consulter votre messagerie et cliquer sur le lien contenu dans ce message afin de réinitialiser votre mot de passe."
)


def body(mail) -> str:
    return mail.get_body(("plain",)).get_content()


def outbox(portal) -> list[tuple[str, str]]:
    return [tuple(row) for row in portal.query(select(OutboxMail.template, OutboxMail.recipient).order_by(OutboxMail.id))]


def family(portal, password: str | None = GOOD):
    account, _ = portal.create_account(IDENTIFIER, password, email=EMAIL, first_name="Marc", last_name="Dupont")
    return account


def ask_reset(portal, identifier: str = IDENTIFIER, email: str = EMAIL):
    return portal.post("/mot-de-passe-oublie", {"identifiant": identifier, "email": email})


def reset_link(smtp_server, count: int = 1) -> str:
    mail = smtp_server.wait_for(count)[count - 1]
    return RESET_LINK.search(body(mail)).group(1)


def without_csrf(text: str) -> str:
    return CSRF.sub('name="csrf_token" value=""', text)


def assert_link_invalid(response) -> None:
    assert response.status_code == 400
    page = text_of(response)
    assert "Lien plus valable" in page
    assert "Ce lien a expiré, a déjà été utilisé ou a été remplacé par un lien plus récent." in page
    assert response.headers["referrer-policy"] == "no-referrer"


# -- CAS N° 1: reset by identifier and email ------------------------------------------------------------


def test_reset_answer_is_the_same_for_known_and_unknown_accounts(portal_for, smtp_server):
    cestas = portal_for(SLUG)
    family(cestas)
    form = text_of(cestas.client.get("/mot-de-passe-oublie"))
    assert 'name="identifiant"' in form and 'name="email"' in form

    answers = {
        "known": ask_reset(cestas),
        "unknown identifier": ask_reset(cestas, identifier="famille.inconnue"),
        "other email": ask_reset(cestas, email="autre@example.fr"),
    }
    shapes = {name: (r.status_code, r.headers.get("location"), tuple(sorted(r.cookies.keys()))) for name, r in answers.items()}
    assert set(shapes.values()) == {(303, "/connexion?info=reset_link_sent", ())}, shapes
    pages = {without_csrf(text_of(cestas.client.get(r.headers["location"]))) for r in answers.values()}
    assert len(pages) == 1
    assert GENERIC in pages.pop()

    (mail,) = smtp_server.wait_for(1)
    assert mail["To"] == EMAIL
    assert outbox(cestas) == [("reset_link", EMAIL)]


def test_locked_account_gets_the_same_reset_answer_and_no_link(portal_for, smtp_server):
    cestas = portal_for(SLUG)
    account = family(cestas)
    for _ in range(cestas.tenant.config.lockout.max_failures):
        cestas.login(IDENTIFIER, "Mauvais#Mdp1")
    assert cestas.account(account.id).locked_at is not None
    response = ask_reset(cestas)
    assert response.status_code == 303 and response.headers["location"] == "/connexion?info=reset_link_sent"
    assert GENERIC in text_of(cestas.client.get(response.headers["location"]))
    assert [template for template, _recipient in outbox(cestas)] == ["account_locked"]  # the lock notice only


def test_reset_link_email_and_new_password(portal_for, smtp_server):
    cestas = portal_for(SLUG)
    account = family(cestas)
    ask_reset(cestas, identifier="  Famille.Dupont ", email="Dupont.Famille@Example.fr")
    (mail,) = smtp_server.wait_for(1)
    assert mail["To"] == EMAIL
    assert mail["Subject"] == "Réinitialisation de votre mot de passe"
    text = body(mail)
    assert "Vous avez demandé à réinitialiser votre mot de passe." in text
    hours = int(cestas.tenant.config.password_reset.effective_link_ttl.total_seconds() // 3600)
    assert hours == 48  # "ce lien est valable pendant 48H"
    assert f"ce lien est valable pendant {hours}H à compter de la demande de réinitialisation du mot de passe" in text
    assert "Si vous n'êtes pas à l'origine de cette demande, veuillez ignorer ce message." in text
    path = RESET_LINK.search(text).group(1)

    # The request changed nothing: the current password still works.
    assert cestas.account(account.id).password_hash == account.password_hash

    form = cestas.client.get(path)
    assert form.status_code == 200
    assert form.headers["referrer-policy"] == "no-referrer"
    changed = cestas.post(path, {"mot_de_passe": OTHER, "confirmation": OTHER})
    assert changed.status_code == 303 and changed.headers["location"] == "/connexion?info=password_changed"

    assert cestas.login(IDENTIFIER, GOOD).status_code == 400
    assert cestas.login(IDENTIFIER, OTHER).headers["location"] == "/espace"


def test_reset_link_still_works_just_before_48_hours(portal_for, smtp_server, frozen_clock):
    cestas = portal_for(SLUG)
    family(cestas)
    ask_reset(cestas)
    path = reset_link(smtp_server)
    ttl = cestas.tenant.config.password_reset.effective_link_ttl
    frozen_clock.advance(seconds=ttl.total_seconds() - 60)  # 47h59
    assert cestas.client.get(path).status_code == 200
    changed = cestas.post(path, {"mot_de_passe": OTHER, "confirmation": OTHER})
    assert changed.status_code == 303 and changed.headers["location"] == "/connexion?info=password_changed"
    assert cestas.login(IDENTIFIER, OTHER).headers["location"] == "/espace"


def test_reset_link_is_refused_after_48_hours(portal_for, smtp_server, frozen_clock):
    cestas = portal_for(SLUG)
    account = family(cestas)
    ask_reset(cestas)
    path = reset_link(smtp_server)
    form = cestas.client.get(path)  # opened in time, submitted too late
    csrf = CSRF.search(form.text).group(1)
    ttl = cestas.tenant.config.password_reset.effective_link_ttl
    frozen_clock.advance(seconds=ttl.total_seconds() + 1)  # 48h and 1 s
    assert_link_invalid(cestas.client.get(path))
    assert_link_invalid(cestas.client.post(path, data={"csrf_token": csrf, "mot_de_passe": OTHER, "confirmation": OTHER}))
    assert cestas.account(account.id).password_hash == account.password_hash
    assert cestas.login(IDENTIFIER, GOOD).headers["location"] == "/espace"


def test_reset_link_is_single_use(portal_for, smtp_server):
    cestas = portal_for(SLUG)
    family(cestas)
    ask_reset(cestas)
    path = reset_link(smtp_server)
    form = cestas.client.get(path)
    csrf = CSRF.search(form.text).group(1)
    assert cestas.client.post(path, data={"csrf_token": csrf, "mot_de_passe": OTHER, "confirmation": OTHER}).status_code == 303
    assert_link_invalid(cestas.client.get(path))
    assert_link_invalid(cestas.client.post(path, data={"csrf_token": csrf, "mot_de_passe": GOOD, "confirmation": GOOD}))
    assert cestas.login(IDENTIFIER, OTHER).headers["location"] == "/espace"


def test_a_newer_request_kills_the_older_link(portal_for, smtp_server):
    cestas = portal_for(SLUG)
    family(cestas)
    ask_reset(cestas)
    older = reset_link(smtp_server, 1)
    ask_reset(cestas)
    newer = reset_link(smtp_server, 2)
    assert older != newer
    assert_link_invalid(cestas.client.get(older))
    assert cestas.client.get(newer).status_code == 200
    assert cestas.post(newer, {"mot_de_passe": OTHER, "confirmation": OTHER}).status_code == 303


def test_a_password_change_kills_a_pending_link(portal_for, smtp_server):
    cestas = portal_for(SLUG)
    family(cestas)
    ask_reset(cestas)
    path = reset_link(smtp_server)
    # The family remembers the password after all, signs in and changes it from « Mon compte ».
    assert cestas.login(IDENTIFIER, GOOD).status_code == 303
    changed = cestas.post("/espace/compte/mot-de-passe", {"mot_de_passe_actuel": GOOD, "mot_de_passe": OTHER, "confirmation": OTHER})
    assert changed.status_code == 303
    assert_link_invalid(cestas.client.get(path))


# -- the password checklist -----------------------------------------------------------------------------


def test_reset_form_shows_the_password_checklist(portal_for, smtp_server):
    cestas = portal_for(SLUG)
    family(cestas)
    ask_reset(cestas)
    page = text_of(cestas.client.get(reset_link(smtp_server)))
    assert "Votre mot de passe doit respecter les règles suivantes :" in page
    # The seed's lines (its YAML words them); « Pas d'espace » stays its own line for the live check.
    for item in ("Au minimum 8 caractères alpha-numériques (symboles autorisés, pas d'espace)", "Au maximum 30 caractères",
                 "Au moins 1 lettre en minuscule", "Au moins 1 lettre en majuscule", "Au moins 1 chiffre", "Pas d'espace"):
        assert item in page
    policy = cestas.tenant.config.password_policy
    assert (policy.min_length, policy.max_length, policy.allow_whitespace) == (8, 30, False)


@pytest.mark.parametrize(("password", "message"), [
    ("Aa1" + "x" * 28, "Le mot de passe doit contenir au maximum 30 caractères."),  # 31 characters
    ("Pins Landes33", "Le mot de passe ne doit pas contenir d'espace."),
    ("Pins\tLandes33", "Le mot de passe ne doit pas contenir d'espace."),
    ("Pin#La3", "Le mot de passe doit contenir au moins 8 caractères."),
    ("pins#landes33", "Le mot de passe doit contenir au moins 1 majuscule."),
    ("PINS#LANDES33", "Le mot de passe doit contenir au moins 1 minuscule."),
    ("Pins#Landes", "Le mot de passe doit contenir au moins 1 chiffre."),
], ids=["31_chars", "space", "tab", "7_chars", "no_upper", "no_lower", "no_digit"])
def test_password_rules_refuse(portal_for, smtp_server, password, message):
    cestas = portal_for(SLUG)
    account = family(cestas)
    ask_reset(cestas)
    path = reset_link(smtp_server)
    response = cestas.post(path, {"mot_de_passe": password, "confirmation": password})
    assert response.status_code == 400
    assert message in text_of(response)
    assert cestas.account(account.id).password_hash == account.password_hash
    assert cestas.client.get(path).status_code == 200  # a refused password does not burn the link


@pytest.mark.parametrize("password", ["Aa1" + "x" * 27, "Gironde#33!Pins"], ids=["30_chars", "with_symbols"])
def test_password_rules_accept(portal_for, smtp_server, password):
    cestas = portal_for(SLUG)
    family(cestas)
    ask_reset(cestas)
    path = reset_link(smtp_server)
    response = cestas.post(path, {"mot_de_passe": password, "confirmation": password})
    assert response.status_code == 303, text_of(response)
    assert cestas.login(IDENTIFIER, password).headers["location"] == "/espace"


# -- CAS N° 2: an account that never updated its password -----------------------------------------------


def test_legacy_account_must_set_a_new_password_at_login(portal_for, smtp_server):
    cestas = portal_for(SLUG)
    account = family(cestas, password=LEGACY)
    cestas.update_account(account.id, needs_security_update=True)

    response = cestas.login("Famille.Dupont", LEGACY)
    assert response.status_code == 303 and response.headers["location"] == "/changement-mot-de-passe"
    assert cestas.client.get("/espace").headers["location"] == "/changement-mot-de-passe"
    page = text_of(cestas.client.get("/changement-mot-de-passe"))
    assert "Afin de sécuriser votre compte, vous devez réinitialiser votre mot de passe." in page
    for item in ("Au minimum 8 caractères alpha-numériques (symboles autorisés, pas d'espace)", "Au maximum 30 caractères", "Pas d'espace"):
        assert item in page

    same = cestas.post("/changement-mot-de-passe", {"mot_de_passe": LEGACY, "confirmation": LEGACY})
    assert same.status_code == 400
    changed = cestas.post("/changement-mot-de-passe", {"mot_de_passe": GOOD, "confirmation": GOOD})
    assert changed.status_code == 303 and changed.headers["location"] == "/espace"
    assert cestas.client.get("/espace").status_code == 200
    assert cestas.account(account.id).needs_security_update is False

    cestas.client.cookies.clear()
    assert cestas.login(IDENTIFIER, LEGACY).status_code == 400
    assert cestas.login(IDENTIFIER, GOOD).headers["location"] == "/espace"
    assert outbox(cestas) == []
