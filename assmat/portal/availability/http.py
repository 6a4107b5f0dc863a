"""« Mes disponibilités » (seed 004, « Etape 2 : Renseignez vos disponibilités »): the
assistant sees her declaration as families see it, and declares her places, their weekly
grid, dated exceptions, or « Pas de disponibilité ». Works without JavaScript (« Ajouter une
place » re-renders the form); with it, a warning before the idle timeout keeps the typing.

Only on tenants with `features.availability`, only for assistants. The rules live in
assmat.portal.availability.rules and .service; these views read the form, call them, render."""

from __future__ import annotations

from collections.abc import Mapping

from starlette.requests import Request
from starlette.responses import Response
from starlette.routing import Route

from assmat.auth.guards import signed_in
from assmat.auth.models import Account
from assmat.auth.session_middleware import SESSION_COOKIE
from assmat.auth.sessions import touch_session
from assmat.core import clock
from assmat.core.errors import NotFound
from assmat.core.i18n import gettext as _
from assmat.core.i18n import ngettext
from assmat.portal.availability.rules import (
    KINDS,
    MAX_EXCEPTION_ROWS,
    MAX_PLACE_ROWS,
    WEEKDAYS,
    WHOLE_DAY,
    Declared,
    InvalidAvailability,
    form_values,
    kind_label,
    shown_rows,
    validate_declaration,
    views_of,
    weekday_name,
)
from assmat.portal.availability.service import AVAILABILITY_PATH, declared_of, save_declaration
from assmat.tenants.loader import Tenant
from assmat.web import kit
from assmat.web.csrf import read_cookie
from assmat.web.kit import client_ip, database, page, redirect, register_notices

KEEP_ALIVE_PATH = "/espace/session/prolonger"
IDLE_WARNING_SECONDS = 60  # the warning comes about a minute before the idle timeout

register_notices(availability_saved=lambda t: _("Your availability has been saved."))


def _assistant(request: Request) -> tuple[Tenant, Account]:
    tenant = kit.tenant(request, feature="availability")
    account = signed_in(request)
    if account.kind != "assistant":  # structures and parents declare no places
        raise NotFound()
    return tenant, account


def _max_fields(tenant: Tenant) -> int:
    slots = len(tenant.config.availability.time_slots)
    return 10 + (MAX_PLACE_ROWS + 2) * (7 + 7 * slots) + (MAX_EXCEPTION_ROWS + 2) * 4


def _idle_minutes(tenant: Tenant) -> int:
    return max(1, int(tenant.config.session.idle_timeout.total_seconds() // 60))


def _form_page(
    request: Request, tenant: Tenant, declared: Declared | None, values: Mapping[str, str], *,
    place_extra: int, exception_extra: int, errors: dict[str, str] | None = None, banner: list[str] | None = None,
    status: int = 200,
) -> Response:
    settings = tenant.config.availability
    forms = tenant.config.features.availability
    idle = tenant.config.session.idle_timeout.total_seconds()
    minutes = _idle_minutes(tenant)
    return page(request, "availability.html", {
        "availability": views_of(declared, forms, settings, clock.today()),
        "values": values, "errors": errors or {}, "banner": banner or [],
        "place_rows": shown_rows(values, "place", place_extra, MAX_PLACE_ROWS),
        "exception_rows": shown_rows(values, "exception", exception_extra, MAX_EXCEPTION_ROWS)
        if "weekly" in forms else [],
        "age_groups": settings.age_groups, "time_slots": settings.time_slots,
        "kinds": [(kind, kind_label(kind)) for kind in KINDS],
        "weekdays": [(day, weekday_name(day)) for day in WEEKDAYS], "whole_day": WHOLE_DAY,
        "idle_seconds": int(idle), "idle_warning_seconds": min(IDLE_WARNING_SECONDS, int(idle // 2)),
        "idle_text": ngettext(
            "For your security, your session closes after %(num)d minute without any action: what you typed and did "
            "not save would be lost. Save regularly.",
            "For your security, your session closes after %(num)d minutes without any action: what you typed and did "
            "not save would be lost. Save regularly.", minutes) % {"num": minutes},
        "keep_alive_path": KEEP_ALIVE_PATH,
    }, status)


async def availability_page(request: Request) -> Response:
    tenant, account = _assistant(request)
    if request.method == "GET":
        async with database(request) as db:
            declared = await declared_of(db, tenant, account.id)
        return _form_page(request, tenant, declared, form_values(declared), place_extra=1, exception_extra=1)
    form = await kit.form(request, max_fields=_max_fields(tenant))
    action = form.get("action", "enregistrer")
    async with database(request) as db:
        declared = await declared_of(db, tenant, account.id)
        if action in ("ajouter-place", "ajouter-exception"):
            # Without JavaScript, « Ajouter » shows the same form with one more blank row: nothing saved.
            return _form_page(request, tenant, declared, form, place_extra=int(action == "ajouter-place"),
                              exception_extra=int(action == "ajouter-exception"))
        try:
            data = validate_declaration(form, tenant.config.availability, clock.today())
        except InvalidAvailability as refused:
            return _form_page(request, tenant, declared, form, place_extra=0, exception_extra=0,
                              errors=refused.field_errors, banner=refused.banner, status=400)
        await save_declaration(db, tenant, account, data, ip=client_ip(request))
        await db.commit()
    return redirect(AVAILABILITY_PATH, info="availability_saved")


async def keep_alive(request: Request) -> Response:
    """« Rester connecté(e) » of the idle warning: restarts the session's idle timeout. Signed
    in and CSRF-checked like every POST; answers 204 to the page's script."""
    tenant = kit.tenant(request)
    signed_in(request)
    await kit.form(request)
    async with database(request) as db:
        await touch_session(db, tenant.slug, read_cookie(request.scope, SESSION_COOKIE))
        await db.commit()
    return Response(status_code=204, headers={"cache-control": "no-store"})


routes = [
    Route(AVAILABILITY_PATH, availability_page, methods=["GET", "POST"]),
    Route(KEEP_ALIVE_PATH, keep_alive, methods=["POST"]),
]
