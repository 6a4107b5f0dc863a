"""Every page of the portals and of both consoles is valid HTML for the Nu HTML checker (the
W3C's validator, npm `vnu-jar` pinned in package.json), with no error.

The pages are fetched as the server sends them (the response body, not the DOM a script made),
signed in where they need it, written to a temporary directory and checked in one run of the
checker: it takes seconds to start, then milliseconds a page. It runs on the machine's Java
(Debian `default-jre-headless`, installed by scripts/system-deps.sh); without Java or the jar
the test is skipped locally and fails in CI, as the accessibility check does without axe-core."""

from __future__ import annotations

import json
import shutil
import subprocess
from pathlib import Path
from typing import Any

import pytest
from playwright.sync_api import Browser

from tests.browser.conftest import LiveServer
from tests.browser.test_accessibility import (  # noqa: F401 (module fixtures used here)
    AM, CONSOLE_PAGES, PLATFORM_PAGES, PUBLIC_PATHS, World, console_world, new_context, world,
)
from tests.conftest import IN_CI, REPO

pytestmark = pytest.mark.browser

VNU_JAR = REPO / "node_modules" / "vnu-jar" / "build" / "dist" / "vnu.jar"
SIGNED_IN_PATHS = [
    "/espace", "/espace/documents", "/espace/compte", "/espace/compte/email", "/espace/compte/mot-de-passe",
    "/espace/messages", "/espace/messages/archives", "/espace/messages/{message}", "/espace/enfants",
    "/espace/enfants/nouveau", "/espace/enfants/{child}", "/espace/enfants/{child}/modifier",
    "/espace/enfants/{child}/supprimer", "/espace/agrement", "/espace/agrement/changement-situation",
]
OTHER_TENANTS = ["cestas", "eure-et-loir", "mon-enfant"]
# The dashboard with its availability line and « Mes disponibilités » (issue 11), whose page
# includes availability_public.html in the tenant's forms (all three on mon-enfant).
AVAILABILITY_PATHS = ["/espace", "/espace/disponibilites"]


def checker() -> list[str]:
    java = shutil.which("java")
    reason = None
    if java is None:
        reason = "Java not found (apt-get install default-jre-headless, or scripts/system-deps.sh)"
    elif not VNU_JAR.is_file():
        reason = f"vnu-jar not found at {VNU_JAR.relative_to(REPO)} (run `npm ci` at the repository root, or `make test`)"
    if reason:
        if IN_CI:
            pytest.fail(reason)
        pytest.skip(reason)
    return [java, "-jar", str(VNU_JAR)]


def validate(command: list[str], pages: dict[str, str], directory: Path) -> dict[str, list[dict[str, Any]]]:
    """The checker's errors per page name, from one run over every page saved in `directory`."""
    names = {}
    for index, (name, text) in enumerate(pages.items()):
        path = directory / f"page-{index:03d}.html"
        path.write_text(text, encoding="utf-8")
        names[path.name] = name
    run = subprocess.run([*command, "--errors-only", "--format", "json", "--stdout", str(directory)],
                         capture_output=True, text=True, timeout=300, check=False)
    report = json.loads(run.stdout or "{}")
    errors: dict[str, list[dict[str, Any]]] = {}
    for message in report.get("messages", []):
        # The checker names files "file:/tmp/…/page-007.html": the file name finds the page.
        url = message.get("url", "?")
        errors.setdefault(names.get(url.rsplit("/", 1)[-1], url), []).append(message)
    assert run.returncode in (0, 1) and "messages" in report, f"the checker failed: {run.stderr[-2000:]}"
    return errors


def describe(errors: dict[str, list[dict[str, Any]]]) -> str:
    lines = []
    for name, messages in errors.items():
        lines.append(f"{name}:")
        for message in messages[:15]:
            lines.append(f"  line {message.get('lastLine')}: {message.get('message')}  [{message.get('extract', '').strip()[:120]}]")
    return "\n".join(lines)


def test_the_checker_reports_what_it_should(tmp_path: Path) -> None:
    """The harness itself: a list item outside a list and a duplicate id are errors; a clean page is not."""
    errors = validate(checker(), {
        "bad": '<!doctype html><html lang="fr"><title>t</title><li>x</li><p id="a"></p><p id="a"></p></html>',
        "good": '<!doctype html><html lang="fr"><title>t</title><ul><li>x</li></ul></html>',
    }, tmp_path)
    assert set(errors) == {"bad"}
    texts = " ".join(m["message"] for m in errors["bad"])
    assert "“li”" in texts and "Duplicate ID" in texts


def fetch(browser: Browser, state: dict[str, Any] | None, urls: dict[str, str]) -> dict[str, str]:
    """The body the server sends for each URL (each must answer 200), in a browser with `state`."""
    context = new_context(browser, {"width": 1280, "height": 800}, state)
    try:
        page = context.new_page()
        bodies = {}
        for name, url in urls.items():
            response = page.goto(url)
            assert response is not None and response.status == 200, f"{url} answered {response and response.status}"
            bodies[name] = response.text()
        return bodies
    finally:
        context.close()


def test_every_portal_and_console_page_is_valid_html(live_server: LiveServer, browser: Browser, world: World,
                                                     console_world: World, tmp_path: Path) -> None:
    command = checker()
    anonymous = {f"{slug}{path}": live_server.url(slug, path) for slug in (AM, "gers") for path in PUBLIC_PATHS}
    anonymous |= {f"{slug}{path}": live_server.url(slug, path) for slug in OTHER_TENANTS
                  for path in ("/", "/connexion", "/mot-de-passe-oublie", "/activation")}
    anonymous |= {f"{host}{path}": live_server.url(host, path) for host in (AM, "localhost")
                  for path in ("/admin/login", "/admin/mot-de-passe-oublie")}
    portal = {f"{AM}{path}": live_server.url(AM, path.format(**world.ids)) for path in SIGNED_IN_PATHS}
    portal |= {f"{slug}{path}": live_server.url(slug, path) for slug in ("gers", "mon-enfant")
               for path in AVAILABILITY_PATHS}
    consoles = {f"console{path}": live_server.url(AM, path.format(**console_world.ids))
                for path in CONSOLE_PAGES if not path.startswith("/admin/login") and "oublie" not in path}
    consoles |= {f"platform{path}": live_server.url("localhost", path.format(**console_world.ids))
                 for path in PLATFORM_PAGES if not path.startswith("/admin/login") and "oublie" not in path}
    pages = fetch(browser, None, anonymous) | fetch(browser, world.state, portal) | fetch(browser, console_world.state, consoles)
    assert len(pages) >= 60
    errors = validate(command, pages, tmp_path)
    assert not errors, f"Nu HTML checker: errors on {len(errors)} of {len(pages)} pages:\n{describe(errors)}"
