"""The parents' search at the national scale, through the real server: searches/s, latency
percentiles and SQL statements per search, against the tenant's home page in the same run (the
stack's floor). Goal (issue 12): search throughput at least half the home page's at 16 clients,
on PostgreSQL.

    .venv/bin/python benchmarks/search.py [--rows 250000] [--departement-rows 2000]
        [--database sqlite|postgresql|both] [--database-url postgresql://…] [--searches 600]
        [--clients 1,16] [--seed 12] [--explain]

Quick smoke run: `--rows 5000 --departement-rows 100 --searches 100`.

What it does, for each database (SQLite file; PostgreSQL: a throwaway cluster started as the
test suite does, tests/support/postgres.py, unless --database-url is given):
1. Tenants: a temp folder with the 5 real tenant files and DEPARTEMENTS (101) copies of
   gers.yaml (publication with the agrément, public search on) named bench-001 … bench-101;
   each is a row of `tenants` with entries of its own, so every query's tenant predicate counts.
2. Dataset, migrated with Alembic then written directly (executemany on SQLite, COPY on
   PostgreSQL): --rows assistants in the national tenant (mon-enfant, consent regime), 60 %
   consented (published); --departement-rows in each département but bench-001, which holds
   --rows / 25 (10,000 at full scale: the small table of the statement counts); 60 % of the
   départements' assistants hold a valid agrément (published), the others' ended. Every
   assistant sits around one of the real communes of assmat/portal/profile/communes.csv (a
   normal spread of a few km around its centre); a third hide their address; half of the
   published declared places (one or two, an age group, free now or within two months, three
   weekly slots each); offer flags at random. Then `rebuild_entries` fills the search table of
   every tenant (timed: the nightly rebuild), and ANALYZE (PostgreSQL: VACUUM ANALYZE).
3. SQL statements per search, in this process (a `before_cursor_execute` listener), for each
   kind of search of the mix, in the national tenant and in bench-001 (--rows and --rows / 25):
   two for most (the page with its count, its places: one when nothing matches), more only past
   COUNT_CAP (a capped count per smaller radius, then the page), never past STATEMENT_BOUND
   whatever the size. With --explain, the plans of the slowest kinds.
4. Load, through the real server (`assmat serve` in a subprocess, as benchmarks/pages.py, with
   the production settings): --clients levels, one httpx client and keep-alive connection each,
   first the parents' page `/recherche` with the searches of the mix (a commune as its
   suggestions write it and a radius of 1 to 30 km, half with the child's age and a start date,
   some with days and slots or offers, some by commune alone or by name, pages 1 to 3), each
   from its own client address, then as many home pages (`GET /`). An answer counts only if it
   is a 200 whose title shows the total the service gave in step 3 for the page's own reading
   of the same parameters. Prints requests/s, p50, p95 and the ratio search / home page.

Not part of the test suite; tests/test_benchmarks.py only checks that it imports.
"""

from __future__ import annotations

import argparse
import asyncio
import csv
import random
import re
import shutil
import statistics
import sys
import tempfile
import time
from datetime import UTC, date, datetime, timedelta
from pathlib import Path
from typing import Any
from urllib.parse import urlencode

REPO = Path(__file__).resolve().parent.parent
sys.path.insert(0, str(REPO))
sys.path.insert(0, str(Path(__file__).resolve().parent))

import httpx2 as httpx
import yaml

from login import start_server
from pages import PostgresWriter, SqliteWriter, pg_cluster, pg_database, production_settings, stop_cluster

NATIONAL = "mon-enfant"
SMALL = "bench-001"  # the département of --rows / 25 assistants: the statement counts' small table
DEPARTEMENTS = 101
SEARCH_PATH = "/recherche"
GOAL_RATIO = 0.5
STATEMENT_BOUND = 1 + (len((1, 3, 5, 10, 20, 30)) - 1) + 1 + 1
COMMUNES = REPO / "assmat" / "portal" / "profile" / "communes.csv"
RADII = (1, 3, 5, 10, 20, 30)
OFFERS = ("periscolaire", "mercredi", "vacances_scolaires", "temps_partiel", "avant_7h", "apres_20h", "samedi",
          "dimanche", "nuit", "depannage_urgence", "handicap")
AGE_GROUPS = ("moins_18_mois", "18_mois_3_ans", "plus_3_ans")
SLOTS = ("avant_7h", "matin", "midi", "apres_midi", "soir")
FIRST = ("Léa", "Émilie", "Sophie", "Nathalie", "Isabelle", "Céline", "Sandrine", "Aurélie", "Valérie", "Karine")
LAST = ("Martin", "Bernard", "Thomas", "Petit", "Robert", "Richard", "Durand", "Dubois", "Moreau", "Laurent",
        "Simon", "Michel", "Lefèvre", "Leroy", "Roux", "David", "Bertrand", "Morel", "Fournier", "Girard")
BATCH = 20_000


def communes() -> list[dict[str, Any]]:
    """The communes of communes.csv that have a centre (comment lines skipped)."""
    with COMMUNES.open(encoding="utf-8", newline="") as handle:
        return [{**row, "postal_code": row["postal_codes"].split()[0], "latitude": float(row["latitude"]),
                 "longitude": float(row["longitude"])}
                for row in csv.DictReader(line for line in handle if not line.startswith("#")) if row["latitude"]]


def ts(value: datetime) -> str:
    return value.astimezone(UTC).replace(tzinfo=None).isoformat(sep=" ")


def to_lists(params: list[tuple[str, str]]) -> dict[str, list[str]]:
    lists: dict[str, list[str]] = {}
    for key, value in params:
        lists.setdefault(key, []).append(value)
    return lists


def tenant_configs(work: Path) -> Path:
    """The 5 real tenant files and DEPARTEMENTS renamed copies of gers.yaml in one folder (the
    assets they name are linked, not copied)."""
    target = work / "tenants"
    shutil.rmtree(target, ignore_errors=True)
    target.mkdir(parents=True)
    source = REPO / "tenant_configs"
    for folder in ("branding", "legal", "terms"):
        (target / folder).symlink_to(source / folder)
    for path in sorted(source.glob("*.yaml")):
        shutil.copy(path, target / path.name)
    template = yaml.safe_load((source / "gers.yaml").read_text(encoding="utf-8"))
    for number in range(1, DEPARTEMENTS + 1):
        slug = f"bench-{number:03d}"
        config = {**template, "slug": slug, "name": f"Département de test {number:03d}", "hosts": [],
                  "public_url": f"https://{slug}.example.org"}  # hosts and public URL must stay unique
        (target / f"{slug}.yaml").write_text(yaml.safe_dump(config, allow_unicode=True, sort_keys=False),
                                             encoding="utf-8")
    return target


# -- dataset -------------------------------------------------------------------------------------

class Generator:
    """Rows of assistants, tenant after tenant, with ids unique across them."""

    ACCOUNT = ("id", "tenant_id", "kind", "identifier", "first_name", "last_name", "must_change_password",
               "needs_security_update", "failed_logins", "created_at", "updated_at", "address", "postal_code", "city")
    AGREMENT = ("id", "tenant_id", "account_id", "number", "start_date", "end_date", "capacity")
    FICHE = ("id", "tenant_id", "account_id", "public_id", "texts_state", "elevator", "garden", "non_smoking",
             "vehicle", "show_phone", "show_email", "show_address", "contact_only_if_place", "latitude", "longitude",
             "created_at", "updated_at", *(f"offer_{code}" for code in OFFERS))
    STATE = ("id", "tenant_id", "account_id", "choice", "last_kind", "choice_at", "updated_at")
    DECLARATION = ("id", "tenant_id", "account_id", "declared_at", "declared_on", "valid_until", "none_available")
    PLACE = ("id", "tenant_id", "declaration_id", "position", "age_group", "places", "free_from", "free_until", "kind")
    SLOT = ("id", "tenant_id", "place_id", "weekday", "slot")

    def __init__(self, writer: SqliteWriter | PostgresWriter, seed: int):
        self.writer, self.rng = writer, random.Random(seed)
        self.communes = communes()
        self.now = datetime.now(UTC).replace(microsecond=0)
        self.next_id = 1
        self.place_id = self.slot_id = 0
        self.counts = {"accounts": 0, "published": 0, "declarations": 0, "places": 0}

    def tenant(self, slug: str, rows: int, consent: bool) -> None:
        rng, now, today = self.rng, self.now, self.now.date()
        for start in range(0, rows, BATCH):
            tables: dict[str, list[tuple]] = {name: [] for name in ("accounts", "agrements", "fiches",
                                                                    "publication_states", "availability_declarations",
                                                                    "availability_places", "availability_slots")}
            for _ in range(min(BATCH, rows - start)):
                account_id = self.next_id
                self.next_id += 1
                commune = self.communes[rng.randrange(len(self.communes))]
                lat = commune["latitude"] + rng.gauss(0, 0.03)
                lon = commune["longitude"] + rng.gauss(0, 0.04)
                published = rng.random() < 0.6
                tables["accounts"].append((
                    account_id, slug, "assistant", f"bench-search-{account_id}", rng.choice(FIRST), rng.choice(LAST),
                    False, False, 0, ts(now), ts(now), f"{account_id} rue des Lilas", commune["postal_code"],
                    commune["name"]))
                # Consent regime: published with a consent; elsewhere, with an agrément valid today.
                ends = today + timedelta(days=900) if consent or published else today - timedelta(days=30)
                tables["agrements"].append((account_id, slug, account_id, f"S{account_id:07d}",
                                            today - timedelta(days=900), ends, 4))
                offers = tuple(rng.random() < 0.2 for _ in OFFERS)
                tables["fiches"].append((
                    account_id, slug, account_id, f"s{account_id:011d}", "approved", False, False, True, False, True,
                    True, rng.random() >= 1 / 3, False, lat, lon, ts(now), ts(now), *offers))
                if not published:
                    continue
                self.counts["published"] += 1
                if consent:
                    tables["publication_states"].append((account_id, slug, account_id, "consent", "consent", ts(now),
                                                         ts(now)))
                if rng.random() < 0.5:
                    tables["availability_declarations"].append((account_id, slug, account_id, ts(now), today,
                                                                today + timedelta(days=180), False))
                    for position in range(1 + (rng.random() < 0.3)):
                        self.place_id += 1
                        free_from = None if rng.random() < 0.5 else today + timedelta(days=rng.randrange(60))
                        tables["availability_places"].append((
                            self.place_id, slug, account_id, position, rng.choice(AGE_GROUPS), 1 + rng.randrange(2),
                            free_from, None, "regulier"))
                        for weekday in rng.sample(range(5), 3):
                            self.slot_id += 1
                            tables["availability_slots"].append((self.slot_id, slug, self.place_id, weekday,
                                                                 rng.choice(SLOTS)))
            for table, columns in (("accounts", self.ACCOUNT), ("agrements", self.AGREMENT), ("fiches", self.FICHE),
                                   ("publication_states", self.STATE), ("availability_declarations", self.DECLARATION),
                                   ("availability_places", self.PLACE), ("availability_slots", self.SLOT)):
                self.writer.write(table, columns, tables[table])
            self.counts["accounts"] += len(tables["accounts"])
            self.counts["declarations"] += len(tables["availability_declarations"])
            self.counts["places"] += len(tables["availability_places"])


def generate(sync_url: str, slugs: dict[str, str], args: argparse.Namespace) -> dict[str, int]:
    """The tenants' rows, then every tenant's assistants (see the module's docstring)."""
    sqlite = sync_url.startswith("sqlite")
    writer = SqliteWriter(Path(sync_url.split("///", 1)[1])) if sqlite else PostgresWriter(sync_url)
    generator = Generator(writer, args.seed)
    writer.write("tenants", ("slug", "name", "created_at"),
                 [(slug, name, ts(generator.now)) for slug, name in sorted(slugs.items())])
    generator.tenant(NATIONAL, args.rows, consent=True)
    for number in range(1, DEPARTEMENTS + 1):
        rows = max(100, args.rows // 25) if number == 1 else args.departement_rows
        generator.tenant(f"bench-{number:03d}", rows, consent=False)
    if not sqlite:
        for table in ("accounts", "agrements", "fiches", "publication_states", "availability_declarations",
                      "availability_places", "availability_slots"):
            writer.connection.execute(
                f"SELECT setval(pg_get_serial_sequence('{table}', 'id'), (SELECT coalesce(max(id), 1) FROM {table}))")
    writer.finish()
    return {"tenants": len(slugs), **generator.counts}


# -- the searches --------------------------------------------------------------------------------

def search_mix(rng: random.Random, count: int) -> list[tuple[str, list[tuple[str, str]]]]:
    """(kind, the page's GET parameters): a commune (its label, as the suggestions give it) and
    a radius of 1 to 30 km, half with the child's age and a start date, some with days and
    slots or offers; some by commune alone or by name; pages 1 to 3."""
    from assmat.portal.directory.page import commune_label
    from assmat.portal.profile.geo import communes as placed

    places_of = [commune for commune in placed() if commune.latitude is not None]
    mix = []
    for _ in range(count):
        commune = rng.choice(places_of)
        roll = rng.random()
        extra: list[tuple[str, str]] = []
        if rng.random() < 0.5:
            start = date.today() + timedelta(days=rng.randrange(0, 90))
            extra += [("age", str(rng.randrange(3, 60))), ("debut", start.isoformat())]
        days = rng.random() < 0.3
        if days:
            extra += [("jours", str(day)) for day in sorted(rng.sample(range(5), 2))]
            extra.append(("creneaux", rng.choice(SLOTS)))
        if rng.random() < 0.2:
            extra.append(("accueil", rng.choice(OFFERS)))
        page = [] if rng.random() < 0.8 else [("page", str(rng.randrange(2, 4)))]
        filters = " + days/slots" if days else " + age" if any(k == "age" for k, _v in extra) else \
            " + offer" if extra else ""
        if roll < 0.8:
            radius = rng.choice(RADII)
            mix.append((f"{radius} km{filters}",
                        [("commune", commune_label(commune)), ("rayon", str(radius)), *extra, *page]))
        elif roll < 0.95:
            mix.append((f"commune{filters}", [("commune", commune_label(commune)), *extra, *page]))
        else:
            mix.append(("name", [("nom", rng.choice(LAST)[:5]), *page]))
    return mix


def first_line(page: Any) -> str:
    """A search's total as the benchmark compares it: « 12 », or « 1000+ » past the cap."""
    return f"{page.total}{'+' if page.more else ''}"


def title_total(html: str) -> str:
    """The same from the page's title (« 12 résultats – … », « Plus de 1 000 résultats – … »)."""
    title = html.split("<title>", 1)[1].split("</title>", 1)[0]
    count = title.split(" – ", 1)[0]
    return re.sub(r"\D", "", count) + ("+" if not count[:1].isdigit() else "")


# -- measures ------------------------------------------------------------------------------------

def quantile(ordered: list[float], q: float) -> float:
    return ordered[min(len(ordered) - 1, int(q * len(ordered)))] if ordered else float("nan")


async def load(port: int, host: str, urls: list[tuple[str, str]], clients: int, label: str) -> dict[str, float]:
    """GET every (url, expected total) with `clients` keep-alive clients; latencies in ms. Each
    request comes from its own client address (X-Forwarded-For, trusted from the loopback as
    from the proxy), as parents do: the per-address search limit is not what is measured.
    A wrong answer stops the run: it would measure nothing."""
    latencies: list[float] = []
    queue = list(reversed(list(enumerate(urls))))

    async def worker(client: httpx.AsyncClient) -> None:
        while queue:
            number, (url, expected) = queue.pop()
            address = f"10.{number // 65536 % 256}.{number // 256 % 256}.{number % 256}"
            started = time.perf_counter()
            answer = await client.get(url, headers={"x-forwarded-for": address})
            latencies.append((time.perf_counter() - started) * 1000)
            if answer.status_code != 200 or (expected and title_total(answer.text) != expected):
                raise SystemExit(f"{url} answered {answer.status_code}: {answer.text[:300]!r}, expected {expected!r}")

    limits = httpx.Limits(max_connections=1, max_keepalive_connections=1)
    pool = [httpx.AsyncClient(base_url=f"http://127.0.0.1:{port}", headers={"host": host}, limits=limits,
                              timeout=120) for _ in range(clients)]
    try:
        for client in pool:  # open the connections first
            await client.get("/healthz")
        started = time.perf_counter()
        await asyncio.gather(*(worker(client) for client in pool))
        elapsed = time.perf_counter() - started
    finally:
        for client in pool:
            await client.aclose()
    latencies.sort()
    result = {"rps": len(urls) / elapsed, "p50": quantile(latencies, 0.5), "p95": quantile(latencies, 0.95)}
    print(f"  {label:<24} {clients:>3} client(s): {result['rps']:8.1f} req/s   p50 {result['p50']:7.1f} ms   "
          f"p95 {result['p95']:7.1f} ms", flush=True)
    return result


async def prepare_tenants(database_url: str, configs: Path, work: Path, label: str) -> None:
    """The nightly rebuild of every tenant's search table, then the statistics."""
    from assmat.core.db.engine import make_engine, make_sessionmaker
    from assmat.portal.directory.service import rebuild_entries
    from assmat.tenants.loader import load_valid_tenants

    tenants = load_valid_tenants(configs)
    engine = make_engine(database_url)
    started = time.perf_counter()
    entries = {}
    try:
        async with make_sessionmaker(engine)() as db:
            for slug, tenant in sorted(tenants.items()):
                entries[slug] = await rebuild_entries(db, tenant)
                await db.commit()
    finally:
        await engine.dispose()
    departements = [count for slug, count in entries.items() if slug.startswith("bench-") and slug != SMALL]
    print(f"{label}: search tables rebuilt in {time.perf_counter() - started:.1f} s: {entries[NATIONAL]:,} entries "
          f"in {NATIONAL}, {entries[SMALL]:,} in {SMALL}, {sum(departements):,} in the {len(departements)} other "
          f"départements", flush=True)
    if database_url.startswith("sqlite"):
        import sqlite3

        with sqlite3.connect(database_url.split("///", 1)[1]) as connection:
            connection.execute("ANALYZE")
    else:
        import psycopg

        with psycopg.connect(database_url.replace("postgresql+psycopg://", "postgresql://"),
                             autocommit=True) as connection:
            connection.execute("VACUUM ANALYZE")


async def in_process(database_url: str, configs: Path, work: Path, mix: list[tuple[str, Any]], label: str,
                     explain: bool) -> dict[str, list[str]]:
    """Statements per kind of search in the national tenant and in SMALL, and each search's
    expected total in the national tenant. The criteria are the page's reading of its
    parameters (`read_search`), so the totals are those the page must show."""
    from sqlalchemy import event

    from assmat.core.db.engine import make_engine, make_sessionmaker
    from assmat.portal.directory.page import read_search
    from assmat.portal.directory.service import search
    from assmat.tenants.loader import load_valid_tenants

    tenants = load_valid_tenants(configs)
    engine = make_engine(database_url)
    sessionmaker = make_sessionmaker(engine)
    statements: list[tuple[str, Any]] = []

    def count(conn, cursor, statement, parameters, *rest):
        statements.append((statement, parameters))

    per_kind: dict[str, dict[str, list[int]]] = {}
    expected: dict[str, list[str]] = {}
    slowest: dict[str, tuple[float, list[tuple[str, Any]]]] = {}
    try:
        for slug in (NATIONAL, SMALL):
            tenant = tenants[slug]
            asked = [(kind, await read_search(tenant, None, to_lists(params))) for kind, params in mix]
            wrong = [(kind, found.errors) for kind, found in asked if found.criteria is None]
            if wrong:
                raise SystemExit(f"the page refuses searches of the mix: {wrong[:3]}")
            async with sessionmaker() as db:  # the dialect's first-connect queries
                await search(db, tenant, asked[0][1].criteria)
            event.listen(engine.sync_engine, "before_cursor_execute", count)
            try:
                for kind, found in asked:
                    criteria = found.criteria
                    before = len(statements)
                    started = time.perf_counter()
                    async with sessionmaker() as db:
                        page = await search(db, tenant, criteria)
                    took = time.perf_counter() - started
                    per_kind.setdefault(kind, {}).setdefault(slug, []).append(len(statements) - before)
                    if slug == NATIONAL:
                        expected.setdefault(kind, []).append(first_line(page))
                        if took > slowest.get(kind, (0.0, []))[0]:
                            slowest[kind] = (took, statements[before:])
            finally:
                event.remove(engine.sync_engine, "before_cursor_execute", count)
        print(f"{label}: SQL statements per search (min–max over the mix), {NATIONAL} | {SMALL}")
        most = 0
        for kind in sorted(per_kind):
            big, small = per_kind[kind][NATIONAL], per_kind[kind][SMALL]
            print(f"  {kind:<28} {min(big)}–{max(big)} | {min(small)}–{max(small)}")
            most = max(most, *big, *small)
        print(f"  at most {most} whatever the size (bound: {STATEMENT_BOUND}, the page with its count, a capped "
              f"count per smaller radius, the page again, its places): "
              f"{'bounded' if most <= STATEMENT_BOUND else 'PAST THE BOUND'}")
        if explain:
            worst = sorted(slowest.items(), key=lambda item: -item[1][0])[:3]
            postgres = not database_url.startswith("sqlite")
            async with engine.connect() as connection:
                for kind, (took, executed) in worst:
                    print(f"{label}: plans of the slowest « {kind} » search ({took * 1000:.0f} ms)")
                    for statement, params in executed:
                        prefix = "EXPLAIN (ANALYZE, BUFFERS) " if postgres else "EXPLAIN QUERY PLAN "
                        raw = await connection.exec_driver_sql(prefix + statement, params)
                        print("    " + " ".join(statement.split())[:160] + " …")
                        for row in raw.all():
                            print("      " + " | ".join(str(value) for value in row))
    finally:
        await engine.dispose()
    return expected


def run_database(backend: str, args: argparse.Namespace, work: Path) -> dict[str, Any]:
    from assmat.core.db.migrate import upgrade
    from assmat.tenants.loader import load_valid_tenants

    cluster = None
    server = None
    try:
        if backend == "sqlite":
            path = work / "search.db"
            path.unlink(missing_ok=True)
            async_url = f"sqlite+aiosqlite:///{path}"
            sync_url = f"sqlite:///{path}"
        else:
            if args.database_url:
                base = args.database_url
            else:
                cluster, _reused = pg_cluster(work / "pg", reuse=False)
                base = cluster.url("postgres")
            sync_url = pg_database(base.replace("postgresql+psycopg://", "postgresql://"), "bench_search")
            async_url = sync_url.replace("postgresql://", "postgresql+psycopg://", 1)
        upgrade(async_url)
        configs = tenant_configs(work)
        slugs = {slug: tenant.config.name for slug, tenant in load_valid_tenants(configs).items()}
        started = time.perf_counter()
        counts = generate(sync_url, slugs, args)
        print(f"{backend}: " + ", ".join(f"{value:,} {name}" for name, value in counts.items())
              + f"; written in {time.perf_counter() - started:.1f} s", flush=True)
        asyncio.run(prepare_tenants(async_url, configs, work, backend))

        mix = search_mix(random.Random(args.seed), args.searches)
        expected = asyncio.run(in_process(async_url, configs, work, mix, backend, args.explain))
        answers = {kind: iter(totals) for kind, totals in expected.items()}
        searches = [(f"{SEARCH_PATH}?{urlencode(params)}", next(answers[kind])) for kind, params in mix]
        totals = [int(line.rstrip("+")) for totals in expected.values() for line in totals]
        print(f"  results per search: median {statistics.median(totals):,.0f}, max {max(totals):,}")

        settings = production_settings(work / f"var-{backend}", async_url, configs)
        server = start_server(settings, work)
        host = f"{NATIONAL}.{settings.base_domain}"
        figures = {}

        async def levels() -> None:
            for clients in args.clients:
                await load(server.port, host, searches[: len(searches) // 5], clients, "warm-up")
                found = await load(server.port, host, searches, clients, "search")
                floor = await load(server.port, host, [("/", "")] * len(searches), clients, "home page (GET /)")
                ratio = found["rps"] / floor["rps"]
                figures[clients] = {"search": found, "home": floor, "ratio": ratio}
                print(f"  ratio search / home page at {clients} client(s): {ratio:.2f}", flush=True)

        asyncio.run(levels())
        return figures
    finally:
        if server is not None:
            server.stop()
        if cluster is not None:
            stop_cluster(cluster, keep=False)


def main(argv: list[str] | None = None) -> int:
    argv = sys.argv[1:] if argv is None else argv
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument("--rows", type=int, default=250_000, help="assistants in the national tenant")
    parser.add_argument("--departement-rows", type=int, default=2_000,
                        help=f"assistants in each département but {SMALL} (which holds --rows / 25)")
    parser.add_argument("--database", choices=("sqlite", "postgresql", "both"), default="both")
    parser.add_argument("--database-url", help="a PostgreSQL server to use instead of a throwaway cluster")
    parser.add_argument("--searches", type=int, default=600, help="searches (and home pages) per level")
    parser.add_argument("--clients", default="1,16", help="concurrency levels, e.g. 1,16")
    parser.add_argument("--seed", type=int, default=12)
    parser.add_argument("--explain", action="store_true", help="print the plans of the slowest kinds of search")
    parser.add_argument("--work-dir", type=Path, help="where the databases go (default: a temp dir)")
    args = parser.parse_args(argv)
    args.clients = [int(level) for level in args.clients.split(",") if level]
    if args.database_url and args.database == "both":
        args.database = "postgresql"
    work = args.work_dir or Path(tempfile.mkdtemp(prefix="assmat-search-bench-"))
    work.mkdir(parents=True, exist_ok=True)
    results = {}
    for backend in (("sqlite", "postgresql") if args.database == "both" else (args.database,)):
        results[backend] = run_database(backend, args, work)
    print("\nSummary (requests/s at each level; ratio search / home page):")
    for backend, figures in results.items():
        for clients, figure in figures.items():
            print(f"  {backend:<10} {clients:>3} client(s): search {figure['search']['rps']:.1f}/s, home page "
                  f"{figure['home']['rps']:.1f}/s, ratio {figure['ratio']:.2f}")
    top = max(args.clients)
    if "postgresql" in results:
        ratio = results["postgresql"][top]["ratio"]
        print(f"Goal (PostgreSQL, {top} clients, ratio ≥ {GOAL_RATIO}): {'met' if ratio >= GOAL_RATIO else 'NOT met'} "
              f"({ratio:.2f})")
    return 0


if __name__ == "__main__":
    raise SystemExit(main())
