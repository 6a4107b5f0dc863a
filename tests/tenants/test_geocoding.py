"""Which geocoder serves a tenant: its YAML's own, else the platform's, else none."""

from __future__ import annotations

import pytest
from pydantic import ValidationError

from assmat.core.settings import Settings
from assmat.tenants.geocoding import geocoder_for, geocoder_url
from assmat.tenants.loader import load_tenants
from tests.support.tenants import write_tenant

NATIONAL = "https://data.geopf.fr/geocodage"


@pytest.fixture
def tenants(tmp_path):
    write_tenant(tmp_path, "gers", {"geocoding.url": "https://addok.gers.example.org/"})
    write_tenant(tmp_path, "cestas")
    loaded, errors = load_tenants(tmp_path)
    assert errors == []
    return loaded


def test_the_tenant_s_own_geocoder_wins_over_the_platform_s(tmp_path, tenants):
    settings = Settings(var_dir=tmp_path, geocoder_url=NATIONAL)
    assert geocoder_url(settings, tenants["gers"]) == "https://addok.gers.example.org"
    assert geocoder_url(settings, tenants["cestas"]) == NATIONAL
    assert geocoder_for(settings, tenants["gers"]).url == "https://addok.gers.example.org"
    assert geocoder_for(settings, tenants["cestas"]).url == NATIONAL


def test_no_url_anywhere_turns_geocoding_off(tmp_path, tenants):
    settings = Settings(var_dir=tmp_path)
    assert settings.geocoder_url == ""
    assert geocoder_for(settings, tenants["cestas"]) is None
    assert geocoder_for(settings, tenants["gers"]).url == "https://addok.gers.example.org"


def test_tenants_on_one_geocoder_share_its_cache(tmp_path):
    write_tenant(tmp_path, "un")
    write_tenant(tmp_path, "deux")
    loaded, _ = load_tenants(tmp_path)
    settings = Settings(var_dir=tmp_path, geocoder_url=NATIONAL + "/")
    assert geocoder_for(settings, loaded["un"]) is geocoder_for(settings, loaded["deux"])


def test_the_setting_is_read_from_the_environment_and_checked(monkeypatch, tmp_path):
    monkeypatch.setenv("ASSMAT_GEOCODER_URL", " https://data.geopf.fr/geocodage/ ")
    assert Settings(var_dir=tmp_path).geocoder_url == NATIONAL
    with pytest.raises(ValidationError, match="ASSMAT_GEOCODER_URL must be an http"):
        Settings(var_dir=tmp_path, geocoder_url="data.geopf.fr/geocodage")


@pytest.mark.parametrize("overrides, expected", [
    ({"geocoding.url": "addok.gers.fr"}, "neuf.yaml: geocoding.url: adresse web attendue (https://…)"),
    ({"geocoding": {}}, "neuf.yaml: geocoding.url: clé obligatoire manquante"),
    ({"geocoding": {"url": "https://addok.gers.fr", "adresse": "x"}}, "neuf.yaml: geocoding.adresse: clé inconnue"),
])
def test_a_wrong_geocoding_section_is_one_precise_line(tmp_path, overrides, expected):
    write_tenant(tmp_path, "neuf", overrides)
    errors = [str(e) for e in load_tenants(tmp_path)[1]]
    assert errors == [expected]
