"""The monthly assistants file: parsing and validation, upsert by agrément number, nothing
deleted, dry runs, tenant header remapping, activation modes, the CLI and the console page."""

from __future__ import annotations

import asyncio
import html
import os
import re
import subprocess
import sys
import time
from datetime import date
from pathlib import Path

import pytest
from sqlalchemy import func, select

from assmat.portal.imports.service import BATCH, DEFAULT_HEADERS, ImportFileError, ImportReport, import_assistants
from assmat.core.db.engine import make_engine, make_sessionmaker
from assmat.auth.models import Account
from assmat.core.security.models import AccountToken, AuditEvent
from assmat.portal.agrement.models import Agrement
from assmat.portal.imports.models import ImportRun
from assmat.portal.publication.models import PublicationEvent
from assmat.tenants.loader import load_valid_tenants
from assmat.tenants.registry import TenantRegistry
from assmat.tenants.rows import sync_tenant_rows
from tests.admin.conftest import ADMIN_PASSWORD, create_admin
from tests.conftest import REPO, TENANT_CONFIGS, make_settings
from tests.support.tenants import write_tenant

# The importer's batching, its upsert and its integrity errors can differ between backends.
pytestmark = pytest.mark.both_backends

HEADER = ";".join(DEFAULT_HEADERS.values())
SECRET = "test-secret-key-not-for-production"


@pytest.fixture
def settings(tmp_path, database_url):
    return make_settings(tmp_path, database_url)


def row(number: str, last: str = "Martin", first: str = "Anne", *, civility: str = "Mme",
        birth: str = "17/05/1980", email: str | None = None, phone: str = "0562000000", address: str = "1 rue des Écoles",
        postal: str = "32000", city: str = "Auch", start: str = "01/01/2020", end: str = "31/12/2030",
        capacity: str = "3", publication: str = "oui") -> str:
    email = f"{number.lower()}@example.org" if email is None else email
    return ";".join([number, civility, last, first, birth, email, phone, address, postal, city, start, end, capacity,
                     publication])


def csv_bytes(*rows: str, header: str = HEADER, encoding: str = "utf-8", bom: bool = False) -> bytes:
    data = ("\r\n".join([header, *rows]) + "\r\n").encode(encoding)
    return (b"\xef\xbb\xbf" if bom else b"") + data


def big_file(n: int) -> bytes:
    lines = [HEADER]
    for i in range(n):
        lines.append(row(f"AGR-{i:06d}", f"Nom{i}", f"Prénom{i}", birth=f"{1 + i % 28:02d}/{1 + i % 12:02d}/{1960 + i % 40}",
                         capacity=str(1 + i % 6), publication="oui" if i % 2 else "non"))
    return ("\n".join(lines) + "\n").encode("utf-8")


class Db:
    """Runs the importer and queries against the test's database, outside any web app."""

    def __init__(self, database_url: str, tenant_configs: Path = TENANT_CONFIGS):
        self.url = database_url
        self.registry = TenantRegistry(load_valid_tenants(tenant_configs), "localhost")

    def _run(self, work):
        async def go():
            engine = make_engine(self.url)
            try:
                sessionmaker = make_sessionmaker(engine)
                await sync_tenant_rows(sessionmaker, self.registry)
                async with sessionmaker() as db:
                    return await work(db)
            finally:
                await engine.dispose()

        return asyncio.run(go())

    def import_(self, slug: str, data: bytes, *, dry_run: bool = False, filename: str = "assistants.csv") -> ImportReport:
        tenant = self.registry.get(slug)
        return self._run(lambda db: import_assistants(db, tenant, data, filename, dry_run=dry_run))

    def all(self, statement):
        async def work(db):
            return list((await db.execute(statement)).all())

        return self._run(work)

    def scalar(self, statement):
        async def work(db):
            return await db.scalar(statement)

        return self._run(work)

    def accounts(self, slug: str) -> dict[str, Account]:
        async def work(db):
            rows = await db.scalars(select(Account).where(Account.tenant_id == slug))
            return {a.identifier: a for a in rows.all()}

        return self._run(work)

    def count(self, model, slug: str) -> int:
        return self.scalar(select(func.count()).select_from(model).where(model.tenant_id == slug))


@pytest.fixture
def db(database_url) -> Db:
    return Db(database_url)


def test_a_file_of_several_batches_imports_in_bulk(db):
    """2,100 rows: two full batches and a partial one on every write (benchmarks/import_assistants.py
    times 50,000)."""
    rows = 2 * BATCH + 100
    data = big_file(rows)
    report = db.import_("alpes-maritimes", data)
    assert report.counts == {"rows": rows, "created": rows, "updated": 0, "unchanged": 0, "rejected": 0,
                             "missing": 0, "returned": 0, "letters": 0, "published": 0, "unpublished": 0,
                             "suspended": 0}
    assert db.count(Account, "alpes-maritimes") == rows and db.count(Agrement, "alpes-maritimes") == rows

    again = db.import_("alpes-maritimes", data)
    assert (again.created, again.updated, again.unchanged) == (0, 0, rows)

    changed = data.replace(b";Auch;", b";Auch Centre;")
    updated = db.import_("alpes-maritimes", changed)
    assert (updated.created, updated.updated, updated.unchanged) == (0, rows, 0)
    cities = db.all(select(Account.city, func.count()).where(Account.tenant_id == "alpes-maritimes").group_by(Account.city))
    assert cities == [("Auch Centre", rows)]


def test_bad_rows_are_reported_by_line_and_the_good_ones_imported(db):
    data = csv_bytes(
        row("AGR-1"),                                       # line 2
        row("AGR-2", birth="31/02/1980"),                   # line 3: no such date
        row("AGR-1", last="Doublon"),                       # line 4: duplicate of line 2
        row("AGR-3", email="pas-une-adresse"),              # line 5
        row("AGR-4", capacity="7"),                         # line 6
        row("AGR-5", capacity="deux"),                      # line 7
        row("AGR-6", postal="3200"),                        # line 8
        row("AGR-7", publication="peut-être"),              # line 9
        row("", last="Sans numéro", email=""),              # line 10
        row("AGR 8", start="1/1/2020", end="2019-12-31"),   # line 11: ISO date refused
        row("AGR-9", birth="", email="", capacity="", publication=""),  # line 12: empties are fine
        "AGR-10;Mme;Court",                                 # line 13: too few columns
        row("AGR-2", last="Second"),                        # line 14: AGR-2's first row was rejected: still a duplicate
    )
    report = db.import_("alpes-maritimes", data)
    reasons = {r.line: r.reason for r in report.rejected}
    assert sorted(reasons) == [3, 4, 5, 6, 7, 8, 9, 10, 11, 13, 14]
    assert "date de naissance invalide « 31/02/1980 »" in reasons[3]
    assert reasons[4] == "numéro d'agrément AGR-1 en double : déjà à la ligne 2"
    assert "adresse électronique invalide" in reasons[5]
    assert "capacité invalide « 7 »" in reasons[6] and "capacité invalide « deux »" in reasons[7]
    assert "code postal invalide" in reasons[8]
    assert "publication invalide" in reasons[9]
    assert reasons[10] == "numéro d'agrément manquant"
    assert "date de fin d'agrément invalide « 2019-12-31 »" in reasons[11]
    assert "3 colonne(s) au lieu de 14" in reasons[13]
    assert reasons[14] == "numéro d'agrément AGR-2 en double : déjà à la ligne 3"
    assert (report.created, report.updated, report.unchanged) == (2, 0, 0)
    accounts = db.accounts("alpes-maritimes")
    assert set(accounts) == {"AGR-1", "AGR-9"}
    assert accounts["AGR-1"].last_name == "Martin"
    assert accounts["AGR-1"].birth_date == date(1980, 5, 17) and accounts["AGR-1"].civility == "Madame"
    assert accounts["AGR-9"].email is None
    # Alpes-Maritimes publishes no fiche: the `publication` column is checked, and recorded nowhere.
    assert db.count(PublicationEvent, "alpes-maritimes") == 0
    (run,) = db.all(select(ImportRun.rejected, ImportRun.counts).where(ImportRun.tenant_id == "alpes-maritimes"))
    assert run.counts["rejected"] == 11 and run.rejected[0] == {"line": 3, "reason": reasons[3]}


def test_windows_1252_file_keeps_its_accents(db):
    data = csv_bytes(row("AGR-1", "Lefrançois", "Hélène", city="Saint-Étienne-du-Grès"), encoding="cp1252")
    with pytest.raises(UnicodeDecodeError):
        data.decode("utf-8")
    report = db.import_("alpes-maritimes", data)
    assert report.encoding == "Windows-1252" and report.created == 1
    account = db.accounts("alpes-maritimes")["AGR-1"]
    assert (account.last_name, account.first_name, account.city) == ("Lefrançois", "Hélène", "Saint-Étienne-du-Grès")


def test_utf8_with_bom_reads_the_first_header(db):
    report = db.import_("alpes-maritimes", csv_bytes(row("AGR-1", "Françoise"), bom=True))
    assert report.encoding == "UTF-8 (BOM)" and report.created == 1 and not report.rejected
    assert db.accounts("alpes-maritimes")["AGR-1"].last_name == "Françoise"


def test_a_file_in_neither_encoding_is_refused_as_a_whole(db):
    data = csv_bytes(row("AGR-1")) + b"AGR-2;\x81\x8d\x90;\n"
    with pytest.raises(ImportFileError, match="ni en UTF-8 ni en Windows-1252"):
        db.import_("alpes-maritimes", data)
    with pytest.raises(ImportFileError, match="UTF-16"):
        db.import_("alpes-maritimes", "\n".join([HEADER, row("AGR-1")]).encode("utf-16"))
    with pytest.raises(ImportFileError, match="numero_agrement"):
        db.import_("alpes-maritimes", csv_bytes(row("AGR-1").replace(";", ","), header=HEADER.replace(";", ",")))
    assert db.count(Account, "alpes-maritimes") == 0 and db.count(ImportRun, "alpes-maritimes") == 0


def test_reimporting_the_same_file_changes_nothing(db):
    data = csv_bytes(row("AGR-1"), row("AGR-2", "Durand", "Paul", civility="M"))
    assert db.import_("alpes-maritimes", data).created == 2
    before = db.accounts("alpes-maritimes")
    again = db.import_("alpes-maritimes", data)
    assert (again.created, again.updated, again.unchanged, len(again.rejected)) == (0, 0, 2, 0)
    after = db.accounts("alpes-maritimes")
    assert {k: a.updated_at for k, a in before.items()} == {k: a.updated_at for k, a in after.items()}
    changed = db.import_("alpes-maritimes", csv_bytes(row("AGR-1", capacity="4"), row("AGR-2", "Durand", "Paul", civility="M")))
    assert (changed.updated, changed.unchanged) == (1, 1)
    assert db.scalar(select(Agrement.capacity).where(Agrement.number == "AGR-1")) == 4


def test_optional_family_situation_and_place_columns_are_read_when_present(db):
    header = HEADER + ";situation_familiale;lieu_agrement"
    data = "\n".join([header, row("AGR-0001") + ";Concubinage;Domicile, Auch", row("AGR-0002") + ";;",
                       row("AGR-0003") + ";" + "x" * 61 + ";"]).encode("utf-8")
    report = db.import_("alpes-maritimes", data)
    assert report.counts["created"] == 2 and [r.line for r in report.rejected] == [4]
    assert "situation familiale trop long" in report.rejected[0].reason
    assert not [w for w in report.warnings if "absentes" in w]
    accounts = db.accounts("alpes-maritimes")
    assert accounts["AGR-0001"].family_situation == "Concubinage" and accounts["AGR-0002"].family_situation is None
    places = dict(db.all(select(Agrement.number, Agrement.place).where(Agrement.tenant_id == "alpes-maritimes")))
    assert places == {"AGR-0001": "Domicile, Auch", "AGR-0002": None}
    # A file without them (the interface's fourteen columns) leaves them as they are, and warns of nothing.
    again = db.import_("alpes-maritimes", "\n".join([HEADER, row("AGR-0001")]).encode("utf-8"))
    assert not [w for w in again.warnings if "absentes" in w]
    assert db.accounts("alpes-maritimes")["AGR-0001"].family_situation == "Concubinage"


def test_rows_missing_from_a_new_file_are_listed_never_deleted(db):
    db.import_("alpes-maritimes", csv_bytes(row("AGR-1"), row("AGR-2"), row("AGR-3")))
    report = db.import_("alpes-maritimes", csv_bytes(row("AGR-1")))
    assert report.missing == ["AGR-2", "AGR-3"] and report.counts["missing"] == 2
    accounts = db.accounts("alpes-maritimes")
    assert set(accounts) == {"AGR-1", "AGR-2", "AGR-3"} and db.count(Agrement, "alpes-maritimes") == 3
    assert accounts["AGR-2"].missing_from_import_at is not None and accounts["AGR-1"].missing_from_import_at is None
    (run,) = db.all(select(ImportRun.missing).where(ImportRun.dry_run.is_(False)).order_by(ImportRun.id.desc()).limit(1))
    assert run.missing == ["AGR-2", "AGR-3"]

    back = db.import_("alpes-maritimes", csv_bytes(row("AGR-1"), row("AGR-2")))
    assert back.returned == ["AGR-2"] and back.missing == ["AGR-3"] and back.unchanged == 2
    accounts = db.accounts("alpes-maritimes")
    assert accounts["AGR-2"].missing_from_import_at is None and accounts["AGR-3"].missing_from_import_at is not None


def test_dry_run_changes_no_account(db):
    db.import_("alpes-maritimes", csv_bytes(row("AGR-1"), row("AGR-2")))
    before = db.accounts("alpes-maritimes")
    report = db.import_("alpes-maritimes", csv_bytes(row("AGR-1", "Nouveau"), row("AGR-3")), dry_run=True)
    assert (report.created, report.updated, report.missing) == (1, 1, ["AGR-2"])
    after = db.accounts("alpes-maritimes")
    assert set(after) == {"AGR-1", "AGR-2"} and after["AGR-1"].last_name == "Martin"
    assert after["AGR-2"].missing_from_import_at is None
    assert {k: a.updated_at for k, a in before.items()} == {k: a.updated_at for k, a in after.items()}
    (run,) = db.all(select(ImportRun.dry_run, ImportRun.counts).order_by(ImportRun.id.desc()).limit(1))
    assert run.dry_run is True and run.counts["created"] == 1
    events = [e.type for e in db.all(select(AuditEvent.type).where(AuditEvent.tenant_id == "alpes-maritimes").order_by(AuditEvent.id))]
    assert events == ["import.applied", "import.dry_run"]


def test_a_tenant_remaps_headers_and_delimiter(tmp_path, database_url):
    configs = tmp_path / "configs"
    write_tenant(configs, "landes", {
        "login.identifier": "agrement_number",
        "import.delimiter": ",",
        "import.columns": {"agrement_number": "N° agrément", "last_name": "Nom", "first_name": "Prénom",
                           "birth_date": "Né(e) le"},
    })
    db = Db(database_url, configs)
    data = "\n".join([
        "N° agrément,Prénom,Nom,Né(e) le,email,Observation",
        "40-2026-001,Élodie,Garçon,03/04/1985,elodie@example.org,sans objet",
        '40-2026-002,"Marie, Anne",Dupont,,,',
    ]).encode("utf-8")
    report = db.import_("landes", data)
    assert report.created == 2 and not report.rejected
    assert any("Colonnes inconnues, ignorées : Observation" in w for w in report.warnings)
    accounts = db.accounts("landes")
    assert accounts["40-2026-001"].last_name == "Garçon" and accounts["40-2026-001"].birth_date == date(1985, 4, 3)
    assert accounts["40-2026-002"].first_name == "Marie, Anne"
    # The default header is not this tenant's.
    with pytest.raises(ImportFileError, match="« N° agrément »"):
        db.import_("landes", csv_bytes(row("40-2026-003")))


def test_letter_mode_gives_new_accounts_a_temporary_password_and_identity_check_none(db):
    existing = db.import_("gers", csv_bytes(row("AGR-1")))
    assert existing.letters == ["AGR-1"]
    report = db.import_("gers", csv_bytes(row("AGR-1", "Autre"), row("AGR-2"), row("AGR-3")))
    assert report.letters == ["AGR-2", "AGR-3"] and report.updated == 1
    tokens = db.all(select(Account.identifier, AccountToken.expires_at, AccountToken.created_at)
                    .join(AccountToken, AccountToken.account_id == Account.id)
                    .where(AccountToken.purpose == "temporary_password", Account.tenant_id == "gers"))
    assert sorted(t.identifier for t in tokens) == ["AGR-1", "AGR-2", "AGR-3"]
    assert all((t.expires_at - t.created_at).days == 30 for t in tokens)
    gers = db.accounts("gers")
    assert all(a.password_hash is None for a in gers.values())

    am = db.import_("alpes-maritimes", csv_bytes(row("AGR-1"), row("AGR-2")))
    assert am.created == 2 and am.letters == []
    assert db.scalar(select(func.count()).select_from(AccountToken).where(AccountToken.tenant_id == "alpes-maritimes")) == 0


def test_an_activated_account_keeps_the_email_its_owner_chose(db):
    db.import_("alpes-maritimes", csv_bytes(row("AGR-1", email="pmi@example.org")))
    account_id = db.accounts("alpes-maritimes")["AGR-1"].id

    async def activate(session):
        from sqlalchemy import update

        await session.execute(update(Account).where(Account.id == account_id).values(
            password_hash="argon2-placeholder", email="moi@example.org", email_key="moi@example.org"))
        await session.commit()

    db._run(activate)
    report = db.import_("alpes-maritimes", csv_bytes(row("AGR-1", email="pmi@example.org")))
    assert report.unchanged == 1
    assert db.accounts("alpes-maritimes")["AGR-1"].email == "moi@example.org"


# -- the command ------------------------------------------------------------------------------------

def cli(database_url: str, tmp_path: Path, *args: str) -> subprocess.CompletedProcess:
    env = {**os.environ, "ASSMAT_DATABASE_URL": database_url, "ASSMAT_VAR_DIR": str(tmp_path / "var"),
           "ASSMAT_SECRET_KEY": SECRET, "ASSMAT_TENANT_CONFIGS": str(TENANT_CONFIGS)}
    return subprocess.run([sys.executable, "-m", "assmat", "import-assistants", *args], cwd=REPO,
                          capture_output=True, text=True, env=env, timeout=120)


def test_cli_prints_the_report_and_exits_0_even_with_rejected_rows(db, database_url, tmp_path):
    path = tmp_path / "mensuel.csv"
    path.write_bytes(csv_bytes(row("AGR-1"), row("AGR-2", capacity="9"), row("AGR-3")))
    dry = cli(database_url, tmp_path, "gers", str(path), "--dry-run")
    assert dry.returncode == 0, dry.stderr
    assert "simulation, rien n'a été modifié" in dry.stdout and db.count(Account, "gers") == 0

    result = cli(database_url, tmp_path, "gers", str(path))
    assert result.returncode == 0, result.stderr
    out = result.stdout
    assert "créés        : 2" in out and "rejetés      : 1" in out
    assert "ligne 3 : capacité invalide « 9 » (nombre entier de 1 à 6 attendu)" in out
    assert "courriers à imprimer : 2 nouveau(x) compte(s)" in out
    assert "100 %" in result.stderr  # the progress bar
    assert db.count(Account, "gers") == 2
    assert not re.search(r"mot de passe\s*:", out, re.I)  # never a password in the report

    path.write_bytes(csv_bytes(row("AGR-1")))
    later = cli(database_url, tmp_path, "gers", str(path))
    assert later.returncode == 0 and "absents du fichier (rien n'est supprimé, à examiner) : 1" in later.stdout
    assert "    AGR-3" in later.stdout


def test_cli_exits_1_on_an_unreadable_file(database_url, tmp_path):
    missing = cli(database_url, tmp_path, "gers", str(tmp_path / "absent.csv"))
    assert missing.returncode == 1 and "ERREUR fichier illisible" in missing.stderr
    garbage = tmp_path / "garbage.csv"
    garbage.write_bytes(b"numero_agrement;nom\n\x81\x8d;\x90\n")
    result = cli(database_url, tmp_path, "gers", str(garbage))
    assert result.returncode == 1 and "ni en UTF-8 ni en Windows-1252" in result.stderr


# -- the console ----------------------------------------------------------------------------------

ENVOI = re.compile(r'name="envoi" value="([^"]+)"')


def upload(console, content: bytes, filename: str = "mensuel.csv"):
    token = console.csrf("/admin/import")
    return console.client.post("/admin/import/simulation", data={"csrf_token": token},
                               files={"fichier": (filename, content, "text/csv")})


def apply(console, envoi: str):
    return console.client.post("/admin/import/appliquer", data={"csrf_token": console.csrf("/admin/import"), "envoi": envoi})


def pending_files(settings) -> list[Path]:
    directory = Path(settings.var_dir) / "imports"
    return list(directory.iterdir()) if directory.exists() else []


def test_console_upload_dry_run_then_apply(console_for, app, settings):
    console = console_for("gers")
    create_admin(app, console.client, "gers", "agent@gers.fr", ADMIN_PASSWORD)
    assert console.login("agent@gers.fr", ADMIN_PASSWORD).status_code == 302
    page = console.client.get("/admin/import")
    assert page.status_code == 200 and 'accept=".csv,text/csv"' in page.text and "Import du fichier mensuel" in html.unescape(page.text)
    db = Db(settings.database_url)

    dry = upload(console, csv_bytes(row("AGR-1", "Lefrançois"), row("AGR-2", birth="99/99/1999"), encoding="cp1252"))
    text = html.unescape(dry.text)
    assert dry.status_code == 200, text
    assert "Simulation" in text and "Appliquer" in text and "date de naissance invalide « 99/99/1999 »" in text
    assert db.count(Account, "gers") == 0 and len(pending_files(settings)) == 1

    envoi = ENVOI.search(dry.text).group(1)
    applied = apply(console, html.unescape(envoi))
    assert applied.status_code == 303
    assert db.accounts("gers")["AGR-1"].last_name == "Lefrançois" and pending_files(settings) == []
    report = console.client.get(applied.headers["location"])
    text = html.unescape(report.text)
    assert report.status_code == 200 and "Import appliqué" in text and "Courriers à imprimer" in text
    # The import never waits on the geocoder: the report says what happens to the addresses.
    assert "<strong>Géolocalisation désactivée</strong> pour ce portail" in text  # the tests' settings name no geocoder
    runs = db.all(select(ImportRun.dry_run, ImportRun.admin_id, ImportRun.filename).order_by(ImportRun.id))
    assert [(r.dry_run, r.filename) for r in runs] == [(True, "mensuel.csv"), (False, "mensuel.csv")]
    assert all(r.admin_id is not None for r in runs)

    # The same upload applies once.
    again = apply(console, html.unescape(envoi))
    assert again.status_code == 400 and "déjà été appliqué" in html.unescape(again.text)
    assert db.count(ImportRun, "gers") == 2
    # A tampered reference is refused.
    assert apply(console, html.unescape(envoi)[:-2] + "xx").status_code == 400
    history = html.unescape(console.client.get("/admin/import").text)
    assert "Historique des imports" in history and history.count("mensuel.csv") == 2

    # An upload never applied is deleted after an hour.
    upload(console, csv_bytes(row("AGR-3")))
    (stale,) = pending_files(settings)
    os.utime(stale, (time.time() - 3700, time.time() - 3700))
    console.client.get("/admin/import")
    assert pending_files(settings) == []


def test_read_only_staff_see_the_history_but_cannot_import(console_for, app, settings):
    admin = console_for("gers")
    create_admin(app, admin.client, "gers", "agent@gers.fr", ADMIN_PASSWORD)
    admin.login("agent@gers.fr", ADMIN_PASSWORD)
    envoi = html.unescape(ENVOI.search(upload(admin, csv_bytes(row("AGR-1"))).text).group(1))

    reader = console_for("gers")
    create_admin(app, reader.client, "gers", "lecture@gers.fr", ADMIN_PASSWORD, role="read_only")
    assert reader.login("lecture@gers.fr", ADMIN_PASSWORD).status_code == 302
    page = reader.client.get("/admin/import")
    assert page.status_code == 200 and "mensuel.csv" in page.text and 'type="file"' not in page.text
    assert upload(reader, csv_bytes(row("AGR-2"))).status_code == 403
    assert apply(reader, envoi).status_code == 403
    db = Db(settings.database_url)
    assert db.count(Account, "gers") == 0 and db.count(ImportRun, "gers") == 1


def test_oversize_and_unreadable_uploads_are_a_clear_400_and_write_nothing(console_for, app, settings):
    console = console_for("gers")
    create_admin(app, console.client, "gers", "agent@gers.fr", ADMIN_PASSWORD)
    console.login("agent@gers.fr", ADMIN_PASSWORD)
    big = csv_bytes(row("AGR-1")) + b"#" * (20 * 1024 * 1024)
    response = upload(console, big)
    assert response.status_code == 400
    assert "dépasse la taille maximale de 20 Mo" in html.unescape(response.text)

    bad = upload(console, csv_bytes(row("AGR-1")) + b"\x81\x8d\n")
    assert bad.status_code == 400 and "ni en UTF-8 ni en Windows-1252" in html.unescape(bad.text)
    no_csrf = console.client.post("/admin/import/simulation", files={"fichier": ("m.csv", csv_bytes(row("AGR-1")), "text/csv")})
    assert no_csrf.status_code == 403
    db = Db(settings.database_url)
    assert db.count(Account, "gers") == 0 and db.count(ImportRun, "gers") == 0 and pending_files(settings) == []


def test_another_tenants_console_session_is_refused(console_for, app, settings):
    alpes = console_for("alpes-maritimes")
    create_admin(app, alpes.client, "alpes-maritimes", "agent@am.fr", ADMIN_PASSWORD)
    assert alpes.login("agent@am.fr", ADMIN_PASSWORD).status_code == 302
    run_page = upload(alpes, csv_bytes(row("AGR-1")))
    assert run_page.status_code == 200
    (run_id,) = [r.id for r in Db(settings.database_url).all(select(ImportRun.id))]
    session_cookie = alpes.client.cookies.get("admin_session")

    gers = console_for("gers")
    gers.client.cookies.set("admin_session", session_cookie, domain="gers.localhost", path="/admin")
    page = gers.client.get("/admin/import")
    assert page.status_code in (302, 303) and "/admin/login" in page.headers["location"]
    token = gers.csrf()
    posted = gers.client.post("/admin/import/simulation", data={"csrf_token": token},
                              files={"fichier": ("m.csv", csv_bytes(row("AGR-2")), "text/csv")})
    assert posted.status_code in (302, 303, 403)
    # A gers admin cannot read the Alpes-Maritimes run either.
    create_admin(app, gers.client, "gers", "agent@gers.fr", ADMIN_PASSWORD)
    gers.client.cookies.clear()
    gers.login("agent@gers.fr", ADMIN_PASSWORD)
    assert gers.client.get(f"/admin/import/{run_id}").status_code == 404
    assert Db(settings.database_url).count(ImportRun, "gers") == 0


# -- what the import page tells staff -----------------------------------------------------------------

def test_the_import_page_lists_the_columns_of_the_tenants_own_mapping(console_for, app, tmp_path):
    from assmat.portal.imports.service import expected_headers

    console = console_for("gers")
    create_admin(app, console.client, "gers", "agent@gers.fr", ADMIN_PASSWORD)
    console.login("agent@gers.fr", ADMIN_PASSWORD)
    page = html.unescape(console.client.get("/admin/import").text)
    section = page.split('id="colonnes-attendues"')[1].split("</details>")[0]
    headers = expected_headers(app.state.registry.get("gers").config)
    assert len(headers) == 17  # the interface's fourteen, situation, place and the agrément's status
    for header in headers.values():
        assert f"<code>{header}</code>" in section, header
    assert "séparées par « ; »" in section
    assert "<code>numero_agrement</code> : numéro d'agrément (obligatoire)" in section
    assert "<code>lieu_agrement</code> : lieu d'agrément (facultative)" in section
    assert "<code>statut_agrement</code> : statut de l'agrément (valide, en_renouvellement" in section


def test_after_an_import_staff_print_every_new_accounts_letter_as_one_dated_document(console_for, app, portal_for):
    from assmat.admin.letters import french_date
    from assmat.core import clock

    console = console_for("gers")
    create_admin(app, console.client, "gers", "agent@gers.fr", ADMIN_PASSWORD)
    console.login("agent@gers.fr", ADMIN_PASSWORD)
    report = html.unescape(upload(console, csv_bytes(row("AGR-2026-0700"), row("AGR-2026-0701", civility="M.",
                                                                                 first="Paul", last="Durand"))).text)
    assert "<li>AGR-2026-0700</li>" in report and "Imprimer les courriers à imprimer" not in report  # a dry run
    envoi = html.unescape(ENVOI.search(report).group(1))
    applied = console.client.get(apply(console, envoi).headers["location"])
    link = re.search(r'href="([^"]*/admin/account/courriers)"[^>]*>Imprimer les courriers à imprimer</a>', applied.text)
    assert link, applied.text

    # One page confirms the two accounts awaiting their letter; one POST prints both.
    confirm = html.unescape(console.client.get(link.group(1)).text)
    assert "Éléments concernés (2)" in confirm and "AGR-2026-0700 — Anne Martin" in confirm
    pks = re.search(r'name="pks" value="([^"]+)"', confirm).group(1)
    printed = console.client.post("/admin/account/run/letter", data={"csrf_token": console.csrf("/admin/account/list"),
                                                                   "pks": pks})
    assert printed.status_code == 200 and printed.headers["cache-control"].startswith("no-store")
    letters = re.findall(r'<article class="letter">(.*?)</article>', printed.text, re.S)
    assert len(letters) == 2
    first = " ".join(html.unescape(re.sub(r"<[^>]+>", " ", letters[0])).split())
    # Seed 000's letter, dated the day it is printed.
    assert f"Auch, le {french_date(clock.today())}" in first
    assert "Lettre expédiée en recommandé avec A.R." in first and "DGA SOLIDARITÉ" in first
    assert "Objet : site de publication des assistants maternels" in first
    assert "Madame, Suite à votre agrément" in first and "Je vous prie de croire, Madame, à l'assurance" in first
    assert "Philippe DUPOUY, Président du Conseil Départemental du Gers." in first
    second = " ".join(html.unescape(re.sub(r"<[^>]+>", " ", letters[1])).split())
    assert "Monsieur, Suite" in second and "Je vous prie de croire, Monsieur," in second
    password = re.search(r"Mot de passe : (\S+)", first).group(1)

    # Printed: nothing awaits any more, and the letter's password opens the first sign-in.
    again = html.unescape(console.client.get(link.group(1)).text)
    assert "Aucun élément concerné." in again and 'name="pks"' not in again
    assert "AGR-2026-0700" not in console.client.get("/admin/account/list", params={"letter_due": "true"}).text
    gers = portal_for("gers")
    signed = gers.login("AGR-2026-0700", password)
    assert signed.status_code == 303 and signed.headers["location"].endswith("/changement-mot-de-passe")

    # Another tenant's console sees none of them.
    cestas = console_for("cestas")
    create_admin(app, cestas.client, "cestas", "agent@cestas.fr", ADMIN_PASSWORD)
    cestas.login("agent@cestas.fr", ADMIN_PASSWORD)
    assert cestas.client.post("/admin/account/run/letter", data={"csrf_token": cestas.csrf("/admin/account/list"),
                                                                "pks": pks}).status_code == 404


def test_the_letter_action_is_offered_on_the_list_and_the_account_page(console_for, app):
    console = console_for("gers")
    create_admin(app, console.client, "gers", "agent@gers.fr", ADMIN_PASSWORD)
    console.login("agent@gers.fr", ADMIN_PASSWORD)
    envoi = html.unescape(ENVOI.search(upload(console, csv_bytes(row("AGR-2026-0700"))).text).group(1))
    assert apply(console, envoi).status_code == 303
    (account_id,) = console.client.portal.call(_account_id, app, "AGR-2026-0700")
    details = html.unescape(console.client.get(f"/admin/account/details/{account_id}").text)
    assert re.search(r'href="[^"]*/admin/account/action/letter\?pks=\d+"[^>]*>\s*Imprimer le courrier\s*</a>', details)
    listing = html.unescape(console.client.get("/admin/account/list", params={"letter_due": "true"}).text)
    assert "Imprimer le courrier" in listing and "AGR-2026-0700" in listing


async def _account_id(app, identifier: str):
    async with app.state.sessionmaker() as db:
        return (await db.execute(select(Account.id).where(Account.identifier == identifier))).one()


def test_mon_enfant_s_file_is_keyed_by_the_email_its_assistants_sign_in_with(db):
    """mon-enfant's identifier is the email (seed 004): its rows are keyed by the email column,
    and the agrément number, still required, is the agrément's. Keyed by the number, every row
    was rejected as « numéro d'agrément invalide »."""
    report = db.import_("mon-enfant", csv_bytes(
        row("66-2026-001", email="Anne.Martin@Example.org"), row("66-2026-002", email="paul@example.org"),
        row("66-2026-003", email=""), row("66-2026-004", email="anne.martin@example.org"),
        row("", email="sans.numero@example.org"), row("66-2026-001", email="autre@example.org")))
    assert report.created == 2, report.rejected
    reasons = {r.line: r.reason for r in report.rejected}
    assert reasons == {
        4: "adresse électronique manquante",
        5: "adresse électronique anne.martin@example.org en double : déjà à la ligne 2",
        6: "numéro d'agrément manquant",
        7: "numéro d'agrément 66-2026-001 en double : déjà à la ligne 2",
    }
    accounts = db.accounts("mon-enfant")
    assert sorted(accounts) == ["anne.martin@example.org", "paul@example.org"]
    numbers = dict(db.all(select(Agrement.number, Account.identifier).join(Account, Account.id == Agrement.account_id)
                          .where(Agrement.tenant_id == "mon-enfant")))
    assert numbers == {"66-2026-001": "anne.martin@example.org", "66-2026-002": "paul@example.org"}

    # Next month: the same email updates its account; a number already another's is refused.
    again = db.import_("mon-enfant", csv_bytes(row("66-2026-001", "Martin-Roy", email="anne.martin@example.org"),
                                               row("66-2026-002", email="nouvelle@example.org")))
    assert again.updated == 1 and again.created == 0
    assert [r.reason for r in again.rejected] == ["le numéro d'agrément 66-2026-002 est déjà celui d'un autre compte"]
    assert db.accounts("mon-enfant")["anne.martin@example.org"].last_name == "Martin-Roy"


def test_a_file_keyed_by_email_needs_both_columns(db):
    header = ";".join(name for name in DEFAULT_HEADERS.values() if name != "email")
    with pytest.raises(ImportFileError, match="« email » \\(adresse électronique\\) est introuvable"):
        db.import_("mon-enfant", csv_bytes("66-2026-001;Mme;Martin;Anne;17/05/1980;0562000000;1 rue;66000;Perpignan;"
                                           "01/01/2020;31/12/2030;3;oui", header=header))
    header = ";".join(name for name in DEFAULT_HEADERS.values() if name != "numero_agrement")
    with pytest.raises(ImportFileError, match="« numero_agrement » \\(numéro d'agrément\\) est introuvable"):
        db.import_("mon-enfant", csv_bytes("Mme;Martin;Anne;17/05/1980;a@example.org;0562000000;1 rue;66000;Perpignan;"
                                           "01/01/2020;31/12/2030;3;oui", header=header))


def test_an_import_key_that_is_not_the_login_identifier_is_refused(tmp_path):
    from assmat.tenants.loader import load_tenants

    write_tenant(tmp_path, "neuf", {"login.identifier": "agrement_number", "import.key": "email"})
    write_tenant(tmp_path, "autre", {"login.identifier": "email", "import.key": "agrement_number"})
    loaded, errors = load_tenants(tmp_path)
    assert loaded == {} and len(errors) == 2
    assert all("import.key: email si et seulement si login.identifier: email" in str(e) for e in errors)
