"""Item 12: the forgotten-password page speaks of the fields it asks for, nothing else, for a
tenant that words nothing itself (the catalog's default texts)."""

from __future__ import annotations

import html
import re

import pytest
from starlette.testclient import TestClient

from assmat.app import create_app
from tests.conftest import make_settings
from tests.support.tenants import write_tenant


@pytest.mark.parametrize(("identify_by", "asked", "not_asked", "words"), [
    (["email"], "email", "identifiant", "Si cette adresse électronique est celle de votre compte"),
    (["identifier"], "identifiant", "email", "Si cet identifiant correspond à un compte"),
    (["identifier", "email"], "identifiant", None, "Si l'identifiant et l'adresse mail correspondent"),
])
def test_the_default_intro_names_only_the_fields_asked(tmp_path, database_url, identify_by, asked, not_asked, words):
    configs = tmp_path / "configs"
    write_tenant(configs, "landes", {"password_reset.mode": "temporary_password", "password_reset.identify_by": identify_by})
    app = create_app(make_settings(tmp_path, database_url, tenant_configs=configs))
    with TestClient(app, base_url="http://landes.localhost") as client:
        page = client.get("/mot-de-passe-oublie").text
    intro = html.unescape(re.search(r"</h1>.*?<p>(.*?)</p>", page, re.S).group(1))
    assert words in intro
    assert f'name="{asked}"' in page
    if not_asked:
        assert f'name="{not_asked}"' not in page
    if not_asked == "identifiant":  # the text Eure-et-Loir and mon-enfant showed spoke of one
        assert "identifiant" not in intro.lower()
