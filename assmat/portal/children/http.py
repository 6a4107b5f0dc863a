"""« Enfants accueillis » pages (seed 001 §2.4): list and history, declare, view, edit, delete.

Only on tenants with `features.children`. The rules and queries live in
assmat.portal.children.service; these views read the form, call them, and render."""

from __future__ import annotations

from datetime import date

from starlette.requests import Request
from starlette.responses import Response
from starlette.routing import Route

from assmat.auth.guards import signed_in
from assmat.core import clock
from assmat.core.i18n import gettext as _
from assmat.portal.children.models import CarePeriod, Child
from assmat.portal.children.service import (
    InvalidDeclaration,
    declare_child,
    delete_child,
    editable_child,
    hosted_children,
    in_history,
    owned_child,
    period_index,
    update_child,
)
from assmat.tenants.loader import Tenant
from assmat.web import ids  # noqa: F401 - the {…:id} path converter
from assmat.web import kit
from assmat.web.kit import client_ip, database, page, redirect, register_notices

MAX_PERIOD_ROWS = 24  # a child hosted for years, several arrangements a year
EMPTY_ROWS = 2
# The fixed fields (child, guardians, addresses, CSRF) and five per period row.
FORM_FIELDS = 21 + 5 * (MAX_PERIOD_ROWS + EMPTY_ROWS)

register_notices(
    created=lambda t: _("The child has been added."),
    updated=lambda t: _("The child's details have been saved."),
    deleted=lambda t: _("The child has been deleted."),
)


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


# -- views -------------------------------------------------------------------------------------------


async def children_list(request: Request) -> Response:
    tenant = kit.tenant(request, feature="children")
    account = signed_in(request)
    async with database(request) as db:
        current, history = await hosted_children(db, tenant, account, clock.today())
    return page(request, "children_list.html", {"current": current, "history": history})


async def child_new(request: Request) -> Response:
    tenant = kit.tenant(request, feature="children")
    account = signed_in(request)
    if request.method == "GET":
        return _form_page(request, tenant, {}, _rows({}, 0))
    form = await kit.form(request, max_fields=FORM_FIELDS)
    async with database(request) as db:
        try:
            await declare_child(db, tenant, account, form, day=clock.today(), ip=client_ip(request))
        except InvalidDeclaration as refused:
            return _form_page(request, tenant, form, _rows(form, 0), errors=refused.field_errors, banner=refused.banner,
                              status=400)
        await db.commit()
    return redirect("/espace/enfants", info="created")


async def child_view(request: Request) -> Response:
    tenant = kit.tenant(request, feature="children")
    account = signed_in(request)
    async with database(request) as db:
        child, periods = await owned_child(db, tenant, account, request.path_params["child_id"])
    labels = {kind.code: kind.label for kind in tenant.config.childcare_types}
    return page(request, "children_view.html", {
        "child": child, "periods": periods, "labels": labels, "read_only": in_history(periods, clock.today()),
        "late": child.declared_late,
    })


async def child_edit(request: Request) -> Response:
    tenant = kit.tenant(request, feature="children")
    account = signed_in(request)
    child_id = request.path_params["child_id"]
    if request.method == "GET":
        async with database(request) as db:
            child, periods = await editable_child(db, tenant, account, child_id, clock.today())
        values = _values(child, periods)
        return _form_page(request, tenant, values, _rows(values, len(periods)), child=child)
    form = await kit.form(request, max_fields=FORM_FIELDS)
    day = clock.today()
    async with database(request) as db:
        child, _periods = await editable_child(db, tenant, account, child_id, day)
        try:
            await update_child(db, tenant, account, child, form, day=day, ip=client_ip(request))
        except InvalidDeclaration as refused:
            return _form_page(request, tenant, form, _rows(form, 0), child=child, errors=refused.field_errors,
                              banner=refused.banner, status=400)
        await db.commit()
    return redirect("/espace/enfants", info="updated")


async def child_delete(request: Request) -> Response:
    tenant = kit.tenant(request, feature="children")
    account = signed_in(request)
    child_id = request.path_params["child_id"]
    if request.method == "GET":
        async with database(request) as db:
            child, _periods = await editable_child(db, tenant, account, child_id, clock.today())
        return page(request, "children_delete.html", {"child": child})
    await kit.form(request, max_fields=FORM_FIELDS)
    async with database(request) as db:
        child, _periods = await editable_child(db, tenant, account, child_id, clock.today())
        await delete_child(db, tenant, account, child, ip=client_ip(request))
        await db.commit()
    return redirect("/espace/enfants", info="deleted")


routes = [
    Route("/espace/enfants", children_list),
    Route("/espace/enfants/nouveau", child_new, methods=["GET", "POST"]),
    Route("/espace/enfants/{child_id:id}", child_view),
    Route("/espace/enfants/{child_id:id}/modifier", child_edit, methods=["GET", "POST"]),
    Route("/espace/enfants/{child_id:id}/supprimer", child_delete, methods=["GET", "POST"]),
]
