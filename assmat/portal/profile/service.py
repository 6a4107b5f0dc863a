"""The assistant's fiche: what she writes on « Ma fiche », which contact channels parents see,
the moderation of her free texts where the tenant asks for it, and the public data built from it.

Masking happens here, once, when the public data is built: `PublicFiche` is made only of what
may be shown, so a hidden phone, email or address never reaches a template, a map or an export.
A hidden address is placed at its commune's centre."""

from __future__ import annotations

import re
import secrets
from dataclasses import dataclass, field
from datetime import date
from decimal import Decimal, InvalidOperation
from typing import Any

from sqlalchemy import and_, select, update
from sqlalchemy.ext.asyncio import AsyncSession

from assmat.auth.models import Account
from assmat.core import clock
from assmat.core.db.changes import fiche_changed
from assmat.core.errors import Invalid, NotFound
from assmat.core.i18n import N_
from assmat.core.i18n import gettext as _
from assmat.core.security import audit
from assmat.core.security.audit import EventType
from assmat.portal.agrement.models import Agrement
from assmat.portal.profile.geo import find_commune, neighbours
from assmat.portal.profile.geolocation import adopt_address_position
from assmat.portal.profile.models import OFFER_CODES, Fiche
from assmat.portal.profile.svgmap import MapFigure, Place, render_map
from assmat.portal.publication.service import published_clause
from assmat.portal.structures.models import StructureMember
from assmat.tenants.loader import Tenant

TEXT_MAX = 2000  # a page of text per free field: enough to present oneself, not a blog
SHORT_MAX = 200
REASON_MAX = 500
PUBLIC_ID = re.compile(r"[A-Za-z0-9_-]{12}")  # secrets.token_urlsafe(9): 72 random bits
NEARBY_KM = 12

# (code, English msgid) of the offer flags, in the order the form and the fiche show them.
OFFERS: tuple[tuple[str, str], ...] = (
    ("periscolaire", N_("Before and after school")),
    ("mercredi", N_("Wednesdays")),
    ("vacances_scolaires", N_("School holidays")),
    ("temps_partiel", N_("Part-time")),
    ("avant_7h", N_("Before 7 a.m.")),
    ("apres_20h", N_("After 8 p.m.")),
    ("samedi", N_("Saturdays")),
    ("dimanche", N_("Sundays")),
    ("nuit", N_("At night")),
    ("depannage_urgence", N_("Short-notice or emergency care")),
    ("handicap", N_("Children with a disability")),
)
assert tuple(code for code, _label in OFFERS) == OFFER_CODES
HOUSING = (("appartement", N_("Flat")), ("maison", N_("House")))
# The free texts: form field, fiche column, English label.
TEXTS = (("presentation", "presentation", "Presentation"), ("activites", "activities", "Activities"),
         ("projet", "project", "Childcare project"))
# Amounts: form field, fiche column, (min, max) in euros; the units say what a parent pays for.
RATES = (("tarif-horaire", "hourly_rate_cents", (Decimal("0.5"), Decimal("50"))),
         ("indemnite-entretien", "maintenance_cents", (Decimal("0.5"), Decimal("50"))),
         ("repas", "meal_cents", (Decimal("0.5"), Decimal("30"))))
FLAGS = (("ascenseur", "elevator"), ("jardin", "garden"), ("non-fumeur", "non_smoking"), ("vehicule", "vehicle"),
         ("contact-si-place", "contact_only_if_place"))
SHOWN = (("afficher-telephone", "show_phone"), ("afficher-courriel", "show_email"), ("afficher-adresse", "show_address"))
SHORT_TEXTS = (("animaux", "pets"), ("langues", "languages"), ("horaires-appel", "calling_hours"))
FORM_FIELDS = 50


class InvalidFiche(Invalid):
    """The fiche's form refused: a message per field, nothing saved."""


# -- rules (pure) ----------------------------------------------------------------------------------------


def visibility_refusal(regime: str, *, show_phone: bool, show_email: bool) -> str | None:
    """Which channels she may hide. Under `mandatory_with_masking` (R.421-39 CASF) publication is
    a condition of the agrément: she may hide her address, and her email or her phone, not both.
    Under `opt_out` and `consent` she chose to be published and may hide any of them."""
    if regime == "mandatory_with_masking" and not show_phone and not show_email:
        return _("You may hide your email or your phone, not both: parents must be able to reach you.")
    return None


def _checked(form: dict[str, str], name: str) -> bool:
    return form.get(name, "") in ("1", "on", "oui")


def parse_euros(text: str) -> Decimal | None:
    """« 4,50 », « 4.5 », « 4,50 € » → 4.50; None when it is no amount (two decimals at most)."""
    cleaned = text.replace("€", "").replace("\u00a0", "").replace(" ", "").replace(",", ".")
    if not re.fullmatch(r"\d{1,4}(\.\d{1,2})?", cleaned):
        return None
    try:
        return Decimal(cleaned)
    except InvalidOperation:  # pragma: no cover - the pattern admits only decimals
        return None


def euros(cents: int | None) -> str:
    """4,50 — how a French parent reads an amount."""
    if cents is None:
        return ""
    return f"{cents // 100},{cents % 100:02d}"


def validate_fiche(form: dict[str, str], *, regime: str, show_rates: bool) -> dict[str, Any]:
    """The fiche's column values from the form, or InvalidFiche with a message per field."""
    errors: dict[str, str] = {}
    values: dict[str, Any] = {}
    for name, column, _label in TEXTS:
        text = form.get(name, "").strip().replace("\r\n", "\n")
        if len(text) > TEXT_MAX:
            errors[name] = _("This text is too long: %(max)s characters at most.") % {"max": f"{TEXT_MAX:,}".replace(",", "\u202f")}
        values[column] = text or None
    for name, column in SHORT_TEXTS:
        text = " ".join(form.get(name, "").split())
        if len(text) > SHORT_MAX:
            errors[name] = _("This field is too long: %(max)s characters at most.") % {"max": SHORT_MAX}
        values[column] = text or None
    housing = form.get("logement", "")
    if housing not in ("", *(code for code, _label in HOUSING)):
        errors["logement"] = _("Choose a type of housing from the list.")
    values["housing"] = housing or None
    floor = form.get("etage", "").strip()
    if floor and not (floor.isdigit() and len(floor) <= 2):
        errors["etage"] = _("Give the floor as a number (0 for the ground floor).")
    values["floor"] = int(floor) if floor and not errors.get("etage") else None
    for name, column in FLAGS + SHOWN:
        values[column] = _checked(form, name)
    for code in OFFER_CODES:
        values[f"offer_{code}"] = _checked(form, f"offre-{code}")
    if show_rates:
        for name, column, (low, high) in RATES:
            text = form.get(name, "").strip()
            amount = parse_euros(text) if text else None
            if text and (amount is None or not low <= amount <= high):
                errors[name] = _("Give an amount in euros between %(low)s and %(high)s, for example 4,50.") % {
                    "low": euros(int(low * 100)), "high": euros(int(high * 100))}
            values[column] = int(amount * 100) if amount is not None and name not in errors else None
    refusal = visibility_refusal(regime, show_phone=values["show_phone"], show_email=values["show_email"])
    if refusal:
        errors["afficher-courriel"] = refusal
    if errors:
        raise InvalidFiche(field_errors=errors)
    return values


# -- the assistant's fiche --------------------------------------------------------------------------------


def new_public_id() -> str:
    return secrets.token_urlsafe(9)


async def fiche_of(db: AsyncSession, tenant: Tenant, account: Account) -> Fiche | None:
    return await db.scalar(select(Fiche).where(Fiche.tenant_id == tenant.slug, Fiche.account_id == account.id))


def blank_fiche(tenant: Tenant, account: Account) -> Fiche:
    """The fiche an assistant has before her first save (not stored): every channel shown."""
    return Fiche(tenant_id=tenant.slug, account_id=account.id, public_id="", texts_state="approved",
                 show_phone=True, show_email=True, show_address=True, updated_at=clock.now(),
                 **{column: False for _name, column in FLAGS}, **{f"offer_{code}": False for code in OFFER_CODES})


def shown_texts(fiche: Fiche) -> dict[str, str | None]:
    """The texts her form shows: the ones waiting (or refused) where there are, else the public ones."""
    waiting = fiche.texts_state in ("pending", "rejected")
    return {column: getattr(fiche, f"pending_{column}" if waiting else column) for _name, column, _label in TEXTS}


async def save_fiche(db: AsyncSession, tenant: Tenant, account: Account, form: dict[str, str], *,
                     ip: str | None) -> Fiche:
    """Checks the form (InvalidFiche: nothing changes), then creates or updates her fiche and
    audits it. Where the tenant moderates texts, changed texts wait for the staff and the
    public fiche keeps the approved ones. The caller commits."""
    publication = tenant.config.publication
    assert publication is not None, "the pages of « Ma fiche » exist only where the tenant publishes"
    values = validate_fiche(form, regime=publication.regime, show_rates=publication.show_rates)
    fiche = await fiche_of(db, tenant, account)
    if fiche is None:
        fiche = Fiche(tenant_id=tenant.slug, account_id=account.id, public_id=new_public_id())
        db.add(fiche)
        await adopt_address_position(db, tenant, fiche)  # her address may be located already
    texts = {column: values.pop(column) for _name, column, _label in TEXTS}
    if not publication.show_rates:  # the tenant hides rates: what she typed before stays as it was
        for _name, column, _range in RATES:
            values.pop(column, None)
    for column, value in values.items():
        setattr(fiche, column, value)
    moderated = publication.text_moderation
    if not moderated or all(texts[column] == getattr(fiche, column) for column in texts):
        for column, text in texts.items():
            setattr(fiche, column, text)
            setattr(fiche, f"pending_{column}", None)
        fiche.texts_state = "approved"
    elif any(texts[column] != shown_texts(fiche)[column] for column in texts) or fiche.texts_state != "pending":
        for column, text in texts.items():
            setattr(fiche, f"pending_{column}", text)
        fiche.texts_state, fiche.texts_submitted_at, fiche.rejection_reason = "pending", clock.now(), None
    fiche.updated_at = clock.now()  # also when only a moderated text changed: she did update it
    await db.flush()
    await audit.record(db, tenant.slug, EventType.FICHE_SAVED, account_id=account.id, ip=ip, fiche_id=fiche.id,
                       texts_state=fiche.texts_state)
    await fiche_changed(db, tenant, [account.id])
    return fiche


# -- moderation (the console) -----------------------------------------------------------------------------


async def approve_texts(db: AsyncSession, tenant_id: str, fiche: Fiche, *, by: str) -> bool:
    """The waiting texts become public; False when they were no longer waiting."""
    result = await db.execute(
        update(Fiche)
        .where(Fiche.tenant_id == tenant_id, Fiche.id == fiche.id, Fiche.texts_state == "pending")
        .values(presentation=Fiche.pending_presentation, activities=Fiche.pending_activities,
                project=Fiche.pending_project, pending_presentation=None, pending_activities=None,
                pending_project=None, texts_state="approved", texts_reviewed_at=clock.now(), rejection_reason=None)
        .execution_options(synchronize_session=False)
    )
    if result.rowcount != 1:
        return False
    await audit.record(db, tenant_id, EventType.FICHE_TEXTS_APPROVED, account_id=fiche.account_id, by=by, fiche_id=fiche.id)
    return True


def clean_reason(reason: str) -> str:
    """The reason the assistant will read; Invalid when empty or too long."""
    reason = " ".join(reason.split())
    if not reason or len(reason) > REASON_MAX:
        raise Invalid(_("Give the reason for the refusal (%(max)s characters at most): the childminder reads it on her fiche.")
                      % {"max": REASON_MAX})
    return reason


async def reject_texts(db: AsyncSession, tenant_id: str, fiche: Fiche, reason: str, *, by: str) -> bool:
    """The waiting texts are refused with a reason she reads on « Ma fiche »; the public fiche
    keeps the approved ones. False when they were no longer waiting."""
    reason = clean_reason(reason)
    result = await db.execute(
        update(Fiche)
        .where(Fiche.tenant_id == tenant_id, Fiche.id == fiche.id, Fiche.texts_state == "pending")
        .values(texts_state="rejected", rejection_reason=reason, texts_reviewed_at=clock.now())
        .execution_options(synchronize_session=False)
    )
    if result.rowcount != 1:
        return False
    await audit.record(db, tenant_id, EventType.FICHE_TEXTS_REJECTED, account_id=fiche.account_id, by=by, fiche_id=fiche.id)
    return True


# -- the public data --------------------------------------------------------------------------------------


@dataclass(frozen=True)
class Rates:
    hourly: str | None
    maintenance: str | None
    meal: str | None


@dataclass(frozen=True)
class PublicFiche:
    """Everything the public fiche shows, and nothing else: a hidden field is never loaded here."""

    public_id: str
    account_id: int  # for the availability and photos parts (never rendered)
    name: str
    city: str | None
    postal_code: str | None
    address: str | None  # None when hidden
    phone: str | None
    email: str | None
    address_hidden: bool
    calling_hours: str | None
    contact_only_if_place: bool
    presentation: str | None
    activities: str | None
    project: str | None
    housing: str | None  # label
    floor: int | None
    elevator: bool
    garden: bool
    pets: str | None
    non_smoking: bool
    vehicle: bool
    rates: Rates | None  # None where the tenant shows no rates
    languages: str | None
    offers: list[str] = field(default_factory=list)  # labels
    capacity: int | None = None
    agrement_end: date | None = None
    updated_on: date | None = None
    map: MapFigure | None = None


def place_on_map(fiche: Fiche, account: Account, *, address_shown: bool) -> MapFigure | None:
    """The exact place when the address is shown and located; otherwise the commune's centre
    (within ~1 km); no commune known → no map. The fiche's own coordinates are never read when
    the address is hidden."""
    commune = find_commune(account.postal_code, account.city)
    name = commune.name if commune else (account.city or "")
    if address_shown and fiche.latitude is not None and fiche.longitude is not None:
        latitude, longitude, approximate = fiche.latitude, fiche.longitude, False
    elif commune is not None:
        latitude, longitude, approximate = commune.latitude, commune.longitude, True
    else:
        return None
    nearby = [Place(c.name, c.latitude, c.longitude)
              for c in neighbours(latitude, longitude, within_km=NEARBY_KM, exclude=commune.insee if commune else None)]
    return render_map(latitude, longitude, commune=name, approximate=approximate, address_hidden=not address_shown,
                      nearby=nearby)


def build_public_fiche(tenant: Tenant, account: Account, fiche: Fiche, agrement: Agrement | None) -> PublicFiche:
    """The public data of one fiche, masked by her choices (pure: tested without a database)."""
    publication = tenant.config.publication
    show_rates = publication is not None and publication.show_rates
    name = " ".join(part for part in (account.first_name, account.last_name) if part) or _("Childminder")
    address_shown = bool(fiche.show_address)
    return PublicFiche(
        public_id=fiche.public_id,
        account_id=account.id,
        name=name,
        city=account.city,
        postal_code=account.postal_code,
        address=account.address if address_shown else None,
        phone=account.phone if fiche.show_phone else None,
        email=account.email if fiche.show_email else None,
        address_hidden=not address_shown,
        calling_hours=fiche.calling_hours,
        contact_only_if_place=bool(fiche.contact_only_if_place),
        presentation=fiche.presentation,
        activities=fiche.activities,
        project=fiche.project,
        housing=_(dict(HOUSING)[fiche.housing]) if fiche.housing in dict(HOUSING) else None,
        floor=fiche.floor,
        elevator=bool(fiche.elevator),
        garden=bool(fiche.garden),
        pets=fiche.pets,
        non_smoking=bool(fiche.non_smoking),
        vehicle=bool(fiche.vehicle),
        rates=Rates(euros(fiche.hourly_rate_cents) or None, euros(fiche.maintenance_cents) or None,
                    euros(fiche.meal_cents) or None) if show_rates else None,
        languages=fiche.languages,
        offers=[_(label) for code, label in OFFERS if getattr(fiche, f"offer_{code}")],
        capacity=agrement.capacity if agrement else None,
        agrement_end=agrement.end_date if agrement else None,
        updated_on=clock.local(fiche.updated_at).date() if fiche.updated_at else None,
        map=place_on_map(fiche, account, address_shown=address_shown),
    )


async def _current_agrement(db: AsyncSession, tenant: Tenant, account_id: int) -> Agrement | None:
    return await db.scalar(
        select(Agrement).where(Agrement.tenant_id == tenant.slug, Agrement.account_id == account_id)
        .order_by(Agrement.start_date.desc().nulls_last(), Agrement.id.desc()).limit(1)
    )


async def preview_fiche(db: AsyncSession, tenant: Tenant, account: Account) -> PublicFiche:
    """Her fiche as parents will see it once published (before her first save: a blank one)."""
    fiche = await fiche_of(db, tenant, account) or blank_fiche(tenant, account)
    return build_public_fiche(tenant, account, fiche, await _current_agrement(db, tenant, account.id))


async def public_fiche(db: AsyncSession, tenant: Tenant, public_id: str) -> PublicFiche:
    """A published fiche of this tenant by its public id; NotFound when the id is malformed,
    unknown, another tenant's, or the fiche is not published (one answer for all)."""
    if not PUBLIC_ID.fullmatch(public_id):
        raise NotFound()
    row = (await db.execute(
        select(Fiche, Account)
        .join(Account, and_(Account.tenant_id == Fiche.tenant_id, Account.id == Fiche.account_id))
        .where(Fiche.tenant_id == tenant.slug, Account.tenant_id == tenant.slug, Fiche.public_id == public_id,
               published_clause(tenant))
    )).first()
    if row is None:
        raise NotFound()
    fiche, account = row
    return build_public_fiche(tenant, account, fiche, await _current_agrement(db, tenant, account.id))


# -- a structure's public fiche (MAM, relais) -------------------------------------------------------------

@dataclass(frozen=True)
class PublishedMember:
    name: str
    public_id: str
    city: str | None


async def published_members(db: AsyncSession, tenant: Tenant, structure_id: int) -> list[PublishedMember]:
    """The assistants of a MAM whose fiche is published, by name: the MAM's page links to those
    only (an unpublished member is not named there)."""
    rows = await db.execute(
        select(Account.first_name, Account.last_name, Account.city, Fiche.public_id)
        .join(StructureMember, and_(StructureMember.tenant_id == Account.tenant_id,
                                    StructureMember.account_id == Account.id))
        .join(Fiche, and_(Fiche.tenant_id == Account.tenant_id, Fiche.account_id == Account.id))
        .where(Account.tenant_id == tenant.slug, StructureMember.tenant_id == tenant.slug,
               Fiche.tenant_id == tenant.slug, StructureMember.structure_id == structure_id, published_clause(tenant))
        .order_by(Account.last_name, Account.first_name, Account.id))
    return [PublishedMember(" ".join(part for part in (first, last) if part) or "—", public_id, city)
            for first, last, city, public_id in rows.all()]
