"""SQLAlchemy's asyncpg dialect, with the transaction begun at the first statement that writes.

asyncpg's adapter sends BEGIN before a connection's first statement, and the pool sends ROLLBACK
when the connection comes back: a page that only reads paid two round trips of its four to six
for a transaction it did not need (benchmarks/pages.py). In PostgreSQL's READ COMMITTED, which
is ours, each statement of a transaction reads its own snapshot: a plain SELECT reads the same
outside a transaction as inside one. So a SELECT that takes no row lock runs on its own until
the unit of work writes; the first other statement (INSERT, UPDATE, DELETE, a CTE, a locking
SELECT) sends BEGIN, and everything after it, reads included, stays in that transaction to its
COMMIT or ROLLBACK. sqlite3 does the same on SQLite (BEGIN before the first INSERT, UPDATE or
DELETE), so both databases now run a unit of work alike.

A SELECT of a function that changes something would escape the transaction: the ones
PostgreSQL has for it (`nextval`, advisory locks, `set_config`, …) begin as writes do; the app
calls none, and a function of our own that writes would need adding to that list.

A statement marked COMMITS_ALONE (below) with nothing begun commits as it runs, its caller's
COMMIT then having nothing to send.

Registered as the `postgresql+assmat_asyncpg` driver (assmat.core.db.engine); the dialect is
SQLAlchemy's own otherwise. Streaming results (server-side cursors, which asyncpg runs only in
a transaction) keep SQLAlchemy's cursor and begin as before.
"""

from __future__ import annotations

import re
from functools import lru_cache
from typing import Any

from sqlalchemy.dialects import registry
from sqlalchemy.dialects.postgresql.asyncpg import (
    AsyncAdapt_asyncpg_connection, AsyncAdapt_asyncpg_cursor, AsyncAdapt_asyncpg_dbapi, PGDialect_asyncpg,
)
from sqlalchemy.util.concurrency import await_

DRIVER = "assmat_asyncpg"

# A row lock lasts to the end of its transaction; these functions change something.
_NEEDS_TRANSACTION = re.compile(
    r"\bFOR\s+(?:UPDATE|NO\s+KEY\s+UPDATE|SHARE|KEY\s+SHARE)\b"
    r"|\b(?:nextval|setval|pg_advisory\w*|set_config|pg_current_xact_id|txid_current)\s*\(",
    re.IGNORECASE,
)


@lru_cache(maxsize=2048)  # the app's statements are a few hundred strings, compiled once each
def reads_only(operation: str) -> bool:
    """A plain SELECT: it reads the same outside a transaction as in READ COMMITTED's. Any
    other statement, or one this cannot tell, begins."""
    return operation.startswith("SELECT ") and _NEEDS_TRANSACTION.search(operation) is None


# An execution option: a write that is a unit of work of its own, its caller committing right
# after it. With nothing begun, it runs and commits at once: one round trip, not BEGIN, the
# statement and COMMIT (the lockout's reservation, at every sign-in). In a unit of work already
# begun it is one more statement of it, committed with the rest.
COMMITS_ALONE = "assmat_commits_alone"


class DeferredBeginCursor(AsyncAdapt_asyncpg_cursor):
    __slots__ = ("commits_alone",)

    def __init__(self, adapt_connection: AsyncAdapt_asyncpg_connection):
        super().__init__(adapt_connection)
        self.commits_alone = False  # set for each statement by the dialect's do_execute

    async def _prepare_and_execute(self, operation: str, parameters: Any) -> None:
        connection = self._adapt_connection
        alone, self.commits_alone = self.commits_alone, False
        if connection._transaction is not None or not (alone or reads_only(operation)):
            await super()._prepare_and_execute(operation, parameters)
            return
        # The adapter begins unless its connection is in autocommit: for this statement, it is.
        level = connection.isolation_level
        connection.isolation_level = "autocommit"
        try:
            await super()._prepare_and_execute(operation, parameters)
        finally:
            connection.isolation_level = level


class DeferredBeginConnection(AsyncAdapt_asyncpg_connection):
    __slots__ = ()
    _cursor_cls = DeferredBeginCursor


class DeferredBeginDBAPI(AsyncAdapt_asyncpg_dbapi):
    def connect(self, *arg: Any, **kw: Any) -> DeferredBeginConnection:
        # SQLAlchemy's own, with this connection class.
        creator_fn = kw.pop("async_creator_fn", self.asyncpg.connect)
        cache_size = kw.pop("prepared_statement_cache_size", 100)
        name_func = kw.pop("prepared_statement_name_func", None)
        return await_(DeferredBeginConnection.create(
            self, creator_fn(*arg, **kw), prepared_statement_cache_size=cache_size,
            prepared_statement_name_func=name_func,
        ))


class DeferredBeginDialect(PGDialect_asyncpg):
    supports_statement_cache = True

    def do_execute(self, cursor: Any, statement: str, parameters: Any, context: Any = None) -> None:
        if isinstance(cursor, DeferredBeginCursor):  # not a server-side one
            cursor.commits_alone = context is not None and context.execution_options.get(COMMITS_ALONE, False)
        super().do_execute(cursor, statement, parameters, context)

    @classmethod
    def import_dbapi(cls) -> DeferredBeginDBAPI:
        return DeferredBeginDBAPI(__import__("asyncpg"))


registry.register(f"postgresql.{DRIVER}", __name__, "DeferredBeginDialect")
