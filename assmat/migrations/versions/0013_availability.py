"""availability: the assistant's declaration of availabilities, its places and their weekly
grid, the dated exceptions of the weekly view, and the reminders sent

Revision ID: 0013_availability
Revises: 0012_profile
Create Date: 2026-12-01 17:30:00

The weekly grid is one row per place × weekday × time slot (see
assmat/portal/availability/models.py): the parents' search filters on it with an indexed EXISTS.
"""

from alembic import op
import sqlalchemy as sa


revision = "0013_availability"
down_revision = "0012_profile"
branch_labels = None
depends_on = None


def _tenant_fk(table: str) -> sa.ForeignKeyConstraint:
    return sa.ForeignKeyConstraint(["tenant_id"], ["tenants.slug"], name=op.f(f"fk_{table}_tenant_id_tenants"))


def upgrade() -> None:
    op.create_table(
        "availability_declarations",
        sa.Column("id", sa.Integer(), nullable=False),
        sa.Column("tenant_id", sa.String(length=63), nullable=False),
        sa.Column("account_id", sa.Integer(), nullable=False),
        sa.Column("declared_at", sa.DateTime(timezone=True), nullable=False),
        sa.Column("declared_on", sa.Date(), nullable=False),
        sa.Column("valid_until", sa.Date(), nullable=False),
        sa.Column("none_available", sa.Boolean(), server_default=sa.false(), nullable=False),
        sa.ForeignKeyConstraint(["tenant_id", "account_id"], ["accounts.tenant_id", "accounts.id"],
                                name=op.f("fk_availability_declarations_tenant_id_account_id_accounts"), ondelete="CASCADE"),
        _tenant_fk("availability_declarations"),
        sa.PrimaryKeyConstraint("id", name=op.f("pk_availability_declarations")),
        sa.UniqueConstraint("tenant_id", "account_id", name=op.f("uq_availability_declarations_tenant_id_account_id")),
        sa.UniqueConstraint("tenant_id", "id", name=op.f("uq_availability_declarations_tenant_id_id")),
    )
    op.create_index("ix_availability_declarations_tenant_valid", "availability_declarations",
                    ["tenant_id", "valid_until"], unique=False)

    op.create_table(
        "availability_places",
        sa.Column("id", sa.Integer(), nullable=False),
        sa.Column("tenant_id", sa.String(length=63), nullable=False),
        sa.Column("declaration_id", sa.Integer(), nullable=False),
        sa.Column("position", sa.SmallInteger(), nullable=False),
        sa.Column("age_group", sa.String(length=40), nullable=False),
        sa.Column("places", sa.SmallInteger(), nullable=False),
        sa.Column("free_from", sa.Date(), nullable=True),
        sa.Column("free_until", sa.Date(), nullable=True),
        sa.Column("kind", sa.String(length=20), nullable=False),
        sa.CheckConstraint("places > 0", name=op.f("ck_availability_places_places_positive")),
        sa.ForeignKeyConstraint(["tenant_id", "declaration_id"],
                                ["availability_declarations.tenant_id", "availability_declarations.id"],
                                name=op.f("fk_availability_places_tenant_id_declaration_id_availability_declarations"),
                                ondelete="CASCADE"),
        _tenant_fk("availability_places"),
        sa.PrimaryKeyConstraint("id", name=op.f("pk_availability_places")),
        sa.UniqueConstraint("tenant_id", "id", name=op.f("uq_availability_places_tenant_id_id")),
    )
    op.create_index(op.f("ix_availability_places_declaration_id"), "availability_places", ["declaration_id"], unique=False)

    op.create_table(
        "availability_slots",
        sa.Column("id", sa.Integer(), nullable=False),
        sa.Column("tenant_id", sa.String(length=63), nullable=False),
        sa.Column("place_id", sa.Integer(), nullable=False),
        sa.Column("weekday", sa.SmallInteger(), nullable=False),
        sa.Column("slot", sa.String(length=40), nullable=False),
        sa.CheckConstraint("weekday BETWEEN 0 AND 6", name=op.f("ck_availability_slots_weekday")),
        sa.ForeignKeyConstraint(["tenant_id", "place_id"], ["availability_places.tenant_id", "availability_places.id"],
                                name=op.f("fk_availability_slots_tenant_id_place_id_availability_places"),
                                ondelete="CASCADE"),
        _tenant_fk("availability_slots"),
        sa.PrimaryKeyConstraint("id", name=op.f("pk_availability_slots")),
        sa.UniqueConstraint("tenant_id", "place_id", "weekday", "slot",
                            name=op.f("uq_availability_slots_tenant_id_place_id_weekday_slot")),
    )
    op.create_index("ix_availability_slots_tenant_weekday_slot", "availability_slots",
                    ["tenant_id", "weekday", "slot"], unique=False)

    op.create_table(
        "availability_exceptions",
        sa.Column("id", sa.Integer(), nullable=False),
        sa.Column("tenant_id", sa.String(length=63), nullable=False),
        sa.Column("declaration_id", sa.Integer(), nullable=False),
        sa.Column("day", sa.Date(), nullable=False),
        sa.Column("slot", sa.String(length=40), nullable=True),
        sa.Column("available", sa.Boolean(), nullable=False),
        sa.ForeignKeyConstraint(["tenant_id", "declaration_id"],
                                ["availability_declarations.tenant_id", "availability_declarations.id"],
                                name=op.f("fk_availability_exceptions_tenant_id_declaration_id_availability_declarations"),
                                ondelete="CASCADE"),
        _tenant_fk("availability_exceptions"),
        sa.PrimaryKeyConstraint("id", name=op.f("pk_availability_exceptions")),
    )
    op.create_index(op.f("ix_availability_exceptions_declaration_id"), "availability_exceptions", ["declaration_id"],
                    unique=False)

    op.create_table(
        "availability_reminders",
        sa.Column("id", sa.Integer(), nullable=False),
        sa.Column("tenant_id", sa.String(length=63), nullable=False),
        sa.Column("account_id", sa.Integer(), nullable=False),
        sa.Column("kind", sa.String(length=20), nullable=False),
        sa.Column("due_on", sa.Date(), nullable=False),
        sa.Column("sent_at", sa.DateTime(timezone=True), nullable=False),
        sa.ForeignKeyConstraint(["tenant_id", "account_id"], ["accounts.tenant_id", "accounts.id"],
                                name=op.f("fk_availability_reminders_tenant_id_account_id_accounts"), ondelete="CASCADE"),
        _tenant_fk("availability_reminders"),
        sa.PrimaryKeyConstraint("id", name=op.f("pk_availability_reminders")),
        sa.UniqueConstraint("tenant_id", "account_id", "kind", "due_on",
                            name=op.f("uq_availability_reminders_tenant_id_account_id_kind_due_on")),
    )


def downgrade() -> None:
    op.drop_table("availability_reminders")
    op.drop_index(op.f("ix_availability_exceptions_declaration_id"), table_name="availability_exceptions")
    op.drop_table("availability_exceptions")
    op.drop_index("ix_availability_slots_tenant_weekday_slot", table_name="availability_slots")
    op.drop_table("availability_slots")
    op.drop_index(op.f("ix_availability_places_declaration_id"), table_name="availability_places")
    op.drop_table("availability_places")
    op.drop_index("ix_availability_declarations_tenant_valid", table_name="availability_declarations")
    op.drop_table("availability_declarations")
