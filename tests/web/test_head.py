"""What Lighthouse's best-practices and SEO audits check on every portal page, asserted on its
causes: an icon that loads (no 404 in the console), a meta description, the language, and a
logo drawn at its own aspect ratio."""

from __future__ import annotations

import re
from datetime import UTC, datetime
from pathlib import Path

import pytest

from assmat.web.phones import phone_links, phone_numbers
from assmat.web.theme import LOGO_HEIGHT, logo_size
from tests.flows.test_eure_et_loir import post_with_captcha
from tests.support.portal import Portal

SLUGS = ["alpes-maritimes", "cestas", "eure-et-loir", "gers", "mon-enfant"]
PUBLIC = ["/", "/connexion", "/mot-de-passe-oublie", "/contact", "/mentions-legales", "/donnees-personnelles",
          "/cookies", "/accessibilite", "/activation"]
SIGNED_IN = ["/espace", "/espace/compte", "/espace/compte/mot-de-passe", "/espace/compte/email"]
GOOD = "Lighthouse#2026a"
IDENTIFIERS = {"alpes-maritimes": "06-AM-0900", "cestas": "famille.phare", "eure-et-loir": "280900",
               "gers": "AGR-2026-0900", "mon-enfant": "lighthouse@example.org"}


def head_facts(html: str) -> dict[str, str | None]:
    description = re.search(r'<meta name="description" content="([^"]*)">', html)
    icon = re.search(r'<link rel="icon" href="([^"]+)"', html)
    lang = re.search(r'<html lang="([a-z]{2})">', html)
    return {
        "description": description.group(1).strip() if description else None,
        "icon": icon.group(1) if icon else None,
        "lang": lang.group(1) if lang else None,
    }


def viewbox_ratio(path: Path) -> float:
    _, _, width, height = (float(n) for n in re.search(r'viewBox="([^"]+)"', path.read_text()).group(1).split())
    return width / height


@pytest.mark.parametrize("slug", SLUGS)
def test_every_page_has_an_icon_a_description_and_a_language(app, client_for, slug):
    portal = Portal(client_for(slug), app, slug)
    account, _ = portal.create_account(IDENTIFIERS[slug], GOOD, email="lighthouse@example.org")
    portal.update_account(account.id, email_confirmed_at=datetime.now(UTC))
    pages = {path: portal.client.get(path) for path in PUBLIC}
    data = {"identifiant": IDENTIFIERS[slug], "mot_de_passe": GOOD}
    signed = post_with_captcha(portal, "/connexion", data) if portal.tenant.config.login.captcha else portal.post("/connexion", data)
    assert signed.status_code == 303, signed.text[:300]
    pages.update({path: portal.client.get(path) for path in SIGNED_IN})
    for path, response in pages.items():
        assert response.status_code == 200, (path, response.status_code)
        facts = head_facts(response.text)
        assert facts["lang"] == "fr", path
        assert facts["description"] and len(facts["description"]) >= 20, (path, facts)
        assert facts["icon"] == "/favicon.svg", path
    icon = portal.client.get("/favicon.svg")
    assert icon.status_code == 200 and icon.headers["content-type"].startswith("image/svg+xml")
    assert portal.tenant.config.branding.primary_color in icon.text
    # Browsers that ask for /favicon.ico regardless get an icon too, not a 404.
    legacy = portal.client.get("/favicon.ico")
    assert legacy.status_code == 200 and legacy.headers["content-type"].startswith("image/")


def test_the_platform_page_has_an_icon_and_a_description(client_for):
    response = client_for("localhost").get("/")
    facts = head_facts(response.text)
    assert facts["icon"] == "/favicon.svg" and facts["description"] and facts["lang"] == "fr"
    assert client_for("localhost").get("/favicon.svg").status_code == 200


@pytest.mark.parametrize("slug", SLUGS)
def test_the_logo_keeps_its_aspect_ratio(app, client_for, slug):
    tenant = app.state.registry.get(slug)
    html = client_for(slug).get("/").text
    img = re.search(r'<img class="brand-logo" src="/logo" alt="" width="(\d+)" height="(\d+)">', html)
    assert img, "the header logo has no width and height"
    width, height = int(img.group(1)), int(img.group(2))
    assert height == LOGO_HEIGHT
    assert abs(width / height - viewbox_ratio(tenant.logo_path)) < 0.03, (width, height)
    css = client_for(slug).get("/static/assmat.css").text
    rule = re.search(r"\.brand-logo \{([^}]*)\}", css).group(1)
    assert "width: auto" in rule and "height:" in rule


def test_logo_size_reads_the_viewbox_or_the_attributes(tmp_path):
    wide = tmp_path / "wide.svg"
    wide.write_text('<svg xmlns="http://www.w3.org/2000/svg" viewBox="0 0 300 100"></svg>')
    sized = tmp_path / "sized.svg"
    sized.write_text('<svg xmlns="http://www.w3.org/2000/svg" width="50px" height="100px"></svg>')
    broken = tmp_path / "broken.svg"
    broken.write_text("not svg")
    assert logo_size(wide) == (144, 48)
    assert logo_size(sized) == (24, 48)
    assert logo_size(broken) == (48, 48)


@pytest.mark.parametrize(("text", "links"), [
    ("07 77 82 20 37 ou 05 56 78 13 00 (postes 128 et 151)", [("07 77 82 20 37", "+33777822037"), ("05 56 78 13 00", "+33556781300")]),
    ("05 81 32 35 80", [("05 81 32 35 80", "+33581323580")]),
    ("+33 5 81 32 35 80", [("+33 5 81 32 35 80", "+33581323580")]),
    ("05.56.78.13.00", [("05.56.78.13.00", "+33556781300")]),
    ("0 800 130 000 (appel gratuit)", [("0 800 130 000", "+33800130000")]),
    ("postes 128 et 151", []),
    ("12345678901234", []),
    ("Accueil du lundi au vendredi", []),
])
def test_phone_numbers_are_found_in_free_text(text, links):
    assert phone_numbers(text) == links


def test_phone_links_keep_the_words_plain_and_escaped():
    html = str(phone_links("07 77 82 20 37 ou <b>05 56 78 13 00</b> (postes 128 et 151)"))
    assert html == (
        '<a href="tel:+33777822037">07 77 82 20 37</a> ou &lt;b&gt;'
        '<a href="tel:+33556781300">05 56 78 13 00</a>&lt;/b&gt; (postes 128 et 151)'
    )
