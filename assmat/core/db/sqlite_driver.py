"""SQLAlchemy's aiosqlite dialect, one thread hop per statement instead of four.

aiosqlite runs sqlite3 in a thread of its own, and every call hops to it and back: SQLAlchemy's
cursor makes four (open a cursor, execute, fetch the rows, close), each a wake-up of that thread
and then of the event loop. Here the statement runs whole in one hop (cursor, execute, rows,
close) and the rows come back with the closed cursor, whose description, rowcount and lastrowid
sqlite3 keeps. A sign-in went from 22 hops to 9 and from 5,100 Python calls on the event loop to
3,800 (benchmarks/login.py; the README's login paragraph has the figures); then 7:
the pool's rollback of a connection with nothing begun is no hop at all (OneHopConnection).

Registered as the `sqlite+assmat_aiosqlite` driver (assmat.core.db.engine); the dialect is
SQLAlchemy's own otherwise, its `driver` still "aiosqlite". Streaming results (server-side
cursors) keep aiosqlite's cursor.
"""

from __future__ import annotations

import collections
import sqlite3
from typing import Any

from sqlalchemy.dialects import registry
from sqlalchemy.dialects.sqlite.aiosqlite import (
    AsyncAdapt_aiosqlite_connection, AsyncAdapt_aiosqlite_cursor, AsyncAdapt_aiosqlite_dbapi, SQLiteDialect_aiosqlite,
)
from sqlalchemy.util import EMPTY_DICT
from sqlalchemy.util.concurrency import await_

DRIVER = "assmat_aiosqlite"


def _run_statement(connection: sqlite3.Connection, operation: str, parameters: Any, many: bool) -> tuple[sqlite3.Cursor, list]:
    """In aiosqlite's thread: the whole statement, its rows, the cursor closed."""
    cursor = connection.cursor()
    try:
        if many:
            cursor.executemany(operation, parameters)
        else:
            cursor.execute(operation, () if parameters is None else parameters)
        rows = cursor.fetchall() if cursor.description else []
    finally:
        cursor.close()
    return cursor, rows


class OneHopCursor(AsyncAdapt_aiosqlite_cursor):
    """`_cursor` is the closed sqlite3 cursor of the last statement (None before the first)."""

    __slots__ = ()

    def __init__(self, adapt_connection: AsyncAdapt_aiosqlite_connection):
        self._adapt_connection = adapt_connection
        self._connection = adapt_connection._connection
        self._cursor = None
        self._soft_closed_memoized = EMPTY_DICT
        self._rows = collections.deque()

    @property
    def description(self) -> Any:
        return None if self._cursor is None else self._cursor.description

    async def _run(self, operation: str, parameters: Any, many: bool) -> None:
        async with self._adapt_connection._execute_mutex:
            # aiosqlite's own queue to its thread: `_conn` raises "no active connection" once
            # closed, as its cursor would.
            aiosqlite = self._connection
            self._cursor, rows = await aiosqlite._execute(_run_statement, aiosqlite._conn, operation, parameters, many)
            self._rows = collections.deque(rows)

    async def _execute_async(self, operation: Any, parameters: Any) -> None:
        await self._run(operation, parameters, many=False)

    async def _executemany_async(self, operation: Any, seq_of_parameters: Any) -> None:
        await self._run(operation, seq_of_parameters, many=True)

    async def _async_soft_close(self) -> None:
        pass  # closed in the hop already

    def close(self) -> None:
        self._rows.clear()


class OneHopConnection(AsyncAdapt_aiosqlite_connection):
    __slots__ = ()
    _cursor_cls = OneHopCursor

    # The pool rolls back every connection it takes back, after a commit or a page that only
    # read: sqlite3 then does nothing (it checks the same flag), but the call was a hop to
    # aiosqlite's thread and back. The flag is read here, from the event loop, while that
    # thread is idle: SQLAlchemy makes a connection's calls one after the other.
    def rollback(self) -> None:
        if self._begun():
            super().rollback()

    def commit(self) -> None:
        if self._begun():
            super().commit()

    def _begun(self) -> bool:
        connection = self._connection._connection  # the sqlite3 connection, None once closed
        return connection is not None and connection.in_transaction


class OneHopDBAPI(AsyncAdapt_aiosqlite_dbapi):
    def connect(self, *arg: Any, **kw: Any) -> OneHopConnection:
        connection = self.aiosqlite.connect(*arg, **kw)
        connection._thread.daemon = True  # as SQLAlchemy's dialect does: a lost connection never holds the process
        return OneHopConnection(self, await_(connection))


class OneHopDialect(SQLiteDialect_aiosqlite):
    supports_statement_cache = True

    @classmethod
    def import_dbapi(cls) -> OneHopDBAPI:
        import aiosqlite

        return OneHopDBAPI(aiosqlite, sqlite3)


registry.register(f"sqlite.{DRIVER}", __name__, "OneHopDialect")
