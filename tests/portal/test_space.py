"""The assistant's space beyond children and messages: the dashboard (seed 001 §2.1), « Mon
agrément » (§2.2), « Signaler un changement de situation » (seed 002) reaching the console, the
console's declarations with the late filter, « Mon compte » (§2.5). Both backends; the staff's
email is asserted as received by a real SMTP server."""

from __future__ import annotations

import re
from datetime import UTC, date, datetime, timedelta

import pytest
from sqlalchemy import event, func, select

from assmat.core.security.models import AuditEvent
from assmat.portal.agrement.models import Agrement
from assmat.portal.children.models import CarePeriod, Child
from assmat.portal.messages.models import Message, MessageState
from assmat.portal.space.models import SituationChange
from tests.admin.conftest import Console, fetch, signed_in
from tests.conftest import smtp_settings
from tests.flows import test_eure_et_loir as eure_flow
from tests.portal.test_children_pages import declaration
from tests.support.portal import text_of

AM, GERS, EL = "alpes-maritimes", "gers", "eure-et-loir"
GOOD = "Lune#Soleil42"
T0 = datetime(2026, 10, 1, 8, 0, tzinfo=UTC)
SEED_SENTENCE = (
    "Les informations contenues sur cette page sont issues de l'application métier du service des modes d'accueil "
    "de la petite enfance. Pour toute modification, veuillez contacter le référent administratif dont les coordonnées "
    "figurent sur votre attestation d'agrément ou adresser un courriel à nepasrepondre@departement06.fr"
)


@pytest.fixture
def settings(tmp_path, database_url, smtp_server):
    return smtp_settings(tmp_path, database_url, smtp_server)


@pytest.fixture
def console_for(app, client_for):
    return lambda host: Console(client_for(host), app)


def assistant(portal_for, slug: str, identifier: str, first: str, last: str, **fields):
    portal = portal_for(slug)
    account, _ = portal.create_account(identifier, GOOD, email=f"{first.lower()}@example.org", first_name=first,
                                       last_name=last, **fields)
    response = portal.login(identifier, GOOD)
    assert response.status_code == 303 and response.headers["location"] == "/espace", response.text[:500]
    return portal, account


def add(portal, *rows):
    async def run():
        async with portal.app.state.sessionmaker(expire_on_commit=False) as db:
            db.add_all(rows)
            await db.commit()
            return rows

    return portal.run(run)


def child(tenant: str, account, last: str, *, start: date, end: date | None, declared: datetime = T0,
          late: bool = False) -> tuple[Child, date, date | None]:
    return (Child(tenant_id=tenant, account_id=account.id, last_name=last, first_name="Lou", birth_date=date(2024, 3, 1),
                  address="1 rue des Lilas", postal_code="06000", city="Nice", declared_at=declared, care_start=start,
                  declared_late=late), start, end)


def add_children(portal, *specs):
    children = add(portal, *(spec[0] for spec in specs))
    add(portal, *(CarePeriod(tenant_id=kid.tenant_id, child_id=kid.id, childcare_type="standard", start_date=start,
                             end_date=end) for kid, (_, start, end) in zip(children, specs)))
    return children


@pytest.fixture
def anne(portal_for, frozen_clock):
    return assistant(portal_for, AM, "06-AM-0001", "Anne", "Martin", civility="Madame", family_situation="Concubinage",
                     address="1, Route DE LA COLLE", postal_code="06480", city="LA COLLE-SUR-LOUP")


# -- dashboard -----------------------------------------------------------------------------------------


def test_the_dashboard_shows_personal_information_with_the_seed_sentence(anne):
    portal, _ = anne
    page = text_of(portal.client.get("/espace"))
    for expected in ("Tableau de bord", "Mes informations personnelles", "Madame", "Martin", "Anne", "17/05/1980",
                     "Concubinage", "1, Route DE LA COLLE 06480 LA COLLE-SUR-LOUP", SEED_SENTENCE,
                     "Documentation du portail Extranet"):
        assert expected in page, expected
    # Nothing yet: the seed's empty states.
    assert "Aucun enfant accueilli actuellement" in page and "Aucun message." in page
    assert "Aucun agrément n'est enregistré pour votre compte." in page


@pytest.mark.both_backends  # ordering, limits and isolation in SQL
def test_the_dashboard_lists_latest_messages_current_children_and_agrement_of_this_assistant_only(anne, portal_for):
    portal, account = anne
    other_portal, other = assistant(portal_for, AM, "06-AM-0002", "Bruno", "Durand")
    add(portal, *[Message(tenant_id=AM, subject=f"Info {n}", sender="PMI", body=".", created_at=T0 + timedelta(days=n))
                  for n in range(7)])
    add(portal, Message(tenant_id=AM, subject="Pour Bruno seulement", sender="PMI", body=".", recipient_account_id=other.id,
                        created_at=T0 + timedelta(days=30)))
    archived, = add(portal, Message(tenant_id=AM, subject="Rangé aux archives", sender="PMI", body=".",
                                    created_at=T0 + timedelta(days=40)))
    add(portal, MessageState(tenant_id=AM, message_id=archived.id, account_id=account.id, archived_at=T0))
    add_children(portal, child(AM, account, "ENCOURS", start=date(2026, 9, 1), end=None),
                 child(AM, account, "TERMINE", start=date(2025, 9, 1), end=date(2026, 6, 30)),
                 child(AM, other, "AUTREENFANT", start=date(2026, 9, 1), end=None))
    add(portal, Agrement(tenant_id=AM, account_id=account.id, number="06-AM-0001", start_date=date(2020, 1, 1),
                         end_date=date(2030, 12, 31), capacity=4, place="Domicile"),
        Agrement(tenant_id=AM, account_id=other.id, number="06-AM-0002", capacity=2))

    page = text_of(portal.client.get("/espace"))
    # The five newest received messages, general ones with their type, newest first.
    subjects = re.findall(r"Info \d", page)
    assert subjects == ["Info 6", "Info 5", "Info 4", "Info 3", "Info 2"]
    assert "Général" in page and "Le 07/10/2026 à 10:00" in page
    assert "Pour Bruno seulement" not in page and "Rangé aux archives" not in page
    assert "ENCOURS" in page and "accueilli(e) depuis le 01/09/2026" in page
    assert "TERMINE" not in page and "AUTREENFANT" not in page
    assert "06-AM-0001" in page and "31/12/2030" in page and "4 enfants" in page and "06-AM-0002" not in page
    for link in ("/espace/messages", "/espace/enfants", "/espace/agrement", "/espace/compte"):
        assert f'href="{link}"' in portal.client.get("/espace").text


def test_the_dashboard_follows_the_tenant_features(portal_for):
    portal, _ = assistant(portal_for, GERS, "gers-0001", "Claire", "Dupuis")
    page = portal.client.get("/espace").text
    assert "Mes messages" in page  # the Gers has messages
    assert "/espace/enfants" not in page and "/espace/agrement" not in page
    # The A-M sentence is the tenant's: the Gers shows the catalog's.
    assert "nepasrepondre@departement06.fr" not in page
    assert "issues de l'application métier" in text_of(portal.client.get("/espace"))


@pytest.mark.both_backends  # statement counts
def test_the_dashboard_costs_the_same_queries_whatever_the_data(anne):
    portal, account = anne
    engine = portal.app.state.engine.sync_engine
    statements: list[str] = []

    def count(conn, cursor, statement, *args):
        statements.append(statement)

    def queries(path: str) -> int:
        statements.clear()
        event.listen(engine, "before_cursor_execute", count)
        try:
            assert portal.client.get(path).status_code == 200
        finally:
            event.remove(engine, "before_cursor_execute", count)
        return len(statements)

    few = {path: queries(path) for path in ("/espace", "/espace/enfants", "/espace/agrement")}
    add(portal, *[Message(tenant_id=AM, subject=f"M{n}", sender="PMI", body=".", created_at=T0) for n in range(30)])
    add_children(portal, *[child(AM, account, f"E{n}", start=date(2026, 9, 1), end=date(2027, 1, n % 28 + 1))
                           for n in range(25)])
    add(portal, *[Agrement(tenant_id=AM, account_id=account.id, number=f"06-AM-X{n}") for n in range(3)])
    many = {path: queries(path) for path in few}
    assert many == few


@pytest.mark.both_backends  # a PostgreSQL checkout is three round trips (ping, BEGIN, ROLLBACK)
def test_a_page_view_takes_one_connection_and_a_form_post_does_not_keep_the_sessions(anne):
    """The session middleware lends the unit of work that loaded the account to a page view's
    handler (assmat.auth.session_middleware); a POST's handler reads a body first, so the
    middleware gives its connection back before the handler takes one."""
    portal, _ = anne
    engine = portal.app.state.engine.sync_engine
    pool: list[str] = []

    def checkout(*args):
        pool.append("out")

    def checkin(*args):
        pool.append("in")

    event.listen(engine, "checkout", checkout)
    event.listen(engine, "checkin", checkin)
    try:
        for path in ("/espace", "/espace/enfants", "/espace/agrement", "/espace/messages", "/espace/messages/archives"):
            pool.clear()
            response = portal.client.get(path)
            assert response.status_code == 200 and 'action="/deconnexion"' in response.text, path  # signed in
            assert pool == ["out", "in"], path
        form = portal.csrf("/espace/agrement/changement-situation")
        pool.clear()
        response = portal.client.post("/espace/agrement/changement-situation",
                                      data={"message": "Déménagement le 3 novembre", "csrf_token": form})
        assert response.status_code == 303
        assert pool[:3] == ["out", "in", "out"]  # the middleware's, given back, then the handler's
    finally:
        event.remove(engine, "checkout", checkout)
        event.remove(engine, "checkin", checkin)
    assert portal.query(select(func.count()).select_from(SituationChange))[0][0] == 1


# -- Mon agrément --------------------------------------------------------------------------------------


def test_mon_agrement_lists_every_agrement_read_only(anne, portal_for):
    portal, account = anne
    _, other = assistant(portal_for, AM, "06-AM-0002", "Bruno", "Durand")
    add(portal, Agrement(tenant_id=AM, account_id=account.id, number="06-AM-0001", start_date=date(2020, 1, 1),
                         end_date=date(2030, 12, 31), capacity=4, place="Domicile, Nice"),
        Agrement(tenant_id=AM, account_id=account.id, number="06-MAM-0001", start_date=date(2024, 6, 1), capacity=1),
        Agrement(tenant_id=AM, account_id=other.id, number="06-AM-0002"))
    response = portal.client.get("/espace/agrement")
    page = text_of(response)
    assert response.status_code == 200
    assert "Toutes les informations affichées dans cet écran proviennent de l'application métier" in page
    for expected in ("Agrément n° 06-AM-0001", "01/01/2020", "31/12/2030", "4 enfants", "Domicile, Nice",
                     "Agrément n° 06-MAM-0001", "01/06/2024", "1 enfant", "non renseigné"):
        assert expected in page, expected
    assert "06-AM-0002" not in page
    assert page.index("06-MAM-0001") < page.index("Agrément n° 06-AM-0001")  # newest first
    assert "<input" not in response.text.split('id="titre-changement"')[0].split("<main")[1]  # nothing to edit
    assert "/espace/agrement/changement-situation" in response.text


def test_mon_agrement_is_404_where_the_tenant_has_no_such_page_and_asks_to_sign_in(portal_for):
    portal, _ = assistant(portal_for, GERS, "gers-0001", "Claire", "Dupuis")
    assert portal.client.get("/espace/agrement").status_code == 404
    assert portal.client.get("/espace/agrement/changement-situation").status_code == 404
    anonymous = portal_for(AM)
    response = anonymous.client.get("/espace/agrement")
    assert response.status_code == 303 and response.headers["location"].startswith("/connexion")


# -- changement de situation ---------------------------------------------------------------------------


def test_a_change_of_situation_reaches_the_staff_by_console_and_email(anne, smtp_server, console_for, app):
    portal, account = anne
    form = portal.client.get("/espace/agrement/changement-situation")
    assert form.status_code == 200 and 'name="message"' in form.text and 'for="champ-message"' in form.text
    text = "Je déménage au 3 avenue des Fleurs, 06000 Nice, le 1er décembre."
    response = portal.post("/espace/agrement/changement-situation", {"message": text})
    assert response.status_code == 303 and response.headers["location"] == "/espace/agrement?info=situation_sent"
    assert "Votre signalement a été transmis aux services du département." in text_of(
        portal.client.get(response.headers["location"]))
    (change,) = portal.query(select(SituationChange))
    assert change.SituationChange.account_id == account.id and change.SituationChange.message == text
    assert change.SituationChange.tenant_id == AM and change.SituationChange.handled_at is None

    (mail,) = smtp_server.wait_for(1)
    assert mail["To"] == app.state.registry.get(AM).config.branding.admin_email
    assert "Changement de situation signalé par Anne Martin" in str(mail["Subject"])
    body = mail.get_body(("plain",)).get_content()
    assert text in body and "06-AM-0001" in body
    (audit,) = portal.query(select(AuditEvent).where(AuditEvent.type == "situation_change.sent"))
    assert audit.AuditEvent.account_id == account.id and text not in str(audit.AuditEvent.detail)

    console = signed_in(console_for, app, AM, "agent@am.fr")
    listing = text_of(console.client.get("/admin/changement-situation/list"))
    assert "Je déménage au 3 avenue des Fleurs" in listing and f"Anne Martin ({account.identifier})" in listing
    details = text_of(console.client.get(f"/admin/changement-situation/details/{change.SituationChange.id}"))
    assert text in details
    # Marking it handled: confirmation page, then the CSRF-checked POST.
    confirm = console.client.get("/admin/changement-situation/action/mark-handled",
                                 params={"pks": str(change.SituationChange.id)})
    assert confirm.status_code == 200
    token = re.search(r'name="csrf_token" value="([^"]+)"', confirm.text).group(1)
    done = console.client.post("/admin/changement-situation/run/mark_handled",
                               data={"csrf_token": token, "pks": str(change.SituationChange.id)})
    assert done.status_code in (302, 303)
    (handled,) = fetch(console, select(SituationChange.handled_at))
    assert handled[0] is not None
    assert fetch(console, select(func.count()).select_from(AuditEvent).where(AuditEvent.type == "situation_change.handled"))[0][0] == 1


@pytest.mark.parametrize(("message", "status"), [("", 400), ("   \n ", 400), ("x" * 5001, 400)])
@pytest.mark.both_backends  # over-long text: PostgreSQL enforces lengths
def test_a_change_of_situation_without_text_or_too_long_changes_nothing(anne, message, status):
    portal, _ = anne
    response = portal.post("/espace/agrement/changement-situation", {"message": message})
    assert response.status_code == status
    assert "Veuillez décrire le changement (5 000 caractères au plus)." in text_of(response)
    assert portal.query(select(func.count()).select_from(SituationChange))[0][0] == 0


@pytest.mark.both_backends  # the daily limit: a conditional UPDATE … RETURNING
def test_a_change_of_situation_needs_csrf_and_is_limited_per_day(anne, frozen_clock):
    portal, _ = anne
    forged = portal.client.post("/espace/agrement/changement-situation", data={"message": "Bonjour"})
    assert forged.status_code == 403
    assert portal.query(select(func.count()).select_from(SituationChange))[0][0] == 0
    for n in range(5):
        assert portal.post("/espace/agrement/changement-situation", {"message": f"Signalement {n}"}).status_code == 303
    refused = portal.post("/espace/agrement/changement-situation", {"message": "Un de trop"})
    assert refused.status_code == 429 and "plusieurs signalements aujourd'hui" in text_of(refused)
    assert portal.query(select(func.count()).select_from(SituationChange))[0][0] == 5
    frozen_clock.advance(days=1)
    assert portal.login("06-AM-0001", GOOD).status_code == 303  # the session ended overnight
    assert portal.post("/espace/agrement/changement-situation", {"message": "Le lendemain"}).status_code == 303


def test_eure_et_loir_shows_its_own_wording(portal_for):
    portal = portal_for(EL)
    eure_flow.active_account(portal)
    assert eure_flow.login(portal, eure_flow.PMI_NUMBER, eure_flow.GOOD).status_code == 303
    page = text_of(portal.client.get("/espace/agrement"))
    assert "veuillez contacter la circonscription de PMI dont vous dépendez" in page
    assert "Signaler un changement de situation" in page


@pytest.mark.both_backends  # isolation
def test_staff_of_another_tenant_never_see_the_reports(anne, console_for, app):
    portal, _ = anne
    portal.post("/espace/agrement/changement-situation", {"message": "Confidentiel-AM"})
    (change_id,) = portal.query(select(SituationChange.id))[0]
    gers = signed_in(console_for, app, GERS, "agent@gers.fr")
    assert "Confidentiel-AM" not in gers.client.get("/admin/changement-situation/list").text
    assert gers.client.get(f"/admin/changement-situation/details/{change_id}").status_code in (403, 404)


# -- the console's declarations ------------------------------------------------------------------------


@pytest.mark.both_backends  # the lateness filter in SQL, over dates
def test_declarations_are_marked_late_after_eight_days_and_filtered_in_the_console(anne, frozen_clock, console_for, app):
    portal, account = anne
    # Clock: 2 November 2026. Care began 24 October (9 days before): late; 25 October (8 days): on time.
    late = declaration(**{"enfant-nom": "TARDIF", "periode-0-debut": "24/10/2026", "periode-1-type": "",
                          "periode-1-debut": "", "periode-1-fin": "", "periode-1-heures": "", "periode-1-commentaire": ""})
    on_time = declaration(**{"enfant-nom": "ALHEURE", "periode-0-debut": "25/10/2026", "periode-1-type": "",
                             "periode-1-debut": "", "periode-1-fin": "", "periode-1-heures": "", "periode-1-commentaire": "",
                             "rl2-nom": "ENFANTGARDE", "rl2-prenom": "Papa"})
    assert portal.post("/espace/enfants/nouveau", late).status_code == 303
    assert portal.post("/espace/enfants/nouveau", on_time).status_code == 303
    stored = {row.last_name: row for (row,) in portal.query(select(Child))}
    assert stored["TARDIF"].declared_late and stored["TARDIF"].care_start == date(2026, 10, 24)
    assert not stored["ALHEURE"].declared_late and stored["ALHEURE"].care_start == date(2026, 10, 25)
    # Editing keeps the first declaration's date: moving the start later makes it on time.
    edited = dict(late, **{"periode-0-debut": "30/10/2026"})
    assert portal.post(f"/espace/enfants/{stored['TARDIF'].id}/modifier", edited,
                       form_path=f"/espace/enfants/{stored['TARDIF'].id}/modifier").status_code == 303
    (again,) = portal.query(select(Child).where(Child.id == stored["TARDIF"].id))[0]
    assert not again.declared_late and again.care_start == date(2026, 10, 30)
    portal.post(f"/espace/enfants/{stored['TARDIF'].id}/modifier", late,
                form_path=f"/espace/enfants/{stored['TARDIF'].id}/modifier")

    console = signed_in(console_for, app, AM, "agent@am.fr")
    everything = text_of(console.client.get("/admin/declaration/list"))
    assert "TARDIF" in everything and "ALHEURE" in everything and "Anne Martin" in everything
    only_late = text_of(console.client.get("/admin/declaration/list", params={"tardive": "true"}))
    assert "TARDIF" in only_late and "ALHEURE" not in only_late
    not_late = text_of(console.client.get("/admin/declaration/list", params={"tardive": "false"}))
    assert "ALHEURE" in not_late and "TARDIF" not in not_late
    details = text_of(console.client.get(f"/admin/declaration/details/{stored['TARDIF'].id}"))
    for expected in ("TARDIF", "Madame Maman ENFANTGARDE", "mailmaman@mailperso.fr", "147 boulevard du Mercantour 06200 Nice",
                     "Garde standard : du 24/10/2026 (sans date de fin)"):
        assert expected in details, expected
    # A guardian's last name finds the child, once even when both guardians bear it.
    by_guardian = console.client.get("/admin/declaration/list", params={"search": "enfantgarde"}).text
    listed = console.client.get("/admin/declaration/list").text
    for child in stored.values():
        link = f'/admin/declaration/details/{child.id}"'
        assert by_guardian.count(link) == listed.count(link) > 0
    assert "Nom d&#39;un représentant légal" in by_guardian or "Nom d'un représentant légal" in by_guardian
    unknown = text_of(console.client.get("/admin/declaration/list", params={"search": "personne"}))
    assert "TARDIF" not in unknown and "ALHEURE" not in unknown
    export = console.client.get("/admin/declaration/export/csv", params={"tardive": "true"})
    assert export.status_code == 200 and "TARDIF" in export.text and "ALHEURE" not in export.text
    # Read-only: no edit, no delete, no create.
    assert console.client.get(f"/admin/declaration/edit/{stored['TARDIF'].id}").status_code in (403, 404)
    assert console.client.get("/admin/declaration/create").status_code in (403, 404)
    assert portal.query(select(func.count()).select_from(Child))[0][0] == 2


# -- Mon compte ----------------------------------------------------------------------------------------


def test_mon_compte_gathers_personal_information_and_the_account_flows(anne):
    portal, _ = anne
    response = portal.client.get("/espace/compte")
    page = text_of(response)
    for expected in ("Mon compte", "Mes informations personnelles", "06-am-0001", "Concubinage", "anne@example.org",
                     "Changer votre mot de passe", "Changer votre adresse email ?", "Signaler un changement de situation",
                     "après 30 minutes d'inactivité"):
        assert expected.lower() in page.lower(), expected
    for link in ("/espace/compte/mot-de-passe", "/espace/compte/email", "/espace/agrement/changement-situation"):
        assert f'href="{link}"' in response.text
    assert 'action="/deconnexion"' in response.text
    # The menu marks where the user is.
    assert '<a href="/espace/compte" aria-current="page">' in response.text


def test_useful_documents_have_their_own_page_where_the_tenant_has_some(anne, portal_for):
    portal, _ = anne
    page = text_of(portal.client.get("/espace/documents"))
    assert "Documents utiles" in page and "Documentation du portail Extranet" in page
    assert 'href="/espace/documents"' in portal.client.get("/espace").text
    cestas = portal_for("cestas")
    cestas.create_account("famille.docs", GOOD)
    assert cestas.login("famille.docs", GOOD).status_code == 303
    assert cestas.client.get("/espace/documents").status_code == 404  # Cestas lists no documents
