"""Tables. Every row that belongs to a tenant carries `tenant_id`, and every unique
constraint on such a table includes it: the same identifier in two tenants is two accounts."""

from __future__ import annotations

from datetime import datetime
from typing import Any

from sqlalchemy import DateTime, ForeignKeyConstraint, MetaData, UniqueConstraint
from sqlalchemy.orm import DeclarativeBase
from sqlalchemy.types import TypeDecorator

from assmat.core import clock


NAMING = {
    "ix": "ix_%(column_0_label)s",
    # All the columns: the same as column_0 for one column, distinct for composite keys.
    "uq": "uq_%(table_name)s_%(column_0_N_name)s",
    "ck": "ck_%(table_name)s_%(constraint_name)s",
    "fk": "fk_%(table_name)s_%(column_0_N_name)s_%(referred_table_name)s",
    "pk": "pk_%(table_name)s",
}


class UTCDateTime(TypeDecorator[datetime]):
    """Aware UTC datetimes on every backend (SQLite stores naive values)."""

    impl = DateTime(timezone=True)
    cache_ok = True

    def process_bind_param(self, value: datetime | None, dialect: Any) -> datetime | None:
        if value is not None and value.tzinfo is None:
            raise ValueError("naive datetime")
        return value

    def process_result_value(self, value: datetime | None, dialect: Any) -> datetime | None:
        if value is not None and value.tzinfo is None:
            from datetime import UTC

            value = value.replace(tzinfo=UTC)
        return value


class Base(DeclarativeBase):
    metadata = MetaData(naming_convention=NAMING)
    type_annotation_map = {datetime: UTCDateTime()}


def tenant_key() -> UniqueConstraint:
    """`(tenant_id, id)` of a row that others point at: the target of their `same_tenant` keys."""
    return UniqueConstraint("tenant_id", "id")


def same_tenant(column: str, parent: str, ondelete: str | None = None, beside_set_null: bool = False) -> ForeignKeyConstraint:
    """`(tenant_id, column)` → `parent(tenant_id, id)`: the database itself refuses a row that
    points at another tenant's row. NULL in `column` points at nothing and is not checked.

    `beside_set_null`: the column keeps its own single-column key ON DELETE SET NULL (SET NULL
    here would erase the row's tenant too); this one is checked at commit, once that SET NULL
    has run (PostgreSQL fires the two keys' triggers in an order of their own)."""
    if beside_set_null:
        return ForeignKeyConstraint(["tenant_id", column], [f"{parent}.tenant_id", f"{parent}.id"],
                                    deferrable=True, initially="DEFERRED")
    return ForeignKeyConstraint(["tenant_id", column], [f"{parent}.tenant_id", f"{parent}.id"], ondelete=ondelete)


def _now() -> datetime:
    return clock.now()
