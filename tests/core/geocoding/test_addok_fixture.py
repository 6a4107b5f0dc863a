"""The real addok the geocoder tests talk to: it starts over the BAN fixture, and CI never runs
without it."""

import json
import time
import urllib.request
from pathlib import Path

import pytest

from tests.conftest import IN_CI
from tests.support.addok import AddokServer, find_addok, find_redis_server, require_components


def test_a_missing_redis_or_addok_fails_in_ci():
    with pytest.raises(pytest.fail.Exception, match="redis-server .* required in CI"):
        require_components(Path("/usr/bin/addok"), None, in_ci=True)
    with pytest.raises(pytest.fail.Exception, match="addok .* required in CI"):
        require_components(None, "/usr/bin/redis-server", in_ci=True)


def test_a_missing_redis_or_addok_skips_outside_ci():
    with pytest.raises(pytest.skip.Exception, match="required and present in CI"):
        require_components(None, None, in_ci=False)


def test_the_fixture_serves_the_ban_fixture(addok_url):
    with urllib.request.urlopen(f"{addok_url}/search?q=Lectoure&type=municipality", timeout=5) as response:
        answer = json.load(response)
    assert answer["type"] == "FeatureCollection"
    assert [f["properties"]["citycode"] for f in answer["features"]] == ["32208"]


def test_it_starts_in_seconds_and_stops_everything(tmp_path):
    addok, redis_server = require_components(find_addok(), find_redis_server(), IN_CI)
    started = time.perf_counter()
    server = AddokServer.start(addok, redis_server, tmp_path)
    processes = list(server._processes)
    server.stop()
    assert time.perf_counter() - started < 15
    assert server.startup_seconds < 10, server.startup_seconds
    assert processes and all(process.poll() is not None for process in processes)
    with pytest.raises(OSError):
        urllib.request.urlopen(f"{server.url}/health", timeout=1)
