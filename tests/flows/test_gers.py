"""Seed 000, Webasma (Gers): letter, first login, terms, lockout quirk, emailed temporary
passwords, explicit messages, contact form — each with the Gers' own configuration."""

from __future__ import annotations

import re

from sqlalchemy import select

from assmat.core.security.models import AuditEvent
from assmat.portal.contact.models import ContactMessage
from tests.support.portal import text_of

GOOD = "Lune#Soleil42"
OTHER = "Etoile&Mer58"


def test_gers_letter_first_login_then_new_password_then_terms(portal_for, smtp_server):
    gers = portal_for("gers")
    account, temporary = gers.create_account("AGR-2026-0001", temporary=True, accepted_terms=False)
    response = gers.login("agr-2026-0001", temporary)
    assert response.status_code == 303 and response.headers["location"] == "/changement-mot-de-passe"
    page = text_of(gers.client.get("/changement-mot-de-passe"))
    assert "Il s'agit de votre première connexion. Vous devez changer votre mot de passe." in page
    assert "1 caractère spécial minimum dans la liste suivante" in page
    assert gers.client.get("/espace").headers["location"] == "/changement-mot-de-passe"

    weak = gers.post("/changement-mot-de-passe", {"mot_de_passe": "abc", "confirmation": "abc"})
    assert weak.status_code == 400
    reuse = gers.post("/changement-mot-de-passe", {"mot_de_passe": temporary, "confirmation": temporary})
    assert reuse.status_code == 400 and "provisoire ne peut pas devenir" in text_of(reuse)
    mismatch = gers.post("/changement-mot-de-passe", {"mot_de_passe": GOOD, "confirmation": OTHER})
    assert mismatch.status_code == 400 and "n'est pas identique" in text_of(mismatch)

    changed = gers.post("/changement-mot-de-passe", {"mot_de_passe": GOOD, "confirmation": GOOD})
    assert changed.status_code == 303 and changed.headers["location"] == "/conditions"
    terms_page = text_of(gers.client.get("/conditions"))
    assert "Article 1" in terms_page
    refused = gers.post("/conditions", {})
    assert refused.status_code == 400
    accepted = gers.post("/conditions", {"accepter": "1"})
    assert accepted.status_code == 303 and accepted.headers["location"] == "/espace"
    assert gers.client.get("/espace").status_code == 200
    assert gers.account(account.id).terms_version == gers.tenant.terms_version
    # The temporary password was single use.
    gers.client.cookies.clear()
    assert gers.login("AGR-2026-0001", temporary).status_code == 400
    assert gers.login("AGR-2026-0001", GOOD).status_code == 303
    assert smtp_server.messages == []


def test_gers_a_new_version_of_the_terms_is_asked_again(portal_for):
    gers = portal_for("gers")
    account, _ = gers.create_account("AGR-2026-0002", GOOD, accepted_terms=False)
    gers.update_account(account.id, terms_version="an-older-version")
    assert gers.login("AGR-2026-0002", GOOD).headers["location"] == "/conditions"


def test_gers_three_failures_lock_even_with_a_correct_password_between(portal_for, smtp_server):
    gers = portal_for("gers")
    account, _ = gers.create_account("AGR-2026-0003", GOOD, email="assmat@example.org")
    for password in ("faux-1", "faux-2"):
        response = gers.login("AGR-2026-0003", password)
        assert response.status_code == 400 and "Echec de l'authentification." in text_of(response)
    assert gers.login("AGR-2026-0003", GOOD).status_code == 303  # the counter is NOT reset
    gers.client.cookies.clear()
    third = gers.login("AGR-2026-0003", "faux-3")
    assert third.status_code == 400
    assert "Votre compte est bloqué, veuillez contacter l'administrateur ou votre référent" in text_of(third)
    locked = gers.login("AGR-2026-0003", GOOD)
    assert locked.status_code == 400 and "Votre compte est bloqué" in text_of(locked)
    assert gers.account(account.id).locked_until is None  # permanent: an admin unlocks

    mails = smtp_server.wait_for(2)
    by_recipient = {m["To"]: m for m in mails}
    user_mail = by_recipient["assmat@example.org"]
    assert user_mail["Subject"] == "Webasma - Compte bloqué"
    assert "Cet e-mail a été envoyé car votre compte a été bloqué." in user_mail.get_body(("plain",)).get_content()
    assert "pmi@gers.fr" in by_recipient or any("gers.fr" in to for to in by_recipient)
    assert len(mails) == 2


def test_gers_forgot_password_emails_a_temporary_password(portal_for, smtp_server):
    gers = portal_for("gers")
    account, _ = gers.create_account("AGR-2026-0004", GOOD, email="Anne.Martin@Example.org")
    response = gers.post("/mot-de-passe-oublie", {"identifiant": "agr-2026-0004", "email": "anne.martin@example.org"})
    assert response.status_code == 303 and response.headers["location"] == "/connexion?info=reset_sent"
    assert "Un nouveau mot de passe vient de vous être communiqué par mail" in text_of(gers.client.get(response.headers["location"]))
    (mail,) = smtp_server.wait_for(1)
    assert mail["To"] == "Anne.Martin@Example.org"  # the stored address, as stored
    assert mail["Subject"] == "Demande de modification de mot de passe"
    body = mail.get_body(("plain",)).get_content()
    temporary = re.search(r"Votre nouveau mot de passe est : (\S+)", body).group(1)
    # The request changed nothing: the old password still works until the new one is used.
    assert gers.login("AGR-2026-0004", GOOD).status_code == 303
    gers.client.cookies.clear()
    used = gers.login("AGR-2026-0004", temporary)
    assert used.status_code == 303 and used.headers["location"] == "/changement-mot-de-passe"


def test_gers_unknown_identifier_gets_the_explicit_seed_message(portal_for, smtp_server):
    gers = portal_for("gers")
    response = gers.post("/mot-de-passe-oublie", {"identifiant": "AGR-0000-9999", "email": "x@example.org"})
    assert response.status_code == 400
    assert "L'identifiant indiqué ne correspond à aucun compte, merci de contacter votre service PMI" in text_of(response)
    assert smtp_server.messages == []


def test_gers_email_mismatch_gets_the_explicit_seed_message(portal_for, smtp_server):
    gers = portal_for("gers")
    gers.create_account("AGR-2026-0005", GOOD, email="vraie@example.org")
    response = gers.post("/mot-de-passe-oublie", {"identifiant": "AGR-2026-0005", "email": "autre@example.org"})
    assert response.status_code == 400
    assert "L'email associé au compte n'a pas été trouvé" in text_of(response)
    assert smtp_server.messages == []


def test_gers_locked_account_cannot_ask_for_a_new_password(portal_for, smtp_server):
    gers = portal_for("gers")
    account, _ = gers.create_account("AGR-2026-0006", GOOD, email="bloquee@example.org")
    for _ in range(3):
        gers.login("AGR-2026-0006", "mauvais")
    smtp_server.wait_for(2)
    response = gers.post("/mot-de-passe-oublie", {"identifiant": "AGR-2026-0006", "email": "bloquee@example.org"})
    assert response.status_code == 400 and "Votre compte est bloqué" in text_of(response)
    assert len(smtp_server.messages) == 2  # only the two lock notices


def test_gers_contact_the_administrator_with_an_acknowledgment(portal_for, smtp_server):
    gers = portal_for("gers")
    response = gers.post("/contact", {
        "nom": "Anne Martin", "email": "anne@example.org", "accuse_reception": "1",
        "message": "Bonjour,\nJe ne me souviens plus du mail utilisé pour la création de mon compte.",
    })
    assert response.status_code == 303
    mails = {m["To"]: m for m in smtp_server.wait_for(2)}
    assert set(mails) == {"pmi@gers.fr", "anne@example.org"}
    assert "Je ne me souviens plus du mail" in mails["pmi@gers.fr"].get_body(("plain",)).get_content()
    (stored,) = gers.query(select(ContactMessage.name, ContactMessage.acknowledgment_requested))
    assert tuple(stored) == ("Anne Martin", True)


def test_gers_contact_form_is_rate_limited(portal_for):
    gers = portal_for("gers")
    data = {"nom": "A", "email": "a@example.org", "message": "Bonjour"}
    statuses = [gers.post("/contact", data).status_code for _ in range(6)]
    assert statuses == [303] * 5 + [429]


def test_gers_password_rules_come_from_the_seed(portal_for):
    gers = portal_for("gers")
    account, temporary = gers.create_account("AGR-2026-0007", temporary=True)
    gers.login("AGR-2026-0007", temporary)
    outside_list = gers.post("/changement-mot-de-passe", {"mot_de_passe": "Lune;Soleil42", "confirmation": "Lune;Soleil42"})
    assert outside_list.status_code == 400
    no_digit = gers.post("/changement-mot-de-passe", {"mot_de_passe": "Lune#Soleil", "confirmation": "Lune#Soleil"})
    assert no_digit.status_code == 400


def test_gers_password_not_reused_within_six_months(portal_for, frozen_clock):
    gers = portal_for("gers")
    account, _ = gers.create_account("AGR-2026-0008", GOOD)
    gers.login("AGR-2026-0008", GOOD)
    changed = gers.post("/espace/compte/mot-de-passe", {"mot_de_passe_actuel": GOOD, "mot_de_passe": OTHER, "confirmation": OTHER})
    assert changed.status_code == 303
    frozen_clock.advance(days=30 * 5)
    gers.login("AGR-2026-0008", OTHER)
    back = gers.post("/espace/compte/mot-de-passe", {"mot_de_passe_actuel": OTHER, "mot_de_passe": GOOD, "confirmation": GOOD})
    assert back.status_code == 400 and "déjà été utilisé" in text_of(back)
    frozen_clock.advance(days=40)
    gers.login("AGR-2026-0008", OTHER)  # the idle timeout ended the session meanwhile
    allowed = gers.post("/espace/compte/mot-de-passe", {"mot_de_passe_actuel": OTHER, "mot_de_passe": GOOD, "confirmation": GOOD})
    assert allowed.status_code == 303


def test_gers_every_step_is_audited_without_secrets(portal_for, smtp_server):
    gers = portal_for("gers")
    account, temporary = gers.create_account("AGR-2026-0009", temporary=True, accepted_terms=False)
    gers.login("AGR-2026-0009", "faux")
    gers.login("AGR-2026-0009", temporary)
    gers.post("/changement-mot-de-passe", {"mot_de_passe": GOOD, "confirmation": GOOD})
    gers.post("/conditions", {"accepter": "1"})
    events = gers.query(select(AuditEvent.type, AuditEvent.detail, AuditEvent.ip).where(AuditEvent.account_id == account.id).order_by(AuditEvent.id))
    types = [e.type for e in events]
    assert types == [
        "temporary_password.issued", "account.created", "login.failed", "login.success", "password.changed", "terms.accepted",
    ]
    dump = repr([e.detail for e in events])
    assert temporary not in dump and GOOD not in dump
    assert all(e.ip == "testclient" for e in events if e.type.startswith("login"))
