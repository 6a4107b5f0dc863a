"""The parents' search page, between the form and the query: what the parent typed becomes
`Criteria` (the commune from the communes we hold, an address from the tenant's geocoder), the
results become words and map markers. The query and its rules stay in
assmat.portal.directory.service; this module adds only what the page needs.

« À domicile / en MAM » (`lieu`): the search table knows whether an entry works in a MAM
(`DirectoryEntry.in_mam`); the form shows the choice only where the tenant has a MAM
(`assmat.portal.structures.service.has_mams`), since elsewhere it would have a single answer.

Only public positions leave this module: an entry's latitude and longitude are already its
public position (a hidden address: its commune's centre, see `entry_values`), and the map
writes pixel offsets, never coordinates."""

from __future__ import annotations

import re
import time
from bisect import bisect_left
from collections.abc import Mapping, Sequence
from typing import Any
from dataclasses import dataclass, field, replace
from datetime import date, datetime
from functools import cache
from urllib.parse import quote, urlencode

from sqlalchemy import func, select
from sqlalchemy.ext.asyncio import AsyncSession

from assmat.core import clock
from assmat.core.errors import Invalid
from assmat.core.geocoding.client import Geocoder, GeocoderUnavailable
from assmat.core.geocoding.distance import Point
from assmat.core.i18n import gettext as _
from assmat.core.i18n import ngettext
from assmat.portal.availability.rules import weekday_name
from assmat.portal.directory.models import DirectoryEntry
from assmat.portal.directory.service import COUNT_CAP, RADII_KM, Criteria, Page, Result, check_criteria
from assmat.portal.profile.geo import Commune, _key, communes
from assmat.portal.profile.service import OFFERS
from assmat.portal.profile.svgmap import Marker, render_results_map
from assmat.tenants.loader import Tenant

PATH = "/recherche"
DEFAULT_RADIUS_KM = 5
TEXT_FIELDS = ("commune", "adresse", "rayon", "nom", "age", "naissance", "debut", "lieu", "page")
PLACES_OF_CARE = {"": None, "domicile": False, "mam": True}  # `lieu`: « Indifférent », « À domicile », « En MAM »
LIST_FIELDS = ("jours", "creneaux", "accueil")
FIELD_MAX = 200  # characters kept of a typed value: what the form shows back
LIST_MAX = 20
SUGGESTIONS = 10
DEPARTEMENTS_TTL = 600  # seconds a tenant's départements are remembered for its suggestions
SEARCH_DAYS = range(6)  # Monday to Saturday: the days families ask for (Criteria takes 0–6)
_POSTCODE = re.compile(r"^\d{5}$")
_LABELLED = re.compile(r"^(?P<name>.+?)\s*\((?P<postcode>\d{5})\)$")  # « Auch (32000) », a suggestion


# -- « Où » ------------------------------------------------------------------------------------------

def commune_label(commune: Commune) -> str:
    return f"{commune.name} ({commune.postal_code})"


@cache
def _communes_by_name() -> tuple[list[str], list[Commune]]:
    """The placed communes sorted by name key, and those keys: a prefix is a bisection away
    (thousands of communes, a suggestion at every keystroke)."""
    pairs = sorted(((_key(c.name), c) for c in communes()), key=lambda pair: (pair[0], pair[1].name, pair[1].postal_code))
    return [key for key, _commune in pairs], [commune for _key_, commune in pairs]


def _named(key: str, prefix: bool) -> list[Commune]:
    keys, rows = _communes_by_name()
    found = []
    for index in range(bisect_left(keys, key), len(keys)):
        if not (keys[index].startswith(key) if prefix else keys[index] == key):
            break
        found.append(rows[index])
    return found


async def home_departements(db: AsyncSession, tenant: Tenant, memo: dict[str, Any]) -> frozenset[str]:
    """The départements (first two characters of the INSEE code) of this tenant's published
    fiches: a département's own, every one on a national portal. Its communes come first among
    the suggestions. Remembered in `memo` (the app's) for DEPARTEMENTS_TTL: an index-only scan,
    but one a keystroke need not repeat."""
    now = time.monotonic()
    known = memo.get(tenant.slug)
    if known is not None and now - known[0] < DEPARTEMENTS_TTL:
        return known[1]
    found = frozenset((await db.scalars(
        select(func.substr(DirectoryEntry.commune_insee, 1, 2)).distinct()
        .where(DirectoryEntry.tenant_id == tenant.slug, DirectoryEntry.commune_insee.is_not(None))
    )).all())
    memo[tenant.slug] = (now, found)
    return found


def suggest_communes(q: str, home: frozenset[str] = frozenset()) -> list[str]:
    """The communes we hold whose name or postcode starts with what was typed (no geocoder):
    those of the tenant's own départements (`home`) first, then by name."""
    typed = " ".join(q.split())[:FIELD_MAX]
    if len(typed) < 2:
        return []
    if typed.isdigit():
        found = sorted((c for c in communes() if c.postal_code.startswith(typed)), key=lambda c: (c.postal_code, c.name))
    else:
        found = _named(_key(typed), prefix=True) if _key(typed) else []
    found.sort(key=lambda c: c.insee[:2] not in home)  # stable: the order above within each part
    return [commune_label(c) for c in found[:SUGGESTIONS]]


def find_communes(text: str) -> list[Commune]:
    """The communes a typed value names: a suggestion « Nom (code) », a postcode (several
    communes may share it), or a name."""
    typed = " ".join(text.split())
    labelled = _LABELLED.match(typed)
    if labelled:
        return [c for c in _named(_key(labelled["name"]), prefix=False) if c.postal_code == labelled["postcode"]]
    if _POSTCODE.match(typed):
        return [c for c in communes() if c.postal_code == typed]
    key = _key(typed)
    return _named(key, prefix=False) if key else []


# -- the form ------------------------------------------------------------------------------------------

@dataclass(frozen=True)
class Asked:
    """A search as the page reads it: the values to show back, the criteria (None: nothing was
    asked yet, or an error), the errors by field, and where the map is centred."""

    values: dict[str, str]
    lists: dict[str, list[str]]
    criteria: Criteria | None = None
    errors: dict[str, str] = field(default_factory=dict)
    centre: Point | None = None
    place: str | None = None  # what « à environ N km » is measured from, in words

    def query(self, page: int | None = None) -> str:
        """The shareable query string of this search (another page of it with `page`)."""
        pairs = [(name, value) for name, value in self.values.items() if value and name != "page"]
        pairs += [(name, value) for name in LIST_FIELDS for value in self.lists[name]]
        if page is not None and page > 1:
            pairs.append(("page", str(page)))
        return urlencode(pairs)


def _date(text: str) -> date | None:
    for form in ("%Y-%m-%d", "%d/%m/%Y"):
        try:
            return datetime.strptime(text, form).date()
        except ValueError:
            continue
    return None


def _int(text: str, bad: int) -> int:
    return int(text) if text.isdigit() and len(text) <= 6 else bad


def read_values(params: Mapping[str, Sequence[str]]) -> tuple[dict[str, str], dict[str, list[str]]]:
    values = {name: " ".join((list(params.get(name, ())) or [""])[0].split())[:FIELD_MAX] for name in TEXT_FIELDS}
    lists = {name: [v[:FIELD_MAX] for v in list(params.get(name, ()))[:LIST_MAX] if v] for name in LIST_FIELDS}
    return values, lists


def asks_anything(values: Mapping[str, str], lists: Mapping[str, list[str]]) -> bool:
    return any(values.values()) or any(lists.values())


async def read_search(tenant: Tenant, geocoder: Geocoder | None, params: Mapping[str, Sequence[str]]) -> Asked:
    """The criteria of the query string, checked, or the French message of each wrong field.
    The geocoder is asked only when the parent typed an address."""
    values, lists = read_values(params)
    asked = Asked(values, lists)
    if not asks_anything(values, lists):
        return asked
    errors: dict[str, str] = {}
    radius = None if not values["rayon"] else _int(values["rayon"], -1)
    found: list[Commune] = []
    if values["commune"]:
        found = find_communes(values["commune"])
        if not found:
            errors["commune"] = _("Unknown commune: choose one of the suggestions, or type its postcode.")
        elif len({c.postal_code for c in found}) > 1:
            errors["commune"] = _("Several communes bear this name: choose one of the suggestions.")
            found = []
    origin: Point | None = None
    place: str | None = None
    if values["adresse"]:
        origin, place, refused = await _locate(geocoder, values["adresse"], found[0] if len(found) == 1 else None)
        if refused:
            errors["adresse"] = refused
    elif found and radius is not None:
        origin = Point(sum(c.latitude for c in found) / len(found), sum(c.longitude for c in found) / len(found))
        place = commune_label(found[0]) if len(found) == 1 else found[0].postal_code
    commune_code = None
    if found and origin is None and not values["adresse"]:
        commune_code = found[0].insee if len(found) == 1 else found[0].postal_code
    criteria = Criteria(
        origin=origin, radius_km=radius if origin is not None or not errors else None,
        commune=commune_code, name=values["nom"] or None,
        age_months=_int(values["age"], -1) if values["age"] else None,
        birth_date=_date(values["naissance"]) if values["naissance"] else None,
        start=_date(values["debut"]) if values["debut"] else None,
        days=frozenset(_int(day, 99) for day in lists["jours"]),
        slots=frozenset(lists["creneaux"]), offers=frozenset(lists["accueil"]),
        in_mam=PLACES_OF_CARE.get(values["lieu"]),
        page=_int(values["page"], 0) if values["page"] else 1,
    )
    if values["naissance"] and criteria.birth_date is None:
        errors["naissance"] = _("This birth date is not possible.")
    if values["debut"] and criteria.start is None:
        errors["debut"] = _("Choose a start date within the next two years.")
    if values["lieu"] not in PLACES_OF_CARE:
        errors["lieu"] = _("Choose at home, in a MAM, or either.")
    try:
        check_criteria(tenant, criteria)
    except Invalid as refused:
        checked = dict(refused.field_errors)
        if "origine" in checked:
            checked.setdefault("adresse" if values["adresse"] else "commune", checked.pop("origine"))
        if "commune" in errors or "adresse" in errors:  # the place itself was refused: say only that
            checked.pop("rayon", None)
            checked.pop("commune", None)
        errors = {**checked, **errors}
    if errors:
        return replace(asked, errors=errors)
    return replace(asked, criteria=criteria, centre=origin, place=place)


async def _locate(geocoder: Geocoder | None, address: str, commune: Commune | None) -> tuple[Point | None, str | None, str | None]:
    """(the point, its label, None) or (None, None, the French message)."""
    if geocoder is None:
        return None, None, _("Searching from an address is not offered on this site: search by commune (name or postcode).")
    query = f"{address} {commune.name}" if commune is not None else address
    try:
        found = await geocoder.search(query, limit=1, citycode=commune.insee if commune is not None else None)
    except GeocoderUnavailable:
        return None, None, _("The address service does not answer at the moment: search by commune (name or postcode), "
                             "or try again later.")
    if not found:
        return None, None, _("This address was not found: check it, or search by commune (name or postcode).")
    return Point(found[0].lat, found[0].lon), found[0].label, None


# -- the results ---------------------------------------------------------------------------------------

@dataclass(frozen=True)
class Card:
    number: int
    href: str
    name: str
    commune: str
    distance: str | None
    availability: str
    places: list[str]
    offers: list[str]
    updated: str | None
    in_mam: bool = False


def _place_line(tenant: Tenant, group: str, places: int, free_from: date | None, today: date) -> str:
    labels = {g.code: g.label for g in tenant.config.availability.age_groups}
    when = _("from %(date)s") % {"date": free_from.strftime("%d/%m/%Y")} if free_from and free_from > today else _("now")
    count = ngettext("%(num)d place", "%(num)d places", places) % {"num": places}
    return f"{labels.get(group, group)} : {count}, {when}"


def card(tenant: Tenant, result: Result, number: int, back: str) -> Card:
    """One result in words, as the public fiche says them."""
    today = clock.today()
    places = [] if result.stale or result.none_available else [
        _place_line(tenant, p.age_group, p.places, p.free_from, today) for p in result.places]
    if result.stale:
        availability = _("Availability not up to date")
    elif not places:
        availability = _("No availability")
    else:
        availability = _("Places available")
    offers = dict(OFFERS)
    return Card(
        number=number, href=f"/assistants/{result.public_id}?retour={quote(back, safe='')}", name=result.name,
        commune=" ".join(part for part in (result.postal_code, result.commune) if part),
        distance=_("about %(km)s km away") % {"km": result.announced_km} if result.announced_km is not None else None,
        availability=availability, places=places, offers=[_(offers[code]) for code in result.offers],
        updated=_("Updated on %(date)s") % {"date": result.updated_on.strftime("%d/%m/%Y")} if result.updated_on else None,
        in_mam=result.in_mam,
    )


def count_text(found: Page) -> str:
    if found.more:
        return _("More than %(cap)s results") % {"cap": f"{COUNT_CAP:,}".replace(",", "\u202f")}
    return ngettext("%(num)d result", "%(num)d results", found.total) % {"num": found.total}


def public_positions(found: Page) -> dict[str, Point]:
    """The public position of the page's results (a hidden address: its commune's centre)."""
    return {result.public_id: result.position for result in found.results if result.position is not None}


def results_map(asked: Asked, cards: Sequence[Card], positions: Mapping[str, Point], public_ids: Sequence[str]):
    """The SVG map of this page of results: the same numbers as the list, each marker a link to
    the fiche; None when no result is located."""
    markers = [Marker(c.number, (positions[pid].lat, positions[pid].lon), c.href, f"{c.number}. {c.name}, {c.commune}")
               for c, pid in zip(cards, public_ids) if pid in positions]
    if not markers:
        return None
    radius = asked.criteria.radius_km if asked.criteria is not None and asked.centre is not None else None
    centre = (asked.centre.lat, asked.centre.lon) if asked.centre is not None else None
    return render_results_map(markers, centre=centre, radius_km=radius)


def interactive_map(tenant: Tenant, asked: Asked, cards: Sequence[Card], positions: Mapping[str, Point],
                    public_ids: Sequence[str]) -> dict[str, object] | None:
    """What the optional interactive map draws (tenants whose YAML sets `map`): the same markers
    as the SVG at the same public positions, the centre and the radius. None elsewhere, or when
    no result is located: then the page carries no coordinates at all."""
    tiles = tenant.config.map
    points = [{"number": c.number, "href": c.href, "label": f"{c.number}. {c.name}, {c.commune}",
               "lat": round(positions[pid].lat, 5), "lon": round(positions[pid].lon, 5)}
              for c, pid in zip(cards, public_ids) if pid in positions]
    if tiles is None or not points:
        return None
    centre = asked.centre
    return {"tiles": tiles.tiles_url, "attribution": tiles.attribution, "points": points,
            "centre": [round(centre.lat, 5), round(centre.lon, 5)] if centre is not None else None,
            "radius_m": asked.criteria.radius_km * 1000 if centre is not None and asked.criteria
            and asked.criteria.radius_km else None}


def day_choices() -> list[tuple[str, str]]:
    return [(str(day), weekday_name(day)) for day in SEARCH_DAYS]


def place_choices() -> list[tuple[str, str]]:
    return [("", _("Either")), ("domicile", _("At home")), ("mam", _("In a MAM"))]


def radius_choices() -> list[tuple[str, str]]:
    return [("", _("Within the commune only"))] + [(str(km), _("%(km)s km") % {"km": km}) for km in RADII_KM]

