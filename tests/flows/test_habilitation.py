"""Seed 004, mon-enfant's habilitation request, as the guide walks it: « Faites votre demande
d'habilitation en ligne » → the status → the form with its 4-digit code → « Votre demande a bien
été enregistrée » and its email; the Caf's queue in the console (matched or oriented to the Pôle
PMI, consent on paper or online, activation with a generated password between quotes, refusal
with a reason); the first login's forced change; an habilitated account kept to its
availability; abandoned requests expiring. Real SMTP, both backends."""

from __future__ import annotations

import re
from dataclasses import replace
from datetime import timedelta

import pytest
from sqlalchemy import select

from assmat.auth.captcha import derive_answer
from assmat.core.security.models import AuditEvent
from assmat.portal.agrement.models import Agrement
from assmat.portal.habilitation import service
from assmat.portal.habilitation.models import HabilitationRequest
from tests.admin.conftest import Console, create_admin
from tests.support.portal import CSRF, text_of

pytestmark = pytest.mark.both_backends  # the expiry query and the composite keys differ by backend

SLUG = "mon-enfant"
EMAIL = "Nadia.Roux@Example.fr"
NEW_PASSWORD = "Canigou66Perpignan"
CAPTCHA_ID = re.compile(r'name="captcha_id" value="([^"]+)"')
VIEW = "demandes-habilitation"


@pytest.fixture
def console_for(app, client_for):
    return lambda host: Console(client_for(host), app)


def body(mail) -> str:
    return mail.get_body(("plain",)).get_content()


def fields(**overrides: str) -> dict[str, str]:
    values = {
        "statut": "assistant_inscrit", "civilite": "Mme", "nom": "Roux", "prenom": "Nadia", "numero_voie": "12",
        "type_voie": "rue", "nom_voie": "des Amandiers", "code_postal": "66000", "commune": "Perpignan",
        "telephone": "04 68 00 00 00", "email": EMAIL, "email_confirmation": EMAIL.lower(),
    }
    values.update(overrides)
    return values


def send_request(portal, answer: str | None = None, **overrides: str):
    page = portal.client.get("/habilitation/demande?statut=assistant_inscrit")
    assert page.status_code == 200
    captcha_id = CAPTCHA_ID.search(page.text).group(1)
    if answer is None:
        answer = derive_answer(portal.app.state.settings.effective_secret_key, SLUG, captcha_id, 4, digits=True)
    data = {"csrf_token": CSRF.search(page.text).group(1), "captcha_id": captcha_id, "captcha": answer, **fields(**overrides)}
    return portal.client.post("/habilitation/demande", data=data)


def requests_of(portal) -> list[HabilitationRequest]:
    return [row for (row,) in portal.query(select(HabilitationRequest).order_by(HabilitationRequest.id))]


def events(portal) -> list[str]:
    return [kind for (kind,) in portal.query(
        select(AuditEvent.type).where(AuditEvent.tenant_id == SLUG, AuditEvent.type.like("habilitation.%")).order_by(AuditEvent.id))]


def on_file(portal, **fields):
    account, _ = portal.create_account(EMAIL, None, email=EMAIL, first_name="Nadia", last_name="Roux",
                                       postal_code="66000", **fields)
    return account


STAFF_PASSWORD = "ConsoleSolide2026"  # mon-enfant's policy: letters and digits only


def staff(console_for, app) -> Console:
    console = console_for(SLUG)
    create_admin(app, console.client, SLUG, "habilitations@caf66.fr", STAFF_PASSWORD)
    assert console.login("habilitations@caf66.fr", STAFF_PASSWORD).status_code == 302
    return console


def act(console: Console, action: str, pk: int, **extra: str):
    token = console.csrf(f"/admin/{VIEW}/list")
    response = console.client.post(f"/admin/{VIEW}/run/{action}", data={"csrf_token": token, "pks": str(pk), **extra})
    assert response.status_code == 303, response.text[:500]
    return response


def test_the_guides_path_from_the_login_page_to_the_first_login(app, portal_for, console_for, smtp_server):
    portal = portal_for(SLUG)
    account = on_file(portal)
    login_page = text_of(portal.client.get("/connexion"))
    assert "Vous n'êtes pas habilité(e)" in login_page and 'href="/habilitation"' in login_page
    assert "Faites votre demande d'habilitation en ligne" in login_page

    choice = text_of(portal.client.get("/habilitation"))
    assert "Vous êtes assistant(e) maternel(le) et déjà inscrit(e) sur le site, et vous souhaitez demander une " \
           "habilitation individuelle" in choice and "Poursuivre" in choice
    refused = portal.post("/habilitation", {})
    assert refused.status_code == 400 and "Sélectionnez votre statut." in text_of(refused)
    chosen = portal.post("/habilitation", {"statut": "assistant_inscrit"})
    assert chosen.status_code == 303 and chosen.headers["location"] == "/habilitation/demande?statut=assistant_inscrit"

    form = text_of(portal.client.get(chosen.headers["location"]))
    for words in ("Votre civilité", "Melle", "Votre nom", "Votre prénom", "N° de voie", "Type de voie", "Nom de voie",
                  "Code postal", "Commune", "Téléphone où vous contacter", "Confirmer l'adresse électronique",
                  "A compléter obligatoirement (4 chiffres)", "Recommencer", "Terminer la demande", "Page précédente"):
        assert words in form, words

    sent = send_request(portal)
    assert sent.status_code == 303 and sent.headers["location"] == "/habilitation/enregistree"
    done = text_of(portal.client.get("/habilitation/enregistree"))
    assert "Votre demande a bien été enregistrée. Vous allez recevoir un courriel de confirmation." in done
    assert "Elle vous adressera par courrier une lettre destinée à recueillir votre accord écrit" in done
    (received,) = smtp_server.wait_for(1)
    assert received["To"] == EMAIL and "Votre demande d'habilitation" in received["Subject"]
    assert "Votre demande d'habilitation a bien été enregistrée." in body(received)
    (request,) = requests_of(portal)
    assert (request.state, request.account_id, request.matched_by) == ("received", account.id, "email")

    caf = staff(console_for, app)
    queue = text_of(caf.client.get(f"/admin/{VIEW}/list"))
    assert "Demandes d'habilitation" in queue and "Roux" in queue
    assert "Reçues, à examiner : 1" in text_of(caf.client.get("/admin/vue-d-ensemble"))
    act(caf, "request_consent", request.id)
    assert "Une lettre destinée à recueillir votre accord écrit" in body(smtp_server.wait_for(2)[1])
    act(caf, "record_consent", request.id)
    assert "Votre consentement a bien été reçu." in body(smtp_server.wait_for(3)[2])
    act(caf, "activate", request.id)
    activated = body(smtp_server.wait_for(4)[3])
    assert "les guillemets ne font pas partie du mot de passe" in activated
    assert "8 caractères alphanumériques minimum" in activated
    password = re.search(r'\n"([^"\s]+)"\r?\n', activated).group(1)

    signed = portal.login(EMAIL.upper(), password)
    assert signed.status_code == 303 and signed.headers["location"] == "/changement-mot-de-passe"
    changed = portal.post("/changement-mot-de-passe", {"mot_de_passe": NEW_PASSWORD, "confirmation": NEW_PASSWORD})
    assert changed.status_code == 303
    space = portal.client.get("/espace")
    assert space.status_code == 303 and space.headers["location"] == "/espace/disponibilites"
    availability = portal.client.get("/espace/disponibilites")
    assert availability.status_code == 200
    assert 'href="/espace/fiche"' not in availability.text and 'href="/espace/compte"' in availability.text  # the menu
    assert portal.client.get("/espace/compte").status_code == 200
    for other in ("/espace/fiche", "/espace/photos", "/espace/agrement", "/espace/publication"):
        refused = portal.client.get(other)
        assert refused.status_code == 403, other
        assert "L'habilitation donne accès uniquement à la mise à jour des disponibilités." in text_of(refused)
    assert events(portal) == ["habilitation.requested", "habilitation.consent_requested",
                              "habilitation.consent_received", "habilitation.activated"]
    assert requests_of(portal)[0].state == "activated"


def test_bad_input_gets_french_messages_per_field_and_stores_nothing(portal_for, smtp_server):
    portal = portal_for(SLUG)
    bad = send_request(portal, civilite="Dr", nom="", code_postal="6600", telephone="12", email="pas-une-adresse",
                       email_confirmation="")
    page = text_of(bad)
    assert bad.status_code == 400
    for message in ("Choisissez votre civilité.", "Indiquez votre nom (100 caractères au plus).",
                    "Indiquez un code postal de 5 chiffres.", "Indiquez un téléphone où vous contacter (10 chiffres).",
                    "Veuillez saisir une adresse email valide."):
        assert message in page, message
    assert 'value="Nadia"' in bad.text  # what was typed is kept
    mismatch = send_request(portal, email_confirmation="autre@example.fr")
    assert mismatch.status_code == 400 and "Les deux adresses électroniques sont différentes." in text_of(mismatch)
    wrong_code = send_request(portal, answer="0000")
    assert wrong_code.status_code == 400
    assert requests_of(portal) == [] and smtp_server.messages == []


def test_recommencer_draws_a_new_code_and_keeps_the_fields(portal_for):
    portal = portal_for(SLUG)
    page = portal.client.get("/habilitation/demande?statut=assistant_inscrit")
    first = CAPTCHA_ID.search(page.text).group(1)
    again = portal.client.post("/habilitation/demande", data={
        "csrf_token": CSRF.search(page.text).group(1), "captcha_id": first, "nouveau_captcha": "1", **fields()})
    assert again.status_code == 200 and CAPTCHA_ID.search(again.text).group(1) != first
    assert 'value="des Amandiers"' in again.text and requests_of(portal) == []


def test_the_form_is_rate_limited_per_connection(portal_for):
    portal = portal_for(SLUG)
    statuses = [send_request(portal, email=f"n{i}@example.fr", email_confirmation=f"n{i}@example.fr").status_code
                for i in range(6)]
    assert statuses == [303] * 5 + [429]
    assert len(requests_of(portal)) == 5


def test_an_address_already_habilitated_gets_the_same_page_and_the_truth_by_email(app, portal_for, console_for,
                                                                                   smtp_server):
    portal = portal_for(SLUG)
    on_file(portal)
    send_request(portal)
    (request,) = requests_of(portal)
    caf = staff(console_for, app)
    for step in ("request_consent", "record_consent", "activate"):
        act(caf, step, request.id)
    smtp_server.wait_for(4)
    again = send_request(portal)
    assert again.status_code == 303 and again.headers["location"] == "/habilitation/enregistree"
    told = body(smtp_server.wait_for(5)[4])
    assert "Cette adresse électronique dispose déjà d'une habilitation" in told
    assert len(requests_of(portal)) == 1
    pending = send_request(portal, nom="Martin", email="autre@example.fr", email_confirmation="autre@example.fr")
    duplicate = send_request(portal, nom="Martin", email="autre@example.fr", email_confirmation="autre@example.fr")
    assert pending.headers["location"] == duplicate.headers["location"] == "/habilitation/enregistree"
    assert "déjà en cours d'examen" in body(smtp_server.wait_for(7)[6])
    assert len(requests_of(portal)) == 2
    # Her name typed with another address is not told anything about her: it is stored for the staff.
    send_request(portal, email="tierce@example.fr", email_confirmation="tierce@example.fr")
    assert "a bien été enregistrée" in body(smtp_server.wait_for(8)[7])
    assert requests_of(portal)[-1].matched_by == "name_postcode"


def test_nobody_on_file_is_oriented_to_the_pmi(app, portal_for, console_for, smtp_server):
    portal = portal_for(SLUG)
    send_request(portal)
    (request,) = requests_of(portal)
    assert request.account_id is None
    caf = staff(console_for, app)
    assert "aucun(e) au fichier" in text_of(caf.client.get(f"/admin/{VIEW}/list"))
    act(caf, "request_consent", request.id)  # refused: not on file, nothing moves
    assert requests_of(portal)[0].state == "received"
    act(caf, "orient", request.id)
    oriented = body(smtp_server.wait_for(2)[1])
    assert "Vous êtes orienté(e) vers le Pôle PMI du Conseil Départemental" in oriented
    assert requests_of(portal)[0].state == "oriented" and requests_of(portal)[0].closed_at is not None
    assert events(portal) == ["habilitation.requested", "habilitation.oriented"]


def test_a_match_by_name_and_postcode_takes_the_address_of_the_request(app, portal_for, console_for, smtp_server):
    portal = portal_for(SLUG)
    account, _ = portal.create_account("ancienne@example.fr", None, email="ancienne@example.fr", first_name="Nadia",
                                       last_name="ROUX", postal_code="66000")
    send_request(portal)
    (request,) = requests_of(portal)
    assert (request.account_id, request.matched_by) == (account.id, "name_postcode")
    caf = staff(console_for, app)
    for step in ("request_consent", "record_consent", "activate"):
        act(caf, step, request.id)
    password = re.search(r'\n"([^"\s]+)"\r?\n', body(smtp_server.wait_for(4)[3])).group(1)
    assert smtp_server.messages[3]["To"] == EMAIL
    assert portal.login(EMAIL, password).headers["location"] == "/changement-mot-de-passe"


def test_a_refusal_needs_a_reason_and_emails_it(app, portal_for, console_for, smtp_server):
    portal = portal_for(SLUG)
    on_file(portal)
    send_request(portal)
    (request,) = requests_of(portal)
    caf = staff(console_for, app)
    token = caf.csrf(f"/admin/{VIEW}/list")
    without = caf.client.post(f"/admin/{VIEW}/run/reject", data={"csrf_token": token, "pks": str(request.id)})
    assert without.status_code == 400 and "Indiquez le motif." in text_of(without)
    act(caf, "reject", request.id, reason="Vous n'exercez plus dans le département.")
    refused = body(smtp_server.wait_for(2)[1])
    assert "refusée, pour le motif suivant" in refused and "Vous n'exercez plus dans le département." in refused
    assert requests_of(portal)[0].state == "rejected"
    assert events(portal)[-1] == "habilitation.rejected"


def online(tenant):
    """mon-enfant as if its YAML said `consent: online` (the shared registry stays as it is)."""
    return replace(tenant, config=tenant.config.model_copy(update={
        "habilitation": tenant.config.habilitation.model_copy(update={"consent": "online"})}))


def run_step(portal, step, request_id: int, tenant, **kwargs):
    async def call():
        async with portal.app.state.sessionmaker() as db:
            row = await db.scalar(select(HabilitationRequest).where(
                HabilitationRequest.tenant_id == SLUG, HabilitationRequest.id == request_id))
            await step(db, tenant, row, by="test", base_url="http://mon-enfant.localhost", **kwargs)
            await db.commit()

    portal.run(call)


def test_online_consent_is_a_single_use_link(portal_for, smtp_server):
    portal = portal_for(SLUG)
    on_file(portal)
    send_request(portal)
    (request,) = requests_of(portal)
    run_step(portal, service.request_consent, request.id, online(portal.tenant))
    asked = body(smtp_server.wait_for(2)[1])
    url = re.search(r"http://mon-enfant\.localhost(/habilitation/consentement/\S+)", asked).group(1)
    page = portal.client.get(url)
    assert page.status_code == 200 and page.headers["referrer-policy"] == "no-referrer"
    assert "J'autorise la mise en ligne de mes coordonnées et de mes disponibilités" in text_of(page)
    unticked = portal.post(url, {})
    assert unticked.status_code == 400 and "Cochez la case pour donner votre accord." in text_of(unticked)
    given = portal.post(url, {"accord": "1"})
    assert given.status_code == 200 and "Votre accord a bien été enregistré." in text_of(given)
    assert requests_of(portal)[0].state == "consent_received"
    assert portal.client.get(url).status_code == 404
    assert "Votre consentement a bien été reçu." in body(smtp_server.wait_for(3)[2])


def test_abandoned_requests_expire_once_emailed_and_audited(portal_for, smtp_server, frozen_clock):
    portal = portal_for(SLUG)
    on_file(portal)
    send_request(portal)
    send_request(portal, email="autre@example.fr", email_confirmation="autre@example.fr")
    send_request(portal, email="signee@example.fr", email_confirmation="signee@example.fr")
    first, second, signed = requests_of(portal)
    run_step(portal, service.request_consent, second.id, portal.tenant)
    run_step(portal, service.request_consent, signed.id, portal.tenant)
    run_step(portal, service.record_consent, signed.id, portal.tenant)
    smtp_server.wait_for(6)

    def expire() -> int:
        async def call():
            async with portal.app.state.sessionmaker() as db:
                count = await service.expire_abandoned(db, portal.tenant, base_url="http://mon-enfant.localhost")
                await db.commit()
                return count

        return portal.run(call)

    frozen_clock.advance(days=59, hours=23)
    assert expire() == 0
    frozen_clock.advance(hours=2)
    assert expire() == 2 and expire() == 0
    # The signed letter came back: the staff still have to activate it, it never expires.
    assert [row.state for row in requests_of(portal)] == ["expired", "expired", "consent_received"]
    mails = smtp_server.wait_for(8)
    assert sorted(mail["To"] for mail in mails[6:]) == ["Nadia.Roux@Example.fr", "autre@example.fr"]
    assert all("restée sans suite depuis 60 jours : elle a expiré" in body(mail) for mail in mails[6:])
    assert events(portal).count("habilitation.expired") == 2


def test_an_agrement_under_renewal_gets_the_guides_error_page(app, portal_for, console_for, smtp_server):
    portal = portal_for(SLUG)
    account = on_file(portal)
    send_request(portal)
    (request,) = requests_of(portal)
    caf = staff(console_for, app)
    for step in ("request_consent", "record_consent", "activate"):
        act(caf, step, request.id)
    password = re.search(r'\n"([^"\s]+)"\r?\n', body(smtp_server.wait_for(4)[3])).group(1)
    portal.login(EMAIL, password)
    portal.post("/changement-mot-de-passe", {"mot_de_passe": NEW_PASSWORD, "confirmation": NEW_PASSWORD})
    assert portal.client.get("/espace/disponibilites").status_code == 200

    async def renewal():
        async with portal.app.state.sessionmaker() as db:
            db.add(Agrement(tenant_id=SLUG, account_id=account.id, number="66-001", status="renewal"))
            await db.commit()

    portal.run(renewal)
    suspended = portal.client.get("/espace/disponibilites")
    assert suspended.status_code == 403
    assert "Votre inscription est momentanément suspendue en période de révision ou de renouvellement de votre " \
           "agrément." in text_of(suspended)


def test_the_daily_command_expires_abandoned_requests_once(tmp_path):
    import os
    import sqlite3

    from tests.test_cli import run

    env = {**os.environ, "ASSMAT_VAR_DIR": str(tmp_path), "ASSMAT_MAIL_BACKEND": "file"}
    assert run("db", "upgrade", env=env).returncode == 0
    with sqlite3.connect(tmp_path / "assmat.db") as db:
        for email, days in (("vieille@example.fr", 61), ("recente@example.fr", 3)):
            db.execute(
                "insert into habilitation_requests (tenant_id, state, status, civility, last_name, first_name, street_name,"
                " postal_code, city, phone, email, email_key, created_at, updated_at) values ('mon-enfant', 'received',"
                " 'assistant_inscrit', 'Mme', 'Roux', 'Nadia', 'rue', '66000', 'Perpignan', '0468000000', ?, ?,"
                " datetime('now', ?), datetime('now', ?))", (email, email, f"-{days} days", f"-{days} days"))
    for expected in (1, 0):
        result = run("habilitations-expire", env=env)
        assert result.returncode == 0, result.stderr
        assert f"mon-enfant : {expected} demande(s) d'habilitation expirée(s)" in result.stdout
        assert "gers" not in result.stdout  # tenants without habilitation are left alone
    with sqlite3.connect(tmp_path / "assmat.db") as db:
        states = dict(db.execute("select email, state from habilitation_requests"))
        mails = [row[0] for row in db.execute("select recipient from outbox where template = 'habilitation'")]
    assert states == {"vieille@example.fr": "expired", "recente@example.fr": "received"}
    assert mails == ["vieille@example.fr"]
    result = run("habilitations-expire", "nulle-part", env=env)
    assert result.returncode == 1 and "ERREUR tenant inconnu : nulle-part" in result.stderr


STEPS = {
    "received": "Votre demande d'habilitation a bien été enregistrée.",
    "already_pending": "déjà en cours d'examen",
    "already_habilitated": "dispose déjà d'une habilitation",
    "oriented": "Vous êtes orienté(e) vers le Pôle PMI",
    "consent_paper": "accord écrit pour la mise en ligne de vos disponibilités",
    "consent_online": "suivez ce lien (valable 14 jours)",
    "consent_received": "Votre consentement a bien été reçu.",
    "activated": "les guillemets ne font pas partie du mot de passe",
    "rejected": "pour le motif suivant",
    "expired": "restée sans suite depuis 60 jours",
}


@pytest.mark.parametrize("step", sorted(STEPS))
def test_each_steps_mail_says_it_in_french(step):
    from assmat.core.mail.outbox import render
    from assmat.tenants.loader import load_valid_tenants
    from tests.conftest import TENANT_CONFIGS

    tenant = load_valid_tenants(TENANT_CONFIGS)[SLUG]
    base = "https://pro.mon-enfant.fr"
    context = {"step": step, "url": f"{base}/habilitation/consentement/abc", "days": 14 if step != "expired" else 60,
               "password": "Ab3dE5gH9k", "min_length": 8, "reason": "Motif du service"}
    mail = render(tenant, "habilitation", context, base_url=base)
    assert mail.subject == "mon-enfant.fr - Votre demande d'habilitation"
    assert STEPS[step] in mail.body_text and mail.body_text.startswith("Bonjour,")
    assert ('"Ab3dE5gH9k"' in mail.body_text) == (step == "activated")
    assert ("Motif du service" in mail.body_text) == (step == "rejected")
    assert ("/habilitation/consentement/abc" in mail.body_text) == (step == "consent_online")


def test_a_disabled_account_is_not_activated_behind_the_staffs_back(app, portal_for, console_for, smtp_server):
    from assmat.core import clock

    portal = portal_for(SLUG)
    account = on_file(portal)
    send_request(portal)
    (request,) = requests_of(portal)
    caf = staff(console_for, app)
    act(caf, "request_consent", request.id)
    act(caf, "record_consent", request.id)
    portal.update_account(account.id, disabled_at=clock.now())
    act(caf, "activate", request.id)  # refused: nothing moves, no password goes out
    assert requests_of(portal)[0].state == "consent_received"
    assert portal.account(account.id).must_change_password is False
    assert len(smtp_server.wait_for(3)) == 3 and "habilitation.activated" not in events(portal)
