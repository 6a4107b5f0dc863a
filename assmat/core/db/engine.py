"""Engines and sessions. The web app is async; Alembic and the CLI helpers use the same URL."""

from __future__ import annotations

from collections.abc import Callable
from typing import Any

from sqlalchemy import event
from sqlalchemy.engine import URL, make_url
from sqlalchemy.ext.asyncio import AsyncEngine, async_sessionmaker, create_async_engine
from sqlalchemy.orm import Session

from assmat.core.db import sqlite_driver
from assmat.core.geocoding.distance import ensure_sqlite_math

ASYNC_DRIVERS = {"sqlite": f"sqlite+{sqlite_driver.DRIVER}", "postgresql": "postgresql+psycopg"}
SYNC_DRIVERS = {"sqlite": "sqlite", "postgresql": "postgresql+psycopg"}


def _with_driver(url: str, drivers: dict[str, str]) -> URL:
    parsed = make_url(url)
    backend = parsed.get_backend_name()
    if backend not in drivers:
        raise ValueError(f"unsupported database: {backend} (sqlite or postgresql)")
    return parsed.set(drivername=drivers[backend])


def async_url(url: str) -> URL:
    return _with_driver(url, ASYNC_DRIVERS)


def sync_url(url: str) -> URL:
    return _with_driver(url, SYNC_DRIVERS)


def _sqlite_pragmas(dbapi_connection: Any, _record: Any) -> None:
    cursor = dbapi_connection.cursor()
    cursor.execute("PRAGMA foreign_keys=ON")
    # WAL lets readers run during a write; the timeout makes concurrent writers wait, not fail.
    cursor.execute("PRAGMA journal_mode=WAL")
    cursor.execute("PRAGMA busy_timeout=5000")
    cursor.close()
    # The distance search computes the haversine in SQL (assmat.core.geocoding.distance).
    ensure_sqlite_math(dbapi_connection)


def make_engine(url: str, **kwargs: Any) -> AsyncEngine:
    target = async_url(url)
    if target.get_backend_name() == "sqlite":
        engine = create_async_engine(target, **kwargs)
        event.listen(engine.sync_engine, "connect", _sqlite_pragmas)
        return engine
    # Above the concurrent requests one process serves: a connection beyond pool_size is closed
    # when it comes back, and reopening it costs more than the query (benchmarks/pages.py).
    kwargs.setdefault("pool_size", 20)
    kwargs.setdefault("max_overflow", 10)
    kwargs.setdefault("pool_pre_ping", True)
    return create_async_engine(target, **kwargs)


# Set in a session's `info` by the outbox when it adds a mail (assmat.core.mail.outbox.enqueue).
MAIL_ENQUEUED = "mail_enqueued"


def make_sessionmaker(engine: AsyncEngine, wake_mail: Callable[[], None] | None = None) -> async_sessionmaker:
    """The unit of work of every request, console view and command. A commit that queued mail
    wakes the mail sender (`wake_mail`) once the mail is durable, so it goes out now and no
    caller has to remember to do it; a rollback forgets the mail with its change."""

    class UnitOfWork(Session):
        pass

    if wake_mail is not None:

        @event.listens_for(UnitOfWork, "after_commit")
        def _wake(session: Session) -> None:
            if session.info.pop(MAIL_ENQUEUED, False):
                wake_mail()

        @event.listens_for(UnitOfWork, "after_soft_rollback")
        def _forget(session: Session, _previous: Any) -> None:
            session.info.pop(MAIL_ENQUEUED, None)

    return async_sessionmaker(engine, expire_on_commit=False, sync_session_class=UnitOfWork)
