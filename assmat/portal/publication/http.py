"""« Publication de ma fiche »: the assistant's state in one sentence and, by the tenant's regime,
her consent or objection (and its withdrawal). Signed in, kind assistant, on tenants that publish."""

from __future__ import annotations

from starlette.requests import Request
from starlette.responses import Response
from starlette.routing import Route

from assmat.auth.guards import signed_in
from assmat.auth.models import Account
from assmat.core.errors import Invalid, NotFound
from assmat.core.i18n import gettext as _
from assmat.portal.publication.models import CONSENT, CONSENT_WITHDRAWN, OBJECTION, OBJECTION_WITHDRAWN
from assmat.portal.publication.service import allowed_choices, publication_status, record_choice, state_of
from assmat.web import kit
from assmat.web.kit import database, page, redirect, register_notices

PATH = "/espace/publication"
# Each choice's notice code, after the redirect.
NOTICE_OF = {CONSENT: "pub_consent", CONSENT_WITHDRAWN: "pub_consent_withdrawn", OBJECTION: "pub_objection",
             OBJECTION_WITHDRAWN: "pub_objection_withdrawn"}

register_notices(
    pub_consent=lambda t: _("Your consent has been recorded."),
    pub_consent_withdrawn=lambda t: _("Your consent has been withdrawn."),
    pub_objection=lambda t: _("Your objection has been recorded."),
    pub_objection_withdrawn=lambda t: _("Your objection has been cancelled."),
    pub_unchanged=lambda t: _("Your choice was already recorded: nothing has changed."),
)


def assistant(request: Request) -> Account:
    account = signed_in(request)
    if account.kind != "assistant":
        raise NotFound()  # structures and parents have no fiche
    return account


async def publication(request: Request) -> Response:
    tenant = kit.tenant(request)
    account = assistant(request)  # signed in first: without a session, the sign-in page, on any tenant
    if not tenant.config.offers("publication"):
        raise NotFound()
    error = None
    status_code = 200
    async with database(request) as db:
        if request.method == "POST":
            form = await kit.form(request)
            try:
                event = await record_choice(db, tenant, account, form.get("choix", ""), source="form")
            except Invalid as refused:
                error, status_code = refused.message, 400
            else:
                await db.commit()
                return redirect(PATH, info=NOTICE_OF[event.kind] if event else "pub_unchanged")
        status = await publication_status(db, tenant, account)
        state = await state_of(db, tenant, account.id)
    return page(request, "publication.html", {
        "status": status, "regime": tenant.config.publication.regime, "choices": allowed_choices(tenant),
        "choice": state.choice if state else None, "error": error,
    }, status_code)


routes = [Route(PATH, publication, methods=["GET", "POST"])]
