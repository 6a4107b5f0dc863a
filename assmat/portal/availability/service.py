"""Availability: the queries and changes of the assistant's declaration, what the public fiche
and the dashboard show of it, the console's « disponibilités périmées » filter, and the reminder
emails. The rules themselves are pure functions in assmat.portal.availability.rules.

Every statement names the tenant; every declaration is reached through its account."""

from __future__ import annotations

from collections import defaultdict
from datetime import date, timedelta

from sqlalchemy import ColumnElement, and_, delete, exists, select
from sqlalchemy.exc import IntegrityError
from sqlalchemy.ext.asyncio import AsyncSession

from assmat.auth.models import Account
from assmat.core import clock
from assmat.core.db.changes import fiche_changed
from assmat.core.mail.outbox import enqueue
from assmat.core.security import audit
from assmat.core.security.audit import EventType
from assmat.portal.availability.models import (
    AvailabilityDeclaration,
    AvailabilityException,
    AvailabilityReminder,
    AvailableSlot,
    AvailablePlace,
)
from assmat.portal.availability.rules import (
    DatedException,
    DeclarationInput,
    Declared,
    GlobalState,
    Place,
    PublicAvailability,
    add_months,
    availability_label,
    availability_state,
    french,
    views_of,
)
from assmat.tenants.loader import Tenant

__all__ = [
    "PublicAvailability", "availability_label", "availability_state", "declared_of", "public_availability",
    "save_declaration", "send_reminders", "stale_clause", "state_of",
]

# Reminders « pensez à mettre à jour vos disponibilités » before 1 June and 1 December (when
# families look for September and January): sent from SEASON_NOTICE_DAYS before each deadline
# (17 May, 16 November), by the daily `assmat availability-reminders`; a day the command did not
# run is caught up the next day, and never twice (AvailabilityReminder's unique key).
SEASON_DEADLINES = ((6, 1), (12, 1))
SEASON_NOTICE_DAYS = 15
# « Votre place se libère le … »: one month before a declared future date.
PLACE_NOTICE_MONTHS = 1
AVAILABILITY_PATH = "/espace/disponibilites"


def offers_availability(tenant: Tenant) -> bool:
    return tenant.config.offers("availability")


async def declared_of(db: AsyncSession, tenant: Tenant, account_id: int) -> Declared | None:
    """The account's declaration with its places, grids and exceptions (four small queries)."""
    declaration = (await db.execute(select(AvailabilityDeclaration).where(
        AvailabilityDeclaration.tenant_id == tenant.slug, AvailabilityDeclaration.account_id == account_id,
    ))).scalar_one_or_none()
    if declaration is None:
        return None
    places = (await db.execute(select(AvailablePlace).where(
        AvailablePlace.tenant_id == tenant.slug, AvailablePlace.declaration_id == declaration.id,
    ).order_by(AvailablePlace.position))).scalars().all()
    slots: dict[int, set[tuple[int, str]]] = defaultdict(set)
    if places:
        for place_id, weekday, slot in (await db.execute(select(
            AvailableSlot.place_id, AvailableSlot.weekday, AvailableSlot.slot,
        ).where(AvailableSlot.tenant_id == tenant.slug, AvailableSlot.place_id.in_([p.id for p in places])))).all():
            slots[place_id].add((weekday, slot))
    exceptions = (await db.execute(select(AvailabilityException).where(
        AvailabilityException.tenant_id == tenant.slug, AvailabilityException.declaration_id == declaration.id,
    ).order_by(AvailabilityException.day, AvailabilityException.id))).scalars().all()
    return Declared(
        declared_on=declaration.declared_on, valid_until=declaration.valid_until,
        none_available=declaration.none_available,
        places=tuple(Place(p.age_group, p.places, p.free_from, p.free_until, p.kind, frozenset(slots[p.id]))
                     for p in places),
        exceptions=tuple(DatedException(e.day, e.slot, e.available) for e in exceptions),
    )


async def public_availability(db: AsyncSession, tenant: Tenant, account_id: int) -> PublicAvailability | None:
    """What the public fiche shows of the assistant's availability, in the tenant's forms
    (`features.availability`); None when the tenant offers none. Holds availability only."""
    if not offers_availability(tenant):
        return None
    settings = tenant.config.availability
    return views_of(await declared_of(db, tenant, account_id), tenant.config.features.availability, settings,
                    clock.today())


async def state_of(db: AsyncSession, tenant: Tenant, account_id: int) -> GlobalState | None:
    """The dashboard's line: the global state and its label; None when the tenant offers none."""
    if not offers_availability(tenant):
        return None
    return availability_state(await declared_of(db, tenant, account_id), clock.today(),
                              tenant.config.availability.validity_months)


async def save_declaration(
    db: AsyncSession, tenant: Tenant, account: Account, data: DeclarationInput, *, ip: str | None,
) -> AvailabilityDeclaration:
    """Replaces the account's declaration with `data` (validated by rules.validate_declaration):
    declared today, valid `validity_months` from today. The caller commits."""
    today = clock.today()
    declaration = (await db.execute(select(AvailabilityDeclaration).where(
        AvailabilityDeclaration.tenant_id == tenant.slug, AvailabilityDeclaration.account_id == account.id,
    ))).scalar_one_or_none()
    if declaration is None:
        declaration = AvailabilityDeclaration(tenant_id=tenant.slug, account_id=account.id)
        db.add(declaration)
    else:
        # Children first, explicitly: a bulk DELETE never leans on the backend's ON DELETE CASCADE.
        place_ids = select(AvailablePlace.id).where(AvailablePlace.tenant_id == tenant.slug,
                                                    AvailablePlace.declaration_id == declaration.id)
        await db.execute(delete(AvailableSlot).where(AvailableSlot.tenant_id == tenant.slug,
                                                     AvailableSlot.place_id.in_(place_ids)))
        await db.execute(delete(AvailablePlace).where(AvailablePlace.tenant_id == tenant.slug,
                                                      AvailablePlace.declaration_id == declaration.id))
        await db.execute(delete(AvailabilityException).where(AvailabilityException.tenant_id == tenant.slug,
                                                             AvailabilityException.declaration_id == declaration.id))
    declaration.declared_at = clock.now()
    declaration.declared_on = today
    declaration.valid_until = add_months(today, tenant.config.availability.validity_months)
    declaration.none_available = data.none_available
    await db.flush()
    for position, place in enumerate(data.places):
        row = AvailablePlace(tenant_id=tenant.slug, declaration_id=declaration.id, position=position,
                             age_group=place.age_group, places=place.places, free_from=place.free_from,
                             free_until=place.free_until, kind=place.kind)
        db.add(row)
        await db.flush()
        db.add_all(AvailableSlot(tenant_id=tenant.slug, place_id=row.id, weekday=weekday, slot=slot)
                   for weekday, slot in sorted(place.slots))
    db.add_all(AvailabilityException(tenant_id=tenant.slug, declaration_id=declaration.id, day=e.day, slot=e.slot,
                                     available=e.available) for e in data.exceptions)
    await audit.record(db, tenant.slug, EventType.AVAILABILITY_DECLARED, account_id=account.id, ip=ip,
                       places=sum(place.places for place in data.places), none_available=data.none_available)
    await fiche_changed(db, tenant, [account.id])
    return declaration


def stale_clause(tenant: Tenant, today: date) -> ColumnElement[bool]:
    """Over `Account`: true when the assistant's declaration is missing or out of date (the
    console's « disponibilités périmées » filter; grey on the fiche)."""
    current = exists().where(
        AvailabilityDeclaration.tenant_id == tenant.slug,
        AvailabilityDeclaration.account_id == Account.id,
        AvailabilityDeclaration.valid_until >= today,
    )
    return and_(Account.tenant_id == tenant.slug, ~current)


# -- reminders -------------------------------------------------------------------------------------


def season_deadline(today: date) -> date | None:
    """The 1 June or 1 December whose reminder window (SEASON_NOTICE_DAYS before it) holds today."""
    for year in (today.year, today.year + 1):
        for month, day in SEASON_DEADLINES:
            deadline = date(year, month, day)
            if deadline - timedelta(days=SEASON_NOTICE_DAYS) <= today < deadline:
                return deadline
    return None


def _reachable() -> ColumnElement[bool]:
    """Assistants who can sign in and be written to."""
    return and_(Account.kind == "assistant", Account.email.is_not(None), Account.disabled_at.is_(None),
                Account.password_hash.is_not(None))


async def _send_once(db: AsyncSession, tenant: Tenant, account: Account, kind: str, due_on: date, template: str,
                     context: dict[str, str], base_url: str) -> bool:
    """Records the reminder and queues its mail in a savepoint: a reminder already recorded (a
    rerun, another replica at the same moment) fails the unique key and sends nothing."""
    already = (await db.execute(select(AvailabilityReminder.id).where(
        AvailabilityReminder.tenant_id == tenant.slug, AvailabilityReminder.account_id == account.id,
        AvailabilityReminder.kind == kind, AvailabilityReminder.due_on == due_on,
    ))).first()
    if already is not None or account.email is None:
        return False
    try:
        async with db.begin_nested():
            db.add(AvailabilityReminder(tenant_id=tenant.slug, account_id=account.id, kind=kind, due_on=due_on))
            await db.flush()
            await enqueue(db, tenant, template, account.email,
                          {**context, "url": f"{base_url}{AVAILABILITY_PATH}"}, base_url=base_url)
    except IntegrityError:
        return False
    return True


async def send_reminders(db: AsyncSession, tenant: Tenant, today: date, *, base_url: str) -> int:
    """Queues today's reminders of `tenant` (none when it offers no availability) and returns
    how many; each is sent once whatever the number of runs. The caller commits."""
    if not offers_availability(tenant):
        return 0
    sent = 0
    deadline = season_deadline(today)
    if deadline is not None:
        window_start = deadline - timedelta(days=SEASON_NOTICE_DAYS)
        updated = exists().where(
            AvailabilityDeclaration.tenant_id == tenant.slug, AvailabilityDeclaration.account_id == Account.id,
            AvailabilityDeclaration.declared_on >= window_start,
        )
        accounts = (await db.execute(select(Account).where(Account.tenant_id == tenant.slug, _reachable(), ~updated)
                                     .order_by(Account.id))).scalars().all()
        for account in accounts:  # an assistant who declared within the window needs no reminder
            sent += await _send_once(db, tenant, account, "season", deadline, "availability_reminder",
                                     {"deadline": french(deadline)}, base_url)
    horizon = add_months(today, PLACE_NOTICE_MONTHS)
    rows = (await db.execute(
        select(Account, AvailablePlace.free_from, AvailabilityDeclaration.declared_on)
        .join(AvailabilityDeclaration, and_(AvailabilityDeclaration.tenant_id == Account.tenant_id,
                                            AvailabilityDeclaration.account_id == Account.id))
        .join(AvailablePlace, and_(AvailablePlace.tenant_id == AvailabilityDeclaration.tenant_id,
                                   AvailablePlace.declaration_id == AvailabilityDeclaration.id))
        .where(Account.tenant_id == tenant.slug, _reachable(), AvailablePlace.free_from > today,
               AvailablePlace.free_from <= horizon)
        .order_by(Account.id, AvailablePlace.free_from)
    )).all()
    for account, free_from, declared_on in rows:
        # Declared within the month before that date: she has just said it, no reminder.
        notice_from = add_months(free_from, -PLACE_NOTICE_MONTHS)
        if today < notice_from or declared_on >= notice_from:
            continue
        sent += await _send_once(db, tenant, account, "place", free_from, "availability_place_reminder",
                                 {"free_from": french(free_from)}, base_url)
    return sent
