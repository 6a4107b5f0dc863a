"""Distances without PostGIS: pure helpers and one SQL expression that runs on SQLite and
PostgreSQL alike.

A distance search narrows in three steps, each cheaper than the next is precise: an indexed
integer grid cell (0.1° of latitude and longitude) picks a handful of cells, a bounding box
trims their corners, and the great-circle distance, computed in SQL, orders and filters what is
left. PostGIS would do the same in one index, but it is PostgreSQL-only (the suite and the demo
run on SQLite too) and heavy to install."""

from __future__ import annotations

import math
from dataclasses import dataclass
from enum import Enum
from typing import Any

from sqlalchemy import Float, bindparam, func, literal
from sqlalchemy.sql.elements import ColumnElement

# The mean Earth radius (IUGG), the one the haversine uses everywhere here, SQL included.
EARTH_RADIUS_KM = 6371.0088
KM_PER_DEGREE = math.pi * EARTH_RADIUS_KM / 180  # about 111.2 km of latitude
GRID_STEP = 0.1  # degrees: cells of about 11 km by 8 km at French latitudes
_GRID_COLUMNS = 3600  # 360° of longitude in steps of 0.1°


@dataclass(frozen=True)
class Point:
    lat: float
    lon: float


@dataclass(frozen=True)
class BoundingBox:
    min_lat: float
    max_lat: float
    min_lon: float
    max_lon: float

    def contains(self, point: Point) -> bool:
        return self.min_lat <= point.lat <= self.max_lat and self.min_lon <= point.lon <= self.max_lon


def haversine_km(a: Point, b: Point) -> float:
    """The great-circle distance in kilometres."""
    phi_a, phi_b = math.radians(a.lat), math.radians(b.lat)
    half_dphi = (phi_b - phi_a) / 2
    half_dlambda = math.radians(b.lon - a.lon) / 2
    h = math.sin(half_dphi) ** 2 + math.cos(phi_a) * math.cos(phi_b) * math.sin(half_dlambda) ** 2
    return 2 * EARTH_RADIUS_KM * math.asin(min(1.0, math.sqrt(h)))


def grid_cell(point: Point) -> int:
    """The integer id of the 0.1° cell holding `point`: row (latitude) then column (longitude),
    so that a point's cell is one indexed integer column."""
    row = math.floor((point.lat + 90) / GRID_STEP + 1e-9)
    column = math.floor((point.lon + 180) / GRID_STEP + 1e-9) % _GRID_COLUMNS
    return row * _GRID_COLUMNS + column


def bounding_box(centre: Point, radius_km: float) -> BoundingBox:
    """The smallest latitude/longitude box holding every point within `radius_km` of `centre`
    (the longitude span is taken at the latitude of the box nearest a pole, where it is widest).
    Near the antimeridian its longitudes run past ±180: `grid_cells` wraps them, `contains` and
    an SQL `BETWEEN` do not (no French territory of the platform lies there)."""
    if radius_km < 0:
        raise ValueError("radius_km must not be negative")
    dlat = radius_km / KM_PER_DEGREE
    widest_lat = min(89.9, abs(centre.lat) + dlat)
    dlon = min(180.0, dlat / math.cos(math.radians(widest_lat)))
    return BoundingBox(centre.lat - dlat, centre.lat + dlat, centre.lon - dlon, centre.lon + dlon)


def grid_cells(box: BoundingBox) -> list[int]:
    """Every cell the box touches: the `IN (…)` list an indexed search starts from (about 60
    cells for 30 km around a French commune)."""
    first, last = grid_cell(Point(box.min_lat, box.min_lon)), grid_cell(Point(box.max_lat, box.max_lon))
    rows = range(first // _GRID_COLUMNS, last // _GRID_COLUMNS + 1)
    first_column, last_column = first % _GRID_COLUMNS, last % _GRID_COLUMNS
    if first_column <= last_column:
        columns = list(range(first_column, last_column + 1))
    else:  # the box crosses the antimeridian
        columns = [*range(first_column, _GRID_COLUMNS), *range(0, last_column + 1)]
    return [row * _GRID_COLUMNS + column for row in rows for column in columns]


class Precision(Enum):
    """How precisely a fiche may be located in public: at its address, or only at its commune
    (a masked fiche: its address is never published)."""

    ADDRESS = "address"
    COMMUNE = "commune"


def rounded_km(distance_km: float) -> int:
    """The « à environ N km » number: whole kilometres, never less than 1, so that a distance
    never locates anyone more precisely than a kilometre."""
    return max(1, math.floor(distance_km + 0.5))


def announced_km(origin: Point, position: Point, commune_centre: Point, precision: Precision) -> int:
    """The distance a parent reads for a fiche. A masked fiche is measured from its commune's
    centre, never from its address: moving the address within the commune changes nothing a
    parent can see, the order of the results included (search on `public_position`)."""
    return rounded_km(haversine_km(origin, public_position(position, commune_centre, precision)))


def public_position(position: Point, commune_centre: Point, precision: Precision) -> Point:
    """Where a fiche may be placed on a list or a map."""
    return commune_centre if precision is Precision.COMMUNE else position


def origin_params(origin: Point) -> dict[str, float]:
    """The bound values of `distance_km_sql`'s origin."""
    return {"origin_phi": math.radians(origin.lat), "origin_lambda": math.radians(origin.lon),
            "origin_cos_phi": math.cos(math.radians(origin.lat))}


def distance_km_sql(lat: ColumnElement[Any], lon: ColumnElement[Any], origin: Point | None = None) -> ColumnElement[float]:
    """The haversine distance in km from the origin to the row's (`lat`, `lon`), in SQL that
    SQLite (with its math functions, see `ensure_sqlite_math`) and PostgreSQL both run.
    Haversine rather than the spherical law of cosines: it stays exact at a few metres, where
    acos loses its digits. The origin is three bound parameters (`origin_params`): given here,
    or at execution, so that one compiled statement serves every origin."""
    values: dict[str, float | None] = dict(origin_params(origin)) if origin is not None else \
        {"origin_phi": None, "origin_lambda": None, "origin_cos_phi": None}
    phi0, lambda0, cos_phi0 = (bindparam(name, value, type_=Float) for name, value in values.items())
    phi = func.radians(lat)
    half_dphi = (phi - phi0) / 2
    half_dlambda = (func.radians(lon) - lambda0) / 2
    sin_half_dphi, sin_half_dlambda = func.sin(half_dphi), func.sin(half_dlambda)
    h = sin_half_dphi * sin_half_dphi + cos_phi0 * func.cos(phi) * (sin_half_dlambda * sin_half_dlambda)
    return literal(2 * EARTH_RADIUS_KM) * func.asin(func.sqrt(h))


_MATH_FUNCTIONS = {"radians": (1, math.radians), "sin": (1, math.sin), "cos": (1, math.cos),
                   "asin": (1, math.asin), "sqrt": (1, math.sqrt)}


def ensure_sqlite_math(dbapi_connection: Any) -> None:
    """Register the math functions `distance_km_sql` needs on an SQLite connection whose
    library was built without them (Debian's has them: then this is one cheap probe)."""
    cursor = dbapi_connection.cursor()
    try:
        cursor.execute("SELECT radians(0), sin(0), cos(0), asin(0), sqrt(0)")
        return
    # The driver's own OperationalError class (sqlite3's, or aiosqlite's adapted one).
    except Exception as error:  # noqa: BLE001
        if "no such function" not in str(error):
            raise
    finally:
        cursor.close()
    register_sqlite_math(dbapi_connection)


def register_sqlite_math(dbapi_connection: Any) -> None:
    for name, (arity, function) in _MATH_FUNCTIONS.items():
        dbapi_connection.create_function(name, arity, _null_safe(function), deterministic=True)


def _null_safe(function: Any) -> Any:
    def call(value: float | None) -> float | None:
        return None if value is None else function(value)

    return call
