"""Seed 001, Extranet AssMat (Alpes-Maritimes): first login with the identifier only (identity
check → emailed link), first login with a temporary password, the password policy, « Mon
compte » (password and email changes) and the inactivity logout — with the tenant's own
configuration, checked as a user sees it: statuses, redirects, French text, emails received at
the SMTP server, database state."""

from __future__ import annotations

import re
from collections.abc import Iterator
from contextlib import contextmanager
from datetime import date
from urllib.parse import parse_qs, urlsplit

import pytest
from sqlalchemy import select

from assmat.core.mail.models import OutboxMail
from assmat.core.security.models import AccountToken
from tests.support.portal import text_of

SLUG = "alpes-maritimes"
BASE = f"http://{SLUG}.localhost"
ACTIVATION_LINK = re.compile(re.escape(BASE) + r"(/activation/[A-Za-z0-9_-]+)")
CONFIRMATION_LINK = re.compile(re.escape(BASE) + r"(/confirmation-email/[A-Za-z0-9_-]+)")

IDENTIFIER = "06-AM-0117"
IDENTITY = {"last_name": "Lefèvre", "first_name": "Hélène-Marie", "birth_date": date(1990, 2, 2)}
GOOD = "Mimosa#Corniche7"
OTHER = "Esterel*Baie48"

GENERIC_ACTIVATION = "Si les informations correspondent à un compte, un email contenant un lien pour définir votre mot de passe a été envoyé à l'adresse indiquée."


def body(mail) -> str:
    return mail.get_body(("plain",)).get_content()


def outbox(portal) -> list[tuple[str, str]]:
    """Every email the app queued (delivered or not): (template, recipient)."""
    return [tuple(row) for row in portal.query(select(OutboxMail.template, OutboxMail.recipient).order_by(OutboxMail.id))]


def identity_form(**overrides: str) -> dict[str, str]:
    form = {
        "identifiant": IDENTIFIER,
        "nom": "Lefèvre",
        "prenom": "Hélène-Marie",
        "date_naissance": "02/02/1990",
        "email": "helene.lefevre@example.org",
    }
    form.update(overrides)
    return form


def new_letter_account(portal, email: str | None = None):
    """An account as imported from the agrément file: no password yet."""
    account, _ = portal.create_account(IDENTIFIER, email=email, **IDENTITY)
    assert account.password_hash is None
    return account


def signed_in_account(portal, email: str = "helene.lefevre@example.org"):
    account, _ = portal.create_account(IDENTIFIER, GOOD, email=email, **IDENTITY)
    response = portal.login(IDENTIFIER, GOOD)
    assert response.status_code == 303 and response.headers["location"] == "/espace"
    return account


def copy_cookies(portal, cookies=None):
    """A detached copy of a cookie jar (the test client's own Cookies class)."""
    jar = type(portal.client.cookies)
    return jar(portal.client.cookies if cookies is None else cookies)


def another_browser_signs_in(portal, password: str = GOOD):
    """The same person signed in from a second browser: that browser's cookies (the first
    browser's are left in place). One client, one event loop: a second TestClient would run the
    app's lifespan a second time."""
    first = copy_cookies(portal)
    portal.client.cookies.clear()
    response = portal.login(IDENTIFIER, password)
    assert response.status_code == 303
    second = copy_cookies(portal)
    portal.client.cookies = first
    return second


@contextmanager
def browser(portal, cookies) -> Iterator[None]:
    """Send the requests of the block with another browser's cookies."""
    saved = copy_cookies(portal)
    portal.client.cookies = cookies
    try:
        yield
    finally:
        portal.client.cookies = saved


# -- §1.2.2 first login with the identifier only ----------------------------------------------------


def test_first_login_with_identifier_only_activates_through_the_emailed_link(portal_for, smtp_server):
    am = portal_for(SLUG)
    account = new_letter_account(am)

    login_page = text_of(am.client.get("/connexion"))
    assert "PREMIÈRE CONNEXION OU MOT DE PASSE OUBLIÉ ?" in login_page and 'href="/activation"' in login_page
    form_page = text_of(am.client.get("/activation"))
    for name in ("identifiant", "nom", "prenom", "date_naissance", "email"):
        assert f'name="{name}"' in form_page
    assert "JJ/MM/AAAA" in form_page

    response = am.post("/activation", identity_form(identifiant="06-am-0117"))
    assert response.status_code == 303 and response.headers["location"] == "/connexion?info=activation_sent"
    assert GENERIC_ACTIVATION in text_of(am.client.get(response.headers["location"]))

    (mail,) = smtp_server.wait_for(1)
    assert mail["To"] == "helene.lefevre@example.org"
    assert mail["Subject"] == "Activation de votre compte"
    text = body(mail)
    assert "Bonjour Hélène-Marie Lefèvre," in text
    hours = int(am.tenant.config.activation.link_ttl.total_seconds() // 3600)
    assert f"ce lien est valable pendant {hours}H" in text
    link = ACTIVATION_LINK.search(text)
    assert link, text
    path = link.group(1)

    form = am.client.get(path)
    assert form.status_code == 200
    assert form.headers["referrer-policy"] == "no-referrer"
    assert "Changement de mot de passe" in text_of(form)  # the seed's title (§1.2.2)
    assert am.account(account.id).password_hash is None  # opening the link changes nothing

    done = am.post(path, {"mot_de_passe": GOOD, "confirmation": GOOD})
    assert done.status_code == 303 and done.headers["location"] == "/connexion?info=activation_done"
    assert "Votre compte est activé. Connectez-vous avec votre identifiant et votre nouveau mot de passe." in text_of(
        am.client.get(done.headers["location"])
    )
    stored = am.account(account.id)
    assert stored.email == "helene.lefevre@example.org"
    assert stored.activated_at is not None and stored.email_confirmed_at is not None

    logged = am.login(IDENTIFIER, GOOD)
    assert logged.status_code == 303 and logged.headers["location"] == "/espace"
    dashboard = am.client.get("/espace")
    assert dashboard.status_code == 200 and "Hélène-Marie" in text_of(dashboard)

    # The link was single use.
    again = am.client.get(path)
    assert again.status_code == 400 and "Lien plus valable" in text_of(again)
    assert len(smtp_server.messages) == 1


def test_identity_check_tolerates_accents_case_and_spaces_in_names(portal_for, smtp_server):
    am = portal_for(SLUG)
    new_letter_account(am)
    response = am.post("/activation", identity_form(
        identifiant=" 06-am-0117 ", nom="LEFEVRE", prenom="helene marie", email="Helene.Lefevre@Example.org",
    ))
    assert response.status_code == 303 and response.headers["location"] == "/connexion?info=activation_sent"
    (mail,) = smtp_server.wait_for(1)
    assert ACTIVATION_LINK.search(body(mail))


@pytest.mark.parametrize("wrong", [
    {"nom": "Lefebvre"},
    {"prenom": "Hélène"},
    {"date_naissance": "03/02/1990"},
    {"email": "quelqu.un@example.org"},
    {"identifiant": "06-AM-9999"},
], ids=["nom", "prenom", "date_naissance", "email", "identifiant_inconnu"])
def test_wrong_identity_gets_the_same_generic_answer_and_no_email(portal_for, smtp_server, frozen_clock, wrong):
    am = portal_for(SLUG)
    # The account already carries an address (from the agrément file): the one typed must match it.
    account = new_letter_account(am, email="helene.lefevre@example.org")

    refused = am.post("/activation", identity_form(**wrong))
    assert refused.status_code == 303 and refused.headers["location"] == "/connexion?info=activation_sent"
    refused_page = text_of(am.client.get(refused.headers["location"]))
    assert GENERIC_ACTIVATION in refused_page
    assert outbox(am) == []
    assert am.query(select(AccountToken.id).where(AccountToken.account_id == account.id)) == []

    # The same form with the right details: the very same answer, and this time the email.
    accepted = am.post("/activation", identity_form())
    assert (accepted.status_code, accepted.headers["location"]) == (refused.status_code, refused.headers["location"])
    (mail,) = smtp_server.wait_for(1)
    assert mail["To"] == "helene.lefevre@example.org"
    assert len(smtp_server.messages) == 1


def test_already_activated_account_gets_the_generic_answer_and_no_email(portal_for, smtp_server):
    am = portal_for(SLUG)
    am.create_account(IDENTIFIER, GOOD, email="helene.lefevre@example.org", **IDENTITY)
    response = am.post("/activation", identity_form())
    assert response.status_code == 303 and response.headers["location"] == "/connexion?info=activation_sent"
    assert outbox(am) == []
    assert am.login(IDENTIFIER, GOOD).status_code == 303  # the password in place still works


def test_activation_is_throttled_per_identifier(portal_for, smtp_server, frozen_clock):
    am = portal_for(SLUG)
    new_letter_account(am)
    variants = ["06-AM-0117", "06-am-0117", " 06-AM-0117", "06-AM-0117 ", "06-Am-0117"]
    for identifier in variants:  # five wrong tries, identifier written five ways: one counter
        response = am.post("/activation", identity_form(identifiant=identifier, date_naissance="01/01/1990"))
        assert response.status_code == 303
    sixth = am.post("/activation", identity_form())  # right details, but too late
    assert sixth.status_code == 429
    assert "Trop de tentatives pour cet identifiant. Veuillez réessayer dans une heure." in text_of(sixth)
    assert outbox(am) == []

    frozen_clock.advance(hours=1)
    later = am.post("/activation", identity_form())
    assert later.status_code == 303
    (mail,) = smtp_server.wait_for(1)
    assert ACTIVATION_LINK.search(body(mail))


def test_activation_link_expires_after_its_ttl(portal_for, smtp_server, frozen_clock):
    am = portal_for(SLUG)
    account = new_letter_account(am)
    am.post("/activation", identity_form())
    (mail,) = smtp_server.wait_for(1)
    path = ACTIVATION_LINK.search(body(mail)).group(1)
    ttl = am.tenant.config.activation.link_ttl
    frozen_clock.advance(seconds=ttl.total_seconds() - 60)
    assert am.client.get(path).status_code == 200
    frozen_clock.advance(seconds=61)
    expired = am.client.get(path)
    assert expired.status_code == 400 and "Lien plus valable" in text_of(expired)
    assert expired.headers["referrer-policy"] == "no-referrer"
    assert am.account(account.id).password_hash is None


def test_a_new_activation_request_replaces_the_older_link(portal_for, smtp_server):
    am = portal_for(SLUG)
    new_letter_account(am)
    am.post("/activation", identity_form())
    older = ACTIVATION_LINK.search(body(smtp_server.wait_for(1)[0])).group(1)
    am.post("/activation", identity_form())
    newer = ACTIVATION_LINK.search(body(smtp_server.wait_for(2)[1])).group(1)
    assert older != newer
    assert am.client.get(older).status_code == 400
    assert am.post(newer, {"mot_de_passe": GOOD, "confirmation": GOOD}).status_code == 303


def test_activation_with_a_malformed_birth_date_is_refused_with_a_french_message(portal_for):
    am = portal_for(SLUG)
    new_letter_account(am)
    response = am.post("/activation", identity_form(date_naissance="1990-31-02"))
    assert response.status_code == 400
    assert "La date de naissance doit être saisie au format JJ/MM/AAAA." in text_of(response)
    assert outbox(am) == []


# -- §1.2.1 first login with identifier and temporary password, and the policy ------------------------


def test_first_login_with_temporary_password_forces_a_change(portal_for, smtp_server):
    am = portal_for(SLUG)
    account, temporary = am.create_account(IDENTIFIER, temporary=True, email="helene.lefevre@example.org", **IDENTITY)
    response = am.login("06-am-0117", temporary)
    assert response.status_code == 303 and response.headers["location"] == "/changement-mot-de-passe"
    assert am.client.get("/espace").headers["location"] == "/changement-mot-de-passe"

    page = text_of(am.client.get("/changement-mot-de-passe"))
    assert "Il s'agit de votre première connexion. Vous devez changer votre mot de passe." in page
    # "8 caractères au minimum dont 1 minuscule, 1 majuscule et 1 chiffre"
    for rule in ("8 caractères minimum", "1 minuscule minimum", "1 majuscule minimum", "1 chiffre minimum"):
        assert rule in page

    changed = am.post("/changement-mot-de-passe", {"mot_de_passe": GOOD, "confirmation": GOOD})
    assert changed.status_code == 303 and changed.headers["location"] == "/espace"
    assert am.client.get("/espace").status_code == 200
    assert am.account(account.id).must_change_password is False

    am.client.cookies.clear()
    assert am.login(IDENTIFIER, temporary).status_code == 400  # single use
    assert am.login(IDENTIFIER, GOOD).headers["location"] == "/espace"
    assert outbox(am) == []


@pytest.mark.parametrize(("password", "messages"), [
    ("abc", [
        "Le mot de passe doit contenir au moins 8 caractères.",
        "Le mot de passe doit contenir au moins 1 majuscule.",
        "Le mot de passe doit contenir au moins 1 chiffre.",
    ]),
    ("corniche#bleue7", ["Le mot de passe doit contenir au moins 1 majuscule."]),
    ("CORNICHE#BLEUE7", ["Le mot de passe doit contenir au moins 1 minuscule."]),
    ("Corniche#Bleue", ["Le mot de passe doit contenir au moins 1 chiffre."]),
    ("Corn#7e", ["Le mot de passe doit contenir au moins 8 caractères."]),
], ids=["weak", "no_upper", "no_lower", "no_digit", "too_short"])
def test_password_not_compliant_with_the_policy_is_refused_with_french_messages(portal_for, password, messages):
    am = portal_for(SLUG)
    account, temporary = am.create_account(IDENTIFIER, temporary=True, **IDENTITY)
    am.login(IDENTIFIER, temporary)
    response = am.post("/changement-mot-de-passe", {"mot_de_passe": password, "confirmation": password})
    assert response.status_code == 400
    page = text_of(response)
    assert "ERREUR :" in page
    for message in messages:
        assert message in page
    stored = am.account(account.id)
    assert stored.password_hash is None and stored.must_change_password is True


def test_confirmation_mismatch_is_refused(portal_for):
    am = portal_for(SLUG)
    account, temporary = am.create_account(IDENTIFIER, temporary=True, **IDENTITY)
    am.login(IDENTIFIER, temporary)
    response = am.post("/changement-mot-de-passe", {"mot_de_passe": GOOD, "confirmation": OTHER})
    assert response.status_code == 400
    assert "Le mot de passe n'est pas identique à la vérification." in text_of(response)
    assert am.account(account.id).password_hash is None


def test_activation_link_refuses_a_non_compliant_password_and_a_mismatch(portal_for, smtp_server):
    am = portal_for(SLUG)
    account = new_letter_account(am)
    am.post("/activation", identity_form())
    (mail,) = smtp_server.wait_for(1)
    path = ACTIVATION_LINK.search(body(mail)).group(1)
    weak = am.post(path, {"mot_de_passe": "motdepasse", "confirmation": "motdepasse"})
    assert weak.status_code == 400 and weak.headers["referrer-policy"] == "no-referrer"
    assert "Le mot de passe doit contenir au moins 1 majuscule." in text_of(weak)
    mismatch = am.post(path, {"mot_de_passe": GOOD, "confirmation": OTHER})
    assert mismatch.status_code == 400
    assert "Le mot de passe n'est pas identique à la vérification." in text_of(mismatch)
    assert am.account(account.id).password_hash is None
    # Failed attempts do not burn the link.
    assert am.post(path, {"mot_de_passe": GOOD, "confirmation": GOOD}).status_code == 303


# -- §2.5.1 Mon compte: change the password ------------------------------------------------------------


def test_changing_the_password_signs_out_every_session(portal_for, smtp_server):
    am = portal_for(SLUG)
    account = signed_in_account(am)
    other_browser = another_browser_signs_in(am)
    with browser(am, other_browser):
        assert am.client.get("/espace").status_code == 200

    form = text_of(am.client.get("/espace/compte/mot-de-passe"))
    for name in ("mot_de_passe_actuel", "mot_de_passe", "confirmation"):
        assert f'name="{name}"' in form
    changed = am.post("/espace/compte/mot-de-passe", {"mot_de_passe_actuel": GOOD, "mot_de_passe": OTHER, "confirmation": OTHER})
    assert changed.status_code == 303 and changed.headers["location"] == "/connexion?info=password_changed"
    assert "Votre mot de passe a été modifié. Connectez-vous avec votre nouveau mot de passe." in text_of(
        am.client.get(changed.headers["location"])
    )

    signed_out = am.client.get("/espace")
    assert signed_out.status_code == 303 and signed_out.headers["location"].startswith("/connexion")
    with browser(am, other_browser):
        ended = am.client.get("/espace")
    assert ended.status_code == 303 and ended.headers["location"].startswith("/connexion")
    assert "info=session_expired" in ended.headers["location"]

    am.client.cookies.clear()
    old = am.login(IDENTIFIER, GOOD)
    assert old.status_code == 400 and "Echec de l'authentification." in text_of(old)
    assert am.login(IDENTIFIER, OTHER).headers["location"] == "/espace"


def test_wrong_current_password_is_refused_and_counts_toward_the_lockout(portal_for, smtp_server):
    am = portal_for(SLUG)
    account = signed_in_account(am)
    wrong = am.post("/espace/compte/mot-de-passe", {"mot_de_passe_actuel": "Pas-Le-Bon-1", "mot_de_passe": OTHER, "confirmation": OTHER})
    assert wrong.status_code == 400
    assert "Le mot de passe actuel est incorrect." in text_of(wrong)
    assert am.account(account.id).failed_logins == 1

    max_failures = am.tenant.config.lockout.max_failures
    for _ in range(max_failures - 1):
        response = am.post(
            "/espace/compte/mot-de-passe", {"mot_de_passe_actuel": "Pas-Le-Bon-1", "mot_de_passe": OTHER, "confirmation": OTHER}
        )
        assert response.status_code == 400
    stored = am.account(account.id)
    assert stored.locked_at is not None
    assert stored.password_hash == account.password_hash  # nothing changed

    # The lock ended the session and refuses the right password, without saying why.
    gone = am.client.get("/espace")
    assert gone.status_code == 303 and gone.headers["location"].startswith("/connexion")
    am.client.cookies.clear()
    locked = am.login(IDENTIFIER, GOOD)
    assert locked.status_code == 400 and "Echec de l'authentification." in text_of(locked)
    (notice,) = smtp_server.wait_for(1)
    assert notice["To"] == "helene.lefevre@example.org"


# -- §2.5.2 Mon compte: change the email address ---------------------------------------------------------


def test_changing_the_email_needs_the_password_and_a_click_from_the_new_address(portal_for, smtp_server):
    am = portal_for(SLUG)
    account = signed_in_account(am, email="helene.lefevre@example.org")
    page = text_of(am.client.get("/espace/compte/email"))
    assert "helene.lefevre@example.org" in page  # the current address is shown

    missing = am.post("/espace/compte/email", {"email": "nouvelle.adresse@example.net", "mot_de_passe_actuel": ""})
    assert missing.status_code == 400 and "Le mot de passe actuel est incorrect." in text_of(missing)
    wrong = am.post("/espace/compte/email", {"email": "nouvelle.adresse@example.net", "mot_de_passe_actuel": OTHER})
    assert wrong.status_code == 400 and "Le mot de passe actuel est incorrect." in text_of(wrong)
    assert outbox(am) == []

    asked = am.post("/espace/compte/email", {"email": "nouvelle.adresse@example.net", "mot_de_passe_actuel": GOOD})
    assert asked.status_code == 303 and asked.headers["location"] == "/espace/compte/email?info=email_change_sent"
    assert "Un lien de confirmation a été envoyé à la nouvelle adresse." in text_of(am.client.get(asked.headers["location"]))
    (confirmation,) = smtp_server.wait_for(1)
    assert confirmation["To"] == "nouvelle.adresse@example.net"
    assert confirmation["Subject"] == "Confirmation de votre nouvelle adresse e-mail"
    path = CONFIRMATION_LINK.search(body(confirmation)).group(1)
    assert am.account(account.id).email == "helene.lefevre@example.org"  # not before the click

    shown = am.client.get(path)
    assert shown.status_code == 200 and shown.headers["referrer-policy"] == "no-referrer"
    assert "Confirmer cette adresse" in text_of(shown)
    assert am.account(account.id).email == "helene.lefevre@example.org"  # a GET (mail scanner) applies nothing

    applied = am.post(path, {})
    assert applied.status_code == 303 and applied.headers["location"] == "/espace/compte/email?info=email_changed"
    assert "Votre adresse email a été mise à jour." in text_of(am.client.get(applied.headers["location"]))
    stored = am.account(account.id)
    assert stored.email == "nouvelle.adresse@example.net" and stored.email_key == "nouvelle.adresse@example.net"

    mails = smtp_server.wait_for(2)
    assert len(mails) == 2
    notice = mails[1]
    assert notice["To"] == "helene.lefevre@example.org"
    assert notice["Subject"] == "Modification de votre adresse e-mail"
    text = body(notice)
    assert "n***@example.net" in text
    assert "nouvelle.adresse@example.net" not in text

    # The link was single use.
    reused = am.post(path, {}, form_path="/espace/compte/email")  # signed in: any page of the space has the token
    assert reused.status_code == 400 and "Lien plus valable" in text_of(reused)
    assert am.account(account.id).email == "nouvelle.adresse@example.net"


def test_a_password_change_kills_a_pending_email_change_link(portal_for, smtp_server):
    """Someone who knew the password asks to move the account to their own address; the owner
    changes the password: the pending link must die with it, or it hands the account (and every
    future reset email) to the other person."""
    am = portal_for(SLUG)
    account = signed_in_account(am)
    asked = am.post("/espace/compte/email", {"email": "intrus@example.net", "mot_de_passe_actuel": GOOD})
    assert asked.status_code == 303
    (confirmation,) = smtp_server.wait_for(1)
    path = CONFIRMATION_LINK.search(body(confirmation)).group(1)

    owner = another_browser_signs_in(am)
    with browser(am, owner):
        changed = am.post("/espace/compte/mot-de-passe", {"mot_de_passe_actuel": GOOD, "mot_de_passe": OTHER, "confirmation": OTHER})
    assert changed.status_code == 303

    with browser(am, copy_cookies(am, {})):  # the link opened anywhere, signed in or not
        late = am.post(path, {}, form_path="/connexion")  # the link is dead: its page has no form
    assert late.status_code == 400 and "Lien plus valable" in text_of(late)
    assert am.account(account.id).email == "helene.lefevre@example.org"


def test_a_used_email_confirmation_link_says_so_when_opened_again(portal_for, smtp_server):
    am = portal_for(SLUG)
    signed_in_account(am)
    am.post("/espace/compte/email", {"email": "nouvelle.adresse@example.net", "mot_de_passe_actuel": GOOD})
    (confirmation,) = smtp_server.wait_for(1)
    path = CONFIRMATION_LINK.search(body(confirmation)).group(1)
    assert am.post(path, {}).status_code == 303
    # Like the reset and activation links: a dead link shows « Lien plus valable », not a button
    # that can only fail.
    reopened = am.client.get(path)
    assert reopened.status_code == 400
    assert "Lien plus valable" in text_of(reopened)
    assert reopened.headers["referrer-policy"] == "no-referrer"


# -- §2.6 inactivity ---------------------------------------------------------------------------------------


def test_inactive_user_is_signed_out_after_the_idle_timeout(portal_for, frozen_clock):
    am = portal_for(SLUG)
    signed_in_account(am)
    idle = am.tenant.config.session.idle_timeout
    frozen_clock.advance(seconds=idle.total_seconds() - 60)
    assert am.client.get("/espace").status_code == 200  # still there; this visit counts as activity

    frozen_clock.advance(seconds=idle.total_seconds() + 1)
    expired = am.client.get("/espace")
    assert expired.status_code == 303
    location = urlsplit(expired.headers["location"])
    assert location.path == "/connexion"
    assert parse_qs(location.query) == {"info": ["session_expired"], "next": ["/espace"]}
    assert "Votre session a expiré. Veuillez vous reconnecter." in text_of(am.client.get(expired.headers["location"]))


def test_an_active_session_still_ends_at_the_absolute_timeout(portal_for, frozen_clock):
    am = portal_for(SLUG)
    signed_in_account(am)
    session = am.tenant.config.session
    step = session.idle_timeout.total_seconds() - 60
    elapsed = 0.0
    while elapsed + step < session.absolute_timeout.total_seconds():
        frozen_clock.advance(seconds=step)
        elapsed += step
        assert am.client.get("/espace").status_code == 200
    frozen_clock.advance(seconds=session.absolute_timeout.total_seconds() - elapsed + 1)
    ended = am.client.get("/espace")
    assert ended.status_code == 303 and "info=session_expired" in ended.headers["location"]
