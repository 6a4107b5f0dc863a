"""The platform's console (root domain, super-admins): every configured tenant with its
counts, and the tenants' console users, whom a super-admin may disable, enable or unlock."""

from __future__ import annotations

from dataclasses import dataclass
from typing import Any

from sqladmin import BaseView, action, expose
from sqlalchemy import func, select
from starlette.requests import Request
from starlette.exceptions import HTTPException
from starlette.responses import RedirectResponse, Response

from assmat.core import clock
from assmat.admin.actions import Done, read_console_form
from assmat.admin.backend import console_user
from assmat.admin.filters import TenantFilter
from assmat.admin.formatting import fr_datetime
from assmat.admin.scoping import PlatformView, is_platform_admin
from assmat.core.security import audit
from assmat.core.security.audit import EventType
from assmat.auth.models import Account, Admin
from assmat.auth.sessions import end_all_sessions
from assmat.auth.staff import AdminService
from assmat.core.mail.links import mail_base_url
from assmat.core.security.models import AuditEvent
from assmat.tenants.models import TenantRow
from assmat.web.csrf import csrf_token
from assmat.web.forms import BadForm
from assmat.tenants.advisories import advisories

ROLE_LABELS = {"admin": "administrateur", "read_only": "lecture seule", "super": "super-administrateur"}


@dataclass(frozen=True)
class TenantSummary:
    slug: str
    name: str
    hosts: list[str]
    registered: bool  # its row exists in the database (created at start-up)
    advisories: int
    accounts: int
    locked: int
    admins: int
    last_activity: str | None  # French time


class PlatformTenantsView(BaseView):
    name = "Collectivités"
    icon = "fa-solid fa-building"

    def is_accessible(self, request: Request) -> bool:
        return is_platform_admin(request)

    def is_visible(self, request: Request) -> bool:
        return self.is_accessible(request)

    @expose("/plateforme", methods=["GET"], identity="platform")
    async def tenants(self, request: Request) -> Response:
        registry = request.app.state.registry

        async def per_tenant(db, stmt) -> dict[str, Any]:
            return dict((await db.execute(stmt)).all())

        async with request.app.state.sessionmaker() as db:
            registered = set((await db.scalars(select(TenantRow.slug))).all())
            accounts = await per_tenant(db, select(Account.tenant_id, func.count()).group_by(Account.tenant_id))
            locked = await per_tenant(db, select(Account.tenant_id, func.count())
                                      .where(Account.locked_at.is_not(None)).group_by(Account.tenant_id))
            admins = await per_tenant(db, select(Admin.tenant_id, func.count())
                                      .where(Admin.tenant_id.is_not(None), Admin.disabled_at.is_(None))
                                      .group_by(Admin.tenant_id))
            activity = await per_tenant(db, select(AuditEvent.tenant_id, func.max(AuditEvent.created_at))
                                        .where(AuditEvent.tenant_id.is_not(None)).group_by(AuditEvent.tenant_id))
        summaries = [
            TenantSummary(
                slug=slug, name=tenant.config.name,
                hosts=[f"{slug}.{registry.base_domain}", *tenant.config.hosts],
                registered=slug in registered, advisories=len(advisories(tenant.config)),
                accounts=accounts.get(slug, 0), locked=locked.get(slug, 0), admins=admins.get(slug, 0),
                last_activity=fr_datetime(activity[slug]) if activity.get(slug) else None,
            )
            for slug, tenant in registry.tenants.items()
        ]
        return await self.templates.TemplateResponse(request, "platform.html", {
            "title": "Collectivités", "tenants": summaries,
        })

    @expose("/plateforme/administrateurs/nouveau", methods=["GET", "POST"], identity="platform-admin-new")
    async def new_admin(self, request: Request) -> Response:
        """« Ajouter un administrateur »: a tenant's console user, emailed a link to choose a
        password (what `assmat create-admin` does)."""
        if not is_platform_admin(request):
            raise HTTPException(403)
        registry, settings = request.app.state.registry, request.app.state.settings
        values = {"collectivite": request.query_params.get("collectivite", ""), "email": "", "role": "admin"}
        errors: dict[str, str] = {}
        if request.method == "POST":
            try:
                form = await read_console_form(request)
            except BadForm as exc:
                form, errors["form"] = {}, exc.message
            values = {key: form.get(key, "").strip() for key in values}
            tenant = registry.get(values["collectivite"])
            if not errors and tenant is None:
                errors["collectivite"] = "Choisissez la collectivité."
            if not errors and values["role"] not in ("admin", "read_only"):
                errors["role"] = "Choisissez le rôle."
            if not errors:
                async with request.app.state.sessionmaker() as db:
                    try:
                        admin = await AdminService(db, request.app.state.hasher, tenant).invite(
                            values["email"], values["role"], mail_base_url(settings, tenant), settings.platform_mail_from,
                            by=console_user(request).admin.email)
                    except ValueError as exc:
                        errors["email"] = str(exc)
                    else:
                        await db.commit()
                        url = request.url_for("admin:details", identity="tenant-admin", pk=str(admin.id))
                        return RedirectResponse(f"{url}?cree=1", status_code=303)
        tenants = sorted(((slug, tenant.config.name) for slug, tenant in registry.tenants.items()), key=lambda t: t[1])
        return await self.templates.TemplateResponse(request, "platform_admin_new.html", {
            "title": "Ajouter un administrateur", "tenants": tenants, "values": values, "errors": errors,
            "roles": [(role, ROLE_LABELS[role]) for role in ("admin", "read_only")],
            "csrf_value": csrf_token(request),
        }, status_code=400 if errors else 200)


def _admin_state(admin: Admin) -> str:
    if admin.disabled_at is not None:
        return "désactivé"
    if admin.locked_at is not None:
        return "bloqué"
    if admin.password_hash is None:
        return "mot de passe à choisir"
    return "actif"


class TenantAdminView(PlatformView, model=Admin):
    name = "Administrateur"
    name_plural = "Administrateurs des collectivités"
    icon = "fa-solid fa-user-shield"
    platform_rows = Admin.tenant_id.is_not(None)  # super-admins are managed with the CLI
    menu_links = (("Ajouter un administrateur", "view-platform-admin-new"),)
    details_template = "tenant_admin_details.html"
    column_list = [Admin.email, Admin.tenant_id, Admin.role, "state", Admin.last_login_at, Admin.created_at]
    column_details_list = [Admin.id, Admin.email, Admin.tenant_id, Admin.role, "state", Admin.failed_logins,
                           Admin.locked_at, Admin.disabled_at, Admin.last_login_at, Admin.created_at]
    column_labels = {
        "id": "N°", "email": "Email", "tenant_id": "Collectivité", "role": "Rôle", "state": "État",
        "failed_logins": "Échecs", "locked_at": "Bloqué le", "disabled_at": "Désactivé le",
        "last_login_at": "Dernière connexion", "created_at": "Créé le",
    }
    column_formatters = {
        "role": lambda admin, _attribute: ROLE_LABELS.get(admin.role, admin.role),
        "state": lambda admin, _attribute: _admin_state(admin),
    }
    column_formatters_detail = column_formatters
    column_searchable_list = [Admin.email]
    column_sortable_list = [Admin.email, Admin.tenant_id, Admin.last_login_at, Admin.created_at]
    column_default_sort = [(Admin.tenant_id, False), (Admin.email, False)]
    column_filters = [TenantFilter(Admin.tenant_id)]
    action_labels = {"disable": "Désactiver", "enable": "Réactiver", "unlock": "Débloquer",
                     "send_link": "Envoyer le lien du mot de passe"}
    action_notes = {
        "disable": "Leurs sessions ouvertes dans la console sont fermées aussitôt.",
        "unlock": "Leur compteur d'échecs repart de zéro : ils peuvent se connecter aussitôt.",
        "send_link": "Chacun reçoit par courriel un nouveau lien, valable 48 heures, pour choisir son mot de passe ; "
                     "les liens envoyés avant ne servent plus. Les accès désactivés ne reçoivent rien.",
    }

    def describe(self, row: Admin) -> str:
        return f"{row.email} — {row.tenant_id} ({ROLE_LABELS.get(row.role, row.role)}, {_admin_state(row)})"

    @action(name="disable", label="Désactiver", add_in_detail=True, add_in_list=True)
    async def disable(self, request: Request) -> Response:
        return await self.confirm(request, "disable")

    @action(name="enable", label="Réactiver", add_in_detail=True, add_in_list=True)
    async def enable(self, request: Request) -> Response:
        return await self.confirm(request, "enable")

    @action(name="unlock", label="Débloquer", add_in_detail=True, add_in_list=True)
    async def unlock(self, request: Request) -> Response:
        return await self.confirm(request, "unlock")

    @action(name="send_link", label="Envoyer le lien du mot de passe", add_in_detail=True, add_in_list=True)
    async def send_link(self, request: Request) -> Response:
        return await self.confirm(request, "send_link")

    async def perform(self, request: Request, db, name: str, rows: list[Admin], by: str) -> Done:
        changed = 0
        for admin in rows:
            if name == "send_link":
                tenant = request.app.state.registry.get(admin.tenant_id)
                if admin.disabled_at is not None or tenant is None:  # None: its tenant left the configuration
                    continue
                settings = request.app.state.settings
                await AdminService(db, request.app.state.hasher, tenant).send_set_password_link(
                    admin, mail_base_url(settings, tenant), settings.platform_mail_from, by)
                changed += 1
                continue
            if name == "unlock":
                # The way back from a console lockout: nothing else lifts it before it expires.
                if admin.locked_at is None:
                    continue
                admin.locked_at = admin.locked_until = None
                admin.failed_logins = 0
                await audit.record(db, admin.tenant_id, EventType.ADMIN_UNLOCKED, admin_email=admin.email, by=by)
                changed += 1
                continue
            if name == "disable":
                await end_all_sessions(db, admin.principal)
                if admin.disabled_at is not None:
                    continue
                admin.disabled_at = clock.now()
            else:
                if admin.disabled_at is None:
                    continue
                admin.disabled_at = None
            # In the tenant's own trail: its staff see who changed their access.
            event = EventType.ADMIN_DISABLED if name == "disable" else EventType.ADMIN_ENABLED
            await audit.record(db, admin.tenant_id, event, admin_email=admin.email, by=by)
            changed += 1
        return Done(changed)


TenantAdminView.identity = "tenant-admin"  # SQLAdmin would name it after the model: "admin"
