"""PostgreSQL's driver begins a transaction at the first statement that writes
(assmat.core.db.postgresql_driver): a unit of work that only reads sends no BEGIN and no
ROLLBACK, and one that writes keeps every statement from its first write on in one transaction,
with its locks, its atomicity and its reads of its own changes."""

from __future__ import annotations

import asyncio
from collections.abc import AsyncIterator
from contextlib import asynccontextmanager
from typing import Any

import pytest
from sqlalchemy import Column, Integer, MetaData, String, Table, select, text
from sqlalchemy.dialects import postgresql
from sqlalchemy.ext.asyncio import AsyncEngine, AsyncSession

from assmat.core.db import postgresql_driver
from assmat.core.db.engine import async_url, make_engine
from assmat.core.db.postgresql_driver import COMMITS_ALONE, reads_only
from tests.support.db import sent_transactions

metadata = MetaData()
children = Table("driver_children", metadata, Column("id", Integer, primary_key=True), Column("name", String(40)))


def test_postgresql_urls_get_the_deferred_begin_driver():
    assert async_url("postgresql://u@h/db").drivername == f"postgresql+{postgresql_driver.DRIVER}"


def _sql(statement: Any) -> str:
    return str(statement.compile(dialect=postgresql.dialect()))


@pytest.mark.parametrize("statement", [
    select(children), select(children.c.name).where(children.c.id == 1).limit(1),
    "SELECT count(*) FROM driver_children",
])
def test_a_plain_select_reads_only(statement):
    assert reads_only(statement if isinstance(statement, str) else _sql(statement))


@pytest.mark.parametrize("statement", [
    children.insert().values(name="Léa"), children.update().values(name="Léa"), children.delete(),
    select(children).with_for_update(), select(children).with_for_update(read=True),
    select(children).with_for_update(key_share=True), select(children).with_for_update(read=True, key_share=True),
    select(children).with_for_update(nowait=True, of=children),
    select(children.c.id).limit(10).with_for_update(skip_locked=True),  # the outbox's claim
    "WITH gone AS (DELETE FROM driver_children RETURNING id) SELECT count(*) FROM gone",
    "SELECT nextval('driver_children_id_seq')", "SELECT pg_advisory_xact_lock(1)", "SELECT set_config('a.b', '1', true)",
    "SHOW transaction_isolation", "select 1",
])
def test_what_writes_locks_or_may_have_a_side_effect_begins(statement):
    assert not reads_only(statement if isinstance(statement, str) else _sql(statement))


pg = pytest.mark.parametrize("database_url", ["postgresql"], indirect=True)


@asynccontextmanager
async def children_table(database_url: str, *names: str) -> AsyncIterator[AsyncEngine]:
    """The app's engine, over a table of children named `names` (ids from 1), dropped after."""
    engine = make_engine(database_url)
    try:
        async with engine.begin() as connection:
            await connection.run_sync(metadata.create_all)
            for number, name in enumerate(names, start=1):
                await connection.execute(children.insert().values(id=number, name=name))
        yield engine
    finally:
        async with engine.begin() as connection:
            await connection.run_sync(metadata.drop_all)
        await engine.dispose()


@pg
def test_a_unit_of_work_begins_at_its_first_write(database_url):
    async def scenario() -> None:
        async with children_table(database_url) as engine:
            with sent_transactions([]) as sent:
                async with AsyncSession(engine) as db:  # reads only: no BEGIN, nothing to end
                    assert (await db.execute(select(children))).all() == []
                    assert (await db.execute(select(children.c.id))).all() == []
                    await db.commit()
                assert sent == []

                async with AsyncSession(engine) as db:  # a read, a write, a read of it, the commit
                    assert await db.scalar(select(children.c.id).where(children.c.name == "Léa")) is None
                    assert sent == []
                    await db.execute(children.insert().values(id=1, name="Léa"))
                    assert sent == ["start"]
                    assert await db.scalar(select(children.c.name).where(children.c.id == 1)) == "Léa"
                    await db.execute(children.insert().values(id=2, name="Inès"))
                    await db.commit()
                assert sent == ["start", "commit"]
                sent.clear()

                async with AsyncSession(engine) as db:  # writes never committed: rolled back together
                    await db.execute(children.insert().values(id=3, name="Jade"))
                    await db.execute(children.update().where(children.c.id == 1).values(name="Noé"))
                assert sent == ["start", "rollback"]
                async with engine.connect() as connection:
                    assert (await connection.execute(select(children.c.name).order_by(children.c.id))).scalars().all() == [
                        "Léa", "Inès"]

    asyncio.run(scenario())


@pg
def test_a_write_that_commits_alone_is_one_round_trip_when_nothing_is_begun(database_url):
    alone = children.update().where(children.c.id == 1).values(name="Noé").returning(children.c.id)
    alone = alone.execution_options(**{COMMITS_ALONE: True})

    async def scenario() -> None:
        async with children_table(database_url, "Léa") as engine:
            with sent_transactions([]) as sent:
                async with AsyncSession(engine) as db, AsyncSession(engine) as other:
                    assert await db.scalar(select(children.c.id).where(children.c.id == 1)) == 1
                    assert (await db.execute(alone)).scalar() == 1
                    assert sent == []  # no BEGIN: committed as it ran
                    assert await other.scalar(select(children.c.name)) == "Noé"
                    await db.commit()
                    assert sent == []  # nothing left to commit
                    # The next statement is not marked: it begins as any write does.
                    await db.execute(children.update().values(name="Léa"))
                    assert sent == ["start"]
                    await db.rollback()
                assert sent == ["start", "rollback"]
                sent.clear()

                async with AsyncSession(engine) as db:  # inside a unit of work begun: one more statement of it
                    await db.execute(children.insert().values(id=2, name="Inès"))
                    await db.execute(alone)
                    assert sent == ["start"]
                    await db.rollback()
                assert sent == ["start", "rollback"]
                async with engine.connect() as connection:
                    assert (await connection.execute(select(children.c.name))).scalars().all() == ["Noé"]

    asyncio.run(scenario())


@pg
def test_a_locking_select_holds_its_lock_to_the_commit(database_url):
    async def scenario() -> None:
        async with children_table(database_url, "Léa") as engine:
            async with AsyncSession(engine) as db, AsyncSession(engine) as other:
                await db.execute(select(children).where(children.c.id == 1).with_for_update())
                with pytest.raises(Exception, match="could not obtain lock"):
                    await other.execute(select(children).where(children.c.id == 1).with_for_update(nowait=True))
                await other.rollback()
                await db.commit()
                assert (await other.execute(select(children.c.name).with_for_update(nowait=True))).scalar_one() == "Léa"

    asyncio.run(scenario())


@pg
def test_a_failed_read_outside_a_transaction_leaves_the_connection_usable(database_url):
    async def scenario() -> None:
        engine = make_engine(database_url)
        try:
            async with AsyncSession(engine) as db:
                with pytest.raises(Exception, match="does not exist"):
                    await db.execute(text("SELECT * FROM driver_missing"))
                await db.rollback()
                assert (await db.execute(text("SELECT 41 + 1"))).scalar_one() == 42
        finally:
            await engine.dispose()

    asyncio.run(scenario())
