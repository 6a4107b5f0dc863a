"""A département's staff in its console: sign in, find a locked account, unlock it."""

from __future__ import annotations

import html
import re
import time

import pytest
from sqlalchemy import select

from assmat.core.security.models import AuditEvent
from tests.admin.conftest import ADMIN_PASSWORD, create_admin

# The console's search and the unlock (a conditional UPDATE) run SQL that each backend evaluates its
# own way.
pytestmark = pytest.mark.both_backends

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


# -- « Mot de passe oublié ? » on the console ----------------------------------------------------------

def forgot(console, address: str):
    token = console.csrf("/admin/mot-de-passe-oublie")
    return console.client.post("/admin/mot-de-passe-oublie", data={"csrf_token": token, "email": address})


def test_a_locked_out_gers_agent_chooses_a_new_password_from_the_console_login_page(console_for, app, smtp_server):
    console = console_for("gers")
    create_admin(app, console.client, "gers", "agent@gers.fr", ADMIN_PASSWORD)
    for _ in range(app.state.settings.console_lockout_max_failures):
        console.login("agent@gers.fr", "Faux#Passe99")
    assert console.login("agent@gers.fr", ADMIN_PASSWORD).status_code == 400  # locked

    login = html.unescape(console.client.get("/admin/login").text)
    assert re.search(r'<a href="[^"]*/admin/mot-de-passe-oublie">Mot de passe oublié \?</a>', login)
    known = forgot(console, "Agent@Gers.fr")
    unknown = forgot(console, "personne@gers.fr")
    assert known.status_code == unknown.status_code == 200
    answer = "Si cette adresse est celle d'un accès à cette console, un courriel vient d'y être envoyé"
    assert answer in html.unescape(known.text) and answer in html.unescape(unknown.text)
    mail = smtp_server.wait_for(1)[0]
    assert mail["To"] == "agent@gers.fr" and mail["Subject"] == "Réinitialisation de votre mot de passe"
    link = re.search(r"http://gers\.localhost(/admin/mot-de-passe/\S+)", mail.get_body(("plain",)).get_content()).group(1)
    assert len(smtp_server.messages) == 1  # nothing to the unknown address

    chosen = "Nouveau#Console2027"
    page = console.client.get(link)
    assert page.status_code == 200
    token = re.search(r'name="csrf_token" value="([^"]+)"', page.text).group(1)
    done = console.client.post(link, data={"csrf_token": token, "mot_de_passe": chosen, "confirmation": chosen})
    assert done.status_code == 303 and done.headers["location"] == "/admin/login"
    assert console.client.post(link, data={"csrf_token": token, "mot_de_passe": chosen, "confirmation": chosen}).status_code == 400
    assert console.login("agent@gers.fr", chosen).status_code == 302  # the lock is lifted too
    assert console.client.get("/admin/account/list").status_code == 200
    events = [row.type for row in console.client.portal.call(_events_query, app)]
    assert "admin.password_reset_requested" in events and "admin.password_set" in events


async def _events_query(app):
    async with app.state.sessionmaker() as db:
        return list((await db.execute(select(AuditEvent.type).order_by(AuditEvent.id))).all())


def test_the_console_reset_answers_the_same_without_a_token_and_is_capped(console_for, app, smtp_server):
    console = console_for("gers")
    create_admin(app, console.client, "gers", "agent@gers.fr", ADMIN_PASSWORD)
    refused = console.client.post("/admin/mot-de-passe-oublie", data={"email": "agent@gers.fr"})
    assert refused.status_code == 403 and "Le formulaire a expiré" in html.unescape(refused.text)
    for _ in range(5):
        assert forgot(console, "agent@gers.fr").status_code == 200
    time.sleep(0.5)
    assert len(smtp_server.wait_for(3)) == 3  # three links an hour at most


# -- the French of texts built from a tenant's name -------------------------------------------------

@pytest.mark.parametrize(("slug", "expected"), [
    ("gers", "Un accès à la console du Département du Gers a été créé pour vous."),
    ("alpes-maritimes", "Un accès à la console du Département des Alpes-Maritimes a été créé pour vous."),
    ("eure-et-loir", "Un accès à la console du Département d'Eure-et-Loir a été créé pour vous."),
    ("cestas", "Un accès à la console de la Ville de Cestas a été créé pour vous."),
    ("mon-enfant", "Un accès à la console de la Caisse nationale des allocations familiales (Cnaf) a été créé pour vous."),
    (None, "Un accès à la console de la plateforme assmat a été créé pour vous."),
])
def test_the_console_access_mail_names_the_console_in_correct_french(tenant_registry, slug, expected):
    """What `assmat create-admin` mails, for each tenant's name (and the platform's)."""
    from assmat.core.mail.outbox import render

    tenant = tenant_registry.get(slug) if slug else None
    name = tenant.config.name if tenant else "plateforme assmat"
    mail = render(tenant, "admin_set_password", {"url": "https://x/admin/mot-de-passe/t", "ttl_hours": 48,
                                                  "console_name": name}, "fr",
                  base_url="https://x", platform_sender="Assmat <ne-pas-repondre@assmat.example.org>")
    text = " ".join(mail.body_text.split())
    assert expected in text, text
    assert expected in " ".join(html.unescape(re.sub(r"<[^>]+>", " ", mail.body_html)).split())
