"""The staff's side of publication: « Fiches » with their state in words and filters, suspend
(with a reason) and resume, the « Registre des consentements », the « Liste pour les mairies »
(page and CSV, every assistant with a valid agrément whatever her choice, only the tenant's,
audited), the import report's publication counts, and none of it on a tenant that publishes
nothing."""

from __future__ import annotations

import csv
import html
import io
from datetime import date

import pytest
from sqlalchemy import select

from assmat.auth.models import Account
from assmat.core.security.models import AuditEvent
from assmat.portal.agrement.models import Agrement
from assmat.portal.publication.models import PublicationEvent, PublicationState
from tests.admin.conftest import create_admin, fetch, signed_in, store
from tests.admin.test_import import ENVOI, apply, csv_bytes, row, upload
from tests.support.portal import text_of

# The filters and the register's search are correlated EXISTS and ILIKE: both backends.
pytestmark = pytest.mark.both_backends

EURE, MON_ENFANT, GERS, CESTAS = "eure-et-loir", "mon-enfant", "gers", "cestas"


def mon_enfant_staff(console_for, app, email: str):
    """Mon-enfant's passwords are letters and digits only: its own console user."""
    console = console_for(MON_ENFANT)
    create_admin(app, console.client, MON_ENFANT, email, "Console2Solide2026")
    assert console.login(email, "Console2Solide2026").status_code == 302
    return console


def assistant(console, tenant: str, last: str, *, phone: str = "0237000000", city: str = "Chartres",
              end: date | None = date(2030, 12, 31), status: str | None = None, choice: str | None = None) -> Account:
    (account,) = store(console, Account(tenant_id=tenant, identifier=f"{last.lower()}-id", first_name="Anne",
                                        last_name=last, address=f"1 rue {last}", postal_code="28000", city=city,
                                        phone=phone))
    store(console, Agrement(tenant_id=tenant, account_id=account.id, number=f"N-{last}", start_date=date(2020, 1, 1),
                            end_date=end, capacity=4, status=status))
    if choice:
        store(console, PublicationState(tenant_id=tenant, account_id=account.id, choice=choice, last_kind=choice))
    return account


@pytest.fixture
def eure(console_for, app, frozen_clock):
    console = signed_in(console_for, app, EURE, "agent@eure-et-loir.fr")
    people = {
        "publiee": assistant(console, EURE, "Publiee"),
        "opposee": assistant(console, EURE, "Opposee", city="Dreux", choice="objection"),
        "renouvellement": assistant(console, EURE, "Renouvellement", status="renewal"),
        "expiree": assistant(console, EURE, "Expiree", end=date(2026, 10, 1)),
    }
    return console, people


def listing(console, **params) -> str:
    response = console.client.get("/admin/fiches/list", params=params)
    assert response.status_code == 200, response.text[:500]
    return text_of(response)


def test_the_fiches_show_their_state_in_words_and_filter_by_it(eure):
    console, _ = eure
    page = listing(console)
    for words in ("publiée", "non publiée : opposition", "suspendue : agrément en renouvellement ou en révision",
                  "suspendue : agrément expiré"):
        assert words in page, words
    assert "Opposee" in listing(console, etat="opposition") and "Publiee" not in listing(console, etat="opposition")
    published = listing(console, etat="publiees")
    assert "Publiee" in published and "Opposee" not in published and "Renouvellement" not in published
    suspended = listing(console, etat="suspendues")
    assert "Renouvellement" in suspended and "Expiree" in suspended and "Publiee" not in suspended
    assert "sans consentement" not in page  # Eure-et-Loir asks no consent: no such filter


def test_staff_suspend_with_a_reason_and_resume(eure):
    console, people = eure
    anne = people["publiee"]
    confirm = console.client.get("/admin/fiches/action/suspend", params={"pks": str(anne.id)})
    assert confirm.status_code == 200 and "Motif de la suspension" in text_of(confirm)
    token = console.csrf("/admin/fiches/list")

    refused = console.client.post("/admin/fiches/run/suspend", data={"csrf_token": token, "pks": str(anne.id), "reason": "  "})
    assert refused.status_code == 400
    assert "Indiquez le motif." in text_of(refused)
    assert fetch(console, select(PublicationState.suspended_at).where(PublicationState.account_id == anne.id)) in ([], [(None,)])

    done = console.client.post("/admin/fiches/run/suspend",
                               data={"csrf_token": token, "pks": str(anne.id), "reason": "Déménagement à vérifier"})
    assert done.status_code == 303 and "done=suspend&count=1" in done.headers["location"]
    assert "suspendue par le service (motif : Déménagement à vérifier)" in listing(console)
    (line,) = fetch(console, select(AuditEvent.detail).where(AuditEvent.type == "publication.suspended"))
    assert line[0]["reason"] == "Déménagement à vérifier" and line[0]["by"] == "agent@eure-et-loir.fr"

    resumed = console.client.post("/admin/fiches/run/resume", data={"csrf_token": token, "pks": str(anne.id)})
    assert resumed.status_code == 303 and "count=1" in resumed.headers["location"]
    assert fetch(console, select(AuditEvent.type).where(AuditEvent.type == "publication.resumed")) == [("publication.resumed",)]
    assert "suspendue par le service" not in listing(console)


def test_the_register_lists_searches_and_filters_its_lines(eure):
    console, people = eure
    store(console, PublicationEvent(tenant_id=EURE, account_id=people["opposee"].id, kind="objection", source="form"),
          PublicationEvent(tenant_id=EURE, account_id=people["publiee"].id, kind="objection", source="import",
                           recorded_by="agent@eure-et-loir.fr"))
    page = text_of(console.client.get("/admin/registre-publication/list"))
    assert "Opposee" in page and "opposition" in page and "l'assistante (son espace)" in page and "import mensuel" in page
    searched = text_of(console.client.get("/admin/registre-publication/list", params={"search": "Opposee"}))
    assert "Opposee" in searched and "Publiee" not in searched
    by_source = text_of(console.client.get("/admin/registre-publication/list", params={"source": "import"}))
    assert "Publiee" in by_source and "Opposee" not in by_source
    export = console.client.get("/admin/registre-publication/export/csv").content.decode("utf-8-sig")
    assert "Opposee" in export and "opposition" in export


def test_the_town_hall_list_has_every_valid_agrement_whatever_the_choice(eure, console_for, app):
    console, people = eure
    other = mon_enfant_staff(console_for, app, "agent@mon-enfant.fr")
    assistant(other, MON_ENFANT, "Ailleurs", city="Perpignan")

    response = console.client.get("/admin/liste-mairies/csv")
    assert response.status_code == 200 and response.headers["content-type"].startswith("text/csv")
    assert response.content.startswith(b"\xef\xbb\xbf")
    lines = list(csv.reader(io.StringIO(response.content.decode("utf-8-sig")), delimiter=";"))
    assert lines[0] == ["Commune", "Nom", "Prénom", "Adresse", "Code postal", "Téléphone", "N° d'agrément", "Places",
                        "Agrément valable jusqu'au"]
    # The objecting assistant is listed (L.421-8); an agrément in renewal or expired is not valid today.
    assert [(line[0], line[1]) for line in lines[1:]] == [("Chartres", "Publiee"), ("Dreux", "Opposee")]
    assert lines[1][3:] == ["1 rue Publiee", "28000", "0237000000", "N-Publiee", "4", "31/12/2030"]

    page = console.client.get("/admin/liste-mairies")
    text = html.unescape(page.text)
    assert page.status_code == 200 and "Dreux" in text and "Opposee" in text and "Ailleurs" not in text
    assert "@media print" in (app.state.settings.tenant_configs.parent / "assmat/static/town_hall_list.css").read_text()
    exports = fetch(console, select(AuditEvent.tenant_id, AuditEvent.detail).where(AuditEvent.type == "publication.town_hall_list"))
    assert [(t, d["format"], d["count"]) for t, d in exports] == [(EURE, "csv", 2), (EURE, "page", 2)]


def test_a_tenant_that_publishes_nothing_has_none_of_it(console_for, app):
    console = signed_in(console_for, app, CESTAS, "agent@cestas.fr")
    menu = text_of(console.client.get("/admin/vue-d-ensemble"))
    assert "Fiches" not in menu and "Registre des consentements" not in menu and "Liste pour les mairies" not in menu
    for path in ("/admin/fiches/list", "/admin/registre-publication/list", "/admin/liste-mairies",
                 "/admin/liste-mairies/csv"):
        assert console.client.get(path).status_code in (403, 404), path
    assert fetch(console, select(AuditEvent.id).where(AuditEvent.type == "publication.town_hall_list")) == []


def test_the_menu_shows_the_publication_views_where_the_tenant_publishes(console_for, app):
    console = signed_in(console_for, app, GERS, "agent@gers.fr")
    menu = text_of(console.client.get("/admin/vue-d-ensemble"))
    assert "Fiches" in menu and "Registre des consentements" in menu and "Liste pour les mairies" in menu


def test_the_import_report_counts_the_fiches_it_publishes_and_takes_down(console_for, app, frozen_clock):
    console = mon_enfant_staff(console_for, app, "agent@mon-enfant.fr")
    # mon-enfant's file is keyed by email (import.key); the agrément number is the agrément's.
    people = [(f"66-2026-{i:03}", f"p{i}@example.org") for i in range(3)]
    first = upload(console, csv_bytes(*(row(n, email=p, publication="oui") for n, p in people)))
    applied = apply(console, html.unescape(ENVOI.search(first.text).group(1)))
    assert applied.status_code == 303
    report = text_of(console.client.get(applied.headers["location"]))
    assert "Fiches publiées" in report and "Consentements à la publication enregistrés" in report
    second = upload(console, csv_bytes(row(*people[0][:1], email=people[0][1], publication="non"),
                                       row(people[1][0], email=people[1][1], publication="oui", end="01/11/2026"),
                                       row(people[2][0], email=people[2][1], publication="oui")))
    dry = text_of(second)
    assert "Consentements retirés à enregistrer" in dry
    applied = apply(console, html.unescape(ENVOI.search(second.text).group(1)))
    report = html.unescape(console.client.get(applied.headers["location"]).text)
    assert "Fiches retirées de la publication</th><td>1" in report
    assert "Fiches suspendues (agrément)</th><td>1" in report


def test_the_town_hall_list_needs_a_console_session_of_its_own_tenant(eure, client_for, console_for, app):
    console, _ = eure
    anonymous = client_for(EURE)
    for path in ("/admin/liste-mairies", "/admin/liste-mairies/csv", "/admin/fiches/list", "/admin/registre-publication/list"):
        response = anonymous.get(path)
        assert response.status_code in (302, 303) and "/admin/login" in response.headers["location"], path
    # The Eure-et-Loir console session, replayed on the Gers host, is nobody there.
    gers = client_for(GERS)
    for name, value in console.client.cookies.items():
        gers.cookies.set(name, value, domain=f"{GERS}.localhost")
    response = gers.get("/admin/liste-mairies/csv")
    assert response.status_code in (302, 303, 403) and "Publiee" not in response.text
    assert fetch(console, select(AuditEvent.id).where(AuditEvent.type == "publication.town_hall_list")) == []
