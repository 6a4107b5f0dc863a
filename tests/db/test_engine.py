"""PostgreSQL's pool pings a connection only when it sat idle (assmat.core.db.engine): one
used a moment ago is lent as it is, one idle past the window is checked, and one the server
closed meanwhile is replaced without the request seeing it."""

from __future__ import annotations

import asyncio
from typing import Any

import pytest
from sqlalchemy import create_engine, pool, text

from assmat.core.db import engine as engine_module
from assmat.core.db.engine import make_engine, sync_url

pytestmark = pytest.mark.parametrize("database_url", ["postgresql"], indirect=True)


def _counting_pings(monkeypatch: pytest.MonkeyPatch, engine: Any) -> list[None]:
    dialect = engine.sync_engine.dialect
    pings: list[None] = []
    real_ping = dialect.do_ping

    def do_ping(dbapi_connection: Any) -> bool:
        pings.append(None)
        return real_ping(dbapi_connection)

    monkeypatch.setattr(dialect, "do_ping", do_ping)
    return pings


async def _backend_pid(engine: Any) -> int:
    async with engine.connect() as connection:
        return (await connection.execute(text("SELECT pg_backend_pid()"))).scalar_one()


def test_a_connection_back_a_moment_ago_is_lent_without_a_ping(database_url, monkeypatch):
    async def scenario() -> None:
        engine = make_engine(database_url)
        pings = _counting_pings(monkeypatch, engine)
        try:
            first = await _backend_pid(engine)
            assert await _backend_pid(engine) == first  # the same connection, the most recent one
            assert pings == []
            monkeypatch.setattr(engine_module, "IDLE_BEFORE_PING", 0.0)
            assert await _backend_pid(engine) == first
            assert len(pings) == 1  # idle past the window: checked, alive, lent
        finally:
            await engine.dispose()

    asyncio.run(scenario())


def test_a_connection_closed_by_the_server_while_idle_is_replaced(database_url, monkeypatch):
    async def scenario() -> None:
        engine = make_engine(database_url)
        pings = _counting_pings(monkeypatch, engine)
        try:
            dead = await _backend_pid(engine)
            admin = create_engine(sync_url(database_url), poolclass=pool.NullPool)
            try:
                with admin.connect() as connection:
                    assert connection.execute(text("SELECT pg_terminate_backend(:pid)"), {"pid": dead}).scalar_one()
            finally:
                admin.dispose()
            monkeypatch.setattr(engine_module, "IDLE_BEFORE_PING", 0.0)
            replacement = await _backend_pid(engine)  # no error reaches the caller
            assert replacement != dead
            assert len(pings) == 1
        finally:
            await engine.dispose()

    asyncio.run(scenario())


def test_the_urls_libpq_parameters_reach_asyncpg(database_url):
    """One URL for psycopg (Alembic, the CLI) and asyncpg (the app): libpq's query parameters."""
    url = f"{database_url}?sslmode=disable&application_name=assmat-test&connect_timeout=5"

    async def scenario() -> None:
        engine = make_engine(url)
        try:
            async with engine.connect() as connection:
                assert (await connection.execute(text("SHOW application_name"))).scalar_one() == "assmat-test"
                ssl = (await connection.execute(text("SELECT ssl FROM pg_stat_ssl WHERE pid = pg_backend_pid()"))).scalar_one()
                assert ssl is False
        finally:
            await engine.dispose()

    asyncio.run(scenario())
    sync = create_engine(sync_url(url), poolclass=pool.NullPool)
    try:
        with sync.connect() as connection:
            assert connection.execute(text("SHOW application_name")).scalar_one() == "assmat-test"
    finally:
        sync.dispose()
