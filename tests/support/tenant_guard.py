"""The tenant guard: every statement on a tenant-owned table must say which tenant it means.

Installed for the whole suite by tests/conftest.py. A listener on every engine inspects each
statement before it runs; a SELECT, UPDATE or DELETE that reads or writes a tenant-owned table
without a `tenant_id` predicate is recorded, and the test that ran it fails with the statement's
text (the statement itself still runs: the failure names it instead of a confusing 500).

Tenant-owned: every mapped table whose `tenant_id` is NOT NULL (derived from the models, so a new
table is guarded the day it is added). The tables where NULL means the platform (`admins`,
`admin_sessions`, `audit_events`, `outbox`) are read across tenants by the platform console and
the mail sender on purpose; their scoping is `assmat/admin/scoping.py`, proven by the isolation
matrix.

A predicate is `tenant_id` compared (=, IN, IS) with a value in the WHERE clause's top-level AND,
or a join/correlation `a.tenant_id = b.tenant_id` with a table that has one, or with a row of a
platform-wide table (an audit event, a mail: the row's own tenant). INSERTs carry their
`tenant_id` as a value and are not checked. Every other exception is named below, in one place:
the `ALLOWANCES` (code paths that span tenants on purpose) and the three rules that follow them
(migrations, the tests' own reads, the unit of work's write-back). The mail sender's claim of due
mail and the tenant-row sync need none: `outbox` is platform-wide and `tenants` has no tenant_id.
"""

from __future__ import annotations

import re
import sys
import threading
from collections.abc import Iterator
from dataclasses import dataclass
from pathlib import Path
from types import FrameType
from typing import Any

from sqlalchemy import event
from sqlalchemy.engine import Engine
from sqlalchemy.sql import operators
from sqlalchemy.sql.dml import Delete, Update
from sqlalchemy.sql.elements import BinaryExpression, BooleanClauseList, ColumnClause, TextClause
from sqlalchemy.sql.selectable import Alias, Join, Select, TableClause

REPO = Path(__file__).resolve().parents[2]
APP_DIR = REPO / "assmat"
TESTS_DIR = REPO / "tests"
MIGRATIONS_DIR = APP_DIR / "migrations"
THIS_FILE = Path(__file__).resolve()


@dataclass(frozen=True)
class Allowance:
    """A statement allowed to span tenants: while one of `functions` ("module:qualname") is on
    the stack, `kinds` of statements on `tables` need no tenant predicate."""

    name: str
    why: str
    functions: frozenset[str]
    tables: frozenset[str]
    kinds: frozenset[str]


ALLOWANCES = (
    Allowance(
        "purge",
        "Expired captchas, rate-limit windows, sessions and tokens are deleted by their own dates "
        "across tenants (a row's age does not depend on its tenant, and no row is read).",
        frozenset({"assmat.core.db.purge:purge"}),
        frozenset({"captcha_challenges", "rate_limits", "sessions", "account_tokens", "franceconnect_requests"}),
        frozenset({"SELECT", "DELETE"}),
    ),
    Allowance(
        "platform_tenants",
        "The platform console's list of tenants counts each tenant's accounts, for super-admins "
        "on the root domain only (is_platform_admin).",
        frozenset({"assmat.admin.platform:PlatformTenantsView.tenants"}),
        frozenset({"accounts"}),
        frozenset({"SELECT"}),
    ),
)

# The three rules besides ALLOWANCES (see TenantGuard._allowed and _is_flush):
# - the migrations (files under assmat/migrations/) rewrite whole tables by design;
# - the tests' own statements (the innermost project frame is under tests/) read what a request
#   wrote, across tenants on purpose, to prove nothing leaked;
# - the ORM's unit of work writes back (UPDATE/DELETE by primary key) an object it already holds:
#   the object came from a guarded SELECT or an INSERT carrying its tenant_id.


@dataclass(frozen=True)
class Violation:
    tables: tuple[str, ...]
    kind: str
    sql: str

    def __str__(self) -> str:
        return f"{self.kind} on {', '.join(self.tables)} without a tenant_id predicate:\n    {self.sql}"


class TenantGuard:
    def __init__(self, registry: Any) -> None:
        """`registry`: the declarative registry of the models (`Base.registry`)."""
        metadata = registry.metadata
        self.guarded = frozenset(
            table.name for table in metadata.tables.values()
            if "tenant_id" in table.c and not table.c.tenant_id.nullable
        )
        self.shared = frozenset(
            table.name for table in metadata.tables.values() if "tenant_id" in table.c and table.c.tenant_id.nullable
        )
        self._lock = threading.Lock()
        self._violations: list[Violation] = []
        self._registry = registry
        self.trust_tests = True  # the self-test turns it off to play the application's part

    # Recording -----------------------------------------------------------------------------

    def take(self) -> list[Violation]:
        with self._lock:
            found, self._violations = self._violations, []
        return found

    def install(self) -> None:
        event.listen(Engine, "before_cursor_execute", self._before_cursor_execute)

    def uninstall(self) -> None:
        event.remove(Engine, "before_cursor_execute", self._before_cursor_execute)

    def _before_cursor_execute(self, _conn: Any, _cursor: Any, sql: str, _params: Any, context: Any, _many: bool) -> None:
        compiled = getattr(context, "compiled", None)
        if compiled is None:  # exec_driver_sql: only the pragmas of the SQLite connect hook
            return
        core = getattr(compiled.compile_state, "statement", None)  # the ORM's statement, as Core
        statement = core if core is not None else compiled.statement
        try:
            unscoped = self.unscoped_tables(statement)
        except Exception as error:  # never break a statement; fail the test instead
            with self._lock:
                self._violations.append(Violation(("?",), f"unreadable ({error!r})", " ".join(sql.split())))
            return
        if not unscoped:
            return
        kind = _kind(statement)
        if self._is_flush(context) and kind in {"UPDATE", "DELETE"}:
            return
        if self._allowed(unscoped, kind):
            return
        with self._lock:
            self._violations.append(Violation(tuple(sorted(unscoped)), kind, " ".join(sql.split())))

    def _is_flush(self, context: Any) -> bool:
        # The unit of work passes its mapper's statement cache as an execution option.
        cache = context.execution_options.get("compiled_cache")
        return cache is not None and any(cache is mapper._compiled_cache for mapper in self._registry.mappers)

    def _allowed(self, tables: set[str], kind: str) -> bool:
        origin = _origin(_stack())
        if origin == "migration" or (origin == "test" and self.trust_tests):
            return True
        names = {name for name in _stack_functions()}
        return any(
            allowance.functions & names and tables <= allowance.tables and kind in allowance.kinds
            for allowance in ALLOWANCES
        )

    # Analysis ------------------------------------------------------------------------------

    def unscoped_tables(self, statement: Any) -> set[str]:
        """Names of the guarded tables `statement` reads or writes without a tenant predicate."""
        if isinstance(statement, TextClause):
            words = set(re.findall(r"[a-z_]+", statement.text.lower()))
            return set(self.guarded & words)
        return self._scan(statement, frozenset())

    def _scan(self, statement: Any, outer_scoped: frozenset[str]) -> set[str]:
        unscoped: set[str] = set()
        for node in _statements(statement):
            froms, conditions = _froms_and_conditions(node)
            anchors = {_from_name(f) for f in froms if _table_name(f) in self.shared}
            scoped = _scoped(conditions, outer_scoped | anchors)
            unscoped |= {name_table for name, name_table in ((_from_name(f), _table_name(f)) for f in froms)
                         if name_table in self.guarded and name not in scoped}
            for nested in _nested_statements(node):
                unscoped |= self._scan(nested, frozenset(scoped))
        return unscoped


def _kind(statement: Any) -> str:
    if isinstance(statement, Update):
        return "UPDATE"
    if isinstance(statement, Delete):
        return "DELETE"
    return "SELECT"


def _statements(statement: Any) -> list[Any]:
    """The SELECT/UPDATE/DELETE parts of `statement` at its own level (UNION members included)."""
    if isinstance(statement, (Select, Update, Delete)):
        return [statement]
    selects = getattr(statement, "selects", None)
    if selects is not None:  # UNION and friends
        return [part for select in selects for part in _statements(select)]
    return []


def _froms_and_conditions(node: Any) -> tuple[list[Any], list[Any]]:
    conditions = list(_conjuncts(node.whereclause)) if node.whereclause is not None else []
    froms: list[Any] = []
    if isinstance(node, Select):
        roots = list(node.get_final_froms())
    else:
        roots = [node.table, *getattr(node, "_extra_froms", ())]
    for root in roots:
        froms += _flatten(root, conditions)
    return froms, conditions


def _flatten(from_: Any, conditions: list[Any]) -> list[Any]:
    if isinstance(from_, Join):
        conditions += _conjuncts(from_.onclause)
        return _flatten(from_.left, conditions) + _flatten(from_.right, conditions)
    return [from_]


def _conjuncts(clause: Any) -> list[Any]:
    if clause is None:
        return []
    if isinstance(clause, BooleanClauseList) and clause.operator is operators.and_:
        return [part for child in clause.clauses for part in _conjuncts(child)]
    inner = getattr(clause, "element", None)  # Grouping
    if inner is not None and clause.__class__.__name__ == "Grouping":
        return _conjuncts(inner)
    return [clause]


def _from_name(from_: Any) -> str:
    return getattr(from_, "name", None) or f"anon_{id(from_)}"


def _table_name(from_: Any) -> str | None:
    if isinstance(from_, TableClause):
        return from_.name
    if isinstance(from_, Alias) and isinstance(from_.element, TableClause):
        return from_.element.name
    return None


def _tenant_column_of(side: Any) -> str | None:
    """The name of the FROM whose tenant_id `side` is, if it is one."""
    if isinstance(side, ColumnClause) and side.name == "tenant_id" and side.table is not None:
        return _from_name(side.table)
    return None


def _scoped(conditions: list[Any], outer_scoped: frozenset[str]) -> set[str]:
    scoped = set(outer_scoped)
    links: list[tuple[str, str]] = []
    for condition in conditions:
        if not isinstance(condition, BinaryExpression):
            continue
        if condition.operator not in (operators.eq, operators.in_op, operators.is_):
            continue
        left, right = _tenant_column_of(condition.left), _tenant_column_of(condition.right)
        if left and right:
            links.append((left, right))
        elif left or right:
            scoped.add(left or right)  # type: ignore[arg-type]
    changed = True
    while changed:
        changed = False
        for a, b in links:
            if (a in scoped) != (b in scoped):
                scoped |= {a, b}
                changed = True
    return scoped


def _nested_statements(node: Any) -> Iterator[Any]:
    """Subqueries, EXISTS and IN (SELECT …) directly inside `node`, not `node` itself, and not
    those nested deeper: each is scanned by its parent's scan, with the scope its parent gives it
    (a correlation to a row scoped one level up counts; seen from two levels up it would not)."""
    stack = list(node.get_children())
    while stack:
        element = stack.pop()
        if element is node:
            continue
        if isinstance(element, (Select, Update, Delete)) or hasattr(element, "selects"):
            yield element
            continue
        stack.extend(element.get_children())


def _stack() -> Iterator[FrameType]:
    """This thread's frames, then those of the greenlets it runs for: SQLAlchemy's asyncio
    layer runs the statement in a child greenlet whose caller is the awaiting coroutine."""
    frame: FrameType | None = sys._getframe(1)
    while frame is not None:
        yield frame
        frame = frame.f_back
    try:
        import greenlet
    except ImportError:  # pragma: no cover
        return
    parent = greenlet.getcurrent().parent
    while parent is not None:
        frame = parent.gr_frame
        while frame is not None:
            yield frame
            frame = frame.f_back
        parent = parent.parent


def _origin(frames: Iterator[FrameType]) -> str | None:
    """Who wrote the statement: the innermost frame of the project's code decides."""
    for frame in frames:
        path = Path(frame.f_code.co_filename)
        if path == THIS_FILE:
            continue
        if path.is_relative_to(MIGRATIONS_DIR):
            return "migration"
        if path.is_relative_to(APP_DIR):
            return "app"
        if path.is_relative_to(TESTS_DIR):
            return "test"
    return None


def _stack_functions() -> Iterator[str]:
    for frame in _stack():
        yield f"{frame.f_globals.get('__name__')}:{frame.f_code.co_qualname}"


# Fixtures (imported by tests/conftest.py) ---------------------------------------------------

import pytest  # noqa: E402


@pytest.fixture(scope="session", autouse=True)
def tenant_guard() -> Iterator[TenantGuard]:
    """Watches every statement of the session; `tenant_guard.take()` returns what it caught."""
    import assmat.app  # noqa: F401 - the composition root imports every feature's tables
    from assmat.core.db.base import Base

    guard = TenantGuard(Base.registry)
    guard.install()
    try:
        yield guard
    finally:
        guard.uninstall()


@pytest.fixture(autouse=True)
def _no_statement_without_tenant(tenant_guard: TenantGuard) -> Iterator[None]:
    tenant_guard.take()  # what a previous test's background worker ran is not this test's
    yield
    caught = tenant_guard.take()
    if caught:
        unique = list(dict.fromkeys(str(violation) for violation in caught))
        pytest.fail("tenant guard: statements on tenant-owned tables without a tenant_id predicate:\n"
                    + "\n".join(unique), pytrace=False)
