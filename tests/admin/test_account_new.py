"""« Créer un compte » in a tenant's console: one account, then what the tenant's activation
mode says (the letter printed at once, or an activation link mailed), real SMTP."""

from __future__ import annotations

import html
import re

import pytest
from sqlalchemy import select

from assmat.auth.models import Account
from assmat.core.security.models import AuditEvent
from tests.admin.conftest import fetch, signed_in

NEW = "/admin/account/nouveau"


def post(console, **values):
    return console.client.post(NEW, data={"csrf_token": console.csrf(NEW), **values})


def test_gers_staff_create_an_assistant_and_print_her_letter_at_once(console_for, app, portal_for):
    console = signed_in(console_for, app, "gers", "agent@gers.fr")
    listing = console.client.get("/admin/account/list").text
    assert "Créer un compte" in listing and "Courriers à imprimer" in listing
    form = html.unescape(console.client.get(NEW).text)
    assert "Assistant maternel" in form and "Famille" not in form  # the Gers has no family accounts

    bad = post(console, type="assistant", identifiant="", naissance="31/02/1980", civilite="Mademoiselle")
    page = html.unescape(bad.text)
    assert bad.status_code == 400 and "Indiquez l'identifiant." in page
    assert "Date de naissance attendue au format JJ/MM/AAAA." in page and "Choisissez Madame ou Monsieur." in page
    assert post(console, type="parent", identifiant="AGR-2026-0900").status_code == 400
    assert console.client.post(NEW, data={"type": "assistant", "identifiant": "AGR-2026-0900"}).status_code == 403
    assert fetch(console, select(Account.id).where(Account.identifier == "AGR-2026-0900")) == []

    done = post(console, type="assistant", identifiant="agr-2026-0900", civilite="Madame", nom="Martin", prenom="Anne",
                naissance="17/05/1980", email="anne.martin@example.org", adresse="1 rue des Écoles", code_postal="32000",
                commune="Auch")
    assert done.status_code == 200 and done.headers["cache-control"] == "no-store"
    text = " ".join(html.unescape(re.sub(r"<[^>]+>", " ", done.text)).split())
    assert "Madame Anne Martin 1 rue des Écoles 32000 Auch" in text and "Auch, le " in text
    password = re.search(r"Mot de passe : (\S+)", text).group(1)
    (row,) = fetch(console, select(Account.identifier, Account.kind, Account.civility, Account.city)
                   .where(Account.tenant_id == "gers", Account.last_name == "Martin"))
    assert tuple(row) == ("AGR-2026-0900", "assistant", "Madame", "Auch")
    created = fetch(console, select(AuditEvent.detail).where(AuditEvent.type == "account.created"))
    assert created[-1].detail["by"] == "agent@gers.fr"

    again = post(console, type="assistant", identifiant="AGR-2026-0900")
    assert again.status_code == 400 and "existe déjà" in html.unescape(again.text)
    gers = portal_for("gers")
    signed = gers.login("AGR-2026-0900", password)
    assert signed.status_code == 303 and signed.headers["location"].endswith("/changement-mot-de-passe")


def test_eure_et_loir_staff_create_an_assistant_who_receives_an_activation_link(console_for, app, smtp_server):
    console = signed_in(console_for, app, "eure-et-loir", "agent@eurelien.fr")
    missing = post(console, type="assistant", identifiant="280900")
    assert missing.status_code == 400
    assert "Indiquez la date de naissance : la personne en aura besoin pour activer son compte." in html.unescape(missing.text)
    assert post(console, type="assistant", identifiant="AGR-X", naissance="17/05/1980").status_code == 400  # not a PMI number

    done = post(console, type="assistant", identifiant="280900", naissance="17/05/1980", email="paul@example.org",
                civilite="Monsieur", nom="Durand", prenom="Paul")
    assert done.status_code == 303 and done.headers["location"].endswith("?cree=lien")
    details = html.unescape(console.client.get(done.headers["location"]).text)
    assert "Compte créé : un lien d'activation est envoyé à paul@example.org." in details
    (mail,) = smtp_server.wait_for(1)
    assert mail["To"] == "paul@example.org" and "/activation/" in mail.get_body(("plain",)).get_content()

    without = post(console, type="assistant", identifiant="280901", naissance="17/05/1981")
    assert without.status_code == 303 and without.headers["location"].endswith("?cree=portail")
    assert len(smtp_server.messages) == 1


def test_cestas_staff_may_create_a_family_account_and_read_only_staff_may_not(console_for, app):
    console = signed_in(console_for, app, "cestas", "agent@cestas.fr")
    assert "Famille" in html.unescape(console.client.get(NEW).text)
    done = post(console, type="parent", identifiant="famille.dupont", email="dupont@example.org")
    assert done.status_code == 200  # Cestas hands out identifiants by letter
    (kind,) = fetch(console, select(Account.kind).where(Account.identifier == "famille.dupont"))
    assert kind.kind == "parent"
    reader = signed_in(console_for, app, "cestas", "lecteur@cestas.fr", role="read_only")
    assert reader.client.get(NEW).status_code == 403
    assert "Créer un compte" not in reader.client.get("/admin/account/list").text


@pytest.mark.parametrize("host", ["gers", "cestas"])
def test_an_account_created_in_one_console_belongs_to_its_tenant_only(console_for, app, host):
    console = signed_in(console_for, app, host, f"agent@{host}.fr")
    post(console, type="assistant" if host == "gers" else "parent",
         identifiant="AGR-2026-0950" if host == "gers" else "famille.x")
    tenants = {row.tenant_id for row in fetch(console, select(Account.tenant_id))}
    assert tenants == {host}
