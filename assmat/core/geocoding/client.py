"""The geocoder client: the Base Adresse Nationale's protocol, that of the addok engine.

`GET {url}/search?q=…` and `GET {url}/reverse?lat=…&lon=…` answer a GeoJSON FeatureCollection
whose features carry `label`, `score`, `type`, `citycode`, `postcode` and `city`. The same
protocol is spoken by the national service (IGN's Géoplateforme, `…/geocodage`) and by a
département's own addok: only the base URL differs (settings, then the tenant's YAML).

Every failure (refused connection, timeout, a 5xx or any non-200 answer, a body that is not the
expected JSON) is one `GeocoderUnavailable`: callers fall back to what the database holds (a
search by commune still works) and never fail a page or an import because of it."""

from __future__ import annotations

import math
import time
import unicodedata
from collections import OrderedDict
from collections.abc import Callable
from dataclasses import dataclass
from typing import Any, Literal, get_args

import httpx2

from assmat.core.errors import DomainError
from assmat.core.i18n import _

ResultType = Literal["housenumber", "street", "locality", "municipality"]
RESULT_TYPES: frozenset[str] = frozenset(get_args(ResultType))
# The national service refuses shorter or longer queries; addok's default bounds are the same.
QUERY_MIN_LENGTH, QUERY_MAX_LENGTH = 3, 200


class GeocoderUnavailable(DomainError):
    """The geocoder could not answer (down, slow, broken, or not configured)."""

    status = 503

    def __init__(self, reason: str):
        super().__init__(_("The address search is unavailable for now; searching by commune still works."))
        self.reason = reason  # for the logs, never shown

    def __str__(self) -> str:
        return self.reason


@dataclass(frozen=True)
class GeocodeResult:
    label: str
    score: float
    type: ResultType
    citycode: str
    postcode: str
    city: str
    lat: float
    lon: float


class TTLCache:
    """A small in-process LRU with an expiry. In process rather than in the database: it only
    spares the geocoder repeated queries (a parent retyping a commune, a page of results),
    entries are tiny and cheap to lose, and a replica that misses one merely asks again, well
    within the national service's 50 requests/s per IP."""

    def __init__(self, max_entries: int, ttl_seconds: float, clock: Callable[[], float] = time.monotonic):
        self._entries: OrderedDict[tuple, tuple[float, Any]] = OrderedDict()
        self._max_entries = max_entries
        self._ttl = ttl_seconds
        self._clock = clock

    def get(self, key: tuple) -> Any | None:
        entry = self._entries.get(key)
        if entry is None:
            return None
        expires, value = entry
        if expires <= self._clock():
            del self._entries[key]
            return None
        self._entries.move_to_end(key)
        return value

    def put(self, key: tuple, value: Any) -> None:
        self._entries[key] = (self._clock() + self._ttl, value)
        self._entries.move_to_end(key)
        while len(self._entries) > self._max_entries:
            self._entries.popitem(last=False)

    def __len__(self) -> int:
        return len(self._entries)


def normalise_query(q: str) -> str:
    """The cache's idea of « the same query »: Unicode-composed, spaces collapsed, case folded
    (the geocoder itself ignores case and repeated spaces)."""
    return " ".join(unicodedata.normalize("NFC", q).split()).casefold()


class Geocoder:
    """One geocoder service. Cheap to build; `geocoder_for` keeps one per URL so that its cache
    is shared by every request of the process.

    Each call opens its own short-lived HTTP client: the geocoder is asked rarely (to resolve
    what a parent typed, cached), and a client kept across calls would be bound to the event
    loop that created it."""

    def __init__(self, url: str, *, timeout: float = 3.0, cache: TTLCache | None = None,
                 transport: httpx2.AsyncBaseTransport | None = None):
        if not url.startswith(("http://", "https://")):
            raise ValueError(f"geocoder URL must be http(s): {url!r}")
        self.url = url.rstrip("/")
        self._timeout = httpx2.Timeout(timeout)
        self._cache = cache if cache is not None else TTLCache(max_entries=2048, ttl_seconds=24 * 3600)
        self._transport = transport

    async def search(self, q: str, *, limit: int = 5, citycode: str | None = None, postcode: str | None = None,
                     type: ResultType | None = None, lat: float | None = None,
                     lon: float | None = None) -> list[GeocodeResult]:
        """The best matches for what someone typed, best first; `lat`/`lon` favour results near
        that point (addok's bias). Too short or too long a query finds nothing, unasked."""
        query = " ".join(q.split())
        if not QUERY_MIN_LENGTH <= len(query) <= QUERY_MAX_LENGTH:
            return []
        if not 1 <= limit <= 100:
            raise ValueError("limit must be between 1 and 100")
        if type is not None and type not in RESULT_TYPES:
            raise ValueError(f"unknown result type: {type}")
        if (lat is None) != (lon is None):
            raise ValueError("lat and lon go together")
        params: dict[str, str] = {"q": query, "limit": str(limit)}
        for name, value in (("citycode", citycode), ("postcode", postcode), ("type", type)):
            if value:
                params[name] = value
        if lat is not None and lon is not None:
            _check_coordinates(lat, lon)
            params |= {"lat": f"{lat:.5f}", "lon": f"{lon:.5f}"}
        key = ("search", normalise_query(query), *sorted((k, v) for k, v in params.items() if k != "q"))
        return await self._cached(key, "/search", params)

    async def reverse(self, lat: float, lon: float, *, limit: int = 1,
                      type: ResultType | None = None) -> list[GeocodeResult]:
        """The addresses nearest a point, nearest first (empty far from any known address)."""
        _check_coordinates(lat, lon)
        if not 1 <= limit <= 100:
            raise ValueError("limit must be between 1 and 100")
        params = {"lat": f"{lat:.6f}", "lon": f"{lon:.6f}", "limit": str(limit)}
        if type is not None:
            params["type"] = type
        return await self._cached(("reverse", *sorted(params.items())), "/reverse", params)

    async def _cached(self, key: tuple, path: str, params: dict[str, str]) -> list[GeocodeResult]:
        cached = self._cache.get(key)
        if cached is not None:
            return list(cached)
        results = parse_feature_collection(await self._get(path, params))
        self._cache.put(key, tuple(results))
        return results

    async def _get(self, path: str, params: dict[str, str]) -> Any:
        try:
            async with httpx2.AsyncClient(timeout=self._timeout, transport=self._transport,
                                          follow_redirects=False) as client:
                response = await client.get(self.url + path, params=params,
                                            headers={"Accept": "application/json"})
        except httpx2.TimeoutException as error:
            raise GeocoderUnavailable(f"geocoder timed out: {self.url}{path}") from error
        except httpx2.HTTPError as error:
            raise GeocoderUnavailable(f"geocoder unreachable: {self.url}{path}: {error!r}") from error
        if response.status_code != 200:
            raise GeocoderUnavailable(f"geocoder answered HTTP {response.status_code}: {self.url}{path}")
        try:
            return response.json()
        except ValueError as error:
            raise GeocoderUnavailable(f"geocoder answered a body that is not JSON: {self.url}{path}") from error


def parse_feature_collection(body: Any) -> list[GeocodeResult]:
    """The results of a GeoJSON FeatureCollection; anything else is a broken geocoder. A feature
    of a type we do not know (a future one) is left out rather than failing the whole answer."""
    if not isinstance(body, dict) or body.get("type") != "FeatureCollection" or not isinstance(
        body.get("features"), list
    ):
        raise GeocoderUnavailable("geocoder answered JSON that is not a FeatureCollection")
    results = []
    for feature in body["features"]:
        try:
            properties = feature["properties"]
            lon, lat = feature["geometry"]["coordinates"][:2]
            if properties["type"] not in RESULT_TYPES:
                continue
            result = GeocodeResult(
                label=str(properties["label"]), score=float(properties["score"]), type=properties["type"],
                citycode=str(properties["citycode"]), postcode=str(properties.get("postcode") or ""),
                city=str(properties.get("city") or ""), lat=float(lat), lon=float(lon),
            )
        except (KeyError, TypeError, ValueError, IndexError) as error:
            raise GeocoderUnavailable(f"geocoder answered a malformed feature: {error!r}") from error
        if not (math.isfinite(result.lat) and math.isfinite(result.lon)):
            raise GeocoderUnavailable("geocoder answered a feature without finite coordinates")
        results.append(result)
    return results


def _check_coordinates(lat: float, lon: float) -> None:
    if not (-90 <= lat <= 90 and -180 <= lon <= 180):
        raise ValueError(f"not a position on Earth: {lat}, {lon}")
