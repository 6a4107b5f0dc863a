"""MAM and relais (seed 002): staff create a structure and the account that signs in for it by
the structure's email, on the same login form as the assistants. A structure's email may not be
an assistant's (« vous ne pouvez pas utiliser l'adresse d'une assistant(e) maternel(le) inscrit(e)
sur le site »)."""

from __future__ import annotations

from dataclasses import dataclass

from sqlalchemy import select

from assmat.auth import staff_actions
from assmat.auth.context import AuthContext
from assmat.auth.identifiers import normalize_email
from assmat.auth.models import Account
from assmat.core.mail.address import plain_address
from assmat.portal.structures.models import KINDS, Structure

KIND_LABELS = {"mam": "Maison d'assistants maternels (MAM)", "ram": "Relais d'assistants maternels (RAM)"}
LIMITS = {"name": 200, "address": 300, "postal_code": 10, "city": 100, "email": 254, "phone": 40, "communes": 4000}


@dataclass(frozen=True)
class NewStructure:
    kind: str
    name: str
    email: str
    address: str = ""
    postal_code: str = ""
    city: str = ""
    phone: str = ""
    communes: str = ""  # a relais: one commune a line


class StructureRefused(Exception):
    """The French message of each wrong field, by field name; nothing was written."""

    def __init__(self, errors: dict[str, str]):
        super().__init__("; ".join(errors.values()))
        self.errors = errors


def kinds_of(config) -> list[str]:
    return [kind for kind in KINDS if kind in config.features.structures]


async def create_structure(ctx: AuthContext, new: NewStructure, by: str) -> tuple[Structure, Account]:
    """The structure and its account (kind mam or ram, identifier its normalised email), in one
    transaction; StructureRefused with nothing written on a wrong field or a taken address."""
    errors: dict[str, str] = {}
    if new.kind not in kinds_of(ctx.config):
        errors["kind"] = "Choisissez le type de structure."
    if not new.name:
        errors["name"] = "Indiquez le nom de la structure."
    email_key = normalize_email(new.email) if new.email else None
    if not new.email:
        errors["email"] = "Indiquez l'adresse électronique de la structure : elle sert d'identifiant."
    elif email_key is None:
        errors["email"] = "Adresse électronique invalide."
    for field, limit in LIMITS.items():
        if len(getattr(new, field)) > limit:
            errors.setdefault(field, f"{limit} caractères au plus.")
    if email_key is not None and "email" not in errors:
        taken = await ctx.db.scalar(select(Account.kind).where(
            Account.tenant_id == ctx.tenant.slug, (Account.email_key == email_key) | (Account.identifier == email_key),
        ).limit(1))
        if taken == "assistant":
            errors["email"] = ("Cette adresse est celle d'un assistant maternel inscrit sur le site : une structure "
                               "doit avoir sa propre adresse électronique.")
        elif taken is not None:
            errors["email"] = "Cette adresse est déjà celle d'un autre compte."
    if errors:
        raise StructureRefused(errors)
    account, _password = await staff_actions.create_account(
        ctx, new.email, email=new.email, kind=new.kind, last_name=new.name[:100], address=new.address or None,
        postal_code=new.postal_code or None, city=new.city or None, by=by, commit=False,
    )
    structure = Structure(
        tenant_id=ctx.tenant.slug, kind=new.kind, name=new.name, email=plain_address(new.email),
        address=new.address or None, postal_code=new.postal_code or None, city=new.city or None,
        phone=new.phone or None, communes=(new.communes or None) if new.kind == "ram" else None, account_id=account.id,
    )
    ctx.db.add(structure)
    await ctx.db.flush()
    return structure, account
