"""Tables of portal.photos: a fiche's photos, and their re-encoded bytes in a table of their own."""

from __future__ import annotations

from datetime import datetime

from sqlalchemy import CheckConstraint, ForeignKey, Index, LargeBinary, SmallInteger, String, UniqueConstraint
from sqlalchemy.orm import Mapped, mapped_column

from assmat.core.db.base import Base, _now, same_tenant, tenant_key

PENDING, APPROVED, REJECTED = "pending", "approved", "rejected"


class Photo(Base):
    """A photo of an assistant's fiche (seed 002: « valoriser votre offre d'accueil (présentation,
    activités, photos, cadre d'accueil...) »). Its bytes live in `photo_files`, so no list reads them.

    `public_key` is the photo's only name in a URL: random, so photos cannot be enumerated. The
    stored bytes never change (a new photo is a new row), so a key always names the same image."""

    __tablename__ = "photos"
    __table_args__ = (
        Index("ix_photos_tenant_account", "tenant_id", "account_id"),
        Index("ix_photos_tenant_status", "tenant_id", "status"),
        UniqueConstraint("tenant_id", "public_key"),
        CheckConstraint("status IN ('pending', 'approved', 'rejected')", name="status"),
        same_tenant("account_id", "accounts", ondelete="CASCADE"),
        tenant_key(),
    )

    id: Mapped[int] = mapped_column(primary_key=True)
    tenant_id: Mapped[str] = mapped_column(ForeignKey("tenants.slug"))
    account_id: Mapped[int]
    public_key: Mapped[str] = mapped_column(String(32))
    description: Mapped[str] = mapped_column(String(250))  # the text alternative, required
    status: Mapped[str] = mapped_column(String(20), default=PENDING)
    rejection_reason: Mapped[str | None] = mapped_column(String(500))
    position: Mapped[int] = mapped_column(SmallInteger, default=0)
    width: Mapped[int]
    height: Mapped[int]
    thumbnail_width: Mapped[int]
    thumbnail_height: Mapped[int]
    byte_size: Mapped[int]  # of the stored (re-encoded) photo
    created_at: Mapped[datetime] = mapped_column(default=_now)
    updated_at: Mapped[datetime] = mapped_column(default=_now, onupdate=_now)
    reviewed_at: Mapped[datetime | None]
    reviewed_by: Mapped[str | None] = mapped_column(String(254))  # the staff member's email


class PhotoFile(Base):
    """The re-encoded JPEG of a photo and its thumbnail. In the database, so that every app
    replica serves the same photos (README, « Photos »)."""

    __tablename__ = "photo_files"
    __table_args__ = (same_tenant("photo_id", "photos", ondelete="CASCADE"),)

    photo_id: Mapped[int] = mapped_column(primary_key=True)
    tenant_id: Mapped[str] = mapped_column(ForeignKey("tenants.slug"))
    image: Mapped[bytes] = mapped_column(LargeBinary)
    thumbnail: Mapped[bytes] = mapped_column(LargeBinary)
