"""« Contacter l'administrateur » (Gers): the contact page."""

from __future__ import annotations

from starlette.requests import Request
from starlette.responses import Response
from starlette.routing import Route

from assmat.auth.guards import current_account
from assmat.core.errors import Invalid, RateLimited
from assmat.core.i18n import gettext as _
from assmat.core.mail.links import mail_base_url
from assmat.portal.contact.service import send_contact
from assmat.web import kit
from assmat.web.kit import client_ip, database, page, redirect, register_notices

register_notices(contact_sent=lambda t: _("Your message has been sent to the site administrator."))


async def contact(request: Request) -> Response:
    tenant = kit.tenant(request)
    if request.method == "GET":
        return page(request, "contact.html", {"values": {}})
    form = await kit.form(request)
    async with database(request) as db:
        try:
            await send_contact(db, tenant, form, ip=client_ip(request), account=current_account(request),
                               base_url=mail_base_url(request.app.state.settings, tenant))
        except Invalid as refused:
            return page(request, "contact.html", {"values": form, "field_errors": refused.field_errors}, 400)
        except RateLimited as refused:
            return page(request, "contact.html", {"values": form, "error": refused.message}, 429)
        await db.commit()
    return redirect("/contact", info="contact_sent")


routes = [Route("/contact", contact, methods=["GET", "POST"])]
