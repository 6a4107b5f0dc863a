"""MAM and relais (seed 002): staff create a structure with its first account, which signs in by
the structure's email on the same login form as the assistants, and add more accounts; they edit
or delete a structure and link the assistants of a MAM. A structure's accounts edit its public
fiche (« Notre fiche »). A structure's email may not be an assistant's (« vous ne pouvez pas
utiliser l'adresse d'une assistant(e) maternel(le) inscrit(e) sur le site »).

The console's rules speak French literally (the console is French only); the rules of the
structure's own form go through the catalog, as every portal page."""

from __future__ import annotations

import unicodedata
from collections.abc import Iterable, Mapping
from dataclasses import dataclass
from typing import Any

from sqlalchemy import delete, func, select
from sqlalchemy.ext.asyncio import AsyncSession

from assmat.auth import staff_actions
from assmat.auth.context import AuthContext
from assmat.auth.identifiers import normalize_email
from assmat.auth.models import Account
from assmat.core.db.changes import fiche_changed
from assmat.core.errors import Invalid, NotFound
from assmat.core.i18n import gettext as _
from assmat.core.mail.address import plain_address
from assmat.core.security import audit
from assmat.core.security.audit import EventType
from assmat.portal.structures.models import KINDS, Structure, StructureAccount, StructureMember
from assmat.tenants.loader import Tenant

KIND_LABELS = {"mam": "Maison d'assistants maternels (MAM)", "ram": "Relais d'assistants maternels (RAM)"}
LIMITS = {"name": 200, "address": 300, "postal_code": 10, "city": 100, "email": 254, "phone": 40, "communes": 4000}
FICHE_LIMITS = {"presentation": 4000, "address": 300, "postal_code": 10, "city": 100, "phone": 40,
                "public_email": 254, "hours": 1000}
MULTILINE = ("communes", "presentation", "hours")


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


def clean(field: str, value: object) -> str:
    """A typed value as kept: free texts keep their lines (trimmed), one-line fields their words."""
    text = value if isinstance(value, str) else ""
    if field in MULTILINE:
        return "\n".join(line.strip() for line in text.strip().splitlines()).strip()
    return " ".join(text.split())


async def _address_taken(db: AsyncSession, tenant: Tenant, email_key: str, own: Iterable[int] = ()) -> str | None:
    """Why this address may not be a structure's, or None: an assistant's (or anyone else's)
    address or identifier, or another structure's email; `own`: this structure's accounts."""
    taken = await db.scalar(select(Account.kind).where(
        Account.tenant_id == tenant.slug, (Account.email_key == email_key) | (Account.identifier == email_key),
        Account.id.not_in(list(own)),
    ).limit(1))
    if taken == "assistant":
        return ("Cette adresse est celle d'un assistant maternel inscrit sur le site : une structure "
                "doit avoir sa propre adresse électronique.")
    if taken is not None:
        return "Cette adresse est déjà celle d'un autre compte."
    return None


async def _check_email(db: AsyncSession, tenant: Tenant, email: str, errors: dict[str, str], own: Iterable[int] = (),
                       missing: str = "Indiquez l'adresse électronique de la structure : elle sert d'identifiant.") -> None:
    if not email:
        errors["email"] = missing
    elif normalize_email(email) is None:
        errors["email"] = "Adresse électronique invalide."
    elif len(email) > LIMITS["email"]:
        errors["email"] = f"{LIMITS['email']} caractères au plus."
    else:
        refused = await _address_taken(db, tenant, normalize_email(email) or "", own)
        if refused:
            errors["email"] = refused


async def create_structure(ctx: AuthContext, new: NewStructure, by: str) -> tuple[Structure, Account]:
    """The structure and its first account (kind mam or ram, identifier its normalised email),
    in one transaction; StructureRefused with nothing written on a wrong field or a taken address."""
    errors: dict[str, str] = {}
    if new.kind not in kinds_of(ctx.config):
        errors["kind"] = "Choisissez le type de structure."
    if not new.name:
        errors["name"] = "Indiquez le nom de la structure."
    for field, limit in LIMITS.items():
        if len(getattr(new, field)) > limit:
            errors.setdefault(field, f"{limit} caractères au plus.")
    if "email" not in errors:
        await _check_email(ctx.db, ctx.tenant, new.email, errors)
    if errors:
        raise StructureRefused(errors)
    structure = Structure(
        tenant_id=ctx.tenant.slug, kind=new.kind, name=new.name, email=plain_address(new.email),
        public_email=plain_address(new.email), address=new.address or None, postal_code=new.postal_code or None,
        city=new.city or None, phone=new.phone or None, communes=(new.communes or None) if new.kind == "ram" else None,
    )
    ctx.db.add(structure)
    await ctx.db.flush()
    account = await _new_account(ctx, structure, new.email, by)
    return structure, account


async def _new_account(ctx: AuthContext, structure: Structure, email: str, by: str) -> Account:
    account, _password = await staff_actions.create_account(
        ctx, email, email=email, kind=structure.kind, last_name=structure.name[:100], address=structure.address,
        postal_code=structure.postal_code, city=structure.city, by=by, commit=False,
    )
    ctx.db.add(StructureAccount(tenant_id=ctx.tenant.slug, structure_id=structure.id, account_id=account.id))
    await ctx.db.flush()
    return account


async def add_account(ctx: AuthContext, structure: Structure, email: str, by: str) -> Account:
    """A further account for `structure`, signing in by `email` (another person of the MAM or the
    relais); the address rule is the structure's own. StructureRefused, nothing written."""
    email = clean("email", email)
    errors: dict[str, str] = {}
    await _check_email(ctx.db, ctx.tenant, email, errors,
                       missing="Indiquez l'adresse électronique du compte : elle sert d'identifiant.")
    if errors:
        raise StructureRefused(errors)
    account = await _new_account(ctx, structure, email, by)
    await audit.record(ctx.db, ctx.tenant.slug, EventType.STRUCTURE_ACCOUNT_ADDED, account_id=account.id,
                       structure_id=structure.id, by=by)
    return account


async def get(db: AsyncSession, tenant: Tenant, structure_id: int, kind: str | None = None) -> Structure:
    """The tenant's structure; NotFound for another tenant's, a missing one, or another kind."""
    structure = await db.scalar(select(Structure).where(Structure.tenant_id == tenant.slug, Structure.id == structure_id))
    if structure is None or (kind is not None and structure.kind != kind):
        raise NotFound()
    return structure


async def structure_of(db: AsyncSession, tenant: Tenant, account_id: int) -> Structure | None:
    """The structure a signed-in MAM or relais account acts for."""
    return await db.scalar(
        select(Structure).join(StructureAccount, (StructureAccount.tenant_id == Structure.tenant_id)
                               & (StructureAccount.structure_id == Structure.id))
        .where(Structure.tenant_id == tenant.slug, StructureAccount.tenant_id == tenant.slug,
               StructureAccount.account_id == account_id))


async def accounts_of(db: AsyncSession, tenant: Tenant, structure_id: int) -> list[Account]:
    return list((await db.scalars(
        select(Account).join(StructureAccount, (StructureAccount.tenant_id == Account.tenant_id)
                             & (StructureAccount.account_id == Account.id))
        .where(Account.tenant_id == tenant.slug, StructureAccount.tenant_id == tenant.slug,
               StructureAccount.structure_id == structure_id).order_by(Account.id))).all())


async def members_of(db: AsyncSession, tenant: Tenant, structure_id: int) -> list[Account]:
    """The assistants of a MAM, by name."""
    return list((await db.scalars(
        select(Account).join(StructureMember, (StructureMember.tenant_id == Account.tenant_id)
                             & (StructureMember.account_id == Account.id))
        .where(Account.tenant_id == tenant.slug, StructureMember.tenant_id == tenant.slug,
               StructureMember.structure_id == structure_id)
        .order_by(Account.last_name, Account.first_name, Account.id))).all())


async def mam_of(db: AsyncSession, tenant: Tenant, account_id: int) -> Structure | None:
    """The MAM an assistant works in, if any."""
    return await db.scalar(
        select(Structure).join(StructureMember, (StructureMember.tenant_id == Structure.tenant_id)
                               & (StructureMember.structure_id == Structure.id))
        .where(Structure.tenant_id == tenant.slug, StructureMember.tenant_id == tenant.slug,
               StructureMember.account_id == account_id))


async def relais_list(db: AsyncSession, tenant: Tenant) -> list[Structure]:
    """The tenant's relais by name: the public « liste des RAM » of seed 002, from which parents
    and the relais themselves open a relais' fiche (« Voir les coordonnées »)."""
    return list((await db.scalars(select(Structure).where(Structure.tenant_id == tenant.slug, Structure.kind == "ram")
                                  .order_by(Structure.name, Structure.id))).all())


async def has_mams(db: AsyncSession, tenant: Tenant) -> bool:
    return await db.scalar(select(Structure.id).where(Structure.tenant_id == tenant.slug,
                                                      Structure.kind == "mam").limit(1)) is not None


# -- staff --------------------------------------------------------------------------------------------

async def update_structure(db: AsyncSession, tenant: Tenant, structure: Structure, values: Mapping[str, str],
                           by: str) -> Structure:
    """Staff's edit: the name, the email (the address rule, its own accounts aside), a relais'
    communes, the contact fields. StructureRefused, nothing changed."""
    new = {field: clean(field, values.get(field, "")) for field in LIMITS}
    errors: dict[str, str] = {}
    if not new["name"]:
        errors["name"] = "Indiquez le nom de la structure."
    for field, limit in LIMITS.items():
        if len(new[field]) > limit:
            errors.setdefault(field, f"{limit} caractères au plus.")
    if "email" not in errors:
        own = [account.id for account in await accounts_of(db, tenant, structure.id)]
        await _check_email(db, tenant, new["email"], errors, own=own)
        if "email" not in errors:
            other = await db.scalar(select(Structure.id).where(
                Structure.tenant_id == tenant.slug, Structure.id != structure.id,
                func.lower(Structure.email) == (normalize_email(new["email"]) or "")).limit(1))
            if other is not None:
                errors["email"] = "Cette adresse est déjà celle d'une autre structure."
    if errors:
        raise StructureRefused(errors)
    changed = sorted(field for field in LIMITS if (getattr(structure, field) or "") != new[field]
                     and not (field == "communes" and structure.kind != "ram"))
    for field in changed:
        setattr(structure, field, (plain_address(new[field]) if field == "email" else new[field]) or None)
    if changed:
        await audit.record(db, tenant.slug, EventType.STRUCTURE_UPDATED, structure_id=structure.id, fields=changed, by=by)
    await db.flush()
    return structure


async def delete_structure(ctx: AuthContext, structure: Structure, by: str) -> tuple[int, int]:
    """The structure goes; its accounts are disabled (their sessions end, their audit trail and
    sign-in history stay with them), its members are unlinked and leave « en MAM » in the search.
    Returns (accounts disabled, members unlinked)."""
    accounts = await accounts_of(ctx.db, ctx.tenant, structure.id)
    members = [account.id for account in await members_of(ctx.db, ctx.tenant, structure.id)]
    for account in accounts:
        if account.disabled_at is None:
            await staff_actions.staff_set_disabled(ctx, account, True, by)
    for table in (StructureMember, StructureAccount):
        await ctx.db.execute(delete(table).where(table.tenant_id == ctx.tenant.slug, table.structure_id == structure.id))
    await ctx.db.execute(delete(Structure).where(Structure.tenant_id == ctx.tenant.slug, Structure.id == structure.id))
    await audit.record(ctx.db, ctx.tenant.slug, EventType.STRUCTURE_DELETED, structure_id=structure.id, name=structure.name,
                       accounts=[account.id for account in accounts], members=members, by=by)
    if members:
        await fiche_changed(ctx.db, ctx.tenant, members)
    return len(accounts), len(members)


async def assistant_by_identifier(db: AsyncSession, tenant: Tenant, identifier: str) -> Account | None:
    return await db.scalar(select(Account).where(Account.tenant_id == tenant.slug, Account.kind == "assistant",
                                                 Account.identifier == identifier))


async def link_member(db: AsyncSession, tenant: Tenant, structure: Structure, account: Account, by: str) -> None:
    """`account` works in the MAM `structure` (moved from another MAM if she was in one)."""
    if structure.kind != "mam":
        raise StructureRefused({"member": "Seule une MAM a des assistants membres."})
    if account.tenant_id != tenant.slug or account.kind != "assistant":
        raise StructureRefused({"member": "Aucun assistant maternel de ce site n'a cet identifiant."})
    current = await db.scalar(select(StructureMember).where(StructureMember.tenant_id == tenant.slug,
                                                            StructureMember.account_id == account.id))
    if current is not None and current.structure_id == structure.id:
        raise StructureRefused({"member": "Cet assistant est déjà membre de cette MAM."})
    if current is not None:
        await db.delete(current)
        await db.flush()
        await audit.record(db, tenant.slug, EventType.STRUCTURE_MEMBER_UNLINKED, account_id=account.id,
                           structure_id=current.structure_id, by=by)
    db.add(StructureMember(tenant_id=tenant.slug, structure_id=structure.id, account_id=account.id, linked_by=by))
    await audit.record(db, tenant.slug, EventType.STRUCTURE_MEMBER_LINKED, account_id=account.id, structure_id=structure.id,
                       by=by)
    await fiche_changed(db, tenant, [account.id])


async def unlink_member(db: AsyncSession, tenant: Tenant, structure: Structure, account_id: int, by: str) -> None:
    gone = await db.execute(delete(StructureMember).where(
        StructureMember.tenant_id == tenant.slug, StructureMember.structure_id == structure.id,
        StructureMember.account_id == account_id).returning(StructureMember.id))
    if gone.scalar() is None:
        raise NotFound()
    await audit.record(db, tenant.slug, EventType.STRUCTURE_MEMBER_UNLINKED, account_id=account_id,
                       structure_id=structure.id, by=by)
    await fiche_changed(db, tenant, [account_id])


# -- the monthly import's MAM column ----------------------------------------------------------------------

def name_key(text: str) -> str:
    """« MAM Les  Petits-Loups » → « mam les petits loups »: names and communes compared loosely."""
    plain = unicodedata.normalize("NFKD", text).encode("ascii", "ignore").decode().lower()
    for mark in "-'’.,":
        plain = plain.replace(mark, " ")
    return " ".join(plain.split())


async def mams_by_name(db: AsyncSession, tenant: Tenant) -> dict[str, int]:
    """The tenant's MAM ids by `name_key` of their names (the import matches its column here)."""
    rows = await db.execute(select(Structure.id, Structure.name).where(Structure.tenant_id == tenant.slug,
                                                                      Structure.kind == "mam"))
    return {name_key(name): structure_id for structure_id, name in rows.all()}


async def set_memberships(db: AsyncSession, tenant: Tenant, wanted: Mapping[int, int | None], by: str) -> list[int]:
    """The import's MAM column: each account in `wanted` is in that MAM (None: in none). Returns
    the accounts whose MAM changed (the caller refreshes their search entries)."""
    if not wanted:
        return []
    current = dict((await db.execute(select(StructureMember.account_id, StructureMember.structure_id).where(
        StructureMember.tenant_id == tenant.slug, StructureMember.account_id.in_(list(wanted))))).all())
    changed = [account_id for account_id, structure_id in wanted.items() if current.get(account_id) != structure_id]
    if not changed:
        return []
    await db.execute(delete(StructureMember).where(StructureMember.tenant_id == tenant.slug,
                                                   StructureMember.account_id.in_(changed)))
    for account_id in changed:
        if wanted[account_id] is not None:
            db.add(StructureMember(tenant_id=tenant.slug, structure_id=wanted[account_id], account_id=account_id,
                                   linked_by=by))
            await audit.record(db, tenant.slug, EventType.STRUCTURE_MEMBER_LINKED, account_id=account_id,
                               structure_id=wanted[account_id], by=by)
        else:
            await audit.record(db, tenant.slug, EventType.STRUCTURE_MEMBER_UNLINKED, account_id=account_id,
                               structure_id=current[account_id], by=by)
    await db.flush()
    return changed


# -- the structure's own fiche -----------------------------------------------------------------------------

FICHE_FIELDS = tuple(FICHE_LIMITS)


def fiche_values(structure: Structure) -> dict[str, str]:
    return {field: getattr(structure, field) or "" for field in FICHE_FIELDS}


async def save_fiche(db: AsyncSession, tenant: Tenant, structure: Structure, account: Account,
                     form: Mapping[str, Any]) -> Structure:
    """« Notre fiche »: what the structure publishes. Invalid (French, by field) and nothing
    changed on a wrong field; the name, the kind and a relais' communes are staff's."""
    values = {field: clean(field, form.get(field, "")) for field in FICHE_FIELDS}
    errors: dict[str, str] = {}
    for field, limit in FICHE_LIMITS.items():
        if len(values[field]) > limit:
            errors[field] = _("%(max)s characters at most.") % {"max": limit}
    if values["public_email"] and "public_email" not in errors and normalize_email(values["public_email"]) is None:
        errors["public_email"] = _("Please enter a valid email address.")
    if values["postal_code"] and "postal_code" not in errors and not (
            len(values["postal_code"]) == 5 and values["postal_code"].isdigit()):
        errors["postal_code"] = _("The postcode has 5 digits.")
    if values["phone"] and "phone" not in errors and sum(ch.isdigit() for ch in values["phone"]) < 10:
        errors["phone"] = _("Give a phone number of 10 digits.")
    if errors:
        raise Invalid(_("Please correct the fiche."), field_errors=errors)
    changed = sorted(field for field in FICHE_FIELDS if (getattr(structure, field) or "") != values[field])
    for field in changed:
        setattr(structure, field, values[field] or None)
    if changed:
        await audit.record(db, tenant.slug, EventType.STRUCTURE_FICHE_SAVED, account_id=account.id,
                           structure_id=structure.id, fields=changed)
    await db.flush()
    return structure


# -- the relais' assistants -------------------------------------------------------------------------------

def communes_of(structure: Structure) -> list[str]:
    """A relais' communes as staff typed them, one a line."""
    return [line.strip() for line in (structure.communes or "").splitlines() if line.strip()]


def covers(structure: Structure, city: str | None) -> bool:
    """Whether the assistant's commune (as on file) is one of the relais' communes."""
    return bool(city) and name_key(city or "") in {name_key(commune) for commune in communes_of(structure)}
