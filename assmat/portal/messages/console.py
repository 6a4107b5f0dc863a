"""The messages of a tenant's console (seed 001 §2.3): the list of messages sent to the
assistants, and the page to write one, to every assistant of the tenant or to one of them.

Writing is a CSRF-checked POST by staff with the admin role, on a tenant whose `features.messages`
is on. A personal message also queues a notice to the assistant's address, in the same
transaction: the notice says a message is waiting, never what it says."""

from __future__ import annotations

from sqladmin import expose
from starlette.exceptions import HTTPException
from starlette.requests import Request
from starlette.responses import RedirectResponse, Response

from assmat.admin.account_column import AccountColumn, account_formatter
from assmat.admin.actions import read_console_form
from assmat.admin.backend import console_user
from assmat.admin.scoping import TenantScopedView, is_tenant_staff
from assmat.core.errors import Invalid
from assmat.core.mail.links import mail_base_url
from assmat.portal.messages.models import Message
from assmat.portal.messages.service import EVERYONE, write_message
from assmat.web.csrf import csrf_token
from assmat.web.forms import BadForm


def _has_messages(request: Request) -> bool:
    tenant = request.scope.get("tenant")
    return tenant is not None and tenant.config.features.messages


class MessageView(AccountColumn, TenantScopedView, model=Message):
    name = "Message aux assistants"
    name_plural = "Messages aux assistants"
    icon = "fa-solid fa-envelope"
    list_template = "messages_console_list.html"
    details_template = "message_details.html"
    column_list = [Message.created_at, Message.sender, "recipient", Message.subject]
    column_details_list = [Message.id, Message.created_at, Message.sender, "recipient", Message.subject, Message.body]
    column_labels = {
        "id": "N°", "created_at": "Date", "sender": "Expéditeur", "recipient": "Destinataire", "subject": "Objet",
        "body": "Message",
    }
    column_formatters = {"recipient": account_formatter("recipient_account_id", EVERYONE)}
    column_formatters_detail = {"recipient": account_formatter("recipient_account_id", EVERYONE)}
    account_attribute = "recipient_account_id"
    account_column = "recipient"
    none_label = EVERYONE
    column_searchable_list = [Message.subject, Message.sender, Message.body]
    column_sortable_list = [Message.created_at, Message.sender, Message.subject]
    column_default_sort = [(Message.created_at, True), (Message.id, True)]

    def is_accessible(self, request: Request) -> bool:
        return super().is_accessible(request) and _has_messages(request)

    def may_write(self, request: Request) -> bool:
        user = console_user(request)
        return is_tenant_staff(request) and _has_messages(request) and user is not None and user.can_act

    # -- writing ---------------------------------------------------------------------------------

    def _require_writer(self, request: Request) -> str:
        self.scope_of(request)  # 403 for anyone but this tenant's staff
        if not _has_messages(request):
            raise HTTPException(404)
        user = console_user(request)
        if user is None or not user.can_act:
            raise HTTPException(403)
        return user.admin.email

    async def _write_page(self, request: Request, values: dict[str, str] | None = None, errors: list[str] | None = None,
                          status_code: int = 200) -> Response:
        tenant = request.scope["tenant"]
        defaults = {"expediteur": tenant.config.name, "destinataire": "tous", "identifiant": "", "objet": "", "corps": ""}
        return await self._admin_ref.templates.TemplateResponse(request, "message_write.html", {
            "title": "Écrire un message", "values": {**defaults, **(values or {})}, "errors": errors or [],
            "csrf_value": csrf_token(request), "everyone": EVERYONE, "model_view": self,
        }, status_code=status_code)

    @expose("/ecrire", methods=["GET", "POST"])
    async def write(self, request: Request) -> Response:
        by = self._require_writer(request)
        if request.method == "GET":
            return await self._write_page(request)
        try:
            form = await read_console_form(request)
        except BadForm as exc:
            return await self._write_page(request, errors=[exc.message], status_code=400)
        tenant = request.scope["tenant"]
        values = {key: form.get(key, "") for key in ("expediteur", "destinataire", "identifiant", "objet", "corps")}
        async with request.app.state.sessionmaker() as db:
            try:
                message = await write_message(db, tenant, values, by=by,
                                              base_url=mail_base_url(request.app.state.settings, tenant))
            except Invalid as refused:
                return await self._write_page(request, values, list(refused.field_errors.values()), status_code=400)
            await db.commit()
            message_id = message.id
        target = request.url_for("admin:details", identity=self.identity, pk=message_id)
        return RedirectResponse(f"{target}?envoye=1", status_code=303)
