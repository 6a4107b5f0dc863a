"""The parents' search, its SQL side: the search table and the query.

The table (`DirectoryEntry`, one row per published fiche) is rewritten by `refresh_entries` in
the transaction of every change that can alter it: the fiche's save, its publication (consent,
objection, suspension, resume, the import), its availability, the import, and later the
geocoding. Those services call `assmat.core.db.changes.fiche_changed`, this module registers
`refresh_entries` there (see that module for why a call rather than a session hook). An entry
exists only while `published_clause(tenant)` holds and a fiche exists; `rebuild_entries`
rewrites a whole tenant (`assmat directory-rebuild`, nightly: an agrément that starts today
enters the table, one that ended yesterday is already hidden by `published_until`).

The query narrows a distance search in three steps (see assmat.core.geocoding.distance): the
indexed grid cells of the radius's bounding box, the box itself, then the exact distance in SQL.
A search runs a bounded number of statements whatever the size of the table: the page with its
count capped at COUNT_CAP, that page's places (and, past the cap, at most one capped count per
smaller radius and the page again, to sort a few hundred rows rather than a whole département).
The availability criteria read the search's own copy of the places (`DirectoryPlace`, the weekly
grid as a bitmask), never availability's tables."""

from __future__ import annotations

import math
import unicodedata
from collections import defaultdict
from collections.abc import Iterable, Sequence
from dataclasses import dataclass
from functools import lru_cache
from types import SimpleNamespace
from datetime import date, timedelta
from typing import Any

from sqlalchemy import (
    BigInteger,
    ColumnElement,
    Integer,
    Select,
    and_,
    bindparam,
    delete,
    exists,
    func,
    insert,
    literal,
    or_,
    select,
)
from sqlalchemy.ext.asyncio import AsyncSession

from assmat.auth.models import Account
from assmat.core import clock
from assmat.core.db.changes import on_fiche_change
from assmat.core.db.like import LIKE_ESCAPE, contains_pattern
from assmat.core.errors import Invalid
from assmat.core.geocoding.distance import (
    Point,
    Precision,
    bounding_box,
    distance_km_sql,
    grid_cell,
    grid_cells,
    origin_params,
    public_position,
    rounded_km,
)
from assmat.core.i18n import gettext as _
from assmat.portal.agrement.models import Agrement
from assmat.portal.availability.models import AvailabilityDeclaration, AvailablePlace, AvailableSlot
from assmat.portal.directory.models import SLOT_BITS, DirectoryEntry, DirectoryPlace
from assmat.portal.profile.geo import Commune, find_commune
from assmat.portal.profile.models import OFFER_CODES, Fiche
from assmat.portal.publication.service import published_clause
from assmat.portal.structures.models import StructureMember
from assmat.tenants.loader import Tenant

RADII_KM = (1, 3, 5, 10, 20, 30)
PER_PAGE = 20
# Results are counted up to COUNT_CAP (« plus de 1 000 résultats »): a parent narrows her search
# long before, counting further costs a scan of the whole radius, and paging past it is scraping.
COUNT_CAP = 1000
MAX_PAGE = COUNT_CAP // PER_PAGE
# « A place free at that date or soon after »: a place free within this many days of the start
# date matches (a family looking for 1 September still wants the one free on 15 September).
SOON_DAYS = 31
NAME_MIN, NAME_MAX = 2, 100
MAX_AGE_MONTHS = 216
_BATCH = 500


# -- the table ---------------------------------------------------------------------------------------

def name_key(text: str) -> str:
    """« Émilie  D'Arc-Dupont » → « emilie d arc dupont »: what a search by name compares."""
    plain = unicodedata.normalize("NFKD", text).encode("ascii", "ignore").decode().lower()
    for mark in "-'’.,":
        plain = plain.replace(mark, " ")
    return " ".join(plain.split())


@lru_cache(maxsize=8192)
def _commune(postal_code: str | None, city: str | None) -> Commune | None:
    """`find_commune`, remembered: a rebuild asks the same few thousand (postcode, city) pairs
    hundreds of thousands of times, and each answer scans the shipped communes."""
    return find_commune(postal_code, city)


def entry_values(tenant: Tenant, account: Any, fiche: Any, declaration: Any | None,
                 published_until: date | None, in_mam: bool = False) -> dict[str, Any]:
    """The row of one published fiche (pure). A hidden address places the fiche at its
    commune's centre: its own coordinates are then never read."""
    commune = _commune(account.postal_code, account.city)
    precision: Precision | None = None
    position: Point | None = None
    address_shown = bool(fiche.show_address)
    if address_shown and fiche.latitude is not None and fiche.longitude is not None:
        precision, exact = Precision.ADDRESS, Point(fiche.latitude, fiche.longitude)
        position = public_position(exact, exact, precision)
    elif commune is not None:
        precision = Precision.COMMUNE
        centre = Point(commune.latitude, commune.longitude)
        position = public_position(centre, centre, precision)
    name = " ".join(part for part in (account.first_name, account.last_name) if part) or "—"
    return {
        "tenant_id": tenant.slug, "account_id": account.id, "public_id": fiche.public_id,
        "name": name[:201], "name_key": name_key(name)[:201],
        "commune_insee": commune.insee if commune else None,
        "commune_name": commune.name if commune else (account.city or None),
        "postal_code": commune.postal_code if commune else (account.postal_code or None),
        "latitude": position.lat if position else None, "longitude": position.lon if position else None,
        "precision": precision.value if precision else None,
        "grid_cell": grid_cell(position) if position else None,
        **{f"offer_{code}": bool(getattr(fiche, f"offer_{code}")) for code in OFFER_CODES},
        "declaration_id": declaration.id if declaration else None,
        "none_available": bool(declaration.none_available) if declaration else False,
        "valid_until": declaration.valid_until if declaration else None,
        "published_until": published_until,
        "updated_on": clock.local(fiche.updated_at).date() if fiche.updated_at else None,
        "in_mam": in_mam,
        "refreshed_at": clock.now(),
    }


def _chunks(items: Sequence[Any], size: int = _BATCH) -> Iterable[Sequence[Any]]:
    for start in range(0, len(items), size):
        yield items[start:start + size]


async def _published_rows(db: AsyncSession, tenant: Tenant, ids: Sequence[int] | None) -> list[dict[str, Any]]:
    slug, today = tenant.slug, clock.today()
    # Columns, not entities: a rebuild reads 150,000 rows, and an entry needs a few fields of each.
    account_columns = [Account.id, Account.first_name, Account.last_name, Account.postal_code, Account.city]
    fiche_columns = [Fiche.public_id, Fiche.show_address, Fiche.latitude, Fiche.longitude, Fiche.updated_at,
                     *(getattr(Fiche, f"offer_{code}") for code in OFFER_CODES)]
    declaration_columns = [AvailabilityDeclaration.id, AvailabilityDeclaration.none_available,
                           AvailabilityDeclaration.valid_until]
    member = exists(select(literal(1)).select_from(StructureMember).where(
        StructureMember.tenant_id == slug, StructureMember.account_id == Account.id)).label("in_mam")
    stmt = (
        select(*account_columns, *fiche_columns, *declaration_columns, member)
        .join(Fiche, and_(Fiche.tenant_id == slug, Fiche.account_id == Account.id))
        .outerjoin(AvailabilityDeclaration, and_(AvailabilityDeclaration.tenant_id == slug,
                                                 AvailabilityDeclaration.account_id == Account.id))
        .where(Account.tenant_id == slug, published_clause(tenant))
    )
    if ids is not None:
        stmt = stmt.where(Account.id.in_(ids))
    found = (await db.execute(stmt)).all()
    if not found:
        return []
    # The last day she stays published: the latest end among her agréments valid today (None:
    # one has no end).
    valid = select(Agrement.account_id, Agrement.end_date).where(
        Agrement.tenant_id == slug, Agrement.status.is_(None),
        or_(Agrement.start_date.is_(None), Agrement.start_date <= today),
        or_(Agrement.end_date.is_(None), Agrement.end_date >= today))
    if ids is not None:
        valid = valid.where(Agrement.account_id.in_(ids))
    ends: dict[int, list[date | None]] = defaultdict(list)
    for account_id, end in (await db.execute(valid)).all():
        ends[account_id].append(end)
    rows = []
    split = (len(account_columns), len(account_columns) + len(fiche_columns))
    for row in found:
        account = SimpleNamespace(**dict(zip(("id", "first_name", "last_name", "postal_code", "city"), row[:split[0]])))
        fiche = SimpleNamespace(**dict(zip([column.key for column in fiche_columns], row[split[0]:split[1]])))
        declared = row[split[1]:-1]
        declaration = SimpleNamespace(id=declared[0], none_available=declared[1], valid_until=declared[2]) \
            if declared[0] is not None else None
        account_ends = ends.get(account.id) or [None]
        until = None if any(end is None for end in account_ends) else max(e for e in account_ends if e is not None)
        rows.append(entry_values(tenant, account, fiche, declaration, until, in_mam=bool(row.in_mam)))
    return rows


def slot_bit(tenant: Tenant, weekday: int, slot: str) -> int | None:
    """The bit of (weekday, slot) in a place's `slot_mask`; None for a slot the tenant no longer has."""
    codes = [time_slot.code for time_slot in tenant.config.availability.time_slots]
    return 1 << (weekday * SLOT_BITS + codes.index(slot)) if slot in codes else None


async def _place_rows(db: AsyncSession, tenant: Tenant, rows: Sequence[dict[str, Any]],
                      whole_tenant: bool) -> list[dict[str, Any]]:
    """The search's copy of the places of these entries' declarations (none for « pas de
    disponibilité »), each with its weekly grid folded into a bitmask."""
    slug = tenant.slug
    owners = {row["declaration_id"]: row for row in rows
              if row["declaration_id"] is not None and not row["none_available"]}
    if not owners:
        return []
    place, cell = AvailablePlace, AvailableSlot
    places = select(place.id, place.declaration_id, place.age_group, place.free_from, place.free_until) \
        .where(place.tenant_id == slug)
    grid = select(cell.place_id, cell.weekday, cell.slot).join(
        place, and_(place.tenant_id == slug, place.id == cell.place_id)).where(cell.tenant_id == slug)
    if not whole_tenant:
        places = places.where(place.declaration_id.in_(list(owners)))
        grid = grid.where(place.declaration_id.in_(list(owners)))
    masks: dict[int, int] = defaultdict(int)
    for place_id, weekday, slot in (await db.execute(grid)).all():
        masks[place_id] |= slot_bit(tenant, weekday, slot) or 0
    return [{"tenant_id": slug, "account_id": owners[declaration_id]["account_id"], "age_group": group,
             "free_from": free_from, "free_until": free_until, "slot_mask": masks.get(place_id, 0),
             **{key: owners[declaration_id][key] for key in ("latitude", "longitude", "grid_cell")}}
            for place_id, declaration_id, group, free_from, free_until in (await db.execute(places)).all()
            if declaration_id in owners]


async def refresh_entries(db: AsyncSession, tenant: Tenant, account_ids: Sequence[int] | None) -> None:
    """Rewrite the entries of these accounts (None: the whole tenant) from what the session
    holds now, flushed first: published ones get their row, the others lose it. In the
    caller's transaction; the caller commits."""
    if tenant.config.publication is None:
        return
    await db.flush()
    slug = tenant.slug
    if account_ids is None:
        for table in (DirectoryPlace, DirectoryEntry):
            await db.execute(delete(table).where(table.tenant_id == slug))
        rows = await _published_rows(db, tenant, None)
        places = await _place_rows(db, tenant, rows, whole_tenant=True)
    else:
        rows, places = [], []
        for batch in _chunks(list(account_ids)):
            for table in (DirectoryPlace, DirectoryEntry):
                await db.execute(delete(table).where(table.tenant_id == slug, table.account_id.in_(batch)))
            found = await _published_rows(db, tenant, batch)
            rows += found
            places += await _place_rows(db, tenant, found, whole_tenant=False)
    for table, values in ((DirectoryEntry, rows), (DirectoryPlace, places)):
        for batch in _chunks(values, 1000):
            await db.execute(insert(table.__table__), list(batch))


async def refresh_entry(db: AsyncSession, tenant: Tenant, account_id: int) -> None:
    """One account's entry, after a change to her fiche, publication or availability."""
    await refresh_entries(db, tenant, [account_id])


async def rebuild_entries(db: AsyncSession, tenant: Tenant) -> int:
    """The whole tenant's table anew; returns how many entries it holds. The caller commits."""
    await refresh_entries(db, tenant, None)
    return int(await db.scalar(select(func.count()).select_from(DirectoryEntry)
                               .where(DirectoryEntry.tenant_id == tenant.slug)) or 0)


async def _refresher(db: Any, tenant: Any, account_ids: list[int] | None) -> None:
    await refresh_entries(db, tenant, account_ids)


on_fiche_change(_refresher)


# -- the criteria ------------------------------------------------------------------------------------

@dataclass(frozen=True)
class Criteria:
    """What a parent asks. Where: an origin and a radius, or a commune (INSEE code or postcode),
    or a name (any may be combined). What: the child's age at the start date (from an age in
    months today, or a birth date), the days and time slots, the offer flags."""

    origin: Point | None = None
    radius_km: int | None = None
    commune: str | None = None
    name: str | None = None
    age_months: int | None = None
    birth_date: date | None = None
    start: date | None = None
    days: frozenset[int] = frozenset()
    slots: frozenset[str] = frozenset()
    offers: frozenset[str] = frozenset()
    in_mam: bool | None = None  # « À domicile » (False), « En MAM » (True), either (None)
    page: int = 1


def months_between(earlier: date, later: date) -> int:
    months = (later.year - earlier.year) * 12 + later.month - earlier.month
    return months - (1 if later.day < earlier.day else 0)


def age_at_start(criteria: Criteria, today: date) -> int | None:
    """The child's age in whole months on the start date (today when none is given)."""
    start = criteria.start or today
    if criteria.birth_date is not None:
        return months_between(criteria.birth_date, start)
    if criteria.age_months is not None:
        return criteria.age_months + max(0, months_between(today, start))
    return None


def age_group_for(tenant: Tenant, months: int) -> str | None:
    for group in tenant.config.availability.age_groups:
        if group.min_months <= months and (group.max_months is None or months < group.max_months):
            return group.code
    return None


def check_criteria(tenant: Tenant, criteria: Criteria) -> Criteria:
    """The criteria as given, or Invalid with a message a parent reads (nothing is searched)."""
    errors: dict[str, str] = {}
    if criteria.origin is not None:
        if not (-90 <= criteria.origin.lat <= 90 and -180 <= criteria.origin.lon <= 180) \
                or not all(map(math.isfinite, (criteria.origin.lat, criteria.origin.lon))):
            errors["origine"] = _("This place cannot be located.")
        if criteria.radius_km not in RADII_KM:
            errors["rayon"] = _("Choose a distance among %(radii)s km.") % {"radii": ", ".join(map(str, RADII_KM))}
    elif criteria.radius_km is not None:
        errors["rayon"] = _("A distance needs a commune or an address to measure from.")
    if criteria.commune is not None and not (len(criteria.commune) == 5 and criteria.commune[:2].isalnum()
                                             and criteria.commune[2:].isdigit()):
        errors["commune"] = _("Give the commune's postcode (5 digits) or its INSEE code.")
    if criteria.name is not None and not NAME_MIN <= len(name_key(criteria.name)) <= NAME_MAX:
        errors["nom"] = _("Type between %(min)s and %(max)s letters of the name.") % {"min": NAME_MIN, "max": NAME_MAX}
    today = clock.today()
    if criteria.age_months is not None and not 0 <= criteria.age_months <= MAX_AGE_MONTHS:
        errors["age"] = _("Give the child's age in months, between 0 and %(max)s.") % {"max": MAX_AGE_MONTHS}
    if criteria.birth_date is not None and not today - timedelta(days=MAX_AGE_MONTHS * 31) <= criteria.birth_date \
            <= today + timedelta(days=366):
        errors["naissance"] = _("This birth date is not possible.")
    if criteria.start is not None and not today - timedelta(days=366) <= criteria.start <= today + timedelta(days=2 * 366):
        errors["debut"] = _("Choose a start date within the next two years.")
    months = age_at_start(criteria, today)
    if months is not None and "age" not in errors and "naissance" not in errors and age_group_for(tenant, months) is None:
        errors["age"] = _("No childminder of this site takes a child of this age.")
    if any(day not in range(7) for day in criteria.days):
        errors["jours"] = _("Unknown day.")
    known_slots = {slot.code for slot in tenant.config.availability.time_slots}
    if not criteria.slots <= known_slots:
        errors["creneaux"] = _("Unknown time slot.")
    if not criteria.offers <= set(OFFER_CODES):
        errors["accueil"] = _("Unknown kind of care.")
    if not 1 <= criteria.page <= MAX_PAGE:
        errors["page"] = _("This page of results does not exist.")
    if criteria.origin is None and criteria.commune is None and criteria.name is None:
        errors.setdefault("commune", _("Give a commune, an address or a name."))
    if errors:
        raise Invalid(_("Please correct the search."), field_errors=errors)
    return criteria


# -- the query ---------------------------------------------------------------------------------------

@dataclass(frozen=True)
class PlaceSummary:
    age_group: str
    places: int
    free_from: date | None


@dataclass(frozen=True)
class Result:
    public_id: str
    name: str
    commune: str | None
    postal_code: str | None
    announced_km: int | None  # « à environ N km »; None without an origin or a position
    approximate: bool  # placed at its commune's centre (a hidden address), or not located
    offers: tuple[str, ...]
    stale: bool  # her declaration is missing or out of date
    none_available: bool
    places: tuple[PlaceSummary, ...]
    updated_on: date | None
    in_mam: bool = False
    position: Point | None = None  # the public position (see `entry_values`), for the map


@dataclass(frozen=True)
class Page:
    results: list[Result]
    total: int  # at most COUNT_CAP
    page: int
    more: bool = False  # more than COUNT_CAP results: « plus de 1 000 résultats »
    per_page: int = PER_PAGE

    @property
    def pages(self) -> int:
        return max(1, -(-self.total // self.per_page))


# The search's statements are built once per shape of criteria, with every value a bound
# parameter, over the tables' columns (Core, no ORM entity): a search then only binds its values
# and SQLAlchemy's compiled cache answers. Building and compiling a statement for each search
# cost several times what PostgreSQL spends running it.
_entry = DirectoryEntry.__table__.c
_place = DirectoryPlace.__table__.c
_available_place = AvailablePlace.__table__.c


@dataclass(frozen=True)
class _Shape:
    """What a search's statements depend on besides its values."""

    located: bool  # an origin and a radius
    commune: bool
    name: bool
    offers: tuple[str, ...]
    in_mam: bool
    available: bool  # an availability criterion: the age group, a start date, days or slots
    group: bool
    grid: tuple[bool, int]  # (every bit of one mask, or some bit of each of n masks)


@dataclass(frozen=True)
class _Statements:
    page: Select[Any]  # the page with its count capped at :cap
    count: Select[Any]  # the matching rows counted up to :cap
    ordered: Select[Any]  # the page, uncapped (past COUNT_CAP: within a smaller radius)


def _grid_conditions(every: bool, count: int) -> list[ColumnElement[bool]]:
    """The days and slots asked, on a place's `slot_mask` (:bits_k, see `_grid_bits`)."""
    mask = _place.slot_mask
    conditions = []
    for k in range(count):
        bits = bindparam(f"bits_{k}", type_=BigInteger)
        masked = mask.op("&", return_type=BigInteger)(bits)
        conditions.append(masked == bits if every else masked != literal(0, BigInteger))
    return conditions


def _grid_bits(tenant: Tenant, criteria: Criteria) -> tuple[bool, list[int]]:
    """Every (day, slot) pair ticked: one mask, every bit; days alone: some slot on each day;
    slots alone: each slot on some day."""
    def bits(days: Iterable[int], slots: Iterable[str]) -> int:
        return sum(slot_bit(tenant, day, slot) or 0 for day in days for slot in slots)

    every_slot = [slot.code for slot in tenant.config.availability.time_slots]
    if criteria.days and criteria.slots:
        return True, [bits(criteria.days, criteria.slots)]
    if criteria.days:
        return False, [bits([day], every_slot) for day in sorted(criteria.days)]
    return False, [bits(range(7), [slot]) for slot in sorted(criteria.slots)]


def _within_box(table: Any) -> list[ColumnElement[bool]]:
    """The first two steps of a distance search: the box's indexed grid cells, the box itself."""
    return [table.grid_cell.in_(bindparam("cells", expanding=True)),
            table.latitude.between(bindparam("min_lat"), bindparam("max_lat")),
            table.longitude.between(bindparam("min_lon"), bindparam("max_lon"))]


def _availability_clause(shape: _Shape) -> ColumnElement[bool]:
    """Her current declaration has a place (as the search keeps them, the weekly grid a
    bitmask) of the age group, free at the start date or within SOON_DAYS after it, with the
    days and slots asked. By distance, the places of the box's cells are found first (their own
    covering index) and their entries then; otherwise one indexed EXISTS per entry."""
    place = _place
    conditions: list[ColumnElement[bool]] = [
        place.tenant_id == bindparam("slug"),
        or_(place.free_from.is_(None), place.free_from <= bindparam("soon")),
        or_(place.free_until.is_(None), place.free_until >= bindparam("start")),
    ]
    if shape.group:
        conditions.append(place.age_group == bindparam("group"))
    conditions += _grid_conditions(*shape.grid)
    if shape.located:
        having = _entry.account_id.in_(select(place.account_id).where(*conditions, *_within_box(place)))
    else:
        having = exists(select(literal(1)).select_from(DirectoryPlace.__table__).where(
            *conditions, place.account_id == _entry.account_id))
    return and_(_entry.none_available == False, _entry.valid_until >= bindparam("today"), having)  # noqa: E712


@lru_cache(maxsize=512)
def _statements(shape: _Shape) -> _Statements:
    entry = _entry
    where: list[ColumnElement[bool]] = [
        entry.tenant_id == bindparam("slug"),
        or_(entry.published_until.is_(None), entry.published_until >= bindparam("today")),
    ]
    if shape.commune:
        where.append(or_(entry.commune_insee == bindparam("commune"), entry.postal_code == bindparam("commune")))
    if shape.name:
        where.append(entry.name_key.like(bindparam("name"), escape=LIKE_ESCAPE))
    where += [entry[f"offer_{code}"] == True for code in shape.offers]  # noqa: E712
    if shape.in_mam:
        where.append(entry.in_mam == bindparam("in_mam"))
    if shape.available:
        where.append(_availability_clause(shape))
    distance: ColumnElement[float] | None = None
    if shape.located:
        distance = distance_km_sql(entry.latitude, entry.longitude)
        where += [*_within_box(entry), distance <= bindparam("radius")]
    columns = [entry.id, entry.public_id, entry.name, entry.name_key, entry.commune_name, entry.postal_code,
               entry.precision, entry.latitude, entry.longitude, entry.declaration_id, entry.none_available,
               entry.valid_until, entry.updated_on, entry.in_mam,
               *(entry[f"offer_{code}"] for code in OFFER_CODES),
               (distance if distance is not None else literal(None)).label("distance_km")]
    cap, first = bindparam("cap", type_=Integer), bindparam("first", type_=Integer)
    # The matching rows up to the cap, counted by a window and ordered, the page taken from them.
    capped = select(*columns).where(*where).limit(cap).subquery()
    order = [capped.c.distance_km, capped.c.name_key, capped.c.id] if distance is not None \
        else [capped.c.name_key, capped.c.id]
    page = select(*capped.c, func.count().over().label("matched")).order_by(*order).limit(PER_PAGE).offset(first)
    matching = select(literal(1).label("one")).select_from(DirectoryEntry.__table__).where(*where).limit(cap).subquery()
    count = select(func.count()).select_from(matching)
    ordered = select(*columns).where(*where).order_by(
        *([distance] if distance is not None else []), entry.name_key, entry.id).limit(PER_PAGE).offset(first)
    return _Statements(page, count, ordered)


def _located(origin: Point, radius_km: float) -> dict[str, Any]:
    """The values of a distance search's three steps."""
    box = bounding_box(origin, radius_km)
    return {"cells": grid_cells(box), "min_lat": box.min_lat, "max_lat": box.max_lat, "min_lon": box.min_lon,
            "max_lon": box.max_lon, "radius": float(radius_km), **origin_params(origin)}


def _shape_and_values(tenant: Tenant, criteria: Criteria, today: date) -> tuple[_Shape, dict[str, Any]]:
    values: dict[str, Any] = {"slug": tenant.slug, "today": today}
    if criteria.commune is not None:
        values["commune"] = criteria.commune
    if criteria.name is not None:
        values["name"] = contains_pattern(name_key(criteria.name))
    if criteria.in_mam is not None:
        values["in_mam"] = criteria.in_mam
    located = criteria.origin is not None and criteria.radius_km is not None
    if located:
        values |= _located(criteria.origin, criteria.radius_km)  # type: ignore[arg-type]
    months = age_at_start(criteria, today)
    group = age_group_for(tenant, months) if months is not None else None
    available = group is not None or criteria.start is not None or bool(criteria.days) or bool(criteria.slots)
    every, bits = _grid_bits(tenant, criteria) if criteria.days or criteria.slots else (False, [])
    if available:
        start = criteria.start or today
        values |= {"start": start, "soon": start + timedelta(days=SOON_DAYS), "group": group,
                   **{f"bits_{k}": value for k, value in enumerate(bits)}}
    shape = _Shape(located=located, commune=criteria.commune is not None, name=criteria.name is not None,
                   offers=tuple(sorted(criteria.offers)), in_mam=criteria.in_mam is not None, available=available,
                   group=group is not None, grid=(every, len(bits)))
    return shape, values


_PLACES = (
    select(_available_place.declaration_id, _available_place.age_group, _available_place.places,
           _available_place.free_from)
    .where(_available_place.tenant_id == bindparam("slug"),
           _available_place.declaration_id.in_(bindparam("declarations", expanding=True)))
    .order_by(_available_place.declaration_id, _available_place.position)
)


async def search(db: AsyncSession, tenant: Tenant, criteria: Criteria) -> Page:
    """A page of results (20), ordered by distance then name (by name without an origin), and
    the total, counted up to COUNT_CAP. Invalid for bad criteria.

    The statements do not grow with the data: the page with its count (the matching rows up to
    the cap, counted and ordered in one statement), then the page's places. Where the count
    reaches the cap (a wide radius in a dense area), the page is looked for in the smallest
    of the radii below the asked one that holds every row up to that page (at most one capped
    count each): ordered by distance, those rows are the same, and the database sorts a few
    hundred rows instead of tens of thousands."""
    criteria = check_criteria(tenant, criteria)
    today = clock.today()
    shape, values = _shape_and_values(tenant, criteria, today)
    statements = _statements(shape)
    first = (criteria.page - 1) * PER_PAGE
    connection = await db.connection()
    rows = (await connection.execute(statements.page, {**values, "cap": COUNT_CAP + 1, "first": first})).all()
    if rows:
        total = int(rows[0].matched)
    else:  # nothing at all, or a page past the last: count
        total = 0 if first == 0 else int(
            await connection.scalar(statements.count, {**values, "cap": COUNT_CAP + 1}) or 0)
    if total > COUNT_CAP:
        needed = criteria.page * PER_PAGE
        if shape.located and criteria.origin is not None:
            for radius in (r for r in RADII_KM if r < (criteria.radius_km or 0)):
                ring = {**values, **_located(criteria.origin, radius)}
                if int(await connection.scalar(statements.count, {**ring, "cap": needed}) or 0) >= needed:
                    values = ring
                    break
        rows = (await connection.execute(statements.ordered, {**values, "first": first})).all()
    places: dict[int, list[PlaceSummary]] = defaultdict(list)
    declarations = [row.declaration_id for row in rows if row.declaration_id is not None]
    if declarations:
        for declaration_id, group, count, free_from in (await connection.execute(
                _PLACES, {"slug": tenant.slug, "declarations": declarations})).all():
            places[declaration_id].append(PlaceSummary(group, count, free_from))
    results = []
    for row in rows:
        stale = row.valid_until is None or row.valid_until < today
        results.append(Result(
            public_id=row.public_id, name=row.name, commune=row.commune_name, postal_code=row.postal_code,
            announced_km=rounded_km(row.distance_km) if row.distance_km is not None else None,
            approximate=row.precision != Precision.ADDRESS.value,
            offers=tuple(code for code in OFFER_CODES if row._mapping[f"offer_{code}"]),
            stale=stale, none_available=bool(row.none_available),
            places=() if stale else tuple(places.get(row.declaration_id, ())),
            updated_on=row.updated_on, in_mam=bool(row.in_mam),
            position=Point(row.latitude, row.longitude) if row.latitude is not None and row.longitude is not None
            else None,
        ))
    return Page(results=results, total=min(total, COUNT_CAP), page=criteria.page, more=total > COUNT_CAP)


__all__ = [
    "Criteria", "Page", "PlaceSummary", "RADII_KM", "Result", "SOON_DAYS", "check_criteria", "rebuild_entries",
    "refresh_entries", "refresh_entry", "search",
]
