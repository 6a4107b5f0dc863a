"""search: the parents' search table, one row per published fiche

Revision ID: 0016_search
Revises: 0015_positions
Create Date: 2026-12-01 18:38:50

`directory_entries` is derived data (the fiche, its publication, its availability), rewritten
by the services in the transaction of each change; it starts empty here and is filled by
`assmat directory-rebuild` (run after this upgrade, then nightly).
"""

from alembic import op
import sqlalchemy as sa


revision = '0016_search'
down_revision = '0015_positions'
branch_labels = None
depends_on = None


def upgrade() -> None:
    op.create_table('directory_entries',
    sa.Column('id', sa.Integer(), nullable=False),
    sa.Column('tenant_id', sa.String(length=63), nullable=False),
    sa.Column('account_id', sa.Integer(), nullable=False),
    sa.Column('public_id', sa.String(length=16), nullable=False),
    sa.Column('name', sa.String(length=201), nullable=False),
    sa.Column('name_key', sa.String(length=201), nullable=False),
    sa.Column('commune_insee', sa.String(length=5), nullable=True),
    sa.Column('commune_name', sa.String(length=100), nullable=True),
    sa.Column('postal_code', sa.String(length=10), nullable=True),
    sa.Column('latitude', sa.Double(), nullable=True),
    sa.Column('longitude', sa.Double(), nullable=True),
    sa.Column('precision', sa.String(length=10), nullable=True),
    sa.Column('grid_cell', sa.Integer(), nullable=True),
    sa.Column('offer_periscolaire', sa.Boolean(), server_default=sa.false(), nullable=False),
    sa.Column('offer_mercredi', sa.Boolean(), server_default=sa.false(), nullable=False),
    sa.Column('offer_vacances_scolaires', sa.Boolean(), server_default=sa.false(), nullable=False),
    sa.Column('offer_temps_partiel', sa.Boolean(), server_default=sa.false(), nullable=False),
    sa.Column('offer_avant_7h', sa.Boolean(), server_default=sa.false(), nullable=False),
    sa.Column('offer_apres_20h', sa.Boolean(), server_default=sa.false(), nullable=False),
    sa.Column('offer_samedi', sa.Boolean(), server_default=sa.false(), nullable=False),
    sa.Column('offer_dimanche', sa.Boolean(), server_default=sa.false(), nullable=False),
    sa.Column('offer_nuit', sa.Boolean(), server_default=sa.false(), nullable=False),
    sa.Column('offer_depannage_urgence', sa.Boolean(), server_default=sa.false(), nullable=False),
    sa.Column('offer_handicap', sa.Boolean(), server_default=sa.false(), nullable=False),
    sa.Column('declaration_id', sa.Integer(), nullable=True),
    sa.Column('none_available', sa.Boolean(), server_default=sa.false(), nullable=False),
    sa.Column('valid_until', sa.Date(), nullable=True),
    sa.Column('published_until', sa.Date(), nullable=True),
    sa.Column('updated_on', sa.Date(), nullable=True),
    sa.Column('refreshed_at', sa.DateTime(timezone=True), nullable=False),
    sa.CheckConstraint("precision IN ('address', 'commune')", name=op.f('ck_directory_entries_precision')),
    sa.ForeignKeyConstraint(['tenant_id', 'account_id'], ['accounts.tenant_id', 'accounts.id'], name=op.f('fk_directory_entries_tenant_id_account_id_accounts'), ondelete='CASCADE'),
    sa.ForeignKeyConstraint(['tenant_id'], ['tenants.slug'], name=op.f('fk_directory_entries_tenant_id_tenants')),
    sa.PrimaryKeyConstraint('id', name=op.f('pk_directory_entries')),
    sa.UniqueConstraint('tenant_id', 'account_id', name=op.f('uq_directory_entries_tenant_id_account_id'))
    )
    with op.batch_alter_table('directory_entries', schema=None) as batch_op:
        batch_op.create_index('ix_directory_entries_tenant_cell', ['tenant_id', 'grid_cell', 'latitude', 'longitude', 'published_until', 'valid_until', 'declaration_id'], unique=False)
        batch_op.create_index('ix_directory_entries_tenant_insee', ['tenant_id', 'commune_insee'], unique=False)
        batch_op.create_index('ix_directory_entries_tenant_name', ['tenant_id', 'name_key'], unique=False)
        batch_op.create_index('ix_directory_entries_tenant_postcode', ['tenant_id', 'postal_code'], unique=False)



def downgrade() -> None:
    with op.batch_alter_table('directory_entries', schema=None) as batch_op:
        batch_op.drop_index('ix_directory_entries_tenant_postcode')
        batch_op.drop_index('ix_directory_entries_tenant_name')
        batch_op.drop_index('ix_directory_entries_tenant_insee')
        batch_op.drop_index('ix_directory_entries_tenant_cell')

    op.drop_table('directory_entries')
