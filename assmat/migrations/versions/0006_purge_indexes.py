"""purge: index the dates the purge deletes by

Revision ID: 0006_purge_indexes
Revises: 0005
Create Date: 2026-12-01 12:20:00
"""

from alembic import op

revision = "0006_purge_indexes"
down_revision = "0005"
branch_labels = None
depends_on = None

# (table, column): assmat.core.db.purge deletes expired rows of each table by this date, in batches.
INDEXES = [
    ("sessions", "expires_at"),
    ("admin_sessions", "expires_at"),
    ("captcha_challenges", "expires_at"),
    ("account_tokens", "expires_at"),
    ("rate_limits", "window_start"),
    ("outbox", "sent_at"),
]


def upgrade() -> None:
    for table, column in INDEXES:
        op.create_index(f"ix_{table}_{column}", table, [column], unique=False)


def downgrade() -> None:
    for table, column in reversed(INDEXES):
        op.drop_index(f"ix_{table}_{column}", table_name=table)
