"""families: a family account's favourites, saved searches and their alerts' notices, contact
requests to assistants and the assistants who receive none

Revision ID: 0024_tools
Revises: 0023_fiches
Create Date: 2026-12-02 00:13:14.842609
"""

from alembic import op
import sqlalchemy as sa


revision = "0024_tools"
down_revision = "0023_fiches"
branch_labels = None
depends_on = None


def upgrade() -> None:
    op.create_table('contact_closed',
    sa.Column('id', sa.Integer(), nullable=False),
    sa.Column('tenant_id', sa.String(length=63), nullable=False),
    sa.Column('account_id', sa.Integer(), nullable=False),
    sa.Column('closed_at', sa.DateTime(timezone=True), nullable=False),
    sa.ForeignKeyConstraint(['tenant_id', 'account_id'], ['accounts.tenant_id', 'accounts.id'], name=op.f('fk_contact_closed_tenant_id_account_id_accounts'), ondelete='CASCADE'),
    sa.ForeignKeyConstraint(['tenant_id'], ['tenants.slug'], name=op.f('fk_contact_closed_tenant_id_tenants')),
    sa.PrimaryKeyConstraint('id', name=op.f('pk_contact_closed')),
    sa.UniqueConstraint('tenant_id', 'account_id', name=op.f('uq_contact_closed_tenant_id_account_id'))
    )
    op.create_table('contact_requests',
    sa.Column('id', sa.Integer(), nullable=False),
    sa.Column('tenant_id', sa.String(length=63), nullable=False),
    sa.Column('family_account_id', sa.Integer(), nullable=False),
    sa.Column('assistant_account_id', sa.Integer(), nullable=False),
    sa.Column('public_id', sa.String(length=16), nullable=False),
    sa.Column('message', sa.Text(), nullable=False),
    sa.Column('phone', sa.String(length=20), nullable=True),
    sa.Column('share_email', sa.Boolean(), server_default=sa.false(), nullable=False),
    sa.Column('created_at', sa.DateTime(timezone=True), nullable=False),
    sa.Column('answer', sa.Text(), nullable=True),
    sa.Column('answer_shares_email', sa.Boolean(), server_default=sa.false(), nullable=False),
    sa.Column('answered_at', sa.DateTime(timezone=True), nullable=True),
    sa.ForeignKeyConstraint(['tenant_id', 'assistant_account_id'], ['accounts.tenant_id', 'accounts.id'], name=op.f('fk_contact_requests_tenant_id_assistant_account_id_accounts'), ondelete='CASCADE'),
    sa.ForeignKeyConstraint(['tenant_id', 'family_account_id'], ['accounts.tenant_id', 'accounts.id'], name=op.f('fk_contact_requests_tenant_id_family_account_id_accounts'), ondelete='CASCADE'),
    sa.ForeignKeyConstraint(['tenant_id'], ['tenants.slug'], name=op.f('fk_contact_requests_tenant_id_tenants')),
    sa.PrimaryKeyConstraint('id', name=op.f('pk_contact_requests'))
    )
    op.create_index('ix_contact_requests_tenant_assistant', 'contact_requests', ['tenant_id', 'assistant_account_id'], unique=False)
    op.create_index('ix_contact_requests_tenant_family', 'contact_requests', ['tenant_id', 'family_account_id'], unique=False)

    op.create_table('family_favourites',
    sa.Column('id', sa.Integer(), nullable=False),
    sa.Column('tenant_id', sa.String(length=63), nullable=False),
    sa.Column('account_id', sa.Integer(), nullable=False),
    sa.Column('public_id', sa.String(length=16), nullable=False),
    sa.Column('created_at', sa.DateTime(timezone=True), nullable=False),
    sa.ForeignKeyConstraint(['tenant_id', 'account_id'], ['accounts.tenant_id', 'accounts.id'], name=op.f('fk_family_favourites_tenant_id_account_id_accounts'), ondelete='CASCADE'),
    sa.ForeignKeyConstraint(['tenant_id'], ['tenants.slug'], name=op.f('fk_family_favourites_tenant_id_tenants')),
    sa.PrimaryKeyConstraint('id', name=op.f('pk_family_favourites')),
    sa.UniqueConstraint('tenant_id', 'account_id', 'public_id', name=op.f('uq_family_favourites_tenant_id_account_id_public_id'))
    )
    op.create_table('family_searches',
    sa.Column('id', sa.Integer(), nullable=False),
    sa.Column('tenant_id', sa.String(length=63), nullable=False),
    sa.Column('account_id', sa.Integer(), nullable=False),
    sa.Column('name', sa.String(length=100), nullable=False),
    sa.Column('query', sa.String(length=2000), nullable=False),
    sa.Column('created_at', sa.DateTime(timezone=True), nullable=False),
    sa.Column('alerted_at', sa.DateTime(timezone=True), nullable=True),
    sa.ForeignKeyConstraint(['tenant_id', 'account_id'], ['accounts.tenant_id', 'accounts.id'], name=op.f('fk_family_searches_tenant_id_account_id_accounts'), ondelete='CASCADE'),
    sa.ForeignKeyConstraint(['tenant_id'], ['tenants.slug'], name=op.f('fk_family_searches_tenant_id_tenants')),
    sa.PrimaryKeyConstraint('id', name=op.f('pk_family_searches')),
    sa.UniqueConstraint('tenant_id', 'id', name=op.f('uq_family_searches_tenant_id_id'))
    )
    op.create_index('ix_family_searches_tenant_account', 'family_searches', ['tenant_id', 'account_id'], unique=False)

    op.create_table('family_search_notices',
    sa.Column('id', sa.Integer(), nullable=False),
    sa.Column('tenant_id', sa.String(length=63), nullable=False),
    sa.Column('search_id', sa.Integer(), nullable=False),
    sa.Column('key', sa.String(length=80), nullable=False),
    sa.Column('noticed_at', sa.DateTime(timezone=True), nullable=False),
    sa.ForeignKeyConstraint(['tenant_id', 'search_id'], ['family_searches.tenant_id', 'family_searches.id'], name=op.f('fk_family_search_notices_tenant_id_search_id_family_searches'), ondelete='CASCADE'),
    sa.ForeignKeyConstraint(['tenant_id'], ['tenants.slug'], name=op.f('fk_family_search_notices_tenant_id_tenants')),
    sa.PrimaryKeyConstraint('id', name=op.f('pk_family_search_notices')),
    sa.UniqueConstraint('tenant_id', 'search_id', 'key', name=op.f('uq_family_search_notices_tenant_id_search_id_key'))
    )


def downgrade() -> None:
    op.drop_table('family_search_notices')
    op.drop_index('ix_family_searches_tenant_account', table_name='family_searches')

    op.drop_table('family_searches')
    op.drop_table('family_favourites')
    op.drop_index('ix_contact_requests_tenant_family', table_name='contact_requests')
    op.drop_index('ix_contact_requests_tenant_assistant', table_name='contact_requests')

    op.drop_table('contact_requests')
    op.drop_table('contact_closed')
