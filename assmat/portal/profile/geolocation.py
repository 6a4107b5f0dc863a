"""Where a fiche is, and how sure we are: the background geocoding of the assistants' addresses
with the Base Adresse Nationale, and the correction requests she sends from « Ma fiche » (seed
002) that staff accept or reject.

The rule that ties them: a fiche's position is for one address, whose hash is kept with it
(`Fiche.address_hash`). The background run geocodes the fiches whose account's address has no
position yet or changed since; a correction accepted by staff takes the current address's hash,
so the geocoder leaves it alone until the address itself changes.

The geocoder is never needed for a page or an import: unreachable, it stops the run quietly and
nothing already stored changes. The requested coordinates of a correction are personal data:
only she (on « Ma fiche ») and staff (in the console) see them."""

from __future__ import annotations

import asyncio
import base64
import hashlib
import time
import unicodedata
from collections.abc import Awaitable, Callable
from dataclasses import dataclass

from sqlalchemy import and_, exists, func, not_, or_, select
from sqlalchemy.ext.asyncio import AsyncSession

from assmat.auth.models import Account
from assmat.core import clock
from assmat.core.db.changes import fiche_changed
from assmat.core.errors import Invalid, NotFound, RateLimited
from assmat.core.geocoding.client import Geocoder, GeocodeResult, GeocoderUnavailable
from assmat.core.geocoding.distance import Point, haversine_km
from assmat.core.geocoding.map_links import in_france, parse_map_url
from assmat.core.i18n import gettext as _
from assmat.core.security import audit
from assmat.core.security.audit import EventType
from assmat.core.security.ratelimit import CORRECTIONS_PER_ACCOUNT
from assmat.portal.profile.geo import commune_code, find_commune
from assmat.portal.profile.models import AddressPosition, Fiche, PositionCorrection
from assmat.portal.profile.svgmap import HEIGHT, PICKER_PX_PER_KM, WIDTH, render_picker, unproject
from assmat.tenants.geocoding import geocoder_url
from assmat.tenants.loader import Tenant

# Below this score, or at the commune's level, a position is flagged to staff (« à vérifier »).
LOW_SCORE = 0.6
VAGUE_TYPES = ("municipality",)
# Requests per second to the geocoder: the national service allows 50 per IP; stay well under.
GEOCODER_RATE_PER_SECOND = 10
CORRECTION_URL_MAX = 500
CORRECTION_MESSAGE_MAX = 1000
REASON_MAX = 500
NATIONAL_MAP_URL = "https://adresse.data.gouv.fr/map"


def address_hash(address: str | None, postal_code: str | None, city: str | None) -> str | None:
    """The fingerprint of an address: the same address however it is spaced or capitalised;
    None where there is nothing to locate."""
    parts = [" ".join(unicodedata.normalize("NFC", part or "").split()).casefold()
             for part in (address, postal_code, city)]
    if not any(parts):
        return None
    return hashlib.sha256("\n".join(parts).encode()).hexdigest()


def needs_check(score: float | None, type_: str | None) -> bool:
    """A position staff should look at: a low score, or only the commune found."""
    return score is not None and (score < LOW_SCORE or type_ in VAGUE_TYPES)


def to_check_clause():
    """The fiches whose position staff should check (the console's « position à vérifier »):
    the geocoder was unsure, found only the commune, or found nothing."""
    return or_(Fiche.geocode_score < LOW_SCORE, Fiche.geocode_type.in_(VAGUE_TYPES),
               Fiche.geocode_failed_at.is_not(None))


class Throttle:
    """At most `rate` calls per second: `wait()` before each call sleeps what is left of the
    interval since the last one. The clock and the sleeper are injectable (tests count)."""

    def __init__(self, rate: float, *, clock: Callable[[], float] = time.monotonic,
                 sleep: Callable[[float], Awaitable[None]] = asyncio.sleep):
        self.interval = 1 / rate
        self._clock, self._sleep = clock, sleep
        self._next: float | None = None

    async def wait(self) -> None:
        now = self._clock()
        if self._next is not None and now < self._next:
            await self._sleep(self._next - now)
            now = self._next
        self._next = now + self.interval


@dataclass
class GeocodingReport:
    total: int = 0  # fiches waiting when the run started
    geocoded: int = 0
    low_score: int = 0  # geocoded, but to be checked by staff
    failed: int = 0  # the geocoder found nothing
    unavailable: bool = False  # the geocoder could not be reached: the run stopped

    @property
    def done(self) -> int:
        return self.geocoded + self.failed


@dataclass(frozen=True)
class _Waiting:
    account_id: int
    address: str | None
    postal_code: str | None
    city: str | None
    hash: str


# What the geocoder's answer sets, on a fiche or on the address of an assistant without one.
POSITION_FIELDS = ("latitude", "longitude", "geocoded_at", "geocode_score", "geocode_type", "geocode_label",
                   "address_hash", "geocode_failed_at")


def _candidates(tenant: Tenant):
    """Every assistant with something to locate, and the address hash of her current position:
    her fiche's, or, without a fiche (imported, never signed in), her address's."""
    slug = tenant.slug
    has_fiche = exists(select(Fiche.id).where(Fiche.tenant_id == slug, Fiche.account_id == Account.id))
    located = (
        select(Account.id, Fiche.address_hash, Account.address, Account.postal_code, Account.city)
        .join(Fiche, and_(Fiche.tenant_id == slug, Fiche.account_id == Account.id))
    )
    fiche_less = (
        select(Account.id, AddressPosition.address_hash, Account.address, Account.postal_code, Account.city)
        .outerjoin(AddressPosition, and_(AddressPosition.tenant_id == slug, AddressPosition.account_id == Account.id))
        .where(not_(has_fiche))
    )
    where = (Account.tenant_id == slug, Account.kind == "assistant",
             or_(Account.address.is_not(None), Account.city.is_not(None)))
    return located.where(*where), fiche_less.where(*where)


async def waiting(db: AsyncSession, tenant: Tenant) -> list[_Waiting]:
    """The assistants whose address has no position yet, or changed since its position was found
    (a correction accepted for the current address is not waiting), with a fiche or not; by
    account."""
    found = []
    for query in _candidates(tenant):
        for row in (await db.execute(query)).all():
            current = address_hash(row.address, row.postal_code, row.city)
            if current is not None and row.address_hash != current:
                found.append(_Waiting(row.id, row.address, row.postal_code, row.city, current))
    return sorted(found, key=lambda item: item.account_id)


async def count_waiting(db: AsyncSession, tenant: Tenant) -> int:
    return len(await waiting(db, tenant))


def _query(item: _Waiting) -> tuple[str, dict[str, str]]:
    text = " ".join(part.strip() for part in (item.address, item.postal_code, item.city) if part and part.strip())
    filters: dict[str, str] = {}
    insee = commune_code(item.postal_code, item.city)
    if insee is not None:
        filters["citycode"] = insee
    elif item.postal_code and item.postal_code.strip().isdigit() and len(item.postal_code.strip()) == 5:
        filters["postcode"] = item.postal_code.strip()
    return text, filters


def _apply(target: Fiche | AddressPosition, result: GeocodeResult, hash_: str) -> None:
    target.latitude, target.longitude = result.lat, result.lon
    target.geocoded_at = clock.now()
    target.geocode_score = round(result.score, 4)
    target.geocode_type = result.type
    target.geocode_label = result.label[:300]
    target.address_hash = hash_
    target.geocode_failed_at = None
    if isinstance(target, Fiche):
        target.position_source = "geocoder"


async def _target(db: AsyncSession, tenant: Tenant, account_id: int) -> Fiche | AddressPosition:
    """Where her position goes: her fiche, or, while she has none, her address's row (made here)."""
    slug = tenant.slug
    fiche = await db.scalar(select(Fiche).where(Fiche.tenant_id == slug, Fiche.account_id == account_id))
    if fiche is not None:
        return fiche
    position = await db.scalar(select(AddressPosition).where(AddressPosition.tenant_id == slug,
                                                             AddressPosition.account_id == account_id))
    if position is None:
        position = AddressPosition(tenant_id=slug, account_id=account_id)
        db.add(position)
    return position


async def adopt_address_position(db: AsyncSession, tenant: Tenant, fiche: Fiche) -> None:
    """A fiche just created takes what the geocoder found for her address before it existed
    (when the address changed since, its hash says so and the next run locates it again)."""
    position = await db.scalar(select(AddressPosition).where(AddressPosition.tenant_id == tenant.slug,
                                                             AddressPosition.account_id == fiche.account_id))
    if position is None:
        return
    for field in POSITION_FIELDS:
        setattr(fiche, field, getattr(position, field))
    if position.latitude is not None:
        fiche.position_source = "geocoder"
    await db.delete(position)


async def geocode_pending(db: AsyncSession, tenant: Tenant, geocoder: Geocoder, *, limit: int | None = None,
                          throttle: Throttle | None = None,
                          progress: Callable[[int, int], None] | None = None) -> GeocodingReport:
    """Geocodes up to `limit` waiting addresses of the tenant, at most GEOCODER_RATE_PER_SECOND
    requests a second: into the fiche, or, for an assistant without one yet, into her address's
    row that her fiche takes when created. An unreachable geocoder stops the run: what was found
    before stays in the session, the address being asked about is left as it was. The caller
    commits."""
    items = await waiting(db, tenant)
    if limit is not None:
        items = items[:limit]
    report = GeocodingReport(total=len(items))
    throttle = throttle or Throttle(GEOCODER_RATE_PER_SECOND)
    moved: list[int] = []  # accounts whose fiche got a new position
    for item in items:
        text, filters = _query(item)
        await throttle.wait()
        try:
            results = await geocoder.search(text, limit=1, **filters)
            if not results and filters:  # a postal code or commune that does not match the BAN's
                await throttle.wait()
                results = await geocoder.search(text, limit=1)
        except GeocoderUnavailable:
            report.unavailable = True
            break
        target = await _target(db, tenant, item.account_id)
        if results:
            _apply(target, results[0], item.hash)
            if isinstance(target, Fiche):
                moved.append(item.account_id)
            report.geocoded += 1
            report.low_score += needs_check(results[0].score, results[0].type)
        else:  # nothing found: the old position stays, flagged for staff, not asked again until the address changes
            target.address_hash, target.geocode_failed_at = item.hash, clock.now()
            target.geocode_score = target.geocode_type = target.geocode_label = None
            report.failed += 1
        if progress is not None:
            progress(report.done, report.total)
    await db.flush()
    if moved:  # the search places them anew, in this transaction
        await fiche_changed(db, tenant, moved)
    if report.done:
        await audit.record(db, tenant.slug, EventType.GEOCODING_RUN, geocoded=report.geocoded, low_score=report.low_score,
                           failed=report.failed, stopped=report.unavailable)
    return report


async def overview_section(db: AsyncSession, tenant: Tenant, settings) -> tuple[str, list[str]] | None:
    """The console overview's « Géolocalisation »: whether geocoding is on for the tenant, how
    many fiches wait for it, how many positions to check and requests to decide."""
    if not tenant.config.offers("publication"):
        return None
    url = geocoder_url(settings, tenant)
    lines = [f"Géocodeur : {url}" if url else
             "Géolocalisation désactivée : aucun géocodeur configuré (ASSMAT_GEOCODER_URL ou geocoding.url du "
             "tenant). Les fiches gardent leur position actuelle ; la recherche par commune fonctionne."]
    lines.append(f"Adresses en attente de géolocalisation : {await count_waiting(db, tenant)}")
    to_check = await db.scalar(select(func.count()).select_from(Fiche).where(Fiche.tenant_id == tenant.slug,
                                                                              to_check_clause()))
    lines.append(f"Positions à vérifier : {to_check}")
    pending = await db.scalar(select(func.count()).select_from(PositionCorrection).where(
        PositionCorrection.tenant_id == tenant.slug, PositionCorrection.state == "pending"))
    lines.append(f"Demandes de correction en attente : {pending}")
    return "Géolocalisation", lines


# -- correction requests ---------------------------------------------------------------------------------


async def correction_of(db: AsyncSession, tenant: Tenant, account: Account) -> PositionCorrection | None:
    return await db.scalar(select(PositionCorrection).where(
        PositionCorrection.tenant_id == tenant.slug, PositionCorrection.account_id == account.id))


def picker_centre(fiche: Fiche | None, account: Account) -> tuple[float, float] | None:
    """The centre of the map she clicks on « Ma fiche »: her fiche's current position, else her
    commune's centre; None (no map, the pasted link only) when neither is known."""
    if fiche is not None and fiche.latitude is not None and fiche.longitude is not None:
        return fiche.latitude, fiche.longitude
    commune = find_commune(account.postal_code, account.city)
    return (commune.latitude, commune.longitude) if commune is not None else None


def picker_image(fiche: Fiche | None, account: Account) -> str | None:
    """The clickable map's image (a data: URL of its SVG), or None when there is nothing to centre it on."""
    if picker_centre(fiche, account) is None:
        return None
    svg = render_picker(_("Current position"))
    return "data:image/svg+xml;base64," + base64.b64encode(svg.encode()).decode()


def map_link(point: Point) -> str:
    """The national address map's link to a point: what staff open to check it."""
    return f"{NATIONAL_MAP_URL}?lng={point.lon:.6f}&lat={point.lat:.6f}&z=18"


def _clicked(form: dict[str, str], centre: tuple[float, float] | None) -> Point | None:
    """The point under her click on the map (`carte.x`, `carte.y`, pixels of the drawing); None
    when she did not click it. A button pressed from the keyboard, or Enter in a field, sends
    (0, 0): not a click, the pasted link is read instead."""
    raw = (form.get("carte.x"), form.get("carte.y"))
    if raw == (None, None):
        return None
    try:
        x, y = (int(value or "") for value in raw)
    except ValueError:
        x = y = -1
    if (x, y) == (0, 0):
        return None
    if centre is None or not (0 <= x <= WIDTH and 0 <= y <= HEIGHT):
        raise Invalid(_("Click on the map at the place of your home, or paste the address of the national map."),
                      field_errors={"carte": _("Click on the map at the place of your home, or paste the address "
                                               "of the national map.")})
    lat, lon = unproject(x, y, centre, PICKER_PX_PER_KM)
    point = Point(round(lat, 6), round(lon, 6))
    if not in_france(point):
        raise Invalid(_("This position is outside France."), field_errors={"carte": _("This position is outside France.")})
    return point


async def request_correction(db: AsyncSession, tenant: Tenant, account: Account, fiche: Fiche | None,
                             form: dict[str, str], *, ip: str | None) -> PositionCorrection:
    """Her request: the point she clicked on the map of « Ma fiche », or the national map's link
    she pasted (parsed, in France), and an optional message. It replaces her previous request,
    whatever its state. Invalid (nothing stored) for a bad click or link, a message too long or
    no saved fiche; RateLimited past CORRECTIONS_PER_ACCOUNT. The caller commits."""
    if fiche is None or fiche.id is None:
        raise Invalid(_("Save your fiche first: its position can be corrected once it exists."))
    message = (form.get("message") or "").strip() or None
    errors: dict[str, str] = {}
    try:
        point = _clicked(form, picker_centre(fiche, account))
        if point is not None:
            url = map_link(point)
        else:
            url = (form.get("url-carte") or "").strip()
            point = _pasted(url)
    except Invalid as refused:
        errors.update(refused.field_errors)
    if message is not None and len(message) > CORRECTION_MESSAGE_MAX:
        errors["message"] = _("At most %(max)s characters.") % {"max": CORRECTION_MESSAGE_MAX}
    if errors:
        raise Invalid(next(iter(errors.values())), field_errors=errors)
    if not await CORRECTIONS_PER_ACCOUNT.hit(db, tenant.slug, str(account.id)):
        raise RateLimited(_("You have sent several correction requests today: the service will look at the last "
                            "one; try again tomorrow if needed."))
    correction = await correction_of(db, tenant, account)
    if correction is None:
        correction = PositionCorrection(tenant_id=tenant.slug, account_id=account.id)
        db.add(correction)
    correction.latitude, correction.longitude = point.lat, point.lon
    correction.url, correction.message, correction.state = url, message, "pending"
    correction.requested_at = clock.now()
    correction.reviewed_at = correction.reviewed_by = correction.rejection_reason = None
    await audit.record(db, tenant.slug, EventType.POSITION_CORRECTION_REQUESTED, account_id=account.id, ip=ip)
    await db.flush()
    return correction


def _pasted(url: str) -> Point:
    """The point of a pasted national map link; Invalid with the field's message otherwise."""
    if not url:
        error = _("Paste the address of the national address map (adresse.data.gouv.fr), centred on your home.")
    elif len(url) > CORRECTION_URL_MAX:
        error = _("This address is too long to be a map address.")
    else:
        try:
            return parse_map_url(url)
        except Invalid as refused:
            error = refused.message or ""
    raise Invalid(error, field_errors={"url-carte": error})


async def _fiche_and_account(db: AsyncSession, tenant_id: str, account_id: int) -> tuple[Fiche, Account]:
    row = (await db.execute(
        select(Fiche, Account)
        .join(Account, and_(Account.tenant_id == Fiche.tenant_id, Account.id == Fiche.account_id))
        .where(Fiche.tenant_id == tenant_id, Account.tenant_id == tenant_id, Fiche.account_id == account_id)
    )).first()
    if row is None:
        raise NotFound()
    return row[0], row[1]


async def accept_correction(db: AsyncSession, tenant: Tenant, correction: PositionCorrection, *, by: str) -> bool:
    """Moves her fiche to the requested point, for her current address: the geocoder will not
    move it back until that address changes. False when the request was already decided."""
    tenant_id = tenant.slug
    if correction.tenant_id != tenant_id or correction.state != "pending":
        return False
    fiche, account = await _fiche_and_account(db, tenant_id, correction.account_id)
    fiche.latitude, fiche.longitude = correction.latitude, correction.longitude
    fiche.position_source = "correction"
    fiche.address_hash = address_hash(account.address, account.postal_code, account.city)
    fiche.geocode_score = fiche.geocode_type = fiche.geocode_failed_at = None
    correction.state, correction.reviewed_at, correction.reviewed_by = "accepted", clock.now(), by
    await audit.record(db, tenant_id, EventType.POSITION_CORRECTION_ACCEPTED, account_id=correction.account_id, by=by)
    await fiche_changed(db, tenant, [correction.account_id])  # the search places her anew, in this transaction
    return True


async def reject_correction(db: AsyncSession, tenant_id: str, correction: PositionCorrection, reason: str, *,
                            by: str) -> bool:
    """Refuses the request with a reason she reads on « Ma fiche »; the fiche does not move."""
    reason = " ".join(reason.split())[:REASON_MAX]
    if correction.tenant_id != tenant_id or correction.state != "pending" or not reason:
        return False
    correction.state, correction.reviewed_at, correction.reviewed_by = "rejected", clock.now(), by
    correction.rejection_reason = reason
    await audit.record(db, tenant_id, EventType.POSITION_CORRECTION_REJECTED, account_id=correction.account_id, by=by)
    return True


def distance_m(correction: PositionCorrection, fiche_lat: float | None, fiche_lon: float | None) -> int | None:
    """How far the requested point lies from the fiche's current one, in metres."""
    if fiche_lat is None or fiche_lon is None:
        return None
    return round(1000 * haversine_km(Point(fiche_lat, fiche_lon), Point(correction.latitude, correction.longitude)))
