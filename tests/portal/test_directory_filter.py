"""The search's availability filter (the places kept in `directory_entry_places`, the weekly
grid as a bitmask) against a plain Python reading of availability's own rows, over random
declarations and random criteria, on both backends: the same assistants, every time."""

from __future__ import annotations

import random
from datetime import date, timedelta

import pytest

from assmat.portal.availability.models import AvailabilityDeclaration, AvailablePlace, AvailableSlot
from assmat.portal.directory.service import SOON_DAYS, Criteria, age_at_start, age_group_for, refresh_entry
from tests.portal.test_directory import AUCH, CONDOM, GERS, TODAY, assistant, find, names, run

pytestmark = pytest.mark.both_backends


def declare_rows(portal, account, declaration: dict) -> None:
    """The declaration written as it is stored (any dates, stale or not), then her entry."""
    slug = portal.slug

    async def work(db):
        row = AvailabilityDeclaration(tenant_id=slug, account_id=account.id, declared_on=TODAY,
                                      valid_until=declaration["valid_until"], none_available=declaration["none"])
        db.add(row)
        await db.flush()
        for position, (group, free_from, free_until, cells) in enumerate(declaration["places"]):
            place = AvailablePlace(tenant_id=slug, declaration_id=row.id, position=position, age_group=group,
                                   places=1, free_from=free_from, free_until=free_until, kind="regulier")
            db.add(place)
            await db.flush()
            db.add_all(AvailableSlot(tenant_id=slug, place_id=place.id, weekday=day, slot=slot) for day, slot in cells)
        await refresh_entry(db, portal.tenant, account.id)

    run(portal, work)


def expected(tenant, declaration: dict | None, criteria: Criteria) -> bool:
    """The rule in plain words: a place of her current, valid declaration, of the child's age
    group, free at the start date or within SOON_DAYS after, with every day × slot asked."""
    months = age_at_start(criteria, TODAY)
    group = age_group_for(tenant, months) if months is not None else None
    if group is None and criteria.start is None and not criteria.days and not criteria.slots:
        return True
    if declaration is None or declaration["none"] or declaration["valid_until"] < TODAY:
        return False
    start = criteria.start or TODAY
    for place_group, free_from, free_until, cells in declaration["places"]:
        if group is not None and place_group != group:
            continue
        if (free_from is not None and free_from > start + timedelta(days=SOON_DAYS)) \
                or (free_until is not None and free_until < start):
            continue
        if criteria.days and criteria.slots:
            grid = all((day, slot) in cells for day in criteria.days for slot in criteria.slots)
        else:
            grid = all(any(cell[0] == day for cell in cells) for day in criteria.days) \
                and all(any(cell[1] == slot for cell in cells) for slot in criteria.slots)
        if grid:
            return True
    return False


def test_the_filter_agrees_with_a_plain_reading_over_random_data(portal_for, frozen_clock):
    portal = portal_for(GERS)
    tenant = portal.tenant
    groups = [group.code for group in tenant.config.availability.age_groups]
    slots = [slot.code for slot in tenant.config.availability.time_slots]
    rng = random.Random(19)

    def some_date(first: int, last: int) -> date | None:
        return None if rng.random() < 0.4 else TODAY + timedelta(days=rng.randrange(first, last))

    declared: dict[str, dict | None] = {}
    in_auch: set[str] = set()
    for index in range(30):
        name = f"Z{index:02d}"
        if index % 3:  # two in Auch, one in Condom (38 km away)
            account = assistant(portal, name, at=AUCH)
            in_auch.add(name)
        else:
            account = assistant(portal, name, city="Condom", postal_code="32100", at=CONDOM)
        if rng.random() < 0.15:
            declared[name] = None
            continue
        declaration = {
            "none": rng.random() < 0.1,
            "valid_until": TODAY + timedelta(days=rng.choice((-1, 0, 30, 180))),
            "places": [(rng.choice(groups), some_date(-20, 90), some_date(0, 120),
                        frozenset((rng.randrange(7), rng.choice(slots)) for _ in range(rng.randrange(0, 8))))
                       for _ in range(rng.randrange(0, 4))],
        }
        declared[name] = declaration
        declare_rows(portal, account, declaration)

    outcomes = set()
    for _ in range(80):
        # By commune (one EXISTS per entry) or by distance (the places of the box first).
        asked: dict = rng.choice(({"commune": "32000"}, {"origin": AUCH, "radius_km": 5},
                                  {"origin": CONDOM, "radius_km": 10}))
        there = {name for name in declared if (name in in_auch) == (asked.get("origin", AUCH) == AUCH)}
        if rng.random() < 0.6:
            asked["age_months"] = rng.randrange(0, 60)
        if rng.random() < 0.5:
            asked["start"] = TODAY + timedelta(days=rng.randrange(-5, 150))
        asked["days"] = frozenset(rng.sample(range(7), rng.choice((0, 0, 1, 2))))
        asked["slots"] = frozenset(rng.sample(slots, rng.choice((0, 0, 1, 2))))
        criteria = Criteria(**asked)
        found = sorted(names(find(portal, **asked)) + names(find(portal, **asked, page=2)))
        wanted = sorted(name for name, declaration in declared.items()
                        if name in there and expected(tenant, declaration, criteria))
        assert found == wanted, asked
        outcomes.add(0 < len(wanted) < len(there))
    assert outcomes == {True, False}  # some criteria pick a few, others all or none
