"""photos: the photos of an assistant's fiche, their bytes in a table of their own

Revision ID: 0014_photos
Revises: 0013_availability
Create Date: 2026-12-01 17:25:54

The re-encoded JPEG and its thumbnail live in the database (`photo_files`), so that every app
replica serves the same photos; `photos` holds what lists read, without the bytes.
"""

from alembic import op
import sqlalchemy as sa


revision = '0014_photos'
down_revision = '0013_availability'
branch_labels = None
depends_on = None


def upgrade() -> None:
    op.create_table('photos',
    sa.Column('id', sa.Integer(), nullable=False),
    sa.Column('tenant_id', sa.String(length=63), nullable=False),
    sa.Column('account_id', sa.Integer(), nullable=False),
    sa.Column('public_key', sa.String(length=32), nullable=False),
    sa.Column('description', sa.String(length=250), nullable=False),
    sa.Column('status', sa.String(length=20), nullable=False),
    sa.Column('rejection_reason', sa.String(length=500), nullable=True),
    sa.Column('position', sa.SmallInteger(), nullable=False),
    sa.Column('width', sa.Integer(), nullable=False),
    sa.Column('height', sa.Integer(), nullable=False),
    sa.Column('thumbnail_width', sa.Integer(), nullable=False),
    sa.Column('thumbnail_height', sa.Integer(), nullable=False),
    sa.Column('byte_size', sa.Integer(), nullable=False),
    sa.Column('created_at', sa.DateTime(timezone=True), nullable=False),
    sa.Column('updated_at', sa.DateTime(timezone=True), nullable=False),
    sa.Column('reviewed_at', sa.DateTime(timezone=True), nullable=True),
    sa.Column('reviewed_by', sa.String(length=254), nullable=True),
    sa.CheckConstraint("status IN ('pending', 'approved', 'rejected')", name=op.f('ck_photos_status')),
    sa.ForeignKeyConstraint(['tenant_id', 'account_id'], ['accounts.tenant_id', 'accounts.id'], name=op.f('fk_photos_tenant_id_account_id_accounts'), ondelete='CASCADE'),
    sa.ForeignKeyConstraint(['tenant_id'], ['tenants.slug'], name=op.f('fk_photos_tenant_id_tenants')),
    sa.PrimaryKeyConstraint('id', name=op.f('pk_photos')),
    sa.UniqueConstraint('tenant_id', 'id', name=op.f('uq_photos_tenant_id_id')),
    sa.UniqueConstraint('tenant_id', 'public_key', name=op.f('uq_photos_tenant_id_public_key'))
    )
    with op.batch_alter_table('photos', schema=None) as batch_op:
        batch_op.create_index('ix_photos_tenant_account', ['tenant_id', 'account_id'], unique=False)
        batch_op.create_index('ix_photos_tenant_status', ['tenant_id', 'status'], unique=False)

    op.create_table('photo_files',
    sa.Column('photo_id', sa.Integer(), nullable=False),
    sa.Column('tenant_id', sa.String(length=63), nullable=False),
    sa.Column('image', sa.LargeBinary(), nullable=False),
    sa.Column('thumbnail', sa.LargeBinary(), nullable=False),
    sa.ForeignKeyConstraint(['tenant_id', 'photo_id'], ['photos.tenant_id', 'photos.id'], name=op.f('fk_photo_files_tenant_id_photo_id_photos'), ondelete='CASCADE'),
    sa.ForeignKeyConstraint(['tenant_id'], ['tenants.slug'], name=op.f('fk_photo_files_tenant_id_tenants')),
    sa.PrimaryKeyConstraint('photo_id', name=op.f('pk_photo_files'))
    )


def downgrade() -> None:
    op.drop_table('photo_files')
    with op.batch_alter_table('photos', schema=None) as batch_op:
        batch_op.drop_index('ix_photos_tenant_status')
        batch_op.drop_index('ix_photos_tenant_account')

    op.drop_table('photos')
