"""« Mes photos » on the Gers portal (publication with moderation): upload with its text
alternative, the photo served only to whom it may be, staff approval and refusal in the console,
edit, delete, limits, and every photo bound to its assistant and its tenant."""

from __future__ import annotations

import dataclasses
import io

import pytest
from PIL import Image
from sqlalchemy import func, select

from assmat.core.security.models import AuditEvent
from assmat.portal.photos.models import Photo, PhotoFile
from assmat.portal.photos.service import add_photo, published_photos
from assmat.web.templating import templates
from tests.admin.conftest import ADMIN_PASSWORD, Console, create_admin
from tests.portal.test_photo_rules import camera_jpeg, encoded
from tests.support.portal import text_of
from assmat.portal.profile.models import Fiche
from tests.support.site import make_publishable, signed_in_portal

# Bytes in a LargeBinary and the composite keys behave per backend.
pytestmark = pytest.mark.both_backends

PAGE = "/espace/fiche/photos"
SLUG = "gers"


def upload(portal, content: bytes | None, description: str | None = "Le coin jeux avec son toboggan",
           filename: str = "IMG_0042.jpg", content_type: str = "image/jpeg"):
    data = {"csrf_token": portal.csrf(PAGE)}
    if description is not None:
        data["description"] = description
    files = {"photo": (filename, content if content is not None else b"", content_type)}
    return portal.client.post(PAGE, data=data, files=files)


def photos(portal) -> list[Photo]:
    return [row for (row,) in portal.query(select(Photo).where(Photo.tenant_id == portal.slug).order_by(Photo.id))]


def stored_files(portal) -> int:
    return portal.query(select(func.count(PhotoFile.photo_id)).where(PhotoFile.tenant_id == portal.slug))[0][0]


def audit_types(portal) -> list[str]:
    return [type_ for (type_,) in portal.query(
        select(AuditEvent.type).where(AuditEvent.tenant_id == portal.slug, AuditEvent.type.like("photo.%"))
        .order_by(AuditEvent.id))]


def staff(app, client_for, slug: str = SLUG) -> Console:
    console = Console(client_for(slug), app)
    create_admin(app, console.client, slug, f"agent@{slug}.fr", ADMIN_PASSWORD)
    assert console.login(f"agent@{slug}.fr", ADMIN_PASSWORD).status_code == 302
    return console


def moderate(console: Console, action: str, photo_id: int, reason: str | None = None):
    data = {"csrf_token": console.csrf("/admin/photo/list"), "pks": str(photo_id)}
    if reason is not None:
        data["reason"] = reason
    return console.client.post(f"/admin/photo/run/{action}", data=data)


@pytest.fixture
def assistant(portal_for):
    portal, account = signed_in_portal(portal_for, SLUG, "AGR-2026-0301")
    make_publishable(portal, account)  # her photos are public only while her fiche is
    return portal, account


def test_a_photo_waits_for_staff_then_is_served_to_everyone(assistant, portal_for, client_for, app):
    portal, account = assistant
    response = upload(portal, camera_jpeg())
    assert response.status_code == 303 and response.headers["location"] == f"{PAGE}?info=photo_added_pending"
    page = text_of(portal.client.get(response.headers["location"]))
    assert "Votre photo a été ajoutée. Elle paraîtra sur votre fiche une fois validée par le service." in page
    assert "État : <strong>en attente de validation</strong>" in page
    (photo,) = photos(portal)
    assert (photo.account_id, photo.status, photo.description) == (account.id, "pending", "Le coin jeux avec son toboggan")
    assert f'alt="Le coin jeux avec son toboggan"' in page and f"/photos/{photo.public_key}/miniature" in page
    (stored,) = [row for (row,) in portal.query(select(PhotoFile.image).where(PhotoFile.tenant_id == SLUG))]
    assert b"GPS" not in stored and b"Exif" not in stored and Image.open(io.BytesIO(stored)).size == (1600, 1200)

    # Her own pending photo: to her only, never kept by the browser.
    own = portal.client.get(f"/photos/{photo.public_key}")
    assert own.status_code == 200 and own.content == stored
    assert own.headers["content-type"] == "image/jpeg" and own.headers["cache-control"] == "no-store"
    anonymous = portal_for(SLUG)
    assert anonymous.client.get(f"/photos/{photo.public_key}").status_code == 404
    assert anonymous.client.get(f"/photos/{photo.public_key}/miniature").status_code == 404
    assert portal.run(lambda: _published(app, account.id)) == []

    console = staff(app, client_for)
    listing = text_of(console.client.get("/admin/photo/list"))
    assert "Le coin jeux avec son toboggan" in listing and f"/admin/photo/miniature/{photo.id}" in listing
    assert moderate(console, "approve", photo.id).status_code == 303
    assert photos(portal)[0].status == "approved" and photos(portal)[0].reviewed_by == f"agent@{SLUG}.fr"

    public = anonymous.client.get(f"/photos/{photo.public_key}")
    assert public.status_code == 200 and public.content == stored
    assert public.headers["content-type"] == "image/jpeg"
    assert public.headers["x-content-type-options"] == "nosniff"
    assert public.headers["content-disposition"] == "inline"
    assert public.headers["cache-control"] == "public, max-age=3600, immutable"
    etag = public.headers["etag"]
    again = anonymous.client.get(f"/photos/{photo.public_key}", headers={"if-none-match": etag})
    assert again.status_code == 304 and again.content == b""
    thumbnail = anonymous.client.get(f"/photos/{photo.public_key}/miniature")
    assert thumbnail.status_code == 200 and Image.open(io.BytesIO(thumbnail.content)).size == (480, 360)
    assert thumbnail.headers["etag"] != etag
    (shown,) = portal.run(lambda: _published(app, account.id))
    assert (shown.description, shown.url, shown.width) == ("Le coin jeux avec son toboggan", f"/photos/{photo.public_key}", 1600)
    assert "État : <strong>publiée</strong>" in text_of(portal.client.get(PAGE))
    gallery = templates.env.get_template("photos_public.html").render(photos=[shown])
    assert (f'<a href="/photos/{photo.public_key}"><img src="/photos/{photo.public_key}/miniature" '
            f'alt="Le coin jeux avec son toboggan" width="480" height="360" loading="lazy"></a>') in gallery
    assert templates.env.get_template("photos_public.html").render(photos=[]).strip() == ""
    # Her public fiche shows it, as the gallery renders it.
    assert portal.post("/espace/fiche", {"presentation": "Bonjour.", "afficher-telephone": "1"}).status_code == 303
    (public_id,) = portal.query(select(Fiche.public_id).where(Fiche.tenant_id == SLUG, Fiche.account_id == account.id))[0]
    fiche_page = text_of(anonymous.client.get(f"/assistants/{public_id}"))
    assert f'<img src="/photos/{photo.public_key}/miniature" alt="Le coin jeux avec son toboggan"' in fiche_page

    # Another tenant's host, a key that is no photo's: the same 404.
    assert portal_for("eure-et-loir").client.get(f"/photos/{photo.public_key}").status_code == 404
    assert portal_for("alpes-maritimes").client.get(f"/photos/{photo.public_key}").status_code == 404
    for key in ("x" * 24, photo.public_key[:-1], photo.public_key + "x", "../../etc/passwd"):
        assert anonymous.client.get(f"/photos/{key}").status_code == 404, key
    assert anonymous.client.get("/photos/" + "%00" * 24).status_code == 400  # refused before any route
    # A fiche that is not published shows no photo (the publication rule, here: a disabled account).
    from assmat.auth.models import Account
    from sqlalchemy import update

    portal.run(lambda: _execute(app, update(Account).where(Account.tenant_id == SLUG, Account.id == account.id)
                                .values(disabled_at=photo.created_at)))
    assert anonymous.client.get(f"/photos/{photo.public_key}").status_code == 404
    assert portal.run(lambda: _published(app, account.id)) == []
    assert audit_types(portal) == ["photo.added", "photo.approved"]


async def _published(app, account_id: int):
    async with app.state.sessionmaker() as db:
        return await published_photos(db, app.state.registry.get(SLUG), account_id)


async def _execute(app, statement) -> None:
    async with app.state.sessionmaker() as db:
        await db.execute(statement)
        await db.commit()


def test_a_refused_photo_shows_her_the_reason_and_never_the_public(assistant, portal_for, client_for, app):
    portal, _account = assistant
    upload(portal, encoded(Image.new("RGB", (640, 480), (0, 90, 0)), "PNG"), filename="jardin.jpg")
    (photo,) = photos(portal)
    console = staff(app, client_for)
    confirmation = text_of(console.client.get("/admin/photo/action/reject", params={"pks": str(photo.id)}))
    assert "Motif du refus, lu par l'assistant(e) (obligatoire)" in confirmation
    missing = moderate(console, "reject", photo.id, reason="   ")
    assert missing.status_code == 400 and "Indiquez le motif." in text_of(missing)
    assert photos(portal)[0].status == "pending"
    assert moderate(console, "reject", photo.id, reason="On voit le numéro de la maison.").status_code == 303
    page = text_of(portal.client.get(PAGE))
    assert "État : <strong>refusée</strong>" in page
    assert "Motif indiqué par le service : On voit le numéro de la maison." in page
    assert portal_for(SLUG).client.get(f"/photos/{photo.public_key}").status_code == 404
    assert portal.client.get(f"/photos/{photo.public_key}").status_code == 200  # she still sees it
    assert audit_types(portal) == ["photo.added", "photo.rejected"]


def test_bad_files_get_a_french_message_and_change_nothing(assistant):
    portal, _account = assistant
    cases = [
        (b"<html><script>alert(1)</script></html>", "Le coin", "texte.jpg", 400,
         "Ce fichier n'est pas une photo dans un format accepté : envoyez une image JPEG, PNG ou WebP."),
        (encoded(Image.new("RGB", (40, 30)), "GIF"), "Le coin", "anime.gif", 400,
         "Ce fichier n'est pas une photo dans un format accepté : envoyez une image JPEG, PNG ou WebP."),
        (camera_jpeg(size=(640, 480))[:3000], "Le coin", "coupee.jpg", 400,
         "Cette photo n'a pas pu être lue (le fichier est abîmé ou incomplet) : rien n'a été enregistré."),
        (camera_jpeg(size=(640, 480)), "", "photo.jpg", 400,
         "Décrivez la photo pour les personnes qui ne la voient pas."),
        (camera_jpeg(size=(640, 480)), None, "photo.jpg", 400,
         "Décrivez la photo pour les personnes qui ne la voient pas."),
        (camera_jpeg(size=(640, 480)), "x" * 251, "photo.jpg", 400,
         "La description ne doit pas dépasser 250 caractères."),
        (None, "Le coin", "", 400, "Choisissez la photo à envoyer."),
        (b"\xff\xd8" + b"0" * 5_000_000, "Le coin", "enorme.jpg", 413,
         "Le fichier dépasse la taille maximale de 5 Mo : rien n'a été enregistré."),
        (b"\xff\xd8" + b"0" * 5_200_000, "Le coin", "enorme.jpg", 413,
         "Le fichier dépasse la taille maximale de 5 Mo : rien n'a été enregistré."),
    ]
    for content, description, filename, status, expected in cases:
        response = upload(portal, content, description, filename=filename)
        assert response.status_code == status, (filename, response.status_code)
        page = text_of(response)
        assert expected in page, (filename, page[page.find("Erreur"):][:400])
        assert 'role="alert"' in page and 'aria-invalid="true"' in page
    assert photos(portal) == [] and stored_files(portal) == 0 and audit_types(portal) == []
    # The text she typed is kept when only the file was wrong.
    assert 'value="Le coin"' in upload(portal, b"pas une image", "Le coin").text


def test_files_sent_are_counted_refused_or_not(frozen_clock, assistant):
    """Each file is decoded at a cost: past 20 an hour, even refused ones, nothing more is decoded
    (the clock held still: a fixed window cannot roll over mid-test)."""
    portal, _account = assistant
    for _ in range(20):
        assert upload(portal, b"pas une image", "Le coin").status_code == 400
    limited = upload(portal, camera_jpeg(size=(64, 48)), "Le coin")
    assert limited.status_code == 429
    assert "Vous avez envoyé beaucoup de photos en une heure : réessayez plus tard." in text_of(limited)
    assert photos(portal) == [] and stored_files(portal) == 0


def test_a_form_without_its_token_is_refused(assistant):
    portal, _account = assistant
    response = portal.client.post(PAGE, data={"description": "Le coin"},
                                  files={"photo": ("a.jpg", camera_jpeg(size=(64, 48)), "image/jpeg")})
    assert response.status_code == 403 and photos(portal) == []
    response = portal.client.post(PAGE, data={"csrf_token": portal.csrf(PAGE), "description": "Le coin"},
                                  files=[("photo", ("a.jpg", b"1", "image/jpeg")), ("photo", ("b.jpg", b"2", "image/jpeg"))])
    assert response.status_code == 400 and photos(portal) == []


def test_the_number_of_photos_is_limited(assistant):
    portal, _account = assistant
    small = encoded(Image.new("RGB", (64, 48), (120, 0, 0)), "JPEG")
    for number in range(6):  # publication.photos.max_count, the default
        assert upload(portal, small, f"Photo {number}").status_code == 303
    refused = upload(portal, small, "Une de trop")
    assert refused.status_code == 400
    assert "Votre fiche compte déjà 6 photos, le maximum : supprimez-en une pour en ajouter une autre." in text_of(refused)
    assert len(photos(portal)) == 6
    page = text_of(portal.client.get(PAGE))
    assert 'enctype="multipart/form-data"' not in page and "Photos de ma fiche (6 sur 6)" in page
    assert [photo.position for photo in photos(portal)] == [1, 2, 3, 4, 5, 6]


def test_she_edits_the_description_and_deletes_a_photo(assistant, client_for, app):
    portal, _account = assistant
    upload(portal, camera_jpeg(size=(640, 480)))
    (photo,) = photos(portal)
    assert moderate(staff(app, client_for), "approve", photo.id).status_code == 303
    path = f"{PAGE}/{photo.id}/description"
    refused = portal.post(path, {"description": "  "}, form_path=PAGE)
    assert refused.status_code == 400
    assert "Décrivez la photo pour les personnes qui ne la voient pas." in text_of(refused)
    assert photos(portal)[0].description == "Le coin jeux avec son toboggan"
    saved = portal.post(path, {"description": "Le jardin clos, vu de la terrasse"}, form_path=PAGE)
    assert saved.status_code == 303 and saved.headers["location"] == f"{PAGE}?info=photo_described"
    edited = photos(portal)[0]
    # A new text waits for staff again: the public reads only what staff approved.
    assert (edited.description, edited.status) == ("Le jardin clos, vu de la terrasse", "pending")

    confirm = portal.client.get(f"{PAGE}/{photo.id}/supprimer")
    assert confirm.status_code == 200 and "Voulez-vous vraiment supprimer cette photo" in text_of(confirm)
    deleted = portal.post(f"{PAGE}/{photo.id}/supprimer", {}, form_path=f"{PAGE}/{photo.id}/supprimer")
    assert deleted.status_code == 303 and deleted.headers["location"] == f"{PAGE}?info=photo_deleted"
    assert photos(portal) == [] and stored_files(portal) == 0
    assert portal.client.get(f"/photos/{photo.public_key}").status_code == 404
    assert audit_types(portal) == ["photo.added", "photo.approved", "photo.described", "photo.deleted"]


def test_another_assistant_can_neither_see_nor_change_her_photos(assistant, portal_for):
    portal, _account = assistant
    upload(portal, camera_jpeg(size=(640, 480)))
    (photo,) = photos(portal)
    other, _ = signed_in_portal(portal_for, SLUG, "AGR-2026-0302")
    assert other.client.get(f"/photos/{photo.public_key}").status_code == 404
    assert other.client.get(f"/photos/{photo.public_key}/miniature").status_code == 404
    assert other.client.get(f"{PAGE}/{photo.id}/supprimer").status_code == 404
    assert other.post(f"{PAGE}/{photo.id}/supprimer", {}, form_path=PAGE).status_code == 404
    assert other.post(f"{PAGE}/{photo.id}/description", {"description": "Pris"}, form_path=PAGE).status_code == 404
    assert photo.public_key not in other.client.get(PAGE).text
    (after,) = photos(portal)
    assert (after.id, after.description, after.status) == (photo.id, photo.description, "pending")
    assert stored_files(portal) == 1
    # Her session means nothing on another tenant's host.
    foreign = portal_for("eure-et-loir")
    foreign.client.cookies.set("session", portal.client.cookies.get("session"), domain="eure-et-loir.localhost")
    assert foreign.client.get(f"/photos/{photo.public_key}").status_code == 404
    assert foreign.client.get(PAGE).status_code == 303


def test_the_page_exists_only_for_assistants_of_tenants_with_photos(portal_for):
    anonymous = portal_for(SLUG)
    response = anonymous.client.get(PAGE)
    assert response.status_code == 303 and response.headers["location"].startswith("/connexion")
    assert portal_for("alpes-maritimes").client.get(PAGE).status_code == 404  # publishes no fiche: no page
    alpes, _ = signed_in_portal(portal_for, "alpes-maritimes", "AGR-2026-0303")
    assert alpes.client.get(PAGE).status_code == 404
    structure, _ = signed_in_portal(portal_for, "eure-et-loir", "280302", kind="mam")
    assert structure.client.get(PAGE).status_code == 404
    eure, _ = signed_in_portal(portal_for, "eure-et-loir", "280301")
    assert eure.client.get(PAGE).status_code == 200


def test_without_moderation_a_photo_is_public_at_once(assistant, app):
    portal, account = assistant
    gers = app.state.registry.get(SLUG)
    publication = gers.config.publication
    unmoderated = dataclasses.replace(gers, config=gers.config.model_copy(update={"publication": publication.model_copy(
        update={"photos": publication.photos.model_copy(update={"moderation": False})})}))

    async def add_and_list():
        async with app.state.sessionmaker() as db:
            photo = await add_photo(db, unmoderated, account, camera_jpeg(size=(320, 240)), "Le salon")
            await db.commit()
            return photo.status, await published_photos(db, unmoderated, account.id), await published_photos(db, gers, account.id)

    status, shown, moderated_view = portal.run(add_and_list)
    assert status == "approved" and [photo.description for photo in shown] == ["Le salon"]
    assert [photo.description for photo in moderated_view] == ["Le salon"]  # approved stays approved
