"""Engines and sessions. The web app is async (aiosqlite, asyncpg); Alembic and the CLI helpers
use the same URL (sqlite3, psycopg)."""

from __future__ import annotations

import time
from collections.abc import Callable
from typing import Any
from urllib.parse import urlencode

from sqlalchemy import event
from sqlalchemy.engine import URL, make_url
from sqlalchemy.exc import InvalidatePoolError
from sqlalchemy.ext.asyncio import AsyncEngine, async_sessionmaker, create_async_engine
from sqlalchemy.orm import Session

from assmat.core.db import postgresql_driver, sqlite_driver
from assmat.core.geocoding.distance import ensure_sqlite_math

ASYNC_DRIVERS = {"sqlite": f"sqlite+{sqlite_driver.DRIVER}", "postgresql": f"postgresql+{postgresql_driver.DRIVER}"}
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


# A connection back in the pool for longer than this is pinged before it is lent again.
IDLE_BEFORE_PING = 5.0  # seconds
_RETURNED_AT = "returned_at"  # in a pooled connection's info: when it last came back


def _ping_when_idle(engine: AsyncEngine) -> None:
    """Check a pooled connection before lending it, but only one that sat idle: a server
    restart or a proxy's idle timeout closes idle connections, and one used a moment ago is
    alive. SQLAlchemy's pool_pre_ping pings at every checkout, a round trip each time (and, with
    psycopg, about 300 Python calls), twice per sign-in (benchmarks/login.py). A connection that died
    within the window fails its one request, and that disconnect invalidates the whole pool."""
    sync_engine = engine.sync_engine
    dialect = sync_engine.dialect

    @event.listens_for(sync_engine, "checkin")
    def _returned(_dbapi_connection: Any, record: Any) -> None:
        record.info[_RETURNED_AT] = time.monotonic()

    @event.listens_for(sync_engine, "checkout")
    def _ping_if_idle(dbapi_connection: Any, record: Any, _proxy: Any) -> None:
        returned_at = record.info.get(_RETURNED_AT)  # none on a connection just opened
        if returned_at is None or time.monotonic() - returned_at < IDLE_BEFORE_PING:
            return
        try:
            dialect.do_ping(dbapi_connection)
        except (dialect.loaded_dbapi.Error, OSError) as error:  # asyncpg may let a socket error through
            # As pool_pre_ping: the pool drops every connection older than this one (a restart
            # closed them all) and lends a new one.
            raise InvalidatePoolError() from error


def connect_failing_as_database_error(dialect: Any, _record: Any, cargs: Any, cparams: Any) -> Any:
    """PostgreSQL's `do_connect`: asyncpg lets a refused or timed-out connection through as an
    OSError, where psycopg raised its OperationalError. Raised as the driver's own, SQLAlchemy
    wraps it like any database error, and an outage answers 503 (assmat.app.OUTAGE), not 500."""
    try:
        return dialect.connect(*cargs, **cparams)
    except OSError as error:  # TimeoutError is one
        raise dialect.loaded_dbapi.OperationalError(f"cannot connect to PostgreSQL: {error!r}") from error


def _libpq_query_for_asyncpg(target: URL) -> tuple[URL, dict[str, Any]]:
    """The URL's query speaks libpq (`?sslmode=require&connect_timeout=5`), as psycopg reads it
    for Alembic and the CLI; SQLAlchemy would pass each parameter to asyncpg as a keyword it does
    not take. asyncpg reads libpq's SSL parameters from a DSN and sends the others
    (application_name, …) as the session's settings: the query reaches it that way, with
    connect_timeout as its timeout."""
    query = dict(target.query)
    connect_args: dict[str, Any] = {}
    if "connect_timeout" in query:
        connect_args["timeout"] = float(query.pop("connect_timeout"))
    if query:
        connect_args["dsn"] = "postgresql://?" + urlencode(query, doseq=True)
    return target.set(query={}), connect_args


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
    # The most recently returned connection first: the busy ones stay warm and skip the ping,
    # the others sit idle and are pinged when next lent.
    kwargs.setdefault("pool_use_lifo", True)
    target, connect_args = _libpq_query_for_asyncpg(target)
    kwargs["connect_args"] = {**connect_args, **kwargs.get("connect_args", {})}
    engine = create_async_engine(target, **kwargs)
    event.listen(engine.sync_engine, "do_connect", connect_failing_as_database_error)
    _ping_when_idle(engine)
    return engine


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
