"""positions: the geocoder's result kept with each fiche's position, and the assistants' position
correction requests

Revision ID: 0015_positions
Revises: 0014_photos
Create Date: 2026-12-01 18:45:00

Positions already stored came from an import or the demo: they are marked `import`, so that the
geocoder replaces them once it runs (only a correction accepted by staff is kept).
"""

from alembic import op
import sqlalchemy as sa


revision = '0015_positions'
down_revision = '0014_photos'
branch_labels = None
depends_on = None


def upgrade() -> None:
    with op.batch_alter_table('fiches', schema=None) as batch_op:
        batch_op.add_column(sa.Column('position_source', sa.String(length=12), nullable=True))
        batch_op.add_column(sa.Column('geocoded_at', sa.DateTime(timezone=True), nullable=True))
        batch_op.add_column(sa.Column('geocode_score', sa.Double(), nullable=True))
        batch_op.add_column(sa.Column('geocode_type', sa.String(length=12), nullable=True))
        batch_op.add_column(sa.Column('geocode_label', sa.String(length=300), nullable=True))
        batch_op.add_column(sa.Column('address_hash', sa.String(length=64), nullable=True))
        batch_op.add_column(sa.Column('geocode_failed_at', sa.DateTime(timezone=True), nullable=True))
        batch_op.create_check_constraint(
            op.f('ck_fiches_position_source'),
            "position_source IS NULL OR position_source IN ('geocoder', 'correction', 'import', 'demo')")
        batch_op.create_check_constraint(
            op.f('ck_fiches_geocode_type'),
            "geocode_type IS NULL OR geocode_type IN ('housenumber', 'street', 'locality', 'municipality')")
    op.execute("UPDATE fiches SET position_source = 'import' WHERE latitude IS NOT NULL")

    op.create_table('position_corrections',
    sa.Column('id', sa.Integer(), nullable=False),
    sa.Column('tenant_id', sa.String(length=63), nullable=False),
    sa.Column('account_id', sa.Integer(), nullable=False),
    sa.Column('latitude', sa.Double(), nullable=False),
    sa.Column('longitude', sa.Double(), nullable=False),
    sa.Column('url', sa.String(length=500), nullable=False),
    sa.Column('message', sa.String(length=1000), nullable=True),
    sa.Column('state', sa.String(length=10), nullable=False),
    sa.Column('requested_at', sa.DateTime(timezone=True), nullable=False),
    sa.Column('reviewed_at', sa.DateTime(timezone=True), nullable=True),
    sa.Column('reviewed_by', sa.String(length=254), nullable=True),
    sa.Column('rejection_reason', sa.String(length=500), nullable=True),
    sa.CheckConstraint("state IN ('pending', 'accepted', 'rejected')", name=op.f('ck_position_corrections_state')),
    sa.ForeignKeyConstraint(['tenant_id', 'account_id'], ['accounts.tenant_id', 'accounts.id'], name=op.f('fk_position_corrections_tenant_id_account_id_accounts'), ondelete='CASCADE'),
    sa.ForeignKeyConstraint(['tenant_id'], ['tenants.slug'], name=op.f('fk_position_corrections_tenant_id_tenants')),
    sa.PrimaryKeyConstraint('id', name=op.f('pk_position_corrections')),
    sa.UniqueConstraint('tenant_id', 'account_id', name=op.f('uq_position_corrections_tenant_id_account_id'))
    )


def downgrade() -> None:
    op.drop_table('position_corrections')
    with op.batch_alter_table('fiches', schema=None) as batch_op:
        batch_op.drop_constraint(op.f('ck_fiches_geocode_type'), type_='check')
        batch_op.drop_constraint(op.f('ck_fiches_position_source'), type_='check')
        batch_op.drop_column('geocode_failed_at')
        batch_op.drop_column('address_hash')
        batch_op.drop_column('geocode_label')
        batch_op.drop_column('geocode_type')
        batch_op.drop_column('geocode_score')
        batch_op.drop_column('geocoded_at')
        batch_op.drop_column('position_source')
