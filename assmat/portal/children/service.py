"""Declaring a hosted child (seed 001 §2.4): the form's rules, without any web framework.

Form field names (what the page posts, and the keys of the returned `errors`):

    enfant-nom, enfant-prenom, enfant-naissance            child (required)
    rl1-civilite, rl1-nom, rl1-prenom, rl1-courriel, rl1-telephone
    rl2-civilite, rl2-nom, rl2-prenom, rl2-courriel, rl2-telephone
                                                           guardians 1 and 2 (optional, checked when given)
    adresse, code-postal, commune                          main address (required)
    adresse-secondaire-cochee                              checkbox: any non-blank value means checked
    adresse-secondaire, code-postal-secondaire, commune-secondaire
                                                           required only when the box is checked
    periode-N-type, periode-N-debut, periode-N-fin, periode-N-heures, periode-N-commentaire
                                                           care periods, N = 0, 1, 2… (any non-negative
                                                           integers, taken in increasing order; a row whose
                                                           five fields are all blank is ignored, so the
                                                           page may always post an empty last row)

Dates are JJ/MM/AAAA (AAAA-MM-JJ, what `<input type="date">` posts, is accepted too).
`errors` maps a field name to the message shown under it; "periode-0-type" carries the error
when no period at all is given. `banner` holds the messages of the red "ERREUR" banner: the
seed's three "… est un champ requis." lines when an address is missing altogether.

Messages are in MESSAGES below, by id, translated through the Babel catalog in the request's
language (French: the seed's wording).

Below the rule, the stored children: every query is bound to the assistant's tenant and
account, so another assistant's child is NotFound, never data.
"""

from __future__ import annotations

import re
from collections.abc import Iterable, Mapping, Sequence
from dataclasses import dataclass, fields
from functools import cache
from datetime import date, datetime
from typing import Any, Protocol

from sqlalchemy import Date, Integer, Select, String, bindparam, delete, or_, select
from sqlalchemy.ext.asyncio import AsyncSession
from sqlalchemy.orm import selectinload

from assmat.auth.models import Account
from assmat.core import clock
from assmat.core.errors import Invalid, NotFound
from assmat.core.i18n import gettext
from assmat.core.security import audit
from assmat.core.security.audit import EventType
from assmat.core.mail.address import plain_address
from assmat.portal.children.models import CarePeriod, Child, Guardian
from assmat.tenants.loader import Tenant
from assmat.core.i18n import N_
from assmat.tenants.schema import ChildcareType

# English msgids; the French catalog holds the seed's wording. Placeholders are str.format's.
MESSAGES: dict[str, str] = {
    # Under a field (seed 001 §2.4.1: "Veuillez renseigner ce champ").
    "children.required": N_("Please fill in this field"),
    "children.date_invalid": N_("Invalid date, expected format: DD/MM/YYYY"),
    "children.birth_date_future": N_("The date of birth cannot be in the future"),
    "children.too_long": N_("This field must not exceed {max} characters"),
    "children.civility_invalid": N_("Invalid title: choose Madame or Monsieur"),
    "children.email_invalid": N_("Invalid email address"),
    "children.phone_invalid": N_("Invalid phone number: 10 digits expected"),
    "children.postal_code_invalid": N_("The postcode must have 5 digits"),
    "children.type_unknown": N_("Unknown type of care"),
    "children.end_before_start": N_("The end date must be on or after the start date"),
    "children.hours_invalid": N_("The number of hours per month must be a positive whole number"),
    # Seed 001 §2.4.1, with the tenant's label.
    "children.hours_wrong_type": N_("To enter the number of hours per month, give the period the type of care « {label} »"),
    "children.hours_not_allowed": N_("The number of hours per month cannot be entered for this type of care"),
    "children.hours_over_cap": N_("the number of hours entered exceeds {max}h per month"),
    "children.days_over_cap": N_("the length entered exceeds {max} days per year (a period of {days} days)"),
    # Banner (seed 001 §2.4.1, wording of the screenshot).
    "children.banner.address": N_("\"Main address\" is a required field."),
    "children.banner.postal_code": N_("\"Postcode of the main address\" is a required field."),
    "children.banner.city": N_("\"Town of the main address\" is a required field."),
    "children.banner.second_address": N_("\"Second address\" is a required field."),
    "children.banner.second_postal_code": N_("\"Postcode of the second address\" is a required field."),
    "children.banner.second_city": N_("\"Town of the second address\" is a required field."),
}

CIVILITIES = ("Madame", "Monsieur")
LATE_AFTER_DAYS = 8  # "La loi vous oblige à déclarer sous 8 jours les enfants accueillis"

_NAME_MAX = 100
_ADDRESS_MAX = 300
_EMAIL_MAX = 254
_COMMENT_MAX = 500
# ASCII digits only: "²" or "٣" are digits to str.isdigit(), not to int() or to the page.
_PERIOD_FIELD = re.compile(r"^periode-([0-9]{1,6})-(type|debut|fin|heures|commentaire)$")
_PHONE = re.compile(r"0\d{9}")
_POSTAL_CODE = re.compile(r"\d{5}")


@dataclass(frozen=True)
class GuardianInput:
    """Same attribute names as `assmat.portal.children.models.Guardian`."""

    civility: str | None = None
    last_name: str | None = None
    first_name: str | None = None
    email: str | None = None
    phone: str | None = None  # digits only: "0612345678"

    @property
    def given(self) -> bool:
        """Any detail given: only such a guardian is stored."""
        return any(getattr(self, field.name) for field in fields(self))


@dataclass(frozen=True)
class Address:
    address: str
    postal_code: str
    city: str


@dataclass(frozen=True)
class PeriodInput:
    """Same attribute names as `assmat.portal.children.models.CarePeriod`."""

    childcare_type: str
    start_date: date
    end_date: date | None = None
    hours_per_month: int | None = None
    comment: str | None = None


@dataclass(frozen=True)
class Declaration:
    last_name: str
    first_name: str
    birth_date: date
    guardian1: GuardianInput
    guardian2: GuardianInput
    main_address: Address
    second_address: Address | None  # None: the box is not checked
    periods: list[PeriodInput]

    @property
    def has_second_address(self) -> bool:
        return self.second_address is not None


class _Period(Protocol):
    @property
    def start_date(self) -> date: ...

    @property
    def end_date(self) -> date | None: ...


def message(message_id: str, **values: object) -> str:
    return gettext(MESSAGES[message_id]).format(**values)


def parse_date(value: str) -> date | None:
    """JJ/MM/AAAA or AAAA-MM-JJ; None when not a real date."""
    value = value.strip()
    for pattern, fmt in ((r"\d{2}/\d{2}/\d{4}", "%d/%m/%Y"), (r"\d{4}-\d{2}-\d{2}", "%Y-%m-%d")):
        if re.fullmatch(pattern, value):
            try:
                return datetime.strptime(value, fmt).date()
            except ValueError:
                return None
    return None


class _Form:
    """Reads stripped values and collects errors; the first error of a field wins."""

    def __init__(self, data: Mapping[str, str]) -> None:
        self.data = data
        self.errors: dict[str, str] = {}
        self.banner: list[str] = []

    def value(self, name: str) -> str:
        return (self.data.get(name) or "").strip()

    def error(self, name: str, message_id: str, **values: object) -> None:
        self.errors.setdefault(name, message(message_id, **values))

    def text(self, name: str, max_length: int, *, required: bool) -> str | None:
        value = self.value(name)
        if not value:
            if required:
                self.error(name, "children.required")
            return None
        if len(value) > max_length:
            self.error(name, "children.too_long", max=max_length)
        return value

    def date(self, name: str, *, required: bool) -> date | None:
        value = self.value(name)
        if not value:
            if required:
                self.error(name, "children.required")
            return None
        parsed = parse_date(value)
        if parsed is None:
            self.error(name, "children.date_invalid")
        return parsed


def _guardian(form: _Form, prefix: str) -> GuardianInput:
    civility = form.value(f"{prefix}-civilite") or None
    if civility is not None and civility not in CIVILITIES:
        form.error(f"{prefix}-civilite", "children.civility_invalid")
    email = form.text(f"{prefix}-courriel", _EMAIL_MAX, required=False)
    if email is not None and plain_address(email) is None:
        form.error(f"{prefix}-courriel", "children.email_invalid")
    phone = form.value(f"{prefix}-telephone") or None
    if phone is not None:
        phone = re.sub(r"[ .]", "", phone)
        if not _PHONE.fullmatch(phone):
            form.error(f"{prefix}-telephone", "children.phone_invalid")
    return GuardianInput(
        civility=civility,
        last_name=form.text(f"{prefix}-nom", _NAME_MAX, required=False),
        first_name=form.text(f"{prefix}-prenom", _NAME_MAX, required=False),
        email=email,
        phone=phone,
    )


def _address(form: _Form, names: tuple[str, str, str], banner_ids: tuple[str, str, str]) -> Address | None:
    if not any(form.value(name) for name in names):
        form.banner.extend(message(message_id) for message_id in banner_ids)
    address = form.text(names[0], _ADDRESS_MAX, required=True)
    postal_code = form.value(names[1])
    if not postal_code:
        form.error(names[1], "children.required")
    elif not _POSTAL_CODE.fullmatch(postal_code):
        form.error(names[1], "children.postal_code_invalid")
    city = form.text(names[2], _NAME_MAX, required=True)
    if address and postal_code and city:
        return Address(address, postal_code, city)
    return None


def period_index(field: str) -> int | None:
    """N of a `periode-N-…` field name; None for any other name, malformed ones included."""
    match = _PERIOD_FIELD.match(field)
    return int(match.group(1)) if match else None


def _period_indexes(data: Mapping[str, str]) -> list[int]:
    return sorted({index for key in data if (index := period_index(key)) is not None})


def _period(form: _Form, index: int, types: Mapping[str, ChildcareType], hours_type: ChildcareType | None) -> PeriodInput | None:
    name = f"periode-{index}-"
    code = form.value(name + "type")
    kind = types.get(code)
    if not code:
        form.error(name + "type", "children.required")
    elif kind is None:
        form.error(name + "type", "children.type_unknown")
    start = form.date(name + "debut", required=True)
    # An open-ended period cannot be held to a yearly day cap: its end date is required too.
    end_required = kind is not None and (kind.requires_end_date or kind.max_days_per_year is not None)
    end = form.date(name + "fin", required=end_required)
    if start and end and end < start:
        form.error(name + "fin", "children.end_before_start")
    if kind is not None and kind.max_days_per_year is not None and start and end and end >= start:
        days = (end - start).days + 1
        if days > kind.max_days_per_year:
            form.error(name + "fin", "children.days_over_cap", max=kind.max_days_per_year, days=days)

    hours: int | None = None
    raw_hours = form.value(name + "heures")
    if raw_hours:
        if kind is not None and kind.max_hours_per_month is None:
            if hours_type is not None:
                form.error(name + "heures", "children.hours_wrong_type", label=hours_type.label)
            else:
                form.error(name + "heures", "children.hours_not_allowed")
        elif not re.fullmatch(r"\d+", raw_hours) or int(raw_hours) < 1:
            form.error(name + "heures", "children.hours_invalid")
        else:
            hours = int(raw_hours)
            if kind is not None and kind.max_hours_per_month is not None and hours > kind.max_hours_per_month:
                form.error(name + "heures", "children.hours_over_cap", max=kind.max_hours_per_month)
    comment = form.text(name + "commentaire", _COMMENT_MAX, required=False)
    if kind is None or start is None or (end_required and end is None):
        return None
    return PeriodInput(childcare_type=code, start_date=start, end_date=end, hours_per_month=hours, comment=comment)


def validate_declaration(
    data: Mapping[str, str], childcare_types: list[ChildcareType], today: date
) -> tuple[Declaration | None, dict[str, str], list[str]]:
    """Check a posted form against seed 001 §2.4.1 and the tenant's childcare types.

    Returns (declaration, {}, []) when valid, else (None, errors by field, banner messages)."""
    form = _Form(data)
    last_name = form.text("enfant-nom", _NAME_MAX, required=True)
    first_name = form.text("enfant-prenom", _NAME_MAX, required=True)
    birth_date = form.date("enfant-naissance", required=True)
    if birth_date is not None and birth_date > today:
        form.error("enfant-naissance", "children.birth_date_future")

    guardian1 = _guardian(form, "rl1")
    guardian2 = _guardian(form, "rl2")

    main_address = _address(
        form,
        ("adresse", "code-postal", "commune"),
        ("children.banner.address", "children.banner.postal_code", "children.banner.city"),
    )
    second_address = None
    has_second_address = bool(form.value("adresse-secondaire-cochee"))
    if has_second_address:
        second_address = _address(
            form,
            ("adresse-secondaire", "code-postal-secondaire", "commune-secondaire"),
            ("children.banner.second_address", "children.banner.second_postal_code", "children.banner.second_city"),
        )

    types = {kind.code: kind for kind in childcare_types}
    hours_type = next((kind for kind in childcare_types if kind.max_hours_per_month is not None), None)
    periods: list[PeriodInput | None] = []
    for index in _period_indexes(data):
        fields = ("type", "debut", "fin", "heures", "commentaire")
        if not any(form.value(f"periode-{index}-{field}") for field in fields):
            continue
        periods.append(_period(form, index, types, hours_type))
    if not periods:
        form.error("periode-0-type", "children.required")

    if form.errors or form.banner:
        return None, form.errors, form.banner
    assert last_name and first_name and birth_date and main_address  # no error: all given
    return (
        Declaration(
            last_name=last_name,
            first_name=first_name,
            birth_date=birth_date,
            guardian1=guardian1,
            guardian2=guardian2,
            main_address=main_address,
            second_address=second_address,
            periods=[period for period in periods if period is not None],
        ),
        {},
        [],
    )


def in_history(periods: Iterable[_Period], today: date) -> bool:
    """Seed 001 §2.4.3: every care period has ended before today (and there is at least one)."""
    periods = list(periods)
    return bool(periods) and all(p.end_date is not None and p.end_date < today for p in periods)


def is_current(periods: Iterable[_Period], today: date) -> bool:
    """At least one care period still running or to come: listed under "Enfants accueillis"."""
    return not in_history(periods, today)


def is_late(declared_at: date, periods: Sequence[_Period]) -> bool:
    """Declared more than 8 days after the earliest start ("déclarer sous 8 jours")."""
    if not periods:
        return False
    earliest = min(p.start_date for p in periods)
    return (declared_at - earliest).days > LATE_AFTER_DAYS


# -- stored children -----------------------------------------------------------------------------



class InvalidDeclaration(Invalid):
    """validate_declaration's refusal: the errors by field, and the banner's messages."""

    def __init__(self, field_errors: dict[str, str], banner: list[str]):
        super().__init__(field_errors=field_errors)
        self.banner = banner


def periods_query(tenant_slug: str, child_id: int) -> Select[tuple[CarePeriod]]:
    """A child's care periods in their order (the portal's pages and the console's details)."""
    return (
        select(CarePeriod)
        .where(CarePeriod.child_id == child_id, CarePeriod.tenant_id == tenant_slug)
        .order_by(CarePeriod.start_date, CarePeriod.id)
    )


async def owned_child(db: AsyncSession, tenant: Tenant, account: Account, child_id: int) -> tuple[Child, list[CarePeriod]]:
    """The assistant's own child, its guardians loaded, and its periods, else NotFound."""
    child = await db.scalar(
        select(Child).where(Child.id == child_id, Child.tenant_id == tenant.slug, Child.account_id == account.id)
        .options(selectinload(Child.guardians.and_(Guardian.tenant_id == tenant.slug)))
    )
    if child is None:
        raise NotFound()
    return child, list(await db.scalars(periods_query(tenant.slug, child.id)))


async def editable_child(
    db: AsyncSession, tenant: Tenant, account: Account, child_id: int, day: date
) -> tuple[Child, list[CarePeriod]]:
    """The assistant's own child, if it may still change: the history is read-only (seed 001
    §2.4.3), so a child whose periods all ended is NotFound for edit and delete."""
    child, periods = await owned_child(db, tenant, account, child_id)
    if in_history(periods, day):
        raise NotFound()
    return child, periods


# The space's reading statements, built once, their values bound at each request (the dashboard
# and the children's page run them on every view).
_TENANT, _OWNER = bindparam("tenant_id", type_=String), bindparam("account_id", type_=Integer)
HOSTED_CHILDREN = (
    select(Child).where(Child.tenant_id == _TENANT, Child.account_id == _OWNER)
    .order_by(Child.last_name, Child.first_name, Child.id)
)
HOSTED_PERIODS = (
    select(CarePeriod)
    .join(Child, Child.id == CarePeriod.child_id)
    .where(Child.tenant_id == _TENANT, Child.account_id == _OWNER, CarePeriod.tenant_id == _TENANT)
    .order_by(CarePeriod.start_date, CarePeriod.id)
)


@cache
def _current_children_statement(limit: int) -> Any:
    running = select(CarePeriod.id).where(
        CarePeriod.child_id == Child.id, CarePeriod.tenant_id == _TENANT,
        or_(CarePeriod.end_date.is_(None), CarePeriod.end_date >= bindparam("day", type_=Date)),
    )
    return (
        select(Child.id, Child.first_name, Child.last_name, Child.care_start)
        .where(Child.tenant_id == _TENANT, Child.account_id == _OWNER, running.exists())
        .order_by(Child.last_name, Child.first_name, Child.id).limit(limit)
    )


async def current_children(db: AsyncSession, tenant: Tenant, account: Account, day: date, limit: int) -> list[Any]:
    """The children with a care period still running or to come (not in the history), as rows
    of what the dashboard's list shows (id, names, start of care): one query."""
    statement = _current_children_statement(limit)
    return list(await db.execute(statement, {"tenant_id": tenant.slug, "account_id": account.id, "day": day}))


async def hosted_children(
    db: AsyncSession, tenant: Tenant, account: Account, day: date
) -> tuple[list[dict[str, Any]], list[dict[str, Any]]]:
    """The assistant's children, current then history, each with its periods: two queries,
    however many children."""
    owner = {"tenant_id": tenant.slug, "account_id": account.id}
    children = list(await db.scalars(HOSTED_CHILDREN, owner))
    periods: dict[int, list[CarePeriod]] = {child.id: [] for child in children}
    rows = await db.scalars(HOSTED_PERIODS, owner)
    for period in rows:
        periods[period.child_id].append(period)
    current: list[dict[str, Any]] = []
    history: list[dict[str, Any]] = []
    for child in children:
        entry = {"child": child, "periods": periods[child.id], "late": child.declared_late}
        (history if in_history(periods[child.id], day) else current).append(entry)
    return current, history


def _checked(tenant: Tenant, values: Mapping[str, str], day: date) -> Declaration:
    declaration, errors, banner = validate_declaration(values, tenant.config.childcare_types, day)
    if declaration is None:
        raise InvalidDeclaration(errors, banner)
    return declaration


def _set_guardian(child: Child, position: int, details: GuardianInput) -> None:
    """Updated in place, so a guardian keeps its row (and what will link to it) across edits;
    a guardian left empty has no row."""
    row = child.guardian(position)
    if not details.given:
        if row is not None:
            child.guardians.remove(row)  # delete-orphan: the row goes with the flush
        return
    if row is None:
        row = Guardian(tenant_id=child.tenant_id, position=position)
        child.guardians.append(row)
    for attribute in ("civility", "last_name", "first_name", "email", "phone"):
        setattr(row, attribute, getattr(details, attribute))


def _apply(child: Child, declaration: Declaration) -> None:
    """The declaration's values on the child; its declaration time is already set."""
    child.care_start = min(period.start_date for period in declaration.periods)
    child.declared_late = is_late(clock.local(child.declared_at).date(), declaration.periods)
    child.last_name = declaration.last_name
    child.first_name = declaration.first_name
    child.birth_date = declaration.birth_date
    for position, details in ((1, declaration.guardian1), (2, declaration.guardian2)):
        _set_guardian(child, position, details)
    child.address = declaration.main_address.address
    child.postal_code = declaration.main_address.postal_code
    child.city = declaration.main_address.city
    second = declaration.second_address
    child.has_second_address = second is not None
    child.second_address = second.address if second else None
    child.second_postal_code = second.postal_code if second else None
    child.second_city = second.city if second else None


def _add_periods(db: AsyncSession, tenant: Tenant, child: Child, declaration: Declaration) -> None:
    for period in declaration.periods:
        db.add(CarePeriod(
            tenant_id=tenant.slug, child_id=child.id, childcare_type=period.childcare_type, start_date=period.start_date,
            end_date=period.end_date, hours_per_month=period.hours_per_month, comment=period.comment,
        ))


async def declare_child(
    db: AsyncSession, tenant: Tenant, account: Account, values: Mapping[str, str], *, day: date, ip: str | None
) -> Child:
    """A new child from the posted form (InvalidDeclaration when refused). The caller commits."""
    declaration = _checked(tenant, values, day)
    child = Child(tenant_id=tenant.slug, account_id=account.id, declared_at=clock.now())
    _apply(child, declaration)
    db.add(child)
    await db.flush()
    _add_periods(db, tenant, child, declaration)
    await audit.record(db, tenant.slug, EventType.CHILD_CREATED, account_id=account.id, ip=ip,
                       child_id=child.id, periods=len(declaration.periods))
    return child


async def update_child(
    db: AsyncSession, tenant: Tenant, account: Account, child: Child, values: Mapping[str, str], *, day: date,
    ip: str | None,
) -> None:
    """The editable child (editable_child) from the posted form, its periods replaced
    (InvalidDeclaration when refused). The caller commits."""
    declaration = _checked(tenant, values, day)
    _apply(child, declaration)
    await db.execute(delete(CarePeriod).where(CarePeriod.child_id == child.id, CarePeriod.tenant_id == tenant.slug))
    _add_periods(db, tenant, child, declaration)
    await audit.record(db, tenant.slug, EventType.CHILD_UPDATED, account_id=account.id, ip=ip,
                       child_id=child.id, periods=len(declaration.periods))


async def delete_child(db: AsyncSession, tenant: Tenant, account: Account, child: Child, *, ip: str | None) -> None:
    """The editable child (editable_child) and its periods. The caller commits."""
    await db.execute(delete(CarePeriod).where(CarePeriod.child_id == child.id, CarePeriod.tenant_id == tenant.slug))
    await db.execute(delete(Child).where(
        Child.id == child.id, Child.tenant_id == tenant.slug, Child.account_id == account.id
    ))
    await audit.record(db, tenant.slug, EventType.CHILD_DELETED, account_id=account.id, ip=ip, child_id=child.id)
