"""« Structures (MAM, relais) » in Eure-et-Loir's console: « Créer une structure » creates the
structure and its account (identifier: its email), then mails the activation link (real SMTP); an
assistant's address is refused in French with nothing written; the view is Eure-et-Loir's only."""

from __future__ import annotations

import html

from sqlalchemy import select

from assmat.auth.models import Account
from assmat.portal.structures.models import Structure, StructureAccount
from tests.admin.conftest import fetch, signed_in

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
