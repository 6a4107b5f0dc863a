"""Shared fixtures: settings, a fresh migrated database per test on SQLite and on a real
PostgreSQL server (a throwaway cluster started here), the app and its test clients."""

from __future__ import annotations

import os
import shutil
import tempfile
import uuid
from collections.abc import Iterator
from pathlib import Path

import pytest
from starlette.testclient import TestClient

from assmat.core.db.migrate import upgrade
from assmat.core.settings import Settings
from tests.support.postgres import PostgresCluster, find_pg_bin
# Every test fails on a statement that reads or writes a tenant's rows without naming the tenant.
from tests.support.tenant_guard import _no_statement_without_tenant, tenant_guard  # noqa: F401

REPO = Path(__file__).resolve().parent.parent
TENANT_CONFIGS = REPO / "tenant_configs"
IN_CI = os.environ.get("CI", "").lower() == "true"


def pytest_report_header(config: pytest.Config) -> str:
    pg = find_pg_bin()
    return f"PostgreSQL binaries: {pg or 'not found'}; CI={IN_CI}"


def pytest_collection_modifyitems(config: pytest.Config, items: list[pytest.Item]) -> None:
    # Browser tests last: the fast checks report first, and Playwright's event loop never
    # overlaps a test that runs its own.
    items.sort(key=lambda item: item.get_closest_marker("browser") is not None)


@pytest.fixture(scope="session")
def postgres_cluster(tmp_path_factory: pytest.TempPathFactory) -> Iterator[PostgresCluster | None]:
    if os.environ.get("ASSMAT_TEST_POSTGRES_URL"):
        yield PostgresCluster.external(os.environ["ASSMAT_TEST_POSTGRES_URL"])
        return
    bin_dir = find_pg_bin()
    if bin_dir is None:
        if IN_CI:
            pytest.fail("PostgreSQL server binaries are required in CI (apt-get install postgresql)")
        yield None
        return
    # Not under pytest's tmp dir: that one is private to root, and the server may run as `postgres`.
    work_dir = Path(tempfile.mkdtemp(prefix="assmat-pg-"))
    cluster = PostgresCluster.start(bin_dir, work_dir)
    try:
        yield cluster
    finally:
        cluster.stop()
        shutil.rmtree(work_dir, ignore_errors=True)


@pytest.fixture(scope="session")
def sqlite_template(tmp_path_factory: pytest.TempPathFactory) -> Path:
    path = tmp_path_factory.mktemp("sqlite") / "template.db"
    upgrade(f"sqlite:///{path}")
    return path


@pytest.fixture(scope="session")
def postgres_template(postgres_cluster: PostgresCluster | None) -> str | None:
    if postgres_cluster is None:
        return None
    name = "assmat_template"
    postgres_cluster.create_database(name)
    upgrade(postgres_cluster.url(name))
    return name


@pytest.fixture(params=["sqlite", "postgresql"])
def database_url(request: pytest.FixtureRequest, tmp_path: Path) -> Iterator[str]:
    """A fresh, migrated database for one test, on each backend."""
    if request.param == "sqlite":
        target = tmp_path / "assmat.db"
        shutil.copy(request.getfixturevalue("sqlite_template"), target)
        yield f"sqlite:///{target}"
        return
    cluster: PostgresCluster | None = request.getfixturevalue("postgres_cluster")
    if cluster is None:
        pytest.skip("PostgreSQL server binaries not found on this machine (required and present in CI)")
    template = request.getfixturevalue("postgres_template")
    name = f"t_{uuid.uuid4().hex[:12]}"
    cluster.create_database(name, template=template)
    try:
        yield cluster.url(name)
    finally:
        cluster.drop_database(name)


def make_settings(tmp_path: Path, database_url: str, **overrides: object) -> Settings:
    values: dict[str, object] = {
        "var_dir": tmp_path / "var",
        "database_url": database_url,
        "tenant_configs": TENANT_CONFIGS,
        "secret_key": "test-secret-key-not-for-production",
        "mail_backend": "file",
        # Cheap hashes keep the suite fast; the benchmark measures the real parameters.
        "argon2_time_cost": 1,
        "argon2_memory_cost": 1024,
        "argon2_parallelism": 1,
    }
    values.update(overrides)
    return Settings(**values)  # type: ignore[arg-type]


@pytest.fixture
def settings(tmp_path: Path, database_url: str) -> Settings:
    return make_settings(tmp_path, database_url)


@pytest.fixture
def app(settings: Settings):
    from assmat.app import create_app

    return create_app(settings)


@pytest.fixture
def client_for(app) -> Iterator:
    """client_for("gers") → a TestClient on http://gers.localhost with its own cookie jar.

    Every client of the app shares the first one's event loop and lifespan: one engine, one
    mail worker, as in a real process (a second lifespan would replace the app's engine with
    one bound to another loop)."""
    clients: list[TestClient] = []

    def make(host: str) -> TestClient:
        full = host if "." in host or host == "localhost" else f"{host}.localhost"
        client = TestClient(app, base_url=f"http://{full}", follow_redirects=False)
        if clients:
            client.portal = clients[0].portal
        else:
            client.__enter__()
        clients.append(client)
        return client

    yield make
    if clients:
        clients[0].__exit__(None, None, None)


@pytest.fixture
def smtp_server() -> Iterator["SmtpServer"]:
    """A real SMTP server (aiosmtpd) on 127.0.0.1 that keeps what it receives."""
    from tests.support.smtp import SmtpServer

    server = SmtpServer().start()
    try:
        yield server
    finally:
        server.stop()


@pytest.fixture
def portal_for(app, client_for):
    """portal_for("gers") → a Portal (a TestClient with form helpers) on the Gers host."""
    from tests.support.portal import Portal

    def make(slug: str) -> "Portal":
        return Portal(client_for(slug), app, slug)

    return make


@pytest.fixture
def frozen_clock() -> Iterator:
    """A clock tests move by hand (`frozen_clock.advance(minutes=31)`), never sleep on."""
    from datetime import UTC, datetime, timedelta

    from assmat.core import clock

    class Frozen:
        def __init__(self) -> None:
            self.now = datetime(2026, 11, 2, 9, 0, tzinfo=UTC)

        def advance(self, **delta: float) -> None:
            self.now += timedelta(**delta)

    frozen = Frozen()
    clock.set_clock(lambda: frozen.now)
    yield frozen
    clock.set_clock(None)


def smtp_settings(tmp_path: Path, database_url: str, smtp_server, **overrides: object) -> Settings:
    """Settings whose mail goes to the test's real SMTP server, with links on *.localhost."""
    return make_settings(
        tmp_path, database_url, mail_backend="smtp", smtp_host=smtp_server.host, smtp_port=smtp_server.port,
        public_url_template="http://{slug}.localhost", **overrides,
    )
