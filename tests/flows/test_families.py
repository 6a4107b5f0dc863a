"""Family accounts (issue 13, « Parents », seed 003): « Créer mon compte famille » on mon-enfant
(identifier: the email) with its confirmation link and no enumeration, the purge of registrations
never confirmed, « Supprimer mon compte » with the audit trail kept without the person, staff's
deletion from the console; and every family account through login, lockout, reset and first
login on Cestas (identifier) and mon-enfant (email). Real SMTP, both backends."""

from __future__ import annotations

import re
from datetime import timedelta

import pytest
from sqlalchemy import select

from assmat.auth import registration, staff_actions
from assmat.auth.captcha import derive_answer
from assmat.auth.models import Account, PasswordHistory, UserSession
from assmat.core.mail.models import OutboxMail
from assmat.core.security.models import AccountToken, AuditEvent
from tests.admin.conftest import Console, create_admin
from tests.support.portal import CSRF, text_of

pytestmark = pytest.mark.both_backends  # the cascades and the audit's SET NULL differ by backend

MON_ENFANT = "mon-enfant"
CESTAS = "cestas"
EMAIL = "Claire.Bernard@Example.fr"
PASSWORD = "Famille66Perpignan"  # mon-enfant: letters and digits
CESTAS_PASSWORD = "Pins#Landes33"  # Cestas: 8-30, lower, upper, digit, no space
CAPTCHA_ID = re.compile(r'name="captcha_id" value="([^"]+)"')
CONFIRM_LINK = re.compile(r"http://mon-enfant\.localhost(/confirmation-email/[A-Za-z0-9_-]+)")
GENERIC = "Votre demande est enregistrée. Un courriel a été envoyé à l'adresse indiquée."


def body(mail) -> str:
    return mail.get_body(("plain",)).get_content()


def register(portal, answer: str | None = None, **overrides: str):
    page = portal.client.get("/creer-mon-compte")
    assert page.status_code == 200
    captcha_id = CAPTCHA_ID.search(page.text).group(1)
    if answer is None:
        answer = derive_answer(portal.app.state.settings.effective_secret_key, MON_ENFANT, captcha_id, 5)
    data = {
        "csrf_token": CSRF.search(page.text).group(1), "captcha_id": captcha_id, "captcha": answer,
        "nom": "Bernard", "prenom": "Claire", "email": EMAIL, "email_confirmation": EMAIL.lower(),
        "mot_de_passe": PASSWORD, "confirmation": PASSWORD, "conditions": "1", **overrides,
    }
    return portal.client.post("/creer-mon-compte", data=data)


def accounts(portal) -> list[Account]:
    return [row for (row,) in portal.query(
        select(Account).where(Account.tenant_id == portal.slug).order_by(Account.id))]


def family(portal, identifier: str, password: str, email: str) -> Account:
    account, _ = portal.service_call(staff_actions.create_account, identifier, email=email, kind="parent",
                                     first_name="Marc", last_name="Dupont")
    from assmat.auth import credentials

    portal.service_call(credentials.set_password, account, password, None, "test")
    if portal.tenant.terms_version:
        portal.update_account(account.id, terms_version=portal.tenant.terms_version)
    return portal.account(account.id)


# -- « Créer mon compte famille » ---------------------------------------------------------------------


def test_a_family_registers_confirms_its_address_and_signs_in(portal_for, smtp_server):
    portal = portal_for(MON_ENFANT)
    login = text_of(portal.client.get("/connexion"))
    assert 'href="/creer-mon-compte"' in login and "Créer mon compte famille" in login
    search = text_of(portal.client.get("/recherche"))
    assert 'href="/creer-mon-compte"' in search  # from the parents' search too
    form = text_of(portal.client.get("/creer-mon-compte"))
    assert 'name="identifiant"' not in form  # mon-enfant: the email is the identifier
    assert "password-rules" in form and 'name="conditions"' in form and 'name="captcha"' in form

    sent = register(portal)
    assert sent.status_code == 303 and sent.headers["location"] == "/creer-mon-compte/envoye"
    assert GENERIC in text_of(portal.client.get(sent.headers["location"]))
    [account] = [a for a in accounts(portal) if a.kind == "parent"]
    assert account.identifier == EMAIL.lower() and account.registered_at is not None
    assert account.email_confirmed_at is None and account.terms_version == portal.tenant.terms_version

    # Not usable yet: the right password says the address must be confirmed, a wrong one fails as usual.
    refused = portal.login(EMAIL, PASSWORD)
    assert refused.status_code == 400
    assert "Vous devez d'abord confirmer votre adresse email" in text_of(refused)
    assert "session" not in "".join(refused.cookies.keys())

    mails = smtp_server.wait_for(2)  # the registration's link, then the one sent again at the sign-in
    assert all(mail["To"] == EMAIL for mail in mails)
    assert "Confirmation de votre adresse e-mail" in mails[0]["Subject"]
    assert portal.client.get(CONFIRM_LINK.search(body(mails[0])).group(1)).status_code == 400  # replaced by the newer
    link = CONFIRM_LINK.search(body(mails[1])).group(1)
    assert "48H" in body(mails[0])
    confirmed = portal.post(link, {})
    assert confirmed.status_code == 303 and "info=email_confirmed" in confirmed.headers["location"]
    assert portal.post(link, {}, form_path="/connexion").status_code == 400  # single use

    signed = portal.login(EMAIL, PASSWORD)
    assert signed.status_code == 303 and signed.headers["location"] == "/espace"
    account_page = text_of(portal.client.get("/espace/compte"))
    assert 'href="/espace/compte/suppression"' in account_page


def test_the_answer_is_the_same_for_a_taken_address_which_gets_an_email_instead(portal_for, smtp_server):
    portal = portal_for(MON_ENFANT)
    assistant, _ = portal.create_account(EMAIL, None, email=EMAIL, first_name="Claire", last_name="Bernard")
    before = len(accounts(portal))

    answer = register(portal)
    assert answer.status_code == 303 and answer.headers["location"] == "/creer-mon-compte/envoye"
    assert len(accounts(portal)) == before  # nothing created: an address is never shared between kinds
    [mail] = smtp_server.wait_for(1)
    assert mail["To"] == EMAIL and "existe déjà" in mail["Subject"]
    assert "http://mon-enfant.localhost/mot-de-passe-oublie" in body(mail)
    assert "/confirmation-email/" not in body(mail)


def test_bad_input_is_refused_field_by_field_and_nothing_is_written(portal_for, smtp_server):
    portal = portal_for(MON_ENFANT)
    before = len(accounts(portal))
    wrong = register(portal, nom="", email_confirmation="autre@example.fr", mot_de_passe="court", confirmation="court",
                     conditions="")
    page = text_of(wrong)
    assert wrong.status_code == 400
    assert "Veuillez saisir votre nom." in page
    assert "Les deux adresses électroniques sont différentes." in page
    assert "Vous devez accepter les conditions d'utilisation pour continuer." in page
    assert 'value="Claire"' in page and PASSWORD not in page  # the fields kept, never the password
    bad_captcha = register(portal, answer="00000")
    assert bad_captcha.status_code == 400 and "Le cryptogramme de sécurité saisi est incorrect." in text_of(bad_captcha)
    assert len(accounts(portal)) == before
    assert smtp_server.messages == []


def test_registration_is_rate_limited_per_connection(portal_for, smtp_server, frozen_clock):
    # The clock stands still: the limit's fixed hourly window must not roll over between the tries.
    portal = portal_for(MON_ENFANT)
    statuses = [register(portal, email=f"famille{n}@example.fr", email_confirmation=f"famille{n}@example.fr").status_code
                for n in range(6)]
    assert statuses == [303] * 5 + [429]
    assert len([a for a in accounts(portal) if a.kind == "parent"]) == 5


def test_signup_is_off_on_cestas(portal_for):
    cestas = portal_for(CESTAS)
    assert cestas.client.get("/creer-mon-compte").status_code == 404
    assert "/creer-mon-compte" not in cestas.client.get("/connexion").text


def test_registrations_never_confirmed_expire(portal_for, smtp_server, frozen_clock):
    portal = portal_for(MON_ENFANT)
    assert register(portal).status_code == 303
    assert register(portal, email="autre.famille@example.fr", email_confirmation="autre.famille@example.fr").status_code == 303
    mails = smtp_server.wait_for(2)
    link = next(CONFIRM_LINK.search(body(m)).group(1) for m in mails if m["To"] == "autre.famille@example.fr")
    assert portal.post(link, {}).status_code == 303  # this one is confirmed

    frozen_clock.advance(hours=47)
    assert portal.service_call(registration.expire_registrations) == 0
    frozen_clock.advance(hours=2)
    assert portal.service_call(registration.expire_registrations) == 1
    assert portal.service_call(registration.expire_registrations) == 0  # a rerun deletes nothing twice
    assert [a.identifier for a in accounts(portal) if a.kind == "parent"] == ["autre.famille@example.fr"]


# -- « Supprimer mon compte » -------------------------------------------------------------------------


def test_a_family_deletes_its_account_and_every_personal_datum(portal_for, client_for, smtp_server):
    portal = portal_for(MON_ENFANT)
    account = family(portal, "famille.martin@example.fr", PASSWORD, "Famille.Martin@Example.fr")
    other_browser = portal_for(MON_ENFANT)
    other_browser.client = client_for("pro.mon-enfant.fr")
    assert portal.login("famille.martin@example.fr", PASSWORD).status_code == 303
    assert other_browser.login("famille.martin@example.fr", PASSWORD).status_code == 303
    assert other_browser.client.get("/espace/compte").status_code == 200
    page = text_of(portal.client.get("/espace/compte/suppression"))
    assert "Supprimer mon compte" in page and "Famille.Martin@Example.fr" in page

    wrong = portal.post("/espace/compte/suppression", {"mot_de_passe_actuel": "Mauvais123"})
    assert wrong.status_code == 400 and "Le mot de passe actuel est incorrect." in text_of(wrong)
    assert portal.account(account.id) is not None

    done = portal.post("/espace/compte/suppression", {"mot_de_passe_actuel": PASSWORD})
    assert done.status_code == 303 and done.headers["location"] == "/compte-supprime"
    assert "Votre compte famille et vos données personnelles ont été supprimés." in text_of(portal.client.get("/compte-supprime"))
    assert portal.account(account.id) is None
    for model in (UserSession, AccountToken, PasswordHistory):
        assert portal.query(select(model).where(model.account_id == account.id)) == []
    assert other_browser.client.get("/espace/compte").status_code == 303  # every session ended
    lines = portal.query(select(AuditEvent.type, AuditEvent.account_id, AuditEvent.ip, AuditEvent.detail)
                         .where(AuditEvent.tenant_id == MON_ENFANT).order_by(AuditEvent.id))
    assert {kind for kind, *_ in lines} >= {"account.created", "login.success", "password.check_failed", "account.deleted"}
    assert all(account_id is None and ip is None for _, account_id, ip, _ in lines)  # kept, naming no one
    assert "martin" not in repr(lines).lower()
    [mail] = [m for m in smtp_server.wait_for(1) if m["Subject"] == "Votre compte famille a été supprimé"]
    assert mail["To"] == "Famille.Martin@Example.fr"
    remaining = portal.query(select(OutboxMail.template).where(OutboxMail.recipient == "Famille.Martin@Example.fr"))
    assert [template for (template,) in remaining] == ["account_deleted"]


def test_only_a_family_account_can_be_deleted(portal_for):
    portal = portal_for(MON_ENFANT)
    portal.create_account("nadia.roux@example.fr", PASSWORD, email="nadia.roux@example.fr")
    assert portal.login("nadia.roux@example.fr", PASSWORD).status_code == 303
    assert portal.client.get("/espace/compte/suppression").status_code == 404
    assert "/espace/compte/suppression" not in portal.client.get("/espace/compte").text
    refused = portal.post("/espace/compte/suppression", {"mot_de_passe_actuel": PASSWORD}, form_path="/espace/compte")
    assert refused.status_code == 404


def test_staff_delete_a_family_account_from_the_console(app, portal_for, client_for, smtp_server):
    portal = portal_for(CESTAS)
    account = family(portal, "famille.dupont", CESTAS_PASSWORD, "dupont.famille@example.fr")
    assistant, _ = portal.create_account("anne.martin", CESTAS_PASSWORD)
    console = Console(client_for(CESTAS), app)
    create_admin(app, console.client, CESTAS, "education@mairie-cestas.fr", "Console#Solide2026")
    assert console.login("education@mairie-cestas.fr", "Console#Solide2026").status_code == 302
    confirm = console.client.get(f"/admin/account/action/delete-family?pks={account.id}")
    assert confirm.status_code == 200 and "définitivement" in text_of(confirm)

    done = console.run_action("delete_family", f"{account.id},{assistant.id}")
    assert done.status_code == 303 and "count=1" in done.headers["location"]
    assert portal.account(account.id) is None and portal.account(assistant.id) is not None
    [(detail,)] = portal.query(select(AuditEvent.detail).where(AuditEvent.type == "account.deleted"))
    assert detail == {"by": "education@mairie-cestas.fr"}
    [mail] = smtp_server.wait_for(1)
    assert mail["To"] == "dupont.famille@example.fr" and mail["Subject"] == "Votre compte famille a été supprimé"


# -- every family account through login, lockout, reset and first login -------------------------------

TENANTS = {
    CESTAS: ("famille.dupont", "  Famille.Dupont ", "dupont.famille@example.fr", CESTAS_PASSWORD, "Arcachon!Dune44"),
    MON_ENFANT: ("famille.roux@example.fr", " Famille.ROUX@example.fr ", "famille.roux@example.fr", PASSWORD, "Canigou66Bis"),
}


@pytest.mark.parametrize("slug", TENANTS)
def test_a_family_signs_in_by_its_tenants_identifier(portal_for, slug):
    identifier, typed, email, password, _ = TENANTS[slug]
    portal = portal_for(slug)
    assert portal.tenant.config.login.effective_families_identifier == ("username" if slug == CESTAS else "email")
    family(portal, identifier, password, email)
    assert portal.login(typed, "Mauvais123").status_code == 400
    signed = portal.login(typed, password)
    assert signed.status_code == 303 and signed.headers["location"] == "/espace"


@pytest.mark.parametrize("slug", TENANTS)
def test_a_family_account_locks_after_the_tenants_failures(portal_for, smtp_server, slug):
    identifier, _, email, password, _ = TENANTS[slug]
    portal = portal_for(slug)
    account = family(portal, identifier, password, email)
    failures = portal.tenant.config.lockout.max_failures
    answers = [portal.login(identifier, f"Mauvais{n}x9").status_code for n in range(failures)]
    assert answers == [400] * failures
    assert portal.account(account.id).locked_at is not None
    locked = portal.login(identifier, password)
    assert locked.status_code == 400  # the right password does not open a locked account
    [mail] = smtp_server.wait_for(1)
    assert mail["To"] == email and "bloqué" in mail["Subject"]


def test_a_cestas_family_resets_by_identifier_and_email_with_a_48_hour_link(portal_for, smtp_server):
    identifier, typed, email, password, other = TENANTS[CESTAS]
    portal = portal_for(CESTAS)
    family(portal, identifier, password, email)
    sent = portal.post("/mot-de-passe-oublie", {"identifiant": typed, "email": email.upper()})
    assert sent.status_code == 303 and sent.headers["location"] == "/connexion?info=reset_link_sent"
    [mail] = smtp_server.wait_for(1)
    assert mail["To"] == email and "valable pendant 48H" in body(mail)
    path = re.search(r"http://cestas\.localhost(/reinitialisation/[A-Za-z0-9_-]+)", body(mail)).group(1)
    assert portal.post(path, {"mot_de_passe": other, "confirmation": other}).status_code == 303
    assert portal.login(identifier, other).headers["location"] == "/espace"


def test_a_mon_enfant_family_resets_by_email_with_a_temporary_password(portal_for, smtp_server):
    identifier, _, email, password, other = TENANTS[MON_ENFANT]
    portal = portal_for(MON_ENFANT)
    family(portal, identifier, password, email)
    page = portal.client.get("/mot-de-passe-oublie")
    captcha_id = CAPTCHA_ID.search(page.text).group(1)
    answer = derive_answer(portal.app.state.settings.effective_secret_key, MON_ENFANT, captcha_id, 5)
    sent = portal.client.post("/mot-de-passe-oublie", data={
        "csrf_token": CSRF.search(page.text).group(1), "email": email, "captcha_id": captcha_id, "captcha": answer})
    assert sent.status_code == 303
    [mail] = smtp_server.wait_for(1)
    temporary = re.search(r"Votre nouveau mot de passe est : (\S+)", body(mail)).group(1)
    used = portal.login(identifier, temporary)
    assert used.status_code == 303 and used.headers["location"] == "/changement-mot-de-passe"
    changed = portal.post("/changement-mot-de-passe", {"mot_de_passe": other, "confirmation": other})
    assert changed.status_code == 303 and changed.headers["location"] == "/espace"


@pytest.mark.parametrize("slug", TENANTS)
def test_a_family_account_created_by_staff_sets_its_password_at_first_login(portal_for, slug):
    identifier, typed, email, _, other = TENANTS[slug]
    portal = portal_for(slug)
    account, temporary = portal.service_call(staff_actions.create_account, identifier, email=email, kind="parent",
                                             with_temporary_password=True)
    assert account.kind == "parent" and temporary
    first = portal.login(typed, temporary)
    assert first.status_code == 303 and first.headers["location"] == "/changement-mot-de-passe"
    assert portal.client.get("/espace").headers["location"] == "/changement-mot-de-passe"
    changed = portal.post("/changement-mot-de-passe", {"mot_de_passe": other, "confirmation": other})
    assert changed.status_code == 303
    portal.client.cookies.clear()
    assert portal.login(identifier, temporary).status_code == 400
    assert portal.login(identifier, other).headers["location"] == "/espace"


def test_staff_cannot_give_a_family_an_assistants_address_where_both_sign_in_by_email(portal_for):
    portal = portal_for(MON_ENFANT)
    portal.create_account("nadia.roux@example.fr", None, email="nadia.roux@example.fr")
    with pytest.raises(ValueError, match="déjà celle d'un autre compte"):
        portal.service_call(staff_actions.create_account, "parent.roux@example.fr", email="Nadia.Roux@example.fr",
                            kind="parent")


def test_an_assistant_cannot_take_a_familys_address_by_changing_her_email(portal_for):
    from assmat.auth import credentials
    from assmat.auth.errors import PasswordRejected

    portal = portal_for(MON_ENFANT)
    family(portal, "famille.roux@example.fr", PASSWORD, "famille.roux@example.fr")
    assistant, _ = portal.create_account("nadia.roux@example.fr", PASSWORD, email="nadia.roux@example.fr")
    with pytest.raises(PasswordRejected) as refused:
        portal.service_call(credentials.request_email_change, assistant, PASSWORD, "Famille.Roux@example.fr", None)
    assert refused.value.messages == ["Cette adresse est déjà celle d'un autre compte : indiquez votre propre adresse."]
    assert portal.query(select(AccountToken).where(AccountToken.account_id == assistant.id,
                                                   AccountToken.purpose == "email_change")) == []
