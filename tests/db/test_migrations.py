"""Alembic owns the schema: the migrations produce exactly the models, up and down."""

from alembic.autogenerate import compare_metadata
from alembic.migration import MigrationContext
from sqlalchemy import create_engine, inspect, pool

from assmat.db.engine import sync_url
from assmat.db.migrate import downgrade, upgrade
from assmat.db.models import Base


def test_migrations_match_the_models(database_url):
    engine = create_engine(sync_url(database_url), poolclass=pool.NullPool)
    try:
        with engine.connect() as connection:
            diff = compare_metadata(MigrationContext.configure(connection, opts={"compare_type": True}), Base.metadata)
    finally:
        engine.dispose()
    assert diff == [], "models and migrations differ: generate one with `assmat db revision MESSAGE`"


def test_downgrade_to_base_and_upgrade_again(database_url):
    downgrade(database_url, "base")
    engine = create_engine(sync_url(database_url), poolclass=pool.NullPool)
    try:
        assert set(inspect(engine).get_table_names()) <= {"alembic_version"}
        upgrade(database_url)
        assert {"tenants", "accounts", "audit_events"} <= set(inspect(engine).get_table_names())
    finally:
        engine.dispose()
