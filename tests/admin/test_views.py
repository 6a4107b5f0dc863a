"""A tenant's read-only views (audit trail, outbox, contact messages) and their actions: only the
tenant's rows, in lists, filters, counts and CSV exports; actions confirmed by GET, done by a
CSRF-checked POST, audited; read-only staff and other tenants' ids refused. And French."""

from __future__ import annotations

import csv
import io
from datetime import timedelta

import pytest
from sqlalchemy import select

from assmat.core import clock
from assmat.admin.accounts import AccountView
from assmat.portal.contact.console import ContactView
from assmat.admin.outbox import OutboxView
from assmat.auth.models import Account
from assmat.core.mail.models import OutboxMail
from assmat.core.security.models import AuditEvent
from assmat.portal.contact.models import ContactMessage
from tests.admin.conftest import fetch, signed_in, store
from tests.support.portal import text_of

# Actions are conditional UPDATEs counted by rowcount; searches and CSV exports are SQL that each
# backend evaluates its own way.
pytestmark = pytest.mark.both_backends


def csv_rows(response) -> list[dict[str, str]]:
    assert response.status_code == 200 and response.headers["content-type"].startswith("text/csv")
    text = response.content.decode("utf-8-sig")
    return list(csv.DictReader(io.StringIO(text), delimiter=";"))


def mail(tenant_id: str, recipient: str, status: str, **values) -> OutboxMail:
    now = clock.now()
    defaults = dict(template="reset_link", sender="Webasma <ne-pas-repondre@gers.fr>", subject="Réinitialisation",
                    body_text="Votre nouveau mot de passe est : SECRET-Xy12", body_html="<p>SECRET-Xy12</p>",
                    attempts=5 if status == "failed" else 1, next_attempt_at=now, created_at=now,
                    last_error="SMTP indisponible" if status == "failed" else None)
    return OutboxMail(tenant_id=tenant_id, recipient=recipient, status=status, **{**defaults, **values})


def test_outbox_details_say_a_delivered_mails_content_was_erased(console_for, app):
    console = signed_in(console_for, app, "gers", "agent@gers.fr")
    delivered, waiting = store(console, mail("gers", "anne@example.org", "sent", sent_at=clock.now(), body_text="", body_html=None),
                               mail("gers", "bruno@example.org", "pending"))
    listing = console.client.get("/admin/outbox-mail/list")
    assert listing.status_code == 200 and "anne@example.org" in text_of(listing)
    details = console.client.get(f"/admin/outbox-mail/details/{delivered.id}")
    assert details.status_code == 200
    page = text_of(details)
    assert "Contenu" in page and "contenu effacé après envoi" in page
    assert "Réinitialisation" in page and "anne@example.org" in page  # what stays for the console
    pending = text_of(console.client.get(f"/admin/outbox-mail/details/{waiting.id}"))
    assert "effacé à l'envoi" in pending and "SECRET-Xy12" not in pending


def contact(tenant_id: str, name: str, **values) -> ContactMessage:
    return ContactMessage(tenant_id=tenant_id, name=name, email=f"{name.lower().replace(' ', '.')}@example.org",
                          message=f"Bonjour, c'est {name}.", created_at=clock.now(), **values)


@pytest.fixture
def two_tenants(portal_for):
    """A Gers account and a Cestas account."""
    gers, cestas = portal_for("gers"), portal_for("cestas")
    ours, _ = gers.create_account("AGR-2026-0001", "Lune#Soleil42", email="anne@example.org")
    theirs, _ = cestas.create_account("famille.cestas", "Lune2Soleil", email="cestas@example.org")
    return ours, theirs


def test_the_audit_trail_shows_filters_and_exports_only_the_tenants_lines(
    console_for, app, portal_for, two_tenants, frozen_clock
):
    ours, theirs = two_tenants
    gers = portal_for("gers")
    other, _ = gers.create_account("AGR-2026-0002", "Lune#Soleil42", email="bruno@example.org")
    console = signed_in(console_for, app, "gers", "agent@gers.fr")
    now = clock.now()
    store(console,
          AuditEvent(tenant_id="gers", account_id=ours.id, type="account.locked", ip="192.0.2.1",
                     detail={"note": "gers-locked"}, created_at=now - timedelta(days=10)),
          AuditEvent(tenant_id="gers", account_id=other.id, type="login.failed", detail={"note": "gers-failed"},
                     created_at=now - timedelta(days=2)),
          AuditEvent(tenant_id="cestas", account_id=theirs.id, type="account.locked", detail={"note": "cestas-locked"},
                     created_at=now - timedelta(days=2)),
          AuditEvent(tenant_id="cestas", account_id=theirs.id, type="email.changed", detail={"note": "cestas-only-type"},
                     created_at=now - timedelta(days=1)),
          AuditEvent(tenant_id=None, type="admin.login", detail={"note": "platform-line"}, created_at=now))

    listing = text_of(console.client.get("/admin/audit/list", params={"pageSize": 100}))
    assert "gers-locked" in listing and "gers-failed" in listing and "AGR-2026-0001" in listing
    assert "cestas" not in listing and "platform-line" not in listing and "famille" not in listing
    # The type filter offers the tenant's own types only.
    assert "type=account.locked" in listing and "email.changed" not in listing and "email modifié" not in listing
    total = len(fetch(console, select(AuditEvent.id).where(AuditEvent.tenant_id == "gers")))
    assert f"sur {total}" in listing

    locked = text_of(console.client.get("/admin/audit/list", params={"type": "account.locked"}))
    assert "gers-locked" in locked and "gers-failed" not in locked and "cestas-locked" not in locked
    by_account = text_of(console.client.get("/admin/audit/list", params={"account": "0002"}))
    assert "gers-failed" in by_account and "gers-locked" not in by_account
    # A Cestas identifier finds nothing on the Gers console.
    assert "cestas" not in text_of(console.client.get("/admin/audit/list", params={"account": "famille"}))

    def day(days_ago: int) -> str:
        return (now - timedelta(days=days_ago)).date().isoformat()

    recent = text_of(console.client.get("/admin/audit/list", params={"du": day(3), "au": day(1)}))
    assert "gers-failed" in recent and "gers-locked" not in recent
    older = text_of(console.client.get("/admin/audit/list", params={"au": day(5)}))
    assert "gers-locked" in older and "gers-failed" not in older
    assert "du=" + day(3) in text_of(console.client.get("/admin/audit/list", params={"du": day(3)}))  # export link keeps it

    everything = csv_rows(console.client.get("/admin/audit/export/csv"))
    assert {row["Détail"] for row in everything} >= {"note : gers-locked", "note : gers-failed"}
    assert not [row for row in everything if "cestas" in row["Détail"] or "platform" in row["Détail"]]
    assert len(everything) == total
    filtered = csv_rows(console.client.get("/admin/audit/export/csv", params={"type": "account.locked"}))
    assert [(row["Type"], row["Événement"], row["Compte"], row["Adresse IP"]) for row in filtered] == [
        ("account.locked", "compte bloqué", "Anne Martin (AGR-2026-0001)", "192.0.2.1")
    ]
    in_range = csv_rows(console.client.get("/admin/audit/export/csv", params={"du": day(3), "au": day(1)}))
    assert [row["Détail"] for row in in_range] == ["note : gers-failed"]

    (cestas_line,) = fetch(console, select(AuditEvent.id).where(AuditEvent.detail["note"].as_string() == "cestas-locked"))
    assert console.client.get(f"/admin/audit/details/{cestas_line.id}").status_code in (403, 404)


def test_outbox_shows_the_tenants_mail_without_bodies_and_retries_a_failed_one(console_for, app, smtp_server):
    console = signed_in(console_for, app, "gers", "agent@gers.fr")
    failed, sent, theirs = store(console, mail("gers", "anne@example.org", "failed"),
                                 mail("gers", "bruno@example.org", "sent", sent_at=clock.now()),
                                 mail("cestas", "cestas@example.org", "failed"))

    listing = text_of(console.client.get("/admin/outbox-mail/list"))
    assert "anne@example.org" in listing and "bruno@example.org" in listing and "en échec" in listing
    assert "SMTP indisponible" in listing and "cestas@example.org" not in listing and "sur 2" in listing
    assert "SECRET-Xy12" not in listing
    assert "SECRET-Xy12" not in console.client.get(f"/admin/outbox-mail/details/{failed.id}").text
    only_failed = text_of(console.client.get("/admin/outbox-mail/list", params={"status": "failed"}))
    assert "anne@example.org" in only_failed and "bruno@example.org" not in only_failed

    confirm = console.client.get("/admin/outbox-mail/action/retry", params={"pks": str(failed.id)})
    assert confirm.status_code == 200 and "anne@example.org" in confirm.text
    assert fetch(console, select(OutboxMail.status).where(OutboxMail.id == failed.id))[0].status == "failed"  # GET did nothing
    done = console.run_action("retry", f"{failed.id},{sent.id}", identity="outbox-mail")
    assert done.status_code == 303 and done.headers["location"].endswith("?done=retry&count=1")
    assert "Relancer l'envoi : 1 élément(s) traité(s)" in text_of(console.client.get(done.headers["location"]))
    delivered = smtp_server.wait_for(1)
    assert delivered[0]["To"] == "anne@example.org"
    (event,) = fetch(console, select(AuditEvent).where(AuditEvent.type == "mail.requeued"))
    assert event.AuditEvent.tenant_id == "gers"
    assert event.AuditEvent.detail == {"mail_id": failed.id, "recipient": "anne@example.org", "by": "agent@gers.fr"}


def test_contact_messages_are_the_tenants_and_marking_one_handled_is_audited(console_for, app):
    console = signed_in(console_for, app, "gers", "agent@gers.fr")
    first, done_before, theirs = store(console, contact("gers", "Claire Dupont"),
                                       contact("gers", "Denis Martin", handled_at=clock.now() - timedelta(days=1)),
                                       contact("cestas", "Eve Cestas"))
    listing = text_of(console.client.get("/admin/contact-message/list"))
    assert "Claire Dupont" in listing and "Denis Martin" in listing and "Eve Cestas" not in listing
    pending = text_of(console.client.get("/admin/contact-message/list", params={"handled": "false"}))
    assert "Claire Dupont" in pending and "Denis Martin" not in pending

    response = console.run_action("mark_handled", f"{first.id},{done_before.id}", identity="contact-message")
    assert response.status_code == 303 and response.headers["location"].endswith("count=1")
    handled = dict(fetch(console, select(ContactMessage.id, ContactMessage.handled_at)))
    assert handled[first.id] is not None and handled[theirs.id] is None
    assert handled[done_before.id] < handled[first.id]  # the first date is kept
    events = fetch(console, select(AuditEvent.tenant_id, AuditEvent.detail).where(AuditEvent.type == "contact.handled"))
    assert [(e.tenant_id, e.detail) for e in events] == [("gers", {"message_id": first.id, "by": "agent@gers.fr"})]


def action_url(identity: str, name: str) -> str:
    """SQLAdmin's GET route of an action (its name with dashes)."""
    return f"/admin/{identity}/action/{name.replace('_', '-')}"


def _rows_of_each_view(console, ours_account, theirs_account):
    """For each view with actions: (identity, actions, a Gers row id, a Cestas row id, how to read a row's state)."""
    gers_mail, cestas_mail = store(console, mail("gers", "anne@example.org", "failed"),
                                   mail("cestas", "cestas@example.org", "failed"))
    gers_note, cestas_note = store(console, contact("gers", "Claire Dupont"), contact("cestas", "Eve Cestas"))

    def account_state(pk):
        return fetch(console, select(Account.locked_at, Account.disabled_at, Account.password_hash).where(Account.id == pk))

    def mail_state(pk):
        return fetch(console, select(OutboxMail.status, OutboxMail.attempts).where(OutboxMail.id == pk))

    def note_state(pk):
        return fetch(console, select(ContactMessage.handled_at).where(ContactMessage.id == pk))

    return [
        ("account", AccountView.action_labels, ours_account.id, theirs_account.id, account_state),
        ("outbox-mail", OutboxView.action_labels, gers_mail.id, cestas_mail.id, mail_state),
        ("contact-message", ContactView.action_labels, gers_note.id, cestas_note.id, note_state),
    ]


def test_actions_on_another_tenants_rows_are_not_found_and_change_nothing(console_for, app, portal_for, two_tenants):
    ours, theirs = two_tenants
    portal_for("cestas").update_account(theirs.id, locked_at=clock.now())
    console = signed_in(console_for, app, "gers", "agent@gers.fr")
    audit_lines = len(fetch(console, select(AuditEvent.id)))
    for identity, actions, gers_id, cestas_id, state in _rows_of_each_view(console, ours, theirs):
        before = state(cestas_id), state(gers_id)
        for name in actions:
            assert console.client.get(action_url(identity, name), params={"pks": str(gers_id)}).status_code == 200
            for pks in (str(cestas_id), f"{gers_id},{cestas_id}", "abc", ""):
                assert console.client.get(action_url(identity, name), params={"pks": pks}).status_code == 404
                assert console.run_action(name, pks, identity=identity).status_code == 404, (identity, name, pks)
        assert (state(cestas_id), state(gers_id)) == before
        assert console.client.get(f"/admin/{identity}/details/{cestas_id}").status_code in (403, 404)
    assert len(fetch(console, select(AuditEvent.id))) == audit_lines


def test_read_only_staff_see_every_list_but_every_action_is_forbidden(console_for, app, portal_for, two_tenants):
    ours, theirs = two_tenants
    portal_for("gers").update_account(ours.id, locked_at=clock.now())
    console = signed_in(console_for, app, "gers", "lecteur@gers.fr", role="read_only")
    audit_lines = len(fetch(console, select(AuditEvent.id)))
    for identity, actions, gers_id, _cestas_id, state in _rows_of_each_view(console, ours, theirs):
        listing = console.client.get(f"/admin/{identity}/list")
        assert listing.status_code == 200
        assert not any(action_url(identity, name) in listing.text for name in actions)
        assert f"/admin/{identity}/run/" not in listing.text  # no one-click buttons either
        before = state(gers_id)
        for name in actions:
            assert console.client.get(action_url(identity, name), params={"pks": str(gers_id)}).status_code == 403
            assert console.run_action(name, str(gers_id), identity=identity).status_code == 403
        assert state(gers_id) == before
    for page in ("/admin/audit/list", "/admin/audit/export/csv", "/admin/vue-d-ensemble"):
        assert console.client.get(page).status_code == 200
    assert len(fetch(console, select(AuditEvent.id))) == audit_lines


def test_an_action_without_its_csrf_token_is_refused(console_for, app, two_tenants):
    ours, _ = two_tenants
    console = signed_in(console_for, app, "gers", "agent@gers.fr")
    (note,) = store(console, contact("gers", "Claire Dupont"))
    for data in ({"pks": str(note.id)}, {"pks": str(note.id), "csrf_token": "0" * 64}):
        assert console.client.post("/admin/contact-message/run/mark_handled", data=data).status_code == 403
    assert fetch(console, select(ContactMessage.handled_at).where(ContactMessage.id == note.id))[0].handled_at is None


def test_account_filters_work_and_are_french(console_for, app, portal_for, two_tenants):
    ours, _ = two_tenants
    gers = portal_for("gers")
    locked, _ = gers.create_account("AGR-2026-0009", "Lune#Soleil42")
    gers.update_account(locked.id, locked_at=clock.now())
    console = signed_in(console_for, app, "gers", "agent@gers.fr")
    page = text_of(console.client.get("/admin/account/list", params={"locked": "true"}))
    assert "AGR-2026-0009" in page and "AGR-2026-0001" not in page and "Bloqué" in page
    assert "AGR-2026-0001" in text_of(console.client.get("/admin/account/list", params={"locked": "false"}))


def test_the_console_speaks_french_and_logs_out_with_a_post(console_for, app):
    console = signed_in(console_for, app, "gers", "agent@gers.fr")
    page = console.client.get("/admin/audit/list")
    text = text_of(page)
    assert '<html lang="fr">' in page.text
    assert "Se déconnecter" in text and "Département du Gers" in text
    # SQLAdmin's own texts, through our catalog.
    assert "Filtres" in text and "Tout sélectionner" in text and "Select all" not in text
    assert "set-cookie" not in page.headers or "language=" not in page.headers["set-cookie"]
    assert console.client.get("/admin/audit/list", headers={"accept-language": "de"}).text.count("Filtres") >= 1

    assert console.client.get("/admin/logout").status_code == 405  # a link or an image cannot sign out
    assert console.client.post("/admin/logout", data={"csrf_token": "nope"}).status_code == 403
    assert console.client.get("/admin/audit/list").status_code == 200
    out = console.client.post("/admin/logout", data={"csrf_token": console.csrf("/admin/audit/list")})
    assert out.status_code == 302 and out.headers["location"].endswith("/admin/login")
    assert console.client.get("/admin/audit/list").status_code == 302


def test_exported_cells_cannot_run_as_spreadsheet_formulas():
    from assmat.admin.scoping import csv_cell

    assert [csv_cell(v) for v in ("=HYPERLINK(\"x\")", "+33", "-1", "@SUM(A1)", "AGR-1", None, True)] == [
        "'=HYPERLINK(\"x\")", "'+33", "'-1", "'@SUM(A1)", "AGR-1", "", "oui"]


def test_the_french_catalog_covers_every_sqladmin_text():
    from pathlib import Path

    import sqladmin
    from babel.messages.pofile import read_po

    from assmat.admin.french import CATALOG

    with (Path(sqladmin.__file__).parent / "translations" / "admin.pot").open("rb") as handle:
        wanted = {m.id for m in read_po(handle) if m.id}
    with CATALOG.open("rb") as handle:
        translated = {m.id for m in read_po(handle, locale="fr") if m.id and m.string and not m.fuzzy}
    assert len(wanted) > 50 and wanted <= translated


def test_the_account_page_writes_every_time_in_paris_time(console_for, app, portal_for):
    """A winter and a summer instant: the account's columns and its recent events both in
    Europe/Paris (UTC+1, UTC+2), never one in UTC beside the other in Paris."""
    from datetime import UTC, datetime

    gers = portal_for("gers")
    account, _ = gers.create_account("AGR-2026-0042", "Lune#Soleil42")
    winter, summer = datetime(2026, 1, 15, 22, 30, tzinfo=UTC), datetime(2026, 7, 14, 8, 5, tzinfo=UTC)
    gers.update_account(account.id, locked_at=winter)
    console = signed_in(console_for, app, "gers", "agent@gers.fr")
    store(console, AuditEvent(tenant_id="gers", type="account.locked", account_id=account.id, ip="203.0.113.7",
                              detail={"reason": "test"}, created_at=summer))
    page = text_of(console.client.get(f"/admin/account/details/{account.id}"))
    assert "15/01/2026 23:30" in page and "22:30" not in page
    events = page.split("Événements récents")[-1]
    assert "14/07/2026 10:05" in events and "08:05" not in events
    assert "compte bloqué" in events  # the event's French label, not its type


def test_two_apps_of_one_process_each_keep_their_console_on_their_own_database(tmp_path, sqlite_template,
                                                                                tenant_registry):
    """SQLAdmin sets a view's session maker on its class: without a subclass per app, the last
    app built would serve every console of the process from its database (the suite builds many)."""
    import shutil

    from tests.admin.test_isolation_matrix import console_of
    from tests.conftest import app_for, make_settings

    consoles = []
    for name in ("premier", "second"):
        (tmp_path / name).mkdir()
        shutil.copy(sqlite_template, tmp_path / name / "assmat.db")
        app = app_for(make_settings(tmp_path / name, f"sqlite:///{tmp_path / name / 'assmat.db'}"), tenant_registry)
        consoles.append(console_of(app))
    first, second = consoles
    assert first.session_maker is not second.session_maker
    models = [[view for view in console.views if view.is_model] for console in consoles]
    assert models[0] and all(view.session_maker is first.session_maker for view in models[0])
    assert all(view.session_maker is second.session_maker for view in models[1])
