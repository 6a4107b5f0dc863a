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
