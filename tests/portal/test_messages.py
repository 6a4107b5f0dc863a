"""Messages (seed 001 §2.3): an assistant reads the tenant's general messages and their own
personal ones, sorts, searches, pages, archives; another assistant's personal message is out of
reach (404); staff write them in the console, a personal one with an email notice. Both backends."""

from __future__ import annotations

import re
from datetime import UTC, datetime, timedelta

import pytest
from sqlalchemy import event, select, update

from assmat.auth.models import Account
from assmat.core.mail.models import OutboxMail
from assmat.core.security.models import AuditEvent
from assmat.portal.messages.models import Message, MessageState
from tests.admin.conftest import Console, fetch, signed_in, store
from tests.conftest import smtp_settings
from tests.support.portal import text_of

# Read and archive marks are dialect upserts (ON CONFLICT); the search and sorts are SQL each
# backend evaluates its own way.
pytestmark = pytest.mark.both_backends

AM, GERS = "alpes-maritimes", "gers"
GOOD = "Lune#Soleil42"
EVERYONE = "tous les assistants maternels"
T0 = datetime(2026, 10, 1, 8, 0, tzinfo=UTC)


@pytest.fixture
def settings(tmp_path, database_url, smtp_server):
    return smtp_settings(tmp_path, database_url, smtp_server)


@pytest.fixture
def console_for(app, client_for):
    """As in tests/admin: a console user's browser on one host."""
    return lambda host: Console(client_for(host), app)


def assistant(portal_for, slug: str, identifier: str, first: str, last: str, email: str):
    portal = portal_for(slug)
    account, _ = portal.create_account(identifier, GOOD, email=email, first_name=first, last_name=last)
    response = portal.login(identifier, GOOD)
    assert response.status_code == 303 and response.headers["location"] == "/espace", response.text[:500]
    return portal, account


def message(tenant: str, subject: str, *, to=None, sender="Service PMI", body="Bonjour.", minutes=0) -> Message:
    return Message(tenant_id=tenant, subject=subject, sender=sender, body=body,
                   recipient_account_id=to.id if to is not None else None, created_at=T0 + timedelta(minutes=minutes))


def add(portal, *rows: Message) -> list[Message]:
    async def run():
        async with portal.app.state.sessionmaker(expire_on_commit=False) as db:
            db.add_all(rows)
            await db.commit()
        return list(rows)

    return portal.run(run)


def listed(response) -> list[int]:
    """The ids of the messages a list page shows, in order."""
    assert response.status_code == 200, response.text[:500]
    return [int(i) for i in re.findall(r'href="/espace/messages/(\d+)"', response.text)]


def post_form(portal, path: str, form_path: str):
    return portal.post(path, {}, form_path=form_path)


@pytest.fixture
def world(portal_for):
    anne_portal, anne = assistant(portal_for, AM, "AGR-0001", "Anne", "Martin", "anne@example.org")
    bruno_portal, bruno = assistant(portal_for, AM, "AGR-0002", "Bruno", "Durand", "bruno@example.org")
    general, personal = add(anne_portal, message(AM, "Réunion d'information", minutes=1),
                            message(AM, "Votre agrément", to=anne, minutes=2))
    return {"anne": (anne_portal, anne), "bruno": (bruno_portal, bruno), "general": general, "personal": personal}


# -- visibility --------------------------------------------------------------------------------------------


def test_general_messages_reach_every_assistant_personal_ones_only_theirs(world, portal_for):
    anne_portal, _ = world["anne"]
    bruno_portal, _ = world["bruno"]
    general, personal = world["general"], world["personal"]

    page = anne_portal.client.get("/espace/messages")
    assert listed(page) == [personal.id, general.id]
    text = text_of(page)
    assert EVERYONE in text and "Anne Martin" in text and "Messages reçus" in text and "Voir" in text

    assert listed(bruno_portal.client.get("/espace/messages")) == [general.id]
    assert "Votre agrément" not in text_of(bruno_portal.client.get("/espace/messages", params={"q": "agrément"}))
    assert bruno_portal.client.get(f"/espace/messages/{personal.id}").status_code == 404
    for action in ("archiver", "desarchiver"):
        response = bruno_portal.post(f"/espace/messages/{personal.id}/{action}", {}, form_path="/espace/messages")
        assert response.status_code == 404
    assert fetch_states(anne_portal) == []
    own = anne_portal.client.get(f"/espace/messages/{personal.id}")
    assert own.status_code == 200 and "Votre agrément" in text_of(own) and "Anne Martin" in text_of(own)

    gers_portal, _ = assistant(portal_for, GERS, "GERS-0001", "Carole", "Petit", "carole@example.org")
    (theirs,) = add(gers_portal, message(GERS, "Message du Gers"))
    assert listed(gers_portal.client.get("/espace/messages")) == [theirs.id]
    for other in (general, personal):
        assert gers_portal.client.get(f"/espace/messages/{other.id}").status_code == 404
    assert anne_portal.client.get(f"/espace/messages/{theirs.id}").status_code == 404
    assert "Message du Gers" not in text_of(anne_portal.client.get("/espace/messages"))


def test_messages_are_404_where_the_tenant_has_no_messages(portal_for):
    cestas = portal_for("cestas")
    for path in ("/espace/messages", "/espace/messages/archives", "/espace/messages/1"):
        assert cestas.client.get(path).status_code == 404


def test_anonymous_visitors_are_sent_to_sign_in(portal_for):
    response = portal_for(AM).client.get("/espace/messages")
    assert response.status_code == 303 and response.headers["location"].startswith("/connexion")


# -- sorting, search, pagination ----------------------------------------------------------------------------


def test_each_column_sorts_both_ways(world):
    portal, anne = world["anne"]
    general, personal = world["general"], world["personal"]  # "Réunion…" 08:01 general; "Votre agrément" 08:02 to Anne
    zeta, alpha = add(portal, message(AM, "Zéro papier", sender="Bureau des agréments", minutes=3),
                      message(AM, "Accueil", to=anne, sender="Accueil PMI", minutes=0))
    by_date = [zeta.id, personal.id, general.id, alpha.id]
    assert listed(portal.client.get("/espace/messages")) == by_date
    assert listed(portal.client.get("/espace/messages", params={"tri": "date", "ordre": "desc"})) == by_date
    assert listed(portal.client.get("/espace/messages", params={"tri": "date", "ordre": "asc"})) == by_date[::-1]
    assert listed(portal.client.get("/espace/messages", params={"tri": "objet", "ordre": "asc"})) == [
        alpha.id, general.id, personal.id, zeta.id]
    assert listed(portal.client.get("/espace/messages", params={"tri": "objet", "ordre": "desc"})) == [
        zeta.id, personal.id, general.id, alpha.id]
    # Senders: "Accueil PMI" < "Bureau des agréments" < "Service PMI" (two: newest first).
    assert listed(portal.client.get("/espace/messages", params={"tri": "expediteur", "ordre": "asc"})) == [
        alpha.id, zeta.id, personal.id, general.id]
    assert listed(portal.client.get("/espace/messages", params={"tri": "expediteur", "ordre": "desc"})) == [
        personal.id, general.id, zeta.id, alpha.id]
    # Recipients: "Anne Martin" (personal) < "tous les assistants maternels" (general).
    assert listed(portal.client.get("/espace/messages", params={"tri": "destinataire", "ordre": "asc"})) == [
        personal.id, alpha.id, zeta.id, general.id]
    assert listed(portal.client.get("/espace/messages", params={"tri": "destinataire", "ordre": "desc"})) == [
        zeta.id, general.id, personal.id, alpha.id]
    # Unknown values fall back to the default order, never an error.
    assert listed(portal.client.get("/espace/messages", params={"tri": "body; drop", "ordre": "sideways", "page": "x"})) == by_date
    # The column headers link to the other direction.
    page = portal.client.get("/espace/messages", params={"tri": "objet", "ordre": "asc"}).text
    assert "tri=objet&amp;ordre=desc" in page and 'aria-sort="ascending"' in page


def test_search_looks_in_subject_body_and_sender(world):
    portal, _ = world["anne"]
    general, personal = world["general"], world["personal"]
    other, literal = add(portal, message(AM, "Formation", body="Inscrivez-vous avant le 15 novembre.", sender="Relais RAM", minutes=5),
                         message(AM, "Taux 100%", minutes=6))
    search = lambda q: listed(portal.client.get("/espace/messages", params={"q": q}))
    assert search("réunion") == [general.id]
    assert search("NOVEMBRE") == [other.id]
    assert search("relais") == [other.id]
    assert search("pmi") == [literal.id, personal.id, general.id]
    assert search("100%") == [literal.id]
    assert search("%") == [literal.id]  # a literal percent sign, not a wildcard
    assert search("_") == []
    nothing = portal.client.get("/espace/messages", params={"q": "introuvable"})
    assert listed(nothing) == [] and "Aucun message ne correspond à votre recherche." in text_of(nothing)
    # Sorting keeps the search.
    assert listed(portal.client.get("/espace/messages", params={"q": "pmi", "tri": "date", "ordre": "asc"})) == [
        general.id, personal.id, literal.id]


@pytest.mark.parametrize("query", ["meteo", "MÉTÉO", "Météo", "météo", "  alerte   METEO "])
def test_search_ignores_accents_and_case(world, console_for, app, query):
    portal, _ = world["anne"]
    stored, = add(portal, message(AM, "Alerte météo : vigilance orange", body="Épisode neigeux.", minutes=5))
    # Written by staff in the console: found the same way.
    console = signed_in(console_for, app, AM, "agent.meteo@am.fr")
    assert write(console, destinataire="tous", expediteur="Service Météo", objet="Fermeture", corps="Rien.").status_code == 303
    (written,) = fetch(console, select(Message.id).where(Message.subject == "Fermeture"))
    search = lambda q: listed(portal.client.get("/espace/messages", params={"q": q}))
    assert search(query) == ([stored.id] if "alerte" in query.lower() else [written.id, stored.id])
    assert search("NEIGEUX") == search("episode") == [stored.id]
    assert search("meteor") == []


def test_pages_of_twenty_and_the_same_sql_for_any_number_of_messages(world):
    portal, anne = world["anne"]
    engine = portal.app.state.engine.sync_engine
    statements: list[str] = []

    def count(conn, cursor, statement, *args):
        statements.append(statement)

    def queries(path: str, **params) -> tuple[int, list[int]]:
        statements.clear()
        event.listen(engine, "before_cursor_execute", count)
        try:
            ids = listed(portal.client.get(path, params=params))
        finally:
            event.remove(engine, "before_cursor_execute", count)
        return len(statements), ids

    # The first view after sign-in may also write the session's last_seen_at (TOUCH_EVERY, when
    # a loaded machine took over a minute to get here); what is measured is every view after it.
    portal.client.get("/espace/messages")
    few, _ = queries("/espace/messages")
    add(portal, *[message(AM, f"Lettre {n:02d}", to=anne if n % 2 else None, minutes=10 + n) for n in range(43)])
    many, first = queries("/espace/messages")
    assert many == few
    assert len(first) == 20
    page = text_of(portal.client.get("/espace/messages"))
    assert "page 1 sur 3" in page and "Page suivante" in page and "Page précédente" not in page
    _, second = queries("/espace/messages", page="2")
    _, third = queries("/espace/messages", page="3")
    assert len(second) == 20 and len(third) == 5 and not set(first) & set(second) and not set(second) & set(third)
    last = text_of(portal.client.get("/espace/messages", params={"page": "3"}))
    assert "Page précédente" in last and "Page suivante" not in last
    assert listed(portal.client.get("/espace/messages", params={"page": "9"})) == []
    # Archives are one query too.
    archived_few, _ = queries("/espace/messages/archives")
    assert archived_few == few


# -- reading, archiving --------------------------------------------------------------------------------------


def fetch_states(portal) -> list:
    return portal.query(select(MessageState.message_id, MessageState.account_id, MessageState.read_at, MessageState.archived_at)
                        .order_by(MessageState.id))


def test_reading_marks_a_message_read_once(world, frozen_clock):
    portal, anne = world["anne"]
    bruno_portal, _ = world["bruno"]
    general = world["general"]
    page = portal.client.get("/espace/messages").text
    assert page.count("non lu") == 2 and "<strong>Réunion d&#39;information</strong>" in page

    assert portal.client.get(f"/espace/messages/{general.id}").status_code == 200
    (state,) = fetch_states(portal)
    assert (state.message_id, state.account_id, state.archived_at) == (general.id, anne.id, None)
    first_read = state.read_at
    assert first_read is not None
    frozen_clock.advance(hours=1)
    assert portal.client.get(f"/espace/messages/{general.id}").status_code == 200
    (again,) = fetch_states(portal)
    assert again.read_at == first_read
    page = portal.client.get("/espace/messages").text
    assert page.count("non lu") == 1 and "<strong>Réunion d&#39;information</strong>" not in page
    # Bruno's copy of the general message is still unread.
    assert bruno_portal.client.get("/espace/messages").text.count("non lu") == 1


def test_archive_and_unarchive_with_csrf(world):
    portal, _ = world["anne"]
    general, personal = world["general"], world["personal"]
    refused = portal.client.post(f"/espace/messages/{general.id}/archiver", data={"csrf_token": "faux"})
    assert refused.status_code == 403
    assert portal.client.post(f"/espace/messages/{general.id}/archiver").status_code in (400, 403)  # no form at all
    assert fetch_states(portal) == []

    done = portal.post(f"/espace/messages/{general.id}/archiver", {}, form_path="/espace/messages")
    assert done.status_code == 303 and done.headers["location"] == "/espace/messages"
    assert listed(portal.client.get("/espace/messages")) == [personal.id]
    archives = portal.client.get("/espace/messages/archives")
    assert listed(archives) == [general.id] and "Messages archivés" in text_of(archives)
    assert "non lu" in archives.text  # archived unread stays unread
    read = portal.client.get(f"/espace/messages/{general.id}")
    assert "Remettre dans les messages reçus" in text_of(read)

    back = portal.post(f"/espace/messages/{general.id}/desarchiver", {}, form_path="/espace/messages")
    assert back.status_code == 303 and back.headers["location"] == "/espace/messages/archives"
    assert listed(portal.client.get("/espace/messages")) == [personal.id, general.id]
    assert listed(portal.client.get("/espace/messages/archives")) == []
    (state,) = fetch_states(portal)
    assert state.archived_at is None and state.read_at is not None
    assert portal.post("/espace/messages/999999/archiver", {}, form_path="/espace/messages").status_code == 404


# -- the console ----------------------------------------------------------------------------------------------


def write(console, **form):
    token = console.csrf("/admin/message/ecrire")
    return console.client.post("/admin/message/ecrire", data={"csrf_token": token, **form})


def test_staff_write_a_general_message_seen_by_every_assistant_of_the_tenant_only(world, console_for, app, portal_for):
    anne_portal, _ = world["anne"]
    bruno_portal, _ = world["bruno"]
    gers_portal, _ = assistant(portal_for, GERS, "GERS-0001", "Carole", "Petit", "carole@example.org")
    console = signed_in(console_for, app, AM, "agent@am.fr")
    form = console.client.get("/admin/message/ecrire")
    assert form.status_code == 200 and "Écrire un message" in text_of(form) and EVERYONE in text_of(form)
    assert "/admin/message/ecrire" in console.client.get("/admin/message/list").text

    done = write(console, destinataire="tous", expediteur="Service PMI", objet="Nouvelle permanence", corps="Le jeudi.")
    assert done.status_code == 303
    (sent,) = fetch(console, select(Message).where(Message.subject == "Nouvelle permanence"))
    sent = sent.Message
    assert (sent.tenant_id, sent.recipient_account_id, sent.body) == (AM, None, "Le jeudi.")
    assert "Le message a été envoyé." in text_of(console.client.get(done.headers["location"]))
    for portal in (anne_portal, bruno_portal):
        assert sent.id in listed(portal.client.get("/espace/messages"))
    assert sent.id not in listed(gers_portal.client.get("/espace/messages"))
    assert gers_portal.client.get(f"/espace/messages/{sent.id}").status_code == 404
    listing = text_of(console.client.get("/admin/message/list"))
    assert "Nouvelle permanence" in listing and EVERYONE in listing and "Votre agrément" in listing
    (event,) = fetch(console, select(AuditEvent).where(AuditEvent.type == "message.sent"))
    assert event.AuditEvent.tenant_id == AM and event.AuditEvent.detail["message_id"] == sent.id
    assert event.AuditEvent.detail["general"] is True and event.AuditEvent.detail["by"] == "agent@am.fr"

    # Invalid forms write nothing.
    before = len(fetch(console, select(Message.id)))
    assert write(console, destinataire="tous", expediteur="PMI", objet="", corps="x").status_code == 400
    assert write(console, destinataire="un", identifiant="AGR-9999", expediteur="PMI", objet="o", corps="x").status_code == 400
    assert console.client.post("/admin/message/ecrire", data={"destinataire": "tous", "expediteur": "PMI", "objet": "o",
                                                              "corps": "x"}).status_code == 403
    assert console.client.post("/admin/message/ecrire", data={"csrf_token": "faux", "destinataire": "tous",
                                                              "expediteur": "PMI", "objet": "o", "corps": "x"}).status_code == 403
    assert len(fetch(console, select(Message.id))) == before


def test_a_personal_message_reaches_one_assistant_and_an_email_notice_without_content(world, console_for, app, smtp_server):
    anne_portal, _ = world["anne"]
    bruno_portal, bruno = world["bruno"]
    console = signed_in(console_for, app, AM, "agent@am.fr")
    done = write(console, destinataire="un", identifiant="agr-0002", expediteur="Service PMI",
                 objet="Visite du 12 novembre", corps="Merci de confirmer le créneau CONFIDENTIEL.")
    assert done.status_code == 303, text_of(done)
    (sent,) = fetch(console, select(Message).where(Message.subject == "Visite du 12 novembre"))
    assert sent.Message.recipient_account_id == bruno.id
    assert sent.Message.id in listed(bruno_portal.client.get("/espace/messages"))
    assert "Bruno Durand" in text_of(bruno_portal.client.get("/espace/messages"))
    assert sent.Message.id not in listed(anne_portal.client.get("/espace/messages"))
    assert anne_portal.client.get(f"/espace/messages/{sent.Message.id}").status_code == 404
    assert "Bruno Durand" in text_of(console.client.get("/admin/message/list"))

    (mail,) = smtp_server.wait_for(1)
    assert mail["To"] == "bruno@example.org"
    content = mail.get_body(("plain",)).get_content() + mail.get_body(("html",)).get_content() + str(mail["Subject"])
    assert "CONFIDENTIEL" not in content and "Visite du 12 novembre" not in content
    (event,) = fetch(console, select(AuditEvent).where(AuditEvent.type == "message.sent"))
    assert event.AuditEvent.account_id == bruno.id and event.AuditEvent.detail["email_notice"] is True


def test_a_stored_address_the_mailer_refuses_never_stops_a_personal_message(world, console_for, app, smtp_server):
    """An address stored before the shared address rule: the message is written, the notice is not
    sent, the audit trail says so, and staff get no server error."""
    bruno_portal, bruno = world["bruno"]
    console = signed_in(console_for, app, AM, "agent@am.fr")

    async def spoil_address():
        async with app.state.sessionmaker() as db:
            await db.execute(update(Account).where(Account.id == bruno.id).values(email="<bad@example.org>"))
            await db.commit()

    console.client.portal.call(spoil_address)
    done = write(console, destinataire="un", identifiant="agr-0002", expediteur="Service PMI",
                 objet="Adresse refusée", corps="Le message reste lisible sur le portail.")
    assert done.status_code == 303, text_of(done)
    (sent,) = fetch(console, select(Message).where(Message.subject == "Adresse refusée"))
    assert sent.Message.id in listed(bruno_portal.client.get("/espace/messages"))
    (failed,) = fetch(console, select(AuditEvent).where(AuditEvent.type == "mail.not_sent"))
    assert failed.AuditEvent.account_id == bruno.id
    assert failed.AuditEvent.detail["template"] == "personal_message_notice"
    (event,) = fetch(console, select(AuditEvent).where(AuditEvent.type == "message.sent"))
    assert event.AuditEvent.detail["email_notice"] is False
    assert fetch(console, select(OutboxMail.id).where(OutboxMail.template == "personal_message_notice")) == []


def test_read_only_staff_cannot_write(world, console_for, app):
    reader = signed_in(console_for, app, AM, "lecteur@am.fr", role="read_only")
    assert reader.client.get("/admin/message/list").status_code == 200
    assert "/admin/message/ecrire" not in reader.client.get("/admin/message/list").text
    assert reader.client.get("/admin/message/ecrire").status_code == 403
    token = reader.csrf("/admin/message/list")
    response = reader.client.post("/admin/message/ecrire", data={"csrf_token": token, "destinataire": "tous",
                                                                 "expediteur": "PMI", "objet": "o", "corps": "x"})
    assert response.status_code == 403
    assert fetch(reader, select(Message.subject).where(Message.subject == "o")) == []


def test_another_tenants_staff_can_neither_see_nor_write_to_this_tenant(world, console_for, app, portal_for):
    general, personal = world["general"], world["personal"]
    gers = signed_in(console_for, app, GERS, "agent@gers.fr")
    store(gers, message(GERS, "Message gersois"))
    listing = text_of(gers.client.get("/admin/message/list", params={"pageSize": 100}))
    assert "Message gersois" in listing and "Réunion d'information" not in listing and "Votre agrément" not in listing
    assert gers.client.get(f"/admin/message/details/{general.id}").status_code in (403, 404)
    assert "Votre agrément" not in text_of(gers.client.get(f"/admin/message/details/{personal.id}"))
    # Anne's identifier is unknown in the Gers.
    response = write(gers, destinataire="un", identifiant="AGR-0001", expediteur="PMI", objet="Intrus", corps="x")
    assert response.status_code == 400
    assert fetch(gers, select(Message.id).where(Message.subject == "Intrus")) == []
    # The Gers console session is anonymous on the Alpes-Maritimes host.
    other_host = console_for(AM)
    other_host.client.cookies.update(gers.client.cookies)
    assert other_host.client.get("/admin/message/list").status_code in (302, 303)
    # And a tenant without messages has no such page.
    cestas = signed_in(console_for, app, "cestas", "agent@cestas.fr")
    assert cestas.client.get("/admin/message/list").status_code in (403, 404)
    assert cestas.client.get("/admin/message/ecrire").status_code in (403, 404)

