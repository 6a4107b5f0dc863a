"""The background geocoding of the fiches against a real addok over the BAN fixture: what it
keeps, what it flags, the address-change rule, a geocoder down, the throttle, and a correction
accepted by staff that the geocoder never overwrites until the address changes."""

from __future__ import annotations

import socket

import pytest
from sqlalchemy import select

from assmat.core.geocoding.client import Geocoder
from assmat.core.security.models import AuditEvent
from assmat.portal.profile.geolocation import (
    GEOCODER_RATE_PER_SECOND,
    LOW_SCORE,
    Throttle,
    accept_correction,
    address_hash,
    count_waiting,
    geocode_pending,
    request_correction,
)
from assmat.portal.directory.models import DirectoryEntry
from assmat.portal.profile.models import AddressPosition, Fiche, PositionCorrection
from tests.support.site import _store, make_publishable

pytestmark = pytest.mark.both_backends


def assistant_with_fiche(portal, identifier: str, address: str | None, postal_code: str | None, city: str | None,
                         **fiche_values):
    account, _temporary = portal.create_account(identifier, email=None, kind="assistant", address=address,
                                                postal_code=postal_code, city=city)
    _store(portal, Fiche(tenant_id=portal.slug, account_id=account.id, public_id=f"pub{identifier[-9:]:>9}"[-12:],
                         **fiche_values))
    return account


def search_position(portal, account_id: int) -> tuple[float, float]:
    rows = portal.query(select(DirectoryEntry.latitude, DirectoryEntry.longitude).where(
        DirectoryEntry.tenant_id == portal.slug, DirectoryEntry.account_id == account_id))
    return tuple(rows[0]) if rows else ()


def fiche(portal, account_id: int) -> Fiche:
    return portal.query(select(Fiche).where(Fiche.tenant_id == portal.slug, Fiche.account_id == account_id))[0][0]


def run(portal, geocoder, **options):
    async def call():
        async with portal.app.state.sessionmaker() as db:
            report = await geocode_pending(db, portal.tenant, geocoder, **options)
            await db.commit()
            return report

    return portal.run(call)


def waiting_count(portal) -> int:
    async def call():
        async with portal.app.state.sessionmaker() as db:
            return await count_waiting(db, portal.tenant)

    return portal.run(call)


class CountingClock:
    """A clock that only the sleeper moves: the throttle is counted, never waited for."""

    def __init__(self):
        self.now = 1000.0
        self.sleeps: list[float] = []

    def __call__(self) -> float:
        return self.now

    async def sleep(self, seconds: float) -> None:
        self.sleeps.append(seconds)
        self.now += seconds


def closed_port() -> int:
    with socket.socket() as probe:
        probe.bind(("127.0.0.1", 0))
        return probe.getsockname()[1]


def test_the_run_geocodes_keeps_the_answer_and_flags_what_is_unsure(portal_for, addok_url):
    portal = portal_for("gers")
    exact = assistant_with_fiche(portal, "AGR-GEO-001", "2 Rue Dessoles", "32000", "Auch")
    commune_only = assistant_with_fiche(portal, "AGR-GEO-002", None, "32500", "Fleurance")
    no_address = assistant_with_fiche(portal, "AGR-GEO-003", None, None, None)
    assert waiting_count(portal) == 2

    clock = CountingClock()
    seen = []
    report = run(portal, Geocoder(addok_url), throttle=Throttle(GEOCODER_RATE_PER_SECOND, clock=clock, sleep=clock.sleep),
                 progress=lambda done, total: seen.append((done, total)))
    assert (report.total, report.geocoded, report.low_score, report.failed, report.unavailable) == (2, 2, 1, 0, False)
    assert seen == [(1, 2), (2, 2)]

    found = fiche(portal, exact.id)
    assert found.position_source == "geocoder" and found.geocode_type == "housenumber"
    assert found.geocode_score >= LOW_SCORE and "Rue Dessoles" in found.geocode_label
    assert abs(found.latitude - 43.64637) < 0.001 and abs(found.longitude - 0.5866) < 0.001
    assert found.address_hash == address_hash("2 Rue Dessoles", "32000", "Auch") and found.geocoded_at is not None
    vague = fiche(portal, commune_only.id)
    assert vague.geocode_type == "municipality" and abs(vague.latitude - 43.8483) < 0.001
    assert fiche(portal, no_address.id).latitude is None
    assert portal.query(select(AuditEvent.type).where(AuditEvent.tenant_id == "gers",
                                                      AuditEvent.type == "geocoding.run"))
    # Nothing waits any more: a second run asks nothing.
    assert waiting_count(portal) == 0
    assert run(portal, Geocoder(addok_url)).total == 0


def test_a_changed_address_is_geocoded_again_whatever_its_spacing(portal_for, addok_url):
    portal = portal_for("eure-et-loir")
    account = assistant_with_fiche(portal, "280010", "1 Place des Épars", "28000", "Chartres")
    assert run(portal, Geocoder(addok_url)).geocoded == 1
    portal.update_account(account.id, address="  1   place des épars ")  # the same address, typed otherwise
    assert waiting_count(portal) == 0
    portal.update_account(account.id, address="1 Grande Rue Maurice Viollette", postal_code="28100", city="Dreux")
    assert waiting_count(portal) == 1
    report = run(portal, Geocoder(addok_url))
    assert report.geocoded == 1 and abs(fiche(portal, account.id).latitude - 48.7371) < 0.001


def test_a_geocoder_down_stops_the_run_and_changes_nothing(portal_for):
    portal = portal_for("gers")
    account = assistant_with_fiche(portal, "AGR-GEO-020", "2 Rue Dessoles", "32000", "Auch",
                                   latitude=43.6, longitude=0.5, position_source="import")
    report = run(portal, Geocoder(f"http://127.0.0.1:{closed_port()}", timeout=1.0))
    assert report.unavailable and report.done == 0 and report.total == 1
    kept = fiche(portal, account.id)
    assert (kept.latitude, kept.longitude, kept.position_source, kept.address_hash) == (43.6, 0.5, "import", None)
    assert waiting_count(portal) == 1  # asked again next time


def test_the_throttle_keeps_under_its_rate():
    clock = CountingClock()
    throttle = Throttle(GEOCODER_RATE_PER_SECOND, clock=clock, sleep=clock.sleep)

    async def calls():
        for _ in range(21):
            await throttle.wait()

    import anyio

    anyio.run(calls)
    assert len(clock.sleeps) == 20 and all(abs(s - 1 / GEOCODER_RATE_PER_SECOND) < 1e-9 for s in clock.sleeps)
    assert clock.now - 1000.0 == pytest.approx(20 / GEOCODER_RATE_PER_SECOND)  # 21 calls took 2 s: 10 a second


def test_a_limit_bounds_the_run(portal_for, addok_url):
    portal = portal_for("gers")
    for number in range(3):
        assistant_with_fiche(portal, f"AGR-GEO-03{number}", f"{number + 1} Rue Dessoles", "32000", "Auch")
    assert run(portal, Geocoder(addok_url), limit=2).geocoded == 2
    assert waiting_count(portal) == 1


def test_an_accepted_correction_is_never_overwritten_until_the_address_changes(portal_for, addok_url):
    portal = portal_for("gers")
    account = assistant_with_fiche(portal, "AGR-GEO-040", "2 Rue Dessoles", "32000", "Auch")
    make_publishable(portal, account)  # so that the parents' search follows her position too
    run(portal, Geocoder(addok_url))
    geocoded = fiche(portal, account.id)
    assert search_position(portal, account.id) == (geocoded.latitude, geocoded.longitude)

    async def correct():
        async with portal.app.state.sessionmaker() as db:
            row = await db.scalar(select(Fiche).where(Fiche.tenant_id == "gers", Fiche.account_id == account.id))
            correction = await request_correction(
                db, portal.tenant, account, row,
                {"url-carte": "https://adresse.data.gouv.fr/map?lng=0.59001&lat=43.65002&z=18"}, ip=None)
            assert await accept_correction(db, portal.tenant, correction, by="agent@example.org")
            await db.commit()

    portal.run(correct)
    corrected = fiche(portal, account.id)
    assert (corrected.latitude, corrected.longitude, corrected.position_source) == (43.65002, 0.59001, "correction")
    assert search_position(portal, account.id) == (43.65002, 0.59001)  # in the same transaction as the fiche
    assert waiting_count(portal) == 0
    assert run(portal, Geocoder(addok_url)).total == 0
    assert (fiche(portal, account.id).latitude, fiche(portal, account.id).position_source) == (43.65002, "correction")
    assert portal.query(select(PositionCorrection.state).where(PositionCorrection.tenant_id == "gers"))[0][0] == "accepted"

    portal.update_account(account.id, address="1 Place de la Libération")
    assert run(portal, Geocoder(addok_url)).geocoded == 1
    moved = fiche(portal, account.id)
    assert moved.position_source == "geocoder" and abs(moved.latitude - 43.6456) < 0.001


def test_an_assistant_without_a_fiche_is_located_and_her_first_save_takes_the_position(portal_for, addok_url):
    from tests.portal.test_profile_pages import assistant, full_form

    # Imported, never saved her fiche: her address is located all the same.
    portal, account = assistant(portal_for, "gers", "AGR-GEO-060", address="2 Rue Dessoles", postal_code="32000",
                                city="Auch")
    with_fiche = assistant_with_fiche(portal, "AGR-GEO-061", None, "32500", "Fleurance")
    assert portal.query(select(Fiche.id).where(Fiche.tenant_id == "gers", Fiche.account_id == account.id)) == []
    assert waiting_count(portal) == 2
    report = run(portal, Geocoder(addok_url))
    assert (report.total, report.geocoded) == (2, 2)
    assert waiting_count(portal) == 0
    (position,) = [row for (row,) in portal.query(select(AddressPosition).where(AddressPosition.tenant_id == "gers"))]
    assert position.account_id == account.id and position.geocode_type == "housenumber"
    assert abs(position.latitude - 43.64637) < 0.001 and position.address_hash == address_hash("2 Rue Dessoles", "32000", "Auch")
    assert fiche(portal, with_fiche.id).geocode_type == "municipality"  # a fiche still gets its own
    assert portal.query(select(Fiche.id).where(Fiche.tenant_id == "gers", Fiche.account_id == account.id)) == []

    # Her first save creates the fiche at that position; the search places her there at once.
    assert portal.post("/espace/fiche", full_form()).status_code == 303
    created = fiche(portal, account.id)
    assert (created.latitude, created.longitude, created.position_source) == (position.latitude, position.longitude,
                                                                               "geocoder")
    assert created.geocode_score == position.geocode_score and created.address_hash == position.address_hash
    assert search_position(portal, account.id) == (created.latitude, created.longitude)
    assert portal.query(select(AddressPosition.id).where(AddressPosition.tenant_id == "gers")) == []
    assert run(portal, Geocoder(addok_url)).total == 0  # nothing asked twice


def test_an_address_changed_before_her_first_save_is_located_again(portal_for, addok_url):
    from tests.portal.test_profile_pages import assistant, full_form

    portal, account = assistant(portal_for, "gers", "AGR-GEO-062", address="2 Rue Dessoles", postal_code="32000",
                                city="Auch")
    run(portal, Geocoder(addok_url))
    portal.update_account(account.id, address="1 Place de la Libération")
    assert waiting_count(portal) == 1
    assert portal.post("/espace/fiche", full_form()).status_code == 303
    assert waiting_count(portal) == 1  # the fiche took the old answer, and waits for the new address
    assert run(portal, Geocoder(addok_url)).geocoded == 1
    assert abs(fiche(portal, account.id).latitude - 43.6456) < 0.001


# -- the command ------------------------------------------------------------------------------------

def geocode_cli(database_url: str, tmp_path, geocoder_url: str, *args: str):
    import os
    import subprocess
    import sys
    from pathlib import Path

    repo = Path(__file__).resolve().parents[2]
    env = {**os.environ, "ASSMAT_DATABASE_URL": database_url, "ASSMAT_VAR_DIR": str(tmp_path / "var"),
           "ASSMAT_SECRET_KEY": "s" * 48, "ASSMAT_TENANT_CONFIGS": str(repo / "tenant_configs"),
           "ASSMAT_GEOCODER_URL": geocoder_url}
    return subprocess.run([sys.executable, "-m", "assmat", "geocode", *args], cwd=repo, capture_output=True,
                          text=True, env=env, timeout=120)


def test_the_command_geocodes_with_a_progress_bar_and_a_summary(portal_for, addok_url, database_url, tmp_path):
    portal = portal_for("gers")
    exact = assistant_with_fiche(portal, "AGR-GEO-050", "2 Rue Dessoles", "32000", "Auch")
    assistant_with_fiche(portal, "AGR-GEO-051", None, "32500", "Fleurance")

    off = geocode_cli(database_url, tmp_path, "", "gers")
    assert off.returncode == 0, off.stderr
    assert "gers : géolocalisation désactivée (aucun géocodeur configuré)" in off.stdout
    assert fiche(portal, exact.id).latitude is None

    down = geocode_cli(database_url, tmp_path, f"http://127.0.0.1:{closed_port()}", "gers")
    assert down.returncode == 1 and "géocodeur injoignable" in down.stdout
    assert fiche(portal, exact.id).latitude is None

    result = geocode_cli(database_url, tmp_path, addok_url, "gers")
    assert result.returncode == 0, result.stderr
    assert "gers : 2 géolocalisée(s), dont 1 à vérifier (score faible ou commune seule) ; 0 introuvable(s) ; " \
           "sur 2 en attente" in result.stdout
    assert "2/2" in result.stderr and "#" * 25 in result.stderr
    assert fiche(portal, exact.id).position_source == "geocoder"

    unknown = geocode_cli(database_url, tmp_path, addok_url, "nulle-part")
    assert unknown.returncode != 0 and "tenant inconnu" in unknown.stderr


def test_the_staff_map_shows_both_points_without_coordinates():
    from assmat.portal.profile.svgmap import render_two_points

    svg = str(render_two_points((43.6465, 0.5855), (43.6512, 0.5921)))
    assert svg.count("<circle") == 2 and 'class="position-current"' in svg and 'class="position-requested"' in svg
    assert "43.6" not in svg and "0.58" not in svg and "0.59" not in svg  # pixel offsets only
    xs = [float(x) for x in __import__("re").findall(r'cx="([\d.]+)"', svg)]
    assert all(0 < x < 320 for x in xs) and xs[1] > xs[0]  # both on the drawing, B east of A
    alone = str(render_two_points(None, (43.6512, 0.5921)))
    assert alone.count("<circle") == 1 and 'class="position-requested"' in alone
