"""Demo data: one account per tenant that can sign in, and a second run adds nothing."""

import asyncio
import html
from datetime import UTC, datetime

import pytest
from sqlalchemy import func, select

from assmat.core.security.hashing import make_hasher
from assmat.core.db.engine import make_engine, make_sessionmaker
from assmat.auth.models import Account
from assmat.portal.children.models import Child, Guardian
from assmat.portal.profile.models import Fiche
from assmat.portal.photos.models import Photo, PhotoFile
from assmat.demo import load_demo
from assmat.tenants.loader import load_valid_tenants
from assmat.tenants.rows import sync_tenant_rows
from assmat.tenants.registry import TenantRegistry
from tests.conftest import TENANT_CONFIGS
from tests.support.db import db_session

# The demo's summary says how to start again in its own words for each backend (assmat/cli.py), and
# its second run must add nothing on either.
pytestmark = pytest.mark.both_backends


def test_demo_load_is_idempotent(settings):
    tenants = load_valid_tenants(TENANT_CONFIGS)
    hasher = make_hasher(settings)

    async def load():
        engine = make_engine(settings.database_url)
        try:
            sessionmaker = make_sessionmaker(engine)
            await sync_tenant_rows(sessionmaker, TenantRegistry(tenants, "localhost"))
            return await load_demo(sessionmaker, tenants, hasher)
        finally:
            await engine.dispose()

    first = asyncio.run(load())
    second = asyncio.run(load())
    assert [a.created for a in first] == [True] * 5
    assert [a.created for a in second] == [False] * 5
    with db_session(settings.database_url) as session:
        assert session.scalar(select(func.count()).select_from(Account)) == 5
        for account in first:
            row = session.scalar(select(Account).where(Account.tenant_id == account.tenant.slug))
            assert row.identifier == account.identifier
            assert hasher.hasher.verify(row.password_hash, account.password)
        # Each demo child has its guardian 1, given once.
        children = session.scalar(select(func.count()).select_from(Child))
        assert children > 0 and session.scalars(select(Guardian.position)).all() == [1] * children
        # A Gers and an Eure-et-Loir fiche have a photo approved and one waiting for staff, once.
        photos = session.execute(select(Photo.tenant_id, Photo.status).order_by(Photo.tenant_id, Photo.position)).all()
        assert photos == [("eure-et-loir", "approved"), ("eure-et-loir", "pending"), ("gers", "approved"), ("gers", "pending")]
        assert session.scalar(select(func.count()).select_from(PhotoFile)) == 4


def demo_summary(settings, capsys) -> dict[str, str]:
    """Run `assmat demo` (as `make run` does) and return its account lines by identifier or email."""
    from assmat.cli import demo

    assert demo(settings, 8001) == 0
    out = capsys.readouterr().out
    assert "Pour repartir de zéro" in out
    lines: dict[str, str] = {}
    for line in out.splitlines():
        if "identifiant " in line:
            lines[f"{line.split()[0]} {line.split('identifiant ')[1].split()[0]}"] = line
        elif "@" in line and "/admin/" in line:
            lines[line.split()[2]] = line
    return lines


def update(settings, model, where, **values):
    from sqlalchemy import update as sql_update

    with db_session(settings.database_url) as session:
        session.execute(sql_update(model).where(*where).values(**values))
        session.commit()


def test_the_demo_summary_tells_each_accounts_state_on_every_run(settings, capsys):
    from assmat.auth.models import Admin

    hasher = make_hasher(settings)
    first = demo_summary(settings, capsys)
    letter = first["gers AGR-2025-0002"]
    assert "mot de passe provisoire" in letter and "(créé)" in letter
    first_temporary = letter.split("mot de passe ")[1].split()[0]
    assert "à activer : n° 280002" in first["eure-et-loir 280002"]
    assert "à activer" in first["alpes-maritimes AGR-2025-0003"]
    assert "mot de passe AssmatDemo2026" in first["alpes-maritimes AGR-2025-0001"]
    assert "mot de passe Console-Demo-2026" in first["admin@gers.example.org"]

    # A second run, nothing touched: every account is still listed; the letter is issued again
    # (only its hash is kept) and says the previous one stopped working.
    second = demo_summary(settings, capsys)
    assert set(second) == set(first)
    letter = second["gers AGR-2025-0002"]
    assert "nouveau mot de passe provisoire" in letter and first_temporary not in letter
    assert "(déjà présent)" in letter
    assert "mot de passe AssmatDemo2026" in second["alpes-maritimes AGR-2025-0001"]

    # Someone tries the demo: chooses a password from the letter, activates an account, changes
    # passwords, passes the Cestas security update.
    chosen = hasher.hasher.hash("Choisi#Par-Moi-2026")
    update(settings, Account, (Account.identifier == "AGR-2025-0002",), password_hash=chosen)
    update(settings, Account, (Account.identifier == "280002",), password_hash=chosen, activated_at=datetime.now(UTC))
    update(settings, Account, (Account.tenant_id == "alpes-maritimes", Account.identifier == "AGR-2025-0001"),
           password_hash=chosen)
    update(settings, Account, (Account.identifier == "famille.ancienne",), password_hash=chosen, needs_security_update=False)
    update(settings, Account, (Account.tenant_id == "gers", Account.identifier == "AGR-2025-0001"), locked_at=datetime.now(UTC))
    update(settings, Admin, (Admin.email_key == "admin@gers.example.org",), password_hash=chosen)

    third = demo_summary(settings, capsys)
    assert set(third) == set(first)  # no account disappears from the summary
    letter = third["gers AGR-2025-0002"]
    assert "courrier déjà utilisé" in letter and "fiche du compte, « Imprimer le courrier »" in letter
    assert "mot de passe" not in letter.split("(")[0]  # no password printed that would not work
    assert "à activer" not in third["eure-et-loir 280002"] and "déjà activé" in third["eure-et-loir 280002"]
    assert "à activer" in third["alpes-maritimes AGR-2025-0003"]
    changed = third["alpes-maritimes AGR-2025-0001"]
    assert "AssmatDemo2026" not in changed and "mot de passe changé depuis le chargement" in changed
    assert "mise à jour de sécurité déjà faite" in third["cestas famille.ancienne"]
    assert "ancien2020" not in third["cestas famille.ancienne"]
    assert "bloqué : débloquez-le depuis la console" in third["gers AGR-2025-0001"]
    assert "Console-Demo-2026" not in third["admin@gers.example.org"]
    assert "mot de passe changé" in third["admin@gers.example.org"]
    assert "mot de passe ConsoleDemo2026" in third["admin@cestas.example.org"]


def test_the_demo_prints_public_fiches_that_show_what_each_tenant_publishes(settings, capsys, tenant_registry):
    """A full fiche at its home (Gers), one with a hidden address and email placed at the
    commune's centre (Eure-et-Loir), one published with consent and no rates (mon-enfant); on
    each of them, another masked fiche, and a suspended one that answers 404."""
    import re

    from starlette.testclient import TestClient

    from assmat.cli import demo
    from tests.conftest import app_for

    line = re.compile(r"^\s+(\S+)\s+(http://\S+/assistants/(\S+))\s+(.+)$", re.M)
    assert demo(settings, 8001) == 0
    printed = line.findall(capsys.readouterr().out)
    assert demo(settings, 8001) == 0  # a second run prints the same addresses
    assert line.findall(capsys.readouterr().out) == printed
    assert {slug for slug, *_ in printed} == {"gers", "eure-et-loir", "mon-enfant"} and len(printed) == 9
    urls = {slug: url for slug, url, public_id, _note in printed if public_id.startswith("demo-")}
    with db_session(settings.database_url) as session:
        assert session.scalar(select(func.count()).select_from(Fiche)) == 9
    pages = {}
    with TestClient(app_for(settings, tenant_registry), follow_redirects=False) as client:
        for slug, url in urls.items():
            response = client.get(url.replace(":8001", ""))
            assert response.status_code == 200, (slug, response.status_code)
            pages[slug] = html.unescape(response.text)
        for slug, url, _public_id, note in printed:
            response = client.get(url.replace(":8001", ""))
            if "suspendue" in note:
                assert response.status_code == 404, (slug, url)
            else:
                assert response.status_code == 200, (slug, url)
            if "masqués" in note:
                assert "Adresse non communiquée" in html.unescape(response.text) and "@example.org" not in response.text
    assert "12 rue des Écoles" in pages["gers"] and "assistante.demo@example.org" in pages["gers"]
    assert 'class="fiche-map-marker"' in pages["gers"] and "3,80 € par heure" in pages["gers"]
    assert "12 rue des Écoles" not in pages["eure-et-loir"] and "assistante.demo@example.org" not in pages["eure-et-loir"]
    assert "Adresse non communiquée : position approximative (centre de la commune)" in pages["eure-et-loir"]
    assert "Tarifs" not in pages["mon-enfant"] and "catalan" in pages["mon-enfant"]


def test_the_demo_declares_availability_in_each_state(settings):
    """Gers, Eure-et-Loir and mon-enfant: the demo assistant's current declaration (green), one
    « Pas de disponibilité » (red), one out of date (grey); a second run adds nothing."""
    from assmat.demo import load_demo_availability
    from assmat.portal.availability.models import AvailabilityDeclaration
    from assmat.portal.availability.service import state_of

    tenants = load_valid_tenants(TENANT_CONFIGS)
    hasher = make_hasher(settings)

    async def load():
        engine = make_engine(settings.database_url)
        try:
            sessionmaker = make_sessionmaker(engine)
            await sync_tenant_rows(sessionmaker, TenantRegistry(tenants, "localhost"))
            await load_demo(sessionmaker, tenants, hasher)
            await load_demo_availability(sessionmaker, tenants)
            async with sessionmaker() as db:
                states = {}
                for tenant in tenants.values():
                    accounts = (await db.execute(select(AvailabilityDeclaration.account_id).where(
                        AvailabilityDeclaration.tenant_id == tenant.slug))).scalars().all()
                    states[tenant.slug] = sorted([(await state_of(db, tenant, account_id)).code for account_id in accounts])
                return states
        finally:
            await engine.dispose()

    first = asyncio.run(load())
    assert asyncio.run(load()) == first
    for slug in ("gers", "eure-et-loir", "mon-enfant"):
        assert first[slug] == ["none", "now", "stale"], slug
    assert first["alpes-maritimes"] == [] and first["cestas"] == []
def test_the_demo_shows_every_state_of_a_fiche_on_each_tenant_that_publishes(settings, capsys):
    """Published, suspended by staff (with a reason), agrément in renewal, objecting (Eure-et-Loir)
    and unconsented (mon-enfant) fiches; the demo assistant is published; a second run adds nothing."""
    from assmat.cli import demo
    from assmat.portal.publication.models import PublicationEvent
    from assmat.portal.publication.service import publication_status

    tenants = load_valid_tenants(TENANT_CONFIGS)

    def reasons() -> dict[str, dict[str, str | None]]:
        async def work():
            engine = make_engine(settings.database_url)
            try:
                async with make_sessionmaker(engine)() as db:
                    found: dict[str, dict[str, str | None]] = {}
                    for slug in ("gers", "eure-et-loir", "mon-enfant"):
                        accounts = await db.scalars(select(Account).where(Account.tenant_id == slug,
                                                                          Account.kind == "assistant"))
                        found[slug] = {a.last_name: (await publication_status(db, tenants[slug], a)).reason
                                       for a in accounts if a.last_name in ("Publiée", "Suspendue", "Renouvellement",
                                                                            "Opposée", "Sans-Consentement")
                                       # the demo assistant who signs in (not the one awaiting activation)
                                       or (a.last_name == "Démo" and a.password_hash is not None)}
                    return found
            finally:
                await engine.dispose()

        return asyncio.run(work())

    assert demo(settings, 8001) == 0
    first = reasons()
    common = {"Démo": None, "Publiée": None, "Suspendue": "suspended", "Renouvellement": "agrement_renewal"}
    assert first["gers"] == common
    assert first["eure-et-loir"] == {**common, "Opposée": "objected"}
    assert first["mon-enfant"] == {**common, "Sans-Consentement": "no_consent"}
    with db_session(settings.database_url) as session:
        register = session.scalar(select(func.count()).select_from(PublicationEvent))
        accounts = session.scalar(select(func.count()).select_from(Account))
    assert demo(settings, 8001) == 0
    capsys.readouterr()
    assert reasons() == first
    with db_session(settings.database_url) as session:
        assert session.scalar(select(func.count()).select_from(PublicationEvent)) == register
        assert session.scalar(select(func.count()).select_from(Account)) == accounts


def test_the_demo_has_pending_habilitation_requests_on_mon_enfant(settings):
    """Matched by email and waiting, consent letter out, and one on nobody's file; only where the
    tenant takes habilitation requests; a second run adds nothing."""
    from assmat.demo import load_demo_habilitation, load_demo_publication
    from assmat.portal.habilitation.models import HabilitationRequest

    tenants = load_valid_tenants(TENANT_CONFIGS)

    async def load():
        engine = make_engine(settings.database_url)
        try:
            sessionmaker = make_sessionmaker(engine)
            await sync_tenant_rows(sessionmaker, TenantRegistry(tenants, "localhost"))
            await load_demo(sessionmaker, tenants, make_hasher(settings))
            await load_demo_publication(sessionmaker, tenants)
            added = await load_demo_habilitation(sessionmaker, tenants)
            async with sessionmaker() as db:
                rows = (await db.execute(select(
                    HabilitationRequest.tenant_id, HabilitationRequest.state, HabilitationRequest.account_id.is_not(None),
                ).where(HabilitationRequest.tenant_id.in_(list(tenants))).order_by(HabilitationRequest.id))).all()
            return added, [tuple(row) for row in rows]
        finally:
            await engine.dispose()

    added, rows = asyncio.run(load())
    assert added == 3
    assert rows == [("mon-enfant", "received", True), ("mon-enfant", "consent_requested", True),
                    ("mon-enfant", "received", False)]
    assert asyncio.run(load()) == (0, rows)
def test_the_demo_prints_a_parents_search_that_finds_fiches_on_each_tenant_offering_it(settings, capsys,
                                                                                          tenant_registry):
    import re

    from starlette.testclient import TestClient

    from assmat.cli import demo
    from assmat.core.security.ratelimit import SEARCH_PER_IP
    from tests.conftest import app_for

    assert demo(settings, 8001) == 0
    out = capsys.readouterr().out
    printed = re.findall(r"^\s+(\S+)\s+http://\S+:8001(/recherche\?\S+)$", out, re.M)
    assert {slug for slug, _path in printed} == {"gers", "eure-et-loir", "mon-enfant"}
    SEARCH_PER_IP.reset()
    with TestClient(app_for(settings, tenant_registry), follow_redirects=False) as client:
        for slug, path in printed:
            response = client.get(path, headers={"host": f"{slug}.{settings.base_domain}"})
            assert response.status_code == 200, (slug, response.status_code)
            found = re.search(r"(\d+) résultats?", html.unescape(response.text))
            assert found and int(found.group(1)) >= 1, slug


def test_the_demo_family_account_of_mon_enfant_signs_in_with_its_printed_password(settings, capsys, tenant_registry):
    import re

    from starlette.testclient import TestClient

    from tests.conftest import app_for

    lines = demo_summary(settings, capsys)
    line = lines["mon-enfant famille.demo@example.org"]
    assert "compte famille" in line and "(créé)" in line
    password = line.split("mot de passe ")[1].split()[0]
    assert demo_summary(settings, capsys)["mon-enfant famille.demo@example.org"] == line.replace("(créé)", "(déjà présent)")
    with TestClient(app_for(settings, tenant_registry), base_url="http://mon-enfant.localhost", follow_redirects=False) as client:
        page = client.get("/connexion").text
        token = re.search(r'name="csrf_token" value="([^"]+)"', page).group(1)
        signed = client.post("/connexion", data={"csrf_token": token, "identifiant": "famille.demo@example.org",
                                                 "mot_de_passe": password})
        assert signed.status_code == 303 and signed.headers["location"] == "/espace"
        account_page = html.unescape(client.get("/espace/compte").text)
        assert "famille.demo@example.org" in account_page and "Supprimer mon compte" in account_page


def test_the_demo_has_a_mam_with_two_members_and_a_relais_whose_accounts_sign_in(settings, capsys, portal_for):
    from assmat.portal.directory.models import DirectoryEntry
    from assmat.portal.structures.models import Structure, StructureMember
    from tests.flows.test_eure_et_loir import login

    first = demo_summary(settings, capsys)
    eure = portal_for("eure-et-loir")
    with db_session(settings.database_url) as session:
        structures = dict(session.execute(select(Structure.kind, Structure.id).where(
            Structure.tenant_id == "eure-et-loir")).all())
        members = session.scalars(select(StructureMember.account_id).where(
            StructureMember.structure_id == structures["mam"])).all()
        in_mam = session.scalars(select(DirectoryEntry.account_id).where(
            DirectoryEntry.tenant_id == "eure-et-loir", DirectoryEntry.in_mam.is_(True))).all()
        relais_communes = session.scalar(select(Structure.communes).where(Structure.id == structures["ram"]))
        demo_city = session.scalar(select(Account.city).where(Account.tenant_id == "eure-et-loir",
                                                              Account.identifier == "280001"))
    assert len(members) == 2 and sorted(in_mam) == sorted(members)
    assert relais_communes == demo_city == "Chartres"  # the relais covers the demo assistants' commune
    for email in ("mam.petits-loups@example.org", "relais.chartres@example.org"):
        line = first[f"eure-et-loir {email}"]
        assert "(créé)" in line
        password = line.split("mot de passe ")[1].split()[0]
        eure.client.cookies.clear()
        signed = login(eure, email, password)
        assert signed.status_code == 303 and signed.headers["location"] == "/espace", email
        assert eure.client.get("/espace/notre-fiche").status_code == 200
    assert "Les assistants maternels de nos communes" in eure.client.get("/espace/relais/assistants").text
    assert "Voir les coordonnées" in eure.client.get("/assistants/demo-eure-01").text
    second = demo_summary(settings, capsys)
    assert "(déjà présent)" in second["eure-et-loir mam.petits-loups@example.org"]
    with db_session(settings.database_url) as session:
        assert session.scalar(select(func.count()).select_from(Structure)) == 2


def test_the_demo_family_of_mon_enfant_signs_in_to_one_favourite_and_one_saved_search(settings, capsys, tenant_registry):
    """mon-enfant has family accounts and the search: its demo family is printed, signs in, and
    finds its favourite and its saved search; a second run adds nothing."""
    from starlette.testclient import TestClient

    from assmat.portal.families.models import Favourite, SavedSearch
    from tests.conftest import app_for
    from tests.support.portal import CSRF

    lines = demo_summary(settings, capsys)
    family = lines["mon-enfant famille.demo@example.org"]
    assert "(créé)" in family
    assert "déjà présent" in demo_summary(settings, capsys)["mon-enfant famille.demo@example.org"]
    with db_session(settings.database_url) as session:
        counts = [session.scalar(select(func.count()).select_from(table).where(table.tenant_id == "mon-enfant"))
                  for table in (Favourite, SavedSearch)]
    assert counts == [1, 1]
    password = family.split("mot de passe ")[1].split()[0]
    host = {"host": f"mon-enfant.{settings.base_domain}"}
    with TestClient(app_for(settings, tenant_registry), follow_redirects=False) as client:
        token = CSRF.search(client.get("/connexion", headers=host).text).group(1)
        signed = client.post("/connexion", headers=host, data={"csrf_token": token, "identifiant": "famille.demo@example.org",
                                                               "mot_de_passe": password})
        assert signed.status_code == 303
        mine = html.unescape(client.get("/espace/mes-donnees", headers=host).text)
        assert "Près de chez nous" in mine and "Fiche plus publiée" not in mine and "Aucun favori." not in mine
