"""speed: the search's copy of the places, and a wider covering index of the entries

Revision ID: 0019_speed
Revises: 0018_habilitation
Create Date: 2026-12-01 21:00:00

`directory_entry_places` is derived data like `directory_entries` (each place of a published
fiche's declaration: age group, dates, weekly grid as a bitmask, her public position); it starts empty here and is
filled by `assmat directory-rebuild` (run after this upgrade, then nightly). The entries' cell
index also covers `none_available` and `account_id`, what the availability filter reads; their
name index ends with `id`, the order of a page by name.
"""

from alembic import op
import sqlalchemy as sa


revision = '0019_speed'
down_revision = '0018_habilitation'
branch_labels = None
depends_on = None

OLD_CELL = ['tenant_id', 'grid_cell', 'latitude', 'longitude', 'published_until', 'valid_until', 'declaration_id']
NEW_CELL = ['tenant_id', 'grid_cell', 'latitude', 'longitude', 'published_until', 'valid_until', 'none_available',
            'account_id']


def upgrade() -> None:
    op.create_table('directory_entry_places',
    sa.Column('id', sa.Integer(), nullable=False),
    sa.Column('tenant_id', sa.String(length=63), nullable=False),
    sa.Column('account_id', sa.Integer(), nullable=False),
    sa.Column('age_group', sa.String(length=40), nullable=False),
    sa.Column('free_from', sa.Date(), nullable=True),
    sa.Column('free_until', sa.Date(), nullable=True),
    sa.Column('slot_mask', sa.BigInteger(), nullable=False),
    sa.Column('latitude', sa.Double(), nullable=True),
    sa.Column('longitude', sa.Double(), nullable=True),
    sa.Column('grid_cell', sa.Integer(), nullable=True),
    sa.ForeignKeyConstraint(['tenant_id', 'account_id'], ['accounts.tenant_id', 'accounts.id'], name=op.f('fk_directory_entry_places_tenant_id_account_id_accounts'), ondelete='CASCADE'),
    sa.ForeignKeyConstraint(['tenant_id'], ['tenants.slug'], name=op.f('fk_directory_entry_places_tenant_id_tenants')),
    sa.PrimaryKeyConstraint('id', name=op.f('pk_directory_entry_places'))
    )
    with op.batch_alter_table('directory_entry_places', schema=None) as batch_op:
        batch_op.create_index('ix_directory_entry_places_lookup', ['tenant_id', 'account_id', 'age_group', 'free_from', 'free_until', 'slot_mask'], unique=False)
        batch_op.create_index('ix_directory_entry_places_cell', ['tenant_id', 'grid_cell', 'age_group', 'latitude', 'longitude', 'free_from', 'free_until', 'slot_mask', 'account_id'], unique=False)
    with op.batch_alter_table('directory_entries', schema=None) as batch_op:
        batch_op.drop_index('ix_directory_entries_tenant_cell')
        batch_op.create_index('ix_directory_entries_tenant_cell', NEW_CELL, unique=False)
        batch_op.drop_index('ix_directory_entries_tenant_name')
        batch_op.create_index('ix_directory_entries_tenant_name', ['tenant_id', 'name_key', 'id'], unique=False)


def downgrade() -> None:
    with op.batch_alter_table('directory_entries', schema=None) as batch_op:
        batch_op.drop_index('ix_directory_entries_tenant_cell')
        batch_op.create_index('ix_directory_entries_tenant_cell', OLD_CELL, unique=False)
        batch_op.drop_index('ix_directory_entries_tenant_name')
        batch_op.create_index('ix_directory_entries_tenant_name', ['tenant_id', 'name_key'], unique=False)
    with op.batch_alter_table('directory_entry_places', schema=None) as batch_op:
        batch_op.drop_index('ix_directory_entry_places_cell')
        batch_op.drop_index('ix_directory_entry_places_lookup')
    op.drop_table('directory_entry_places')
