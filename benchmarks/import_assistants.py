"""Time of the monthly assistants import at scale: creation, unchanged re-import, update of every row.

    .venv/bin/python benchmarks/import_assistants.py [--rows 50000] [--database sqlite|postgresql|both]
                                                      [--database-url postgresql://…]

For each backend: migrates an empty database (a fresh SQLite file in a temp dir; a throwaway
PostgreSQL cluster as the test suite starts one, tests/support/postgres.py, unless --database-url
names an empty database), then imports a generated file of --rows assistants into Alpes-Maritimes
three times through `import_assistants` (what the console and `assmat import` call): every row
created, the same file again (every row unchanged), then every row changed (the city). Prints the
seconds of each, and fails when a report's counts are not the expected ones.

The suite keeps a 2,100-row test of the batching (tests/admin/test_import.py); this measures it."""

from __future__ import annotations

import argparse
import asyncio
import shutil
import sys
import tempfile
import time
from pathlib import Path

REPO = Path(__file__).resolve().parent.parent
sys.path.insert(0, str(REPO))

from sqlalchemy import func, select  # noqa: E402

from assmat.portal.imports.service import DEFAULT_HEADERS, ImportReport, import_assistants  # noqa: E402
from assmat.core.db.engine import make_engine, make_sessionmaker  # noqa: E402
from assmat.core.db.migrate import upgrade  # noqa: E402
from assmat.auth.models import Account  # noqa: E402
from assmat.portal.agrement.models import Agrement  # noqa: E402
from assmat.tenants.loader import load_valid_tenants  # noqa: E402
from assmat.tenants.registry import TenantRegistry  # noqa: E402
from assmat.tenants.rows import sync_tenant_rows  # noqa: E402

TENANT = "alpes-maritimes"


def assistants_file(rows: int) -> bytes:
    """A valid file of `rows` assistants in the default columns, one agrément number each."""
    lines = [";".join(DEFAULT_HEADERS.values())]
    for i in range(rows):
        lines.append(";".join([
            f"AGR-{i:06d}", "Mme", f"Nom{i}", f"Prénom{i}", f"{1 + i % 28:02d}/{1 + i % 12:02d}/{1960 + i % 40}",
            f"agr-{i:06d}@example.org", "0562000000", "1 rue des Écoles", "32000", "Auch", "01/01/2020", "31/12/2030",
            str(1 + i % 6), "oui" if i % 2 else "non",
        ]))
    return ("\n".join(lines) + "\n").encode("utf-8")


async def measure(database_url: str, rows: int) -> list[float]:
    registry = TenantRegistry(load_valid_tenants(REPO / "tenant_configs"), "localhost")
    tenant = registry.get(TENANT)
    engine = make_engine(database_url)
    try:
        sessionmaker = make_sessionmaker(engine)
        await sync_tenant_rows(sessionmaker, registry)

        async def run(data: bytes) -> tuple[ImportReport, float]:
            async with sessionmaker() as db:
                started = time.perf_counter()
                report = await import_assistants(db, tenant, data, "assistants.csv", dry_run=False)
                return report, time.perf_counter() - started

        data = assistants_file(rows)
        created, first = await run(data)
        unchanged, second = await run(data)
        updated, third = await run(data.replace(b";Auch;", b";Auch Centre;"))
        async with sessionmaker() as db:
            counts = [await db.scalar(select(func.count()).select_from(model).where(model.tenant_id == TENANT))
                      for model in (Account, Agrement)]
    finally:
        await engine.dispose()
    expected = {"rows": rows, "created": rows, "updated": 0, "unchanged": 0, "rejected": 0, "missing": 0,
                "returned": 0, "letters": 0}
    checks = [
        (created.counts == expected, f"creation: {created.counts}"),
        ((unchanged.created, unchanged.updated, unchanged.unchanged) == (0, 0, rows), f"re-import: {unchanged.counts}"),
        ((updated.created, updated.updated, updated.unchanged) == (0, rows, 0), f"update: {updated.counts}"),
        (counts == [rows, rows], f"rows in the database (accounts, agréments): {counts}"),
    ]
    for ok, what in checks:
        if not ok:
            raise SystemExit(f"unexpected result, {what}")
    return [first, second, third]


def on_postgresql(args: argparse.Namespace, work: Path) -> list[float]:
    if args.database_url:
        upgrade(args.database_url)
        return asyncio.run(measure(args.database_url, args.rows))
    try:
        from tests.support.postgres import PostgresCluster, find_pg_bin
    except ImportError as exc:
        raise SystemExit(f"cannot import tests/support/postgres.py ({exc}): pass --database-url") from exc
    bin_dir = find_pg_bin()
    if bin_dir is None:
        raise SystemExit("no PostgreSQL server binaries (initdb, pg_ctl): install Debian's postgresql or pass --database-url")
    (work / "pg").mkdir()
    cluster = PostgresCluster.start(bin_dir, work / "pg")
    try:
        cluster.create_database("bench")
        upgrade(cluster.url("bench"))
        return asyncio.run(measure(cluster.url("bench"), args.rows))
    finally:
        cluster.stop()


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument("--rows", type=int, default=50_000, help="assistants in the file (default 50000)")
    parser.add_argument("--database", choices=("sqlite", "postgresql", "both"), default="both")
    parser.add_argument("--database-url", help="postgresql://… of an empty database (default: a throwaway cluster)")
    args = parser.parse_args(argv)

    # Not under a private dir: the PostgreSQL server runs as `postgres` when we are root.
    work = Path(tempfile.mkdtemp(prefix="assmat-bench-import-"))
    work.chmod(0o755)
    try:
        backends = ["sqlite", "postgresql"] if args.database == "both" else [args.database]
        for backend in backends:
            if backend == "sqlite":
                url = f"sqlite:///{work / 'assmat.db'}"
                upgrade(url)
                seconds = asyncio.run(measure(url, args.rows))
            else:
                seconds = on_postgresql(args, work)
            first, second, third = seconds
            print(f"[import {args.rows:,} rows, {backend}] creation {first:.1f} s, unchanged re-import {second:.1f} s, "
                  f"update of every row {third:.1f} s", flush=True)
    finally:
        shutil.rmtree(work, ignore_errors=True)
    return 0


if __name__ == "__main__":
    sys.exit(main())
