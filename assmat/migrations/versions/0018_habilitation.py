"""habilitation: the online habilitation requests of seed 004 (mon-enfant)

Revision ID: 0018_habilitation
Revises: 0017_geofix
Create Date: 2026-12-01 21:00:00

One row per request, typed by the requester, then matched against the assistants on file
(`account_id`, a composite key into the tenant's accounts) and worked by the staff.
"""

from alembic import op
import sqlalchemy as sa


revision = '0018_habilitation'
down_revision = '0017_geofix'
branch_labels = None
depends_on = None


def upgrade() -> None:
    op.create_table('habilitation_requests',
    sa.Column('id', sa.Integer(), nullable=False),
    sa.Column('tenant_id', sa.String(length=63), nullable=False),
    sa.Column('state', sa.String(length=20), nullable=False),
    sa.Column('status', sa.String(length=40), nullable=False),
    sa.Column('civility', sa.String(length=10), nullable=False),
    sa.Column('last_name', sa.String(length=100), nullable=False),
    sa.Column('first_name', sa.String(length=100), nullable=False),
    sa.Column('street_number', sa.String(length=10), nullable=True),
    sa.Column('street_type', sa.String(length=40), nullable=True),
    sa.Column('street_name', sa.String(length=200), nullable=False),
    sa.Column('postal_code', sa.String(length=5), nullable=False),
    sa.Column('city', sa.String(length=100), nullable=False),
    sa.Column('phone', sa.String(length=40), nullable=False),
    sa.Column('email', sa.String(length=254), nullable=False),
    sa.Column('email_key', sa.String(length=254), nullable=False),
    sa.Column('account_id', sa.Integer(), nullable=True),
    sa.Column('matched_by', sa.String(length=20), nullable=True),
    sa.Column('ip', sa.String(length=45), nullable=True),
    sa.Column('created_at', sa.DateTime(timezone=True), nullable=False),
    sa.Column('updated_at', sa.DateTime(timezone=True), nullable=False),
    sa.Column('consent_requested_at', sa.DateTime(timezone=True), nullable=True),
    sa.Column('consent_received_at', sa.DateTime(timezone=True), nullable=True),
    sa.Column('closed_at', sa.DateTime(timezone=True), nullable=True),
    sa.Column('decided_by', sa.String(length=254), nullable=True),
    sa.Column('rejection_reason', sa.Text(), nullable=True),
    sa.ForeignKeyConstraint(['tenant_id', 'account_id'], ['accounts.tenant_id', 'accounts.id'], name=op.f('fk_habilitation_requests_tenant_id_account_id_accounts'), ondelete='CASCADE'),
    sa.ForeignKeyConstraint(['tenant_id'], ['tenants.slug'], name=op.f('fk_habilitation_requests_tenant_id_tenants')),
    sa.PrimaryKeyConstraint('id', name=op.f('pk_habilitation_requests')),
    sa.UniqueConstraint('tenant_id', 'id', name=op.f('uq_habilitation_requests_tenant_id_id'))
    )
    with op.batch_alter_table('habilitation_requests', schema=None) as batch_op:
        batch_op.create_index('ix_habilitation_requests_tenant_account', ['tenant_id', 'account_id'], unique=False)
        batch_op.create_index('ix_habilitation_requests_tenant_state', ['tenant_id', 'state', 'updated_at'], unique=False)


def downgrade() -> None:
    with op.batch_alter_table('habilitation_requests', schema=None) as batch_op:
        batch_op.drop_index('ix_habilitation_requests_tenant_state')
        batch_op.drop_index('ix_habilitation_requests_tenant_account')

    op.drop_table('habilitation_requests')
