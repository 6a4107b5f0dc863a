"""« Structures (MAM, relais) »: the tenant's MAM and relais. « Créer une structure » creates the
structure and its first account (identifier: the structure's email), then what the tenant's
activation mode says: its letter printed at once, or an activation link mailed. On a
structure's page, staff edit it (« Modifier la structure »), add accounts and link the
assistants of a MAM (« Comptes et assistants membres »), and delete it (« Supprimer »)."""

from __future__ import annotations

from typing import Any

from sqladmin import action, expose
from starlette.exceptions import HTTPException
from starlette.requests import Request
from starlette.responses import RedirectResponse, Response

from assmat.admin.actions import Done, read_console_form
from assmat.admin.scoping import TenantScopedView, feature_on
from assmat.auth.context import auth_context
from assmat.core.errors import NotFound
from assmat.web.ids import parse_id
from assmat.portal.structures import service
from assmat.portal.structures.models import Structure
from assmat.web.csrf import csrf_token
from assmat.web.forms import BadForm

FIELDS = ("kind", "name", "email", "phone", "address", "postal_code", "city", "communes")
DONE = {"compte": "Compte ajouté.", "membre": "Assistant rattaché à la MAM.", "retire": "Assistant détaché de la MAM.",
        "modifiee": "Structure modifiée.", "lien": "Compte ajouté : un lien d'activation est envoyé à son adresse."}


class StructureView(TenantScopedView, model=Structure):
    name = "Structure (MAM, relais)"
    name_plural = "Structures (MAM, relais)"
    icon = "fa-solid fa-house-user"
    details_template = "structure_details.html"
    column_list = [Structure.name, Structure.kind, Structure.city, Structure.email, Structure.phone]
    column_details_list = [Structure.name, Structure.kind, Structure.email, Structure.phone, Structure.address,
                           Structure.postal_code, Structure.city, Structure.communes, Structure.public_email,
                           Structure.presentation, Structure.hours, Structure.created_at, Structure.updated_at]
    column_labels = {"name": "Nom", "kind": "Type", "city": "Commune", "email": "Adresse électronique",
                     "phone": "Téléphone", "address": "Adresse", "postal_code": "Code postal",
                     "communes": "Communes couvertes (relais)", "created_at": "Créée le",
                     "public_email": "Adresse publiée", "presentation": "Présentation",
                     "hours": "Horaires et accueil", "updated_at": "Modifiée le"}
    column_searchable_list = [Structure.name, Structure.email, Structure.city]
    column_sortable_list = [Structure.name, Structure.created_at]
    column_default_sort = [(Structure.name, False)]
    column_formatters = {"kind": lambda row, _a: service.KIND_LABELS.get(row.kind, row.kind)}
    column_formatters_detail = column_formatters
    menu_links = (("Créer une structure", "view-structures-new_structure"),)
    action_labels = {"delete_structure": "Supprimer la structure"}
    action_notes = {"delete_structure": ("Ses comptes sont désactivés (ils ne peuvent plus se connecter ; leur "
                                         "historique reste consultable) et ses assistants membres sont détachés.")}

    def is_visible(self, request: Request) -> bool:
        return super().is_visible(request) and feature_on(request, "structures")

    def describe(self, row: Structure) -> str:
        return f"{row.name} ({row.email})"

    # -- what the details page reads ----------------------------------------------------------------

    async def people(self, request: Request, structure: Structure) -> dict[str, Any]:
        tenant = request.scope["tenant"]
        async with request.app.state.sessionmaker() as db:
            return {"accounts": await service.accounts_of(db, tenant, structure.id),
                    "members": await service.members_of(db, tenant, structure.id) if structure.kind == "mam" else None}

    def done_message(self, request: Request) -> str | None:
        return DONE.get(request.query_params.get("fait", ""))

    # -- the pages ----------------------------------------------------------------------------------

    async def _structure(self, request: Request, db: Any) -> Structure:
        """The structure of the path, among this tenant's (another tenant's: 404, like a missing one)."""
        tenant = request.scope["tenant"]
        self.scope_of(request)
        if not tenant.config.features.structures:
            raise HTTPException(404)
        structure_id = parse_id(request.path_params["pk"])
        if structure_id is None:
            raise HTTPException(404)
        try:
            return await service.get(db, tenant, structure_id)
        except NotFound:
            raise HTTPException(404) from None

    def _details(self, request: Request, structure_id: int, done: str) -> Response:
        url = request.url_for("admin:details", identity=self.identity, pk=str(structure_id))
        return RedirectResponse(f"{url}?fait={done}", status_code=303)

    async def _form(self, request: Request) -> tuple[dict[str, str], str | None]:
        try:
            return await read_console_form(request), None
        except BadForm as exc:
            return {}, exc.message

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
            form, bad = await self._form(request)
            if bad:
                errors["form"] = bad
            values = {key: service.clean(key, form.get(key, "")) for key in values}
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

    @expose("/modifier/{pk}", methods=["GET", "POST"])
    async def edit_structure(self, request: Request) -> Response:
        by = self._require_actor(request)
        tenant = request.scope["tenant"]
        errors: dict[str, str] = {}
        async with request.app.state.sessionmaker() as db:
            structure = await self._structure(request, db)
            values = {key: getattr(structure, key) or "" for key in FIELDS}
            if request.method == "POST":
                form, bad = await self._form(request)
                values = {key: service.clean(key, form.get(key, "")) for key in FIELDS} | {"kind": structure.kind}
                if bad:
                    errors["form"] = bad
                else:
                    try:
                        await service.update_structure(db, tenant, structure, values, by)
                    except service.StructureRefused as exc:  # refused before any change
                        errors = exc.errors
                    else:
                        await db.commit()
                        return self._details(request, structure.id, "modifiee")
            return await self._admin_ref.templates.TemplateResponse(request, "structure_edit.html", {
                "title": f"Modifier « {structure.name} »", "structure": structure, "values": values, "errors": errors,
                "kind_label": service.KIND_LABELS[structure.kind], "csrf_value": csrf_token(request),
            }, status_code=400 if errors else 200)

    @expose("/personnes/{pk}", methods=["GET", "POST"])
    async def people_page(self, request: Request) -> Response:
        """The structure's accounts (« Ajouter un compte ») and a MAM's assistants (« Rattacher un
        assistant » by her identifier, « Détacher »)."""
        by = self._require_actor(request)
        tenant = request.scope["tenant"]
        errors: dict[str, str] = {}
        values = {"email": "", "identifier": ""}
        async with request.app.state.sessionmaker() as db:
            structure = await self._structure(request, db)
            if request.method == "POST":
                form, bad = await self._form(request)
                operation = form.get("op", "")
                values = {key: service.clean(key, form.get(key, "")) for key in values}
                ctx = auth_context(db, tenant, request.app.state.hasher, request.app.state.settings)
                try:
                    if bad:
                        raise service.StructureRefused({"form": bad})
                    if operation == "compte":
                        account = await service.add_account(ctx, structure, values["email"], by)
                        letter_page = await self._first_credentials(request, db, ctx, account, by)
                        return letter_page or self._details(request, structure.id, "lien")
                    if operation == "membre":
                        member = await service.assistant_by_identifier(db, tenant, ctx.identifier_for(
                            "assistant", values["identifier"]) or "")
                        if member is None:
                            raise service.StructureRefused({"identifier": (
                                "Aucun assistant maternel de ce site n'a cet identifiant.")})
                        await service.link_member(db, tenant, structure, member, by)
                        await db.commit()
                        return self._details(request, structure.id, "membre")
                    if operation == "retirer":
                        account_id = parse_id(form.get("account_id", ""))
                        if account_id is None:
                            raise HTTPException(404)
                        try:
                            await service.unlink_member(db, tenant, structure, account_id, by)
                        except NotFound:
                            raise HTTPException(404) from None
                        await db.commit()
                        return self._details(request, structure.id, "retire")
                    raise HTTPException(404)
                except service.StructureRefused as exc:  # refused before any change
                    errors = exc.errors
                    if "member" in errors:
                        errors["identifier"] = errors.pop("member")
            people = await self.people(request, structure)
            return await self._admin_ref.templates.TemplateResponse(request, "structure_people.html", {
                "title": f"Comptes et assistants membres de « {structure.name} »", "structure": structure,
                "values": values, "errors": errors, "csrf_value": csrf_token(request), **people,
                "letter_mode": tenant.config.activation.mode == "letter",
                "identifier_label": "Numéro PMI" if tenant.config.login.identifier == "pmi_number" else "Identifiant",
            }, status_code=400 if errors else 200)

    # -- « Supprimer la structure »: GET confirms, POST acts (assmat.admin.actions) ---------------------

    @action(name="delete_structure", label="Supprimer la structure", add_in_detail=True, add_in_list=False)
    async def delete_structure(self, request: Request) -> Response:
        return await self.confirm(request, "delete_structure")

    async def perform(self, request: Request, db: Any, name: str, rows: list[Structure], by: str) -> Done:
        tenant = request.scope["tenant"]
        ctx = auth_context(db, tenant, request.app.state.hasher, request.app.state.settings)
        for structure in rows:
            await service.delete_structure(ctx, structure, by)
        return Done(count=len(rows))


StructureView.identity = "structures"
