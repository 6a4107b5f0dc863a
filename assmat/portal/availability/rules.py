"""The rules of availability, without a database: reading the form, and the three views
(global, weekly, January and September) as pure functions of a declaration and today.

Seed 004 (mon-enfant.fr, « Etape 2 : Renseignez vos disponibilités ») is the model: the
assistant chooses how precisely families see her availability (a pictogram, a weekly calendar
by time slot over 4 weeks, or monthly tables for January and September); the décret 2021-1131
is the rule: she declares her availabilities and the declaration is valid for 6 months (the
tenant's `availability.validity_months`), after which it shows as out of date."""

from __future__ import annotations

import calendar
import re
from collections.abc import Iterable, Mapping, Sequence
from dataclasses import dataclass, field
from datetime import date, timedelta

from assmat.core.dates import parse_french_date
from assmat.core.errors import Invalid
from assmat.core.i18n import gettext as _
from assmat.tenants.schema import AvailabilitySettings

KINDS = ("regulier", "periscolaire", "occasionnel")
WEEKDAYS = range(7)  # 0 = Monday … 6 = Sunday, as date.weekday()
MAX_PLACES_PER_ROW = 6  # an agrément is for 6 children at most
MAX_PLACE_ROWS = 12
MAX_EXCEPTION_ROWS = 30
WEEKS_SHOWN = 4  # seed 004: « 4 semaines consécutives »
WHOLE_DAY = "journee"  # the exception's slot field for « toute la journée »

PLACE_FIELD = re.compile(r"^place-(\d{1,2})-(.+)$")
EXCEPTION_FIELD = re.compile(r"^exception-(\d{1,2})-(.+)$")
GRID_FIELD = re.compile(r"^j(\d)-(.+)$")


def kind_label(kind: str) -> str:
    return {"regulier": _("Regular"), "periscolaire": _("Out-of-school"), "occasionnel": _("Occasional")}.get(kind, kind)


def weekday_name(weekday: int) -> str:
    return (_("Monday"), _("Tuesday"), _("Wednesday"), _("Thursday"), _("Friday"), _("Saturday"), _("Sunday"))[weekday]


def weekday_short(weekday: int) -> str:
    return (_("Mon."), _("Tue."), _("Wed."), _("Thu."), _("Fri."), _("Sat."), _("Sun."))[weekday]


def month_name(month: int) -> str:
    return (_("January"), _("February"), _("March"), _("April"), _("May"), _("June"), _("July"), _("August"),
            _("September"), _("October"), _("November"), _("December"))[month - 1]


def french(day: date) -> str:
    return day.strftime("%d/%m/%Y")


def add_months(day: date, months: int) -> date:
    """`day` moved by whole months, on the last day of the month when that month is shorter
    (31 August + 6 months = 28 or 29 February)."""
    index = day.year * 12 + day.month - 1 + months
    year, month = divmod(index, 12)
    return date(year, month + 1, min(day.day, calendar.monthrange(year, month + 1)[1]))


# -- the declaration -------------------------------------------------------------------------------


@dataclass(frozen=True)
class Place:
    age_group: str
    places: int
    free_from: date | None  # None: « maintenant »
    free_until: date | None
    kind: str
    slots: frozenset[tuple[int, str]] = frozenset()  # (weekday, slot code)

    def active_on(self, day: date) -> bool:
        return (self.free_from is None or self.free_from <= day) and (self.free_until is None or day <= self.free_until)

    def active_between(self, first: date, last: date) -> bool:
        return (self.free_from is None or self.free_from <= last) and (self.free_until is None or first <= self.free_until)


@dataclass(frozen=True)
class DatedException:
    day: date
    slot: str | None  # None: the whole day
    available: bool


@dataclass(frozen=True)
class Declared:
    """A declaration as the views read it (stored, or just validated)."""

    declared_on: date
    valid_until: date
    none_available: bool
    places: tuple[Place, ...] = ()
    exceptions: tuple[DatedException, ...] = ()

    def out_of_date(self, today: date) -> bool:
        return today > self.valid_until


@dataclass(frozen=True)
class DeclarationInput:
    none_available: bool
    places: tuple[Place, ...]
    exceptions: tuple[DatedException, ...]


class InvalidAvailability(Invalid):
    """The form refused: a message per field, and the page's banner; nothing is saved."""

    def __init__(self, field_errors: dict[str, str], banner: list[str]):
        super().__init__(_("The form contains errors: see the messages under the fields concerned."), field_errors)
        self.banner = banner


def row_indexes(values: Mapping[str, str], pattern: re.Pattern[str]) -> list[int]:
    return sorted({int(match.group(1)) for key in values if (match := pattern.match(key))})


def _place(values: Mapping[str, str], index: int, settings: AvailabilitySettings, today: date,
           errors: dict[str, str]) -> Place | None:
    prefix = f"place-{index}-"
    value = {name: values.get(prefix + name, "").strip() for name in ("tranche", "nombre", "debut", "fin", "type")}
    ticked = [match for key in values if key.startswith(prefix) and (match := GRID_FIELD.match(key[len(prefix):]))]
    if values.get(prefix + "retirer") or not (value["tranche"] or value["nombre"] or value["debut"] or value["fin"] or ticked):
        return None  # removed, or a blank row
    codes = {group.code for group in settings.age_groups}
    if value["tranche"] not in codes:
        errors[prefix + "tranche"] = _("Choose an age group from the list.")
    number = int(value["nombre"]) if value["nombre"].isdigit() else 0
    if not 1 <= number <= MAX_PLACES_PER_ROW:
        errors[prefix + "nombre"] = _("Enter a number of places between 1 and %(max)d.") % {"max": MAX_PLACES_PER_ROW}
    start = parse_french_date(value["debut"])
    if value["debut"] and start is None:
        errors[prefix + "debut"] = _("Enter the date as DD/MM/YYYY.")
    end = parse_french_date(value["fin"])
    if value["fin"] and end is None:
        errors[prefix + "fin"] = _("Enter the date as DD/MM/YYYY.")
    elif end is not None and end < max(start or today, today):
        errors[prefix + "fin"] = (_("The end date must follow the start date.") if start and end < start
                                  else _("The end date has already passed."))
    if value["type"] not in KINDS:
        errors[prefix + "type"] = _("Choose a kind of care from the list.")
    slot_codes = {slot.code for slot in settings.time_slots}
    slots = set()
    for match in ticked:
        weekday, slot = int(match.group(1)), match.group(2)
        if weekday not in WEEKDAYS or slot not in slot_codes:
            errors[prefix + "grille"] = _("Unknown time slot: tick the boxes of the grid.")
        else:
            slots.add((weekday, slot))
    if not slots and prefix + "grille" not in errors:
        errors[prefix + "grille"] = _("Tick at least one time slot for this place.")
    # « maintenant » is stored as no date: a start today or earlier is now.
    return Place(value["tranche"], number, start if start and start > today else None, end, value["type"],
                 frozenset(slots))


def _exception(values: Mapping[str, str], index: int, settings: AvailabilitySettings, today: date,
               errors: dict[str, str]) -> DatedException | None:
    prefix = f"exception-{index}-"
    day_text = values.get(prefix + "date", "").strip()
    if values.get(prefix + "retirer") or not day_text:
        return None
    day = parse_french_date(day_text)
    if day is None:
        errors[prefix + "date"] = _("Enter the date as DD/MM/YYYY.")
    slot = values.get(prefix + "creneau", WHOLE_DAY)
    if slot != WHOLE_DAY and slot not in {s.code for s in settings.time_slots}:
        errors[prefix + "creneau"] = _("Choose a time slot from the list.")
    state = values.get(prefix + "etat", "")
    if state not in ("indisponible", "disponible"):
        errors[prefix + "etat"] = _("Choose available or unavailable.")
    if day is None or day < today:
        return None  # a past exception no view shows any more: dropped when saving again
    return DatedException(day, None if slot == WHOLE_DAY else slot, state == "disponible")


def validate_declaration(values: Mapping[str, str], settings: AvailabilitySettings, today: date) -> DeclarationInput:
    """The posted form as a declaration, or InvalidAvailability with every field's message."""
    errors: dict[str, str] = {}
    place_rows = row_indexes(values, PLACE_FIELD)
    exception_rows = row_indexes(values, EXCEPTION_FIELD)
    if len(place_rows) > MAX_PLACE_ROWS + 1 or len(exception_rows) > MAX_EXCEPTION_ROWS + 1:
        raise InvalidAvailability({}, [_("Too many rows: %(max)d places at most.") % {"max": MAX_PLACE_ROWS}])
    places = [place for index in place_rows if (place := _place(values, index, settings, today, errors))]
    exceptions = [found for index in exception_rows if (found := _exception(values, index, settings, today, errors))]
    none_available = bool(values.get("aucune-disponibilite"))
    banner = []
    if none_available and places:
        banner.append(_("You ticked « No availability »: remove the places, or untick this box."))
    elif not none_available and not places and not errors:
        banner.append(_("Declare at least one place, or tick « No availability »."))
    if len(places) > MAX_PLACE_ROWS:
        banner.append(_("Too many rows: %(max)d places at most.") % {"max": MAX_PLACE_ROWS})
    if errors or banner:
        raise InvalidAvailability(errors, banner)
    return DeclarationInput(none_available, tuple(places), tuple(exceptions))


# -- the three views -------------------------------------------------------------------------------


@dataclass(frozen=True)
class GlobalState:
    """The pictogram of seed 004: green (a place now, or from a date), red (« Pas de
    disponibilité »), grey (not declared, or out of date). `label` always says it in words."""

    code: str  # now | from | none | unknown | stale
    label: str
    colour: str  # green | red | grey
    since: date | None = None


def availability_state(declared: Declared | None, today: date, validity_months: int) -> GlobalState:
    if declared is None:
        return GlobalState("unknown", _("Availability not provided"), "grey")
    if declared.out_of_date(today):
        return GlobalState("stale", _("Availability not updated for more than %(months)d months") % {"months": validity_months},
                           "grey")
    open_places = [place for place in declared.places if place.free_until is None or place.free_until >= today]
    if declared.none_available or not open_places:
        return GlobalState("none", _("No availability"), "red")
    if any(place.active_on(today) for place in open_places):
        return GlobalState("now", _("Place available now"), "green")
    first = min(place.free_from for place in open_places if place.free_from is not None)
    return GlobalState("from", _("Place available from %(date)s") % {"date": french(first)}, "green", first)


def availability_label(declared: Declared | None, today: date, validity_months: int) -> str:
    return availability_state(declared, today, validity_months).label


@dataclass(frozen=True)
class SlotRow:
    code: str
    label: str
    free: tuple[bool, ...]  # one per column (day, or weekday)


@dataclass(frozen=True)
class WeekTable:
    monday: date
    days: tuple[date, ...]
    columns: tuple[str, ...]  # « lun. 30/11 »
    rows: tuple[SlotRow, ...]


def _slot_free(declared: Declared, day: date, slot: str, today: date) -> bool:
    """Free on that day and slot: a place active that day has the slot in its grid, unless a
    dated exception says otherwise (a slot's own exception wins over the whole day's)."""
    if day < today:
        return False
    own = [e for e in declared.exceptions if e.day == day and e.slot == slot]
    whole = [e for e in declared.exceptions if e.day == day and e.slot is None]
    if own or whole:
        return (own or whole)[-1].available
    return any(place.active_on(day) and (day.weekday(), slot) in place.slots for place in declared.places)


def weekly_view(declared: Declared | None, slots: Sequence, today: date) -> list[WeekTable]:
    """4 consecutive weeks from the current week's Monday, per time slot and day (seed 004);
    days already past are not free. Nothing for an undeclared, red or out-of-date declaration."""
    if declared is None or declared.out_of_date(today) or declared.none_available:
        return []
    first_monday = today - timedelta(days=today.weekday())
    weeks = []
    for week in range(WEEKS_SHOWN):
        monday = first_monday + timedelta(weeks=week)
        days = tuple(monday + timedelta(days=offset) for offset in WEEKDAYS)
        rows = tuple(SlotRow(slot.code, slot.label, tuple(_slot_free(declared, day, slot.code, today) for day in days))
                     for slot in slots)
        columns = tuple(f"{weekday_short(day.weekday())} {day.strftime('%d/%m')}" for day in days)
        weeks.append(WeekTable(monday, days, columns, rows))
    return weeks


def january_september(today: date) -> tuple[date, date]:
    """The first days of the next January and the next September, in date order.

    « Next » means a month that has not begun yet: families look « bien en amont de leur
    reprise d'activité » (seed 004), so a month already under way is no longer shown. The
    seed's own example holds: « pour une connexion en octobre 2016, les tableaux
    correspondants aux mois de janvier 2017 et septembre 2017 s'affichent ». Hence:
    in January 2027 → September 2027 and January 2028; in September 2027 → January 2028 and
    September 2028; in December 2026 → January 2027 and September 2027."""
    january = date(today.year + 1, 1, 1)  # today is in January or later: this year's has begun
    september = date(today.year if today.month < 9 else today.year + 1, 9, 1)
    return tuple(sorted((january, september)))  # type: ignore[return-value]


@dataclass(frozen=True)
class PlaceLine:
    age_group: str
    places: int
    free_from: date | None
    free_until: date | None
    kind: str


@dataclass(frozen=True)
class MonthTable:
    """A month's table: the places open during the month, and their usual week by time slot."""

    first_day: date
    title: str
    places: tuple[PlaceLine, ...]
    rows: tuple[SlotRow, ...]  # one column per weekday


def _line(place: Place, age_labels: Mapping[str, str]) -> PlaceLine:
    return PlaceLine(age_labels.get(place.age_group, place.age_group), place.places, place.free_from, place.free_until,
                     kind_label(place.kind))


def monthly_view(declared: Declared | None, settings: AvailabilitySettings, today: date) -> list[MonthTable]:
    """The tables of the next January and September (january_september): the places open at
    some point of the month, and the weekdays and slots they offer."""
    if declared is None or declared.out_of_date(today) or declared.none_available:
        return []
    age_labels = {group.code: group.label for group in settings.age_groups}
    tables = []
    for first in january_september(today):
        last = first.replace(day=calendar.monthrange(first.year, first.month)[1])
        open_places = [place for place in declared.places if place.active_between(first, last)]
        rows = tuple(SlotRow(slot.code, slot.label, tuple(
            any((weekday, slot.code) in place.slots for place in open_places) for weekday in WEEKDAYS
        )) for slot in settings.time_slots)
        tables.append(MonthTable(first, f"{month_name(first.month)} {first.year}",
                                 tuple(_line(place, age_labels) for place in open_places), rows))
    return tables


def current_places(declared: Declared | None, settings: AvailabilitySettings, today: date) -> list[PlaceLine]:
    """The places not yet ended, for the summary under the pictogram."""
    if declared is None or declared.out_of_date(today) or declared.none_available:
        return []
    age_labels = {group.code: group.label for group in settings.age_groups}
    return [_line(place, age_labels) for place in declared.places if place.free_until is None or place.free_until >= today]


def form_values(declared: Declared | None) -> dict[str, str]:
    """The form's fields as stored: what the page shows first."""
    if declared is None:
        return {}
    values: dict[str, str] = {"aucune-disponibilite": "1" if declared.none_available else ""}
    for index, place in enumerate(declared.places):
        prefix = f"place-{index}-"
        values.update({prefix + "tranche": place.age_group, prefix + "nombre": str(place.places),
                       prefix + "debut": french(place.free_from) if place.free_from else "",
                       prefix + "fin": french(place.free_until) if place.free_until else "", prefix + "type": place.kind})
        values.update({f"{prefix}j{weekday}-{slot}": "1" for weekday, slot in place.slots})
    for index, exception in enumerate(declared.exceptions):
        prefix = f"exception-{index}-"
        values.update({prefix + "date": french(exception.day), prefix + "creneau": exception.slot or WHOLE_DAY,
                       prefix + "etat": "disponible" if exception.available else "indisponible"})
    return values


def shown_rows(values: Mapping[str, str], kind: str, extra: int, limit: int) -> list[int]:
    """Row indexes to show: the posted (or stored) ones but the removed, then `extra` blank ones."""
    posted = row_indexes(values, PLACE_FIELD if kind == "place" else EXCEPTION_FIELD)
    rows = [index for index in posted if not values.get(f"{kind}-{index}-retirer")][:limit]
    next_index = max(posted) + 1 if posted else 0
    for _unused in range(extra):
        if len(rows) >= limit or next_index > 99:
            break
        rows.append(next_index)
        next_index += 1
    return rows


@dataclass(frozen=True)
class PublicAvailability:
    """What a page shows of a declaration, in the tenant's forms: availability only, nothing
    else about the assistant (the public fiche includes it as is)."""

    forms: tuple[str, ...]
    state: GlobalState
    places: tuple[PlaceLine, ...] = ()
    weeks: tuple[WeekTable, ...] = ()
    months: tuple[MonthTable, ...] = ()
    weekdays: tuple[str, ...] = field(default_factory=tuple)
    declared_on: date | None = None
    valid_until: date | None = None


def views_of(declared: Declared | None, forms: Iterable[str], settings: AvailabilitySettings, today: date) -> PublicAvailability:
    forms = tuple(forms)
    return PublicAvailability(
        forms=forms,
        state=availability_state(declared, today, settings.validity_months),
        places=tuple(current_places(declared, settings, today)),
        weeks=tuple(weekly_view(declared, settings.time_slots, today)) if "weekly" in forms else (),
        months=tuple(monthly_view(declared, settings, today)) if "january_september" in forms else (),
        weekdays=tuple(weekday_name(day) for day in WEEKDAYS),
        declared_on=declared.declared_on if declared else None,
        valid_until=declared.valid_until if declared else None,
    )
