"""tenant composite keys: a row can only point at a row of its own tenant

Revision ID: 0008_tenant_composite_keys
Revises: 0007_message_search
Create Date: 2026-12-01 15:00:00

Every parent gets a unique `(tenant_id, id)`; every child's key becomes `(tenant_id, <fk>)` →
`parent(tenant_id, id)`, with the same ON DELETE as before. Where the key was SET NULL
(audit_events.account_id, import_runs.admin_id), SET NULL on both columns would erase the row's
tenant: the old key stays and does the SET NULL, the composite one is added beside it and
checked at commit (PostgreSQL fires the triggers of two keys in the order of their names, so an
immediate check could run before the SET NULL and refuse the delete).
"""

from alembic import op

revision = "0008_tenant_composite_keys"
down_revision = "0007_message_search"
branch_labels = None
depends_on = None

PARENTS = ["accounts", "admins", "children", "messages"]

# (table, column, parent, ON DELETE): the single-column key is replaced by the composite one.
REPLACED = [
    ("password_history", "account_id", "accounts", "CASCADE"),
    ("sessions", "account_id", "accounts", "CASCADE"),
    ("account_tokens", "account_id", "accounts", "CASCADE"),
    ("agrements", "account_id", "accounts", "CASCADE"),
    ("children", "account_id", "accounts", "CASCADE"),
    ("care_periods", "child_id", "children", "CASCADE"),
    ("messages", "recipient_account_id", "accounts", "CASCADE"),
    ("message_states", "message_id", "messages", "CASCADE"),
    ("message_states", "account_id", "accounts", "CASCADE"),
    ("situation_changes", "account_id", "accounts", "CASCADE"),
]
# (table, column, parent): the composite key is added beside the single-column SET NULL one.
ADDED = [
    ("audit_events", "account_id", "accounts"),
    ("import_runs", "admin_id", "admins"),
]


def _single(table: str, column: str, parent: str) -> str:
    return f"fk_{table}_{column}_{parent}"


def _composite(table: str, column: str, parent: str) -> str:
    return f"fk_{table}_tenant_id_{column}_{parent}"


def _by_table(rows: list[tuple]) -> dict[str, list[tuple]]:
    grouped: dict[str, list[tuple]] = {}
    for row in rows:
        grouped.setdefault(row[0], []).append(row)
    return grouped


def upgrade() -> None:
    for parent in PARENTS:
        with op.batch_alter_table(parent, schema=None) as batch_op:
            batch_op.create_unique_constraint(f"uq_{parent}_tenant_id_id", ["tenant_id", "id"])
    replaced, added = _by_table(REPLACED), _by_table(ADDED)
    for table in [*replaced, *added]:
        with op.batch_alter_table(table, schema=None) as batch_op:
            for _, column, parent, ondelete in replaced.get(table, []):
                batch_op.drop_constraint(_single(table, column, parent), type_="foreignkey")
                batch_op.create_foreign_key(_composite(table, column, parent), parent, ["tenant_id", column],
                                            ["tenant_id", "id"], ondelete=ondelete)
            for _, column, parent in added.get(table, []):
                batch_op.create_foreign_key(_composite(table, column, parent), parent, ["tenant_id", column],
                                            ["tenant_id", "id"], deferrable=True, initially="DEFERRED")


def downgrade() -> None:
    replaced, added = _by_table(REPLACED), _by_table(ADDED)
    for table in [*replaced, *added]:
        with op.batch_alter_table(table, schema=None) as batch_op:
            for _, column, parent, ondelete in replaced.get(table, []):
                batch_op.drop_constraint(_composite(table, column, parent), type_="foreignkey")
                batch_op.create_foreign_key(_single(table, column, parent), parent, [column], ["id"], ondelete=ondelete)
            for _, column, parent in added.get(table, []):
                batch_op.drop_constraint(_composite(table, column, parent), type_="foreignkey")
    for parent in reversed(PARENTS):
        with op.batch_alter_table(parent, schema=None) as batch_op:
            batch_op.drop_constraint(f"uq_{parent}_tenant_id_id", type_="unique")
