"""Seed 002, Espace pro assmat28 (Eure-et-Loir): the « cryptogramme de sécurité » on the login
form, activation in two steps (6-digit PMI number + birth date, then email + password confirmed
by an emailed link), and the forgotten password sent by email — with the tenant's own
configuration, checked as a user sees it."""

from __future__ import annotations

import re
from datetime import UTC, date, datetime

import pytest
from sqlalchemy import select

from assmat.auth.captcha import DEFAULT_LENGTH, derive_answer
from assmat.core.mail.models import OutboxMail
from assmat.core.security.models import AccountToken
from tests.support.portal import CSRF, text_of

SLUG = "eure-et-loir"
BASE = f"http://{SLUG}.localhost"
CONFIRMATION_LINK = re.compile(re.escape(BASE) + r"(/confirmation-email/[A-Za-z0-9_-]+)")
CAPTCHA_ID = re.compile(r'name="captcha_id" value="([^"]+)"')

PMI_NUMBER = "280417"
BIRTH_DATE = date(1975, 3, 14)
GOOD = "Cathedrale#Beauce28"   # 12 characters minimum, upper, lower, digit
OTHER = "Chartres!Vitrail1194"

WRONG_CAPTCHA = "Le cryptogramme de sécurité saisi est incorrect."
NOT_ACTIVATED = "Ces informations ne permettent pas d'activer un compte. Vérifiez-les ou contactez votre circonscription de PMI."


def body(mail) -> str:
    return mail.get_body(("plain",)).get_content()


def outbox(portal) -> list[tuple[str, str]]:
    return [tuple(row) for row in portal.query(select(OutboxMail.template, OutboxMail.recipient).order_by(OutboxMail.id))]


def tokens_of(portal, account_id: int) -> list[str]:
    return [row.purpose for row in portal.query(select(AccountToken.purpose).where(AccountToken.account_id == account_id))]


def challenge(portal, path: str) -> tuple[str, str, str]:
    """(csrf token, captcha id, page text) of a form with a captcha."""
    page = portal.client.get(path)
    assert page.status_code == 200
    return CSRF.search(page.text).group(1), CAPTCHA_ID.search(page.text).group(1), text_of(page)


def answer_of(portal, captcha_id: str) -> str:
    return derive_answer(portal.app.state.settings.effective_secret_key, SLUG, captcha_id, DEFAULT_LENGTH)


def post_with_captcha(portal, path: str, data: dict[str, str], *, answer: str | None = None, transform=lambda a: a):
    csrf, captcha_id, _page = challenge(portal, path)
    typed = answer if answer is not None else transform(answer_of(portal, captcha_id))
    return portal.client.post(path, data={**data, "csrf_token": csrf, "captcha_id": captcha_id, "captcha": typed})


def login(portal, identifier: str, password: str, **kwargs):
    return post_with_captcha(portal, "/connexion", {"identifiant": identifier, "mot_de_passe": password}, **kwargs)


def active_account(portal, password: str = GOOD, email: str = "claire.petit@example.fr"):
    """An account that went through both activation steps and confirmed its address."""
    account, _ = portal.create_account(PMI_NUMBER, password, email=email, first_name="Claire", last_name="Petit",
                                       birth_date=BIRTH_DATE)
    portal.update_account(account.id, email_confirmed_at=datetime.now(UTC))
    return portal.account(account.id)


def pmi_account(portal):
    """An account from the PMI file: number and birth date, no password, no email yet."""
    account, _ = portal.create_account(PMI_NUMBER, email=None, first_name="Claire", last_name="Petit", birth_date=BIRTH_DATE)
    return account


# -- the cryptogramme on the login form ------------------------------------------------------------


def test_login_page_shows_the_cryptogramme(portal_for):
    eure = portal_for(SLUG)
    assert eure.tenant.config.login.captcha is True
    _csrf, captcha_id, page = challenge(eure, "/connexion")
    assert "Cryptogramme de sécurité" in page
    assert "Recopier le cryptogramme de sécurité" in page
    assert "Recharger le cryptogramme de sécurité" in page
    assert f'src="/captcha/{captcha_id}.png"' in page
    image = eure.client.get(f"/captcha/{captcha_id}.png")
    assert image.status_code == 200 and image.headers["content-type"] == "image/png"


def test_wrong_cryptogramme_is_refused_before_any_password_check(portal_for):
    eure = portal_for(SLUG)
    account = active_account(eure)
    hasher = eure.app.state.hasher
    before = (hasher.verifications, hasher.dummy_verifications)

    for typed in ("", "XXXXX", "2345"):
        response = login(eure, PMI_NUMBER, GOOD, answer=typed)  # the right password, a wrong code
        assert response.status_code == 400
        assert WRONG_CAPTCHA in text_of(response)
        assert "session" not in response.cookies
    missing = eure.client.post("/connexion", data={"identifiant": PMI_NUMBER, "mot_de_passe": GOOD, "csrf_token": eure.csrf()})
    assert missing.status_code == 400 and WRONG_CAPTCHA in text_of(missing)

    assert (hasher.verifications, hasher.dummy_verifications) == before
    assert eure.account(account.id).failed_logins == 0
    assert eure.client.get("/espace").headers["location"].startswith("/connexion")


def test_right_cryptogramme_in_any_case_signs_in(portal_for):
    eure = portal_for(SLUG)
    active_account(eure)
    hasher = eure.app.state.hasher
    before = hasher.verifications
    response = login(eure, PMI_NUMBER, GOOD, transform=lambda a: f" {a.lower()} ")
    assert response.status_code == 303 and response.headers["location"] == "/espace"
    assert hasher.verifications == before + 1
    assert eure.client.get("/espace").status_code == 200


def test_a_cryptogramme_is_single_use(portal_for):
    eure = portal_for(SLUG)
    active_account(eure)
    csrf, captcha_id, _page = challenge(eure, "/connexion")
    right = answer_of(eure, captcha_id)
    wrong = eure.client.post("/connexion", data={
        "csrf_token": csrf, "captcha_id": captcha_id, "captcha": "22222" if right != "22222" else "33333",
        "identifiant": PMI_NUMBER, "mot_de_passe": GOOD,
    })
    assert wrong.status_code == 400
    replay = eure.client.post("/connexion", data={
        "csrf_token": csrf, "captcha_id": captcha_id, "captcha": right, "identifiant": PMI_NUMBER, "mot_de_passe": GOOD,
    })
    assert replay.status_code == 400 and WRONG_CAPTCHA in text_of(replay)


def test_reload_button_gives_a_new_cryptogramme_without_error(portal_for):
    eure = portal_for(SLUG)
    active_account(eure)
    hasher = eure.app.state.hasher
    before = (hasher.verifications, hasher.dummy_verifications)
    csrf, first_id, _page = challenge(eure, "/connexion")
    reloaded = eure.client.post("/connexion", data={
        "csrf_token": csrf, "captcha_id": first_id, "captcha": "", "identifiant": PMI_NUMBER, "mot_de_passe": "",
        "nouveau_captcha": "1",
    })
    assert reloaded.status_code == 200
    page = text_of(reloaded)
    second_id = CAPTCHA_ID.search(reloaded.text).group(1)
    assert second_id != first_id
    assert "ERREUR" not in page and WRONG_CAPTCHA not in page
    assert f'value="{PMI_NUMBER}"' in reloaded.text  # the identifier typed is kept
    assert (hasher.verifications, hasher.dummy_verifications) == before
    # The new code is the one that works.
    response = eure.client.post("/connexion", data={
        "csrf_token": csrf, "captcha_id": second_id, "captcha": answer_of(eure, second_id),
        "identifiant": PMI_NUMBER, "mot_de_passe": GOOD,
    })
    assert response.status_code == 303 and response.headers["location"] == "/espace"


# -- activation in two steps --------------------------------------------------------------------------


def test_activation_in_two_steps_then_email_confirmation(portal_for, smtp_server):
    eure = portal_for(SLUG)
    account = pmi_account(eure)

    assert 'href="/activation"' in eure.client.get("/connexion").text
    step1 = text_of(eure.client.get("/activation"))
    assert 'name="identifiant"' in step1 and 'name="date_naissance"' in step1
    assert 'name="email"' not in step1

    identified = eure.post("/activation", {"identifiant": PMI_NUMBER, "date_naissance": "14/03/1975"})
    assert identified.status_code == 303
    step2_path = identified.headers["location"]
    assert re.fullmatch(r"/activation/[A-Za-z0-9_-]{32,}", step2_path)

    step2 = eure.client.get(step2_path)
    assert step2.status_code == 200 and step2.headers["referrer-policy"] == "no-referrer"
    assert 'name="email"' in step2.text and 'name="mot_de_passe"' in step2.text

    done = eure.post(step2_path, {"email": "Claire.Petit@Example.fr", "mot_de_passe": GOOD, "confirmation": GOOD})
    assert done.status_code == 303 and done.headers["location"] == "/connexion?info=email_confirmation_sent"
    assert "Votre mot de passe est enregistré. Un mail de confirmation vous a été envoyé" in text_of(
        eure.client.get(done.headers["location"])
    )
    (first,) = smtp_server.wait_for(1)
    assert first["To"] == "Claire.Petit@Example.fr"
    assert first["Subject"] == "Confirmation de votre adresse e-mail"
    first_path = CONFIRMATION_LINK.search(body(first)).group(1)
    stored = eure.account(account.id)
    assert stored.email == "Claire.Petit@Example.fr" and stored.email_confirmed_at is None

    # Not before the address is confirmed: the refusal says so and sends a fresh link.
    refused = login(eure, PMI_NUMBER, GOOD)
    assert refused.status_code == 400
    assert "Vous devez d'abord confirmer votre adresse email : un nouveau lien de confirmation vient de vous être envoyé." in text_of(refused)
    assert "session" not in refused.cookies
    mails = smtp_server.wait_for(2)
    assert mails[1]["To"] == "Claire.Petit@Example.fr"
    new_path = CONFIRMATION_LINK.search(body(mails[1])).group(1)
    assert new_path != first_path
    replaced = eure.post(first_path, {}, form_path="/connexion")  # the newer link replaced the first one
    assert replaced.status_code == 400 and "Lien plus valable" in text_of(replaced)
    assert eure.account(account.id).email_confirmed_at is None

    shown = eure.client.get(new_path)
    assert shown.status_code == 200 and "Confirmer cette adresse" in text_of(shown)
    assert eure.account(account.id).email_confirmed_at is None  # a GET applies nothing
    confirmed = eure.post(new_path, {})
    assert confirmed.status_code == 303 and confirmed.headers["location"] == "/connexion?info=email_confirmed"
    assert "Votre adresse email est confirmée. Vous pouvez vous connecter." in text_of(
        eure.client.get(confirmed.headers["location"])
    )
    assert eure.account(account.id).email_confirmed_at is not None

    signed = login(eure, PMI_NUMBER, GOOD)
    assert signed.status_code == 303 and signed.headers["location"] == "/espace"
    assert eure.client.get("/espace").status_code == 200
    # The step-2 link was single use.
    assert eure.client.get(step2_path).status_code == 400


def test_activation_step2_refuses_a_weak_password_and_a_missing_email(portal_for, smtp_server):
    eure = portal_for(SLUG)
    account = pmi_account(eure)
    step2_path = eure.post("/activation", {"identifiant": PMI_NUMBER, "date_naissance": "14/03/1975"}).headers["location"]
    no_email = eure.post(step2_path, {"email": "", "mot_de_passe": GOOD, "confirmation": GOOD})
    assert no_email.status_code == 400 and "Veuillez saisir une adresse email valide." in text_of(no_email)
    short = eure.post(step2_path, {"email": "claire@example.fr", "mot_de_passe": "Court#Mdp1", "confirmation": "Court#Mdp1"})
    assert short.status_code == 400
    min_length = eure.tenant.config.password_policy.min_length
    assert f"Le mot de passe doit contenir au moins {min_length} caractères." in text_of(short)
    assert eure.account(account.id).password_hash is None
    assert outbox(eure) == []


def test_activation_with_a_wrong_birth_date_is_refused(portal_for):
    eure = portal_for(SLUG)
    account = pmi_account(eure)
    wrong = eure.post("/activation", {"identifiant": PMI_NUMBER, "date_naissance": "15/03/1975"})
    assert wrong.status_code == 400
    assert NOT_ACTIVATED in text_of(wrong)
    unknown = eure.post("/activation", {"identifiant": "289999", "date_naissance": "14/03/1975"})
    assert unknown.status_code == 400 and NOT_ACTIVATED in text_of(unknown)
    assert tokens_of(eure, account.id) == []
    assert eure.account(account.id).password_hash is None


@pytest.mark.parametrize("typed", ["32/13/2020", "abc", "14-03-1975", "31/02/1975"])
def test_activation_with_a_malformed_birth_date_gets_a_french_message(portal_for, typed):
    eure = portal_for(SLUG)
    account = pmi_account(eure)
    response = eure.post("/activation", {"identifiant": PMI_NUMBER, "date_naissance": typed})
    assert response.status_code == 400
    assert "La date de naissance doit être saisie au format JJ/MM/AAAA." in text_of(response)
    assert tokens_of(eure, account.id) == []


def test_birth_date_guessing_is_throttled_per_identifier(portal_for, frozen_clock):
    eure = portal_for(SLUG)
    account = pmi_account(eure)
    for day, identifier in zip(range(1, 6), ["280417", " 280417", "280417 ", "２８０４１７", "280417"]):
        response = eure.post("/activation", {"identifiant": identifier, "date_naissance": f"{day:02d}/01/1975"})
        assert response.status_code == 400
    sixth = eure.post("/activation", {"identifiant": PMI_NUMBER, "date_naissance": "14/03/1975"})  # right, too late
    assert sixth.status_code == 429
    assert "Trop de tentatives pour cet identifiant. Veuillez réessayer dans une heure." in text_of(sixth)
    assert tokens_of(eure, account.id) == []

    frozen_clock.advance(hours=1)
    later = eure.post("/activation", {"identifiant": PMI_NUMBER, "date_naissance": "14/03/1975"})
    assert later.status_code == 303 and later.headers["location"].startswith("/activation/")


# -- forgotten password: a new one by email ------------------------------------------------------------


def test_forgot_password_by_email_sends_a_temporary_password_then_forces_a_change(portal_for, smtp_server):
    eure = portal_for(SLUG)
    account = active_account(eure, email="Claire.Petit@Example.fr")
    _csrf, _id, form = challenge(eure, "/mot-de-passe-oublie")
    assert 'name="email"' in form and 'name="identifiant"' not in form  # identify_by: [email]
    assert "Recopier le cryptogramme de sécurité" in form  # password_reset.captcha

    response = post_with_captcha(eure, "/mot-de-passe-oublie", {"email": "  claire.petit@example.FR "})
    assert response.status_code == 303 and response.headers["location"] == "/connexion?info=reset_sent"
    assert eure.tenant.config.messages["reset.sent_temporary_password"] in text_of(eure.client.get(response.headers["location"]))

    (mail,) = smtp_server.wait_for(1)
    assert mail["To"] == "Claire.Petit@Example.fr"
    assert mail["Subject"] == "Demande de modification de mot de passe"
    text = body(mail)
    temporary = re.search(r"Votre nouveau mot de passe est : (\S+)", text).group(1)
    hours = int(eure.tenant.config.password_reset.effective_temporary_password_ttl.total_seconds() // 3600)
    assert f"il est valable pendant {hours}H" in text

    # The request changed nothing by itself: the current password still works.
    assert eure.account(account.id).password_hash == account.password_hash
    used = login(eure, PMI_NUMBER, temporary)
    assert used.status_code == 303 and used.headers["location"] == "/changement-mot-de-passe"
    assert eure.client.get("/espace").headers["location"] == "/changement-mot-de-passe"
    reuse = eure.post("/changement-mot-de-passe", {"mot_de_passe": temporary, "confirmation": temporary})
    assert reuse.status_code == 400
    changed = eure.post("/changement-mot-de-passe", {"mot_de_passe": OTHER, "confirmation": OTHER})
    assert changed.status_code == 303 and changed.headers["location"] == "/espace"
    assert eure.client.get("/espace").status_code == 200

    eure.client.cookies.clear()
    assert login(eure, PMI_NUMBER, temporary).status_code == 400
    assert login(eure, PMI_NUMBER, GOOD).status_code == 400
    assert login(eure, PMI_NUMBER, OTHER).headers["location"] == "/espace"


def test_forgot_password_with_an_unknown_email_gets_the_same_answer_and_no_mail(portal_for, smtp_server):
    eure = portal_for(SLUG)
    active_account(eure, email="claire.petit@example.fr")
    unknown = post_with_captcha(eure, "/mot-de-passe-oublie", {"email": "personne@example.fr"})
    known = post_with_captcha(eure, "/mot-de-passe-oublie", {"email": "claire.petit@example.fr"})
    assert (unknown.status_code, unknown.headers["location"]) == (known.status_code, known.headers["location"]) == (
        303, "/connexion?info=reset_sent",
    )
    (mail,) = smtp_server.wait_for(1)
    assert mail["To"] == "claire.petit@example.fr"
    assert [recipient for _template, recipient in outbox(eure)] == ["claire.petit@example.fr"]


def test_forgot_password_with_a_wrong_cryptogramme_sends_nothing(portal_for, smtp_server):
    eure = portal_for(SLUG)
    active_account(eure, email="claire.petit@example.fr")
    response = post_with_captcha(eure, "/mot-de-passe-oublie", {"email": "claire.petit@example.fr"}, answer="XXXXX")
    assert response.status_code == 400 and WRONG_CAPTCHA in text_of(response)
    assert 'value="claire.petit@example.fr"' in response.text  # what was typed is kept
    assert outbox(eure) == []
