"""« Envoyer une réinitialisation » and « Imprimer le courrier » on a locked account: the new
password must work, so the staff member's act lifts the lock (audited), and the console says so
before and after."""

from __future__ import annotations

import html
import re

import pytest
from sqlalchemy import select

from assmat.core.security.models import AuditEvent
from tests.admin.conftest import ADMIN_PASSWORD, create_admin
from tests.support.portal import text_of

# A staff reset sets a temporary password and lifts the lock with conditional UPDATE … RETURNING.
pytestmark = pytest.mark.both_backends

GOOD = "Lune#Soleil42"
WRONG = "Faux#Passe99"


def locked_gers_account(gers, identifier: str, smtp_server):
    account, _ = gers.create_account(identifier, GOOD, email="assmat@example.org")
    for _ in range(3):
        gers.login(identifier, WRONG)
    assert gers.account(account.id).locked_at is not None
    smtp_server.wait_for(2)  # the lock notices to the user and to the admins
    return account


def staff(console_for, app):
    console = console_for("gers")
    create_admin(app, console.client, "gers", "agent@gers.fr", ADMIN_PASSWORD)
    assert console.login("agent@gers.fr", ADMIN_PASSWORD).status_code == 302
    return console


def unlock_events(gers, account_id: int) -> list[dict]:
    rows = gers.query(select(AuditEvent.detail).where(AuditEvent.type == "account.unlocked", AuditEvent.account_id == account_id))
    return [row.detail for row in rows]


def test_a_staff_reset_unlocks_and_its_temporary_password_works(portal_for, console_for, app, smtp_server):
    gers = portal_for("gers")
    account = locked_gers_account(gers, "AGR-2026-0800", smtp_server)
    console = staff(console_for, app)
    confirmation = html.unescape(console.client.get("/admin/account/action/send-reset", params={"pks": str(account.id)}).text)
    assert "Un compte bloqué sera débloqué" in confirmation

    done = console.run_action("send_reset", str(account.id))
    assert done.status_code == 303
    listing = html.unescape(console.client.get(done.headers["location"]).text)
    assert "1 compte(s) bloqué(s) débloqué(s)" in listing
    assert gers.account(account.id).locked_at is None
    assert unlock_events(gers, account.id) == [{"by": "agent@gers.fr", "action": "send_reset"}]

    mail = smtp_server.wait_for(3)[2]
    temporary = re.search(r"Votre nouveau mot de passe est : (\S+)", mail.get_body(("plain",)).get_content()).group(1)
    gers.client.cookies.clear()
    used = gers.login("AGR-2026-0800", temporary)
    assert used.status_code == 303 and used.headers["location"] == "/changement-mot-de-passe"


def test_a_printed_letter_unlocks_and_its_temporary_password_works(portal_for, console_for, app, smtp_server):
    gers = portal_for("gers")
    account = locked_gers_account(gers, "AGR-2026-0801", smtp_server)
    console = staff(console_for, app)
    confirmation = html.unescape(console.client.get("/admin/account/action/letter", params={"pks": str(account.id)}).text)
    assert "Un compte bloqué sera débloqué" in confirmation

    letter = console.run_action("letter", str(account.id))
    assert letter.status_code == 200
    temporary = re.search(r"Mot de passe : <code>([^<]+)</code>", letter.text)
    assert temporary, "the letter shows the temporary password"
    assert "1 compte(s) bloqué(s) débloqué(s) pour que le mot de passe du courrier serve." in html.unescape(letter.text)
    assert gers.account(account.id).locked_at is None
    assert unlock_events(gers, account.id) == [{"by": "agent@gers.fr", "action": "letter"}]
    gers.client.cookies.clear()
    used = gers.login("AGR-2026-0801", html.unescape(temporary.group(1)))
    assert used.status_code == 303 and used.headers["location"] == "/changement-mot-de-passe"


@pytest.mark.parametrize("action", ["send_reset", "letter"])
def test_an_account_that_is_not_locked_gets_no_unlock_line(portal_for, console_for, app, smtp_server, action):
    gers = portal_for("gers")
    account, _ = gers.create_account("AGR-2026-0802", GOOD, email="assmat@example.org")
    console = staff(console_for, app)
    done = console.run_action(action, str(account.id))
    assert done.status_code in (200, 303)
    assert "débloqué" not in html.unescape(done.text)
    assert unlock_events(gers, account.id) == []
    assert "débloqué" not in text_of(console.client.get("/admin/account/list?done=send_reset&count=1"))
