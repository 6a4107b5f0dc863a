"""guardians: a declared child's legal guardians become rows of their own

Revision ID: 0010_guardians
Revises: 0007_message_search
Create Date: 2026-12-01 14:30:00

Parents' accounts will link to a guardian, so guardians 1 and 2 leave the `children` table
for `guardians` (one row per guardian given, numbered by `position`). The copy keeps only the
guardians with any detail given: the form stores an empty guardian as five NULLs.
"""

from alembic import op
import sqlalchemy as sa


revision = "0010_guardians"
down_revision = "0009_one_identity"
branch_labels = None
depends_on = None

# The columns as this revision found them (frozen: a migration never imports live code).
DETAILS = (
    ("civility", 20),
    ("last_name", 100),
    ("first_name", 100),
    ("email", 254),
    ("phone", 40),
)
POSITIONS = (1, 2)


def _children(positions=POSITIONS):
    columns = [sa.column("id", sa.Integer), sa.column("tenant_id", sa.String)]
    columns += [sa.column(f"guardian{position}_{name}", sa.String) for position in positions for name, _ in DETAILS]
    return sa.table("children", *columns)


_guardians = sa.table(
    "guardians",
    sa.column("tenant_id", sa.String),
    sa.column("child_id", sa.Integer),
    sa.column("position", sa.SmallInteger),
    *(sa.column(name, sa.String) for name, _ in DETAILS),
)


def upgrade() -> None:
    op.create_table(
        "guardians",
        sa.Column("id", sa.Integer(), nullable=False),
        sa.Column("tenant_id", sa.String(length=63), nullable=False),
        sa.Column("child_id", sa.Integer(), nullable=False),
        sa.Column("position", sa.SmallInteger(), nullable=False),
        *(sa.Column(name, sa.String(length=length), nullable=True) for name, length in DETAILS),
        sa.CheckConstraint("position IN (1, 2)", name=op.f("ck_guardians_position")),
        # (tenant_id, child_id): the database refuses a guardian of another tenant's child (0008's rule).
        sa.ForeignKeyConstraint(["tenant_id", "child_id"], ["children.tenant_id", "children.id"],
                                name=op.f("fk_guardians_tenant_id_child_id_children"), ondelete="CASCADE"),
        sa.ForeignKeyConstraint(["tenant_id"], ["tenants.slug"], name=op.f("fk_guardians_tenant_id_tenants")),
        sa.PrimaryKeyConstraint("id", name=op.f("pk_guardians")),
        sa.UniqueConstraint("tenant_id", "child_id", "position", name=op.f("uq_guardians_tenant_id_child_id_position")),
    )
    with op.batch_alter_table("guardians", schema=None) as batch_op:
        batch_op.create_index(batch_op.f("ix_guardians_child_id"), ["child_id"], unique=False)

    # One INSERT … SELECT per position, inside the database: no row passes through Python.
    children = _children()
    for position in POSITIONS:
        details = [children.c[f"guardian{position}_{name}"] for name, _ in DETAILS]
        given = sa.or_(*(sa.func.coalesce(column, "") != "" for column in details))
        op.execute(_guardians.insert().from_select(
            ["tenant_id", "child_id", "position", *(name for name, _ in DETAILS)],
            sa.select(children.c.tenant_id, children.c.id, sa.literal(position, sa.SmallInteger), *details)
            .where(given),
        ))

    with op.batch_alter_table("children", schema=None) as batch_op:
        for position in POSITIONS:
            for name, _ in DETAILS:
                batch_op.drop_column(f"guardian{position}_{name}")


def downgrade() -> None:
    with op.batch_alter_table("children", schema=None) as batch_op:
        for position in POSITIONS:
            for name, length in DETAILS:
                batch_op.add_column(sa.Column(f"guardian{position}_{name}", sa.String(length=length), nullable=True))

    children = _children()
    for position in POSITIONS:
        guardian = (
            sa.select(_guardians)
            .where(_guardians.c.child_id == children.c.id, _guardians.c.tenant_id == children.c.tenant_id,
                   _guardians.c.position == position)
        )
        values = {
            f"guardian{position}_{name}": guardian.with_only_columns(_guardians.c[name]).scalar_subquery()
            for name, _ in DETAILS
        }
        op.execute(children.update().where(guardian.exists()).values(**values))

    with op.batch_alter_table("guardians", schema=None) as batch_op:
        batch_op.drop_index(batch_op.f("ix_guardians_child_id"))
    op.drop_table("guardians")
