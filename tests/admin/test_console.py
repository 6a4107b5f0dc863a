"""A département's staff in its console: sign in, find a locked account, unlock it."""

from __future__ import annotations

import html
import re

from sqlalchemy import select

from assmat.db.models import AuditEvent
from tests.admin.conftest import ADMIN_PASSWORD, create_admin

GOOD = "Lune#Soleil42"


def test_gers_staff_unlock_a_locked_account_and_the_user_signs_in_again(portal_for, console_for, app, smtp_server):
    gers = portal_for("gers")
    account, _ = gers.create_account("AGR-2026-0500", GOOD, email="assmat@example.org")
    for _ in range(3):
        gers.login("AGR-2026-0500", "Faux#Passe99")
    assert gers.account(account.id).locked_at is not None
    smtp_server.wait_for(2)  # the lock notices

    console = console_for("gers")
    create_admin(app, console.client, "gers", "agent@gers.fr", ADMIN_PASSWORD)
    assert console.login("agent@gers.fr", ADMIN_PASSWORD).status_code == 302
    listing = console.client.get("/admin/account/list", params={"search": "AGR-2026-0500"})
    assert listing.status_code == 200 and "AGR-2026-0500" in listing.text and "bloqué" in html.unescape(listing.text)
    unlocked = console.run_action("unlock", str(account.id))
    assert unlocked.status_code == 303
    assert gers.account(account.id).locked_at is None and gers.account(account.id).failed_logins == 0

    # Gers: "vous recevrez un mail avec un mot de passe provisoire".
    mail = smtp_server.wait_for(3)[2]
    assert mail["To"] == "assmat@example.org" and mail["Subject"] == "Demande de modification de mot de passe"
    temporary = re.search(r"Votre nouveau mot de passe est : (\S+)", mail.get_body(("plain",)).get_content()).group(1)
    gers.client.cookies.clear()
    used = gers.login("AGR-2026-0500", temporary)
    assert used.status_code == 303 and used.headers["location"] == "/changement-mot-de-passe"
    (event,) = gers.query(select(AuditEvent.detail).where(AuditEvent.type == "account.unlocked"))
    assert event.detail == {"by": "agent@gers.fr"}


def test_another_tenants_account_cannot_be_acted_upon(portal_for, console_for, app):
    cestas = portal_for("cestas")
    other, _ = cestas.create_account("famille.autre", "Lune2Soleil")
    cestas.update_account(other.id, locked_at=cestas.account(other.id).created_at)
    console = console_for("gers")
    create_admin(app, console.client, "gers", "agent@gers.fr", ADMIN_PASSWORD)
    console.login("agent@gers.fr", ADMIN_PASSWORD)
    assert console.run_action("unlock", str(other.id)).status_code == 404
    assert console.client.get(f"/admin/account/details/{other.id}").status_code in (403, 404)
    assert console.client.get("/admin/account/action/unlock", params={"pks": str(other.id)}).status_code == 404
    assert cestas.account(other.id).locked_at is not None
