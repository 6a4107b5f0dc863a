"""The children assistants declare in their space, for the tenant's staff: read-only, with the
filter for late declarations (seed 001's "déclarer sous 8 jours").

Readable by the tenant's staff whatever its features (a tenant that turns the feature off keeps
its past records); the menu shows it only where the feature is on."""

from __future__ import annotations

from typing import Any

from markupsafe import Markup, escape
from sqlalchemy import or_, select
from sqlalchemy.orm import selectinload
from starlette.requests import Request

from assmat.admin.account_column import AccountColumn, account_formatter
from assmat.admin.filters import ChoiceFilter, DateFilter
from assmat.admin.formatting import fr_date
from assmat.admin.scoping import TenantScopedView, feature_on
from assmat.portal.children.models import Child, Guardian
from assmat.portal.children.service import LATE_AFTER_DAYS, periods_query


def _periods_cell(child: Child, _attribute: Any, request: Request) -> Markup:
    labels = {kind.code: kind.label for kind in request.scope["tenant"].config.childcare_types}
    items = []
    for period in getattr(child, "_periods", []):
        text = f"{labels.get(period.childcare_type, period.childcare_type)} : du {fr_date(period.start_date)}"
        text += f" au {fr_date(period.end_date)}" if period.end_date else " (sans date de fin)"
        if period.hours_per_month is not None:
            text += f", {period.hours_per_month} h par mois"
        if period.comment:
            text += f" — {period.comment}"
        items.append(f"<li>{escape(text)}</li>")
    return Markup(f"<ul>{''.join(items)}</ul>") if items else Markup("")


def _guardian_cell(number: int):
    def cell(child: Child, _attribute: Any) -> str:
        guardian = child.guardian(number)
        if guardian is None:
            return ""
        parts = [getattr(guardian, name) for name in ("civility", "first_name", "last_name")]
        contact = [getattr(guardian, name) for name in ("email", "phone")]
        name = " ".join(part for part in parts if part)
        return " — ".join(part for part in [name, *contact] if part)

    return cell


def _address_cell(prefix: str):
    def cell(child: Child, _attribute: Any) -> str:
        parts = [getattr(child, f"{prefix}address"), getattr(child, f"{prefix}postal_code"), getattr(child, f"{prefix}city")]
        return " ".join(part for part in parts if part)

    return cell


LATE_LABEL = f"plus de {LATE_AFTER_DAYS} jours après le début de l'accueil"


class DeclarationView(AccountColumn, TenantScopedView, model=Child):
    name = "Déclaration d'enfant accueilli"
    name_plural = "Enfants accueillis (déclarations)"
    icon = "fa-solid fa-children"
    column_list = [Child.declared_at, "account", Child.last_name, Child.first_name, Child.birth_date, Child.care_start,
                   Child.declared_late]
    column_details_list = [
        Child.id, Child.declared_at, "account", Child.last_name, Child.first_name, Child.birth_date, "guardian1",
        "guardian2", "main_address", "second_address", "periods", Child.care_start, Child.declared_late, Child.updated_at,
    ]
    column_export_list = [Child.declared_at, "account", Child.last_name, Child.first_name, Child.birth_date,
                          Child.care_start, Child.declared_late]
    column_labels = {
        "id": "N°", "declared_at": "Déclaré le", "account": "Assistant(e) maternel(le)", "last_name": "Nom de l'enfant",
        "first_name": "Prénom de l'enfant", "birth_date": "Date de naissance", "care_start": "Début de l'accueil",
        "declared_late": f"Déclaration tardive ({LATE_LABEL})", "guardian1": "Représentant légal 1",
        "guardian2": "Représentant légal 2", "main_address": "Adresse principale", "second_address": "Adresse secondaire",
        "periods": "Périodes d'accueil", "updated_at": "Dernière modification",
    }
    column_formatters = {"account": account_formatter("account_id")}
    column_formatters_detail = {
        "account": account_formatter("account_id"), "guardian1": _guardian_cell(1), "guardian2": _guardian_cell(2),
        "main_address": _address_cell(""), "second_address": _address_cell("second_"), "periods": _periods_cell,
    }
    column_searchable_list = [Child.last_name, Child.first_name]  # and the guardians' last names: search_query
    column_sortable_list = [Child.declared_at, Child.care_start, Child.last_name]
    column_default_sort = [(Child.declared_at, True), (Child.id, True)]
    column_filters = [
        ChoiceFilter("tardive", "Déclaration tardive", {
            "true": (f"oui ({LATE_LABEL})", Child.declared_late.is_(True)),
            "false": ("non", Child.declared_late.is_(False)),
        }),
        DateFilter(Child.declared_at, "du", "Déclarées depuis le", since=True),
        DateFilter(Child.declared_at, "au", "Déclarées jusqu'au", since=False),
    ]
    can_export = True

    def is_visible(self, request: Request) -> bool:
        return super().is_visible(request) and feature_on(request, "children")

    def search_query(self, stmt: Any, term: str) -> Any:
        """The child's names, as SQLAdmin searches them, or a guardian's last name: a guardian is a
        row of its own, matched with EXISTS so a child named by both guardians is listed once."""
        pattern = f"%{term}%"
        guardian_named = (
            select(Guardian.id)
            .where(Guardian.child_id == Child.id, Guardian.tenant_id == Child.tenant_id,
                   Guardian.last_name.ilike(pattern))
            .exists()
        )
        return stmt.filter(or_(*(column.ilike(pattern) for column in self.column_searchable_list), guardian_named))

    def search_placeholder(self) -> str:
        return f"{super().search_placeholder()}, Nom d'un représentant légal"

    def details_query(self, request: Request) -> Any:
        return super().details_query(request).options(
            selectinload(Child.guardians.and_(Guardian.tenant_id == self.scope_of(request)))
        )

    async def get_object_for_details(self, request: Request) -> Any:
        child = await super().get_object_for_details(request)
        if child is not None:
            rows = await self._run_arbitrary_query(periods_query(self.scope_of(request), child.id))
            child._periods = [period for (period,) in rows]
        return child


# SQLAdmin names a view after its model; French addresses for staff.
DeclarationView.identity = "declaration"
