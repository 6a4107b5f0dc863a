"""one identity: console tokens and sessions join the portal's tables

`admin_tokens` rows move into `account_tokens` and `admin_sessions` rows into `sessions`; each
row of the two tables belongs to exactly one principal (an account or a console user), whose
tenant is None for a super-admin.

Revision ID: 0009_one_identity
Revises: 0008_tenant_composite_keys
Create Date: 2026-12-01 14:30:00
"""

from alembic import op
import sqlalchemy as sa


revision = "0009_one_identity"
# At merge: "0008_tenant_composite_keys" (written in parallel); chained to 0007 until then.
down_revision = "0008_tenant_composite_keys"
branch_labels = None
depends_on = None

ONE_PRINCIPAL = "(account_id IS NULL) <> (admin_id IS NULL)"


def upgrade() -> None:
    for table in ('account_tokens', 'sessions'):
        with op.batch_alter_table(table, schema=None) as batch_op:
            batch_op.add_column(sa.Column('admin_id', sa.Integer(), nullable=True))
            batch_op.alter_column('tenant_id', existing_type=sa.String(length=63), nullable=True)
            batch_op.alter_column('account_id', existing_type=sa.Integer(), nullable=True)
            batch_op.create_foreign_key(batch_op.f(f'fk_{table}_admin_id_admins'), 'admins', ['admin_id'], ['id'],
                                        ondelete='CASCADE')
            batch_op.create_index(batch_op.f(f'ix_{table}_admin_id'), ['admin_id'], unique=False)
            batch_op.create_check_constraint(batch_op.f(f'ck_{table}_one_principal'), ONE_PRINCIPAL)

    # A console token takes its tenant from its user; JSON '{}' is the empty data of every backend.
    op.execute(
        "INSERT INTO account_tokens (token_hash, tenant_id, admin_id, purpose, created_at, expires_at, used_at, data) "
        "SELECT t.token_hash, a.tenant_id, t.admin_id, t.purpose, t.created_at, t.expires_at, t.used_at, '{}' "
        "FROM admin_tokens t JOIN admins a ON a.id = t.admin_id"
    )
    op.execute(
        "INSERT INTO sessions (id, tenant_id, admin_id, created_at, last_seen_at, expires_at) "
        "SELECT id, tenant_id, admin_id, created_at, last_seen_at, expires_at FROM admin_sessions"
    )
    with op.batch_alter_table('admin_tokens', schema=None) as batch_op:
        batch_op.drop_index(batch_op.f('ix_admin_tokens_admin_id'))
    op.drop_table('admin_tokens')
    with op.batch_alter_table('admin_sessions', schema=None) as batch_op:
        batch_op.drop_index(batch_op.f('ix_admin_sessions_admin_id'))
    op.drop_table('admin_sessions')


def downgrade() -> None:
    op.create_table('admin_sessions',
    sa.Column('id', sa.String(length=64), nullable=False),
    sa.Column('admin_id', sa.Integer(), nullable=False),
    sa.Column('tenant_id', sa.String(length=63), nullable=True),
    sa.Column('created_at', sa.DateTime(timezone=True), nullable=False),
    sa.Column('last_seen_at', sa.DateTime(timezone=True), nullable=False),
    sa.Column('expires_at', sa.DateTime(timezone=True), nullable=False),
    sa.ForeignKeyConstraint(['admin_id'], ['admins.id'], name=op.f('fk_admin_sessions_admin_id_admins'), ondelete='CASCADE'),
    sa.ForeignKeyConstraint(['tenant_id'], ['tenants.slug'], name=op.f('fk_admin_sessions_tenant_id_tenants')),
    sa.PrimaryKeyConstraint('id', name=op.f('pk_admin_sessions'))
    )
    with op.batch_alter_table('admin_sessions', schema=None) as batch_op:
        batch_op.create_index(batch_op.f('ix_admin_sessions_admin_id'), ['admin_id'], unique=False)
        batch_op.create_index(batch_op.f('ix_admin_sessions_expires_at'), ['expires_at'], unique=False)
    op.create_table('admin_tokens',
    sa.Column('id', sa.Integer(), nullable=False),
    sa.Column('token_hash', sa.String(length=64), nullable=False),
    sa.Column('admin_id', sa.Integer(), nullable=False),
    sa.Column('purpose', sa.String(length=30), nullable=False),
    sa.Column('created_at', sa.DateTime(timezone=True), nullable=False),
    sa.Column('expires_at', sa.DateTime(timezone=True), nullable=False),
    sa.Column('used_at', sa.DateTime(timezone=True), nullable=True),
    sa.ForeignKeyConstraint(['admin_id'], ['admins.id'], name=op.f('fk_admin_tokens_admin_id_admins'), ondelete='CASCADE'),
    sa.PrimaryKeyConstraint('id', name=op.f('pk_admin_tokens')),
    sa.UniqueConstraint('token_hash', name=op.f('uq_admin_tokens_token_hash'))
    )
    with op.batch_alter_table('admin_tokens', schema=None) as batch_op:
        batch_op.create_index(batch_op.f('ix_admin_tokens_admin_id'), ['admin_id'], unique=False)

    op.execute(
        "INSERT INTO admin_sessions (id, tenant_id, admin_id, created_at, last_seen_at, expires_at) "
        "SELECT id, tenant_id, admin_id, created_at, last_seen_at, expires_at FROM sessions WHERE admin_id IS NOT NULL"
    )
    op.execute("DELETE FROM sessions WHERE admin_id IS NOT NULL")
    # Tokens of the console that only exist since this revision (pending uploads) have no place.
    op.execute(
        "INSERT INTO admin_tokens (token_hash, admin_id, purpose, created_at, expires_at, used_at) "
        "SELECT token_hash, admin_id, purpose, created_at, expires_at, used_at FROM account_tokens "
        "WHERE admin_id IS NOT NULL AND purpose IN ('set_password', 'reset')"
    )
    op.execute("DELETE FROM account_tokens WHERE admin_id IS NOT NULL")

    for table in ('sessions', 'account_tokens'):
        with op.batch_alter_table(table, schema=None) as batch_op:
            batch_op.drop_constraint(batch_op.f(f'ck_{table}_one_principal'), type_='check')
            batch_op.drop_index(batch_op.f(f'ix_{table}_admin_id'))
            batch_op.drop_constraint(batch_op.f(f'fk_{table}_admin_id_admins'), type_='foreignkey')
            batch_op.alter_column('account_id', existing_type=sa.Integer(), nullable=False)
            batch_op.alter_column('tenant_id', existing_type=sa.String(length=63), nullable=False)
            batch_op.drop_column('admin_id')
