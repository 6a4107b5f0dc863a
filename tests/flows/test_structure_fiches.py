"""Issue 13, « MAM and relais » after their accounts (seed 002), on Eure-et-Loir: a structure has
several accounts; its account edits « Notre fiche » (French messages, nothing changed on a wrong
field, audited) and its public page `/structures/<id>` shows what it published, a MAM's members
with a published fiche; a member's fiche shows her MAM with « Voir les coordonnées »; the
search's « en MAM » filter; a relais sees the assistants of its communes only, published or not,
never another commune's nor another tenant's; the import's MAM column."""

from __future__ import annotations

import re
from datetime import UTC, datetime

import pytest
from sqlalchemy import select

from assmat.auth import credentials
from assmat.auth.models import Account
from assmat.core.security.models import AuditEvent
from assmat.portal.directory.models import DirectoryEntry
from assmat.portal.directory.service import refresh_entries
from assmat.portal.imports.service import import_assistants
from assmat.portal.profile.models import Fiche
from assmat.portal.structures import service
from assmat.portal.structures.models import Structure, StructureAccount, StructureMember
from tests.flows.test_eure_et_loir import GOOD, SLUG, login
from tests.support.portal import text_of
from tests.support.site import make_publishable

pytestmark = pytest.mark.both_backends


def new_structure(portal, kind: str, name: str, email: str, communes: str = "") -> tuple[Structure, Account]:
    return portal.service_call(service.create_structure, service.NewStructure(
        kind=kind, name=name, email=email, address="3 rue du Bourg", postal_code="28000", city="Chartres",
        phone="02 37 00 00 00", communes=communes), "agent@eurelien.fr")


def sign_in(portal, account: Account, identifier: str) -> None:
    portal.service_call(credentials.set_password, account, GOOD, None, "test")
    portal.update_account(account.id, email_confirmed_at=datetime.now(UTC))
    portal.client.cookies.clear()
    signed = login(portal, identifier, GOOD)
    assert signed.status_code == 303 and signed.headers["location"] == "/espace", text_of(signed)


def assistant(portal, number: str, first: str, last: str, city: str = "Chartres", postal_code: str = "28000",
              published: bool = True, phone: str | None = "06 11 22 33 44") -> Account:
    account, _ = portal.create_account(number, email=f"{first.lower()}.{last.lower()}@example.fr", first_name=first,
                                       last_name=last, city=city, postal_code=postal_code, phone=phone)
    if published:
        make_publishable(portal, account)

        async def fiche():
            async with portal.app.state.sessionmaker() as db:
                db.add(Fiche(tenant_id=portal.slug, account_id=account.id, public_id=f"pub{number}".ljust(12, "x")[:12]))
                await db.flush()
                await refresh_entries(db, portal.tenant, [account.id])
                await db.commit()

        portal.run(fiche)
    return account


def db_call(portal, fn, *args):
    async def call():
        async with portal.app.state.sessionmaker() as db:
            result = await fn(db, portal.tenant, *args)
            await db.commit()
            return result

    return portal.run(call)


# -- several accounts ------------------------------------------------------------------------------------

def test_a_structure_has_several_accounts_each_signing_in_for_it(portal_for):
    eure = portal_for(SLUG)
    structure, first = new_structure(eure, "mam", "MAM Les Petits Loups", "mam.loups@example.fr")
    claire = assistant(eure, "280417", "Claire", "Petit", published=False)
    with pytest.raises(service.StructureRefused) as taken:
        eure.service_call(service.add_account, structure, claire.email, "agent@eurelien.fr")
    assert taken.value.errors["email"].startswith("Cette adresse est celle d'un assistant maternel inscrit sur le site")
    second = eure.service_call(service.add_account, structure, "Julie.Loups@example.fr ", "agent@eurelien.fr")
    assert (second.kind, second.identifier) == ("mam", "julie.loups@example.fr")
    assert eure.query(select(StructureAccount.account_id).where(StructureAccount.structure_id == structure.id)
                      .order_by(StructureAccount.account_id)) == [(first.id,), (second.id,)]
    sign_in(eure, second, "julie.loups@example.fr")
    assert "MAM Les Petits Loups" in text_of(eure.client.get("/espace"))
    assert eure.client.get("/espace/notre-fiche").status_code == 200
    events = eure.query(select(AuditEvent.type).where(AuditEvent.account_id == second.id))
    assert ("structure.account_added",) in events


# -- « Notre fiche » and the public page -----------------------------------------------------------------------

def test_a_mam_edits_its_fiche_with_french_messages_and_its_page_shows_what_it_published(portal_for):
    eure = portal_for(SLUG)
    structure, account = new_structure(eure, "mam", "MAM Les Petits Loups", "mam.loups@example.fr")
    sign_in(eure, account, "mam.loups@example.fr")
    form = eure.client.get("/espace/notre-fiche")
    assert form.status_code == 200 and "Notre fiche" in text_of(form)

    bad = eure.post("/espace/notre-fiche", {"presentation": "Trois assistantes.", "postal_code": "28 abc",
                                             "public_email": "pas-une-adresse", "phone": "12", "hours": "x" * 1001})
    page = text_of(bad)
    assert bad.status_code == 400
    for message in ("Le code postal compte 5 chiffres.", "Veuillez saisir une adresse email valide.",
                    "Indiquez un numéro de téléphone à 10 chiffres.", "1000 caractères au plus."):
        assert message in page, message
    assert eure.query(select(Structure.presentation, Structure.postal_code).where(Structure.id == structure.id)) == [
        (None, "28000")]

    saved = eure.post("/espace/notre-fiche", {
        "presentation": "Trois assistantes maternelles\nau cœur de Chartres.", "address": "5 place des Épars",
        "postal_code": "28000", "city": "Chartres", "phone": "02 37 11 22 33", "public_email": "",
        "hours": "Du lundi au vendredi, de 7 h 30 à 18 h 30."})
    assert saved.status_code == 303 and saved.headers["location"] == "/espace/notre-fiche?info=structure_saved"
    assert "Votre fiche a été enregistrée." in text_of(eure.client.get(saved.headers["location"]))
    (event,) = eure.query(select(AuditEvent.detail).where(AuditEvent.type == "structure.fiche_saved"))
    assert event[0]["fields"] == ["address", "hours", "phone", "presentation", "public_email"]

    eure.client.cookies.clear()
    public = eure.client.get(f"/structures/{structure.id}")
    shown = text_of(public)
    assert public.status_code == 200 and '<meta name="robots" content="noindex">' in public.text
    assert "MAM Les Petits Loups" in shown and "5 place des Épars" in shown and "Du lundi au vendredi" in shown
    assert "02 37 11 22 33" in shown and "mam.loups@example.fr" not in shown  # it published no email
    assert "Aucune fiche de ses assistants maternels n'est publiée." in shown


def test_the_structure_page_is_a_404_for_another_tenant_and_the_form_for_an_assistant(portal_for):
    eure, gers = portal_for(SLUG), portal_for("gers")
    structure, _account = new_structure(eure, "ram", "Relais de Lucé", "relais.luce@example.fr", "Lucé")
    assert eure.client.get(f"/structures/{structure.id}").status_code == 200
    for path in (f"/structures/{structure.id}", "/structures/0", "/structures/abc", f"/structures/{structure.id + 1}"):
        assert gers.client.get(path).status_code == 404, path
    assert eure.client.get(f"/structures/{structure.id + 1}").status_code == 404
    claire = assistant(eure, "280417", "Claire", "Petit", published=False)
    sign_in(eure, claire, "280417")
    assert eure.client.get("/espace/notre-fiche").status_code == 404
    assert eure.client.get("/espace/relais/assistants").status_code == 404
    eure.client.cookies.clear()
    assert eure.client.get("/espace/notre-fiche").headers["location"].startswith("/connexion")


def test_the_list_of_the_relais_leads_to_each_relais_fiche_and_names_no_mam(portal_for):
    """Seed 002: « Vous pouvez accéder à cette fiche à partir de la liste des RAM. Cliquez sur le
    bouton « VOIR LES COORDONNÉES » de la fiche RAM. »"""
    eure = portal_for(SLUG)
    home = text_of(eure.client.get("/"))
    assert "Les relais d'assistants maternels" in home and 'href="/relais"' in eure.client.get("/").text
    zeta, _ = new_structure(eure, "ram", "Relais Zéphyr", "relais.zephyr@example.fr", "Lucé\nMainvilliers")
    alpha, _ = new_structure(eure, "ram", "Relais Aurore", "relais.aurore@example.fr", "Chartres")
    new_structure(eure, "mam", "MAM Les Lutins", "mam.lutins@example.fr")

    listing = eure.client.get("/relais")
    shown = text_of(listing)
    assert listing.status_code == 200
    assert shown.index("Relais Aurore") < shown.index("Relais Zéphyr"), "by name"
    assert "Communes couvertes : Lucé, Mainvilliers" in shown and "MAM Les Lutins" not in shown
    assert "relais.zephyr@example.fr" not in shown  # the sign-in address is never public
    for structure in (alpha, zeta):
        assert f'href="/structures/{structure.id}">Voir les coordonnées' in listing.text
    fiche = eure.client.get(f"/structures/{zeta.id}")
    assert fiche.status_code == 200 and 'href="/relais"' in fiche.text

    for slug in ("gers", "cestas", "alpes-maritimes", "mon-enfant"):  # no relais there: no page, no link
        other = portal_for(slug)
        assert other.client.get("/relais").status_code == 404, slug
        assert 'href="/relais"' not in other.client.get("/").text, slug


# -- MAM members: their fiches, the MAM's page, the search ---------------------------------------------------------

def test_a_member_fiche_shows_her_mam_and_the_search_filters_en_mam(portal_for):
    eure = portal_for(SLUG)
    before = eure.client.get("/recherche")
    assert 'name="lieu"' not in before.text  # no MAM yet: a single answer, no choice
    mam, _account = new_structure(eure, "mam", "MAM Les Petits Loups", "mam.loups@example.fr")
    claire = assistant(eure, "280417", "Claire", "Petit")
    julie = assistant(eure, "280418", "Julie", "Bernard", published=False)
    anne = assistant(eure, "280419", "Anne", "Martin")
    for member in (claire, julie):
        db_call(eure, service.link_member, mam, member, "agent@eurelien.fr")
    entries = dict(eure.query(select(DirectoryEntry.account_id, DirectoryEntry.in_mam)))
    assert entries == {claire.id: True, anne.id: False}

    fiche = text_of(eure.client.get("/assistants/pub280417xxx"))
    assert "Cet assistant maternel exerce dans la MAM « MAM Les Petits Loups »." in fiche
    assert f'href="/structures/{mam.id}"' in eure.client.get("/assistants/pub280417xxx").text
    assert "Voir les coordonnées" in fiche
    assert "exerce dans la MAM" not in text_of(eure.client.get("/assistants/pub280419xxx"))

    page = eure.client.get(f"/structures/{mam.id}")
    assert 'href="/assistants/pub280417xxx"' in page.text and "Claire Petit" in text_of(page)
    assert "Julie" not in text_of(page)  # her fiche is not published: not named

    form = eure.client.get("/recherche")
    assert 'name="lieu"' in form.text and "En MAM" in text_of(form) and "À domicile" in text_of(form)
    in_mam = text_of(eure.client.get("/recherche", params={"commune": "28000", "lieu": "mam"}))
    assert "Claire Petit" in in_mam and "Anne Martin" not in in_mam and "en MAM" in in_mam
    at_home = text_of(eure.client.get("/recherche", params={"commune": "28000", "lieu": "domicile"}))
    assert "Anne Martin" in at_home and "Claire Petit" not in at_home
    either = text_of(eure.client.get("/recherche", params={"commune": "28000"}))
    assert "Anne Martin" in either and "Claire Petit" in either
    bad = eure.client.get("/recherche", params={"commune": "28000", "lieu": "ailleurs"})
    assert bad.status_code == 400 and "Choisissez à domicile, en MAM ou indifférent." in text_of(bad)

    db_call(eure, service.unlink_member, mam, claire.id, "agent@eurelien.fr")
    assert dict(eure.query(select(DirectoryEntry.account_id, DirectoryEntry.in_mam)))[claire.id] is False
    assert [row.type for row in eure.query(select(AuditEvent.type).where(AuditEvent.type.like("structure.member%"))
                                           .order_by(AuditEvent.id))] == [
        "structure.member_linked", "structure.member_linked", "structure.member_unlinked"]


def test_an_assistant_is_in_one_mam_of_her_own_tenant_only(portal_for):
    eure, gers = portal_for(SLUG), portal_for("gers")
    first, _ = new_structure(eure, "mam", "MAM Un", "mam.un@example.fr")
    second, _ = new_structure(eure, "mam", "MAM Deux", "mam.deux@example.fr")
    relais, _ = new_structure(eure, "ram", "Relais", "relais@example.fr", "Chartres")
    claire = assistant(eure, "280417", "Claire", "Petit")
    db_call(eure, service.link_member, first, claire, "agent")
    db_call(eure, service.link_member, second, claire, "agent")  # moved: one MAM at a time
    assert eure.query(select(StructureMember.structure_id).where(StructureMember.account_id == claire.id)) == [(second.id,)]
    with pytest.raises(service.StructureRefused):
        db_call(eure, service.link_member, relais, claire, "agent")
    stranger, _ = gers.create_account("AGR-2026-0001", email="x@example.org")
    with pytest.raises(service.StructureRefused):
        db_call(eure, service.link_member, second, stranger, "agent")
    assert eure.query(select(StructureMember.account_id).order_by(StructureMember.account_id)) == [(claire.id,)]


# -- the relais' assistants --------------------------------------------------------------------------------

def test_a_relais_sees_the_assistants_of_its_communes_only_published_or_not(portal_for):
    eure, gers = portal_for(SLUG), portal_for("gers")
    relais, account = new_structure(eure, "ram", "Relais petite enfance de Lucé", "relais.luce@example.fr",
                                    "LUCÉ\nSaint-Prest")
    published = assistant(eure, "280417", "Claire", "Petit", city="Lucé", postal_code="28110")
    hidden = assistant(eure, "280418", "Julie", "Bernard", city="saint prest", postal_code="28300", published=False,
                       phone=None)
    assistant(eure, "280419", "Anne", "Martin", city="Chartres")  # another commune
    gers.create_account("AGR-2026-0009", email="lea@example.org", first_name="Léa", last_name="Gersoise", city="Lucé")
    sign_in(eure, account, "relais.luce@example.fr")
    dashboard = text_of(eure.client.get("/espace"))
    assert "Les assistants maternels de nos communes" in dashboard
    listing = eure.client.get("/espace/relais/assistants")
    page = text_of(listing)
    assert listing.status_code == 200
    assert "Claire Petit" in page and "Julie Bernard" in page and "2 assistants maternels" in page
    assert "Anne Martin" not in page and "Léa" not in page and "Gersoise" not in page
    assert "Publiée" in page and "Non publiée" in page and "Jamais remplie" in page
    assert "06 11 22 33 44" in page
    # Her sign-in address, birth date and street are not the relais' to see.
    assert published.email not in page and hidden.email not in page and "17/05/1980" not in page
    mam, mam_account = new_structure(eure, "mam", "MAM", "mam@example.fr")
    sign_in(eure, mam_account, "mam@example.fr")
    assert eure.client.get("/espace/relais/assistants").status_code == 404  # a MAM has no such list


# -- the monthly import's MAM column ----------------------------------------------------------------------

HEADER = "numero_agrement;nom;prenom;commune;code_postal;date_debut_agrement;date_fin_agrement;mam\n"


def run_import(portal, text: str, dry_run: bool = False):
    async def call():
        async with portal.app.state.sessionmaker() as db:
            return await import_assistants(db, portal.tenant, text.encode(), "mensuel.csv", dry_run=dry_run, by="agent")

    return portal.run(call)


def test_the_import_links_members_by_the_mam_column_and_refuses_an_unknown_mam(portal_for):
    eure = portal_for(SLUG)
    mam, _ = new_structure(eure, "mam", "MAM Les Petits-Loups", "mam.loups@example.fr")
    report = run_import(eure, HEADER + "280417;Petit;Claire;Chartres;28000;01/01/2020;31/12/2035;mam les petits loups\n"
                        "280418;Bernard;Julie;Chartres;28000;01/01/2020;31/12/2035;MAM Inconnue\n"
                        "280419;Martin;Anne;Chartres;28000;01/01/2020;31/12/2035;\n")
    assert report.created == 2
    assert [(r.line, r.reason) for r in report.rejected] == [(3, (
        "MAM inconnue « MAM Inconnue » : aucune MAM de ce portail ne porte ce nom (créez-la dans la console ou "
        "corrigez le nom)"))]
    members = eure.query(select(Account.identifier).join(StructureMember, (StructureMember.account_id == Account.id)
                                                         & (StructureMember.tenant_id == Account.tenant_id)))
    assert members == [("280417",)]
    assert eure.query(select(Account.id).where(Account.identifier == "280418")) == []  # the row changed nothing
    again = run_import(eure, HEADER + "280417;Petit;Claire;Chartres;28000;01/01/2020;31/12/2035;\n")
    assert again.rejected == []
    assert eure.query(select(StructureMember.id)) == []  # an empty cell: at home
    assert mam.id  # still there


def test_a_portal_without_mam_ignores_and_reports_the_column(portal_for):
    gers = portal_for("gers")
    header = "numero_agrement;nom;prenom;mam\n"
    report = run_import(gers, header + "AGR-2026-0001;Petit;Claire;MAM X\n", dry_run=True)
    assert report.rejected == [] and any("Colonnes inconnues, ignorées : mam." in w for w in report.warnings)
