"""Seed 002, MAM and relais on Eure-et-Loir: a structure signs in with its email on the form where
the assistants type their PMI number, « J'ai oublié mon mot de passe » asks the email and the kind
of account (« une maison d'assistant maternel », « un relais d'assistant maternel ») and the new
password is emailed (real SMTP); the lockout is the assistants'; a structure's email may not be an
assistant's; FranceConnect is not for these accounts."""

from __future__ import annotations

import re

import pytest
from sqlalchemy import select

from assmat.auth import credentials
from assmat.auth.errors import PasswordRejected
from assmat.auth.franceconnect import service as franceconnect
from assmat.auth.models import Account
from assmat.portal.structures import service
from assmat.portal.structures.models import Structure
from tests.flows.test_eure_et_loir import BIRTH_DATE, GOOD, OTHER, PMI_NUMBER, SLUG, active_account, body, challenge, login, outbox, post_with_captcha
from tests.support.portal import text_of

MAM_EMAIL = "Les.Petits.Loups@Example.fr"


def new_mam(portal, email: str = MAM_EMAIL, kind: str = "mam"):
    return portal.service_call(service.create_structure, service.NewStructure(
        kind=kind, name="MAM Les Petits Loups", email=email, address="3 rue du Bourg", postal_code="28000", city="Chartres",
        phone="02 37 00 00 00", communes="Chartres\nLucé" if kind == "ram" else "",
    ), "agent@eurelien.fr")


def reset(portal, email: str, kind: str | None):
    return post_with_captcha(portal, "/mot-de-passe-oublie", {"email": email, **({"type_compte": kind} if kind else {})})


def temporary_password(mail) -> str:
    return re.search(r"Votre nouveau mot de passe est : (\S+)", body(mail)).group(1)


@pytest.mark.parametrize("kind, option", [("mam", "une maison d'assistant maternel"), ("ram", "un relais d'assistant maternel")])
def test_a_structure_gets_its_password_by_the_forgot_form_then_signs_in_with_its_email(portal_for, smtp_server, kind, option):
    eure = portal_for(SLUG)
    structure, account = new_mam(eure, kind=kind)
    assert (account.kind, account.identifier, account.email) == (kind, "les.petits.loups@example.fr", MAM_EMAIL)
    _csrf, _id, form = challenge(eure, "/mot-de-passe-oublie")
    assert "Type de compte" in form and "un assistant maternel" in form and option in form

    sent = reset(eure, " les.petits.loups@example.FR ", kind)
    assert sent.status_code == 303 and sent.headers["location"] == "/connexion?info=reset_sent"
    (mail,) = smtp_server.wait_for(1)
    assert mail["To"] == MAM_EMAIL
    temporary = temporary_password(mail)

    used = login(eure, "LES.petits.loups@example.fr ", temporary)  # the field where assistants type their number
    assert used.status_code == 303 and used.headers["location"] == "/changement-mot-de-passe"
    changed = eure.post("/changement-mot-de-passe", {"mot_de_passe": OTHER, "confirmation": OTHER})
    assert changed.status_code == 303
    eure.client.cookies.clear()
    again = login(eure, MAM_EMAIL, OTHER)
    assert again.status_code == 303 and "session" in again.cookies
    assert eure.client.get(again.headers["location"]).status_code == 200  # its space opens
    eure.client.cookies.clear()
    assert login(eure, MAM_EMAIL, temporary).status_code == 400


def test_the_wrong_kind_or_no_kind_sends_nothing_with_the_same_answer(portal_for, smtp_server):
    eure = portal_for(SLUG)
    new_mam(eure)
    active_account(eure, email="claire.petit@example.fr")
    wrong_kind = reset(eure, MAM_EMAIL, "ram")
    assistant_as_mam = reset(eure, "claire.petit@example.fr", "mam")
    unknown = reset(eure, "personne@example.fr", "mam")
    assert {(r.status_code, r.headers["location"]) for r in (wrong_kind, assistant_as_mam, unknown)} == {
        (303, "/connexion?info=reset_sent")}
    no_kind = reset(eure, MAM_EMAIL, None)  # the option checked by default: « un assistant maternel »
    assert (no_kind.status_code, no_kind.headers["location"]) == (303, "/connexion?info=reset_sent")
    other = reset(eure, MAM_EMAIL, "parent")
    assert other.status_code == 400 and "Choisissez le type de votre compte." in text_of(other)
    assert outbox(eure) == []
    # The assistant's own reset still works, as « un assistant maternel ».
    assert reset(eure, "claire.petit@example.fr", "assistant").status_code == 303
    (mail,) = smtp_server.wait_for(1)
    assert mail["To"] == "claire.petit@example.fr"


def test_a_structure_is_locked_by_the_assistants_rules(portal_for, smtp_server):
    eure = portal_for(SLUG)
    _structure, account = new_mam(eure)
    reset(eure, MAM_EMAIL, "mam")
    (mail,) = smtp_server.wait_for(1)
    temporary = temporary_password(mail)
    for _ in range(eure.tenant.config.lockout.max_failures):
        assert login(eure, MAM_EMAIL, "Mauvais#Mot2Passe").status_code == 400
    assert eure.account(account.id).locked_at is not None
    refused = login(eure, MAM_EMAIL, temporary)
    assert refused.status_code == 400 and "session" not in refused.cookies
    locked_mail = smtp_server.wait_for(2)[1]
    assert locked_mail["To"] == MAM_EMAIL


def test_a_structure_may_not_take_an_assistants_email_and_nothing_is_written(portal_for):
    eure = portal_for(SLUG)
    active_account(eure, email="claire.petit@example.fr")
    with pytest.raises(service.StructureRefused) as refused:
        new_mam(eure, email="Claire.Petit@example.fr")
    assert refused.value.errors["email"] == ("Cette adresse est celle d'un assistant maternel inscrit sur le site : "
                                             "une structure doit avoir sa propre adresse électronique.")
    with pytest.raises(service.StructureRefused) as bad:
        new_mam(eure, email="pas-une-adresse")
    assert bad.value.errors["email"] == "Adresse électronique invalide."
    assert eure.query(select(Structure.id)) == []
    assert [row.kind for row in eure.query(select(Account.kind))] == ["assistant"]
    new_mam(eure)
    with pytest.raises(service.StructureRefused) as twice:
        new_mam(eure, kind="ram")
    assert twice.value.errors["email"] == "Cette adresse est déjà celle d'un autre compte."


def test_an_assistant_still_signs_in_with_her_pmi_number_and_franceconnect_is_not_for_structures(portal_for):
    eure = portal_for(SLUG)
    _structure, mam = new_mam(eure)
    assistant = active_account(eure)
    assert login(eure, PMI_NUMBER, GOOD).status_code == 303
    assert franceconnect.may_use(assistant) and not franceconnect.may_use(mam)


def test_a_portal_without_structures_routes_no_email_and_shows_no_kind(portal_for):
    gers = portal_for("gers")
    assert "type_compte" not in gers.client.get("/mot-de-passe-oublie").text
    with pytest.raises(service.StructureRefused) as refused:
        new_mam(gers)
    assert refused.value.errors["kind"] == "Choisissez le type de structure."


def test_an_assistant_may_not_take_a_structures_address_at_activation_or_later(portal_for):
    eure = portal_for(SLUG)
    new_mam(eure)
    account, _ = eure.create_account(PMI_NUMBER, email=None, first_name="Claire", last_name="Petit",
                                     birth_date=BIRTH_DATE)
    step2 = eure.post("/activation", {"identifiant": PMI_NUMBER, "date_naissance": "14/03/1975"}).headers["location"]
    refused = eure.post(step2, {"email": "les.petits.loups@example.fr", "mot_de_passe": GOOD, "confirmation": GOOD})
    assert refused.status_code == 400
    assert "Cette adresse est celle d'une MAM ou d'un relais : indiquez votre propre adresse." in text_of(refused)
    assert eure.account(account.id).password_hash is None
    done = eure.post(step2, {"email": "claire.petit@example.fr", "mot_de_passe": GOOD, "confirmation": GOOD})
    assert done.status_code == 303
    with pytest.raises(PasswordRejected) as change:
        eure.service_call(credentials.request_email_change, eure.account(account.id), GOOD, MAM_EMAIL, None)
    assert change.value.messages == ["Cette adresse est celle d'une MAM ou d'un relais : indiquez votre propre adresse."]
