"""compose.yaml: the production-like stack the README promises. No Docker engine runs on
these machines, so the structure is checked here, and `docker compose config` where the
compose plugin is installed."""

import os
import shutil
import subprocess

import pytest
import yaml

from tests.conftest import REPO


@pytest.fixture(scope="module")
def compose():
    return yaml.safe_load((REPO / "compose.yaml").read_text(encoding="utf-8"))


def test_stack_has_every_service(compose):
    services = compose["services"]
    assert {"db", "mailpit", "migrate", "app", "mail-worker", "proxy"} <= set(services)
    assert services["db"]["image"].startswith("postgres")
    assert "mailpit" in services["mailpit"]["image"]
    assert services["app"]["deploy"]["replicas"] == 2
    assert services["mail-worker"]["command"][-1] == "mail-worker" or "mail-worker" in str(services["mail-worker"]["command"])


def test_app_runs_in_production_against_postgres_and_mailpit(compose):
    text = (REPO / "compose.yaml").read_text(encoding="utf-8")
    assert "ASSMAT_ENV: production" in text
    assert "ASSMAT_DATABASE_URL: postgresql://" in text
    assert "ASSMAT_SMTP_HOST: mailpit" in text
    assert "ASSMAT_SECRET_KEY: ${ASSMAT_SECRET_KEY:?" in text


def test_proxy_routes_every_host_to_the_app():
    caddyfile = (REPO / "deploy" / "Caddyfile").read_text(encoding="utf-8")
    assert "reverse_proxy" in caddyfile and "app" in caddyfile


def test_docker_compose_config_accepts_the_file():
    docker = shutil.which("docker")
    if docker is None or subprocess.run([docker, "compose", "version"], capture_output=True).returncode != 0:
        pytest.skip("the docker compose plugin is not installed here (no engine either); structure checked above")
    result = subprocess.run(
        [docker, "compose", "config", "--quiet"], cwd=REPO, capture_output=True, text=True,
        env={**os.environ, "ASSMAT_SECRET_KEY": "x" * 40},
    )
    assert result.returncode == 0, result.stderr
