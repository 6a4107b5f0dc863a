"""Synchronous peeks into a test database, to check what a request really wrote."""

from __future__ import annotations

from collections.abc import Iterator
from contextlib import contextmanager

from sqlalchemy import create_engine, pool
from sqlalchemy.orm import Session

from assmat.core.db.engine import sync_url


@contextmanager
def db_session(database_url: str) -> Iterator[Session]:
    engine = create_engine(sync_url(database_url), poolclass=pool.NullPool)
    try:
        with Session(engine) as session:
            yield session
    finally:
        engine.dispose()


@contextmanager
def sent_transactions(into: list[str], prefix: str = "") -> Iterator[list[str]]:
    """Appends to `into` each BEGIN, COMMIT and ROLLBACK asyncpg sends to PostgreSQL inside the
    block, as `prefix` + "start", "commit" or "rollback" (asyncpg's names)."""
    from asyncpg.transaction import Transaction

    real = {name: getattr(Transaction, name) for name in ("start", "commit", "rollback")}

    def recording(name: str) -> object:
        async def sent(self: Transaction) -> None:
            into.append(prefix + name)
            await real[name](self)

        return sent

    for name in real:
        setattr(Transaction, name, recording(name))
    try:
        yield into
    finally:
        for name, method in real.items():
            setattr(Transaction, name, method)
