"""families: a family account created online keeps the time of its registration, until its
address is confirmed or the registration expires

Revision ID: 0022_families
Revises: 0021_structures
Create Date: 2026-12-02 00:30:00
"""

from alembic import op
import sqlalchemy as sa


revision = "0022_families"
down_revision = "0021_structures"
branch_labels = None
depends_on = None


def upgrade() -> None:
    with op.batch_alter_table("accounts") as batch:
        batch.add_column(sa.Column("registered_at", sa.DateTime(timezone=True), nullable=True))


def downgrade() -> None:
    with op.batch_alter_table("accounts") as batch:
        batch.drop_column("registered_at")
