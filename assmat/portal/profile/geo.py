"""Where a fiche sits on the map: its exact place, or its commune's centre when the address is
hidden (or no coordinates were given). The commune centres are public data (INSEE code, name,
postal code, centre rounded to about 100 m) shipped in communes.csv for the départements the
portals serve; a geocoder (next issue) will fill the fiches' own coordinates."""

from __future__ import annotations

import csv
import unicodedata
from dataclasses import dataclass
from functools import cache
from pathlib import Path

from assmat.core.geocoding.distance import Point, haversine_km

COMMUNES_CSV = Path(__file__).with_name("communes.csv")


@dataclass(frozen=True)
class Commune:
    insee: str
    name: str
    postal_code: str
    latitude: float
    longitude: float


def _key(name: str) -> str:
    """« Saint-Estève », « ST ESTEVE », « saint esteve » are one commune's names."""
    plain = unicodedata.normalize("NFKD", name).encode("ascii", "ignore").decode().lower()
    plain = plain.replace("-", " ").replace("'", " ")
    words = ["saint" if word == "st" else "sainte" if word == "ste" else word for word in plain.split()]
    return " ".join(words)


@cache
def communes() -> tuple[Commune, ...]:
    with COMMUNES_CSV.open(encoding="utf-8", newline="") as handle:
        return tuple(
            Commune(row["insee"], row["name"], row["postal_code"], float(row["latitude"]), float(row["longitude"]))
            for row in csv.DictReader(handle)
        )


def find_commune(postal_code: str | None, city: str | None) -> Commune | None:
    """The commune of an imported address: by name within the postal code, else by name alone
    when only one commune bears it, else the postal code's only commune. None when unsure."""
    code = (postal_code or "").strip()
    name = _key(city or "")
    by_code = [commune for commune in communes() if commune.postal_code == code]
    named = [commune for commune in communes() if name and _key(commune.name) == name]
    for candidates in ([c for c in by_code if c in named], named, by_code):
        if len(candidates) == 1:
            return candidates[0]
    return None


def neighbours(latitude: float, longitude: float, *, within_km: float, exclude: str | None = None) -> list[Commune]:
    """The shipped communes near a point (for the map's context), nearest first."""
    found = [(haversine_km(Point(latitude, longitude), Point(c.latitude, c.longitude)), c) for c in communes() if c.insee != exclude]
    return [commune for distance, commune in sorted(found, key=lambda item: item[0]) if distance <= within_km]
