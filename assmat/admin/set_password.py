"""The page behind the link `assmat create-admin` emails: a console user chooses a password."""

from __future__ import annotations

from starlette.requests import Request
from starlette.responses import RedirectResponse, Response
from starlette.routing import Route

from assmat.auth.staff import AdminService
from assmat.auth.errors import PasswordRejected, TokenInvalid
from assmat.auth.policy import rules_as_json
from assmat.auth.staff import PLATFORM_POLICY
from assmat.auth.http import token_page
from assmat.web import kit
from assmat.web.kit import page


async def set_admin_password(request: Request) -> Response:
    tenant = request.scope.get("tenant")
    policy = tenant.config.password_policy if tenant else PLATFORM_POLICY
    context = {"rules": rules_as_json(policy)}
    if request.method == "GET":
        return token_page(request, page(request, "admin_set_password.html", context))
    form = await kit.form(request)
    async with request.app.state.sessionmaker() as db:
        service = AdminService(db, request.app.state.hasher, tenant)
        try:
            await service.set_password_with_token(request.path_params["token"], form.get("mot_de_passe"), form.get("confirmation"))
        except TokenInvalid:
            return token_page(request, page(request, "link_invalid.html", {}, 400))
        except PasswordRejected as exc:
            return token_page(request, page(request, "admin_set_password.html", {**context, "errors": exc.messages, "error_field": exc.field}, 400))
    return RedirectResponse("/admin/login", status_code=303)


routes = [Route("/admin/mot-de-passe/{token}", set_admin_password, methods=["GET", "POST"])]
