"""The rules of availability as pure functions (no database, today injected): the three views of
seed 004, the 6-month validity of the décret 2021-1131, future dates and dated exceptions, and the
reading of the form."""

from __future__ import annotations

from datetime import date

import pytest

from assmat.portal.availability.rules import (
    DatedException,
    Declared,
    InvalidAvailability,
    Place,
    add_months,
    availability_state,
    january_september,
    monthly_view,
    validate_declaration,
    views_of,
    weekly_view,
)
from assmat.tenants.schema import AvailabilitySettings

SETTINGS = AvailabilitySettings()
TODAY = date(2026, 11, 4)  # a Wednesday
MORNINGS = frozenset({(0, "matin"), (1, "matin"), (2, "matin")})


def declared(*places: Place, none: bool = False, on: date = date(2026, 10, 1), exceptions=()) -> Declared:
    return Declared(on, add_months(on, 6), none, tuple(places), tuple(exceptions))


def place(free_from: date | None = None, free_until: date | None = None, slots=MORNINGS, group="moins_18_mois") -> Place:
    return Place(group, 1, free_from, free_until, "regulier", slots)


# -- global ----------------------------------------------------------------------------------------


def test_never_declared_is_grey_not_provided():
    state = availability_state(None, TODAY, 6)
    assert (state.code, state.colour, state.label) == ("unknown", "grey", "Disponibilités non renseignées")


def test_a_place_now_is_green():
    state = availability_state(declared(place()), TODAY, 6)
    assert (state.code, state.colour, state.label) == ("now", "green", "Place disponible maintenant")


def test_a_place_that_began_is_now_and_a_future_one_is_from_its_date():
    assert availability_state(declared(place(date(2026, 11, 4))), TODAY, 6).code == "now"
    state = availability_state(declared(place(date(2027, 1, 4)), place(date(2026, 12, 1))), TODAY, 6)
    assert (state.code, state.colour, state.since) == ("from", "green", date(2026, 12, 1))
    assert state.label == "Place disponible à partir du 01/12/2026"


def test_no_availability_and_ended_places_are_red():
    assert availability_state(declared(none=True), TODAY, 6).label == "Pas de disponibilité"
    ended = availability_state(declared(place(free_until=date(2026, 11, 3))), TODAY, 6)
    assert (ended.code, ended.colour) == ("none", "red")


def test_out_of_date_after_six_months_is_grey():
    on = date(2026, 5, 4)
    assert add_months(on, 6) == date(2026, 11, 4)
    assert availability_state(declared(place(), on=on), date(2026, 11, 4), 6).code == "now"  # its last valid day
    state = availability_state(declared(place(), on=on), date(2026, 11, 5), 6)
    assert (state.code, state.colour) == ("stale", "grey")
    assert state.label == "Disponibilités non mises à jour depuis plus de 6 mois"
    assert availability_state(declared(none=True, on=on), date(2026, 11, 5), 6).code == "stale"


def test_add_months_keeps_the_end_of_shorter_months():
    assert add_months(date(2026, 8, 31), 6) == date(2027, 2, 28)
    assert add_months(date(2027, 8, 31), 6) == date(2028, 2, 29)
    assert add_months(date(2026, 12, 15), -1) == date(2026, 11, 15)


# -- weekly ----------------------------------------------------------------------------------------


def free_cells(week) -> set[tuple[date, str]]:
    return {(day, row.code) for row in week.rows for day, free in zip(week.days, row.free) if free}


def test_four_weeks_from_the_current_monday_with_past_days_not_free():
    weeks = weekly_view(declared(place()), SETTINGS.time_slots, TODAY)
    assert [week.monday for week in weeks] == [date(2026, 11, 2), date(2026, 11, 9), date(2026, 11, 16), date(2026, 11, 23)]
    assert weeks[0].columns[0] == "lun. 02/11"
    # Monday 2 and Tuesday 3 are past; Wednesday 4 is today.
    assert free_cells(weeks[0]) == {(date(2026, 11, 4), "matin")}
    assert free_cells(weeks[1]) == {(date(2026, 11, 9), "matin"), (date(2026, 11, 10), "matin"), (date(2026, 11, 11), "matin")}


def test_a_future_place_is_free_from_its_date_until_its_end():
    weeks = weekly_view(declared(place(date(2026, 11, 17), date(2026, 11, 24))), SETTINGS.time_slots, TODAY)
    assert free_cells(weeks[1]) == set()
    assert free_cells(weeks[2]) == {(date(2026, 11, 17), "matin"), (date(2026, 11, 18), "matin")}
    assert free_cells(weeks[3]) == {(date(2026, 11, 23), "matin"), (date(2026, 11, 24), "matin")}


def test_dated_exceptions_apply_to_their_day_and_slot():
    exceptions = (
        DatedException(date(2026, 11, 9), None, False),  # a day off
        DatedException(date(2026, 11, 10), "apres_midi", True),  # an afternoon offered once
        DatedException(date(2026, 11, 11), None, False),
        DatedException(date(2026, 11, 11), "matin", True),  # the slot's own exception wins over the day's
    )
    weeks = weekly_view(declared(place(), exceptions=exceptions), SETTINGS.time_slots, TODAY)
    assert free_cells(weeks[1]) == {(date(2026, 11, 10), "matin"), (date(2026, 11, 10), "apres_midi"),
                                    (date(2026, 11, 11), "matin")}


def test_no_weeks_when_red_grey_or_out_of_date():
    assert weekly_view(None, SETTINGS.time_slots, TODAY) == []
    assert weekly_view(declared(none=True), SETTINGS.time_slots, TODAY) == []
    assert weekly_view(declared(place(), on=date(2026, 1, 1)), SETTINGS.time_slots, TODAY) == []


# -- January and September -------------------------------------------------------------------------


@pytest.mark.parametrize(("today", "months"), [
    (date(2016, 10, 12), (date(2017, 1, 1), date(2017, 9, 1))),  # the seed's example
    (date(2027, 1, 15), (date(2027, 9, 1), date(2028, 1, 1))),  # in January: that January has begun
    (date(2027, 1, 1), (date(2027, 9, 1), date(2028, 1, 1))),
    (date(2027, 9, 1), (date(2028, 1, 1), date(2028, 9, 1))),  # in September: that September has begun
    (date(2027, 9, 30), (date(2028, 1, 1), date(2028, 9, 1))),
    (date(2026, 12, 31), (date(2027, 1, 1), date(2027, 9, 1))),  # in December: the coming ones
    (date(2026, 12, 1), (date(2027, 1, 1), date(2027, 9, 1))),
    (date(2027, 8, 31), (date(2027, 9, 1), date(2028, 1, 1))),
])
def test_the_next_january_and_september(today, months):
    assert january_september(today) == months


def test_monthly_tables_hold_the_places_open_during_the_month():
    later = place(date(2027, 8, 20), slots=frozenset({(2, "midi")}), group="plus_3_ans")
    ends = place(None, date(2026, 12, 31))
    tables = monthly_view(declared(place(), later, ends), SETTINGS, date(2026, 12, 10))
    assert [table.title for table in tables] == ["Janvier 2027", "Septembre 2027"]
    january, september = tables
    assert [line.age_group for line in january.places] == ["Moins de 18 mois"]
    assert [line.age_group for line in september.places] == ["Moins de 18 mois", "Plus de 3 ans"]
    september_free = {(row.code, day) for row in september.rows for day, free in enumerate(row.free) if free}
    assert september_free == {("matin", 0), ("matin", 1), ("matin", 2), ("midi", 2)}


def test_the_views_follow_the_tenant_forms():
    only_global = views_of(declared(place()), ["global"], SETTINGS, TODAY)
    assert only_global.weeks == () and only_global.months == () and only_global.state.code == "now"
    three = views_of(declared(place()), ["global", "weekly", "january_september"], SETTINGS, TODAY)
    assert len(three.weeks) == 4 and len(three.months) == 2


# -- the form --------------------------------------------------------------------------------------


def test_a_start_today_or_earlier_is_stored_as_now():
    data = validate_declaration({"place-0-tranche": "moins_18_mois", "place-0-nombre": "2", "place-0-debut": "01/11/2026",
                                 "place-0-type": "occasionnel", "place-0-j4-soir": "1"}, SETTINGS, TODAY)
    assert data.places == (Place("moins_18_mois", 2, None, None, "occasionnel", frozenset({(4, "soir")})),)


def test_an_end_already_past_is_refused_and_past_exceptions_are_dropped():
    with pytest.raises(InvalidAvailability) as refused:
        validate_declaration({"place-0-tranche": "moins_18_mois", "place-0-nombre": "1", "place-0-fin": "03/11/2026",
                              "place-0-type": "regulier", "place-0-j0-matin": "1"}, SETTINGS, TODAY)
    assert refused.value.field_errors == {"place-0-fin": "La date de fin est déjà passée."}
    data = validate_declaration({"aucune-disponibilite": "1", "exception-0-date": "01/11/2026",
                                 "exception-0-creneau": "journee", "exception-0-etat": "indisponible"}, SETTINGS, TODAY)
    assert data.none_available and data.exceptions == ()
