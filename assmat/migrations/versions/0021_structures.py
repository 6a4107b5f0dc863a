"""structures: the MAM and relais of a tenant, each with the account that signs in by its email

Revision ID: 0021_structures
Revises: 0020_franceconnect
Create Date: 2026-12-01 22:30:00
"""

from alembic import op
import sqlalchemy as sa


revision = "0021_structures"
down_revision = "0020_franceconnect"
branch_labels = None
depends_on = None


def upgrade() -> None:
    op.create_table('structures',
    sa.Column('id', sa.Integer(), nullable=False),
    sa.Column('tenant_id', sa.String(length=63), nullable=False),
    sa.Column('kind', sa.String(length=3), nullable=False),
    sa.Column('name', sa.String(length=200), nullable=False),
    sa.Column('address', sa.String(length=300), nullable=True),
    sa.Column('postal_code', sa.String(length=10), nullable=True),
    sa.Column('city', sa.String(length=100), nullable=True),
    sa.Column('email', sa.String(length=254), nullable=False),
    sa.Column('phone', sa.String(length=40), nullable=True),
    sa.Column('communes', sa.Text(), nullable=True),
    sa.Column('account_id', sa.Integer(), nullable=True),
    sa.Column('created_at', sa.DateTime(timezone=True), nullable=False),
    sa.CheckConstraint("kind IN ('mam', 'ram')", name=op.f('ck_structures_kind')),
    sa.ForeignKeyConstraint(['account_id'], ['accounts.id'], name=op.f('fk_structures_account_id_accounts'), ondelete='SET NULL'),
    sa.ForeignKeyConstraint(['tenant_id', 'account_id'], ['accounts.tenant_id', 'accounts.id'], name=op.f('fk_structures_tenant_id_account_id_accounts'), initially='DEFERRED', deferrable=True),
    sa.ForeignKeyConstraint(['tenant_id'], ['tenants.slug'], name=op.f('fk_structures_tenant_id_tenants')),
    sa.PrimaryKeyConstraint('id', name=op.f('pk_structures')),
    sa.UniqueConstraint('tenant_id', 'account_id', name='uq_structures_tenant_account'),
    sa.UniqueConstraint('tenant_id', 'id', name=op.f('uq_structures_tenant_id_id'))
    )
    op.create_index(op.f('ix_structures_tenant_id'), 'structures', ['tenant_id'], unique=False)


def downgrade() -> None:
    op.drop_index(op.f('ix_structures_tenant_id'), table_name='structures')
    op.drop_table('structures')
