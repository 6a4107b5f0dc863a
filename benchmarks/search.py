"""The parents' search at the national scale: searches/s, latency percentiles and SQL statements
per search, against the tenant's home page in the same run (the stack's floor).

    .venv/bin/python benchmarks/search.py [--rows 250000] [--database sqlite|postgresql|both]
        [--database-url postgresql://…] [--searches 400] [--clients 1,16] [--seed 12]

Quick smoke run: `--rows 5000 --searches 100`.

What it does, for each database (SQLite file; PostgreSQL: a throwaway cluster started as the
test suite does, tests/support/postgres.py, unless --database-url is given):
1. Dataset, migrated with Alembic then written directly (executemany on SQLite, COPY on
   PostgreSQL, as benchmarks/pages.py): --rows assistants in the national tenant (mon-enfant,
   consent regime), each with a valid agrément and a fiche, clustered around the real communes
   of assmat/portal/profile/communes.csv (a normal spread of a few km around each centre); 60 %
   consented (published); a third of them hide their address; half of the published declared
   places (an age group, free now or within two months, three weekly slots); offer flags at
   random. Then `rebuild_entries` fills the search table (timed: the nightly rebuild).
2. SQL statements per search, counted with a `before_cursor_execute` listener for each kind
   of search (they must not grow with the data: the tests hold them on a tiny table too).
3. Load, in this process: the search service (`assmat.portal.directory.service.search`, one
   session per search, as a handler would) and the tenant's home page (`GET /` through the app
   over httpx's ASGITransport, the same process and database), each for --searches requests at
   each concurrency level (asyncio tasks); prints requests/s, p50, p95 and the ratio. The
   search figure has no HTML rendering yet (the page comes with the next step): the ratio
   says how much of the floor the query itself takes.

Not part of the test suite; tests/test_benchmarks.py only checks that it imports.
"""

from __future__ import annotations

import argparse
import asyncio
import csv
import random
import statistics
import sys
import tempfile
import time
from datetime import UTC, date, datetime, timedelta
from pathlib import Path
from typing import Any

REPO = Path(__file__).resolve().parent.parent
sys.path.insert(0, str(REPO))
sys.path.insert(0, str(Path(__file__).resolve().parent))

import httpx2 as httpx

from pages import PostgresWriter, SqliteWriter, pg_cluster, pg_database, production_settings, stop_cluster

TENANT = "mon-enfant"
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


def generate(database_url: str, rows: int, seed: int) -> dict[str, int]:
    """Accounts, agréments, fiches, consents and declarations of `rows` assistants."""
    rng = random.Random(seed)
    places_of = communes()
    now = datetime.now(UTC).replace(microsecond=0)
    today = now.date()
    writer: SqliteWriter | PostgresWriter
    if database_url.startswith("sqlite"):
        writer = SqliteWriter(Path(database_url.split("///", 1)[1]))
    else:
        writer = PostgresWriter(database_url)
    counts = {"accounts": 0, "published": 0, "declarations": 0, "places": 0, "slots": 0}
    account_columns = ("id", "tenant_id", "kind", "identifier", "first_name", "last_name", "must_change_password",
                       "needs_security_update", "failed_logins", "created_at", "updated_at", "address", "postal_code",
                       "city")
    agrement_columns = ("id", "tenant_id", "account_id", "number", "start_date", "end_date", "capacity")
    fiche_columns = ("id", "tenant_id", "account_id", "public_id", "texts_state", "elevator", "garden", "non_smoking",
                     "vehicle", "show_phone", "show_email", "show_address", "contact_only_if_place", "latitude",
                     "longitude", "created_at", "updated_at", *(f"offer_{code}" for code in OFFERS))
    state_columns = ("id", "tenant_id", "account_id", "choice", "last_kind", "choice_at", "updated_at")
    declaration_columns = ("id", "tenant_id", "account_id", "declared_at", "declared_on", "valid_until",
                           "none_available")
    place_columns = ("id", "tenant_id", "declaration_id", "position", "age_group", "places", "free_from",
                     "free_until", "kind")
    slot_columns = ("id", "tenant_id", "place_id", "weekday", "slot")
    slot_id = 0
    for start in range(1, rows + 1, BATCH):
        accounts, agrements, fiches, states, declarations, places, slots = [], [], [], [], [], [], []
        for account_id in range(start, min(rows, start + BATCH - 1) + 1):
            commune = places_of[rng.randrange(len(places_of))]
            lat = commune["latitude"] + rng.gauss(0, 0.03)
            lon = commune["longitude"] + rng.gauss(0, 0.04)
            accounts.append((account_id, TENANT, "assistant", f"bench-search-{account_id}", rng.choice(FIRST),
                             rng.choice(LAST), False, False, 0, ts(now), ts(now), f"{account_id} rue des Lilas",
                             commune["postal_code"], commune["name"]))
            agrements.append((account_id, TENANT, account_id, f"S{account_id:07d}", today - timedelta(days=900),
                              today + timedelta(days=900), 4))
            offers = tuple(rng.random() < 0.2 for _ in OFFERS)
            fiches.append((account_id, TENANT, account_id, f"s{account_id:011d}", "approved", False, False, True,
                           False, True, True, rng.random() >= 1 / 3, False, lat, lon, ts(now), ts(now), *offers))
            if rng.random() < 0.6:
                counts["published"] += 1
                states.append((account_id, TENANT, account_id, "consent", "consent", ts(now), ts(now)))
                if rng.random() < 0.5:
                    declarations.append((account_id, TENANT, account_id, ts(now), today, today + timedelta(days=180),
                                         False))
                    free_from = None if rng.random() < 0.5 else today + timedelta(days=rng.randrange(60))
                    places.append((account_id, TENANT, account_id, 0, rng.choice(AGE_GROUPS), 1 + rng.randrange(2),
                                   free_from, None, "regulier"))
                    for weekday in rng.sample(range(5), 3):
                        slot_id += 1
                        slots.append((slot_id, TENANT, account_id, weekday, rng.choice(SLOTS)))
        writer.write("accounts", account_columns, accounts)
        writer.write("agrements", agrement_columns, agrements)
        writer.write("fiches", fiche_columns, fiches)
        writer.write("publication_states", state_columns, states)
        writer.write("availability_declarations", declaration_columns, declarations)
        writer.write("availability_places", place_columns, places)
        writer.write("availability_slots", slot_columns, slots)
        counts["accounts"] += len(accounts)
        counts["declarations"] += len(declarations)
        counts["places"] += len(places)
        counts["slots"] += len(slots)
    if isinstance(writer, PostgresWriter):
        for table in ("fiches", "publication_states", "availability_declarations", "availability_places",
                      "availability_slots"):
            writer.connection.execute(
                f"SELECT setval(pg_get_serial_sequence('{table}', 'id'), (SELECT coalesce(max(id), 1) FROM {table}))")
    writer.finish()
    return counts


def criteria_mix(rng: random.Random, count: int) -> list[tuple[str, Any]]:
    """(kind, Criteria): radii from 1 to 30 km around communes (jittered), half with an age,
    some with days and slots or offers, some by commune or by name, pages 1 to 3."""
    from assmat.core.geocoding.distance import Point
    from assmat.portal.directory.service import Criteria

    places_of = communes()
    mix = []
    for _ in range(count):
        commune = rng.choice(places_of)
        roll = rng.random()
        extra: dict[str, Any] = {}
        if rng.random() < 0.5:
            extra["age_months"] = rng.randrange(3, 60)
            extra["start"] = date.today() + timedelta(days=rng.randrange(0, 90))
        if rng.random() < 0.3:
            extra["days"] = frozenset(rng.sample(range(5), 2))
            extra["slots"] = frozenset({rng.choice(SLOTS)})
        if rng.random() < 0.2:
            extra["offers"] = frozenset({rng.choice(OFFERS)})
        page = 1 if rng.random() < 0.8 else rng.randrange(2, 4)
        if roll < 0.8:
            radius = rng.choice(RADII)
            origin = Point(commune["latitude"] + rng.gauss(0, 0.02), commune["longitude"] + rng.gauss(0, 0.02))
            mix.append((f"{radius} km" + (" + filters" if extra else ""),
                        Criteria(origin=origin, radius_km=radius, page=page, **extra)))
        elif roll < 0.95:
            mix.append(("commune" + (" + filters" if extra else ""),
                        Criteria(commune=commune["postal_code"], page=page, **extra)))
        else:
            mix.append(("name", Criteria(name=rng.choice(LAST)[:5], page=page)))
    return mix


def quantile(ordered: list[float], q: float) -> float:
    return ordered[min(len(ordered) - 1, int(q * len(ordered)))] if ordered else float("nan")


async def measure(label: str, work, items: list[Any], clients: int) -> dict[str, float]:
    """Run `work(item)` over every item with `clients` concurrent tasks; latencies in ms."""
    latencies: list[float] = []
    queue = list(reversed(items))

    async def worker() -> None:
        while queue:
            item = queue.pop()
            started = time.perf_counter()
            await work(item)
            latencies.append((time.perf_counter() - started) * 1000)

    started = time.perf_counter()
    await asyncio.gather(*(worker() for _ in range(clients)))
    elapsed = time.perf_counter() - started
    latencies.sort()
    result = {"rps": len(items) / elapsed, "p50": quantile(latencies, 0.5), "p95": quantile(latencies, 0.95)}
    print(f"  {label:<28} {clients:>3} client(s): {result['rps']:8.1f} req/s   p50 {result['p50']:7.1f} ms   "
          f"p95 {result['p95']:7.1f} ms")
    return result


async def bench(database_url: str, args: argparse.Namespace, work: Path, label: str) -> None:
    from sqlalchemy import event

    from assmat.app import create_app
    from assmat.core.clock import today  # noqa: F401  (the app's clock: real time here)
    from assmat.portal.directory.service import rebuild_entries, search

    from assmat.core.db.engine import make_engine, make_sessionmaker

    settings = production_settings(work, database_url, REPO / "tenant_configs")
    app = create_app(settings)
    tenant = app.state.registry.get(TENANT)
    # The nightly rebuild, before the app starts (its mail sender would wait on SQLite's lock).
    engine = make_engine(database_url)
    started = time.perf_counter()
    async with make_sessionmaker(engine)() as db:
        entries = await rebuild_entries(db, tenant)
        await db.commit()
    await engine.dispose()
    print(f"{label}: {entries:,} entries in the search table, rebuilt in {time.perf_counter() - started:.1f} s")
    async with app.router.lifespan_context(app):
        sessionmaker = app.state.sessionmaker
        if database_url.startswith("sqlite"):
            import sqlite3

            with sqlite3.connect(database_url.split("///", 1)[1]) as connection:
                connection.execute("ANALYZE")
        else:
            import psycopg

            with psycopg.connect(database_url.replace("postgresql+psycopg://", "postgresql://"),
                                 autocommit=True) as connection:
                connection.execute("ANALYZE directory_entries")

        rng = random.Random(args.seed)
        mix = criteria_mix(rng, args.searches)

        async def one_search(item: tuple[str, Any]) -> Any:
            async with sessionmaker() as db:
                return await search(db, tenant, item[1])

        # Statements per kind of search, and how many results they found.
        engine = sessionmaker.kw["bind"].sync_engine
        statements: list[str] = []

        def count(conn, cursor, statement, *rest):
            if "outbox" not in statement:  # the app's mail sender polls on the same engine
                statements.append(statement)

        per_kind: dict[str, list[int]] = {}
        totals: list[int] = []
        for item in mix[:60]:  # first: the pool's connections and their first-connect queries
            await one_search(item)
        event.listen(engine, "before_cursor_execute", count)
        try:
            for item in mix[:60]:
                before = len(statements)
                page = await one_search(item)
                per_kind.setdefault(item[0], []).append(len(statements) - before)
                totals.append(page.total)
        finally:
            event.remove(engine, "before_cursor_execute", count)
        print(f"{label}: SQL statements per search (kind: min–max over the sample)")
        for kind, seen in sorted(per_kind.items()):
            print(f"  {kind:<28} {min(seen)}–{max(seen)}")
        print(f"  results per search: median {statistics.median(totals):,.0f}, max {max(totals):,}")

        transport = httpx.ASGITransport(app=app)
        host = f"{TENANT}.{settings.base_domain}"
        async with httpx.AsyncClient(transport=transport, base_url=f"http://{host}") as client:
            response = await client.get("/")
            if response.status_code != 200:
                raise SystemExit(f"the home page answered {response.status_code}")

            async def home(_item: Any) -> None:
                answer = await client.get("/")
                if answer.status_code != 200:
                    raise SystemExit(f"the home page answered {answer.status_code}")

            for clients in args.clients:
                for item in mix[:20]:  # warm-up
                    await one_search(item)
                found = await measure("search (service)", one_search, mix, clients)
                floor = await measure("home page (GET /, ASGI)", home, list(range(len(mix))), clients)
                print(f"  ratio search/home page at {clients} client(s): {found['rps'] / floor['rps']:.2f}")


def run_database(backend: str, args: argparse.Namespace, work: Path) -> None:
    from assmat.core.db.migrate import upgrade

    cluster = None
    try:
        if backend == "sqlite":
            path = work / "search.db"
            path.unlink(missing_ok=True)
            async_url = f"sqlite+aiosqlite:///{path}"
            upgrade(async_url)
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
        started = time.perf_counter()
        import sqlite3  # noqa: F401

        from assmat.tenants.loader import load_valid_tenants
        from assmat.tenants.rows import sync_tenant_rows  # noqa: F401

        tenants = load_valid_tenants(REPO / "tenant_configs")
        tenant_rows = [(slug, t.config.name, ts(datetime.now(UTC))) for slug, t in sorted(tenants.items())]
        writer: SqliteWriter | PostgresWriter = (SqliteWriter(Path(sync_url.split("///", 1)[1]))
                                                 if backend == "sqlite" else PostgresWriter(sync_url))
        writer.write("tenants", ("slug", "name", "created_at"), tenant_rows)
        writer.connection.commit()
        writer.connection.close()
        counts = generate(sync_url, args.rows, args.seed)
        print(f"{backend}: " + ", ".join(f"{value:,} {name}" for name, value in counts.items())
              + f"; written in {time.perf_counter() - started:.1f} s")
        asyncio.run(bench(async_url, args, work, backend))
    finally:
        if cluster is not None:
            stop_cluster(cluster, keep=False)


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument("--rows", type=int, default=250_000, help="assistants in the national tenant")
    parser.add_argument("--database", choices=("sqlite", "postgresql", "both"), default="sqlite")
    parser.add_argument("--database-url", help="a PostgreSQL server to use instead of a throwaway cluster")
    parser.add_argument("--searches", type=int, default=400, help="searches (and home pages) per level")
    parser.add_argument("--clients", default="1", help="concurrency levels, e.g. 1,16")
    parser.add_argument("--seed", type=int, default=12)
    parser.add_argument("--work-dir", type=Path, help="where the databases go (default: a temp dir)")
    args = parser.parse_args(argv)
    args.clients = [int(level) for level in args.clients.split(",") if level]
    if args.database_url and args.database == "sqlite":
        args.database = "postgresql"
    work = args.work_dir or Path(tempfile.mkdtemp(prefix="assmat-search-bench-"))
    work.mkdir(parents=True, exist_ok=True)
    for backend in (("sqlite", "postgresql") if args.database == "both" else (args.database,)):
        run_database(backend, args, work)
    return 0


if __name__ == "__main__":
    raise SystemExit(main())
