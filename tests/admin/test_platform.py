"""The platform's console on the root domain: super-admins only; every tenant with its counts,
the tenants' console users (disable, enable), the audit trail of every tenant. Console sessions
never cross from one host to another."""

from __future__ import annotations

import pytest
import html
import re

from sqlalchemy import select

from assmat.core import clock
from assmat.auth.models import Admin
from assmat.core.security.models import AuditEvent
from tests.admin.conftest import ADMIN_PASSWORD, fetch, signed_in, store
from tests.support.portal import text_of

# Counts per tenant and the latest activity are SQL aggregates over UTC timestamps, which each
# backend stores its own way.
pytestmark = pytest.mark.both_backends


def tenant_row(text: str, slug: str) -> list[str]:
    """The cells of a tenant's row on the platform page."""
    match = re.search(rf"<th scope=\"row\"><code>{slug}</code></th>(.*?)</tr>", text, re.S)
    assert match, f"no row for {slug}"
    cells = re.findall(r"<td[^>]*>(.*?)</td>", match.group(1), re.S)
    return [" ".join(html.unescape(re.sub(r"<[^>]+>", " ", cell)).split()) for cell in cells]


def test_the_platform_lists_every_tenant_with_its_counts(console_for, app, portal_for):
    gers, cestas = portal_for("gers"), portal_for("cestas")
    for identifier in ("AGR-1", "AGR-2", "AGR-3"):
        gers.create_account(identifier, "Lune#Soleil42")
    locked, _ = gers.create_account("AGR-4", "Lune#Soleil42")
    gers.update_account(locked.id, locked_at=clock.now())
    cestas.create_account("famille.a", "Lune2Soleil")
    signed_in(console_for, app, "gers", "agent@gers.fr")
    signed_in(console_for, app, "gers", "lecteur@gers.fr", role="read_only")
    platform = signed_in(console_for, app, "localhost", "root@assmat.example")

    index = platform.client.get("/admin/")
    assert index.status_code == 302 and index.headers["location"].endswith("/admin/plateforme")
    page = platform.client.get("/admin/plateforme")
    assert page.status_code == 200
    slugs = re.findall(r'<th scope="row"><code>([a-z0-9-]+)</code></th>', page.text)
    assert slugs == sorted(app.state.registry.tenants) and len(slugs) == 5
    name, hosts, status, accounts, locked_count, admins, last_activity, add = tenant_row(page.text, "gers")
    assert add == "Ajouter un administrateur (Département du Gers)"
    assert name == "Département du Gers" and "gers.localhost" in hosts and "assmat.gers.fr" in hosts
    assert status.startswith("en service") and "4 avertissement(s)" in status
    assert (accounts, locked_count, admins) == ("4", "1", "2") and last_activity != "aucune"
    assert tenant_row(page.text, "cestas")[3:6] == ["1", "0", "0"]
    assert tenant_row(page.text, "eure-et-loir")[3:7] == ["0", "0", "0", "aucune"]


def test_super_admins_disable_and_enable_a_tenant_admin(console_for, app):
    agent = signed_in(console_for, app, "gers", "agent@gers.fr")
    signed_in(console_for, app, "cestas", "agent@cestas.fr")
    platform = signed_in(console_for, app, "localhost", "root@assmat.example")
    listing = text_of(platform.client.get("/admin/tenant-admin/list"))
    assert "agent@gers.fr" in listing and "agent@cestas.fr" in listing
    assert "root@assmat.example" not in listing.split("<tbody>")[1]  # super-admins are not listed
    only_gers = text_of(platform.client.get("/admin/tenant-admin/list", params={"tenant": "gers"}))
    assert "agent@gers.fr" in only_gers and "agent@cestas.fr" not in only_gers
    (gers_admin,) = fetch(platform, select(Admin.id).where(Admin.email == "agent@gers.fr"))
    (root,) = fetch(platform, select(Admin.id).where(Admin.email == "root@assmat.example"))

    assert platform.client.get("/admin/tenant-admin/action/disable", params={"pks": str(root.id)}).status_code == 404
    assert platform.run_action("disable", str(root.id), identity="tenant-admin").status_code == 404
    confirm = platform.client.get("/admin/tenant-admin/action/disable", params={"pks": str(gers_admin.id)})
    assert confirm.status_code == 200 and "agent@gers.fr" in confirm.text
    assert agent.client.get("/admin/account/list").status_code == 200
    done = platform.run_action("disable", str(gers_admin.id), identity="tenant-admin")
    assert done.status_code == 303 and done.headers["location"].endswith("count=1")
    assert agent.client.get("/admin/account/list").status_code == 302  # signed out at once
    assert agent.login("agent@gers.fr", ADMIN_PASSWORD).status_code == 400
    assert "désactivé" in text_of(platform.client.get("/admin/tenant-admin/list"))

    assert platform.run_action("enable", str(gers_admin.id), identity="tenant-admin").status_code == 303
    assert agent.login("agent@gers.fr", ADMIN_PASSWORD).status_code == 302
    events = fetch(platform, select(AuditEvent.tenant_id, AuditEvent.type, AuditEvent.detail)
                   .where(AuditEvent.type.in_(("admin.disabled", "admin.enabled"))).order_by(AuditEvent.id))
    assert [(e.tenant_id, e.type, e.detail) for e in events] == [
        ("gers", "admin.disabled", {"admin_email": "agent@gers.fr", "by": "root@assmat.example"}),
        ("gers", "admin.enabled", {"admin_email": "agent@gers.fr", "by": "root@assmat.example"}),
    ]


def test_the_platform_audit_trail_covers_every_tenant_with_a_tenant_filter(console_for, app):
    platform = signed_in(console_for, app, "localhost", "root@assmat.example")
    store(platform, AuditEvent(tenant_id="gers", type="login.failed", detail={"note": "gers-line"}, created_at=clock.now()),
          AuditEvent(tenant_id="cestas", type="login.failed", detail={"note": "cestas-line"}, created_at=clock.now()))
    everything = text_of(platform.client.get("/admin/platform-audit/list"))
    assert "gers-line" in everything and "cestas-line" in everything and "Plateforme" in everything
    cestas = text_of(platform.client.get("/admin/platform-audit/list", params={"tenant": "cestas"}))
    assert "cestas-line" in cestas and "gers-line" not in cestas
    own = text_of(platform.client.get("/admin/platform-audit/list", params={"tenant": "-"}))
    assert "root@assmat.example" in own and "gers-line" not in own and "cestas-line" not in own
    exported = platform.client.get("/admin/platform-audit/export/csv", params={"tenant": "gers"}).content.decode("utf-8-sig")
    assert "gers-line" in exported and "cestas-line" not in exported


def test_console_sessions_stay_on_their_host_and_each_console_keeps_its_views(console_for, app, client_for):
    gers = signed_in(console_for, app, "gers", "agent@gers.fr")
    platform = signed_in(console_for, app, "localhost", "root@assmat.example")
    super_cookie = platform.client.cookies.get("admin_session")
    gers_cookie = gers.client.cookies.get("admin_session")
    assert super_cookie and gers_cookie

    # A session cookie sent by hand works on its own host (the control for what follows)…
    copy = client_for("gers")
    copy.headers["cookie"] = f"admin_session={gers_cookie}"
    assert copy.get("/admin/audit/list").status_code == 200
    # …but a super-admin's session is anonymous on a tenant's host, a tenant's on the root domain.
    on_gers = client_for("gers")
    on_gers.headers["cookie"] = f"admin_session={super_cookie}"
    for page in ("/admin/", "/admin/audit/list", "/admin/plateforme", "/admin/vue-d-ensemble"):
        response = on_gers.get(page)
        assert response.status_code == 302 and response.headers["location"].endswith("/admin/login"), page
    on_root = client_for("localhost")
    on_root.headers["cookie"] = f"admin_session={gers_cookie}"
    for page in ("/admin/", "/admin/plateforme", "/admin/platform-audit/list", "/admin/tenant-admin/list"):
        response = on_root.get(page)
        assert response.status_code == 302 and response.headers["location"].endswith("/admin/login"), page
    on_cestas = client_for("cestas")
    on_cestas.headers["cookie"] = f"admin_session={gers_cookie}"
    assert on_cestas.get("/admin/audit/list").status_code == 302

    # Signed in, each sees only its own console's views.
    for page in ("/admin/plateforme", "/admin/tenant-admin/list", "/admin/platform-audit/list"):
        assert gers.client.get(page).status_code == 403
    for page in ("/admin/vue-d-ensemble", "/admin/audit/list", "/admin/account/list", "/admin/outbox-mail/list"):
        assert platform.client.get(page).status_code == 403
    assert "Collectivités" not in text_of(gers.client.get("/admin/audit/list"))
    assert "Journal d'audit (toutes collectivités)" in text_of(platform.client.get("/admin/plateforme"))


def test_a_super_admin_unlocks_a_locked_tenant_admin_after_a_confirmation_and_it_is_audited(console_for, app):
    agent = signed_in(console_for, app, "gers", "agent@gers.fr")
    for _ in range(app.state.settings.console_lockout_max_failures):
        assert agent.login("agent@gers.fr", "Faux#Passe99").status_code == 400
    assert agent.login("agent@gers.fr", ADMIN_PASSWORD).status_code == 400  # locked
    platform = signed_in(console_for, app, "localhost", "root@assmat.example")
    (gers_admin,) = fetch(platform, select(Admin.id).where(Admin.email == "agent@gers.fr"))
    assert "bloqué" in text_of(platform.client.get("/admin/tenant-admin/list"))

    # The GET only asks; a POST without its CSRF token changes nothing.
    confirm = platform.client.get("/admin/tenant-admin/action/unlock", params={"pks": str(gers_admin.id)})
    assert confirm.status_code == 200
    page = html.unescape(confirm.text)
    assert "Débloquer : confirmation" in page and "agent@gers.fr" in page and "Confirmer : Débloquer" in page
    assert platform.client.post("/admin/tenant-admin/run/unlock", data={"pks": str(gers_admin.id)}).status_code == 403
    assert agent.login("agent@gers.fr", ADMIN_PASSWORD).status_code == 400

    done = platform.run_action("unlock", str(gers_admin.id), identity="tenant-admin")
    assert done.status_code == 303 and done.headers["location"].endswith("done=unlock&count=1")
    assert agent.login("agent@gers.fr", ADMIN_PASSWORD).status_code == 302
    assert agent.client.get("/admin/account/list").status_code == 200
    (state,) = fetch(platform, select(Admin.locked_at, Admin.locked_until, Admin.failed_logins).where(Admin.id == gers_admin.id))
    assert tuple(state) == (None, None, 0)
    events = fetch(platform, select(AuditEvent.tenant_id, AuditEvent.detail).where(AuditEvent.type == "admin.unlocked"))
    assert [tuple(e) for e in events] == [("gers", {"admin_email": "agent@gers.fr", "by": "root@assmat.example"})]
    # Tenant staff cannot reach the platform's action.
    assert agent.run_action("unlock", str(gers_admin.id), identity="tenant-admin").status_code in (403, 404)


def _link_in(mail) -> str:
    body = mail.get_body(("plain",)).get_content()
    match = re.search(r"http://[a-z.-]*localhost(/admin/mot-de-passe/\S+)", body)
    assert match, body
    return match.group(1)


def test_a_super_admin_adds_a_tenant_admin_who_chooses_a_password_from_the_emailed_link(console_for, app, smtp_server):
    staff = signed_in(console_for, app, "gers", "agent@gers.fr")
    # A tenant's staff cannot add anyone, to their tenant or another.
    assert staff.client.get("/admin/plateforme/administrateurs/nouveau").status_code == 403
    assert staff.client.post("/admin/plateforme/administrateurs/nouveau", data={
        "csrf_token": staff.csrf("/admin/account/list"), "collectivite": "gers", "email": "intrus@gers.fr",
        "role": "admin"}).status_code == 403
    assert "Ajouter un administrateur" not in staff.client.get("/admin/account/list").text
    platform = signed_in(console_for, app, "localhost", "root@assmat.example")
    listing = platform.client.get("/admin/tenant-admin/list")
    assert "Ajouter un administrateur" in listing.text
    assert "collectivite=cestas" in platform.client.get("/admin/plateforme").text
    form = platform.client.get("/admin/plateforme/administrateurs/nouveau", params={"collectivite": "cestas"})
    assert form.status_code == 200 and '<option value="cestas" selected>' in form.text
    token = platform.csrf("/admin/plateforme/administrateurs/nouveau")

    # Bad input: a French message per field, nothing created, nothing sent.
    bad = platform.client.post("/admin/plateforme/administrateurs/nouveau", data={
        "csrf_token": token, "collectivite": "nulle-part", "email": "agent@cestas.fr", "role": "admin"})
    assert bad.status_code == 400 and "Choisissez la collectivité." in html.unescape(bad.text)
    bad = platform.client.post("/admin/plateforme/administrateurs/nouveau", data={
        "csrf_token": token, "collectivite": "cestas", "email": "pas-une-adresse", "role": "admin"})
    assert bad.status_code == 400 and 'aria-invalid="true"' in bad.text and 'value="pas-une-adresse"' in bad.text
    bad = platform.client.post("/admin/plateforme/administrateurs/nouveau", data={
        "csrf_token": token, "collectivite": "cestas", "email": "agent@cestas.fr", "role": "super"})
    assert bad.status_code == 400 and "Choisissez le rôle." in html.unescape(bad.text)
    assert platform.client.post("/admin/plateforme/administrateurs/nouveau", data={
        "collectivite": "cestas", "email": "agent@cestas.fr", "role": "admin"}).status_code == 403
    assert fetch(platform, select(Admin.id).where(Admin.email.in_(("agent@cestas.fr", "intrus@gers.fr")))) == []

    created = platform.client.post("/admin/plateforme/administrateurs/nouveau", data={
        "csrf_token": token, "collectivite": "cestas", "email": "Agent@Cestas.fr", "role": "read_only"})
    assert created.status_code == 303 and "cree=1" in created.headers["location"]
    details = html.unescape(platform.client.get(created.headers["location"]).text)
    assert "Accès créé : un lien pour choisir le mot de passe est envoyé à Agent@Cestas.fr" in details
    (row,) = fetch(platform, select(Admin.tenant_id, Admin.role, Admin.password_hash).where(Admin.email == "Agent@Cestas.fr"))
    assert tuple(row) == ("cestas", "read_only", None)
    again = platform.client.post("/admin/plateforme/administrateurs/nouveau", data={
        "csrf_token": token, "collectivite": "cestas", "email": "agent@cestas.fr", "role": "admin"})
    assert again.status_code == 400 and "existe déjà" in html.unescape(again.text)

    (mail,) = smtp_server.wait_for(1)
    assert mail["To"] == "Agent@Cestas.fr"
    link = _link_in(mail)
    agent = console_for("cestas")
    choose = agent.client.get(link)
    assert choose.status_code == 200
    chosen = agent.client.post(link, data={"csrf_token": agent.csrf(link), "mot_de_passe": "Portail2Cestas",
                                           "confirmation": "Portail2Cestas"})
    assert chosen.status_code == 303
    assert agent.login("agent@cestas.fr", "Portail2Cestas").status_code == 302
    events = fetch(platform, select(AuditEvent.tenant_id, AuditEvent.detail).where(AuditEvent.type == "admin.created"))
    assert [tuple(e) for e in events if e.tenant_id == "cestas"] == [
        ("cestas", {"role": "read_only", "admin_email": "Agent@Cestas.fr", "by": "root@assmat.example"})]


def test_a_super_admin_sends_a_new_set_password_link_and_the_old_one_dies(console_for, app, smtp_server):
    platform = signed_in(console_for, app, "localhost", "root@assmat.example")
    token = platform.csrf("/admin/plateforme/administrateurs/nouveau")
    platform.client.post("/admin/plateforme/administrateurs/nouveau", data={
        "csrf_token": token, "collectivite": "gers", "email": "nouvel.agent@gers.fr", "role": "admin"})
    first = _link_in(smtp_server.wait_for(1)[0])
    (admin,) = fetch(platform, select(Admin.id).where(Admin.email == "nouvel.agent@gers.fr"))

    confirm = platform.client.get("/admin/tenant-admin/action/send-link", params={"pks": str(admin.id)})
    assert confirm.status_code == 200 and "48 heures" in html.unescape(confirm.text)
    done = platform.run_action("send_link", str(admin.id), identity="tenant-admin")
    assert done.status_code == 303 and done.headers["location"].endswith("done=send_link&count=1")
    second = _link_in(smtp_server.wait_for(2)[1])
    assert second != first
    agent = console_for("gers")
    for link, status in ((first, 400), (second, 303)):  # the earlier link no longer works
        chosen = agent.client.post(link, data={"csrf_token": agent.csrf(link), "mot_de_passe": "Lune#Soleil2026",
                                               "confirmation": "Lune#Soleil2026"})
        assert chosen.status_code == status
    events = fetch(platform, select(AuditEvent.tenant_id, AuditEvent.detail).where(AuditEvent.type == "admin.set_password_sent"))
    assert [tuple(e) for e in events] == [("gers", {"admin_email": "nouvel.agent@gers.fr", "by": "root@assmat.example"})]

    # A disabled access receives nothing.
    platform.run_action("disable", str(admin.id), identity="tenant-admin")
    done = platform.run_action("send_link", str(admin.id), identity="tenant-admin")
    assert done.headers["location"].endswith("done=send_link&count=0")
    assert len(smtp_server.messages) == 2
