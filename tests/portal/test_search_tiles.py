"""The optional interactive map of the search (a tenant's `map`): the key validated, Leaflet
vendored byte for byte from the npm package pinned in package-lock.json, and on the tenant that
sets it only, the tile host allowed in `img-src` and the results' public positions handed to the
script; everywhere else the page carries no coordinate and the usual policy."""

from __future__ import annotations

import base64
import dataclasses
import hashlib
import json
import re

import pytest
from pydantic import ValidationError

from assmat.core.geocoding.distance import Point
from assmat.core.security.ratelimit import SEARCH_PER_IP
from assmat.tenants.registry import TenantRegistry
from assmat.tenants.schema import MapTiles, TenantConfig
from assmat.app import create_app
from tests.conftest import REPO, clients_of
from tests.portal.test_directory import AUCH, assistant
from tests.support.portal import Portal

VENDOR = REPO / "assmat" / "static" / "vendor" / "leaflet"
# `npm pack leaflet@1.9.4`: the tarball's integrity (as package-lock.json pins it) and the
# SHA-256 of the files vendored from its package/dist (and its LICENSE).
LEAFLET_INTEGRITY = "sha512-nxS1ynzJOmOlHp+iL3FyWqK89GtNL8U8rvlMOsQdTTssxZwCXh8N2NB3GDQOL+YR3XnWyZAxwQixURb+FA74PA=="
VENDORED = {
    "leaflet.js": "db49d009c841f5ca34a888c96511ae936fd9f5533e90d8b2c4d57596f4e5641a",
    "leaflet.css": "a7837102824184820dfa198d1ebcd109ff6d0ff9a2672a074b9a1b4d147d04c6",
    "LICENSE": "53e8dc25862014e4324741ca18fbe3611e11d42ef69f59f86ea8c5389647d4cb",
    "images/layers-2x.png": "066daca850d8ffbef007af00b06eac0015728dee279c51f3cb6c716df7c42edf",
    "images/layers.png": "1dbbe9d028e292f36fcba8f8b3a28d5e8932754fc2215b9ac69e4cdecf5107c6",
    "images/marker-icon-2x.png": "00179c4c1ee830d3a108412ae0d294f55776cfeb085c60129a39aa6fc4ae2528",
    "images/marker-icon.png": "574c3a5cca85f4114085b6841596d62f00d7c892c7b03f28cbfa301deb1dc437",
    "images/marker-shadow.png": "264f5c640339f042dd729062cfc04c17f8ea0f29882b538e3848ed8f10edb4da",
}
TILES = "https://tuiles.example.org/{z}/{x}/{y}.png"


def test_leaflet_is_the_pinned_package_byte_for_byte():
    lock = json.loads((REPO / "package-lock.json").read_text(encoding="utf-8"))
    pinned = lock["packages"]["node_modules/leaflet"]
    assert (pinned["version"], pinned["integrity"]) == ("1.9.4", LEAFLET_INTEGRITY)
    assert json.loads((REPO / "package.json").read_text(encoding="utf-8"))["devDependencies"]["leaflet"] == "1.9.4"
    files = sorted(str(p.relative_to(VENDOR)) for p in VENDOR.rglob("*") if p.is_file())
    assert files == sorted(VENDORED)
    for name, sha in VENDORED.items():
        assert hashlib.sha256((VENDOR / name).read_bytes()).hexdigest() == sha, name
    installed = REPO / "node_modules" / "leaflet"  # npm ci checked it against the integrity above
    if installed.is_dir():
        for name in ("leaflet.js", "leaflet.css"):
            assert (installed / "dist" / name).read_bytes() == (VENDOR / name).read_bytes(), name
    assert base64.b64decode(LEAFLET_INTEGRITY.removeprefix("sha512-"))  # a well-formed sha512


@pytest.mark.parametrize("url", ["http://tuiles.example.org/{z}/{x}/{y}.png", "https://tuiles.example.org/{z}/{x}.png",
                                 "javascript:alert(1)//{z}/{x}/{y}", "https:///{z}/{x}/{y}"])
def test_a_tiles_url_must_be_https_with_its_three_placeholders(url):
    with pytest.raises(ValidationError):
        MapTiles(tiles_url=url, attribution="© OpenStreetMap")
    assert MapTiles(tiles_url=TILES, attribution="x").origin == "https://tuiles.example.org"


def test_a_map_needs_the_search(tenant_registry):
    cestas = tenant_registry.get("cestas").config  # no public_search
    data = cestas.model_dump(by_alias=True)
    data["map"] = {"tiles_url": TILES, "attribution": "© OpenStreetMap"}
    with pytest.raises(ValidationError, match="map exige features.public_search"):
        TenantConfig.model_validate(data, strict=False)


@pytest.fixture
def tiled(settings, tenant_registry, frozen_clock):
    """The Gers with a tile service, the other tenants as they are."""
    tenants = dict(tenant_registry.tenants)
    gers = tenants["gers"]
    tenants["gers"] = dataclasses.replace(gers, config=gers.config.model_copy(
        update={"map": MapTiles(tiles_url=TILES, attribution="© les contributeurs <OSM>")}))
    app = create_app(settings, registry=TenantRegistry(tenants, tenant_registry.base_domain))
    SEARCH_PER_IP.reset()
    with clients_of(app) as make:
        yield lambda slug: Portal(make(slug), app, slug)
    SEARCH_PER_IP.reset()


def test_only_the_tenant_with_tiles_allows_their_host_and_gets_the_public_positions(tiled):
    gers, eure = tiled("gers"), tiled("eure-et-loir")
    assistant(gers, "Cachee", at=Point(43.6300, 0.5700), show_address=False)
    assistant(eure, "Chartraine", city="Chartres", postal_code="28000", at=Point(48.4470, 1.4890))
    page = gers.client.get("/recherche", params={"commune": "Auch", "rayon": "10"})
    assert page.status_code == 200
    assert "img-src 'self' data: https://tuiles.example.org;" in page.headers["content-security-policy"]
    assert '/static/vendor/leaflet/leaflet.js' in page.text
    data = json.loads(re.search(r'<script type="application/json" id="carte-donnees">(.*?)</script>', page.text).group(1))
    assert data["tiles"] == TILES and data["radius_m"] == 10000 and data["attribution"] == "© les contributeurs <OSM>"
    assert [(p["lat"], p["lon"]) for p in data["points"]] == [(AUCH.lat, AUCH.lon)]  # her commune's centre only
    assert "43.63" not in page.text and "0.57," not in page.text
    other = eure.client.get("/recherche", params={"commune": "Chartres", "rayon": "10"})
    assert other.status_code == 200 and "Anne Chartraine" in other.text
    assert "tuiles.example.org" not in other.headers["content-security-policy"]
    assert "carte-donnees" not in other.text and "leaflet" not in other.text and "48.44" not in other.text
