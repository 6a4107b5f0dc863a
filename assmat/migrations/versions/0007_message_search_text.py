"""message search text: accent- and case-insensitive search on every backend

Revision ID: 0007_message_search
Revises: 0006_purge_indexes
Create Date: 2026-12-01 12:10:00
"""

import unicodedata

from alembic import op
import sqlalchemy as sa


revision = "0007_message_search"
down_revision = "0006_purge_indexes"
branch_labels = None
depends_on = None


def upgrade() -> None:
    with op.batch_alter_table('messages', schema=None) as batch_op:
        batch_op.add_column(sa.Column('search_text', sa.Text(), server_default='', nullable=False))
    _backfill()


def _fold(*parts):
    """The rule of this revision, frozen here (a migration never imports live code): no
    accents, lower case, single spaces, over sender, subject and body."""
    decomposed = unicodedata.normalize("NFKD", " ".join(part for part in parts if part))
    letters = "".join(c for c in decomposed if not unicodedata.combining(c))
    return " ".join(letters.casefold().split())


def _backfill(batch: int = 2000) -> None:
    """Messages written before this revision, by batches in id order, each batch written with
    one executemany (a large table is neither one statement per row nor all in memory)."""
    bind = op.get_bind()
    messages = sa.table('messages', sa.column('id', sa.Integer), sa.column('sender', sa.String),
                        sa.column('subject', sa.String), sa.column('body', sa.Text), sa.column('search_text', sa.Text))
    write = messages.update().where(messages.c.id == sa.bindparam('b_id')).values(search_text=sa.bindparam('b_text'))
    last = 0
    while True:
        rows = bind.execute(
            sa.select(messages.c.id, messages.c.sender, messages.c.subject, messages.c.body)
            .where(messages.c.id > last).order_by(messages.c.id).limit(batch)
        ).all()
        if not rows:
            return
        bind.execute(write, [{"b_id": row.id, "b_text": _fold(row.sender, row.subject, row.body)} for row in rows])
        last = rows[-1].id


def downgrade() -> None:
    with op.batch_alter_table('messages', schema=None) as batch_op:
        batch_op.drop_column('search_text')
