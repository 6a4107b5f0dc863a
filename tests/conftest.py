"""Shared fixtures: settings, a fresh migrated database per test (SQLite; also a real PostgreSQL
server, a throwaway cluster started here, for the tests marked `both_backends`), the app and its
test clients."""

from __future__ import annotations

import os
import shutil
import tempfile
import uuid
from collections.abc import Callable, Iterator
from contextlib import contextmanager
from pathlib import Path

import pytest
from starlette.testclient import TestClient

from assmat.core.db.migrate import upgrade
from assmat.core.settings import Settings
from assmat.tenants.loader import load_valid_tenants
from assmat.tenants.registry import TenantRegistry
from tests.support.postgres import PostgresCluster, find_pg_bin
# Every test fails on a statement that reads or writes a tenant's rows without naming the tenant.
from tests.support.tenant_guard import _no_statement_without_tenant, tenant_guard  # noqa: F401

REPO = Path(__file__).resolve().parent.parent
TENANT_CONFIGS = REPO / "tenant_configs"
IN_CI = os.environ.get("CI", "").lower() == "true"
# `ASSMAT_TEST_BACKENDS=all` runs every database test on both backends, not only the marked ones.
ALL_BACKENDS = os.environ.get("ASSMAT_TEST_BACKENDS", "").lower() == "all"
BACKENDS = ["sqlite", "postgresql"]


def pytest_report_header(config: pytest.Config) -> str:
    pg = find_pg_bin()
    return f"PostgreSQL binaries: {pg or 'not found'}; CI={IN_CI}"


def backends_for(node: pytest.Item | pytest.Module | pytest.Class | None) -> list[str]:
    """SQLite alone, unless the test (or its module, through `pytestmark`) is marked
    `both_backends`, or every test runs on both."""
    if ALL_BACKENDS or (node is not None and node.get_closest_marker("both_backends") is not None):
        return BACKENDS
    return ["sqlite"]


def pytest_generate_tests(metafunc: pytest.Metafunc) -> None:
    for fixture, scope in (("database_url", "function"), ("module_database_url", "module")):
        if fixture in metafunc.fixturenames and not names_its_own_backends(metafunc, fixture):
            metafunc.parametrize(fixture, backends_for(metafunc.definition), indirect=True, scope=scope)


def names_its_own_backends(metafunc: pytest.Metafunc, fixture: str) -> bool:
    """A test with parametrize("database_url", [...], indirect=True) keeps the backends it names."""
    for mark in metafunc.definition.iter_markers("parametrize"):
        names = mark.args[0] if mark.args else mark.kwargs.get("argnames", "")
        if fixture in ([n.strip() for n in names.split(",")] if isinstance(names, str) else list(names)):
            return True
    return False


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
def addok_url() -> Iterator[str]:
    """The base URL of a real addok geocoder over the BAN-format fixture of tests/fixtures/ban
    (tests/support/addok.py), started once for the session; missing redis-server or addok fails
    the tests that need it in CI and skips them elsewhere."""
    from tests.support.addok import AddokServer, find_addok, find_redis_server, require_components

    addok, redis_server = require_components(find_addok(), find_redis_server(), IN_CI)
    work_dir = Path(tempfile.mkdtemp(prefix="assmat-addok-"))
    server = AddokServer.start(addok, redis_server, work_dir)
    try:
        yield server.url
    finally:
        server.stop()
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


@pytest.fixture
def database_url(request: pytest.FixtureRequest, tmp_path: Path) -> Iterator[str]:
    """A fresh, migrated database for one test, on each of its backends (pytest_generate_tests)."""
    with fresh_database(request, request.param, tmp_path) as url:
        yield url


@pytest.fixture(scope="module")
def module_database_url(request: pytest.FixtureRequest, tmp_path_factory: pytest.TempPathFactory) -> Iterator[str]:
    """One fresh, migrated database shared by a module's tests that only read it (on the same
    backends as `database_url`): for a large world that every test of the module reads."""
    with fresh_database(request, request.param, tmp_path_factory.mktemp("module-db")) as url:
        yield url


@contextmanager
def fresh_database(request: pytest.FixtureRequest, backend: str, directory: Path) -> Iterator[str]:
    """A copy of the migrated template on `backend`, dropped afterwards."""
    if backend == "sqlite":
        target = directory / "assmat.db"
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


@pytest.fixture(scope="session")
def tenant_registry() -> Iterator[TenantRegistry]:
    """The registry of `tenant_configs/`, parsed once for the whole session (it is read-only)."""
    registry = TenantRegistry(load_valid_tenants(TENANT_CONFIGS), "localhost")  # the settings' default
    hosts = dict(registry._by_host)
    yield registry
    # Shared by every app of the session: a test that changed it would have changed the others.
    assert registry.tenants == load_valid_tenants(TENANT_CONFIGS), "a test changed the shared tenant registry"
    assert registry._by_host == hosts, "a test changed the shared tenant registry"


def app_for(settings: Settings, registry: TenantRegistry):
    """create_app with the session's registry when the settings read the same tenant files."""
    from assmat.app import create_app

    shared = settings.tenant_configs == TENANT_CONFIGS and settings.base_domain == registry.base_domain
    return create_app(settings, registry=registry if shared else None)


@pytest.fixture
def app(settings: Settings, tenant_registry: TenantRegistry):
    return app_for(settings, tenant_registry)


@contextmanager
def clients_of(app) -> Iterator[Callable[[str], TestClient]]:
    """make("gers") → a TestClient on http://gers.localhost with its own cookie jar.

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

    try:
        yield make
    finally:
        if clients:
            clients[0].__exit__(None, None, None)


@pytest.fixture
def client_for(app) -> Iterator[Callable[[str], TestClient]]:
    """client_for("gers") → a TestClient on http://gers.localhost (see clients_of)."""
    with clients_of(app) as make:
        yield make


@pytest.fixture(scope="module")
def module_portal_for(module_database_url, tmp_path_factory, tenant_registry) -> Iterator:
    """module_portal_for("gers") → a Portal on one app over the module's shared database, for a
    world that a module's read-only tests share (each of them must prove it changed nothing)."""
    from tests.support.portal import Portal

    app = app_for(make_settings(tmp_path_factory.mktemp("module-app"), module_database_url), tenant_registry)
    with clients_of(app) as client_for:
        yield lambda slug: Portal(client_for(slug), app, slug)


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


# Eure-et-Loir's, and the Gers' for the isolation tests (one client, as if the two shared it).
FRANCECONNECT_TEST_URIS = ([f"http://{slug}.localhost/franceconnect/retour" for slug in ("eure-et-loir", "gers")],
                           [f"http://{slug}.localhost/franceconnect/deconnecte" for slug in ("eure-et-loir", "gers")])


@pytest.fixture(scope="session")
def oidc_provider() -> Iterator["OidcProvider"]:
    """A real OpenID provider shaped like FranceConnect v2 (tests/support/oidc.py), started once
    for the session, its client registered for Eure-et-Loir and the Gers on *.localhost;
    missing node or npm modules fail the tests that need it in CI and skip them elsewhere."""
    from tests.support.oidc import OidcProvider, require_node

    node = require_node(IN_CI)
    work_dir = Path(tempfile.mkdtemp(prefix="assmat-oidc-"))
    provider = OidcProvider.start(node, work_dir / "provider.log", *FRANCECONNECT_TEST_URIS)
    try:
        yield provider
    finally:
        provider.stop()
        shutil.rmtree(work_dir, ignore_errors=True)
