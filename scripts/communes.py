"""Write assmat/portal/profile/communes.csv from the official list of communes.

    .venv/bin/python scripts/communes.py [PACKAGE]

PACKAGE is the npm package @etalab/decoupage-administratif at PACKAGE_VERSION, unpacked or as
its .tgz; without it the script runs `npm pack` for that version into a temporary directory.
Its data/communes.json is INSEE's Code officiel géographique with La Poste's postal codes
(Licence Ouverte); every current commune is written: INSEE code, name, postal codes, département.

No registry package carries the communes' centres (that package has none, nor `codes-postaux`,
`insee-cogpy` or `french-cities`): the centres already in the file are kept, matched by name and
postal code (not by INSEE code, which the earlier hand-written file got wrong twice), and the
communes without one are written without. A commune whose centre is lost is reported."""

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
VINTAGE = "2026"  # the package's README: version 6.0.0 is the 2026 Code officiel géographique
REPO = Path(__file__).resolve().parent.parent
TARGET = REPO / "assmat/portal/profile/communes.csv"
COLUMNS = ["insee", "name", "postal_codes", "departement", "latitude", "longitude"]


def key(name: str) -> str:
    """The same key as assmat.portal.profile.geo._key (kept here: a script never imports the app)."""
    plain = unicodedata.normalize("NFKD", name).encode("ascii", "ignore").decode().lower()
    plain = plain.replace("-", " ").replace("'", " ")
    return " ".join("saint" if w == "st" else "sainte" if w == "ste" else w for w in plain.split())


def read_package(source: Path | None) -> tuple[list[dict], dict]:
    """The package's communes and its package.json, from a directory, a .tgz or `npm pack`."""
    if source is None:
        with tempfile.TemporaryDirectory() as tmp:
            subprocess.run(["npm", "pack", "--silent", f"{PACKAGE}@{PACKAGE_VERSION}"], cwd=tmp, check=True,
                           stdout=subprocess.DEVNULL)
            (tgz,) = Path(tmp).glob("*.tgz")
            return read_package(tgz)
    if source.is_dir():
        return (json.loads((source / "data/communes.json").read_text(encoding="utf-8")),
                json.loads((source / "package.json").read_text(encoding="utf-8")))
    with tarfile.open(source) as archive:
        def member(name: str):
            return json.load(archive.extractfile(f"package/{name}"))
        return member("data/communes.json"), member("package.json")


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
    used = set()
    out = io.StringIO()
    out.write(f"# Communes: {PACKAGE} {PACKAGE_VERSION} (npm), data/communes.json: INSEE's Code officiel "
              f"géographique {VINTAGE} and La Poste's postal codes, Licence Ouverte (Etalab).\n")
    out.write("# Centres (latitude, longitude, about 100 m): not in any registry package; only the demo "
              "tenants' communes have one. Written by scripts/communes.py: do not edit by hand.\n")
    writer = csv.writer(out, lineterminator="\n")
    writer.writerow(COLUMNS)
    for commune in sorted((c for c in communes if c["type"] == "commune-actuelle"), key=lambda c: c["code"]):
        codes = sorted(commune.get("codesPostaux") or [])
        centre = next((centres[(key(commune["nom"]), code)] for code in codes
                       if (key(commune["nom"]), code) in centres), ("", ""))
        if centre[0]:
            used.add((key(commune["nom"]), centre))
        writer.writerow([commune["code"], commune["nom"], " ".join(codes), commune.get("departement") or "", *centre])
    TARGET.write_text(out.getvalue(), encoding="utf-8")
    lost = {(name, centre) for (name, _code), centre in centres.items()} - used
    for name, centre in sorted(lost):
        print(f"centre not matched to an official commune: {name} {centre}", file=sys.stderr)
    print(f"{TARGET.relative_to(REPO)}: {sum(1 for c in communes if c['type'] == 'commune-actuelle')} communes, "
          f"{len(used)} with a centre")
    return 0


if __name__ == "__main__":
    sys.exit(main(sys.argv[1:]))
