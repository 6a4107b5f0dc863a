"""The accounts view of a tenant's console: search, filters, details with recent audit events,
and the staff actions (unlock, send a reset, disable/enable, resend activation, letter).

SQLAdmin's actions are GET routes without CSRF: here the GET only shows a confirmation page;
the change happens on a POST that checks the CSRF token, the role and the tenant scope of every
primary key, and leaves an audit line."""

from __future__ import annotations

from typing import Any

from markupsafe import Markup, escape
from sqladmin import action, expose
from sqladmin.filters import BooleanFilter, OperationColumnFilter
from sqlalchemy import Select, and_, select
from starlette.exceptions import HTTPException
from starlette.requests import Request
from starlette.responses import RedirectResponse, Response

from assmat.admin.backend import console_user, current_request
from assmat.admin.scoping import TenantScopedView
from assmat.auth.service import AccountService
from assmat.db.models import Account, AuditEvent
from assmat.i18n import gettext as _
from assmat.web.csrf import csrf_token
from assmat.web.forms import BadForm, CsrfFailed, read_form

ACTIONS = {
    "unlock": "Débloquer",
    "send_reset": "Envoyer une réinitialisation",
    "disable": "Désactiver",
    "enable": "Réactiver",
    "resend_activation": "Renvoyer l'activation",
    "letter": "Imprimer le courrier",
}


def _state(account: Account) -> str:
    if account.disabled_at:
        return "désactivé"
    if account.locked_at:
        return "bloqué"
    if account.password_hash is None:
        return "non activé"
    if account.must_change_password or account.needs_security_update:
        return "doit changer son mot de passe"
    return "actif"


def _state_cell(account: Account, _attribute: Any) -> Markup:
    """The state, and for a locked account a one-click unlock button (a POST with CSRF)."""
    label = escape(_state(account))
    request = current_request.get()
    user = console_user(request) if request else None
    if account.locked_at is None or user is None or not user.can_act:
        return Markup(label)
    return Markup(
        f'{label} <form method="post" action="{request.url_for("admin:view-account-run_action", action="unlock")}"'
        f' class="d-inline-form"><input type="hidden" name="csrf_token" value="{csrf_token(request)}">'
        f'<input type="hidden" name="pks" value="{account.id}">'
        f'<button type="submit" class="btn btn-sm btn-primary">Débloquer</button></form>'
    )


class LockedFilter(BooleanFilter):
    def get_filtered_query(self, query: Select, value: Any, model: Any) -> Select:
        if value == "true":
            return query.filter(Account.locked_at.is_not(None))
        if value == "false":
            return query.filter(Account.locked_at.is_(None))
        return query


class NullFilter(BooleanFilter):
    """"Oui" when the column is empty (never activated), "Non" otherwise."""

    def get_filtered_query(self, query: Select, value: Any, model: Any) -> Select:
        column = getattr(Account, self.column)
        if value == "true":
            return query.filter(column.is_(None))
        if value == "false":
            return query.filter(column.is_not(None))
        return query


class SetFilter(NullFilter):
    def get_filtered_query(self, query: Select, value: Any, model: Any) -> Select:
        flipped = {"true": "false", "false": "true"}.get(value, value)
        return super().get_filtered_query(query, flipped, model)


class AccountView(TenantScopedView, model=Account):
    name = "Compte"
    name_plural = "Comptes"
    icon = "fa-solid fa-user"
    identity = "account"
    column_list = [Account.identifier, Account.last_name, Account.first_name, Account.email, Account.kind, "state"]
    column_labels = {
        "identifier": "Identifiant", "last_name": "Nom", "first_name": "Prénom", "email": "Email", "kind": "Type",
        "state": "État", "birth_date": "Date de naissance", "created_at": "Créé le", "last_login_at": "Dernière connexion",
        "locked_at": "Bloqué le", "disabled_at": "Désactivé le", "activated_at": "Activé le", "failed_logins": "Échecs",
        "must_change_password": "Doit changer son mot de passe", "phone": "Téléphone", "civility": "Civilité",
        "city": "Commune", "postal_code": "Code postal", "address": "Adresse", "terms_accepted_at": "Conditions acceptées le",
    }
    column_searchable_list = [Account.identifier, Account.last_name, Account.first_name, Account.email]
    column_sortable_list = [Account.identifier, Account.last_name, Account.created_at]
    column_default_sort = [(Account.last_name, False)]
    column_filters = [
        LockedFilter(Account.locked_at, title="Bloqué"),
        BooleanFilter(Account.must_change_password, title="Doit changer son mot de passe"),
        NullFilter(Account.activated_at, title="Non activé"),
        SetFilter(Account.disabled_at, title="Désactivé"),
    ]
    column_formatters = {"state": _state_cell}
    column_details_list = [
        Account.identifier, Account.kind, Account.civility, Account.last_name, Account.first_name, Account.birth_date,
        Account.email, Account.phone, Account.address, Account.postal_code, Account.city, Account.created_at,
        Account.activated_at, Account.last_login_at, Account.failed_logins, Account.locked_at, Account.disabled_at,
        Account.must_change_password, Account.terms_accepted_at,
    ]
    details_template = "account_details.html"

    async def recent_events(self, request: Request, account: Account) -> list[AuditEvent]:
        async with request.app.state.sessionmaker() as db:
            return list((await db.scalars(
                select(AuditEvent)
                .where(and_(AuditEvent.account_id == account.id, AuditEvent.tenant_id == self.scope_of(request)))
                .order_by(AuditEvent.created_at.desc(), AuditEvent.id.desc())
                .limit(20)
            )).all())

    # -- actions: GET confirms, POST acts ------------------------------------------------------

    async def _confirm(self, request: Request, name: str) -> Response:
        user = console_user(request)
        if user is None or not user.can_act:
            raise HTTPException(403)
        pks = request.query_params.get("pks", "").split(",")
        async with request.app.state.sessionmaker() as db:
            rows = await self.scoped_rows(request, db, pks)
        return await self._admin_ref.templates.TemplateResponse(request, "confirm_action.html", {
            "action_label": ACTIONS[name], "rows": rows, "pks": ",".join(str(r.id) for r in rows),
            "post_url": request.url_for("admin:view-account-run_action", action=name),
            "csrf_token": csrf_token(request), "model_view": self,
        })

    @action(name="unlock", label="Débloquer", add_in_detail=True, add_in_list=True)
    async def unlock(self, request: Request) -> Response:
        return await self._confirm(request, "unlock")

    @action(name="send_reset", label="Envoyer une réinitialisation", add_in_detail=True, add_in_list=True)
    async def send_reset(self, request: Request) -> Response:
        return await self._confirm(request, "send_reset")

    @action(name="disable", label="Désactiver", add_in_detail=True, add_in_list=True)
    async def disable(self, request: Request) -> Response:
        return await self._confirm(request, "disable")

    @action(name="enable", label="Réactiver", add_in_detail=True, add_in_list=True)
    async def enable(self, request: Request) -> Response:
        return await self._confirm(request, "enable")

    @action(name="resend_activation", label="Renvoyer l'activation", add_in_detail=True, add_in_list=True)
    async def resend_activation(self, request: Request) -> Response:
        return await self._confirm(request, "resend_activation")

    @action(name="letter", label="Imprimer le courrier", add_in_detail=True, add_in_list=False)
    async def letter(self, request: Request) -> Response:
        return await self._confirm(request, "letter")

    @expose("/run/{action}", methods=["POST"])
    async def run_action(self, request: Request) -> Response:
        name = request.path_params["action"]
        user = console_user(request)
        if name not in ACTIONS:
            raise HTTPException(404)
        if user is None or not user.can_act:
            raise HTTPException(403)
        try:
            form = await read_form(request)
        except (BadForm, CsrfFailed):
            raise HTTPException(403) from None
        tenant = request.scope["tenant"]
        settings = request.app.state.settings
        async with request.app.state.sessionmaker() as db:
            rows = await self.scoped_rows(request, db, form.get("pks", "").split(","))
            service = AccountService(tenant, db, request.app.state.hasher, settings.effective_secret_key,
                                     settings.tenant_base_url(tenant.slug, tenant.config.public_url))
            by = user.admin.email
            letters: list[tuple[Account, str]] = []
            for account in rows:
                if name == "unlock":
                    await service.staff_unlock(account, by)
                elif name == "send_reset":
                    await service.staff_send_reset(account, by)
                elif name in ("disable", "enable"):
                    await service.staff_set_disabled(account, name == "disable", by)
                elif name == "resend_activation":
                    if not await service.staff_resend_activation(account, by):
                        letters.append((account, await service.staff_letter(account, by)))
                elif name == "letter":
                    letters.append((account, await service.staff_letter(account, by)))
            await db.commit()
        worker = getattr(request.app.state, "mail_worker", None)
        if worker is not None and service.mail_enqueued:
            worker.nudge()
        if letters:
            # The temporary password is shown here once, to print; it is stored only hashed.
            response = await self._admin_ref.templates.TemplateResponse(request, "letter.html", {
                "letters": letters, "tenant": tenant, "config": tenant.config,
            })
            response.headers["cache-control"] = "no-store"
            return response
        return RedirectResponse(
            str(request.url_for("admin:list", identity="account")) + f"?done={name}&count={len(rows)}", status_code=303
        )
