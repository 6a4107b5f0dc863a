"""Tenant home pages, the language switch and the unknown host, in a real Chromium."""

from __future__ import annotations

import re
from pathlib import Path

import pytest
from playwright.sync_api import Page, expect

from assmat.tenants.loader import load_tenants
from tests.conftest import TENANT_CONFIGS

pytestmark = pytest.mark.browser

TENANTS, _errors = load_tenants(TENANT_CONFIGS)
PNG_SIGNATURE = b"\x89PNG\r\n\x1a\n"


def service_name(slug: str) -> str:
    return TENANTS[slug].config.branding.service_name


def rgb_to_hex(value: str) -> str:
    """'rgb(0, 85, 140)' (what getComputedStyle returns for an opaque colour) → '#00558c'."""
    match = re.fullmatch(r"rgba?\((\d+),\s*(\d+),\s*(\d+)(?:,\s*1)?\)", value.strip())
    assert match, f"not an opaque rgb() colour: {value!r}"
    return "#" + "".join(f"{int(part):02x}" for part in match.groups())


def test_rgb_to_hex() -> None:
    assert rgb_to_hex("rgb(0, 85, 140)") == "#00558c"
    assert rgb_to_hex("rgba(45, 62, 143, 1)") == "#2d3e8f"


@pytest.mark.parametrize(("slug", "other"), [("gers", "alpes-maritimes"), ("alpes-maritimes", "gers")])
def test_tenant_home_is_branded(live_server, page: Page, tmp_path: Path, slug: str, other: str) -> None:
    config = TENANTS[slug].config
    assert service_name(slug) != service_name(other)

    response = page.goto(live_server.url(slug))
    assert response is not None and response.status == 200

    expect(page.locator("html")).to_have_attribute("lang", "fr")
    expect(page).to_have_title(re.compile(re.escape(service_name(slug))))
    header = page.locator(".site-header")
    expect(header).to_contain_text(service_name(slug))
    expect(page.get_by_role("heading", level=1)).to_have_text(service_name(slug))
    expect(page.locator("body")).not_to_contain_text(service_name(other))
    assert service_name(other) not in page.title()

    background = header.evaluate("element => getComputedStyle(element).backgroundColor")
    assert rgb_to_hex(background) == config.branding.primary_color.lower()

    footer = page.get_by_role("contentinfo")
    expect(footer.get_by_role("link", name="Mentions légales")).to_be_visible()
    expect(footer).to_contain_text(config.name)

    shot = tmp_path / f"{slug}-home.png"
    page.screenshot(path=shot, full_page=True)
    data = shot.read_bytes()
    assert data.startswith(PNG_SIGNATURE) and len(data) > 1000


def test_language_switch_persists_and_comes_back(live_server, page: Page) -> None:
    page.goto(live_server.url("gers"))
    html = page.locator("html")
    footer = page.get_by_role("contentinfo")
    expect(html).to_have_attribute("lang", "fr")

    english = page.get_by_role("banner").get_by_role("link", name="English")
    expect(english).to_have_attribute("lang", "en")
    english.click()
    page.wait_for_url(live_server.url("gers", "/"))
    expect(html).to_have_attribute("lang", "en")
    expect(footer.get_by_role("link", name="Legal notice")).to_be_visible()
    expect(footer).not_to_contain_text("Mentions légales")
    # The current language is shown, not linked; the other one is offered.
    expect(page.get_by_role("banner").get_by_role("link", name="English")).to_have_count(0)

    page.goto(live_server.url("gers", "/mentions-legales"))  # the cookie carries the choice
    expect(html).to_have_attribute("lang", "en")
    expect(page.get_by_role("heading", level=1, name="Legal notice")).to_be_visible()

    french = page.get_by_role("banner").get_by_role("link", name="Français")
    expect(french).to_have_attribute("lang", "fr")
    french.click()
    page.wait_for_url(live_server.url("gers", "/mentions-legales"))  # same path after the switch
    expect(html).to_have_attribute("lang", "fr")
    expect(page.get_by_role("heading", level=1, name="Mentions légales")).to_be_visible()
    expect(footer.get_by_role("link", name="Mentions légales")).to_be_visible()
    expect(footer).not_to_contain_text("Legal notice")


def test_language_switch_is_keyboard_reachable(live_server, page: Page) -> None:
    page.goto(live_server.url("gers"))

    page.keyboard.press("Tab")
    skip = page.get_by_role("link", name="Aller au contenu")
    expect(skip).to_be_focused()
    box = skip.bounding_box()
    assert box is not None and box["x"] >= 0, "the skip link must come on screen when focused"

    english = page.get_by_role("banner").get_by_role("link", name="English")
    for _ in range(5):
        page.keyboard.press("Tab")
        if english.evaluate("element => element === document.activeElement"):
            break
    expect(english).to_be_focused()
    assert english.evaluate("element => element.matches(':focus-visible')")
    outline = english.evaluate("element => getComputedStyle(element).outlineStyle")
    assert outline != "none", "keyboard focus must be visible"

    page.keyboard.press("Enter")
    page.wait_for_url(live_server.url("gers", "/"))
    expect(page.locator("html")).to_have_attribute("lang", "en")


def test_unknown_host_is_a_404(live_server, page: Page) -> None:
    response = page.goto(live_server.url("unknown"))
    assert response is not None and response.status == 404
    expect(page.get_by_role("heading", level=1, name="Site inconnu")).to_be_visible()
    expect(page.locator("html")).to_have_attribute("lang", "fr")
    body = page.locator("body")
    for slug in ("gers", "alpes-maritimes"):
        expect(body).not_to_contain_text(service_name(slug))
