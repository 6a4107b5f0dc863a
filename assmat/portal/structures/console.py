"""« Structures (MAM, relais) »: the tenant's MAM and relais, and « Créer une structure », which
creates the structure and its account (identifier: the structure's email), then what the
tenant's activation mode says: its letter printed at once, or an activation link mailed."""

from __future__ import annotations

from sqladmin import expose
from starlette.exceptions import HTTPException
from starlette.requests import Request
from starlette.responses import RedirectResponse, Response

from assmat.admin.actions import read_console_form
from assmat.admin.scoping import TenantScopedView, feature_on
from assmat.auth.context import auth_context
from assmat.portal.structures import service
from assmat.portal.structures.models import Structure
from assmat.web.csrf import csrf_token
from assmat.web.forms import BadForm

FIELDS = ("kind", "name", "email", "phone", "address", "postal_code", "city", "communes")


class StructureView(TenantScopedView, model=Structure):
    name = "Structure (MAM, relais)"
    name_plural = "Structures (MAM, relais)"
    icon = "fa-solid fa-house-user"
    column_list = [Structure.name, Structure.kind, Structure.city, Structure.email, Structure.phone]
    column_details_list = [Structure.name, Structure.kind, Structure.email, Structure.phone, Structure.address,
                           Structure.postal_code, Structure.city, Structure.communes, Structure.created_at]
    column_labels = {"name": "Nom", "kind": "Type", "city": "Commune", "email": "Adresse électronique",
                     "phone": "Téléphone", "address": "Adresse", "postal_code": "Code postal",
                     "communes": "Communes couvertes (relais)", "created_at": "Créée le"}
    column_searchable_list = [Structure.name, Structure.email, Structure.city]
    column_sortable_list = [Structure.name, Structure.created_at]
    column_default_sort = [(Structure.name, False)]
    column_formatters = {"kind": lambda row, _a: service.KIND_LABELS.get(row.kind, row.kind)}
    column_formatters_detail = column_formatters
    menu_links = (("Créer une structure", "view-structures-new_structure"),)

    def is_visible(self, request: Request) -> bool:
        return super().is_visible(request) and feature_on(request, "structures")

    def describe(self, row: Structure) -> str:
        return f"{row.name} ({row.email})"

    @expose("/nouvelle", methods=["GET", "POST"])
    async def new_structure(self, request: Request) -> Response:
        by = self._require_actor(request)
        tenant = request.scope["tenant"]
        kinds = service.kinds_of(tenant.config)
        if not kinds:
            raise HTTPException(404)
        values = dict.fromkeys(FIELDS, "") | {"kind": kinds[0]}
        errors: dict[str, str] = {}
        if request.method == "POST":
            try:
                form = await read_console_form(request)
            except BadForm as exc:
                form, errors["form"] = {}, exc.message
            values = {key: form.get(key, "").strip() if key == "communes" else " ".join(form.get(key, "").split())
                      for key in values}
            if not errors:
                async with request.app.state.sessionmaker() as db:
                    ctx = auth_context(db, tenant, request.app.state.hasher, request.app.state.settings)
                    try:
                        structure, account = await service.create_structure(ctx, service.NewStructure(**values), by)
                    except service.StructureRefused as exc:
                        await db.rollback()
                        errors = exc.errors
                    else:
                        letter_page = await self._first_credentials(request, db, ctx, account, by)
                        if letter_page is not None:
                            return letter_page
                        url = request.url_for("admin:details", identity=self.identity, pk=str(structure.id))
                        return RedirectResponse(str(url), status_code=303)
        return await self._admin_ref.templates.TemplateResponse(request, "structure_new.html", {
            "title": "Créer une structure", "values": values, "errors": errors,
            "kinds": [(kind, service.KIND_LABELS[kind]) for kind in kinds],
            "letter_mode": tenant.config.activation.mode == "letter", "csrf_value": csrf_token(request),
        }, status_code=400 if errors else 200)


StructureView.identity = "structures"
