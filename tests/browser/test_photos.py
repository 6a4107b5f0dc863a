"""« Mes photos » in a real Chromium: a Gers assistant chooses a photo file and its description,
clicks « Ajouter la photo » (on a desktop with JavaScript, on a phone without), sees it waiting
for approval; a Gers staff member approves it in the console with one click, and the public then
loads it. axe-core and the Nu HTML checker pass on every page of the feature.

Screenshots of each page at 1280 and 360 px go to /tmp/shots11/photos/ for a person to look at."""

from __future__ import annotations

import io
import re
import uuid
from collections.abc import Iterator
from pathlib import Path

import pytest
from PIL import Image, ImageDraw
from playwright.sync_api import Browser, Page, expect

from tests.browser.test_accessibility import AXE_PATH, describe, run_axe, serious
from tests.browser.test_console import CONSOLE_PASSWORD, create_console_admin
from tests.browser.test_every_form import with_agrement
from tests.browser.test_html_validation import checker, validate
from tests.browser.test_html_validation import describe as describe_html

pytestmark = pytest.mark.browser

SLUG = "gers"
PASSWORD = "Lune#Soleil42"  # meets the Gers policy
PAGE = "/espace/fiche/photos"
DESCRIPTION = "Description de la photo (pour les personnes qui ne la voient pas)"
SHOTS = Path("/tmp/shots11/photos")


def photo_file(directory: Path, name: str = "IMG_2041.jpg") -> Path:
    """A phone's photo of a garden, as the assistant would pick it."""
    image = Image.new("RGB", (1600, 1200), (186, 222, 244))
    draw = ImageDraw.Draw(image)
    draw.rectangle((0, 800, 1600, 1200), fill=(118, 176, 84))
    draw.ellipse((1250, 120, 1450, 320), fill=(250, 214, 90))
    path = directory / name
    image.save(path, "JPEG", quality=90)
    return path


def photo_field(page: Page):
    """The file field, by its label (« Photo », its asterisk hidden from assistive technologies)."""
    return page.get_by_label(re.compile(r"^Photo\b"))


def description_field(page: Page):
    return page.get_by_label(re.compile("^" + re.escape(DESCRIPTION))).first


def shoot(page: Page, name: str) -> None:
    SHOTS.mkdir(parents=True, exist_ok=True)
    page.screenshot(path=str(SHOTS / f"{name}.png"), full_page=True)


def sign_in(page: Page, live_server, identifier: str) -> None:
    page.goto(live_server.url(SLUG, "/connexion"))
    page.get_by_label("Identifiant").fill(identifier)
    page.get_by_label("Mot de passe", exact=False).fill(PASSWORD)
    page.get_by_role("button", name="Se connecter").click()
    page.wait_for_url(live_server.url(SLUG, "/espace"))


def assert_accessible(page: Page, where: str) -> None:
    axe = AXE_PATH.read_text(encoding="utf-8")
    found = serious(run_axe(page, axe))
    assert not found, f"axe-core: serious or critical violations on {where}:\n{describe(found)}"


@pytest.fixture(params=[({"width": 1280, "height": 800}, True), ({"width": 360, "height": 740}, False)],
                ids=["desktop", "phone-without-javascript"])
def device(request: pytest.FixtureRequest, browser: Browser) -> Iterator[tuple[Page, str]]:
    viewport, javascript = request.param
    context = browser.new_context(locale="fr-FR", viewport=viewport, java_script_enabled=javascript)
    context.set_default_timeout(10_000)
    try:
        yield context.new_page(), request.node.callspec.id
    finally:
        context.close()


def test_an_assistant_adds_a_photo_and_staff_approve_it(live_server, live_accounts, browser: Browser, device,
                                                        tmp_path: Path) -> None:
    page, name = device
    identifier = f"AGR-{uuid.uuid4().hex[:10].upper()}"
    account, _ = live_accounts.create(SLUG, identifier, PASSWORD, email=f"{identifier.lower()}@example.org")
    with_agrement(live_server, account)  # her fiche is public: so will her approved photo be
    sign_in(page, live_server, identifier)
    page.goto(live_server.url(SLUG, PAGE))
    expect(page.get_by_role("heading", level=1)).to_have_text("Mes photos")
    expect(page.get_by_text("Votre fiche n'a pas encore de photo.")).to_be_visible()

    # Without a description: the message under the field, nothing stored, the file to choose again.
    photo_field(page).set_input_files(photo_file(tmp_path))
    page.get_by_role("button", name="Ajouter la photo").click()
    expect(page.get_by_role("alert")).to_contain_text("Décrivez la photo pour les personnes qui ne la voient pas.")
    expect(description_field(page)).to_have_attribute("aria-invalid", "true")
    shoot(page, f"photos-error-{name}")

    photo_field(page).set_input_files(photo_file(tmp_path))
    description_field(page).fill("Le jardin clos, vu de la terrasse")
    page.get_by_role("button", name="Ajouter la photo").click()
    page.wait_for_url(live_server.url(SLUG, f"{PAGE}?info=photo_added_pending"))
    expect(page.get_by_role("status")).to_contain_text("Elle paraîtra sur votre fiche une fois validée par le service.")
    card = page.get_by_role("listitem").filter(has=page.get_by_role("img", name="Le jardin clos, vu de la terrasse"))
    expect(card).to_contain_text("État : en attente de validation")
    thumbnail = card.get_by_role("img")
    assert page.evaluate("(img) => img.complete && img.naturalWidth", thumbnail.element_handle()) == 480
    key = re.search(r"/photos/([A-Za-z0-9_-]{24})/miniature", thumbnail.get_attribute("src")).group(1)
    shoot(page, f"photos-pending-{name}")

    # Nobody else sees it yet.
    stranger = browser.new_context(locale="fr-FR")
    try:
        assert stranger.new_page().goto(live_server.url(SLUG, f"/photos/{key}")).status == 404
    finally:
        stranger.close()

    # Staff: « Photos à valider », one click on « Valider ».
    staff = f"agent-{uuid.uuid4().hex[:8]}@gers.fr"
    create_console_admin(live_server, SLUG, staff, CONSOLE_PASSWORD)
    console = browser.new_context(locale="fr-FR", viewport={"width": 1280, "height": 800})
    try:
        desk = console.new_page()
        desk.goto(live_server.url(SLUG, "/admin/login"))
        desk.get_by_label("Adresse email").fill(staff)
        desk.get_by_label("Mot de passe").fill(CONSOLE_PASSWORD)
        desk.get_by_role("button", name="Se connecter").click()
        desk.wait_for_url(live_server.url(SLUG, "/admin/vue-d-ensemble"))
        desk.get_by_role("link", name="Photos à valider").click()
        row = desk.locator("tbody tr").filter(has=desk.get_by_role("img", name="Le jardin clos, vu de la terrasse"))
        expect(row).to_have_count(1)
        expect(row).to_contain_text("en attente de validation")
        if name == "desktop":
            shoot(desk, "console-photos-list")
            assert_accessible(desk, "the console's photo list")
        row.get_by_role("button", name="Valider").click()
        desk.wait_for_url(re.compile(r"/admin/photo/list\?done=approve&count=1$"))
        expect(desk.locator("tbody tr").filter(has_text="Le jardin clos, vu de la terrasse")).to_contain_text("publiée")
    finally:
        console.close()

    page.reload()
    expect(card).to_contain_text("État : publiée")
    public = browser.new_context(locale="fr-FR")
    try:
        response = public.new_page().goto(live_server.url(SLUG, f"/photos/{key}"))
        assert response.status == 200 and response.headers["content-type"] == "image/jpeg"
        assert Image.open(io.BytesIO(response.body())).size == (1600, 1200)
    finally:
        public.close()

    # A new description: saved by its own button, and waiting for staff again.
    page.get_by_role("textbox", name=re.compile("^" + re.escape(DESCRIPTION))).nth(1).fill("Le jardin et son portique")
    page.get_by_role("button", name=re.compile(r"^Enregistrer la description ?de la photo 1$")).click()
    page.wait_for_url(live_server.url(SLUG, f"{PAGE}?info=photo_described"))
    expect(page.get_by_role("status")).to_contain_text("La description de la photo a été enregistrée.")
    edited = page.get_by_role("listitem").filter(has=page.get_by_role("img", name="Le jardin et son portique"))
    expect(edited).to_contain_text("État : en attente de validation")

    # Delete it, through its confirmation page.
    page.get_by_role("link", name=re.compile(r"^Supprimer ?la photo 1$")).click()
    expect(page.get_by_role("heading", level=1)).to_have_text("Supprimer une photo")
    shoot(page, f"photo-delete-{name}")
    page.get_by_role("button", name="Oui, supprimer").click()
    page.wait_for_url(live_server.url(SLUG, f"{PAGE}?info=photo_deleted"))
    expect(page.get_by_text("Votre fiche n'a pas encore de photo.")).to_be_visible()


def test_the_photo_pages_pass_axe_and_the_html_checker(live_server, live_accounts, browser: Browser, tmp_path: Path) -> None:
    """Her page with a pending, a published and a refused photo, an error, the delete page; the
    console's list, a photo's details and the refusal's confirmation: axe at both sizes, vnu."""
    from sqlalchemy import select

    from assmat.portal.photos.models import Photo

    identifier = f"AGR-{uuid.uuid4().hex[:10].upper()}"
    account, _ = live_accounts.create(SLUG, identifier, PASSWORD, email=f"{identifier.lower()}@example.org")
    context = browser.new_context(locale="fr-FR", viewport={"width": 1280, "height": 800})
    try:
        page = context.new_page()
        sign_in(page, live_server, identifier)
        page.goto(live_server.url(SLUG, PAGE))
        for number, text in enumerate(("Le coin jeux", "Le jardin", "La chambre des petits")):
            photo_field(page).set_input_files(photo_file(tmp_path, f"p{number}.jpg"))
            description_field(page).fill(text)
            page.get_by_role("button", name="Ajouter la photo").click()
            page.wait_for_url(re.compile(r"info=photo_added_pending$"))

        async def ids(sessionmaker) -> list[int]:
            async with sessionmaker() as db:
                return list(await db.scalars(select(Photo.id).where(Photo.tenant_id == SLUG, Photo.account_id == account.id)
                                             .order_by(Photo.id)))

        first, second, third = live_server.run_async(ids)
        staff = f"agent-{uuid.uuid4().hex[:8]}@gers.fr"
        create_console_admin(live_server, SLUG, staff, CONSOLE_PASSWORD)
        desk = context.new_page()
        desk.goto(live_server.url(SLUG, "/admin/login"))
        desk.get_by_label("Adresse email").fill(staff)
        desk.get_by_label("Mot de passe").fill(CONSOLE_PASSWORD)
        desk.get_by_role("button", name="Se connecter").click()
        desk.wait_for_url(live_server.url(SLUG, "/admin/vue-d-ensemble"))
        desk.goto(live_server.url(SLUG, f"/admin/photo/action/approve?pks={second}"))
        desk.get_by_role("button", name="Confirmer : Valider").click()
        desk.goto(live_server.url(SLUG, f"/admin/photo/action/reject?pks={third}"))
        desk.get_by_role("button", name="Confirmer : Refuser").click()  # no reason: refused, said
        expect(desk.get_by_text("Indiquez le motif.")).to_be_visible()
        shoot(desk, "console-reject-error")
        desk.get_by_label("Motif du refus, lu par l'assistant(e) (obligatoire)").fill("On voit le numéro de la maison.")
        desk.get_by_role("button", name="Confirmer : Refuser").click()
        desk.wait_for_url(re.compile(r"done=reject&count=1$"))

        portal_pages = {"photos": PAGE, "delete": f"{PAGE}/{first}/supprimer"}
        console_pages = {"console list": "/admin/photo/list", "console details": f"/admin/photo/details/{first}",
                         "console reject": f"/admin/photo/action/reject?pks={first}"}
        bodies = {}
        for where, path in (portal_pages | console_pages).items():
            target = page if path.startswith("/espace") else desk
            response = target.goto(live_server.url(SLUG, path))
            assert response.status == 200, (path, response.status)
            bodies[where] = response.text()
            for width in (1280, 360):
                target.set_viewport_size({"width": width, "height": 800})
                assert_accessible(target, f"{path} at {width}px")
                if where in portal_pages or width == 1280:
                    shoot(target, f"{where.replace(' ', '-')}-{width}")
            target.set_viewport_size({"width": 1280, "height": 800})
        expect(page.get_by_text("Motif indiqué par le service : On voit le numéro de la maison.")).to_have_count(0)
        page.goto(live_server.url(SLUG, PAGE))
        expect(page.get_by_text("Motif indiqué par le service : On voit le numéro de la maison.")).to_be_visible()

        # The error state of the form.
        description_field(page).fill("Sans fichier")
        page.get_by_role("button", name="Ajouter la photo").click()
        expect(page.get_by_role("alert")).to_contain_text("Choisissez la photo à envoyer.")
        assert_accessible(page, "the photo form with an error")
        bodies["photos with an error"] = page.content()
    finally:
        context.close()

    pages = tmp_path / "pages"  # the checker reads every file of its directory: not the photos
    pages.mkdir()
    errors = validate(checker(), bodies, pages)
    assert not errors, f"Nu HTML checker: errors on {len(errors)} of {len(bodies)} pages:\n{describe_html(errors)}"
