"""Alembic owns the schema: the migrations produce exactly the models, up and down."""

import pytest
from alembic.autogenerate import compare_metadata
from alembic.migration import MigrationContext
from sqlalchemy import create_engine, inspect, pool

from assmat.core.db.engine import sync_url
from assmat.core.db.migrate import downgrade, upgrade
from assmat.core.db.base import Base

# The migrations must produce the models on each backend.
pytestmark = pytest.mark.both_backends


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


def test_0010_moves_the_guardians_to_rows_and_back(database_url):
    """Guardians given before 0010 become rows (an empty guardian none), the children and their
    periods stay; the downgrade puts every detail back in its column."""
    from datetime import date, datetime

    from sqlalchemy import text

    downgrade(database_url, "0007_message_search")
    engine = create_engine(sync_url(database_url), poolclass=pool.NullPool)
    now = datetime(2026, 11, 2, 9, 0)
    details = ("civility", "last_name", "first_name", "email", "phone")
    columns = [f"guardian{n}_{name}" for n in (1, 2) for name in details]
    both = ("Madame", "PETIT", "Claire", "claire@example.org", "0612345678",
            "Monsieur", "PETIT", "Paul", None, "0623456789")
    children = {
        1: both,
        2: ("Madame", "MARTIN", None, None, None, *[None] * 5),  # guardian 2 left empty
        3: (*[None] * 5, None, None, None, "papa@example.org", None),  # only guardian 2
        4: (None, "", None, None, None, *[None] * 5),  # nothing given: an empty string is not a detail
    }
    select_children = text(f"SELECT id, {', '.join(columns)} FROM children ORDER BY id")
    try:
        with engine.begin() as db:
            db.execute(text("INSERT INTO tenants (slug, name, created_at) VALUES ('t', 'T', :now)"), {"now": now})
            db.execute(text("INSERT INTO accounts (id, tenant_id, kind, identifier, must_change_password, "
                            "needs_security_update, failed_logins, publication_consent, created_at, updated_at) "
                            "VALUES (1, 't', 'assistant', 'a', false, false, 0, false, :now, :now)"), {"now": now})
            for child_id, values in children.items():
                db.execute(text(f"INSERT INTO children (id, tenant_id, account_id, last_name, first_name, birth_date, "
                                f"address, postal_code, city, has_second_address, declared_at, created_at, updated_at, "
                                f"declared_late, {', '.join(columns)}) VALUES (:id, 't', 1, 'N', 'P', :birth, 'a', "
                                f"'06000', 'Nice', false, :now, :now, :now, false, "
                                f"{', '.join(':' + column for column in columns)})"),
                           {"id": child_id, "birth": date(2025, 1, 1), "now": now, **dict(zip(columns, values))})
                db.execute(text("INSERT INTO care_periods (tenant_id, child_id, childcare_type, start_date) "
                                "VALUES ('t', :child, 'standard', :start)"), {"child": child_id, "start": date(2026, 1, 5)})

        upgrade(database_url)
        with engine.connect() as db:
            guardians = [tuple(row) for row in db.execute(text(
                "SELECT tenant_id, child_id, position, civility, last_name, first_name, email, phone "
                "FROM guardians ORDER BY child_id, position"))]
            kept = db.execute(text("SELECT count(*) FROM children")).scalar_one(), \
                db.execute(text("SELECT count(*) FROM care_periods")).scalar_one()
            left = {column["name"] for column in inspect(db).get_columns("children")} & set(columns)

        downgrade(database_url, "0007_message_search")
        with engine.connect() as db:
            restored = {row[0]: tuple(row[1:]) for row in db.execute(select_children)}
            periods = db.execute(text("SELECT count(*) FROM care_periods")).scalar_one()
            tables = set(inspect(db).get_table_names())
        upgrade(database_url)
    finally:
        engine.dispose()
    assert guardians == [
        ("t", 1, 1, "Madame", "PETIT", "Claire", "claire@example.org", "0612345678"),
        ("t", 1, 2, "Monsieur", "PETIT", "Paul", None, "0623456789"),
        ("t", 2, 1, "Madame", "MARTIN", None, None, None),
        ("t", 3, 2, None, None, None, "papa@example.org", None),
    ]
    assert kept == (4, 4) and left == set()
    assert restored == {**children, 4: (None,) * 10} and periods == 4 and "guardians" not in tables
def test_0009_moves_console_tokens_and_sessions_into_the_shared_tables_and_back(database_url):
    """A console's links and sessions survive 0009 (and its downgrade), now rows of the one token
    table and the one session table, each of exactly one principal."""
    from datetime import datetime

    import pytest
    from sqlalchemy import text
    from sqlalchemy.exc import IntegrityError

    downgrade(database_url, "0007_message_search")
    engine = create_engine(sync_url(database_url), poolclass=pool.NullPool)
    now, later = datetime(2026, 11, 2, 9, 0), datetime(2026, 11, 4, 9, 0)
    try:
        with engine.begin() as db:
            db.execute(text("INSERT INTO tenants (slug, name, created_at) VALUES ('t', 'T', :now)"), {"now": now})
            for admin_id, tenant in ((1, "t"), (2, None)):  # a tenant's staff, a super-admin
                db.execute(text("INSERT INTO admins (id, tenant_id, email, email_key, role, failed_logins, created_at) "
                                "VALUES (:id, :tenant, :email, :email, 'admin', 0, :now)"),
                           {"id": admin_id, "tenant": tenant, "email": f"a{admin_id}@example.org", "now": now})
                db.execute(text("INSERT INTO admin_tokens (token_hash, admin_id, purpose, created_at, expires_at) "
                                "VALUES (:hash, :id, 'set_password', :now, :later)"),
                           {"hash": f"{admin_id}".ljust(64, "h"), "id": admin_id, "now": now, "later": later})
                db.execute(text("INSERT INTO admin_sessions (id, admin_id, tenant_id, created_at, last_seen_at, expires_at) "
                                "VALUES (:sid, :id, :tenant, :now, :now, :later)"),
                           {"sid": f"{admin_id}".ljust(64, "s"), "id": admin_id, "tenant": tenant, "now": now, "later": later})
        upgrade(database_url)
        with engine.connect() as db:
            tokens = set(db.execute(text("SELECT admin_id, tenant_id, account_id, purpose FROM account_tokens")).all())
            sessions = set(db.execute(text("SELECT admin_id, tenant_id, account_id FROM sessions")).all())
        assert tokens == {(1, "t", None, "set_password"), (2, None, None, "set_password")}
        assert sessions == {(1, "t", None), (2, None, None)}
        with pytest.raises(IntegrityError), engine.begin() as db:  # no principal: refused
            db.execute(text("INSERT INTO sessions (id, tenant_id, created_at, last_seen_at, expires_at) "
                            "VALUES ('x', 't', :now, :now, :later)"), {"now": now, "later": later})
        downgrade(database_url, "0007_message_search")
        with engine.connect() as db:
            back_tokens = set(db.execute(text("SELECT admin_id, purpose FROM admin_tokens")).all())
            back_sessions = set(db.execute(text("SELECT admin_id, tenant_id FROM admin_sessions")).all())
        assert back_tokens == {(1, "set_password"), (2, "set_password")}
        assert back_sessions == {(1, "t"), (2, None)}
        upgrade(database_url)
    finally:
        engine.dispose()


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
    assert len(composite) == 40  # 0008's twelve, the guardians' (0010), publication's two (0011), the fiches' (0012),
    # availability's five (0013), the photos' two (0014), the position corrections' (0015), the search table's (0016),
    # the address positions' (0017), the habilitation requests' (0018), the search's places (0019),
    # FranceConnect's links and requests (0020), the structure accounts' and members' two each (0023), a family's
    # favourites, searches, their notices, contact requests (two) and the assistants who receive none (0024)
    assert composite[("guardians", "fk_guardians_tenant_id_child_id_children")] == (["tenant_id", "child_id"], "CASCADE")
    assert composite[("care_periods", "fk_care_periods_tenant_id_child_id_children")][0] == ["tenant_id", "child_id"]
    assert not set(composite) & set(down)
    assert down[("care_periods", "fk_care_periods_child_id_children")] == (["child_id"], "CASCADE")
    assert down[("message_states", "fk_message_states_account_id_accounts")] == (["account_id"], "CASCADE")
    assert down[("audit_events", "fk_audit_events_account_id_accounts")] == (["account_id"], "SET NULL")
    assert again == up


def test_0011_moves_the_imported_consent_into_the_register_and_back(database_url):
    """`accounts.publication_consent` becomes a register line (consent, from the import, dated by
    the account's last import) and a state row; the column goes. Down, it comes back from the
    standing choice."""
    from datetime import datetime

    from sqlalchemy import text

    downgrade(database_url, "0010_guardians")
    engine = create_engine(sync_url(database_url), poolclass=pool.NullPool)
    now, imported = datetime(2026, 11, 2, 9, 0), datetime(2026, 10, 1, 6, 0)
    try:
        with engine.begin() as db:
            db.execute(text("INSERT INTO tenants (slug, name, created_at) VALUES ('t', 'T', :now)"), {"now": now})
            for account_id, consent in ((1, True), (2, False), (3, True)):
                db.execute(text("INSERT INTO accounts (id, tenant_id, kind, identifier, must_change_password, "
                                "needs_security_update, failed_logins, publication_consent, imported_at, created_at, "
                                "updated_at) VALUES (:id, 't', 'assistant', :ident, false, false, 0, :consent, "
                                ":imported, :now, :now)"),
                           {"id": account_id, "ident": f"a{account_id}", "consent": consent, "now": now,
                            "imported": imported if account_id == 1 else None})
        upgrade(database_url)
        with engine.connect() as db:
            register = [tuple(row) for row in db.execute(text(
                "SELECT tenant_id, account_id, kind, source, recorded_by FROM publication_register ORDER BY account_id"))]
            dates = [row[0] for row in db.execute(text("SELECT created_at FROM publication_register ORDER BY account_id"))]
            states = [tuple(row) for row in db.execute(text(
                "SELECT account_id, choice, last_kind, suspended_at FROM publication_states ORDER BY account_id"))]
            columns = {column["name"] for column in inspect(db).get_columns("accounts")}
        downgrade(database_url, "0010_guardians")
        with engine.connect() as db:
            restored = [tuple(row) for row in db.execute(text(
                "SELECT id, publication_consent FROM accounts ORDER BY id"))]
            tables = set(inspect(db).get_table_names())
        upgrade(database_url)
    finally:
        engine.dispose()
    assert register == [("t", 1, "consent", "import", None), ("t", 3, "consent", "import", None)]
    assert str(dates[0]).startswith("2026-10-01") and str(dates[1]).startswith("2026-11-02")
    assert states == [(1, "consent", "consent", None), (3, "consent", "consent", None)]
    assert "publication_consent" not in columns
    assert [(i, bool(c)) for i, c in restored] == [(1, True), (2, False), (3, True)]
    assert not tables & {"publication_register", "publication_states"}


def test_0023_moves_a_structures_account_to_its_accounts_and_back(database_url):
    """`structures.account_id` becomes the structure's first row of `structure_accounts`, its
    email the published one; the column goes. Down, the first account comes back to the column."""
    from datetime import datetime

    from sqlalchemy import text

    downgrade(database_url, "0022_families")
    engine = create_engine(sync_url(database_url), poolclass=pool.NullPool)
    now = datetime(2026, 11, 2, 9, 0)
    try:
        with engine.begin() as db:
            db.execute(text("INSERT INTO tenants (slug, name, created_at) VALUES ('t', 'T', :now)"), {"now": now})
            db.execute(text("INSERT INTO accounts (id, tenant_id, kind, identifier, must_change_password, "
                            "needs_security_update, failed_logins, created_at, updated_at) "
                            "VALUES (7, 't', 'mam', 'mam@example.org', false, false, 0, :now, :now)"), {"now": now})
            for structure_id, account_id in ((1, 7), (2, None)):
                db.execute(text("INSERT INTO structures (id, tenant_id, kind, name, email, account_id, created_at) "
                                "VALUES (:id, 't', 'mam', 'MAM', :email, :account, :now)"),
                           {"id": structure_id, "email": f"mam{structure_id}@example.org", "account": account_id,
                            "now": now})
        upgrade(database_url)
        with engine.connect() as db:
            links = [tuple(row) for row in db.execute(text(
                "SELECT tenant_id, structure_id, account_id FROM structure_accounts"))]
            published = [tuple(row) for row in db.execute(text("SELECT id, public_email FROM structures ORDER BY id"))]
            columns = {column["name"] for column in inspect(db).get_columns("structures")}
        downgrade(database_url, "0022_families")
        with engine.connect() as db:
            restored = [tuple(row) for row in db.execute(text("SELECT id, account_id FROM structures ORDER BY id"))]
            tables = set(inspect(db).get_table_names())
        upgrade(database_url)
    finally:
        engine.dispose()
    assert links == [("t", 1, 7)]
    assert published == [(1, "mam1@example.org"), (2, "mam2@example.org")]
    assert "account_id" not in columns and {"presentation", "hours", "updated_at"} <= columns
    assert restored == [(1, 7), (2, None)]
    assert not tables & {"structure_accounts", "structure_members"}
