"""The branded pages of each tenant, the platform's page, unknown hosts, languages, health."""

from __future__ import annotations

import shutil

import pytest
from sqlalchemy import select
from starlette.testclient import TestClient

from assmat.tenants.models import TenantRow
from assmat.tenants.loader import InvalidConfiguration
from assmat.app import create_app
from tests.conftest import TENANT_CONFIGS, make_settings
from tests.support.db import db_session
from tests.support.tenants import write_tenant

SEED_TENANTS = {
    "gers": "Webasma",
    "alpes-maritimes": None,
    "eure-et-loir": None,
    "cestas": None,
    "mon-enfant": None,
}


@pytest.mark.parametrize("slug", sorted(SEED_TENANTS))
def test_each_seed_tenant_serves_its_own_branded_home(client_for, app, slug):
    tenant = app.state.registry.get(slug)
    response = client_for(slug).get("/")
    assert response.status_code == 200
    html = response.text
    assert tenant.config.branding.service_name in html
    assert '<html lang="fr">' in html
    for other in app.state.registry.tenants.values():
        if other.slug != slug and other.config.branding.service_name != tenant.config.branding.service_name:
            assert other.config.branding.service_name not in html
    css = client_for(slug).get("/theme.css")
    assert f"--primary:{tenant.config.branding.primary_color}" in css.text


def test_gers_home_shows_its_seed_branding_and_footer(client_for):
    html = client_for("gers").get("/").text
    assert "Webasma" in html
    assert "Site de publication des assistants maternels agréés du Gers" in html
    assert "Accessibilité : " in html
    assert "Mentions légales" in html and "Données personnelles" in html and "Cookies" in html
    assert "05 81 32 35 80" in html


def test_extra_host_and_port_reach_the_same_tenant(client_for):
    assert "Webasma" in client_for("assmat.gers.fr").get("/").text
    response = client_for("gers").get("/", headers={"host": "GERS.localhost:8000"})
    assert response.status_code == 200 and "Webasma" in response.text


@pytest.mark.parametrize("host", ["gers.localhost.evil.com", "evil.com", "unknown.localhost", "x.gers.localhost", ""])
def test_unknown_hosts_get_a_404_that_names_no_tenant(client_for, app, host):
    response = client_for("gers").get("/", headers={"host": host})
    assert response.status_code == 404
    assert "Site inconnu" in response.text
    for tenant in app.state.registry.tenants.values():
        assert tenant.config.name not in response.text
        assert tenant.config.branding.service_name not in response.text


def test_root_domain_serves_the_platform_page_listing_portals(client_for):
    response = client_for("localhost").get("/")
    assert response.status_code == 200
    assert "http://gers.localhost/" in response.text
    assert "http://mon-enfant.localhost/" in response.text


def test_tenant_pages_are_absent_from_the_root_domain(client_for):
    assert client_for("localhost").get("/mentions-legales").status_code == 404


@pytest.mark.parametrize("path", ["/mentions-legales", "/donnees-personnelles", "/cookies", "/accessibilite", "/conditions-generales"])
def test_legal_pages_are_filled_from_the_tenant(client_for, app, path):
    response = client_for("gers").get(path)
    assert response.status_code == 200
    legal = app.state.registry.get("gers").config.branding.legal
    if path == "/mentions-legales":
        assert legal.publisher in response.text and legal.publication_director in response.text
    if path == "/accessibilite":
        assert legal.accessibility in response.text


def test_terms_markdown_is_rendered_without_raw_html(client_for, app):
    html = client_for("gers").get("/conditions-generales").text
    prose = html[html.index('<div class="prose">'):]
    prose = prose[: prose.index("</main>")]
    assert "Article 1" in prose
    assert "<script" not in prose and "<iframe" not in prose


def test_language_switch_sets_a_cookie_and_renders_english(client_for):
    client = client_for("gers")
    assert "Mentions légales" in client.get("/").text
    response = client.get("/langue/en", params={"next": "/mentions-legales"})
    assert response.status_code == 303
    assert response.headers["location"] == "/mentions-legales"
    cookie = response.headers["set-cookie"]
    assert "lang=en" in cookie and "HttpOnly" in cookie and "Domain" not in cookie
    english = client.get("/").text
    assert '<html lang="en">' in english and "Legal notice" in english and "Mentions légales" not in english
    client.get("/langue/fr")
    assert "Mentions légales" in client.get("/").text


@pytest.mark.parametrize("target", ["//evil.com", "https://evil.com", "/\\evil.com", "/%09/evil.com", "javascript:alert(1)"])
def test_language_switch_never_redirects_off_site(client_for, target):
    response = client_for("gers").get("/langue/en", params={"next": target})
    assert response.headers["location"] == "/"


def test_unknown_language_is_a_404(client_for):
    assert client_for("gers").get("/langue/de").status_code == 404


def test_pages_carry_security_headers(client_for):
    headers = client_for("gers").get("/").headers
    assert "frame-ancestors 'none'" in headers["content-security-policy"]
    assert headers["x-content-type-options"] == "nosniff"
    assert headers["referrer-policy"] == "same-origin"
    assert "strict-transport-security" not in headers  # development


def test_missing_page_is_a_french_404_page(client_for):
    response = client_for("gers").get("/nulle-part")
    assert response.status_code == 404
    assert "Page introuvable" in response.text and "Webasma" in response.text


def test_health_endpoints(client_for):
    client = client_for("gers")
    assert client.get("/healthz").text == "ok"
    assert client.get("/readyz").json() == {"database": "ok"}
    assert client_for("localhost").get("/readyz").status_code == 200


def test_readyz_reports_an_unreachable_database(client_for, app, tmp_path):
    from assmat.core.db.engine import make_engine, make_sessionmaker

    client = client_for("gers")
    broken = make_engine(f"sqlite:///{tmp_path}/missing-dir/no.db")
    app.state.sessionmaker = make_sessionmaker(broken)
    response = client.get("/readyz")
    assert response.status_code == 503 and response.json() == {"database": "unavailable"}
    assert client.get("/healthz").status_code == 200


def test_a_new_tenant_file_is_served_after_a_restart_without_code_change(tmp_path, database_url):
    configs = tmp_path / "configs"
    shutil.copytree(TENANT_CONFIGS, configs)
    write_tenant(configs, "landes", {"branding.service_name": "Assmat Landes"})
    app = create_app(make_settings(tmp_path, database_url, tenant_configs=configs))
    with TestClient(app, base_url="http://landes.localhost") as client:
        response = client.get("/")
    assert response.status_code == 200 and "Assmat Landes" in response.text
    with db_session(database_url) as session:
        assert session.scalar(select(TenantRow.name).where(TenantRow.slug == "landes")) == "Tenant landes"


def test_the_server_refuses_an_invalid_configuration(tmp_path, database_url):
    configs = tmp_path / "configs"
    shutil.copytree(TENANT_CONFIGS, configs)
    write_tenant(configs, "landes", {"lockout.max_failures": -1})
    with pytest.raises(InvalidConfiguration) as raised:
        create_app(make_settings(tmp_path, database_url, tenant_configs=configs))
    assert [str(e) for e in raised.value.errors] == ["landes.yaml: lockout.max_failures: doit être supérieur ou égal à 1"]
