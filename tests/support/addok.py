"""A real addok geocoder (the engine of the Base Adresse Nationale's API) for the tests.

A throwaway `redis-server` on a free loopback port (no persistence, its own temp dir), an addok
configuration with the French plugins pointing at it, the BAN-format fixture of
`tests/fixtures/ban/` loaded (`addok batch`, then `addok ngrams`), and `addok serve` on another
free port. addok runs from its own virtualenv, `.tools/addok` (scripts/addok-env.sh): its pinned
dependencies never meet the app's."""

from __future__ import annotations

import os
import shutil
import socket
import subprocess
import time
import urllib.request
from dataclasses import dataclass, field
from pathlib import Path

import pytest

from tests.support.postgres import free_port

REPO = Path(__file__).resolve().parent.parent.parent
ADDOK_ENV = REPO / ".tools" / "addok"
BAN_FIXTURES = REPO / "tests" / "fixtures" / "ban"
STARTUP_TIMEOUT = 30.0

# The Base Adresse Nationale's own addok settings: the French text processors, the INSEE code
# returned and filterable, the BAN's attribution and licence.
CONFIG = """\
REDIS = {{"host": "127.0.0.1", "port": {redis_port}, "unix_socket_path": None,
          "indexes": {{"db": 0}}, "documents": {{"db": 1}}}}
LOG_DIR = {log_dir!r}
# A few dozen documents: one worker loads them faster than a pool starts.
BATCH_WORKERS = 1
ID_FIELD = "id"
EXTRA_FIELDS = [{{"key": "citycode"}}]
FILTERS = ["type", "postcode", "citycode"]
ATTRIBUTION = "BAN"
LICENCE = "ETALAB-2.0"
QUERY_PROCESSORS_PYPATHS = [
    "addok.helpers.text.check_query_length",
    "addok_france.extract_address",
    "addok_france.clean_query",
    "addok_france.remove_leading_zeros",
]
PROCESSORS_PYPATHS = [
    "addok.helpers.text.tokenize",
    "addok.helpers.text.normalize",
    "addok_france.glue_ordinal",
    "addok_france.fold_ordinal",
    "addok_france.flag_housenumber",
    "addok.helpers.text.synonymize",
    "addok_fr.phonemicize",
]
SEARCH_RESULT_PROCESSORS_PYPATHS = [
    "addok.helpers.results.match_housenumber",
    "addok_france.make_labels",
    "addok.helpers.results.score_by_importance",
    "addok.helpers.results.score_by_autocomplete_distance",
    "addok.helpers.results.score_by_ngram_distance",
    "addok.helpers.results.score_by_geo_distance",
]
"""


def find_redis_server() -> str | None:
    return os.environ.get("ASSMAT_REDIS_SERVER") or shutil.which("redis-server") or (
        "/usr/bin/redis-server" if Path("/usr/bin/redis-server").exists() else None
    )


def find_addok() -> Path | None:
    addok = Path(os.environ.get("ASSMAT_ADDOK_BIN") or ADDOK_ENV / "bin" / "addok")
    return addok if addok.exists() else None


def require_components(addok: Path | None, redis_server: str | None, in_ci: bool) -> tuple[Path, str]:
    """Both programs, or the test fails in CI (never a silent gap there) and skips elsewhere."""
    missing = []
    if redis_server is None:
        missing.append("redis-server (apt-get install redis-server, or bash scripts/system-deps.sh)")
    if addok is None:
        missing.append("addok (bash scripts/addok-env.sh creates .tools/addok)")
    if missing:
        message = "The geocoder tests need " + " and ".join(missing)
        if in_ci:
            pytest.fail(message + ": required in CI")
        pytest.skip(message + " (required and present in CI)")
    assert addok is not None and redis_server is not None
    return addok, redis_server


@dataclass
class AddokServer:
    url: str
    startup_seconds: float
    _processes: list[subprocess.Popen] = field(default_factory=list)

    @classmethod
    def start(cls, addok: Path, redis_server: str, work_dir: Path, fixtures: Path = BAN_FIXTURES) -> "AddokServer":
        started = time.perf_counter()
        server = cls(url="", startup_seconds=0.0)
        try:
            redis_port = free_port()
            server._spawn(
                [redis_server, "--bind", "127.0.0.1", "--port", str(redis_port), "--save", "", "--appendonly", "no",
                 "--dir", str(work_dir), "--daemonize", "no", "--loglevel", "warning"],
                work_dir / "redis.log",
            )
            _wait_for_redis(redis_port)
            config = work_dir / "addok_local.py"
            config.write_text(CONFIG.format(redis_port=redis_port, log_dir=str(work_dir)), encoding="utf-8")
            command = [str(addok), "--config", str(config)]
            _run([*command, "batch", *map(str, sorted(fixtures.glob("*.json")))], work_dir)
            _run([*command, "ngrams"], work_dir)
            http_port = free_port()
            server._spawn([*command, "serve", "--host", "127.0.0.1", "--port", str(http_port)], work_dir / "addok.log")
            server.url = f"http://127.0.0.1:{http_port}"
            _wait_for_http(f"{server.url}/health", server._processes[-1], work_dir / "addok.log")
        except BaseException:
            server.stop()
            raise
        server.startup_seconds = time.perf_counter() - started
        return server

    def _spawn(self, command: list[str], log: Path) -> None:
        with log.open("wb") as out:
            self._processes.append(subprocess.Popen(command, stdout=out, stderr=subprocess.STDOUT, cwd=log.parent))

    def stop(self) -> None:
        for process in reversed(self._processes):
            process.terminate()
        for process in self._processes:
            try:
                process.wait(timeout=10)
            except subprocess.TimeoutExpired:
                process.kill()
                process.wait()
        self._processes.clear()


def _run(command: list[str], work_dir: Path) -> None:
    done = subprocess.run(command, cwd=work_dir, capture_output=True, text=True, timeout=STARTUP_TIMEOUT)
    if done.returncode != 0:
        raise RuntimeError(f"{' '.join(command[-2:])} failed:\n{done.stdout}\n{done.stderr}")


def _wait_for_redis(port: int) -> None:
    deadline = time.monotonic() + STARTUP_TIMEOUT
    while True:
        try:
            with socket.create_connection(("127.0.0.1", port), timeout=1) as sock:
                sock.sendall(b"PING\r\n")
                if sock.recv(16).startswith(b"+PONG"):
                    return
        except OSError:
            pass
        if time.monotonic() > deadline:
            raise RuntimeError(f"redis-server did not answer on port {port}")
        time.sleep(0.02)


def _wait_for_http(url: str, process: subprocess.Popen, log: Path) -> None:
    deadline = time.monotonic() + STARTUP_TIMEOUT
    while True:
        if process.poll() is not None:
            raise RuntimeError(f"addok serve exited:\n{log.read_text(errors='replace')}")
        try:
            with urllib.request.urlopen(url, timeout=1) as response:
                if response.status == 200:
                    return
        except OSError:
            pass
        if time.monotonic() > deadline:
            raise RuntimeError(f"addok did not answer on {url}")
        time.sleep(0.05)
