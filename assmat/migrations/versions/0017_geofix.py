"""geofix: the positions found for the addresses of assistants who have no fiche yet

Revision ID: 0017_geofix
Revises: 0016_search
Create Date: 2026-12-01 21:00:00

Starts empty: the next `assmat geocode` run locates the addresses of the imported assistants
who never saved their fiche, and their first save takes the position.
"""

from alembic import op
import sqlalchemy as sa


revision = '0017_geofix'
down_revision = '0016_search'
branch_labels = None
depends_on = None


def upgrade() -> None:
    op.create_table('address_positions',
    sa.Column('id', sa.Integer(), nullable=False),
    sa.Column('tenant_id', sa.String(length=63), nullable=False),
    sa.Column('account_id', sa.Integer(), nullable=False),
    sa.Column('latitude', sa.Double(), nullable=True),
    sa.Column('longitude', sa.Double(), nullable=True),
    sa.Column('geocoded_at', sa.DateTime(timezone=True), nullable=True),
    sa.Column('geocode_score', sa.Double(), nullable=True),
    sa.Column('geocode_type', sa.String(length=12), nullable=True),
    sa.Column('geocode_label', sa.String(length=300), nullable=True),
    sa.Column('address_hash', sa.String(length=64), nullable=True),
    sa.Column('geocode_failed_at', sa.DateTime(timezone=True), nullable=True),
    sa.ForeignKeyConstraint(['tenant_id', 'account_id'], ['accounts.tenant_id', 'accounts.id'], name=op.f('fk_address_positions_tenant_id_account_id_accounts'), ondelete='CASCADE'),
    sa.ForeignKeyConstraint(['tenant_id'], ['tenants.slug'], name=op.f('fk_address_positions_tenant_id_tenants')),
    sa.PrimaryKeyConstraint('id', name=op.f('pk_address_positions')),
    sa.UniqueConstraint('tenant_id', 'account_id', name=op.f('uq_address_positions_tenant_id_account_id'))
    )


def downgrade() -> None:
    op.drop_table('address_positions')
