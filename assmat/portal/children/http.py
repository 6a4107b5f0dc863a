"""« Enfants accueillis » pages (seed 001 §2.4): list and history, declare, view, edit, delete.

Only on tenants with `features.children`; every query is bound to the signed-in assistant's
tenant and account, so another assistant's child is a 404, never data. The rules live in
assmat.portal.children.service; these views read the form, call them, and write."""

from __future__ import annotations

from datetime import date
from typing import Any
from zoneinfo import ZoneInfo

from sqlalchemy import delete, or_, select
from sqlalchemy.ext.asyncio import AsyncSession
from sqlalchemy.orm import selectinload
from starlette.exceptions import HTTPException
from starlette.requests import Request
from starlette.responses import Response
from starlette.routing import Route

from assmat.core import clock
from assmat.core.security import audit
from assmat.auth.models import Account
from assmat.portal.children.models import CarePeriod, Child, Guardian
from assmat.portal.children.service import (
    Declaration,
    GuardianInput,
    in_history,
    is_late,
    period_index,
    validate_declaration,
)
from assmat.tenants.loader import Tenant
from assmat.web import ids  # noqa: F401 - the {…:id} path converter
from assmat.web import kit
from assmat.auth.guards import signed_in
from assmat.web.kit import client_ip, database, page, redirect

PARIS = ZoneInfo("Europe/Paris")
MAX_PERIOD_ROWS = 24  # a child hosted for years, several arrangements a year
EMPTY_ROWS = 2
# The fixed fields (child, guardians, addresses, CSRF) and five per period row.
FORM_FIELDS = 21 + 5 * (MAX_PERIOD_ROWS + EMPTY_ROWS)

def today() -> date:
    return clock.now().astimezone(PARIS).date()


def _tenant(request: Request) -> Tenant:
    tenant = kit.tenant(request)
    if not tenant.config.features.children:
        raise HTTPException(404)
    return tenant


async def _owned(db: AsyncSession, tenant: Tenant, account: Account, child_id: int) -> tuple[Child, list[CarePeriod]]:
    """The assistant's own child, its guardians loaded, and its periods, else 404."""
    child = await db.scalar(
        select(Child).where(Child.id == child_id, Child.tenant_id == tenant.slug, Child.account_id == account.id)
        .options(selectinload(Child.guardians.and_(Guardian.tenant_id == tenant.slug)))
    )
    if child is None:
        raise HTTPException(404)
    return child, await _periods(db, tenant, child.id)


async def _periods(db: AsyncSession, tenant: Tenant, child_id: int) -> list[CarePeriod]:
    rows = await db.scalars(
        select(CarePeriod)
        .where(CarePeriod.child_id == child_id, CarePeriod.tenant_id == tenant.slug)
        .order_by(CarePeriod.start_date, CarePeriod.id)
    )
    return list(rows)


def _french(value: date | None) -> str:
    return value.strftime("%d/%m/%Y") if value else ""


def _values(child: Child, periods: list[CarePeriod]) -> dict[str, str]:
    """The form's fields as stored: what the edit page shows first."""
    values = {
        "enfant-nom": child.last_name,
        "enfant-prenom": child.first_name,
        "enfant-naissance": _french(child.birth_date),
        "adresse": child.address,
        "code-postal": child.postal_code,
        "commune": child.city,
        "adresse-secondaire-cochee": "1" if child.has_second_address else "",
        "adresse-secondaire": child.second_address or "",
        "code-postal-secondaire": child.second_postal_code or "",
        "commune-secondaire": child.second_city or "",
    }
    for number in (1, 2):
        guardian = child.guardian(number)
        for field, attribute in (("civilite", "civility"), ("nom", "last_name"), ("prenom", "first_name"),
                                 ("courriel", "email"), ("telephone", "phone")):
            values[f"rl{number}-{field}"] = (getattr(guardian, attribute) if guardian else None) or ""
    for index, period in enumerate(periods):
        values[f"periode-{index}-type"] = period.childcare_type
        values[f"periode-{index}-debut"] = _french(period.start_date)
        values[f"periode-{index}-fin"] = _french(period.end_date)
        values[f"periode-{index}-heures"] = str(period.hours_per_month) if period.hours_per_month is not None else ""
        values[f"periode-{index}-commentaire"] = period.comment or ""
    return values


def _rows(values: dict[str, str], filled: int) -> list[int]:
    """Row indexes to show: the posted (or stored) ones, then empty rows, within the form's limit."""
    posted = sorted({index for key in values if (index := period_index(key)) is not None})
    rows = [index for index in posted if index < 1000][:MAX_PERIOD_ROWS]
    if not rows:
        rows = list(range(filled))
    next_index = (max(rows) + 1) if rows else 0
    wanted = min(MAX_PERIOD_ROWS, max(len(rows), filled) + EMPTY_ROWS)
    while len(rows) < wanted:
        rows.append(next_index)
        next_index += 1
    return rows


def _form_page(
    request: Request, tenant: Tenant, values: dict[str, str], rows: list[int], *, child: Child | None = None,
    errors: dict[str, str] | None = None, banner: list[str] | None = None, status: int = 200,
) -> Response:
    types = tenant.config.childcare_types
    hours_type = next((kind for kind in types if kind.max_hours_per_month is not None), None)
    return page(request, "children_form.html", {
        "values": values, "rows": rows, "child": child, "errors": errors or {}, "banner": banner or [],
        "types": types, "hours_type": hours_type,
        "action": f"/espace/enfants/{child.id}/modifier" if child else "/espace/enfants/nouveau",
    }, status)


def _apply(child: Child, declaration: Declaration) -> None:
    """The declaration's values on the child; its declaration time is already set."""
    child.care_start = min(period.start_date for period in declaration.periods)
    child.declared_late = is_late(child.declared_at.astimezone(PARIS).date(), declaration.periods)
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


def _add_periods(db: AsyncSession, tenant: Tenant, child: Child, declaration: Declaration) -> None:
    for period in declaration.periods:
        db.add(CarePeriod(
            tenant_id=tenant.slug, child_id=child.id, childcare_type=period.childcare_type, start_date=period.start_date,
            end_date=period.end_date, hours_per_month=period.hours_per_month, comment=period.comment,
        ))


async def current_children(db: AsyncSession, tenant: Tenant, account: Account, day: date, limit: int) -> list[Child]:
    """The children with a care period still running or to come (not in the history), without
    their periods: the dashboard's list, one query."""
    running = select(CarePeriod.id).where(
        CarePeriod.child_id == Child.id, CarePeriod.tenant_id == tenant.slug,
        or_(CarePeriod.end_date.is_(None), CarePeriod.end_date >= day),
    )
    return list(await db.scalars(
        select(Child).where(Child.tenant_id == tenant.slug, Child.account_id == account.id, running.exists())
        .order_by(Child.last_name, Child.first_name, Child.id).limit(limit)
    ))


async def hosted_children(
    db: AsyncSession, tenant: Tenant, account: Account, day: date
) -> tuple[list[dict[str, Any]], list[dict[str, Any]]]:
    """The assistant's children, current then history, each with its periods: two queries,
    however many children."""
    children = list(await db.scalars(
        select(Child).where(Child.tenant_id == tenant.slug, Child.account_id == account.id)
        .order_by(Child.last_name, Child.first_name, Child.id)
    ))
    periods: dict[int, list[CarePeriod]] = {child.id: [] for child in children}
    rows = await db.scalars(
        select(CarePeriod)
        .join(Child, Child.id == CarePeriod.child_id)
        .where(Child.tenant_id == tenant.slug, Child.account_id == account.id, CarePeriod.tenant_id == tenant.slug)
        .order_by(CarePeriod.start_date, CarePeriod.id)
    )
    for period in rows:
        periods[period.child_id].append(period)
    current: list[dict[str, Any]] = []
    history: list[dict[str, Any]] = []
    for child in children:
        entry = {"child": child, "periods": periods[child.id], "late": child.declared_late}
        (history if in_history(periods[child.id], day) else current).append(entry)
    return current, history


# -- views -------------------------------------------------------------------------------------------


async def children_list(request: Request) -> Response:
    tenant = _tenant(request)
    account = signed_in(request)
    async with database(request) as db:
        current, history = await hosted_children(db, tenant, account, today())
    return page(request, "children_list.html", {"current": current, "history": history})


async def child_new(request: Request) -> Response:
    tenant = _tenant(request)
    account = signed_in(request)
    if request.method == "GET":
        return _form_page(request, tenant, {}, _rows({}, 0))
    form = await kit.form(request, max_fields=FORM_FIELDS)
    declaration, errors, banner = validate_declaration(form, tenant.config.childcare_types, today())
    if declaration is None:
        return _form_page(request, tenant, form, _rows(form, 0), errors=errors, banner=banner, status=400)
    async with database(request) as db:
        child = Child(tenant_id=tenant.slug, account_id=account.id, declared_at=clock.now())
        _apply(child, declaration)
        db.add(child)
        await db.flush()
        _add_periods(db, tenant, child, declaration)
        audit.record(db, tenant.slug, "child.created", account_id=account.id, ip=client_ip(request),
                     child_id=child.id, periods=len(declaration.periods))
        await db.commit()
    return redirect("/espace/enfants", info="created")


async def _editable(db, tenant, account, child_id: int):
    """The assistant's own child, if it may still change: the history is read-only (seed 001
    §2.4.3), so a child whose periods all ended is 404 for edit and delete."""
    child, periods = await _owned(db, tenant, account, child_id)
    if in_history(periods, today()):
        raise HTTPException(404)
    return child, periods


async def child_view(request: Request) -> Response:
    tenant = _tenant(request)
    account = signed_in(request)
    async with database(request) as db:
        child, periods = await _owned(db, tenant, account, request.path_params["child_id"])
    labels = {kind.code: kind.label for kind in tenant.config.childcare_types}
    return page(request, "children_view.html", {
        "child": child, "periods": periods, "labels": labels, "read_only": in_history(periods, today()),
        "late": child.declared_late,
    })


async def child_edit(request: Request) -> Response:
    tenant = _tenant(request)
    account = signed_in(request)
    child_id = request.path_params["child_id"]
    if request.method == "GET":
        async with database(request) as db:
            child, periods = await _editable(db, tenant, account, child_id)
        values = _values(child, periods)
        return _form_page(request, tenant, values, _rows(values, len(periods)), child=child)
    form = await kit.form(request, max_fields=FORM_FIELDS)
    async with database(request) as db:
        child, periods = await _editable(db, tenant, account, child_id)
        declaration, errors, banner = validate_declaration(form, tenant.config.childcare_types, today())
        if declaration is None:
            return _form_page(request, tenant, form, _rows(form, 0), child=child, errors=errors, banner=banner, status=400)
        _apply(child, declaration)
        await db.execute(delete(CarePeriod).where(CarePeriod.child_id == child.id, CarePeriod.tenant_id == tenant.slug))
        _add_periods(db, tenant, child, declaration)
        audit.record(db, tenant.slug, "child.updated", account_id=account.id, ip=client_ip(request),
                     child_id=child.id, periods=len(declaration.periods))
        await db.commit()
    return redirect("/espace/enfants", info="updated")


async def child_delete(request: Request) -> Response:
    tenant = _tenant(request)
    account = signed_in(request)
    child_id = request.path_params["child_id"]
    if request.method == "GET":
        async with database(request) as db:
            child, periods = await _editable(db, tenant, account, child_id)
        return page(request, "children_delete.html", {"child": child})
    form = await kit.form(request, max_fields=FORM_FIELDS)
    async with database(request) as db:
        child, periods = await _editable(db, tenant, account, child_id)
        await db.execute(delete(CarePeriod).where(CarePeriod.child_id == child.id, CarePeriod.tenant_id == tenant.slug))
        await db.execute(delete(Child).where(
            Child.id == child.id, Child.tenant_id == tenant.slug, Child.account_id == account.id
        ))
        audit.record(db, tenant.slug, "child.deleted", account_id=account.id, ip=client_ip(request), child_id=child.id)
        await db.commit()
    return redirect("/espace/enfants", info="deleted")


routes = [
    Route("/espace/enfants", children_list),
    Route("/espace/enfants/nouveau", child_new, methods=["GET", "POST"]),
    Route("/espace/enfants/{child_id:id}", child_view),
    Route("/espace/enfants/{child_id:id}/modifier", child_edit, methods=["GET", "POST"]),
    Route("/espace/enfants/{child_id:id}/supprimer", child_delete, methods=["GET", "POST"]),
]
