"""Error pages: a database outage is a 503 on every route, signed in or not, portal and console;
every error response (400, 403, 404, 429, 500, 503) carries the security headers. Both backends.

The outage is real: the engine's connections are pointed at a database that cannot be reached
(a directory that does not exist for SQLite, a closed port for PostgreSQL) and the pooled ones
are closed, so every query fails in the driver as it would with the server down."""

from __future__ import annotations

import pytest
from sqlalchemy import event

from assmat.core.db.engine import connect_failing_as_database_error
from assmat.web import pages
from tests.admin.conftest import ADMIN_PASSWORD, Console, create_admin
from tests.conftest import smtp_settings
from tests.support.portal import text_of

# A database outage on each backend's driver is a 503 everywhere.
pytestmark = pytest.mark.both_backends

GOOD = "Lune#Soleil42"
AM = "alpes-maritimes"


@pytest.fixture
def settings(tmp_path, database_url, smtp_server):
    return smtp_settings(tmp_path, database_url, smtp_server)


def assert_secured(response) -> None:
    headers = response.headers
    assert "frame-ancestors 'none'" in headers.get("content-security-policy", ""), (response.status_code, dict(headers))
    assert headers.get("x-content-type-options") == "nosniff"
    assert headers.get("referrer-policy") in ("same-origin", "no-referrer")


def cut_database(app, tmp_path) -> None:
    engine = app.state.engine

    def unreachable(dialect, connection_record, cargs, cparams):
        if dialect.name == "sqlite":
            cargs[:] = [str(tmp_path / "no-such-directory" / "assmat.db")]
        else:
            cparams.update(host="127.0.0.1", port=1, timeout=2)

    if engine.dialect.name == "sqlite":
        event.listen(engine.sync_engine, "do_connect", unreachable)
    else:  # before the engine's own listener, which connects (listen's insert=True is ignored there)
        event.remove(engine.sync_engine, "do_connect", connect_failing_as_database_error)
        event.listen(engine.sync_engine, "do_connect", unreachable)
        event.listen(engine.sync_engine, "do_connect", connect_failing_as_database_error)

    async def close_pooled() -> None:
        await engine.dispose()

    return close_pooled


def outage_page(response) -> None:
    assert response.status_code == 503, (response.status_code, response.text[:300])
    assert response.headers.get("retry-after") == "60"
    assert "Problème temporaire" in text_of(response) and "Traceback" not in response.text
    assert_secured(response)


def test_during_an_outage_every_route_answers_503_with_the_headers(app, portal_for, client_for, tmp_path):
    signed = portal_for(AM)
    signed.create_account("AGR-PANNE", GOOD, email="panne@example.org")
    assert signed.login("AGR-PANNE", GOOD).headers["location"] == "/espace"
    staff = Console(client_for(AM), app)
    create_admin(app, staff.client, AM, "staff.panne@example.org", ADMIN_PASSWORD)
    assert staff.login("staff.panne@example.org", ADMIN_PASSWORD).status_code == 302
    platform = Console(client_for("localhost"), app)
    create_admin(app, platform.client, None, "super.panne@example.org", ADMIN_PASSWORD, role="super")
    assert platform.login("super.panne@example.org", ADMIN_PASSWORD).status_code == 302
    anonymous = portal_for("gers")
    token = signed.csrf("/espace/enfants/nouveau")
    gers_token = anonymous.csrf("/connexion")

    signed.run(cut_database(app, tmp_path))
    for client in (signed.client, staff.client, platform.client, anonymous.client):
        client._transport.raise_server_exceptions = False  # the status is what is under test

    # Signed in: the session itself cannot be read.
    for path in ("/espace", "/espace/messages", "/espace/enfants", "/espace/compte", "/"):
        outage_page(signed.client.get(path))
    outage_page(signed.client.post("/espace/enfants/nouveau", data={"csrf_token": token, "enfant-nom": "Petit"}))
    # Anonymous, a form that reads the database.
    outage_page(anonymous.client.post("/connexion", data={"csrf_token": gers_token, "identifiant": "a", "mot_de_passe": "b"}))
    # Consoles, a tenant's and the platform's.
    for console, path in ((staff, "/admin/account/list"), (staff, "/admin/vue-d-ensemble"), (staff, "/admin/account/details/1"),
                          (platform, "/admin/plateforme"), (platform, "/admin/tenant-row/list")):
        outage_page(console.client.get(path))
    # What needs no database still answers.
    assert anonymous.client.get("/healthz").status_code == 200
    assert anonymous.client.get("/mentions-legales").status_code == 200


def test_every_error_status_carries_the_security_headers(app, portal_for, frozen_clock):  # the hourly window holds still
    gers = portal_for("gers")
    responses = {
        400: gers.client.get("/mentions-legales", params={"q": "a\x00b"}),
        403: gers.client.post("/contact", data={"csrf_token": "faux", "nom": "a"}),
        404: gers.client.get("/nulle-part"),
    }
    for _ in range(6):  # five messages an hour from one address, then 429
        last = gers.post("/contact", {"nom": "Anne", "email": "anne@example.org", "message": "Bonjour."})
    responses[429] = last
    for status, response in responses.items():
        assert response.status_code == status, (status, response.status_code, response.text[:300])
        assert_secured(response)
    assert "caractère non autorisé" in text_of(responses[400])


def test_a_500_page_carries_the_security_headers_and_no_trace(portal_for, monkeypatch):
    gers = portal_for("gers")

    def broken(*args, **kwargs):
        raise RuntimeError("a bug")

    monkeypatch.setattr(pages, "render", broken)
    gers.client._transport.raise_server_exceptions = False  # a 500 is the answer under test
    response = gers.client.get("/accessibilite")
    assert response.status_code == 500
    assert_secured(response)
    assert "Problème temporaire" in text_of(response) and "a bug" not in response.text
