"""« Structures (MAM, relais) » in Eure-et-Loir's console: « Créer une structure » creates the
structure and its account (identifier: its email), then mails the activation link (real SMTP); an
assistant's address is refused in French with nothing written; the view is Eure-et-Loir's only."""

from __future__ import annotations

import html

import pytest

from sqlalchemy import select

from assmat.auth.models import Account
from assmat.core.security.models import AuditEvent
from assmat.portal.structures.models import Structure, StructureAccount, StructureMember
from tests.admin.conftest import fetch, signed_in

pytestmark = pytest.mark.both_backends

NEW = "/admin/structures/nouvelle"


def post(console, **values):
    return console.client.post(NEW, data={"csrf_token": console.csrf(NEW), **values})


def test_staff_create_a_relais_and_its_account_which_receives_an_activation_link(console_for, app, smtp_server, portal_for):
    console = signed_in(console_for, app, "eure-et-loir", "agent@eurelien.fr")
    listing = html.unescape(console.client.get("/admin/structures/list").text)
    assert "Créer une structure" in listing
    form = html.unescape(console.client.get(NEW).text)
    assert "Maison d'assistants maternels (MAM)" in form and "Relais d'assistants maternels (RAM)" in form

    missing = post(console, kind="ram", name="", email="")
    page = html.unescape(missing.text)
    assert missing.status_code == 400 and "Indiquez le nom de la structure." in page
    assert "Indiquez l'adresse électronique de la structure : elle sert d'identifiant." in page
    assert console.client.post(NEW, data={"kind": "ram", "name": "Relais", "email": "r@example.org"}).status_code == 403

    eure = portal_for("eure-et-loir")
    eure.create_account("280417", email="claire.petit@example.fr", birth_date=None)
    taken = post(console, kind="mam", name="MAM Les Loupiots", email="Claire.Petit@example.fr")
    assert taken.status_code == 400
    assert "Cette adresse est celle d'un assistant maternel inscrit sur le site" in html.unescape(taken.text)
    assert fetch(console, select(Structure.id)) == []

    done = post(console, kind="ram", name="Relais petite enfance de Lucé", email="relais.luce@example.org",
                phone="02 37 00 00 01", address="1 place de la Mairie", postal_code="28110", city="Lucé",
                communes="Lucé\nMainvilliers\n")
    assert done.status_code == 303 and "/admin/structures/details/" in done.headers["location"]
    details = html.unescape(console.client.get(done.headers["location"]).text)
    assert "Relais petite enfance de Lucé" in details and "Mainvilliers" in details
    (row,) = fetch(console, select(Account.kind, Account.identifier, Account.email).join(
        StructureAccount, (StructureAccount.account_id == Account.id) & (StructureAccount.tenant_id == Account.tenant_id)))
    assert tuple(row) == ("ram", "relais.luce@example.org", "relais.luce@example.org")
    (mail,) = smtp_server.wait_for(1)
    assert mail["To"] == "relais.luce@example.org" and "/activation/" in mail.get_body(("plain",)).get_content()

    again = post(console, kind="mam", name="Autre", email="RELAIS.luce@example.org")
    assert again.status_code == 400 and "Cette adresse est déjà celle d'un autre compte." in html.unescape(again.text)


def test_read_only_staff_may_not_create_and_other_tenants_have_no_structures(console_for, app):
    reader = signed_in(console_for, app, "eure-et-loir", "lecteur@eurelien.fr", role="read_only")
    assert reader.client.get(NEW).status_code == 403
    gers = signed_in(console_for, app, "gers", "agent@gers.fr")
    assert "Structures (MAM, relais)" not in html.unescape(gers.client.get("/admin/").text)
    assert gers.client.get(NEW).status_code == 404


# -- a structure's page: edit, accounts, members, delete ---------------------------------------------------

def create(console, **values):
    done = post(console, **{"kind": "mam", "name": "MAM Les Loupiots", "email": "mam.loupiots@example.org",
                            "city": "Chartres", **values})
    assert done.status_code == 303, html.unescape(done.text)
    return int(done.headers["location"].rsplit("/", 1)[1])


def test_staff_edit_a_structure_with_the_address_rule(console_for, app, portal_for):
    console = signed_in(console_for, app, "eure-et-loir", "agent@eurelien.fr")
    relais = create(console, kind="ram", name="Relais", email="relais@example.org", communes="Lucé")
    create(console, name="MAM", email="mam@example.org")
    portal_for("eure-et-loir").create_account("280417", email="claire.petit@example.fr", birth_date=None)
    edit = f"/admin/structures/modifier/{relais}"
    page = html.unescape(console.client.get(edit).text)
    assert "Communes couvertes" in page and "Lucé" in page
    for email, message in (("claire.petit@example.fr", "Cette adresse est celle d'un assistant maternel inscrit sur le site"),
                           ("mam@example.org", "Cette adresse est déjà celle d'un autre compte."),
                           ("pas-une-adresse", "Adresse électronique invalide.")):
        refused = console.client.post(edit, data={"csrf_token": console.csrf(edit), "name": "Relais", "email": email})
        assert refused.status_code == 400 and message in html.unescape(refused.text), email
    assert fetch(console, select(Structure.email).where(Structure.id == relais)) == [("relais@example.org",)]
    done = console.client.post(edit, data={"csrf_token": console.csrf(edit), "name": "Relais petite enfance",
                                           "email": "Relais@example.org", "communes": "Lucé\nMainvilliers",
                                           "city": "Chartres"})
    assert done.status_code == 303 and done.headers["location"].endswith(f"/admin/structures/details/{relais}?fait=modifiee")
    assert fetch(console, select(Structure.name, Structure.communes).where(Structure.id == relais)) == [
        ("Relais petite enfance", "Lucé\nMainvilliers")]
    (detail,) = fetch(console, select(AuditEvent.detail).where(AuditEvent.type == "structure.updated"))
    assert detail[0]["fields"] == ["communes", "email", "name"] and detail[0]["by"] == "agent@eurelien.fr"
    assert "Structure modifiée." in html.unescape(console.client.get(done.headers["location"]).text)


def test_staff_add_an_account_link_and_unlink_members_then_delete_the_mam(console_for, app, portal_for, smtp_server):
    console = signed_in(console_for, app, "eure-et-loir", "agent@eurelien.fr")
    mam = create(console)
    smtp_server.wait_for(1)  # the first account's activation link
    eure = portal_for("eure-et-loir")
    claire, _ = eure.create_account("280417", email="claire.petit@example.fr", first_name="Claire", last_name="Petit")
    people = f"/admin/structures/personnes/{mam}"

    def send(**data):
        return console.client.post(people, data={"csrf_token": console.csrf(people), **data})

    taken = send(op="compte", email="claire.petit@example.fr")
    assert taken.status_code == 400 and "Cette adresse est celle d'un assistant maternel" in html.unescape(taken.text)
    added = send(op="compte", email="julie@example.org")
    assert added.status_code == 303 and added.headers["location"].endswith("?fait=lien")
    assert smtp_server.wait_for(2)[1]["To"] == "julie@example.org"
    unknown = send(op="membre", identifier="999999")
    assert unknown.status_code == 400 and "Aucun assistant maternel de ce site n'a cet identifiant." in html.unescape(unknown.text)
    linked = send(op="membre", identifier="280417")
    assert linked.status_code == 303 and linked.headers["location"].endswith("?fait=membre")
    details = html.unescape(console.client.get(linked.headers["location"]).text)
    assert "Claire Petit" in details and "julie@example.org" in details and "mam.loupiots@example.org" in details
    assert fetch(console, select(StructureMember.account_id)) == [(claire.id,)]
    assert send(op="retirer", account_id=str(claire.id)).status_code == 303
    assert fetch(console, select(StructureMember.account_id)) == []
    assert send(op="retirer", account_id=str(claire.id)).status_code == 404
    send(op="membre", identifier="280417")

    accounts = [row[0] for row in fetch(console, select(StructureAccount.account_id))]
    confirm = console.client.get("/admin/structures/action/delete-structure", params={"pks": str(mam)})
    assert confirm.status_code == 200 and "Ses comptes sont désactivés" in html.unescape(confirm.text)
    deleted = console.client.post("/admin/structures/run/delete_structure",
                                  data={"csrf_token": console.csrf("/admin/structures/list"), "pks": str(mam)})
    assert deleted.status_code == 303
    assert fetch(console, select(Structure.id)) == [] and fetch(console, select(StructureMember.id)) == []
    assert fetch(console, select(StructureAccount.id)) == []
    assert {row[0] is not None for row in fetch(console, select(Account.disabled_at).where(Account.id.in_(accounts)))} == {True}
    assert eure.account(claire.id).disabled_at is None  # the member keeps her account
    (detail,) = fetch(console, select(AuditEvent.detail).where(AuditEvent.type == "structure.deleted"))
    assert sorted(detail[0]["accounts"]) == sorted(accounts) and detail[0]["members"] == [claire.id]


def test_another_tenants_structure_is_out_of_reach_of_every_structure_page(console_for, app, portal_for):
    """Eure-et-Loir's staff, a Gers row's id: 404 on the edit, the accounts and members page and
    the delete, nothing changed; their own row answers (the control)."""
    console = signed_in(console_for, app, "eure-et-loir", "agent@eurelien.fr")
    ours = create(console)
    gers = portal_for("gers")
    theirs = gers.service_call(lambda ctx: _store_structure(ctx))
    before = fetch(console, select(Structure.id, Structure.name, Structure.email).order_by(Structure.id))
    for path in (f"/admin/structures/modifier/{theirs}", f"/admin/structures/personnes/{theirs}",
                 f"/admin/structures/details/{theirs}"):
        assert console.client.get(path).status_code in (403, 404), path
        posted = console.client.post(path, data={"csrf_token": console.csrf(f"/admin/structures/modifier/{ours}"),
                                                 "name": "pris", "email": "pris@example.org", "op": "compte"})
        assert posted.status_code in (403, 404, 405), path
    for path in ("/admin/structures/modifier/0", "/admin/structures/modifier/x", "/admin/structures/personnes/99999999999"):
        assert console.client.get(path).status_code == 404, path
    deleted = console.client.post("/admin/structures/run/delete_structure",
                                  data={"csrf_token": console.csrf("/admin/structures/list"), "pks": str(theirs)})
    assert deleted.status_code == 404
    assert fetch(console, select(Structure.id, Structure.name, Structure.email).order_by(Structure.id)) == before
    assert console.client.get(f"/admin/structures/modifier/{ours}").status_code == 200


async def _store_structure(ctx) -> int:
    structure = Structure(tenant_id=ctx.tenant.slug, kind="mam", name="MAM gersoise", email="mam@gers.example.org")
    ctx.db.add(structure)
    await ctx.db.flush()
    return structure.id


def test_read_only_staff_see_a_structure_but_neither_its_edit_nor_its_people_pages(console_for, app):
    admin = signed_in(console_for, app, "eure-et-loir", "agent@eurelien.fr")
    mam = create(admin)
    reader = signed_in(console_for, app, "eure-et-loir", "lecteur@eurelien.fr", role="read_only")
    details = html.unescape(reader.client.get(f"/admin/structures/details/{mam}").text)
    assert "MAM Les Loupiots" in details and "Modifier la structure" not in details
    for path in (f"/admin/structures/modifier/{mam}", f"/admin/structures/personnes/{mam}"):
        assert reader.client.get(path).status_code == 403, path
