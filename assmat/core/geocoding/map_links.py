"""Positions pasted from the national address map (adresse.data.gouv.fr), for a correction
request: the assistant moves the map to her door and copies its address.

Two forms are read: the query of the map's links (`/map?lng=1.47921&lat=48.4460&z=18`) and the
map's own address bar (`#18/48.4460/1.47921`, zoom/latitude/longitude). Anything else, and any
point outside France (the mainland, Corsica, the five DROM), is refused with a message the
assistant can act on."""

from __future__ import annotations

import math
from urllib.parse import parse_qs, urlsplit

from assmat.core.errors import Invalid
from assmat.core.geocoding.distance import BoundingBox, Point
from assmat.core.i18n import _

MAP_HOSTS = frozenset({"adresse.data.gouv.fr", "www.adresse.data.gouv.fr"})

# Generous boxes around each territory. They let through the sea nearby and the neighbours'
# border towns (Brussels, Geneva, Luxembourg lie in the mainland's box): staff see the point on
# a map before they accept it. Far-off points, and swapped or mistyped coordinates, do not pass.
FRANCE = {
    "mainland": BoundingBox(min_lat=42.3, max_lat=51.15, min_lon=-5.3, max_lon=8.3),
    "Corse": BoundingBox(min_lat=41.3, max_lat=43.05, min_lon=8.5, max_lon=9.6),
    "Guadeloupe": BoundingBox(min_lat=15.8, max_lat=16.55, min_lon=-61.85, max_lon=-60.95),
    "Martinique": BoundingBox(min_lat=14.35, max_lat=14.9, min_lon=-61.25, max_lon=-60.8),
    "Guyane": BoundingBox(min_lat=2.1, max_lat=5.8, min_lon=-54.65, max_lon=-51.6),
    "La Réunion": BoundingBox(min_lat=-21.4, max_lat=-20.85, min_lon=55.2, max_lon=55.85),
    "Mayotte": BoundingBox(min_lat=-13.05, max_lat=-12.6, min_lon=44.95, max_lon=45.35),
}


def in_france(point: Point) -> bool:
    return any(box.contains(point) for box in FRANCE.values())


def parse_map_url(url: str) -> Point:
    """The point a national address map link shows; `Invalid` with a French message otherwise."""
    parts = urlsplit(url.strip())
    if parts.scheme not in ("http", "https") or (parts.hostname or "") not in MAP_HOSTS:
        raise Invalid(_("Paste the address of the national address map (adresse.data.gouv.fr), "
                        "centred on your home."))
    point = _from_query(parts.query) or _from_fragment(parts.fragment)
    if point is None:
        raise Invalid(_("This map address holds no position: move the map to your home, "
                        "then copy its address again."))
    if not in_france(point):
        raise Invalid(_("This position is outside France: move the map to your home, then copy "
                        "its address again."))
    return point


def _from_query(query: str) -> Point | None:
    values = parse_qs(query)
    lat = _number(values.get("lat", [None])[0])
    lon = _number((values.get("lng") or values.get("lon") or [None])[0])
    return Point(lat, lon) if lat is not None and lon is not None else None


def _from_fragment(fragment: str) -> Point | None:
    parts = fragment.split("/")
    if len(parts) < 3:
        return None
    lat, lon = _number(parts[1]), _number(parts[2])
    return Point(lat, lon) if lat is not None and lon is not None else None


def _number(text: str | None) -> float | None:
    if text is None or len(text) > 20:
        return None
    try:
        value = float(text)
    except ValueError:
        return None
    return round(value, 6) if math.isfinite(value) else None
