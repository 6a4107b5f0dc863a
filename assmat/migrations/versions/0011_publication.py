"""publication: the register of consents and objections, the fiche's state, the agrément's status

Revision ID: 0011_publication
Revises: 0010_guardians
Create Date: 2026-12-01 17:45:00

`accounts.publication_consent` (the import's « oui ») was a second answer beside the register:
each true value becomes a register line (kind consent, source import, dated by the account's
last import) and a state row, then the column goes. The regime is not read here (a revision
never reads live configuration): a consent on an opt-out tenant stands for « no objection », and
the mandatory regime ignores choices, so the copy means the same on every tenant.
"""

from alembic import op
import sqlalchemy as sa


revision = "0011_publication"
down_revision = "0010_guardians"
branch_labels = None
depends_on = None

KINDS = ("consent", "consent_withdrawn", "objection", "objection_withdrawn")
SOURCES = ("form", "import", "staff")

_accounts = sa.table(
    "accounts",
    sa.column("id", sa.Integer),
    sa.column("tenant_id", sa.String),
    sa.column("publication_consent", sa.Boolean),
    sa.column("imported_at", sa.DateTime(timezone=True)),
    sa.column("created_at", sa.DateTime(timezone=True)),
)
_register = sa.table(
    "publication_register",
    sa.column("tenant_id", sa.String),
    sa.column("account_id", sa.Integer),
    sa.column("kind", sa.String),
    sa.column("source", sa.String),
    sa.column("created_at", sa.DateTime(timezone=True)),
)
_states = sa.table(
    "publication_states",
    sa.column("tenant_id", sa.String),
    sa.column("account_id", sa.Integer),
    sa.column("choice", sa.String),
    sa.column("last_kind", sa.String),
    sa.column("choice_at", sa.DateTime(timezone=True)),
    sa.column("updated_at", sa.DateTime(timezone=True)),
)


def upgrade() -> None:
    op.create_table(
        "publication_register",
        sa.Column("id", sa.Integer(), nullable=False),
        sa.Column("tenant_id", sa.String(length=63), nullable=False),
        sa.Column("account_id", sa.Integer(), nullable=False),
        sa.Column("kind", sa.String(length=30), nullable=False),
        sa.Column("source", sa.String(length=10), nullable=False),
        sa.Column("recorded_by", sa.String(length=254), nullable=True),
        sa.Column("created_at", sa.DateTime(timezone=True), nullable=False),
        sa.CheckConstraint(f"kind IN {KINDS!r}", name=op.f("ck_publication_register_kind")),
        sa.CheckConstraint(f"source IN {SOURCES!r}", name=op.f("ck_publication_register_source")),
        sa.ForeignKeyConstraint(["tenant_id", "account_id"], ["accounts.tenant_id", "accounts.id"],
                                name=op.f("fk_publication_register_tenant_id_account_id_accounts"), ondelete="CASCADE"),
        sa.ForeignKeyConstraint(["tenant_id"], ["tenants.slug"], name=op.f("fk_publication_register_tenant_id_tenants")),
        sa.PrimaryKeyConstraint("id", name=op.f("pk_publication_register")),
    )
    with op.batch_alter_table("publication_register", schema=None) as batch_op:
        batch_op.create_index(batch_op.f("ix_publication_register_account_id"), ["account_id"], unique=False)
        batch_op.create_index("ix_publication_register_tenant_time", ["tenant_id", "created_at"], unique=False)

    op.create_table(
        "publication_states",
        sa.Column("id", sa.Integer(), nullable=False),
        sa.Column("tenant_id", sa.String(length=63), nullable=False),
        sa.Column("account_id", sa.Integer(), nullable=False),
        sa.Column("choice", sa.String(length=20), nullable=True),
        sa.Column("last_kind", sa.String(length=30), nullable=True),
        sa.Column("choice_at", sa.DateTime(timezone=True), nullable=True),
        sa.Column("suspended_at", sa.DateTime(timezone=True), nullable=True),
        sa.Column("suspension_reason", sa.String(length=500), nullable=True),
        sa.Column("suspended_by", sa.String(length=254), nullable=True),
        sa.Column("updated_at", sa.DateTime(timezone=True), nullable=False),
        sa.CheckConstraint("choice IN ('consent', 'objection')", name=op.f("ck_publication_states_choice")),
        sa.ForeignKeyConstraint(["tenant_id", "account_id"], ["accounts.tenant_id", "accounts.id"],
                                name=op.f("fk_publication_states_tenant_id_account_id_accounts"), ondelete="CASCADE"),
        sa.ForeignKeyConstraint(["tenant_id"], ["tenants.slug"], name=op.f("fk_publication_states_tenant_id_tenants")),
        sa.PrimaryKeyConstraint("id", name=op.f("pk_publication_states")),
        sa.UniqueConstraint("tenant_id", "account_id", name=op.f("uq_publication_states_tenant_id_account_id")),
    )

    with op.batch_alter_table("agrements", schema=None) as batch_op:
        batch_op.add_column(sa.Column("status", sa.String(length=20), nullable=True))

    # The import's « oui » becomes the register's line and the state's choice, inside the database.
    consented = _accounts.c.publication_consent == sa.true()
    dated = sa.func.coalesce(_accounts.c.imported_at, _accounts.c.created_at)
    op.execute(_register.insert().from_select(
        ["tenant_id", "account_id", "kind", "source", "created_at"],
        sa.select(_accounts.c.tenant_id, _accounts.c.id, sa.literal("consent"), sa.literal("import"), dated)
        .where(consented),
    ))
    op.execute(_states.insert().from_select(
        ["tenant_id", "account_id", "choice", "last_kind", "choice_at", "updated_at"],
        sa.select(_accounts.c.tenant_id, _accounts.c.id, sa.literal("consent"), sa.literal("consent"), dated, dated)
        .where(consented),
    ))
    with op.batch_alter_table("accounts", schema=None) as batch_op:
        batch_op.drop_column("publication_consent")


def downgrade() -> None:
    with op.batch_alter_table("accounts", schema=None) as batch_op:
        batch_op.add_column(sa.Column("publication_consent", sa.Boolean(), nullable=False, server_default=sa.false()))
    standing = sa.select(_states.c.account_id).where(
        _states.c.tenant_id == _accounts.c.tenant_id, _states.c.account_id == _accounts.c.id,
        _states.c.choice == "consent")
    op.execute(_accounts.update().where(standing.exists()).values(publication_consent=True))
    with op.batch_alter_table("agrements", schema=None) as batch_op:
        batch_op.drop_column("status")
    op.drop_table("publication_states")
    with op.batch_alter_table("publication_register", schema=None) as batch_op:
        batch_op.drop_index("ix_publication_register_tenant_time")
        batch_op.drop_index(batch_op.f("ix_publication_register_account_id"))
    op.drop_table("publication_register")
