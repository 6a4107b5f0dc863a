"""A console's « Mot de passe oublié ? »: the email asked, one answer whatever it is, and a
single-use link (the one `assmat create-admin` sends) to choose a new password."""

from __future__ import annotations

from sqladmin import Admin
from starlette.requests import Request
from starlette.responses import Response
from starlette.routing import Route

from assmat.admin.backend import admin_service
from assmat.web.forms import BadForm, CsrfFailed, read_form

# Sent whatever the address: nobody learns from it who has access to a console.
SENT = ("Si cette adresse est celle d'un accès à cette console, un courriel vient d'y être envoyé "
        "avec un lien pour choisir un nouveau mot de passe. Ce lien est valable une heure.")


def add_forgot_password(console: Admin) -> None:
    async def forgot_password(request: Request) -> Response:
        context: dict[str, object] = {}
        status = 200
        if request.method == "POST":
            try:
                form = await read_form(request)
            except CsrfFailed:
                context["error"] = "Le formulaire a expiré ou ne provient pas de ce site. Veuillez réessayer."
                status = 403
            except BadForm as exc:
                context["error"] = str(exc)
                status = 400
            else:
                tenant = request.scope.get("tenant")
                settings = request.app.state.settings
                base = (settings.tenant_base_url(tenant.slug, tenant.config.public_url) if tenant
                        else settings.effective_platform_url)
                async with request.app.state.sessionmaker() as db:
                    await admin_service(request, db).request_reset(
                        form.get("email", ""), base, request.client.host if request.client else None,
                        settings.platform_mail_from,
                    )
                context["sent"] = SENT
        return await console.templates.TemplateResponse(request, "forgot_password.html", context, status_code=status)

    console.admin.router.routes.append(
        Route("/mot-de-passe-oublie", forgot_password, methods=["GET", "POST"], name="forgot_password")
    )
