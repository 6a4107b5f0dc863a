"""franceconnect: identities linked to accounts, sign-ins under way, the ID token of a session

Revision ID: 0020_franceconnect
Revises: 0019_speed
Create Date: 2026-12-01 21:30:00
"""

from alembic import op
import sqlalchemy as sa


revision = "0020_franceconnect"
down_revision = "0019_speed"
branch_labels = None
depends_on = None


def upgrade() -> None:
    op.create_table('franceconnect_links',
    sa.Column('id', sa.Integer(), nullable=False),
    sa.Column('tenant_id', sa.String(length=63), nullable=False),
    sa.Column('account_id', sa.Integer(), nullable=False),
    sa.Column('sub', sa.String(length=255), nullable=False),
    sa.Column('created_at', sa.DateTime(timezone=True), nullable=False),
    sa.ForeignKeyConstraint(['tenant_id', 'account_id'], ['accounts.tenant_id', 'accounts.id'], name=op.f('fk_franceconnect_links_tenant_id_account_id_accounts'), ondelete='CASCADE'),
    sa.ForeignKeyConstraint(['tenant_id'], ['tenants.slug'], name=op.f('fk_franceconnect_links_tenant_id_tenants')),
    sa.PrimaryKeyConstraint('id', name=op.f('pk_franceconnect_links')),
    sa.UniqueConstraint('tenant_id', 'account_id', name='uq_franceconnect_links_tenant_account'),
    sa.UniqueConstraint('tenant_id', 'sub', name='uq_franceconnect_links_tenant_sub')
    )
    op.create_table('franceconnect_requests',
    sa.Column('id', sa.String(length=64), nullable=False),
    sa.Column('tenant_id', sa.String(length=63), nullable=False),
    sa.Column('purpose', sa.String(length=20), nullable=False),
    sa.Column('account_id', sa.Integer(), nullable=True),
    sa.Column('browser_hash', sa.String(length=64), nullable=False),
    sa.Column('nonce', sa.String(length=100), nullable=False),
    sa.Column('created_at', sa.DateTime(timezone=True), nullable=False),
    sa.Column('expires_at', sa.DateTime(timezone=True), nullable=False),
    sa.Column('used_at', sa.DateTime(timezone=True), nullable=True),
    sa.ForeignKeyConstraint(['tenant_id', 'account_id'], ['accounts.tenant_id', 'accounts.id'], name=op.f('fk_franceconnect_requests_tenant_id_account_id_accounts'), ondelete='CASCADE'),
    sa.ForeignKeyConstraint(['tenant_id'], ['tenants.slug'], name=op.f('fk_franceconnect_requests_tenant_id_tenants')),
    sa.PrimaryKeyConstraint('id', name=op.f('pk_franceconnect_requests'))
    )
    with op.batch_alter_table('franceconnect_requests', schema=None) as batch_op:
        batch_op.create_index(batch_op.f('ix_franceconnect_requests_expires_at'), ['expires_at'], unique=False)
    with op.batch_alter_table('sessions', schema=None) as batch_op:
        batch_op.add_column(sa.Column('franceconnect_id_token', sa.Text(), nullable=True))


def downgrade() -> None:
    with op.batch_alter_table('sessions', schema=None) as batch_op:
        batch_op.drop_column('franceconnect_id_token')
    with op.batch_alter_table('franceconnect_requests', schema=None) as batch_op:
        batch_op.drop_index(batch_op.f('ix_franceconnect_requests_expires_at'))
    op.drop_table('franceconnect_requests')
    op.drop_table('franceconnect_links')
