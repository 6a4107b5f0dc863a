"""Dashboard and list pages of a real server over a large generated dataset: requests/s,
latency percentiles, and SQL statements per page (which must not grow with the data).

    .venv/bin/python benchmarks/pages.py [--database sqlite|postgresql|both] [--scale 1]
        [--seconds 15] [--concurrency 1,4,16] [--reuse] [--database-url postgresql://…]

Quick smoke run: `--scale 0.01 --seconds 3`. Goal: p95 under 50 ms with 16 concurrent clients
on PostgreSQL; the run prints whether it is met.

What it does, for each database (SQLite file; PostgreSQL: a throwaway cluster started as the
test suite does, tests/support/postgres.py, unless --database-url is given):
1. Tenants: a temp folder with the 5 real tenant files and 96 copies of alpes-maritimes.yaml
   (children and messages on) named bench-001 … bench-096: 101 tenants.
2. Dataset, migrated with Alembic then written directly (executemany on SQLite, COPY through
   psycopg on PostgreSQL, ids assigned here; ANALYZE afterwards, as autovacuum would have).
   At --scale 1: 250,000 assistants spread over the 101 tenants, one agrément each; 1,000,000
   children (about 70 % currently hosted, 30 % in the history) with 1–2 care periods of the
   tenant's childcare types; 100,000 messages (10 % general, to every assistant of a tenant,
   the rest personal) and read/archived marks. Every account has the same password, hashed
   once with the PRODUCTION argon2 parameters. Two profiles are planted: in every tenant with
   children and messages, its first account is "light" (4 children, 5 personal messages, some
   read and archived); alpes-maritimes' second account is "heavy" (200 children, 300 personal
   messages). Generation takes about half a minute per database at full scale: --reuse keeps
   the dataset under --cache-dir and uses it again (new migrations are still applied to it).
3. SQL statements per page, measured in this process: create_app on the same database, a
   `before_cursor_execute` listener on its engine (and a `checkout` one: on PostgreSQL each
   checkout costs two more round trips, BEGIN and the ROLLBACK when the connection goes back,
   and a third, the ping, when it sat idle: assmat.core.db.engine), httpx over ASGITransport.
   Each page is fetched twice and the second is counted (the first pays the dialect's first-connect
   queries). Light and heavy assistants, on a tiny dataset (the same generator, a few rows per
   tenant) and on the big one: any difference between the four columns is growth.
4. Load: the real server (`python -m assmat serve`, a subprocess as in login.py, so the load
   generator does not share its GIL). The light assistants of 16 tenants sign in (GET
   /connexion for the CSRF cookie and token, POST, 303 → /espace); for each concurrency level
   that many of them (one keep-alive connection each) loop over the pages for --seconds after
   a warm-up, each starting at a different page. An answer counts only if it is a 200 carrying
   this user's data (name, identifier, a child's link, message rows when there are some): a
   redirect to /connexion would measure nothing, so it is an error. The load comes from Debian's
   wrk (benchmarks/_wrk.py, one process per replica, 0.15 ms of CPU per request against 1.5 to
   1.8 ms for a Python client, taken from the same cores) when it is installed, or with
   --generator python from one httpx client per user.
   /espace/agrement is included when it answers 200 (skipped with a note otherwise).
5. Prints, per page and overall: requests/s, p50, p95, p99, errors; the CPU per request of the
   server, this load generator and PostgreSQL (the cluster's processes, from /proc); and the
   connections PostgreSQL saw opened (a pool too small for the load closes and reopens them).

Everything runs on the same machine: the load generator and PostgreSQL take CPU from the
server, so the figures are those of "this machine", as the goal states. Other processes (a test
suite running next door) skew them: each level waits for a quiet machine first (--quiet-wait)
and is measured again when others used over 10 % of a core meanwhile (--retries); a level that
stays skewed is flagged in the output.
"""

from __future__ import annotations

import argparse
import asyncio
import hashlib
import json
import os
import random
import re
import secrets
import shutil
import sqlite3
import statistics
import sys
import tempfile
import time
from collections.abc import Callable, Iterable
from dataclasses import dataclass, field
from datetime import UTC, date, datetime, timedelta
from operator import itemgetter
from pathlib import Path
from typing import Any
from zoneinfo import ZoneInfo

REPO = Path(__file__).resolve().parent.parent
sys.path.insert(0, str(REPO))

# httpx2 (what Starlette's TestClient uses) is installed by the test extras; plain httpx is not.
import httpx2 as httpx
import yaml

# benchmarks/login.py (this folder): the server subprocess and the CPU accounting, shared.
import _wrk as wrk
from login import CLK_TCK, Server, machine_busy_seconds, start_server

from assmat.core.settings import Settings

PASSWORD = "Bench-Pages-2026x"  # meets every tenant's policy
CSRF = re.compile(r'name="csrf_token" value="([^"]+)"')
MESSAGE_ROW = 'class="button" href="/espace/messages/'  # a row's « Voir » link (messages_list.html)
PARIS = ZoneInfo("Europe/Paris")
DATASET_VERSION = 2  # bump when the generator changes: --reuse then regenerates
GOAL_MEMORY_MB = 200  # resident per server process, the reference dataset loaded (issue 15)
GOAL_P95_MS = 50.0
COPIES = 96  # + the 5 real tenants = 101
PAGE_SIZE = 20  # assmat.portal.messages_routes.PAGE_SIZE: which inbox pages have rows

FULL = {"accounts": 250_000, "children": 1_000_000, "messages": 100_000}
GENERAL_SHARE = 0.10  # of the messages: general ones, spread over the tenants with messages
GENERAL_READERS = 0.005  # of the assistants: read every general message of their tenant
LIGHT = {"current": 3, "history": 1, "personal": 5}
HEAVY = {"current": 140, "history": 60, "personal": 300}
LOAD_USERS = 16

FIRST_NAMES = ("Léa", "Hugo", "Emma", "Louis", "Jade", "Gabriel", "Louise", "Arthur", "Alice", "Jules", "Chloé",
               "Adam", "Lina", "Raphaël", "Rose", "Léo", "Anna", "Nathan", "Mia", "Paul", "Inès", "Tom", "Zoé", "Noah")
LAST_NAMES = ("Martin", "Bernard", "Thomas", "Petit", "Robert", "Richard", "Durand", "Dubois", "Moreau", "Laurent",
              "Simon", "Michel", "Lefebvre", "Leroy", "Roux", "David", "Bertrand", "Morel", "Fournier", "Girard",
              "Bonnet", "Dupont", "Lambert", "Fontaine", "Rousseau", "Vincent", "Muller", "Faure", "André", "Mercier")
CITIES = ("Nice", "Antibes", "Cannes", "Grasse", "Menton", "Vence", "Cagnes-sur-Mer", "Le Cannet", "Valbonne")
STREETS = ("rue des Lilas", "avenue de la Gare", "chemin des Oliviers", "boulevard Victor-Hugo", "place du Marché")
SUBJECTS = ("Réunion d'information", "Formation continue", "Renouvellement d'agrément", "Visite de la PMI",
            "Fermeture des services", "Nouveau relais petite enfance", "Enquête annuelle", "Rappel : déclaration",
            "Modification de vos coordonnées", "Attestation à fournir", "Journée pédagogique", "Vaccinations",
            "Calendrier des permanences", "Documentation mise à jour", "Accueil d'urgence", "Sécurité à domicile")
SENDERS = ("Service des modes d'accueil", "PMI", "Relais petite enfance", "Direction enfance famille")


# -- tenants -------------------------------------------------------------------------------------


def tenant_configs(work: Path) -> Path:
    """The 5 real tenant files and COPIES renamed copies of alpes-maritimes.yaml in one folder
    (the assets they name are linked, not copied)."""
    target = work / "tenants"
    target.mkdir()
    source = REPO / "tenant_configs"
    for folder in ("branding", "legal", "terms"):
        (target / folder).symlink_to(source / folder)
    for path in sorted(source.glob("*.yaml")):
        shutil.copy(path, target / path.name)
    template = yaml.safe_load((source / "alpes-maritimes.yaml").read_text(encoding="utf-8"))
    for number in range(1, COPIES + 1):
        slug = f"bench-{number:03d}"
        config = {**template, "slug": slug, "name": f"Département de test {number:03d}", "hosts": []}
        config["public_url"] = f"https://{slug}.example.org"  # hosts and public URL must stay unique
        (target / f"{slug}.yaml").write_text(yaml.safe_dump(config, allow_unicode=True, sort_keys=False), encoding="utf-8")
    return target


# -- dataset -------------------------------------------------------------------------------------


@dataclass
class Plan:
    """One tenant's share of the dataset. Its accounts have the ids first_id … first_id+count-1;
    the first two are reserved for the planted profiles."""

    slug: str
    name: str
    identifier_kind: str
    terms_version: str | None
    types: list[Any]  # ChildcareType
    children: bool
    messages: bool
    first_id: int = 0
    count: int = 0
    general: list[tuple[int, datetime]] = field(default_factory=list)  # (message id, created_at)


def ts(value: datetime) -> str:
    """A UTC datetime as SQLAlchemy stores it on SQLite; PostgreSQL reads it in a UTC session."""
    return value.astimezone(UTC).strftime("%Y-%m-%d %H:%M:%S.%f")


def identifier_for(kind: str, account_id: int, local: int) -> str:
    """An identifier already in the canonical form assmat.auth.identifiers gives it."""
    if kind == "agrement_number":
        return f"AG{account_id:08d}"
    if kind == "pmi_number":
        return f"{local:06d}"
    if kind == "email":
        return f"assmat{account_id}@bench.example.org"
    return f"assmat{account_id}"


class Generator:
    """Rows for every table, in batches, with the ids and profiles the run needs afterwards."""

    BATCH = 20_000

    def __init__(self, tenants: dict[str, Any], scale: float, seed: int, password_hash: str):
        self.rng = random.Random(seed)
        self.scale = scale
        self.password_hash = password_hash
        self.now = datetime.now(UTC).replace(microsecond=0)
        self.today = self.now.astimezone(PARIS).date()
        self.plans = [
            Plan(slug, t.config.name, t.config.login.identifier,
                 t.terms_version if t.config.first_login.accept_terms else None,
                 list(t.config.childcare_types), bool(t.config.features.children), bool(t.config.features.messages))
            for slug, t in sorted(tenants.items())
        ]
        self.ids = {"children": 0, "guardians": 0, "care_periods": 0, "messages": 0, "message_states": 0}
        self.counts: dict[str, int] = {}
        self.users: dict[str, dict[str, Any]] = {}  # identifier → facts the checks use

    def next_id(self, table: str) -> int:
        self.ids[table] += 1
        return self.ids[table]

    # Accounts and agréments ----------------------------------------------------------------

    def accounts(self) -> Iterable[list[tuple]]:
        total = round(FULL["accounts"] * self.scale)
        per, extra = divmod(total, len(self.plans))
        next_id = 1
        for index, plan in enumerate(self.plans):
            plan.first_id, plan.count = next_id, max(3, per + (index < extra))
            next_id += plan.count
        self.counts["accounts"] = next_id - 1
        created = ts(self.now - timedelta(days=400))
        rows = []
        for plan in self.plans:
            for local in range(plan.count):
                account_id = plan.first_id + local
                first, last = self.rng.choice(FIRST_NAMES), self.rng.choice(LAST_NAMES)
                if local == 0:  # the light profile: a name of its own, so a page shows whose it is
                    first, last = "Camille", f"Témoin {plan.slug}"
                email = f"assmat{account_id}@bench.example.org"
                rows.append((
                    account_id, plan.slug, "assistant", identifier_for(plan.identifier_kind, account_id, local),
                    email, email, "Madame", first, last, "1980-05-17", "0600000000", self.password_hash, created,
                    False, False, 0, created, created, plan.terms_version, created if plan.terms_version else None,
                    created, created, f"{1 + local % 90} {STREETS[local % len(STREETS)]}", "06000",
                    CITIES[local % len(CITIES)],
                ))
                if len(rows) >= self.BATCH:
                    yield rows
                    rows = []
        yield rows

    ACCOUNT_COLUMNS = (
        "id", "tenant_id", "kind", "identifier", "email", "email_key", "civility", "first_name", "last_name",
        "birth_date", "phone", "password_hash", "password_changed_at", "must_change_password",
        "needs_security_update", "failed_logins", "activated_at", "email_confirmed_at", "terms_version",
        "terms_accepted_at", "created_at", "updated_at", "address", "postal_code", "city",
    )

    def agrements(self) -> Iterable[list[tuple]]:
        rows = []
        for plan in self.plans:
            for local in range(plan.count):
                account_id = plan.first_id + local
                start = self.today - timedelta(days=200 + account_id % 3000)
                number = identifier_for("agrement_number", account_id, local)
                rows.append((account_id, plan.slug, account_id, number, start.isoformat(),
                             (start + timedelta(days=5 * 365)).isoformat(), 1 + account_id % 4, "Domicile"))
                if len(rows) >= self.BATCH:
                    yield rows
                    rows = []
        yield rows

    AGREMENT_COLUMNS = ("id", "tenant_id", "account_id", "number", "start_date", "end_date", "capacity", "place")

    # Children and care periods -------------------------------------------------------------

    def _periods(self, types: list[Any], current: bool) -> list[tuple[str, date, date | None, int | None]]:
        """Care periods valid for the tenant's types: the first type without a mandatory end
        for the ordinary arrangement; the others (end date required, day or hour caps) short."""
        rng, today = self.rng, self.today
        main = next((t for t in types if not t.requires_end_date), types[0])
        others = [t for t in types if t is not main] or [main]

        def special(before: date) -> tuple[str, date, date | None, int | None]:
            kind = rng.choice(others)
            days = min(kind.max_days_per_year or 60, 60)
            end = before - timedelta(days=rng.randint(1, 200))
            start = end - timedelta(days=rng.randint(0, days - 1))
            hours = rng.randint(5, kind.max_hours_per_month) if kind.max_hours_per_month else None
            return kind.code, start, end, hours

        if current:
            start = today - timedelta(days=rng.randint(20, 900))
            periods = [(main.code, start, None, None)]
            if rng.random() < 0.25:
                periods.insert(0, special(start))
            return periods
        end = today - timedelta(days=rng.randint(2, 700))
        start = end - timedelta(days=rng.randint(60, 700))
        periods = [(main.code, start, end, None)]
        if rng.random() < 0.4:
            periods.insert(0, special(start))
        return periods

    def _child(self, plan: Plan, account_id: int, current: bool) -> tuple[tuple, list[tuple], list[tuple]]:
        rng = self.rng
        child_id = self.next_id("children")
        periods = self._periods(plan.types, current)
        earliest = min(p[1] for p in periods)
        declared = min(datetime(earliest.year, earliest.month, earliest.day, 9, tzinfo=UTC)
                       + timedelta(days=rng.randint(0, 12), seconds=rng.randint(0, 30000)), self.now)
        late = (declared.astimezone(PARIS).date() - earliest).days > 8  # assmat.portal.children.is_late
        last = rng.choice(LAST_NAMES)
        second = rng.random() < 0.5
        other_home = second and rng.random() < 0.2
        stamp = ts(declared)
        # The draws in the order of the columns before the guardians had a table: the same seed
        # gives the same people.
        first_name = rng.choice(FIRST_NAMES)
        birth_date = (earliest - timedelta(days=rng.randint(60, 900))).isoformat()
        guardians = [(self.next_id("guardians"), plan.slug, child_id, 1, "Madame", last, rng.choice(FIRST_NAMES),
                      f"parent{child_id}@example.org", f"06{child_id % 10**8:08d}")]
        if second:
            guardians.append((self.next_id("guardians"), plan.slug, child_id, 2, "Monsieur", last,
                              rng.choice(FIRST_NAMES), None, None))
        child = (
            child_id, plan.slug, account_id, last, first_name, birth_date,
            f"{rng.randint(1, 99)} {rng.choice(STREETS)}", "06000", rng.choice(CITIES), other_home,
            f"{rng.randint(1, 99)} {rng.choice(STREETS)}" if other_home else None,
            "06100" if other_home else None, rng.choice(CITIES) if other_home else None,
            stamp, stamp, stamp, earliest.isoformat(), late,
        )
        rows = [
            (self.next_id("care_periods"), plan.slug, child_id, code, start.isoformat(),
             end.isoformat() if end else None, hours, None)
            for code, start, end, hours in periods
        ]
        return child, guardians, rows

    CHILD_COLUMNS = (
        "id", "tenant_id", "account_id", "last_name", "first_name", "birth_date", "address", "postal_code", "city", "has_second_address", "second_address", "second_postal_code",
        "second_city", "declared_at", "created_at", "updated_at", "care_start", "declared_late",
    )
    OPTIONAL_CHILD_COLUMNS = ("care_start", "declared_late")  # migration 0005
    GUARDIAN_COLUMNS = ("id", "tenant_id", "child_id", "position", "civility", "last_name", "first_name", "email", "phone")
    PERIOD_COLUMNS = ("id", "tenant_id", "child_id", "childcare_type", "start_date", "end_date", "hours_per_month", "comment")

    def _profiles(self) -> list[tuple[Plan, int, dict[str, int]]]:
        """(tenant, account id, profile) of every planted account."""
        planted = [(plan, plan.first_id, LIGHT) for plan in self.plans if plan.children and plan.types and plan.messages]
        heavy = next(plan for plan in self.plans if plan.slug == "alpes-maritimes")
        return planted + [(heavy, heavy.first_id + 1, HEAVY)]

    def children(self) -> Iterable[tuple[list[tuple], list[tuple], list[tuple]]]:
        """(children, their guardians, their care periods), batch by batch."""
        children, guardians, periods = [], [], []
        first_child: dict[int, int] = {}
        for plan, account_id, profile in self._profiles():
            for current in [True] * profile["current"] + [False] * profile["history"]:
                child, people, rows = self._child(plan, account_id, current)
                first_child.setdefault(account_id, child[0])
                children.append(child)
                guardians.extend(people)
                periods.extend(rows)
        self.first_child = first_child
        eligible = [plan for plan in self.plans if plan.children and plan.types]  # a form needs a type
        for _ in range(max(0, round(FULL["children"] * self.scale) - len(children))):
            plan = eligible[self.rng.randrange(len(eligible))]
            child, people, rows = self._child(
                plan, plan.first_id + self.rng.randrange(2, plan.count), self.rng.random() < 0.7
            )
            children.append(child)
            guardians.extend(people)
            periods.extend(rows)
            if len(children) >= self.BATCH:
                yield children, guardians, periods
                children, guardians, periods = [], [], []
        yield children, guardians, periods
        self.counts["children"], self.counts["care_periods"] = self.ids["children"], self.ids["care_periods"]
        self.counts["guardians"] = self.ids["guardians"]

    # Messages and their states -------------------------------------------------------------

    def _message(self, plan: Plan, recipient: int | None) -> tuple:
        rng = self.rng
        message_id = self.next_id("messages")
        created = self.now - timedelta(seconds=rng.randint(3600, 2 * 365 * 86400))
        subject = f"{rng.choice(SUBJECTS)} n°{rng.randint(1, 999)}"
        body = f"Madame, Monsieur,\n\n{subject}. Message {message_id} du service.\n\nCordialement."
        if recipient is None:
            plan.general.append((message_id, created))
        return (message_id, plan.slug, rng.choice(SENDERS), recipient, subject, body, ts(created))

    MESSAGE_COLUMNS = ("id", "tenant_id", "sender", "recipient_account_id", "subject", "body", "created_at")
    STATE_COLUMNS = ("id", "tenant_id", "message_id", "account_id", "read_at", "archived_at")

    def messages(self) -> Iterable[tuple[list[tuple], list[tuple]]]:
        """(messages, states), batch by batch; the profiles' facts land in self.users."""
        rng = self.rng
        eligible = [plan for plan in self.plans if plan.messages]
        total = round(FULL["messages"] * self.scale)
        general = round(total * GENERAL_SHARE)
        messages = [self._message(eligible[i % len(eligible)], None) for i in range(general)]
        states: list[tuple] = []
        read = ts(self.now - timedelta(hours=2))

        def state(plan: Plan, message_id: int, account_id: int, archived: bool) -> None:
            states.append((self.next_id("message_states"), plan.slug, message_id, account_id, read, read if archived else None))

        for plan, account_id, profile in self._profiles():
            newest = sorted(plan.general, key=lambda item: item[1], reverse=True)
            archived_general = min(8, len(newest)) if profile is LIGHT else min(50, len(newest))
            for position, (message_id, _) in enumerate(newest[:30] if profile is LIGHT else newest):
                state(plan, message_id, account_id, position < archived_general)
            personal = [self._message(plan, account_id) for _ in range(profile["personal"])]
            messages.extend(personal)
            archived_personal = 1 if profile is LIGHT else 50
            for position, row in enumerate(personal[: 3 if profile is LIGHT else 150]):
                state(plan, row[0], account_id, position < archived_personal)
            archived = archived_general + archived_personal
            identifier = identifier_for(plan.identifier_kind, account_id, account_id - plan.first_id)
            self.users[f"{plan.slug}/{identifier}"] = {
                "tenant": plan.slug, "identifier": identifier, "profile": "light" if profile is LIGHT else "heavy",
                "name": "Camille Témoin " + plan.slug if profile is LIGHT else None,
                "agrement": identifier_for("agrement_number", account_id, 0), "first_child": self.first_child[account_id],
                "children": profile["current"] + profile["history"],
                "inbox": len(plan.general) + profile["personal"] - archived, "archived": archived,
            }
        random_personal = max(0, total - len(messages))
        for _ in range(random_personal):
            plan = eligible[rng.randrange(len(eligible))]
            row = self._message(plan, plan.first_id + rng.randrange(2, plan.count))
            messages.append(row)
            if rng.random() < 0.4:  # read, and one in four of those archived
                state(plan, row[0], row[3], rng.random() < 0.25)
            if len(messages) >= self.BATCH:
                yield messages, states
                messages, states = [], []
        yield messages, states
        states = []
        readers: set[int] = set()
        for _ in range(round(sum(p.count for p in eligible) * GENERAL_READERS)):
            plan = eligible[rng.randrange(len(eligible))]
            account_id = plan.first_id + rng.randrange(2, plan.count)
            if account_id in readers:
                continue
            readers.add(account_id)
            for message_id, _ in plan.general:
                state(plan, message_id, account_id, rng.random() < 0.2)
            if len(states) >= self.BATCH:
                yield [], states
                states = []
        yield [], states
        self.counts["messages"], self.counts["message_states"] = self.ids["messages"], self.ids["message_states"]


# -- writers -------------------------------------------------------------------------------------


class SqliteWriter:
    def __init__(self, path: Path):
        self.connection = sqlite3.connect(path)
        # A bulk load, not a service: no fsync, a large page cache.
        self.connection.execute("PRAGMA synchronous=OFF")
        self.connection.execute("PRAGMA cache_size=-262144")

    def columns(self, table: str) -> set[str]:
        return {row[1] for row in self.connection.execute(f"PRAGMA table_info({table})")}

    def write(self, table: str, columns: tuple[str, ...], rows: list[tuple]) -> None:
        if rows:
            marks = ", ".join("?" * len(columns))
            self.connection.executemany(f"INSERT INTO {table} ({', '.join(columns)}) VALUES ({marks})", rows)

    def finish(self) -> None:
        self.connection.commit()
        self.connection.execute("ANALYZE")
        self.connection.commit()
        self.connection.close()


class PostgresWriter:
    def __init__(self, url: str):
        import psycopg

        self.connection = psycopg.connect(url)
        # The timestamps are written as naive UTC text: read them in UTC.
        self.connection.execute("SET TimeZone = 'UTC'")
        try:  # foreign keys are right by construction; skip their checks when allowed (superuser)
            self.connection.execute("SET session_replication_role = replica")
        except psycopg.Error:
            self.connection.rollback()
            self.connection.execute("SET TimeZone = 'UTC'")

    def columns(self, table: str) -> set[str]:
        rows = self.connection.execute(
            "SELECT column_name FROM information_schema.columns WHERE table_schema = current_schema() AND table_name = %s",
            (table,),
        )
        return {row[0] for row in rows}

    def write(self, table: str, columns: tuple[str, ...], rows: list[tuple]) -> None:
        if rows:
            with self.connection.cursor().copy(f"COPY {table} ({', '.join(columns)}) FROM STDIN") as copy:
                for row in rows:
                    copy.write_row(row)

    def finish(self) -> None:
        # Ids were given here: move the sequences past them for the rows the app inserts.
        for table in ("accounts", "agrements", "children", "guardians", "care_periods", "messages", "message_states"):
            self.connection.execute(
                f"SELECT setval(pg_get_serial_sequence('{table}', 'id'), (SELECT max(id) FROM {table}))"
            )
        self.connection.commit()
        self.connection.autocommit = True
        self.connection.execute("VACUUM ANALYZE")
        self.connection.close()


def generate(database_url: str, tenants: dict[str, Any], scale: float, seed: int, password_hash: str) -> dict[str, Any]:
    """Fill a migrated, empty database. Returns the dataset's description (counts, users)."""
    started = time.perf_counter()
    if database_url.startswith("sqlite"):
        writer: SqliteWriter | PostgresWriter = SqliteWriter(Path(database_url.removeprefix("sqlite:///")))
    else:
        writer = PostgresWriter(database_url)
    generator = Generator(tenants, scale, seed, password_hash)
    existing = writer.columns("tenants")
    if not existing:
        raise SystemExit("the database has no tenants table: not migrated?")
    present = writer.columns("children")
    child_columns = tuple(c for c in Generator.CHILD_COLUMNS if c in present or c not in Generator.OPTIONAL_CHILD_COLUMNS)
    project = itemgetter(*[Generator.CHILD_COLUMNS.index(c) for c in child_columns])

    writer.write("tenants", ("slug", "name", "created_at"), [(p.slug, p.name, ts(generator.now)) for p in generator.plans])
    for rows in generator.accounts():
        writer.write("accounts", Generator.ACCOUNT_COLUMNS, rows)
    for rows in generator.agrements():
        writer.write("agrements", Generator.AGREMENT_COLUMNS, rows)
    for children, guardians, periods in generator.children():
        if child_columns != Generator.CHILD_COLUMNS:
            children = [project(row) for row in children]
        writer.write("children", child_columns, children)
        writer.write("guardians", Generator.GUARDIAN_COLUMNS, guardians)
        writer.write("care_periods", Generator.PERIOD_COLUMNS, periods)
    for messages, states in generator.messages():
        writer.write("messages", Generator.MESSAGE_COLUMNS, messages)
        writer.write("message_states", Generator.STATE_COLUMNS, states)
    written = time.perf_counter() - started
    writer.finish()
    counts = {"tenants": len(generator.plans), **generator.counts}
    return {
        "version": DATASET_VERSION, "scale": scale, "seed": seed, "counts": counts,
        "seconds": {"write": round(written, 1), "analyze": round(time.perf_counter() - started - written, 1)},
        "users": generator.users,
    }


# -- databases -----------------------------------------------------------------------------------


def pg_cluster(work_dir: Path, reuse: bool):
    """(cluster, reused): a throwaway PostgreSQL cluster (tests/support/postgres.py); with reuse,
    the one already under work_dir is restarted instead of a new one."""
    try:
        from tests.support.postgres import PostgresCluster, find_pg_bin, free_port
    except ImportError as exc:
        raise SystemExit(f"cannot import tests/support/postgres.py ({exc}): pass --database-url") from exc
    bin_dir = find_pg_bin()
    if bin_dir is None:
        raise SystemExit("no PostgreSQL server binaries (initdb, pg_ctl): install Debian's postgresql or pass --database-url")
    if reuse and (work_dir / "data" / "PG_VERSION").exists():
        port = free_port()
        cluster = PostgresCluster(f"postgresql://postgres@127.0.0.1:{port}", work_dir / "data", bin_dir,
                                  "postgres" if os.geteuid() == 0 else None, True)
        # The options PostgresCluster.start passes, on a new port.
        options = (f"-c listen_addresses=127.0.0.1 -c port={port} -c unix_socket_directories={work_dir / 'sock'} "
                   "-c fsync=off -c synchronous_commit=off -c full_page_writes=off -c max_connections=200")
        cluster._run("pg_ctl", "-D", str(work_dir / "data"), "-o", options, "-w", "-t", "120", "-l", str(work_dir / "log"), "start")
        return cluster, True
    shutil.rmtree(work_dir, ignore_errors=True)
    work_dir.mkdir(parents=True)
    for parent in (work_dir.parent, work_dir.parent.parent):  # the server runs as `postgres` under root
        parent.chmod(parent.stat().st_mode | 0o055)
    return PostgresCluster.start(bin_dir, work_dir), False


def process_tree_cpu(pid_file: Path) -> float:
    """CPU seconds of a PostgreSQL server and its backends (the postmaster's pid is the first
    line of postmaster.pid), from /proc: every process's utime + stime, and the postmaster's
    cutime + cstime, where the backends that ended (closed connections) left theirs."""
    try:
        root = int(pid_file.read_text().split()[0])
    except (OSError, ValueError, IndexError):
        return 0.0
    total = 0.0
    for stat in Path("/proc").glob("[0-9]*/stat"):
        try:
            fields = stat.read_text().rsplit(")", 1)[1].split()
        except OSError:  # ended meanwhile
            continue
        if int(stat.parent.name) == root:
            total += sum(int(value) for value in fields[11:15]) / CLK_TCK
        elif int(fields[1]) == root:
            total += (int(fields[11]) + int(fields[12])) / CLK_TCK
    return total


class PgSessions:
    """Connections opened so far to the database of `url` (pg_stat_database.sessions): a pool
    that closes and reopens connections under load shows here."""

    def __init__(self, url: str):
        import psycopg

        self.connection = psycopg.connect(url, autocommit=True)  # autocommit: fresh statistics each time

    def __call__(self) -> int:
        query = "SELECT sessions FROM pg_stat_database WHERE datname = current_database()"
        return self.connection.execute(query).fetchone()[0]


def stop_cluster(cluster, keep: bool) -> None:
    if keep:  # a clean shutdown (checkpoint): the cached cluster restarts without recovery
        cluster._run("pg_ctl", "-D", str(cluster.data_dir), "-m", "fast", "-w", "stop")
    else:
        cluster.stop()


def pg_database(url: str, name: str) -> str:
    """An empty database `name` on the server of `url` (dropped first)."""
    import psycopg
    from sqlalchemy.engine import make_url

    with psycopg.connect(url, autocommit=True) as connection:
        connection.execute(f'DROP DATABASE IF EXISTS "{name}" WITH (FORCE)')
        connection.execute(f'CREATE DATABASE "{name}"')
    return make_url(url).set(database=name).render_as_string(hide_password=False)


def production_settings(var_dir: Path, database_url: str, configs: Path, **extra: Any) -> Settings:
    settings = Settings(var_dir=var_dir, database_url=database_url, tenant_configs=configs,
                        secret_key=secrets.token_urlsafe(32), mail_backend="file", **extra)
    defaults = {name: Settings.model_fields[name].default for name in ("argon2_time_cost", "argon2_memory_cost", "argon2_parallelism")}
    actual = {name: getattr(settings, name) for name in defaults}
    if actual != defaults:  # an ASSMAT_ARGON2_* variable in the environment
        raise SystemExit(f"argon2 parameters {actual} differ from the production defaults {defaults}: unset ASSMAT_ARGON2_*")
    return settings


def prepare(database_url: str, configs: Path, scale: float, seed: int, cache: Path | None, label: str) -> dict[str, Any]:
    """Migrate, then generate (or, with a cached description, reuse) the dataset."""
    from assmat.core.security.passwords import Hasher
    from assmat.core.db.migrate import upgrade
    from assmat.tenants.loader import load_valid_tenants

    described = cache / "dataset.json" if cache else None
    if described is not None and described.exists():
        dataset = json.loads(described.read_text())
        if dataset.get("version") == DATASET_VERSION and dataset.get("scale") == scale and dataset.get("seed") == seed:
            upgrade(database_url)
            print(f"{label}: reusing the dataset in {cache} ({format_counts(dataset['counts'])})")
            return dataset
    started = time.perf_counter()
    upgrade(database_url)
    migrated = time.perf_counter() - started
    password_hash = Hasher(production_settings(Path(tempfile.gettempdir()), database_url, configs)).hash(PASSWORD)
    dataset = generate(database_url, load_valid_tenants(configs), scale, seed, password_hash)
    print(f"{label}: {format_counts(dataset['counts'])}; migrated in {migrated:.1f} s, written in "
          f"{dataset['seconds']['write']:.1f} s, ANALYZE in {dataset['seconds']['analyze']:.1f} s")
    if described is not None:
        described.write_text(json.dumps(dataset))
    return dataset


def format_counts(counts: dict[str, int]) -> str:
    return ", ".join(f"{value:,} {name.replace('_', ' ')}" for name, value in counts.items())


# -- pages ---------------------------------------------------------------------------------------


@dataclass(frozen=True)
class PageSpec:
    name: str
    path: str
    # The texts that show this user's data on the page: an answer counts only if it has them all
    # (plain texts, which both load generators look for).
    marks: Callable[[dict[str, Any]], list[str]]

    def shows(self, html: str, user: dict[str, Any]) -> bool:
        return all(mark in html for mark in self.marks(user))


def _inbox_page(number: int) -> Callable[[dict[str, Any]], list[str]]:
    # A page that should have rows must show message links; an empty one only its search form.
    return lambda user: ['action="/espace/messages"'] + ([MESSAGE_ROW] if user["inbox"] > (number - 1) * PAGE_SIZE else [])


PAGES = [
    PageSpec("dashboard", "/espace", lambda user: [user["name"]] if user["name"] else []),
    PageSpec("children (current + history)", "/espace/enfants", lambda user: [f'href="/espace/enfants/{user["first_child"]}"']),
    PageSpec("inbox, page 1", "/espace/messages", _inbox_page(1)),
    PageSpec("inbox by subject, page 3", "/espace/messages?tri=objet&ordre=asc&page=3", _inbox_page(3)),
    PageSpec("archived messages", "/espace/messages/archives",
             lambda user: ['action="/espace/messages/archives"'] + ([MESSAGE_ROW] if user["archived"] else [])),
    PageSpec("my account", "/espace/compte", lambda user: [user["identifier"]]),
    PageSpec("agrément", "/espace/agrement", lambda user: [user["agrement"]]),
]
OPTIONAL_PAGES = {"/espace/agrement"}  # being built: measured once it answers 200


async def sign_in(client: httpx.AsyncClient, identifier: str) -> None:
    page = await client.get("/connexion")
    match = CSRF.search(page.text)
    if page.status_code != 200 or match is None:
        raise SystemExit(f"GET /connexion: {page.status_code}, no CSRF token")
    response = await client.post("/connexion", data={"identifiant": identifier, "mot_de_passe": PASSWORD, "csrf_token": match.group(1)})
    if response.status_code != 303 or response.headers.get("location") != "/espace":
        raise SystemExit(f"sign-in of {identifier} failed: {response.status_code} → {response.headers.get('location')}")


# -- SQL statements per page (in process) --------------------------------------------------------


TIMED = 15  # in-process requests per page and user after the counted one: their median time


async def count_statements(settings: Settings, users: list[dict[str, Any]], pages: list[PageSpec],
                           ) -> dict[tuple[str, str], tuple[int, int, list[str], float]]:
    """{(user identifier, page path): (statements, connection checkouts, statements' text,
    median milliseconds)} for the second request of each page; the time is the median of TIMED
    more requests, in process, one at a time (rows fetched and rendered show here)."""
    from sqlalchemy import event

    from assmat.app import create_app

    app = create_app(settings)
    results: dict[tuple[str, str], tuple[int, int, list[str], float]] = {}
    async with app.router.lifespan_context(app):
        statements: list[str] = []
        checkouts = [0]
        event.listen(app.state.engine.sync_engine, "before_cursor_execute",
                     lambda conn, cursor, statement, *rest: statements.append(statement))
        event.listen(app.state.engine.sync_engine, "checkout", lambda *args: checkouts.__setitem__(0, checkouts[0] + 1))
        for user in users:
            transport = httpx.ASGITransport(app=app)
            async with httpx.AsyncClient(transport=transport, base_url=f"http://{user['tenant']}.{settings.base_domain}") as client:
                await sign_in(client, user["identifier"])
                for spec in pages:
                    for _ in range(2):
                        statements.clear()
                        checkouts[0] = 0
                        response = await client.get(spec.path)
                    if response.status_code != 200:
                        results[(user["identifier"], spec.path)] = (-response.status_code, 0, [], 0.0)
                        continue
                    counted = (len(statements), checkouts[0], list(statements))
                    timings = []
                    for _ in range(TIMED):
                        started = time.perf_counter()
                        await client.get(spec.path)
                        timings.append(time.perf_counter() - started)
                    results[(user["identifier"], spec.path)] = (*counted, statistics.median(timings) * 1000)
    return results


# -- load ----------------------------------------------------------------------------------------


@dataclass
class PageResult:
    latencies: list[float] = field(default_factory=list)
    errors: dict[str, int] = field(default_factory=dict)


async def page_worker(client: httpx.AsyncClient, user: dict[str, Any], pages: list[PageSpec], offset: int,
                      warmup_end: float, end: float, results: dict[str, PageResult]) -> None:
    index = offset
    while (started := time.perf_counter()) < end:
        spec = pages[index % len(pages)]
        index += 1
        response = await client.get(spec.path)
        elapsed = time.perf_counter() - started
        if started < warmup_end:
            continue
        result = results[spec.name]
        if response.status_code == 200 and spec.shows(response.text, user):
            result.latencies.append(elapsed)
        else:
            key = f"{response.status_code} {response.headers.get('location', '')}".strip()
            if response.status_code == 200:
                key = "200 without the user's data"
            result.errors[key] = result.errors.get(key, 0) + 1


QUIET = 0.10  # of a core: what other processes may use during a window that counts


class Replicas:
    """One or more servers of the same app against the one database, as a deployment grows
    past one machine (README, « Grandir au-delà d'une machine »): client i talks to replica
    i mod N over its own keep-alive connection; CPU and memory are those of all of them."""

    def __init__(self, settings: Settings, work: Path, count: int):
        self.servers: list[Server] = []
        for index in range(count):
            self.servers.append(start_server(settings, work, log_name=f"server-{count}-{index + 1}.log"))

    def port(self, client: int) -> int:
        return self.servers[client % len(self.servers)].port

    def cpu_seconds(self) -> float:
        return sum(server.cpu_seconds() for server in self.servers)

    def memory_mb(self) -> list[tuple[float, float]]:
        """(resident, peak resident) MB of each replica's process, from /proc (VmRSS, VmHWM)."""
        figures = []
        for server in self.servers:
            fields = dict(line.split(":", 1) for line in Path(f"/proc/{server.process.pid}/status").read_text().splitlines())
            figures.append(tuple(int(fields[key].split()[0]) / 1024 for key in ("VmRSS", "VmHWM")))
        return figures

    @property
    def log(self) -> Path:
        return self.servers[0].log

    def stop(self) -> None:
        for server in self.servers:
            server.stop()


# The wrk load (benchmarks/_wrk.py): each connection is a signed-in user looping over the pages
# from its own starting page; each answer's time (CLOCK_MONOTONIC through LuaJIT's FFI), page and
# verdict go to a file per connection, read back into the same tables as the Python load's.
PAGES_LUA = """
local ffi = require("ffi")
ffi.cdef[[
typedef struct { long tv_sec; long tv_nsec; } bench_timespec;
int clock_gettime(int clock, bench_timespec *now);
]]
local clock = ffi.new("bench_timespec")
local function now_us()
  ffi.C.clock_gettime(1, clock)
  return tonumber(clock.tv_sec) * 1000000 + tonumber(clock.tv_nsec) / 1000
end
local paths = {@PATHS@}
local users = {@USERS@}
local record = @RECORD@
function init(args)
  ok, bad = 0, 0
  local user = users[index]
  requests, marks, upcoming = {}, user.marks, user.first
  for i, path in ipairs(paths) do
    requests[i] = wrk.format("GET", path, {["Host"] = user.host, ["Cookie"] = user.cookie})
  end
  if record ~= "" then out = io.open(record .. "/answers-" .. user.number .. ".txt", "w") end
end
function request()
  current = upcoming
  upcoming = upcoming % #paths + 1
  started = now_us()
  return requests[current]
end
function response(status, headers, body)
  local elapsed = now_us() - started
  local good = status == 200
  if good then
    for _, mark in ipairs(marks[current]) do
      if not string.find(body, mark, 1, true) then good = false break end
    end
  end
  if good then ok = ok + 1 else bad = bad + 1 end
  if out then out:write(current, " ", string.format("%.0f", elapsed), " ", good and 1 or 0, " ", status, "\\n") end
end
"""


def pages_lua(connections: list[tuple[int, dict[str, Any], str, str]], pages: list[PageSpec], level: int,
              record: Path | None) -> str:
    """The script of one wrk process: (number, user, its Host, its cookies) per connection, of
    `level` connections in all."""
    users = []
    for number, user, host, cookie in connections:
        marks = ", ".join("{" + ", ".join(wrk.lua_string(mark) for mark in spec.marks(user)) + "}" for spec in pages)
        first = number * len(pages) // level % len(pages) + 1
        users.append(f"{{number = {number}, host = {wrk.lua_string(host)}, cookie = {wrk.lua_string(cookie)}, "
                     f"first = {first}, marks = {{{marks}}}}}")
    return (PAGES_LUA.replace("@PATHS@", ", ".join(wrk.lua_string(spec.path) for spec in pages))
            .replace("@USERS@", ", ".join(users)).replace("@RECORD@", wrk.lua_string(str(record) if record else "")))


def read_answers(record: Path, pages: list[PageSpec]) -> dict[str, PageResult]:
    results = {spec.name: PageResult() for spec in pages}
    for answers in record.glob("answers-*.txt"):
        for line in answers.read_text().splitlines():
            page, micros, good, status = line.split()
            result = results[pages[int(page) - 1].name]
            if good == "1":
                result.latencies.append(int(micros) / 1e6)
            else:
                key = "200 without the user's data" if status == "200" else status
                result.errors[key] = result.errors.get(key, 0) + 1
    return results


def run_levels(server: Replicas, settings: Settings, users: list[dict[str, Any]], pages: list[PageSpec],
               levels: list[int], warmup: float, seconds: float, database_cpu: Callable[[], float],
               database_sessions: Callable[[], int] | None, retries: int, quiet_wait: float,
               generator: str = "python", work: Path | None = None,
               ) -> list[tuple[int, dict[str, PageResult], dict[str, float]]]:
    """Sign every user in once, then each level in turn: (level, results by page, window).

    Other processes (a test suite next door) skew the figures: before each level this waits up
    to `quiet_wait` seconds for the machine to be quiet, and a level during which they used
    more than QUIET of a core is measured again, up to `retries` times."""
    outcomes = []

    def counters() -> dict[str, float]:
        return {"machine": machine_busy_seconds(), "server": server.cpu_seconds(), "client": time.process_time(),
                "database": database_cpu(), "sessions": database_sessions() if database_sessions else 0}

    def window_of(before: dict[str, float], after: dict[str, float], client: float | None = None) -> dict[str, Any]:
        """What each used between two readings of the counters (`client`: the load generator's CPU
        when it is not this process, wrk's), and « others »: the CPU seconds that neither the
        server, the load generator nor PostgreSQL used."""
        window: dict[str, Any] = {key: after[key] - before[key] for key in before}
        if client is not None:
            window["client"] = client
        window["others"] = max(0.0, window["machine"] - window["server"] - window["client"] - window["database"])
        if database_sessions is None:
            window["sessions"] = None
        return window

    async def wait_quiet() -> None:
        deadline = time.perf_counter() + quiet_wait
        while time.perf_counter() < deadline:
            before = counters()
            await asyncio.sleep(2)
            if window_of(before, counters())["others"] / 2 < QUIET:
                return

    async def measure(clients: list[httpx.AsyncClient], level: int) -> tuple[dict[str, PageResult], dict[str, float]]:
        results = {spec.name: PageResult() for spec in pages}
        start = time.perf_counter()
        warmup_end, end = start + warmup, start + warmup + seconds
        marks: dict[str, dict[str, float]] = {}

        async def mark() -> None:
            await asyncio.sleep(max(0.0, warmup_end - time.perf_counter()))
            marks["before"] = counters()

        # Each client starts at another page, so that every page is in flight at any moment.
        workers = [page_worker(clients[i], users[i], pages, i * len(pages) // level, warmup_end, end, results)
                   for i in range(level)]
        await asyncio.gather(mark(), *workers)
        wall = time.perf_counter() - warmup_end  # to the last answer: requests started before the end finish after it
        window = window_of(marks["before"], counters())
        window["wall"] = wall
        return results, window

    def measure_wrk(clients: list[httpx.AsyncClient], level: int) -> tuple[dict[str, PageResult], dict[str, float]]:
        """The same with one wrk process per replica, each with the connections of its users."""
        assert work is not None
        connections = [(i, users[i], clients[i].headers["host"],
                        "; ".join(f"{name}={value}" for name, value in clients[i].cookies.items())) for i in range(level)]
        by_replica: dict[int, list] = {}
        for connection in connections:
            by_replica.setdefault(server.port(connection[0]), []).append(connection)

        def load(seconds_: float, record: Path | None, name: str) -> float:
            """Every replica's wrk side by side; their CPU seconds."""
            running = [wrk.Running(port, pages_lua(group, pages, level, record), len(group), seconds_, work, f"{name}-{port}")
                       for port, group in by_replica.items()]
            return sum(process.wait().cpu_seconds for process in running)

        if warmup > 0:
            load(warmup, None, "pages-warmup")
        record = Path(tempfile.mkdtemp(prefix=f"answers-{level}-clients-", dir=work))
        before = counters()
        started = time.perf_counter()
        client_cpu = load(seconds, record, "pages")
        wall = time.perf_counter() - started
        window = window_of(before, counters(), client=client_cpu)
        window["wall"] = wall
        return read_answers(record, pages), window

    async def main() -> None:
        clients = []
        for index, user in enumerate(users):
            limits = httpx.Limits(max_connections=1, max_keepalive_connections=1)
            client = httpx.AsyncClient(base_url=f"http://127.0.0.1:{server.port(index)}", limits=limits, timeout=60,
                                       headers={"host": f"{user['tenant']}.{settings.base_domain}"}, follow_redirects=False)
            await sign_in(client, user["identifier"])
            clients.append(client)
        try:
            for level in levels:
                for attempt in range(retries + 1):
                    await wait_quiet()
                    if generator == "wrk":
                        results, window = await asyncio.to_thread(measure_wrk, clients, level)
                    else:
                        results, window = await measure(clients, level)
                    busy = window["others"] / window["wall"]
                    if busy <= QUIET or attempt == retries:
                        break
                    print(f"({level} client{'s' if level > 1 else ''}: other processes used {busy * 100:.0f}% of a core, "
                          f"measuring again)", flush=True)
                outcomes.append((level, results, window))
        finally:
            for client in clients:
                await client.aclose()

    asyncio.run(main())
    return outcomes


# -- report --------------------------------------------------------------------------------------


def quantile(ordered: list[float], q: float) -> float:
    return ordered[min(len(ordered) - 1, int(q * len(ordered)))] * 1000 if ordered else float("nan")


def report_level(label: str, level: int, results: dict[str, PageResult], window: dict[str, float],
                 pages: list[PageSpec], seconds: float, warmup: float) -> dict[str, float]:
    wall = window["wall"]
    print(f"\n{label} — {level} concurrent client{'s' if level > 1 else ''}, {seconds:g} s (+{warmup:g} s warm-up)")
    print(f"  {'page':<28} {'path':<46} {'req/s':>7} {'p50 ms':>7} {'p95 ms':>7} {'p99 ms':>7}  errors")
    everything: list[float] = []
    errors = 0
    for spec in pages:
        result = results[spec.name]
        ordered = sorted(result.latencies)
        everything += ordered
        errors += sum(result.errors.values())
        error_text = ", ".join(f"{count}× {key}" for key, count in result.errors.items()) or "0"
        print(f"  {spec.name:<28} {spec.path:<46} {len(ordered) / wall:7.1f} {quantile(ordered, .5):7.1f} "
              f"{quantile(ordered, .95):7.1f} {quantile(ordered, .99):7.1f}  {error_text}")
    everything.sort()
    total = len(everything)
    print(f"  {'all pages':<28} {'':<46} {total / wall:7.1f} {quantile(everything, .5):7.1f} "
          f"{quantile(everything, .95):7.1f} {quantile(everything, .99):7.1f}  {errors}")
    per = 1000 / max(total, 1)
    others = window["others"]
    parts = [("server", window["server"]), ("load generator", window["client"])]
    if window["database"]:
        parts.append(("PostgreSQL", window["database"]))
    text = ", ".join(f"{name} {cpu * per:.2f} ms ({cpu / wall * 100:.0f}% of a core)" for name, cpu in parts)
    print(f"  CPU per request: {text}; other processes {others / wall * 100:.0f}% of a core; "
          f"idle {max(0.0, (os.cpu_count() or 1) - window['machine'] / wall) * 100:.0f}% of a core")
    if window["sessions"] is not None:
        print(f"  PostgreSQL connections opened during the window: {window['sessions']} "
              f"({window['sessions'] / max(total, 1) * 100:.1f} per 100 requests)")
    if others / wall > QUIET:
        print(f"  !! other processes used {others / wall * 100:.0f}% of a core during the run: the figures are skewed, "
              "run again on a quiet machine")
    return {"others": others / wall, "rps": total / wall, "p50": quantile(everything, .5), "p95": quantile(everything, .95),
            "p99": quantile(everything, .99), "errors": errors,
            "worst_page_p95": max((quantile(sorted(results[s.name].latencies), .95) for s in pages), default=float("nan"))}


def report_statements(label: str, columns: list[tuple[str, dict[str, Any], dict]], pages: list[PageSpec]) -> bool:
    """The table page → statements (checkouts) and median time per dataset and user; True if
    any count grows."""
    print(f"\n{label}: SQL statements per page (connection checkouts in brackets) on the second request of each "
          f"page, then the median time of {TIMED} more, in process, one at a time")
    header = "".join(f"{name:>20}" for name, _, _ in columns)
    print(f"  {'page':<28}{header}")
    grows = False
    for spec in pages:
        cells, counts = [], set()
        for _, user, results in columns:
            statements, checkouts, _, median = results[(user["identifier"], spec.path)]
            cells.append(f"{statements} ({checkouts}) {median:5.1f} ms" if statements >= 0 else f"HTTP {-statements}")
            counts.add((statements, checkouts))
        flag = "" if len(counts) == 1 else "  !! GROWS WITH THE DATA"
        grows |= bool(flag)
        print(f"  {spec.name:<28}" + "".join(f"{cell:>20}" for cell in cells) + flag)
        if flag:  # which statement repeats: the usual N+1
            biggest = max((results[(user["identifier"], spec.path)][2] for _, user, results in columns), key=len)
            repeated = max(set(biggest), key=biggest.count)
            print(f"      repeated {biggest.count(repeated)}×: {' '.join(repeated.split())[:160]}")
    return grows


# -- one database --------------------------------------------------------------------------------


def bench_database(backend: str, args: argparse.Namespace, work: Path, configs: Path) -> dict[str, Any]:
    label = "SQLite" if backend == "sqlite" else "PostgreSQL"
    cache = None
    if args.reuse:
        key = f"{backend}-scale{args.scale:g}-seed{args.seed}"
        if backend == "postgresql" and args.database_url:
            key += "-" + hashlib.sha256(args.database_url.encode()).hexdigest()[:8]
        cache = args.cache_dir / key
        cache.mkdir(parents=True, exist_ok=True)
    home = cache or work / backend
    home.mkdir(parents=True, exist_ok=True)
    cluster = None
    server: Replicas | None = None
    try:
        fresh = True  # no dataset to reuse in `home`: forget any description of one
        if backend == "sqlite":
            big_url = f"sqlite:///{home / 'assmat.db'}"
            fresh = not (args.reuse and (home / "assmat.db").exists())
            if fresh and (home / "assmat.db").exists():
                (home / "assmat.db").unlink()
            tiny_url = f"sqlite:///{work / 'tiny-sqlite.db'}"
        else:
            if args.database_url:
                big_url, fresh = args.database_url, not args.reuse
                tiny_url = pg_database(args.database_url, "assmat_bench_tiny")
            else:
                cluster, reused = pg_cluster(home / "pg", reuse=args.reuse)
                fresh = not reused
                if fresh:
                    cluster.create_database("bench")
                big_url = cluster.url("bench")
                tiny_url = pg_database(cluster.url("postgres"), "tiny")
            label += f" {_pg_version(big_url)}"
        if fresh and (home / "dataset.json").exists():
            (home / "dataset.json").unlink()

        tiny = prepare(tiny_url, configs, TINY_SCALE, args.seed, None, f"{label} tiny dataset")
        big = prepare(big_url, configs, args.scale, args.seed, cache, f"{label} dataset")

        # SQL statements per page: light and heavy users, tiny and big dataset.
        pick = lambda dataset, profile: next(u for u in dataset["users"].values()
                                             if u["profile"] == profile and u["tenant"] == "alpes-maritimes")
        columns = []
        for name, dataset, url in (("tiny", tiny, tiny_url), ("big", big, big_url)):
            settings = production_settings(work / "var-inprocess", url, configs, mail_in_process=False)
            users = [pick(dataset, "light"), pick(dataset, "heavy")]
            results = asyncio.run(count_statements(settings, users, PAGES))
            columns += [(f"{name}/light", users[0], results), (f"{name}/heavy", users[1], results)]
        pages = []
        for spec in PAGES:
            status = columns[2][2][(columns[2][1]["identifier"], spec.path)][0]
            if status < 0 and spec.path in OPTIONAL_PAGES:
                print(f"note: {spec.path} answers {-status}: not built yet, left out of the measures")
                continue
            pages.append(spec)
        light, heavy = LIGHT["current"] + LIGHT["history"], HEAVY["current"] + HEAVY["history"]
        print(f"(light: {light} children, {LIGHT['personal']} personal messages; heavy: {heavy} children, "
              f"{HEAVY['personal']} personal messages; tiny: {format_counts(tiny['counts'])})")
        grows = report_statements(label, columns, pages)
        if args.show_sql:
            name, user, results = columns[3]
            for spec in pages:
                print(f"  {spec.path} ({name}):")
                for statement in results[(user["identifier"], spec.path)][2]:
                    print(f"    {' '.join(statement.split())[:300]}")

        # Load through the real server.
        settings = production_settings(work / f"var-{backend}", big_url, configs)
        load_users = [u for u in big["users"].values() if u["profile"] == "light"]
        load_users.sort(key=lambda u: u["tenant"] != "alpes-maritimes")  # the real tenant first, then bench-…
        step = max(1, len(load_users) // LOAD_USERS)
        load_users = (load_users[:1] + load_users[1::step])[:max(args.levels)]
        tenants = sorted({u["tenant"] for u in load_users})
        print(f"\n{label}: {len(load_users)} assistants of {len(tenants)} tenants sign in; each client loops over "
              f"the {len(pages)} pages (each typical user: {light} children, {LIGHT['personal']} personal messages, "
              f"about {load_users[0]['inbox']} messages in the inbox)", flush=True)
        if cluster is not None:
            pid_file = cluster.data_dir / "postmaster.pid"
            database_cpu = lambda: process_tree_cpu(pid_file)
        else:  # SQLite runs in the server's threads; an external PostgreSQL counts as "other processes"
            database_cpu = lambda: 0.0
        by_replicas = {}
        # `assmat serve` runs one process on SQLite (one file the processes would wait on to write).
        counts = args.replicas if backend == "postgresql" else [count for count in args.replicas if count == 1] or [1]
        if counts != args.replicas:
            print(f"note: {label} is served by one process; replicas {args.replicas} measured as {counts}")
        for count in counts:
            server = Replicas(settings, work, count)
            sessions = PgSessions(big_url) if backend == "postgresql" else None
            try:
                outcomes = run_levels(server, settings, load_users, pages, args.levels, args.warmup, args.seconds,
                                      database_cpu, sessions, args.retries, args.quiet_wait, args.generator, work)
            finally:
                if sessions is not None:
                    sessions.connection.close()
            memory = server.memory_mb()
            server.stop()
            server = None
            summary = {}
            named = label if count == 1 else f"{label}, {count} replicas"
            for level, results, window in outcomes:
                summary[level] = report_level(named, level, results, window, pages, args.seconds, args.warmup)
            print("  resident memory per server process after the load: "
                  + ", ".join(f"{rss:.0f} MB (peak {peak:.0f} MB)" for rss, peak in memory), flush=True)
            summary["memory"] = memory
            by_replicas[count] = summary
        summary = by_replicas[counts[0]]
        return {"label": label, "levels": {k: v for k, v in summary.items() if k != "memory"}, "grows": grows,
                "replicas": by_replicas}
    finally:
        if server is not None:
            server.stop()
        if cluster is not None:
            stop_cluster(cluster, keep=args.reuse)


TINY_SCALE = 0.0004  # 101 tenants with 3 accounts each (the planted profiles included), a few hundred rows


def _pg_version(url: str) -> str:
    import psycopg

    with psycopg.connect(url) as connection:
        return connection.execute("SHOW server_version").fetchone()[0].split()[0]


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument("--database", choices=("sqlite", "postgresql", "both"), default="both")
    parser.add_argument("--scale", type=float, default=1.0, help="dataset size, 1 = 250,000 assistants (default 1; 0.01 for a smoke run)")
    parser.add_argument("--seconds", type=float, default=15.0, help="measured duration of each concurrency level (default 15)")
    parser.add_argument("--warmup", type=float, default=2.0, help="unmeasured warm-up before each level (default 2)")
    parser.add_argument("--concurrency", default="1,4,16", help=f"levels, comma-separated, at most {LOAD_USERS} (default 1,4,16)")
    parser.add_argument("--retries", type=int, default=2, help="measure a level again when other processes used more "
                                                               f"than {QUIET * 100:.0f}%% of a core meanwhile, up to N times (default 2)")
    parser.add_argument("--quiet-wait", type=float, default=60.0, help="wait up to N s for a quiet machine before each "
                                                                    "level (default 60)")
    parser.add_argument("--seed", type=int, default=2026)
    parser.add_argument("--database-url", help="postgresql://… of an empty database to fill (and, with --reuse, to reuse); "
                                               "default: a throwaway cluster")
    parser.add_argument("--reuse", action="store_true", help="keep the generated datasets under --cache-dir and reuse them")
    parser.add_argument("--cache-dir", type=Path, default=Path(tempfile.gettempdir()) / "assmat-bench-pages")
    every_core = Settings(database_url="postgresql://").serve_workers  # what `assmat serve` starts here
    parser.add_argument("--replicas", default=",".join(map(str, sorted({1, every_core}))),
                        help="app replicas against the one database, comma-separated counts measured in turn "
                             f"(default 1,{every_core}: one, then one per core, the goal's setting)")
    parser.add_argument("--keep", action="store_true", help="keep the temp dir (tenant files, server logs)")
    parser.add_argument("--show-sql", action="store_true", help="print each page's SQL statements (big dataset, heavy user)")
    parser.add_argument("--generator", choices=("wrk", "python"), default="wrk" if wrk.command() else "python",
                        help="the load generator: Debian's wrk (the default where installed) or httpx in this process")
    args = parser.parse_args(argv)
    args.levels = [int(x) for x in args.concurrency.split(",")]
    args.replicas = [int(x) for x in args.replicas.split(",")]
    args.every_core = every_core
    if not all(1 <= level <= LOAD_USERS for level in args.levels):
        parser.error(f"concurrency levels go from 1 to {LOAD_USERS}")

    work = Path(tempfile.mkdtemp(prefix="assmat-bench-pages-"))
    work.chmod(0o755)  # the PostgreSQL server runs as `postgres` when we are root
    backends = ["sqlite", "postgresql"] if args.database == "both" else [args.database]
    cores = os.cpu_count() or 1
    print(f"assmat pages benchmark — {', '.join(backends)}, scale {args.scale:g}, {cores} CPUs, "
          f"levels {args.concurrency}, {args.seconds:g} s each; load generator: "
          f"{'wrk (benchmarks/_wrk.py)' if args.generator == 'wrk' else 'httpx in this process'}")
    started = time.perf_counter()
    summaries = []
    try:
        configs = tenant_configs(work)
        for backend in backends:
            summaries.append((backend, bench_database(backend, args, work, configs)))
        print(f"\nSUMMARY (total {time.perf_counter() - started:.0f} s)")
        failed = False
        for backend, summary in summaries:
            for level, figures in summary["levels"].items():
                print(f"  {summary['label']:<16} {level:>2} clients: {figures['rps']:7.1f} req/s, p50 {figures['p50']:.1f} ms, "
                      f"p95 {figures['p95']:.1f} ms, p99 {figures['p99']:.1f} ms, errors {figures['errors']}")
            failed |= summary["grows"] or any(f["errors"] for f in summary["levels"].values())
            print(f"  {summary['label']:<16} SQL statements per page: {'GROW with the data' if summary['grows'] else 'constant'}")
            peak = max(peak for figures in summary["replicas"].values() for _, peak in figures["memory"])
            print(f"  {summary['label']:<16} resident memory per server process: peak {peak:.0f} MB "
                  f"(goal < {GOAL_MEMORY_MB} MB: {'met' if peak < GOAL_MEMORY_MB else 'NOT met'})")
            if len(summary["replicas"]) > 1:
                top = max(args.levels)
                one, *more = list(summary["replicas"])
                for count in more:
                    ratio = summary["replicas"][count][top]["rps"] / summary["replicas"][one][top]["rps"]
                    print(f"  {summary['label']:<16} {count} replicas / {one} at {top} clients: {ratio:.2f}× the requests/s "
                          f"(p95 {summary['replicas'][count][top]['p95']:.1f} ms against "
                          f"{summary['replicas'][one][top]['p95']:.1f} ms)")
        pg = next((s for b, s in summaries if b == "postgresql"), None)
        if pg is not None and 16 in pg["levels"]:
            # The goal's setting: every core serving (`assmat serve` starts one process per core
            # on PostgreSQL), so the run with one replica per core, else the most replicas measured.
            serving = args.every_core if args.every_core in pg["replicas"] else max(pg["replicas"])
            figures = pg["replicas"][serving][16]
            verdict = "MET" if figures["worst_page_p95"] < GOAL_P95_MS else "NOT MET"
            print(f"GOAL every page's p95 < {GOAL_P95_MS:g} ms at 16 concurrent clients on PostgreSQL, "
                  f"{serving} server process{'es' if serving > 1 else ''} on {cores} cores: worst page p95 "
                  f"{figures['worst_page_p95']:.1f} ms (all pages {figures['p95']:.1f} ms) → {verdict}")
        elif pg is None:
            print("GOAL (PostgreSQL, 16 clients): not measured in this run")
        return 1 if failed else 0
    finally:
        if args.keep:
            print(f"kept: {work}")
        else:
            shutil.rmtree(work, ignore_errors=True)


if __name__ == "__main__":
    raise SystemExit(main())
