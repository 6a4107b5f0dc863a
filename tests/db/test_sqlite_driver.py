"""The one-hop SQLite driver (assmat.core.db.sqlite_driver) reaches into aiosqlite's internals
(its queue to the thread, its connection): these checks fail loudly if an upgrade moves them."""

from __future__ import annotations

import asyncio
from pathlib import Path

import pytest
from sqlalchemy import text
from sqlalchemy.ext.asyncio import create_async_engine

from assmat.core.db import sqlite_driver
from assmat.core.db.engine import async_url


def test_sqlite_urls_get_the_one_hop_driver():
    assert async_url("sqlite:///var/x.db").drivername == f"sqlite+{sqlite_driver.DRIVER}"


def test_a_statement_gives_its_rows_rowcount_and_lastrowid(tmp_path: Path):
    async def scenario() -> None:
        engine = create_async_engine(async_url(f"sqlite:///{tmp_path / 'one-hop.db'}"))
        try:
            async with engine.begin() as connection:
                await connection.execute(text("CREATE TABLE t (id INTEGER PRIMARY KEY, name TEXT)"))
                inserted = await connection.execute(text("INSERT INTO t (name) VALUES (:name)"), {"name": "Lea"})
                assert inserted.lastrowid == 1
                many = await connection.execute(text("INSERT INTO t (name) VALUES (:name)"), [{"name": "Ines"}, {"name": "Jade"}])
                assert many.rowcount == 2
                returned = await connection.execute(text("INSERT INTO t (name) VALUES ('Noé') RETURNING id, name"))
                assert returned.all() == [(4, "Noé")]
                updated = await connection.execute(text("UPDATE t SET name = upper(name) WHERE id <= 2"))
                assert updated.rowcount == 2
                rows = await connection.execute(text("SELECT id, name FROM t ORDER BY id"))
                assert list(rows.keys()) == ["id", "name"]
                assert rows.all() == [(1, "LEA"), (2, "INES"), (3, "Jade"), (4, "Noé")]
                assert (await connection.execute(text("SELECT name FROM t WHERE id = 99"))).first() is None
            async with engine.connect() as connection:
                streamed = await connection.stream(text("SELECT id FROM t ORDER BY id"))
                assert [row.id async for row in streamed] == [1, 2, 3, 4]
                with pytest.raises(Exception, match="no such table"):
                    await connection.execute(text("SELECT * FROM missing"))
        finally:
            await engine.dispose()

    asyncio.run(scenario())


def test_only_a_begun_transaction_costs_a_hop_to_end(tmp_path: Path, monkeypatch):
    """The pool rolls back each connection it takes back: after a read or a commit there is
    nothing to end, and no hop to aiosqlite's thread for it; a write not committed is rolled back."""
    import aiosqlite

    hops: list[str] = []
    execute = aiosqlite.Connection._execute

    async def counted(self, fn, *args, **kwargs):
        hops.append(getattr(fn, "__name__", repr(fn)))
        return await execute(self, fn, *args, **kwargs)

    async def scenario() -> None:
        engine = create_async_engine(async_url(f"sqlite:///{tmp_path / 'hops.db'}"))
        try:
            async with engine.begin() as connection:
                await connection.execute(text("CREATE TABLE t (id INTEGER PRIMARY KEY, name TEXT)"))
            monkeypatch.setattr(aiosqlite.Connection, "_execute", counted)
            async with engine.connect() as connection:  # a read, then the pool's rollback
                await connection.execute(text("SELECT count(*) FROM t"))
            assert hops == ["_run_statement"]
            hops.clear()
            async with engine.begin() as connection:  # a write and its commit, then the pool's rollback
                await connection.execute(text("INSERT INTO t (name) VALUES ('Lea')"))
            assert hops == ["_run_statement", "commit"]
            hops.clear()
            async with engine.connect() as connection:  # a write never committed: rolled back
                await connection.execute(text("INSERT INTO t (name) VALUES ('Ines')"))
            assert hops == ["_run_statement", "rollback"]
            async with engine.connect() as connection:
                assert (await connection.execute(text("SELECT name FROM t"))).all() == [("Lea",)]
        finally:
            await engine.dispose()

    asyncio.run(scenario())
