"""The parents' search, its SQL side (portal.directory): the search table follows every change
of a fiche, its publication and its availability in the same transaction, holds only the
public position (a hidden address: its commune's centre), and the query answers each criterion
alone and combined, ordered by distance then name, with a constant number of statements and
never another tenant's fiche. Both backends: the distance is SQL on SQLite and PostgreSQL."""

from __future__ import annotations

from collections.abc import Iterator
from contextlib import contextmanager
from datetime import UTC, date, datetime

import pytest
from sqlalchemy import event, func, select

from assmat.auth.models import Account
from assmat.core.errors import Invalid
from assmat.core.geocoding.distance import Point, grid_cell, haversine_km
from assmat.portal.agrement.models import Agrement
from assmat.portal.availability.rules import DeclarationInput, Place
from assmat.portal.availability.service import save_declaration
from assmat.portal.directory.models import DirectoryEntry
from assmat.portal.directory.service import (
    PER_PAGE,
    SOON_DAYS,
    Criteria,
    rebuild_entries,
    refresh_entry,
    search,
)
from assmat.portal.profile.models import Fiche
from assmat.portal.profile.service import save_fiche
from assmat.portal.publication.models import CONSENT, CONSENT_WITHDRAWN, OBJECTION
from assmat.portal.publication.service import record_choice, resume, suspend

pytestmark = pytest.mark.both_backends

GERS, EURE, MON_ENFANT = "gers", "eure-et-loir", "mon-enfant"
AUCH = Point(43.6465, 0.5855)  # the commune's centre in communes.csv
PAVIE = Point(43.6100, 0.5910)
CONDOM = Point(43.9580, 0.3720)
CHARTRES = Point(48.4469, 1.4892)
TODAY = date(2026, 11, 2)  # the frozen clock's day


def run(portal, work):
    async def go():
        async with portal.app.state.sessionmaker(expire_on_commit=False) as db:
            result = await work(db)
            await db.commit()
            return result

    return portal.run(go)


def assistant(portal, last_name: str, *, city: str = "Auch", postal_code: str = "32000", at: Point | None = None,
              show_address: bool = True, offers: tuple[str, ...] = (), first_name: str = "Anne",
              agrement_end: date | None = date(2030, 12, 31), choice: str | None = None) -> Account:
    """An account with a valid agrément and a fiche, straight in the database, then its entry."""
    slug, tenant = portal.slug, portal.tenant

    async def work(db):
        account = Account(tenant_id=slug, kind="assistant", identifier=f"{last_name}@example.org".lower(),
                          first_name=first_name, last_name=last_name, city=city, postal_code=postal_code,
                          address="12 rue des Lilas")
        db.add(account)
        await db.flush()
        db.add(Agrement(tenant_id=slug, account_id=account.id, number=f"A-{last_name}", start_date=date(2020, 1, 1),
                        end_date=agrement_end, capacity=3))
        db.add(Fiche(tenant_id=slug, account_id=account.id, public_id=f"pub{last_name}"[:12].ljust(12, "x"),
                     show_address=show_address, latitude=at.lat if at else None, longitude=at.lon if at else None,
                     **{f"offer_{code}": True for code in offers}))
        if choice:
            await db.flush()
            await record_choice(db, tenant, account, choice, source="staff", admin="test")
        await refresh_entry(db, tenant, account.id)
        return account

    return run(portal, work)


def declare(portal, account, *places: Place, none: bool = False) -> None:
    async def work(db):
        await save_declaration(db, portal.tenant, account, DeclarationInput(none, tuple(places), ()), ip=None)

    run(portal, work)


def find(portal, **criteria):
    return run(portal, lambda db: search(db, portal.tenant, Criteria(**criteria)))


def names(page) -> list[str]:
    return [result.name.split()[-1] for result in page.results]


def entries(portal) -> dict[int, DirectoryEntry]:
    return {entry.account_id: entry for (entry,) in portal.query(
        select(DirectoryEntry).where(DirectoryEntry.tenant_id == portal.slug))}


# -- the table ---------------------------------------------------------------------------------------

def test_an_entry_holds_the_exact_point_only_when_the_address_is_shown(portal_for, frozen_clock):
    portal = portal_for(GERS)
    shown = assistant(portal, "Shown", at=Point(43.6500, 0.5900))
    hidden = assistant(portal, "Hidden", at=Point(43.6500, 0.5900), show_address=False)
    unlocated = assistant(portal, "Unlocated", city="Nowhere", postal_code="99999")
    found = entries(portal)
    assert (found[shown.id].latitude, found[shown.id].longitude, found[shown.id].precision) == (43.65, 0.59, "address")
    # The hidden address: the commune's centre, never her own coordinates.
    assert (found[hidden.id].latitude, found[hidden.id].longitude) == (AUCH.lat, AUCH.lon)
    assert found[hidden.id].precision == "commune" and found[hidden.id].grid_cell == grid_cell(AUCH)
    assert (found[hidden.id].commune_insee, found[hidden.id].commune_name) == ("32013", "Auch")
    assert found[unlocated.id].latitude is None and found[unlocated.id].grid_cell is None
    assert found[shown.id].name_key == "anne shown"


def test_a_masked_fiche_is_measured_from_its_commune_centre(portal_for, frozen_clock):
    portal = portal_for(GERS)
    # Her real address is 300 m from the origin, her commune's centre 4 km away.
    origin = Point(43.6100, 0.5910)  # Pavie
    assistant(portal, "Masked", at=Point(43.6110, 0.5920), show_address=False)
    page = find(portal, origin=origin, radius_km=5)
    assert [r.announced_km for r in page.results] == [round(haversine_km(origin, AUCH))] == [4]
    assert page.results[0].approximate
    assert find(portal, origin=origin, radius_km=3).total == 0  # her real address would be within 1 km


def test_the_entry_follows_every_publication_change_in_the_same_transaction(portal_for, frozen_clock):
    portal = portal_for(MON_ENFANT)
    tenant = portal.tenant
    account = assistant(portal, "Consenting", city="Auch", postal_code="32000", at=AUCH)
    assert account.id not in entries(portal)  # consent regime: nothing before her consent

    async def in_one_transaction(db):
        seen = []
        present = lambda: db.scalar(select(func.count()).select_from(DirectoryEntry).where(  # noqa: E731
            DirectoryEntry.tenant_id == tenant.slug, DirectoryEntry.account_id == account.id))
        await record_choice(db, tenant, account, CONSENT, source="form")
        seen.append(await present())
        await suspend(db, tenant, account, "Contrôle en cours", by="staff@example.org")
        seen.append(await present())
        await resume(db, tenant, account, by="staff@example.org")
        seen.append(await present())
        await record_choice(db, tenant, account, CONSENT_WITHDRAWN, source="form")
        seen.append(await present())
        await record_choice(db, tenant, account, CONSENT, source="form")
        seen.append(await present())
        await db.rollback()  # and none of it stays
        seen.append(await present())
        return seen

    assert run(portal, in_one_transaction) == [1, 0, 1, 0, 1, 0]


def test_an_objecting_fiche_leaves_the_search_and_a_saved_fiche_updates_it(portal_for, frozen_clock):
    portal = portal_for(EURE)
    account = assistant(portal, "Objecting", city="Chartres", postal_code="28000", at=CHARTRES)
    assert account.id in entries(portal)

    async def save(db):
        await save_fiche(db, portal.tenant, account, {"offre-handicap": "on", "afficher-telephone": "on",
                                                      "afficher-courriel": "on"}, ip=None)

    run(portal, save)
    entry = entries(portal)[account.id]
    assert entry.offer_handicap and entry.precision == "commune"  # address no longer shown: the centre
    run(portal, lambda db: record_choice(db, portal.tenant, account, OBJECTION, source="form"))
    assert account.id not in entries(portal)


def test_the_availability_follows_the_declaration(portal_for, frozen_clock):
    portal = portal_for(GERS)
    account = assistant(portal, "Declaring", at=AUCH)
    assert entries(portal)[account.id].declaration_id is None
    declare(portal, account, Place("moins_18_mois", 1, None, None, "regulier", frozenset({(0, "matin")})))
    entry = entries(portal)[account.id]
    assert entry.declaration_id is not None and entry.valid_until > TODAY and not entry.none_available
    assert find(portal, commune="32000", age_months=6).total == 1
    declare(portal, account, none=True)
    assert entries(portal)[account.id].none_available
    assert find(portal, commune="32000", age_months=6).total == 0


def test_rebuild_gives_the_same_table_and_drops_the_unpublished(portal_for, frozen_clock):
    portal = portal_for(GERS)
    keep = assistant(portal, "Kept", at=AUCH)
    expired = assistant(portal, "Expired", at=AUCH, agrement_end=date(2026, 12, 1))
    before = {k: (e.latitude, e.longitude, e.name_key) for k, e in entries(portal).items()}
    frozen_clock.now = datetime(2026, 12, 2, 9, 0, tzinfo=UTC)  # her agrément ended yesterday
    assert names(find(portal, commune="32000")) == ["Kept"]  # hidden before any rebuild
    count = run(portal, lambda db: rebuild_entries(db, portal.tenant))
    assert count == 1 and set(entries(portal)) == {keep.id}
    assert before[keep.id] == (AUCH.lat, AUCH.lon, "anne kept") and expired.id in before


# -- the query ---------------------------------------------------------------------------------------

@pytest.fixture
def gers(portal_for, frozen_clock):
    portal = portal_for(GERS)
    near = assistant(portal, "Near", at=Point(43.6470, 0.5860), offers=("periscolaire",))
    assistant(portal, "Pavie", city="Pavie", postal_code="32550", at=PAVIE, offers=("periscolaire", "mercredi"))
    assistant(portal, "Condom", city="Condom", postal_code="32100", at=CONDOM)
    far_masked = assistant(portal, "Aubert", city="Pavie", postal_code="32550", at=Point(43.6475, 0.5865),
                           show_address=False)
    declare(portal, near, Place("moins_18_mois", 1, None, None, "regulier", frozenset({(0, "matin"), (2, "matin")})))
    declare(portal, far_masked, Place("plus_3_ans", 2, date(2026, 11, 20), None, "periscolaire",
                                      frozenset({(2, "apres_midi")})))
    return portal


def test_distance_orders_by_distance_then_name_and_rounds(gers):
    page = find(gers, origin=AUCH, radius_km=10)
    assert names(page) == ["Near", "Aubert", "Pavie"]  # Condom is 38 km away
    assert [r.announced_km for r in page.results] == [1, 4, 4]  # never 0: at least « à environ 1 km »
    assert page.total == 3 and page.page == 1 and page.pages == 1
    assert names(find(gers, origin=AUCH, radius_km=1)) == ["Near"]
    assert names(find(gers, origin=AUCH, radius_km=30))[-1] != "Condom"
    assert "Condom" in names(find(gers, origin=CONDOM, radius_km=1))


def test_each_criterion_alone(gers):
    assert names(find(gers, commune="32550")) == ["Aubert", "Pavie"]  # by postcode, ordered by name
    assert names(find(gers, commune="32107")) == ["Condom"]  # by INSEE code
    assert names(find(gers, name="PAVIÉ")) == ["Pavie"]  # no accents, no case
    assert names(find(gers, name="anne con")) == ["Condom"]
    assert names(find(gers, name="100%_")) == []  # LIKE's wildcards are plain letters
    assert names(find(gers, commune="32000", offers=frozenset({"periscolaire"}))) == ["Near"]
    assert names(find(gers, commune="32550", offers=frozenset({"periscolaire", "mercredi"}))) == ["Pavie"]


def test_age_and_start_date_pick_the_tenants_age_group(gers):
    # 6 months on 2 November: « moins de 18 mois », Near's place is free now.
    assert names(find(gers, origin=AUCH, radius_km=10, age_months=6)) == ["Near"]
    # By birth date: 4 years old on the start date.
    assert names(find(gers, origin=AUCH, radius_km=10, birth_date=date(2022, 9, 1), start=date(2026, 11, 2))) \
        == ["Aubert"]  # her place is free on 20 November: within SOON_DAYS
    assert SOON_DAYS == 31
    assert find(gers, origin=AUCH, radius_km=10, birth_date=date(2022, 9, 1), start=date(2026, 10, 1)).total == 0
    # 17 months today, starting in three months: 20 months then, no place of that group.
    assert find(gers, origin=AUCH, radius_km=10, age_months=17, start=date(2027, 2, 1)).total == 0


def test_days_and_slots_combine_with_the_rest(gers):
    assert names(find(gers, commune="32000", days=frozenset({0, 2}), slots=frozenset({"matin"}))) == ["Near"]
    assert find(gers, commune="32000", days=frozenset({1})).total == 0
    assert names(find(gers, origin=AUCH, radius_km=10, slots=frozenset({"apres_midi"}))) == ["Aubert"]
    combined = find(gers, origin=AUCH, radius_km=5, age_months=6, days=frozenset({0}), slots=frozenset({"matin"}),
                    offers=frozenset({"periscolaire"}), name="near")
    assert names(combined) == ["Near"] and combined.results[0].places[0].age_group == "moins_18_mois"


def test_a_stale_declaration_matches_no_availability_filter(gers, frozen_clock):
    frozen_clock.now = datetime(2027, 6, 1, 9, 0, tzinfo=UTC)  # past the 6 months of validity
    assert find(gers, commune="32000", age_months=12).total == 0
    page = find(gers, commune="32000")
    assert names(page) == ["Near"] and page.results[0].stale and page.results[0].places == ()


def test_bad_criteria_are_refused_in_french_words(gers):
    for criteria, field in [
        ({"origin": AUCH, "radius_km": 7}, "rayon"), ({"radius_km": 5, "commune": "32000"}, "rayon"),
        ({"commune": "32'; --"}, "commune"), ({"name": "a"}, "nom"), ({"commune": "32000", "age_months": -1}, "age"),
        ({"commune": "32000", "days": frozenset({9})}, "jours"), ({"commune": "32000", "slots": frozenset({"x"})}, "creneaux"),
        ({"commune": "32000", "offers": frozenset({"x"})}, "accueil"), ({"commune": "32000", "page": 0}, "page"),
        ({}, "commune"), ({"origin": Point(float("nan"), 0), "radius_km": 5}, "origine"),
    ]:
        with pytest.raises(Invalid) as caught:
            find(gers, **criteria)
        assert field in caught.value.field_errors, criteria


@contextmanager
def search_statements(portal) -> Iterator[list[str]]:
    """The search's statements run inside the block: those on its tables (the in-process mail
    sender's purge runs on the same engine, at any moment)."""
    statements: list[str] = []
    engine = portal.app.state.sessionmaker.kw["bind"].sync_engine

    def listener(conn, cursor, statement, *args) -> None:
        if "directory_entries" in statement or "availability_places" in statement:
            statements.append(statement)

    event.listen(engine, "before_cursor_execute", listener)
    try:
        yield statements
    finally:
        event.remove(engine, "before_cursor_execute", listener)


def test_paging_and_a_constant_number_of_statements(portal_for, frozen_clock):
    portal = portal_for(GERS)
    for index in range(PER_PAGE + 3):
        assistant(portal, f"P{index:02d}", at=Point(AUCH.lat + index / 1000, AUCH.lon))
    with search_statements(portal) as statements:
        first = find(portal, origin=AUCH, radius_km=5, age_months=6)
        in_first = len(statements)
        second = find(portal, origin=AUCH, radius_km=5, page=2)
    assert first.total == 0  # nobody declared a place
    page_one = find(portal, origin=AUCH, radius_km=5)
    assert len(page_one.results) == PER_PAGE and page_one.total == PER_PAGE + 3 and page_one.pages == 2
    assert names(second) == ["P20", "P21", "P22"]
    assert in_first <= 3 and len(statements) - in_first <= 3  # count, page, places: not one per result


def test_tenants_never_mix(portal_for, frozen_clock):
    gers, eure = portal_for(GERS), portal_for(EURE)
    assistant(gers, "Gascon", at=AUCH)
    assistant(eure, "Beauceron", city="Chartres", postal_code="28000", at=CHARTRES)
    assert names(find(gers, origin=CHARTRES, radius_km=30)) == []
    assert names(find(eure, origin=AUCH, radius_km=30)) == []
    assert names(find(eure, name="anne")) == ["Beauceron"]
    assert names(find(gers, name="anne")) == ["Gascon"]
    run(eure, lambda db: rebuild_entries(db, eure.tenant))
    assert names(find(gers, name="anne")) == ["Gascon"]  # rebuilding one tenant leaves the other


def test_the_import_rewrites_the_entries_it_touches(portal_for, frozen_clock):
    from assmat.portal.imports.service import import_assistants
    from tests.admin.test_import import csv_bytes, row

    portal = portal_for(EURE)

    def import_file(*rows, dry_run=False):
        return run(portal, lambda db: import_assistants(db, portal.tenant, csv_bytes(*rows), "mensuel.csv",
                                                        dry_run=dry_run, by="agent@example.org"))

    import_file(row("280001", "Beauce", postal="28000", city="Chartres"))
    ((account,),) = portal.query(select(Account).where(Account.tenant_id == portal.slug))
    assert entries(portal) == {}  # no fiche yet: nothing to find

    async def add_fiche(db):
        db.add(Fiche(tenant_id=portal.slug, account_id=account.id, public_id="imported0001", show_address=False))
        await refresh_entry(db, portal.tenant, account.id)

    run(portal, add_fiche)
    assert entries(portal)[account.id].commune_name == "Chartres"
    import_file(row("280001", "Beauce", postal="28110", city="Lucé"), dry_run=True)
    assert entries(portal)[account.id].commune_name == "Chartres"  # a dry run changes nothing
    import_file(row("280001", "Beauce", postal="28110", city="Lucé"))
    moved = entries(portal)[account.id]
    assert (moved.commune_insee, moved.latitude, moved.longitude) == ("28218", 48.4380, 1.4650)
    import_file(row("280001", "Beauce", postal="28110", city="Lucé", publication="non"))  # she objects
    assert entries(portal) == {}


def test_past_the_count_cap_the_page_comes_from_a_smaller_ring_and_is_the_same(portal_for, frozen_clock,
                                                                               monkeypatch):
    from assmat.portal.directory import service

    portal = portal_for(GERS)
    for index in range(PER_PAGE + 5):  # 25 fiches from 0 to about 7 km north of Auch
        assistant(portal, f"R{index:02d}", at=Point(AUCH.lat + index * 0.0025, AUCH.lon))
    assistant(portal, "Condom", city="Condom", postal_code="32100", at=CONDOM)
    exact = [find(portal, origin=AUCH, radius_km=30, page=page) for page in (1, 2)]
    assert exact[0].total == PER_PAGE + 5 and not exact[0].more  # Condom is 38 km away
    monkeypatch.setattr(service, "COUNT_CAP", 10)
    with search_statements(portal) as statements:
        capped = [find(portal, origin=AUCH, radius_km=30, page=page) for page in (1, 2)]
    assert capped[0].total == 10 and capped[0].more and capped[0].pages == 1
    assert [names(page) for page in capped] == [names(page) for page in exact]
    assert [r.announced_km for r in capped[1].results] == [r.announced_km for r in exact[1].results]
    assert len(statements) <= 2 * (3 + 5)  # per search: the count, five rings at most, the page, its places
