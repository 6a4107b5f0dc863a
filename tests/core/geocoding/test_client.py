"""The geocoder client against a real addok over the BAN fixture (tests/fixtures/ban), and
against what a broken geocoder does: refuse, hang, fail, answer garbage."""

from __future__ import annotations

import asyncio
import socket
import threading
import time
from collections.abc import Iterator
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer

import pytest

from assmat.core.errors import DomainError
from assmat.core.geocoding.client import Geocoder, GeocoderUnavailable, GeocodeResult, TTLCache, normalise_query
from assmat.core.geocoding.distance import Point, haversine_km
from tests.support.postgres import free_port


def run(coroutine):
    return asyncio.run(coroutine)


@pytest.fixture(scope="module")
def geocoder(addok_url: str) -> Geocoder:
    return Geocoder(addok_url)


def test_a_commune_by_name(geocoder):
    results = run(geocoder.search("Fleurance", type="municipality"))
    assert [(r.label, r.citycode, r.postcode, r.type) for r in results] == [
        ("Fleurance", "32132", "32500", "municipality")
    ]


def test_a_commune_by_postcode(geocoder):
    results = run(geocoder.search("28100", type="municipality"))
    assert [(r.city, r.citycode) for r in results] == [("Dreux", "28134")]


def test_a_commune_whose_name_has_accents_typed_without_them(geocoder):
    results = run(geocoder.search("chateaudun", limit=1))
    assert results[0].city == "Châteaudun" and results[0].citycode == "28088"


def test_an_address_and_every_field_of_its_result(geocoder):
    results = run(geocoder.search("4 place des Épars Chartres", limit=3))
    best = results[0]
    assert isinstance(best, GeocodeResult)
    assert best.label == "4 Place des Épars 28000 Chartres"
    assert best.type == "housenumber"
    assert (best.citycode, best.postcode, best.city) == ("28085", "28000", "Chartres")
    assert 0.5 < best.score <= 1
    assert haversine_km(Point(best.lat, best.lon), Point(48.4447, 1.4857)) < 0.1
    assert results == sorted(results, key=lambda r: -r.score)


def test_filters_keep_one_commune(geocoder):
    everywhere = run(geocoder.search("place", limit=20))
    assert {r.citycode for r in everywhere} > {"32132"}
    in_fleurance = run(geocoder.search("place", limit=20, citycode="32132"))
    assert in_fleurance and {r.citycode for r in in_fleurance} == {"32132"}
    by_postcode = run(geocoder.search("place", limit=20, postcode="28000"))
    assert by_postcode and {r.postcode for r in by_postcode} == {"28000"}
    streets = run(geocoder.search("Perpignan", limit=20, type="street"))
    assert streets and {r.type for r in streets} == {"street"}


def test_a_position_favours_the_results_near_it(geocoder):
    # « place de la » matches a square in Auch and one in Fleurance; Auch, larger, comes first.
    assert [r.city for r in run(geocoder.search("place de la", limit=2))] == ["Auch", "Fleurance"]
    near_fleurance = run(geocoder.search("place de la", limit=2, lat=43.8481, lon=0.6627))
    assert [r.city for r in near_fleurance] == ["Fleurance", "Auch"]


def test_reverse_near_a_street_finds_its_nearest_number(geocoder):
    results = run(geocoder.reverse(48.44476, 1.48582))
    assert len(results) == 1
    nearest = results[0]
    assert nearest.type == "housenumber" and nearest.citycode == "28085"
    assert nearest.label.endswith("Place des Épars 28000 Chartres")
    assert haversine_km(Point(nearest.lat, nearest.lon), Point(48.44476, 1.48582)) < 0.05


def test_reverse_far_from_any_address_finds_nothing(geocoder):
    assert run(geocoder.reverse(47.0, -30.0)) == []


def test_an_unknown_place_finds_nothing(geocoder):
    assert run(geocoder.search("Zqwxvbn Plouckerville")) == []


def test_queries_too_short_or_too_long_find_nothing_without_asking():
    nowhere = Geocoder(f"http://127.0.0.1:{free_port()}")  # would raise if asked
    assert run(nowhere.search("  a ")) == []
    assert run(nowhere.search("x" * 201)) == []


def test_bad_arguments_are_programming_errors(geocoder):
    with pytest.raises(ValueError):
        run(geocoder.search("Auch", limit=0))
    with pytest.raises(ValueError):
        run(geocoder.search("Auch", lat=43.6))
    with pytest.raises(ValueError):
        run(geocoder.reverse(91.0, 0.0))
    with pytest.raises(ValueError):
        Geocoder("ftp://example.org")


def test_the_cache_answers_a_repeated_query_once_the_geocoder_is_gone(addok_url):
    counting = CountingProxy(addok_url)
    try:
        geocoder = Geocoder(counting.url)
        first = run(geocoder.search("Lectoure"))
        again = run(geocoder.search("  lectoure "))
        assert first and again == first
        assert counting.requests == 1
        run(geocoder.search("Lectoure", type="municipality"))  # other filters: another entry
        assert counting.requests == 2
    finally:
        counting.stop()
    # The proxy is down: the cached answers still come, a new question says the geocoder is out.
    assert run(geocoder.search("LECTOURE")) == first
    with pytest.raises(GeocoderUnavailable):
        run(geocoder.search("Condom"))


def test_the_cache_forgets_after_its_ttl_and_keeps_its_size():
    now = [0.0]
    cache = TTLCache(max_entries=2, ttl_seconds=10, clock=lambda: now[0])
    cache.put(("a",), 1)
    cache.put(("b",), 2)
    assert cache.get(("a",)) == 1
    cache.put(("c",), 3)  # "b" is the least recently used
    assert (cache.get(("b",)), cache.get(("a",)), cache.get(("c",))) == (None, 1, 3)
    now[0] = 10.0
    assert cache.get(("a",)) is None and len(cache) == 1
    assert normalise_query(" Saint-Étienne   DU Grès ") == normalise_query("saint-étienne du grès")


# The geocoder down, slow, or broken -------------------------------------------------------


def test_a_refused_connection_is_unavailable():
    geocoder = Geocoder(f"http://127.0.0.1:{free_port()}")
    with pytest.raises(GeocoderUnavailable) as raised:
        run(geocoder.search("Auch"))
    assert isinstance(raised.value, DomainError) and raised.value.status == 503
    with pytest.raises(GeocoderUnavailable):
        run(geocoder.reverse(43.6, 0.58))


def test_a_geocoder_that_never_answers_times_out_quickly():
    # A listening socket nobody accepts: the connection is made, no answer ever comes.
    with socket.socket() as silent:
        silent.bind(("127.0.0.1", 0))
        silent.listen(8)
        geocoder = Geocoder(f"http://127.0.0.1:{silent.getsockname()[1]}", timeout=0.3)
        started = time.perf_counter()
        with pytest.raises(GeocoderUnavailable, match="timed out"):
            run(geocoder.search("Auch"))
        assert time.perf_counter() - started < 2


@pytest.mark.parametrize("path, reason", [
    ("/status-500", "HTTP 500"),
    ("/status-503", "HTTP 503"),
    ("/status-404", "HTTP 404"),
    ("/redirect", "HTTP 302"),
    ("/not-json", "not JSON"),
    ("/not-geojson", "not a FeatureCollection"),
    ("/malformed-feature", "malformed feature"),
])
def test_a_broken_geocoder_is_unavailable(broken_geocoder, path, reason):
    geocoder = Geocoder(broken_geocoder + path)
    with pytest.raises(GeocoderUnavailable, match=reason):
        run(geocoder.search("Auch"))
    with pytest.raises(GeocoderUnavailable, match=reason):
        run(geocoder.reverse(43.6, 0.58))


def test_a_failure_is_never_cached(broken_geocoder, addok_url):
    geocoder = Geocoder(broken_geocoder + "/status-500")
    with pytest.raises(GeocoderUnavailable):
        run(geocoder.search("Auch"))
    geocoder.url = addok_url  # the geocoder is back
    assert run(geocoder.search("Auch", type="municipality"))[0].citycode == "32013"


def test_a_feature_of_an_unknown_type_is_left_out(broken_geocoder):
    results = run(Geocoder(broken_geocoder + "/future-type").search("Auch"))
    assert [r.citycode for r in results] == ["32013"]


# Helpers: tiny local HTTP servers ---------------------------------------------------------

MUNICIPALITY = (b'{"type": "Feature", "geometry": {"type": "Point", "coordinates": [0.5855, 43.6465]}, '
                b'"properties": {"label": "Auch", "score": 0.9, "type": "municipality", "citycode": "32013", '
                b'"postcode": "32000", "city": "Auch"}}')
ANSWERS = {
    "/not-json": (200, b"<html>maintenance</html>"),
    "/not-geojson": (200, b'{"error": "nope"}'),
    "/malformed-feature": (200, b'{"type": "FeatureCollection", "features": [{"properties": {"label": "x"}}]}'),
    "/future-type": (200, b'{"type": "FeatureCollection", "features": [' + MUNICIPALITY + b', '
                     + MUNICIPALITY.replace(b'"municipality"', b'"poi"') + b']}'),
}


class BrokenGeocoder(BaseHTTPRequestHandler):
    def do_GET(self) -> None:  # noqa: N802 (the standard library's name)
        prefix = "/" + self.path.split("/")[1]
        if prefix.startswith("/status-"):
            status, body = int(prefix.removeprefix("/status-")), b'{"detail": "down"}'
        elif prefix == "/redirect":
            self.send_response(302)
            self.send_header("Location", "http://127.0.0.1:1/elsewhere")
            self.end_headers()
            return
        else:
            status, body = ANSWERS[prefix]
        self.send_response(status)
        self.send_header("Content-Type", "application/json")
        self.send_header("Content-Length", str(len(body)))
        self.end_headers()
        self.wfile.write(body)

    def log_message(self, *args) -> None:
        pass


@pytest.fixture(scope="module")
def broken_geocoder() -> Iterator[str]:
    server = ThreadingHTTPServer(("127.0.0.1", 0), BrokenGeocoder)
    thread = threading.Thread(target=server.serve_forever, daemon=True)
    thread.start()
    try:
        yield f"http://127.0.0.1:{server.server_address[1]}"
    finally:
        server.shutdown()
        server.server_close()


class CountingProxy:
    """Forwards to the real addok and counts what reaches it."""

    def __init__(self, target: str):
        import urllib.request

        proxy = self

        class Handler(BaseHTTPRequestHandler):
            def do_GET(self) -> None:  # noqa: N802
                proxy.requests += 1
                with urllib.request.urlopen(target + self.path, timeout=5) as answer:
                    body = answer.read()
                self.send_response(200)
                self.send_header("Content-Type", "application/json")
                self.send_header("Content-Length", str(len(body)))
                self.end_headers()
                self.wfile.write(body)

            def log_message(self, *args) -> None:
                pass

        self.requests = 0
        self._server = ThreadingHTTPServer(("127.0.0.1", 0), Handler)
        self.url = f"http://127.0.0.1:{self._server.server_address[1]}"
        self._thread = threading.Thread(target=self._server.serve_forever, daemon=True)
        self._thread.start()

    def stop(self) -> None:
        self._server.shutdown()
        self._server.server_close()
