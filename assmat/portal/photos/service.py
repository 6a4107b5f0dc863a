"""Photos of an assistant's fiche (seed 002): the rules, without any web framework.

An uploaded file is trusted for nothing: its format is read from its content by Pillow (JPEG,
PNG or WebP, whatever its name or declared type), its size in pixels is checked before it is
decoded (decompression bombs), and what is stored is a new JPEG drawn from its pixels alone,
so no metadata (EXIF with the GPS position, XMP, ICC, comments) nor any bytes appended to the
file (a polyglot) survive. Every query is bound to the tenant, and the assistant's pages to her
own account: another assistant's photo is NotFound, never data.

Who may see a photo: its owner always (her pages); the public only an approved photo (or any
not refused one where the tenant does not moderate) whose owner's fiche is published."""

from __future__ import annotations

import io
import secrets
import struct
import warnings
from dataclasses import dataclass

from PIL import Image, ImageOps, UnidentifiedImageError
from sqlalchemy import ColumnElement, Select, and_, delete, exists, false, func, select, true, update
from sqlalchemy.ext.asyncio import AsyncSession

from assmat.auth.models import Account
from assmat.core import clock
from assmat.core.errors import Invalid, NotFound, RateLimited
from assmat.core.i18n import gettext
from assmat.core.security import audit
from assmat.core.security.audit import EventType
from assmat.core.security.ratelimit import PHOTO_UPLOADS_PER_ACCOUNT
from assmat.portal.photos.models import APPROVED, PENDING, REJECTED, Photo, PhotoFile
from assmat.portal.publication.service import published_clause
from assmat.tenants.loader import Tenant
from assmat.core.i18n import N_

ACCEPTED_FORMATS = ("JPEG", "PNG", "WEBP")
MAX_PIXELS = 50_000_000  # a 8,000 × 6,000 camera photo passes; decoded, that is 150 MB of RGB at most
MAX_SIDE = 1600  # the long side of the stored photo
THUMBNAIL_SIDE = 480
JPEG_QUALITY = 85
DESCRIPTION_MAX = 250
REASON_MAX = 500

# English msgids; the French catalog holds the wording. Placeholders are str.format's.
MESSAGES: dict[str, str] = {
    "photos.file_required": N_("Choose a photo to send."),
    "photos.description_required": N_("Describe the photo for people who cannot see it."),
    "photos.description_too_long": N_("The description must not exceed {max} characters."),
    "photos.not_an_image": N_("This file is not a photo in an accepted format: send a JPEG, PNG or WebP image."),
    "photos.damaged": N_("This photo could not be read (the file is damaged or incomplete)."),
    "photos.too_large": N_("The file exceeds the maximum size of {size}."),
    "photos.too_many_pixels": N_("This photo has too many pixels ({max} million at most): reduce its size and try again."),
    "photos.count_reached": N_("Your fiche already has {max} photos, the maximum: delete one to add another."),
    "photos.reason_required": N_("Give the reason for the refusal."),
    "photos.too_many_uploads": N_("You have sent many photos within an hour: please try again later."),
}


def message(message_id: str, **values: object) -> str:
    return gettext(MESSAGES[message_id]).format(**values)


def megabytes(size: int) -> str:
    return f"{size / 1_000_000:.1f}".replace(".0", "").replace(".", ",") + " Mo"


class PhotoRefused(Invalid):
    """A photo not stored, with the message shown beside the file field (`photo`)."""

    def __init__(self, message_id: str, **values: object):
        text = message(message_id, **values)
        super().__init__(text, {"photo": text})


# -- the image --------------------------------------------------------------------------------------------


@dataclass(frozen=True)
class Encoded:
    image: bytes
    thumbnail: bytes
    width: int
    height: int
    thumbnail_width: int
    thumbnail_height: int


def _flatten(image: Image.Image) -> Image.Image:
    """RGB pixels only: transparency over white (a PNG logo keeps its look)."""
    if image.mode in ("RGBA", "LA", "PA") or (image.mode == "P" and "transparency" in image.info):
        rgba = image.convert("RGBA")
        background = Image.new("RGB", rgba.size, (255, 255, 255))
        background.paste(rgba, mask=rgba.getchannel("A"))
        return background
    return image.convert("RGB")


def _jpeg(image: Image.Image, side: int) -> tuple[bytes, int, int]:
    resized = image.copy()
    resized.thumbnail((side, side), Image.Resampling.LANCZOS)
    resized.info = {}  # nothing of the original's metadata may ride along (comments, ICC, XMP, EXIF)
    buffer = io.BytesIO()
    resized.save(buffer, "JPEG", quality=JPEG_QUALITY, optimize=True, progressive=True)
    return buffer.getvalue(), resized.width, resized.height


def reencode(content: bytes) -> Encoded:
    """A new JPEG and its thumbnail from the pixels of `content`, turned upright (EXIF
    orientation) and shrunk to MAX_SIDE; PhotoRefused for anything but a readable JPEG, PNG or
    WebP image of at most MAX_PIXELS."""
    try:
        with warnings.catch_warnings():
            # Pillow only warns below twice its own limit: a bomb is refused, never decoded.
            warnings.simplefilter("error", Image.DecompressionBombWarning)
            with Image.open(io.BytesIO(content), formats=ACCEPTED_FORMATS) as opened:
                if opened.width * opened.height > MAX_PIXELS:
                    raise PhotoRefused("photos.too_many_pixels", max=MAX_PIXELS // 1_000_000)
                opened.load()  # the first frame of an animation
                upright = ImageOps.exif_transpose(opened)
                pixels = _flatten(upright)
    except PhotoRefused:
        raise
    except UnidentifiedImageError:
        raise PhotoRefused("photos.not_an_image") from None
    except (Image.DecompressionBombError, Image.DecompressionBombWarning):
        raise PhotoRefused("photos.too_many_pixels", max=MAX_PIXELS // 1_000_000) from None
    except (OSError, SyntaxError, ValueError, EOFError, IndexError, TypeError, struct.error):
        # Truncated data, a corrupt header or EXIF block: Pillow's own errors for a bad file.
        raise PhotoRefused("photos.damaged") from None
    image, width, height = _jpeg(pixels, MAX_SIDE)
    thumbnail, thumbnail_width, thumbnail_height = _jpeg(pixels, THUMBNAIL_SIDE)
    return Encoded(image, thumbnail, width, height, thumbnail_width, thumbnail_height)


def clean_description(value: str | None) -> str:
    """The text alternative: required, on one line, at most DESCRIPTION_MAX characters."""
    text = " ".join((value or "").split())
    if not text:
        raise Invalid(message("photos.description_required"),
                      {"description": message("photos.description_required")})
    if len(text) > DESCRIPTION_MAX:
        refused = message("photos.description_too_long", max=DESCRIPTION_MAX)
        raise Invalid(refused, {"description": refused})
    return text


# -- who sees what ----------------------------------------------------------------------------------------


def moderated(tenant: Tenant) -> bool:
    publication = tenant.config.publication
    return publication is None or publication.photos.moderation


def photos_offered(tenant: Tenant) -> bool:
    """The tenant publishes fiches and lets them carry photos."""
    publication = tenant.config.publication
    return publication is not None and publication.photos.max_count > 0


def publicly_visible(tenant: Tenant) -> ColumnElement[bool]:
    """Over Photo: what an anonymous visitor may see on this tenant."""
    shown = Photo.status == APPROVED if moderated(tenant) else Photo.status != REJECTED
    owner_published = exists(
        select(Account.id).where(Account.tenant_id == Photo.tenant_id, Account.id == Photo.account_id,
                                 published_clause(tenant))  # the one publication rule
    )
    offered = true() if photos_offered(tenant) else false()  # a tenant that stopped photos shows none
    return and_(Photo.tenant_id == tenant.slug, offered, shown, owner_published)


@dataclass(frozen=True)
class PublicPhoto:
    """What the public fiche shows of a photo (assmat/templates/photos_public.html)."""

    key: str
    description: str
    width: int
    height: int
    thumbnail_width: int
    thumbnail_height: int

    @property
    def url(self) -> str:
        return f"/photos/{self.key}"

    @property
    def thumbnail_url(self) -> str:
        return f"/photos/{self.key}/miniature"


async def published_photos(db: AsyncSession, tenant: Tenant, account_id: int) -> list[PublicPhoto]:
    """The photos the public fiche of `account_id` shows, in her order (none when her fiche is
    not published: the same rule as the photos' own URLs)."""
    rows = await db.scalars(
        select(Photo)
        .where(publicly_visible(tenant), Photo.account_id == account_id)
        .order_by(Photo.position, Photo.id)
    )
    return [
        PublicPhoto(photo.public_key, photo.description, photo.width, photo.height, photo.thumbnail_width,
                    photo.thumbnail_height)
        for photo in rows
    ]


async def public_file(db: AsyncSession, tenant: Tenant, key: str, thumbnail: bool) -> bytes:
    """The bytes an anonymous visitor may load under /photos/{key}; NotFound otherwise."""
    return await _file(db, select(Photo.id).where(publicly_visible(tenant), Photo.public_key == key), tenant, thumbnail)


async def own_file(db: AsyncSession, tenant: Tenant, account: Account, key: str, thumbnail: bool) -> bytes:
    """The bytes of one of her own photos, whatever its state (her page shows it pending)."""
    return await _file(
        db, select(Photo.id).where(Photo.tenant_id == tenant.slug, Photo.account_id == account.id,
                                   Photo.public_key == key), tenant, thumbnail,
    )


async def staff_file(db: AsyncSession, tenant_id: str, photo_id: int, thumbnail: bool) -> bytes:
    """A photo of the tenant, for its staff (the moderation queue)."""
    return await _file(db, select(Photo.id).where(Photo.tenant_id == tenant_id, Photo.id == photo_id), tenant_id,
                       thumbnail)


async def _file(db: AsyncSession, photo: Select, tenant: Tenant | str, thumbnail: bool) -> bytes:
    slug = tenant if isinstance(tenant, str) else tenant.slug
    column = PhotoFile.thumbnail if thumbnail else PhotoFile.image
    found = await db.scalar(
        select(column).where(PhotoFile.tenant_id == slug, PhotoFile.photo_id == photo.scalar_subquery())
    )
    if found is None:
        raise NotFound()
    return found


# -- the assistant's photos -------------------------------------------------------------------------------


async def photos_of(db: AsyncSession, tenant: Tenant, account: Account) -> list[Photo]:
    return list(await db.scalars(
        select(Photo).where(Photo.tenant_id == tenant.slug, Photo.account_id == account.id)
        .order_by(Photo.position, Photo.id)
    ))


async def owned_photo(db: AsyncSession, tenant: Tenant, account: Account, photo_id: int) -> Photo:
    photo = await db.scalar(
        select(Photo).where(Photo.tenant_id == tenant.slug, Photo.account_id == account.id, Photo.id == photo_id)
    )
    if photo is None:
        raise NotFound()
    return photo


def max_count(tenant: Tenant) -> int:
    publication = tenant.config.publication
    return publication.photos.max_count if publication is not None else 0


def max_bytes(tenant: Tenant) -> int:
    publication = tenant.config.publication
    return publication.photos.max_bytes if publication is not None else 0


async def add_photo(
    db: AsyncSession, tenant: Tenant, account: Account, content: bytes | None, description: str | None,
    ip: str | None = None,
) -> Photo:
    """Store a new photo (pending where the tenant moderates). Invalid with field errors
    (`photo`, `description`): nothing is stored. Every file sent is counted before it is decoded,
    refused or not (RateLimited past the limit); the count is committed here, the photo by the
    caller."""
    errors: dict[str, str] = {}
    try:
        text = clean_description(description)
    except Invalid as refused:
        errors.update(refused.field_errors)
    count = await db.scalar(
        select(func.count(Photo.id)).where(Photo.tenant_id == tenant.slug, Photo.account_id == account.id)
    ) or 0
    if count >= max_count(tenant):
        refused = message("photos.count_reached", max=max_count(tenant))
        raise Invalid(refused, {"photo": refused})
    encoded = None
    if not content:
        errors["photo"] = message("photos.file_required")
    elif len(content) > max_bytes(tenant):
        errors["photo"] = message("photos.too_large", size=megabytes(max_bytes(tenant)))
    else:
        if not await PHOTO_UPLOADS_PER_ACCOUNT.hit(db, tenant.slug, f"account:{account.id}"):
            await db.commit()
            raise RateLimited(message("photos.too_many_uploads"))
        await db.commit()  # the attempt counts even if the file is refused below
        try:
            encoded = reencode(content)
        except Invalid as refused:
            errors.update(refused.field_errors)
    if errors or encoded is None:
        raise Invalid(next(iter(errors.values())), errors)
    last = await db.scalar(
        select(func.max(Photo.position)).where(Photo.tenant_id == tenant.slug, Photo.account_id == account.id)
    )
    photo = Photo(
        tenant_id=tenant.slug, account_id=account.id, public_key=secrets.token_urlsafe(18), description=text,
        status=PENDING if moderated(tenant) else APPROVED, position=(last or 0) + 1, width=encoded.width,
        height=encoded.height, thumbnail_width=encoded.thumbnail_width, thumbnail_height=encoded.thumbnail_height,
        byte_size=len(encoded.image),
    )
    db.add(photo)
    await db.flush()
    db.add(PhotoFile(tenant_id=tenant.slug, photo_id=photo.id, image=encoded.image, thumbnail=encoded.thumbnail))
    await audit.record(db, tenant.slug, EventType.PHOTO_ADDED, account_id=account.id, ip=ip, photo_id=photo.id)
    return photo


async def describe_photo(
    db: AsyncSession, tenant: Tenant, account: Account, photo: Photo, description: str | None, ip: str | None = None,
) -> None:
    """A new text alternative. Where the tenant moderates, a changed text waits for staff again:
    what the public reads is always what staff approved."""
    text = clean_description(description)
    if text == photo.description:
        return
    values: dict[str, object] = {"description": text}
    if moderated(tenant):
        values.update(status=PENDING, rejection_reason=None, reviewed_at=None, reviewed_by=None)
    await db.execute(
        update(Photo).where(Photo.tenant_id == tenant.slug, Photo.account_id == account.id, Photo.id == photo.id)
        .values(**values).execution_options(synchronize_session=False)
    )
    await audit.record(db, tenant.slug, EventType.PHOTO_DESCRIBED, account_id=account.id, ip=ip, photo_id=photo.id)


async def delete_photo(db: AsyncSession, tenant: Tenant, account: Account, photo: Photo, ip: str | None = None) -> None:
    await db.execute(delete(PhotoFile).where(PhotoFile.tenant_id == tenant.slug, PhotoFile.photo_id == photo.id))
    await db.execute(
        delete(Photo).where(Photo.tenant_id == tenant.slug, Photo.account_id == account.id, Photo.id == photo.id)
    )
    await audit.record(db, tenant.slug, EventType.PHOTO_DELETED, account_id=account.id, ip=ip, photo_id=photo.id)


# -- moderation (the console) -----------------------------------------------------------------------------


def awaiting_review() -> ColumnElement[bool]:
    return Photo.status == PENDING


async def approve(db: AsyncSession, tenant_id: str, photos: list[Photo], by: str) -> int:
    """Publish these photos (their owner's fiche still decides whether anyone sees them)."""
    done = 0
    for photo in photos:
        result = await db.execute(
            update(Photo).where(Photo.tenant_id == tenant_id, Photo.id == photo.id, Photo.status != APPROVED)
            .values(status=APPROVED, rejection_reason=None, reviewed_at=clock.now(), reviewed_by=by)
            .execution_options(synchronize_session=False)
        )
        if result.rowcount == 1:
            await audit.record(db, tenant_id, EventType.PHOTO_APPROVED, account_id=photo.account_id, by=by, photo_id=photo.id)
            done += 1
    return done


def clean_reason(value: str | None) -> str:
    text = " ".join((value or "").split())
    if not text:
        raise Invalid(message("photos.reason_required"))
    return text[:REASON_MAX]


async def reject(db: AsyncSession, tenant_id: str, photos: list[Photo], reason: str, by: str) -> int:
    """Refuse these photos with a reason their owner reads on her page."""
    done = 0
    for photo in photos:
        result = await db.execute(
            update(Photo).where(Photo.tenant_id == tenant_id, Photo.id == photo.id)
            .values(status=REJECTED, rejection_reason=reason, reviewed_at=clock.now(), reviewed_by=by)
            .execution_options(synchronize_session=False)
        )
        if result.rowcount == 1:
            await audit.record(db, tenant_id, EventType.PHOTO_REJECTED, account_id=photo.account_id, by=by,
                               photo_id=photo.id, reason=reason)
            done += 1
    return done
