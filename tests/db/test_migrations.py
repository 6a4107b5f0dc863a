"""Alembic owns the schema: the migrations produce exactly the models, up and down."""

from alembic.autogenerate import compare_metadata
from alembic.migration import MigrationContext
from sqlalchemy import create_engine, inspect, pool

from assmat.core.db.engine import sync_url
from assmat.core.db.migrate import downgrade, upgrade
from assmat.core.db.base import Base


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


def test_0005_fills_the_declarations_earliest_start_and_lateness(database_url):
    """Children declared before 0005 get care_start and declared_late by the portal's rule."""
    from datetime import date, datetime

    from sqlalchemy import text

    downgrade(database_url, "0004")
    engine = create_engine(sync_url(database_url), poolclass=pool.NullPool)
    declared = datetime(2026, 11, 2, 9, 0)  # UTC: 2 November in Paris
    starts = {1: [date(2026, 10, 24)], 2: [date(2026, 10, 25), date(2026, 11, 20)], 3: [date(2026, 12, 1)],
              4: [], 5: [date(2026, 9, 1), date(2026, 10, 30)]}
    try:
        with engine.begin() as db:
            db.execute(text("INSERT INTO tenants (slug, name, created_at) VALUES ('t', 'T', :now)"), {"now": declared})
            db.execute(text("INSERT INTO accounts (id, tenant_id, kind, identifier, must_change_password, "
                            "needs_security_update, failed_logins, publication_consent, created_at, updated_at) "
                            "VALUES (1, 't', 'assistant', 'a', false, false, 0, false, :now, :now)"), {"now": declared})
            for child_id, dates in starts.items():
                db.execute(text("INSERT INTO children (id, tenant_id, account_id, last_name, first_name, birth_date, "
                                "address, postal_code, city, has_second_address, declared_at, created_at, updated_at) "
                                "VALUES (:id, 't', 1, 'N', 'P', :birth, 'a', '06000', 'Nice', false, :now, :now, :now)"),
                           {"id": child_id, "birth": date(2025, 1, 1), "now": declared})
                for start in dates:
                    db.execute(text("INSERT INTO care_periods (tenant_id, child_id, childcare_type, start_date) "
                                    "VALUES ('t', :child, 'standard', :start)"), {"child": child_id, "start": start})
        upgrade(database_url)
        with engine.connect() as db:
            rows = {row.id: (row.care_start, bool(row.declared_late))
                    for row in db.execute(text("SELECT id, care_start, declared_late FROM children"))}
    finally:
        engine.dispose()
    as_date = lambda value: date.fromisoformat(value) if isinstance(value, str) else value  # noqa: E731 - SQLite text
    assert {k: (as_date(v[0]), v[1]) for k, v in rows.items()} == {
        1: (date(2026, 10, 24), True),  # declared 9 days after the start
        2: (date(2026, 10, 25), False),  # 8 days: on time
        3: (date(2026, 12, 1), False),  # declared ahead
        4: (None, False),  # no period: nothing to say
        5: (date(2026, 9, 1), True),
    }


def test_0007_folds_the_messages_written_before_it_for_search(database_url):
    """Messages written before 0007 are found by accent- and case-insensitive search too."""
    from datetime import datetime

    from sqlalchemy import text

    downgrade(database_url, "0006_purge_indexes")
    engine = create_engine(sync_url(database_url), poolclass=pool.NullPool)
    now = datetime(2026, 11, 2, 9, 0)
    try:
        with engine.begin() as db:
            db.execute(text("INSERT INTO tenants (slug, name, created_at) VALUES ('t', 'T', :now)"), {"now": now})
            for number in range(1, 4):
                db.execute(text("INSERT INTO messages (id, tenant_id, sender, subject, body, created_at) "
                                "VALUES (:id, 't', 'Service PMI', :subject, 'Épisode  NEIGEUX.', :now)"),
                           {"id": number, "subject": f"Alerte MÉTÉO n°{number}", "now": now})
        upgrade(database_url)
        with engine.connect() as db:
            folded = dict(db.execute(text("SELECT id, search_text FROM messages")).all())
    finally:
        engine.dispose()
    assert folded == {n: f"service pmi alerte meteo n°{n} episode neigeux." for n in range(1, 4)}


def test_0008_composite_tenant_keys_go_down_and_up(database_url):
    """Down to 0007, every child points at its parent by id alone again (with its ON DELETE);
    back up, by (tenant_id, id)."""

    def keys(engine) -> dict[tuple[str, str], tuple[list[str], str | None]]:
        inspector = inspect(engine)
        return {(table, fk["name"]): (fk["constrained_columns"], (fk.get("options") or {}).get("ondelete"))
                for table in inspector.get_table_names() for fk in inspector.get_foreign_keys(table)}

    engine = create_engine(sync_url(database_url), poolclass=pool.NullPool)
    try:
        up = keys(engine)
        downgrade(database_url, "0007_message_search")
        down = keys(engine)
        upgrade(database_url)
        again = keys(engine)
    finally:
        engine.dispose()
    composite = {key: value for key, value in up.items() if value[0][0] == "tenant_id" and len(value[0]) == 2}
    assert len(composite) == 12
    assert composite[("care_periods", "fk_care_periods_tenant_id_child_id_children")][0] == ["tenant_id", "child_id"]
    assert not set(composite) & set(down)
    assert down[("care_periods", "fk_care_periods_child_id_children")] == (["child_id"], "CASCADE")
    assert down[("message_states", "fk_message_states_account_id_accounts")] == (["account_id"], "CASCADE")
    assert down[("audit_events", "fk_audit_events_account_id_accounts")] == (["account_id"], "SET NULL")
    assert again == up
