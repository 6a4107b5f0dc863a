"""fiches: a structure's several accounts, its public fiche, the assistants of a MAM, « en MAM » in the search

Revision ID: 0023_fiches
Revises: 0022_families
Create Date: 2026-12-02 00:30:00
"""

from alembic import op
import sqlalchemy as sa


revision = "0023_fiches"
down_revision = "0022_families"
branch_labels = None
depends_on = None


def _link_table(name: str, extra: list[sa.Column]) -> None:
    op.create_table(name,
    sa.Column('id', sa.Integer(), nullable=False),
    sa.Column('tenant_id', sa.String(length=63), nullable=False),
    sa.Column('structure_id', sa.Integer(), nullable=False),
    sa.Column('account_id', sa.Integer(), nullable=False),
    *extra,
    sa.Column('created_at', sa.DateTime(timezone=True), nullable=False),
    sa.ForeignKeyConstraint(['tenant_id', 'account_id'], ['accounts.tenant_id', 'accounts.id'], name=op.f(f'fk_{name}_tenant_id_account_id_accounts'), ondelete='CASCADE'),
    sa.ForeignKeyConstraint(['tenant_id', 'structure_id'], ['structures.tenant_id', 'structures.id'], name=op.f(f'fk_{name}_tenant_id_structure_id_structures'), ondelete='CASCADE'),
    sa.ForeignKeyConstraint(['tenant_id'], ['tenants.slug'], name=op.f(f'fk_{name}_tenant_id_tenants')),
    sa.PrimaryKeyConstraint('id', name=op.f(f'pk_{name}')),
    sa.UniqueConstraint('tenant_id', 'account_id', name=op.f(f'uq_{name}_tenant_id_account_id'))
    )
    op.create_index(op.f(f'ix_{name}_structure_id'), name, ['structure_id'], unique=False)


def upgrade() -> None:
    _link_table('structure_accounts', [])
    _link_table('structure_members', [sa.Column('linked_by', sa.String(length=254), nullable=True)])
    # Each structure's one account so far becomes its first linked account.
    op.execute("INSERT INTO structure_accounts (tenant_id, structure_id, account_id, created_at) "
               "SELECT tenant_id, id, account_id, created_at FROM structures WHERE account_id IS NOT NULL")
    with op.batch_alter_table('structures') as batch:
        batch.add_column(sa.Column('presentation', sa.Text(), nullable=True))
        batch.add_column(sa.Column('public_email', sa.String(length=254), nullable=True))
        batch.add_column(sa.Column('hours', sa.String(length=1000), nullable=True))
        batch.add_column(sa.Column('updated_at', sa.DateTime(timezone=True), nullable=True))
    # What the fiche showed until now: the address staff recorded.
    op.execute("UPDATE structures SET public_email = email, updated_at = created_at")
    with op.batch_alter_table('structures') as batch:
        batch.alter_column('updated_at', existing_type=sa.DateTime(timezone=True), nullable=False)
        batch.drop_constraint('uq_structures_tenant_account', type_='unique')
        batch.drop_constraint('fk_structures_tenant_id_account_id_accounts', type_='foreignkey')
        batch.drop_constraint('fk_structures_account_id_accounts', type_='foreignkey')
        batch.drop_column('account_id')
    with op.batch_alter_table('directory_entries') as batch:
        batch.add_column(sa.Column('in_mam', sa.Boolean(), server_default=sa.false(), nullable=False))
    op.create_index('ix_directory_entries_tenant_in_mam', 'directory_entries', ['tenant_id', 'in_mam'], unique=False)


def downgrade() -> None:
    op.drop_index('ix_directory_entries_tenant_in_mam', table_name='directory_entries')
    with op.batch_alter_table('directory_entries') as batch:
        batch.drop_column('in_mam')
    with op.batch_alter_table('structures') as batch:
        batch.add_column(sa.Column('account_id', sa.Integer(), nullable=True))
    # A structure keeps one account going down: its first.
    op.execute("UPDATE structures SET account_id = (SELECT MIN(account_id) FROM structure_accounts a "
               "WHERE a.tenant_id = structures.tenant_id AND a.structure_id = structures.id)")
    with op.batch_alter_table('structures') as batch:
        batch.create_foreign_key('fk_structures_account_id_accounts', 'accounts', ['account_id'], ['id'], ondelete='SET NULL')
        batch.create_foreign_key('fk_structures_tenant_id_account_id_accounts', 'accounts', ['tenant_id', 'account_id'],
                                 ['tenant_id', 'id'], initially='DEFERRED', deferrable=True)
        batch.create_unique_constraint('uq_structures_tenant_account', ['tenant_id', 'account_id'])
        batch.drop_column('updated_at')
        batch.drop_column('hours')
        batch.drop_column('public_email')
        batch.drop_column('presentation')
    for name in ('structure_members', 'structure_accounts'):
        op.drop_index(op.f(f'ix_{name}_structure_id'), table_name=name)
        op.drop_table(name)
