"""FranceConnect in a real Chromium against a real OpenID provider (tests/support/oidc.py): an
Eure-et-Loir assistant activates with her PMI number and birth date, chooses « Identifiez-vous via
France Connect », picks her identity on the provider's page, lands on her space, signs out through
the provider, then signs in again with the button. axe on the login page with the button and on
the page of a refused return."""

from __future__ import annotations

import re
import shutil
import socket
import tempfile
import threading
from datetime import date
from pathlib import Path

import pytest
from playwright.sync_api import expect

from tests.browser.conftest import LiveAccounts, LiveServer, _wait_until_healthy
from tests.browser.test_accessibility import axe_source, describe, run_axe, serious  # noqa: F401 - axe_source is a fixture
from tests.conftest import IN_CI, make_settings
from tests.support.oidc import CLIENT_SECRET, SECRET_ENV, OidcProvider, require_node, tenant_configs_with_franceconnect

pytestmark = pytest.mark.browser
SLUG = "eure-et-loir"


_BOUND = ("_admin_ref", "session_maker", "is_async", "ajax_lookup_url", "templates", "identity")


def _console_views() -> list[type]:
    from assmat.app import CONSOLE_VIEWS

    return list(CONSOLE_VIEWS)


def _console_bindings() -> dict[type, dict[str, object]]:
    return {view: {name: view.__dict__[name] for name in _BOUND if name in view.__dict__} for view in _console_views()}


def _restore_console_bindings(bindings: dict[type, dict[str, object]]) -> None:
    for view, attributes in bindings.items():
        for name, value in attributes.items():
            setattr(view, name, value)


@pytest.fixture(scope="module")
def fc_server(sqlite_template: Path):
    """A live server whose Eure-et-Loir signs in with FranceConnect at a provider registered for
    its port."""
    import os

    import uvicorn

    from assmat.app import create_app
    from assmat.auth.franceconnect.client import forget_providers

    node = require_node(IN_CI)
    work = Path(tempfile.mkdtemp(prefix="assmat-fc-live-"))
    sock = socket.socket(socket.AF_INET, socket.SOCK_STREAM)
    sock.setsockopt(socket.SOL_SOCKET, socket.SO_REUSEADDR, 1)
    sock.bind(("127.0.0.1", 0))
    port = sock.getsockname()[1]
    base = f"http://{SLUG}.localhost:{port}"
    provider = OidcProvider.start(node, work / "provider.log", [f"{base}/franceconnect/retour"], [f"{base}/franceconnect/deconnecte"])
    previous = os.environ.get(SECRET_ENV)
    os.environ[SECRET_ENV] = CLIENT_SECRET
    forget_providers()
    shutil.copy(sqlite_template, work / "assmat.db")
    configs = tenant_configs_with_franceconnect(work / "tenants", provider)
    # SQLAdmin binds its views' classes to the last console mounted (session maker, templates):
    # this second app would leave the module's live server with a console on this app's
    # database, gone after the module. Its bindings are put back at the end.
    bindings = _console_bindings()
    app = create_app(make_settings(work, f"sqlite:///{work / 'assmat.db'}", tenant_configs=configs,
                                   public_url_template=f"http://{{slug}}.localhost:{port}"))
    server = uvicorn.Server(uvicorn.Config(app, loop="asyncio", http="h11", ws="none", lifespan="on", log_level="warning",
                                           access_log=False))
    thread = threading.Thread(target=server.run, kwargs={"sockets": [sock]}, name="fc-live-server", daemon=True)
    thread.start()
    try:
        _wait_until_healthy(port, thread)
        yield LiveServer(port, app)
    finally:
        server.should_exit = True
        thread.join(timeout=10)
        sock.close()
        provider.stop()
        _restore_console_bindings(bindings)
        if previous is None:
            os.environ.pop(SECRET_ENV, None)
        else:
            os.environ[SECRET_ENV] = previous
        shutil.rmtree(work, ignore_errors=True)


def test_an_assistant_activates_with_franceconnect_signs_out_through_it_and_back_in_with_the_button(fc_server, page):
    account, _ = LiveAccounts(fc_server).create(SLUG, "280002", email=None, first_name="Camille", last_name="Démo",
                                   birth_date=date(1985, 4, 12))
    page.goto(fc_server.url(SLUG, "/activation"))
    page.get_by_label(re.compile("identifiant", re.I)).first.fill("280002")
    page.get_by_label(re.compile("naissance", re.I)).fill("12/04/1985")
    page.get_by_role("button", name=re.compile("valider|suivant|continuer|activer", re.I)).click()
    expect(page.get_by_text("Identifiez-vous via France Connect")).to_be_visible()
    page.get_by_role("button", name="S'identifier avec FranceConnect").click()

    # The provider's page: her identity.
    expect(page.get_by_role("heading", name=re.compile("choisissez une identité"))).to_be_visible()
    page.get_by_role("button", name=re.compile("Camille DEMO")).click()
    page.wait_for_url(fc_server.url(SLUG, "/espace"))
    expect(page.get_by_text("Camille").first).to_be_visible()

    # Out through the provider.
    page.get_by_role("button", name=re.compile("déconnecter", re.I)).first.click()
    expect(page.get_by_role("heading", name="Déconnexion de FranceConnect")).to_be_visible()
    page.get_by_role("button", name="Se déconnecter").click()
    page.wait_for_url(re.compile(r"/connexion\?info=logged_out$"))
    expect(page.get_by_text("Vous êtes déconnecté")).to_be_visible()

    # Back in with the button, straight to her space.
    page.get_by_role("button", name="S'identifier avec FranceConnect").click()
    page.get_by_role("button", name=re.compile("Camille DEMO")).click()
    page.wait_for_url(fc_server.url(SLUG, "/espace"))

    # Staff see the link in the console and unlink it (« Délier FranceConnect », confirmed).
    from tests.browser.test_every_form import confirm_from_details, console_sign_in, done

    console_sign_in(fc_server, page, SLUG)
    page.goto(fc_server.url(SLUG, f"/admin/account/details/{account.id}"))
    expect(page.get_by_text("relié à une identité FranceConnect")).to_be_visible()
    confirm_from_details(fc_server, page, "account", account.id, "Délier FranceConnect", slug=SLUG)
    done(page, "Délier FranceConnect").to_be_visible()
    page.goto(fc_server.url(SLUG, f"/admin/account/details/{account.id}"))
    expect(page.get_by_text("non relié")).to_be_visible()


def test_the_login_page_with_the_button_and_a_refused_return_pass_axe(fc_server, page, axe_source):  # noqa: F811
    for path in ("/connexion", "/franceconnect/retour?state=" + "x" * 43 + "&code=y"):
        page.goto(fc_server.url(SLUG, path))
        violations = serious(run_axe(page, axe_source))
        assert not violations, f"{path}:\n{describe(violations)}"
    expect(page.get_by_role("link", name="Retour à la connexion")).to_be_visible()
