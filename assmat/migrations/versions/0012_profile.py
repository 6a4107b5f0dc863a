"""fiches: the assistant's public fiche (portal.profile)

Revision ID: 0012_profile
Revises: 0011_publication
Create Date: 2026-12-01 17:30:00

One row per assistant, created on her first save: her texts (and the ones waiting for the
staff where the tenant moderates them), her care setting, rates, the offer flags parents search
on (one boolean column each), which contact channels parents see, and the coordinates of her
place of care. `public_id` is random and unique per tenant: the public fiche's address.
"""

from alembic import op
import sqlalchemy as sa


revision = "0012_profile"
down_revision = "0011_publication"
branch_labels = None
depends_on = None


def upgrade() -> None:
    # (tenant_id, account_id): the database refuses a fiche of another tenant's account (0008's rule).
    op.create_table('fiches',
    sa.Column('id', sa.Integer(), nullable=False),
    sa.Column('tenant_id', sa.String(length=63), nullable=False),
    sa.Column('account_id', sa.Integer(), nullable=False),
    sa.Column('public_id', sa.String(length=16), nullable=False),
    sa.Column('presentation', sa.Text(), nullable=True),
    sa.Column('activities', sa.Text(), nullable=True),
    sa.Column('project', sa.Text(), nullable=True),
    sa.Column('pending_presentation', sa.Text(), nullable=True),
    sa.Column('pending_activities', sa.Text(), nullable=True),
    sa.Column('pending_project', sa.Text(), nullable=True),
    sa.Column('texts_state', sa.String(length=10), server_default='approved', nullable=False),
    sa.Column('texts_submitted_at', sa.DateTime(timezone=True), nullable=True),
    sa.Column('texts_reviewed_at', sa.DateTime(timezone=True), nullable=True),
    sa.Column('rejection_reason', sa.String(length=500), nullable=True),
    sa.Column('housing', sa.String(length=20), nullable=True),
    sa.Column('floor', sa.Integer(), nullable=True),
    sa.Column('elevator', sa.Boolean(), server_default=sa.false(), nullable=False),
    sa.Column('garden', sa.Boolean(), server_default=sa.false(), nullable=False),
    sa.Column('pets', sa.String(length=200), nullable=True),
    sa.Column('non_smoking', sa.Boolean(), server_default=sa.false(), nullable=False),
    sa.Column('vehicle', sa.Boolean(), server_default=sa.false(), nullable=False),
    sa.Column('hourly_rate_cents', sa.Integer(), nullable=True),
    sa.Column('maintenance_cents', sa.Integer(), nullable=True),
    sa.Column('meal_cents', sa.Integer(), nullable=True),
    sa.Column('languages', sa.String(length=200), nullable=True),
    sa.Column('offer_periscolaire', sa.Boolean(), server_default=sa.false(), nullable=False),
    sa.Column('offer_mercredi', sa.Boolean(), server_default=sa.false(), nullable=False),
    sa.Column('offer_vacances_scolaires', sa.Boolean(), server_default=sa.false(), nullable=False),
    sa.Column('offer_temps_partiel', sa.Boolean(), server_default=sa.false(), nullable=False),
    sa.Column('offer_avant_7h', sa.Boolean(), server_default=sa.false(), nullable=False),
    sa.Column('offer_apres_20h', sa.Boolean(), server_default=sa.false(), nullable=False),
    sa.Column('offer_samedi', sa.Boolean(), server_default=sa.false(), nullable=False),
    sa.Column('offer_dimanche', sa.Boolean(), server_default=sa.false(), nullable=False),
    sa.Column('offer_nuit', sa.Boolean(), server_default=sa.false(), nullable=False),
    sa.Column('offer_depannage_urgence', sa.Boolean(), server_default=sa.false(), nullable=False),
    sa.Column('offer_handicap', sa.Boolean(), server_default=sa.false(), nullable=False),
    sa.Column('show_phone', sa.Boolean(), server_default=sa.true(), nullable=False),
    sa.Column('show_email', sa.Boolean(), server_default=sa.true(), nullable=False),
    sa.Column('show_address', sa.Boolean(), server_default=sa.true(), nullable=False),
    sa.Column('calling_hours', sa.String(length=200), nullable=True),
    sa.Column('contact_only_if_place', sa.Boolean(), server_default=sa.false(), nullable=False),
    sa.Column('latitude', sa.Double(), nullable=True),
    sa.Column('longitude', sa.Double(), nullable=True),
    sa.Column('created_at', sa.DateTime(timezone=True), nullable=False),
    sa.Column('updated_at', sa.DateTime(timezone=True), nullable=False),
    sa.CheckConstraint("housing IS NULL OR housing IN ('appartement', 'maison')", name=op.f('ck_fiches_housing')),
    sa.CheckConstraint("texts_state IN ('approved', 'pending', 'rejected')", name=op.f('ck_fiches_texts_state')),
    sa.ForeignKeyConstraint(['tenant_id', 'account_id'], ['accounts.tenant_id', 'accounts.id'], name=op.f('fk_fiches_tenant_id_account_id_accounts'), ondelete='CASCADE'),
    sa.ForeignKeyConstraint(['tenant_id'], ['tenants.slug'], name=op.f('fk_fiches_tenant_id_tenants')),
    sa.PrimaryKeyConstraint('id', name=op.f('pk_fiches')),
    sa.UniqueConstraint('tenant_id', 'account_id', name=op.f('uq_fiches_tenant_id_account_id')),
    sa.UniqueConstraint('tenant_id', 'id', name=op.f('uq_fiches_tenant_id_id')),
    sa.UniqueConstraint('tenant_id', 'public_id', name=op.f('uq_fiches_tenant_id_public_id'))
    )


def downgrade() -> None:
    op.drop_table('fiches')
