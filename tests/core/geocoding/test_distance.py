"""Distances without PostGIS: the haversine, the grid cell, the bounding box, the rounding a
parent reads, and the SQL distance on both backends against the Python one."""

from __future__ import annotations

import asyncio
import math
import random
import sqlite3

import pytest
from sqlalchemy import Column, Float, Integer, MetaData, Table, select

from assmat.core.db.engine import make_engine
from assmat.core.geocoding.distance import (
    Point, Precision, announced_km, bounding_box, distance_km_sql, grid_cell, grid_cells, haversine_km,
    public_position, register_sqlite_math, rounded_km,
)

CHARTRES, AUCH = Point(48.4469, 1.4892), Point(43.6465, 0.5855)
PERPIGNAN, CANET = Point(42.6987, 2.8956), Point(42.7056, 3.0086)


def test_haversine_on_known_distances():
    assert haversine_km(CHARTRES, CHARTRES) == 0
    assert haversine_km(CHARTRES, AUCH) == pytest.approx(haversine_km(AUCH, CHARTRES))
    # One degree of latitude is 111.2 km; Perpignan to Canet-en-Roussillon about 9.3 km.
    assert haversine_km(Point(45, 2), Point(46, 2)) == pytest.approx(111.195, abs=0.01)
    assert haversine_km(PERPIGNAN, CANET) == pytest.approx(9.27, abs=0.05)
    assert haversine_km(CHARTRES, AUCH) == pytest.approx(541, abs=3)
    assert haversine_km(Point(0, 0), Point(0, 180)) == pytest.approx(math.pi * 6371.0088)


def test_grid_cells_are_tenths_of_a_degree():
    assert grid_cell(Point(48.4469, 1.4892)) == grid_cell(Point(48.4001, 1.4999))
    assert grid_cell(Point(48.4469, 1.4892)) != grid_cell(Point(48.5001, 1.4892))
    assert grid_cell(Point(48.4469, 1.4892)) != grid_cell(Point(48.4469, 1.5001))
    assert grid_cell(Point(48.4469, 1.4892)) - grid_cell(Point(48.3469, 1.4892)) == 3600
    assert grid_cell(Point(-20.88, 55.45)) != grid_cell(Point(20.88, 55.45))
    assert grid_cell(Point(-0.05, -0.05)) != grid_cell(Point(0.05, 0.05))
    cells = {grid_cell(Point(lat / 7, lon / 7)) for lat in range(-629, 630, 37) for lon in range(-1259, 1260, 41)}
    assert len(cells) == len(range(-629, 630, 37)) * len(range(-1259, 1260, 41))  # no two points share a cell


def test_the_bounding_box_holds_every_point_of_the_circle():
    rng = random.Random(12)
    for centre in (CHARTRES, AUCH, Point(-20.88, 55.45), Point(4.94, -52.31)):
        for radius in (1, 3, 5, 10, 20, 30):
            box = bounding_box(centre, radius)
            cells = set(grid_cells(box))
            for _ in range(300):
                bearing, fraction = rng.uniform(0, 2 * math.pi), math.sqrt(rng.random())
                point = destination(centre, bearing, radius * fraction * 0.999)
                assert haversine_km(centre, point) <= radius
                assert box.contains(point), (centre, radius, point)
                assert grid_cell(point) in cells
            # …and not much more: the box is about 2 r wide in km.
            assert (box.max_lat - box.min_lat) * 111.195 == pytest.approx(2 * radius, rel=0.01)
            assert len(cells) <= (math.ceil(2 * radius / 11.1) + 2) * (math.ceil(2 * radius / 7) + 2)


def test_thirty_km_around_a_commune_is_a_few_dozen_cells():
    assert 20 <= len(grid_cells(bounding_box(CHARTRES, 30))) <= 80
    assert len(grid_cells(bounding_box(CHARTRES, 1))) <= 4


def test_a_box_across_the_antimeridian_keeps_both_sides():
    cells = grid_cells(bounding_box(Point(-17.5, 179.98), 5))
    assert grid_cell(Point(-17.5, 179.99)) in cells and grid_cell(Point(-17.5, -179.99)) in cells
    assert len(cells) <= 6


def test_distances_are_never_more_precise_than_a_kilometre():
    assert [rounded_km(d) for d in (0, 0.2, 0.49, 0.5, 1.49, 1.5, 2.4, 9.5, 29.6)] == [1, 1, 1, 1, 1, 2, 2, 10, 30]


def test_a_masked_fiche_is_located_at_its_commune_whatever_its_address():
    commune = Point(48.4469, 1.4892)
    parent = Point(48.4300, 1.5200)
    addresses = [Point(48.4469 + dlat, 1.4892 + dlon) for dlat in (-0.02, 0, 0.02) for dlon in (-0.03, 0, 0.03)]
    masked = {announced_km(parent, address, commune, Precision.COMMUNE) for address in addresses}
    assert masked == {rounded_km(haversine_km(parent, commune))}
    assert {public_position(address, commune, Precision.COMMUNE) for address in addresses} == {commune}
    shown = {announced_km(parent, address, commune, Precision.ADDRESS) for address in addresses}
    assert len(shown) > 1  # an unmasked fiche is measured from its address
    assert public_position(addresses[0], commune, Precision.ADDRESS) == addresses[0]


# The SQL distance ---------------------------------------------------------------------------

places = Table("geo_places_test", MetaData(), Column("id", Integer, primary_key=True),
               Column("lat", Float, nullable=False), Column("lon", Float, nullable=False))


def sample_points() -> list[Point]:
    rng = random.Random(7)
    near = [destination(CHARTRES, rng.uniform(0, 6.3), rng.uniform(0, 0.05)) for _ in range(20)]
    return [CHARTRES, AUCH, PERPIGNAN, CANET, Point(-20.88, 55.45), *near,
            *(Point(rng.uniform(41.3, 51), rng.uniform(-5, 9.5)) for _ in range(80))]


@pytest.mark.both_backends
def test_the_sql_distance_equals_the_python_one(database_url):
    points = sample_points()

    async def distances() -> list[tuple[int, float]]:
        engine = make_engine(database_url)
        try:
            async with engine.begin() as connection:
                await connection.run_sync(places.create)
                await connection.execute(places.insert(), [{"id": i, "lat": p.lat, "lon": p.lon} for i, p in enumerate(points)])
                distance = distance_km_sql(places.c.lat, places.c.lon, CHARTRES)
                rows = await connection.execute(
                    select(places.c.id, distance).where(distance <= 300).order_by(distance, places.c.id)
                )
                return [(row[0], row[1]) for row in rows]
        finally:
            await engine.dispose()

    rows = asyncio.run(distances())
    expected = sorted((haversine_km(CHARTRES, p), i) for i, p in enumerate(points) if haversine_km(CHARTRES, p) <= 300)
    assert [i for i, _ in rows] == [i for _, i in expected]
    for (i, km), (expected_km, _) in zip(rows, expected):
        assert km == pytest.approx(expected_km, abs=1e-6), points[i]
    assert rows[0] == (0, 0.0)
    assert 20 < len(rows) < len(points)  # the filter kept the near ones only


def test_the_math_functions_registered_by_hand_give_the_same_distance():
    """SQLite built without its math functions gets ours (Debian's has them: compare both)."""
    native, registered = sqlite3.connect(":memory:"), sqlite3.connect(":memory:")
    register_sqlite_math(registered)
    query = ("SELECT 12742.0176 * asin(sqrt(sin((radians(?) - radians(?)) / 2) * sin((radians(?) - radians(?)) / 2)"
             " + cos(radians(?)) * cos(radians(?)) * sin((radians(?) - radians(?)) / 2) * sin((radians(?) - radians(?)) / 2)))")
    args = (AUCH.lat, CHARTRES.lat, AUCH.lat, CHARTRES.lat, AUCH.lat, CHARTRES.lat, AUCH.lon, CHARTRES.lon, AUCH.lon, CHARTRES.lon)
    assert registered.execute(query, args).fetchone()[0] == pytest.approx(haversine_km(AUCH, CHARTRES), abs=1e-9)
    assert native.execute(query, args).fetchone()[0] == pytest.approx(haversine_km(AUCH, CHARTRES), abs=1e-9)
    assert registered.execute("SELECT sin(NULL)").fetchone() == (None,)


def destination(start: Point, bearing: float, km: float) -> Point:
    """The point `km` away from `start` along `bearing` (radians), on the same sphere."""
    angle = km / 6371.0088
    phi1, lambda1 = math.radians(start.lat), math.radians(start.lon)
    phi2 = math.asin(math.sin(phi1) * math.cos(angle) + math.cos(phi1) * math.sin(angle) * math.cos(bearing))
    lambda2 = lambda1 + math.atan2(math.sin(bearing) * math.sin(angle) * math.cos(phi1),
                                   math.cos(angle) - math.sin(phi1) * math.sin(phi2))
    return Point(math.degrees(phi2), (math.degrees(lambda2) + 540) % 360 - 180)
