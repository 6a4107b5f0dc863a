"""Browser fixtures: the real app behind a real uvicorn server, driven by a real Chromium.

The server runs in a background thread of the test process on a socket bound here (port 0, so no
free-port race) and serves every tenant of tenant_configs/ on `{slug}.localhost:{port}`, which
Chromium resolves to the loopback address by itself. Chromium is the Debian one: Playwright's own
download is never used (`playwright install` is blocked on these machines). One Chromium per module
(`browser`), a fresh context per test (`context`, `page`): no cookie leaks from one test to another.

Tests prepare data in the live server's database with `live_server.run_async(...)` or the
`live_accounts` fixture: each call runs on its own engine and event loop in a worker thread, since
Playwright's sync API keeps an event loop running in the main thread (asyncio.run there fails).
"""

from __future__ import annotations

import asyncio
import os
import shutil
import socket
import threading
import time
import urllib.error
import urllib.request
from collections.abc import Awaitable, Callable, Iterator
from concurrent.futures import ThreadPoolExecutor
from dataclasses import dataclass
from datetime import date
from pathlib import Path
from typing import Any, TypeVar

import pytest

from tests.conftest import IN_CI, make_settings

CHROMIUM = Path(os.environ.get("ASSMAT_CHROMIUM", "/usr/bin/chromium"))
CHROMIUM_ARGS = [
    "--no-sandbox",
    "--disable-gpu",
    "--disable-quic",
    "--no-first-run",
    "--disable-background-networking",
    "--disable-component-update",
    "--disable-sync",
]
START_TIMEOUT = 15.0
T = TypeVar("T")


@dataclass(frozen=True)
class LiveServer:
    port: int
    app: Any = None  # the Starlette app the server runs (its settings and tenant registry)

    def url(self, host: str, path: str = "/") -> str:
        """url("gers", "/cookies") → http://gers.localhost:{port}/cookies"""
        full = host if "." in host or host == "localhost" else f"{host}.localhost"
        return f"http://{full}:{self.port}{path}"

    @property
    def settings(self) -> Any:
        return self.app.state.settings

    def run_async(self, fn: Callable[[Any], Awaitable[T]]) -> T:
        """`await fn(sessionmaker)` on the server's database, with an engine of its own, on a fresh
        event loop in a worker thread: never asyncio.run in the main thread, where Playwright's
        sync API keeps a loop running. The server's own engine belongs to its loop: not shared."""
        from assmat.core.db.engine import make_engine, make_sessionmaker

        async def main() -> T:
            engine = make_engine(self.settings.database_url)
            try:
                return await fn(make_sessionmaker(engine))
            finally:
                await engine.dispose()

        with ThreadPoolExecutor(max_workers=1, thread_name_prefix="live-db") as pool:
            return pool.submit(asyncio.run, main()).result(timeout=30)


class LiveAccounts:
    """Accounts created in the live server's database through the account flows, as staff do."""

    def __init__(self, server: LiveServer):
        self.server = server

    def create(
        self, slug: str, identifier: str, password: str | None = None, *, temporary: bool = False,
        accepted_terms: bool = True, email: str | None = "anne.martin@example.org", first_name: str = "Anne",
        last_name: str = "Martin", birth_date: date | None = date(1980, 5, 17), kind: str = "assistant",
    ) -> tuple[Any, str | None]:
        """(account, temporary password or None). `password` sets a known password; terms are
        accepted unless `accepted_terms=False`."""
        from sqlalchemy import update

        from assmat.auth import credentials, staff_actions
        from assmat.auth.context import auth_context
        from assmat.core.security.hashing import make_hasher
        from assmat.auth.models import Account

        settings = self.server.settings
        tenant = self.server.app.state.registry.get(slug)
        assert tenant is not None, f"unknown tenant {slug}"

        async def create(sessionmaker) -> tuple[Any, str | None]:
            # A hasher with the server's parameters.
            hasher = make_hasher(settings)
            async with sessionmaker() as db:
                ctx = auth_context(db, tenant, hasher, settings)
                account, temp = await staff_actions.create_account(
                    ctx, identifier, email=email, first_name=first_name, last_name=last_name, birth_date=birth_date,
                    kind=kind, with_temporary_password=temporary,
                )
                if password is not None:
                    await credentials.set_password(ctx, account, password, None, "test")
                if accepted_terms and tenant.terms_version:
                    await db.execute(update(Account).where(Account.id == account.id).values(terms_version=tenant.terms_version))
                await db.commit()
                return await db.get(Account, account.id, populate_existing=True), temp

        return self.server.run_async(create)

    def get(self, account_id: int) -> Any:
        from assmat.auth.models import Account

        async def get(sessionmaker) -> Any:
            async with sessionmaker() as db:
                return await db.get(Account, account_id)

        return self.server.run_async(get)


def _wait_until_healthy(port: int, thread: threading.Thread) -> None:
    deadline = time.monotonic() + START_TIMEOUT
    url = f"http://127.0.0.1:{port}/healthz"
    while time.monotonic() < deadline:
        if not thread.is_alive():
            raise RuntimeError("the live server thread stopped while starting")
        try:
            with urllib.request.urlopen(url, timeout=1) as response:
                if response.status == 200 and response.read() == b"ok":
                    return
        except (urllib.error.URLError, ConnectionError, TimeoutError):
            pass
        time.sleep(0.05)
    raise RuntimeError(f"the live server did not answer {url} within {START_TIMEOUT}s")


@pytest.fixture(scope="session")
def live_server(tmp_path_factory: pytest.TempPathFactory, sqlite_template: Path) -> Iterator[LiveServer]:
    import uvicorn

    from assmat.app import create_app

    base = tmp_path_factory.mktemp("live")
    database = base / "assmat.db"
    shutil.copy(sqlite_template, database)
    app = create_app(make_settings(base, f"sqlite:///{database}"))

    sock = socket.socket(socket.AF_INET, socket.SOCK_STREAM)
    sock.setsockopt(socket.SOL_SOCKET, socket.SO_REUSEADDR, 1)
    sock.bind(("127.0.0.1", 0))
    port = sock.getsockname()[1]
    config = uvicorn.Config(
        app,
        loop="asyncio",
        http="h11",
        ws="none",  # no websocket route; also keeps websockets' deprecation warnings out
        lifespan="on",
        log_level="warning",
        access_log=False,
    )
    server = uvicorn.Server(config)
    # Off the main thread uvicorn installs no signal handlers; should_exit stops it.
    thread = threading.Thread(target=server.run, kwargs={"sockets": [sock]}, name="live-server", daemon=True)
    thread.start()
    try:
        _wait_until_healthy(port, thread)
        yield LiveServer(port, app)
    finally:
        server.should_exit = True
        thread.join(timeout=10)
        sock.close()
        if thread.is_alive():
            pytest.fail("the live server did not stop within 10 s")


@pytest.fixture
def live_accounts(live_server: LiveServer) -> LiveAccounts:
    """live_accounts.create("gers", "AGR-…", temporary=True) → (account, temporary password)."""
    return LiveAccounts(live_server)


# Every page any browser test opens is checked: a POST form whose csrf_token is missing, empty or
# repeated cannot be submitted (« Oui, supprimer », « Archiver ce message » and « Se déconnecter »
# on « Mon compte » could not, while every test posted its own token). The check runs in the page
# on each document (an init script, so it needs no hook in the test) and reports through the
# console; the autouse fixture `csrf_gate` fails the test that met such a page.
CSRF_GATE_PREFIX = "csrf-gate:"
CSRF_GATE_SCRIPT = """
addEventListener("DOMContentLoaded", () => {
  if (!location.hostname.endsWith("localhost")) return;  // our pages; not an OpenID provider's on 127.0.0.1
  const broken = Array.from(document.querySelectorAll("form"))
    .filter((form) => (form.getAttribute("method") || "get").toLowerCase() === "post")
    .filter((form) => {
      const tokens = form.querySelectorAll("input[name=csrf_token]");
      return tokens.length !== 1 || tokens[0].value.trim() === "";
    })
    .map((form) => form.getAttribute("action") || "(this page)");
  if (broken.length) console.error("%s " + location.href + " posts without a CSRF token to " + broken.join(", "));
});
""" % CSRF_GATE_PREFIX
_gate_failures: list[str] = []
_gated_contexts: list[Any] = []


def install_csrf_gate(context: Any) -> Any:
    """Check every page of `context` (every tab, every navigation) for POST forms without a token."""

    def watch(page: Any) -> None:
        page.on("console", lambda message: _gate_failures.append(message.text)
                if message.text.startswith(CSRF_GATE_PREFIX) else None)

    context.add_init_script(CSRF_GATE_SCRIPT)
    context.on("page", watch)
    for page in context.pages:
        watch(page)
    _gated_contexts.append(context)
    return context


@pytest.fixture(autouse=True)
def csrf_gate() -> Iterator[list[str]]:
    """The pages of this test that rendered a POST form without its CSRF token (the test fails)."""
    _gate_failures.clear()
    _gated_contexts.clear()
    yield _gate_failures
    for context in _gated_contexts:
        for open_page in list(getattr(context, "pages", [])):
            try:  # a round trip delivers the console messages the page sent before it
                open_page.evaluate("0")
            except Exception:  # closed meanwhile: its messages were delivered before it closed
                pass
    failures = list(_gate_failures)
    _gate_failures.clear()
    if failures:
        pytest.fail("pages with a POST form that cannot be submitted:\n" + "\n".join(failures))


@pytest.fixture(scope="module")
def browser() -> Iterator:
    """One headless Chromium per module (the Debian binary, never Playwright's download).

    Module scope, not session: Playwright's sync API keeps an event loop running in the main
    thread while it is open, and other tests call asyncio.run()."""
    if not CHROMIUM.is_file():
        reason = f"Chromium not found at {CHROMIUM} (apt-get install chromium; never `playwright install`)"
        if IN_CI:
            pytest.fail(reason)
        pytest.skip(reason)
    from playwright.sync_api import sync_playwright

    with sync_playwright() as playwright:
        browser = playwright.chromium.launch(executable_path=str(CHROMIUM), args=CHROMIUM_ARGS, headless=True)
        # Every context a test makes, with this fixture's or on its own, carries the CSRF gate.
        new_context = browser.new_context
        browser.new_context = lambda *args, **kwargs: install_csrf_gate(new_context(*args, **kwargs))
        try:
            yield browser
        finally:
            browser.close()


@pytest.fixture
def context(browser) -> Iterator:
    """A fresh browser context per test: no cookies, no cache, nothing left by another test."""
    context = browser.new_context(locale="fr-FR", viewport={"width": 1280, "height": 800})
    context.set_default_timeout(10_000)
    try:
        yield context
    finally:
        context.close()


@pytest.fixture
def page(context) -> Iterator:
    """A tab in this test's fresh context."""
    page = context.new_page()
    yield page
    page.close()
