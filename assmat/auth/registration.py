"""« Créer mon compte famille »: a family creates its account online where the tenant allows it
(`families.signup`). The account is unusable until the address is confirmed by the emailed link
(single use, `families.confirmation_ttl`); the answer is the same whether the address is new or
already an account's (that address gets an email saying so): nothing tells who is registered.
Registrations never confirmed are deleted by `expire_registrations` (`assmat registrations-expire`)."""

from __future__ import annotations

from dataclasses import dataclass

from sqlalchemy import delete, select
from sqlalchemy.exc import IntegrityError

from assmat.auth import credentials
from assmat.auth.context import AuthContext
from assmat.auth.errors import RateLimited
from assmat.auth.identifiers import normalize_email
from assmat.auth.models import Account, PasswordHistory
from assmat.auth.policy import check_password
from assmat.core import clock
from assmat.core.errors import Invalid
from assmat.core.i18n import gettext as _
from assmat.core.mail.address import plain_address
from assmat.core.security import audit
from assmat.core.security.audit import EventType
from assmat.core.security.ratelimit import REGISTRATION_PER_IP

NAME_MAX = 100


@dataclass(frozen=True)
class Registration:
    """What the form gives; `identifier` only where families sign in by a username."""

    last_name: str
    first_name: str
    email: str
    email_confirmation: str
    password: str
    confirmation: str
    identifier: str = ""
    accepts_terms: bool = False


def asks_identifier(config) -> bool:
    return config.login.effective_families_identifier != "email"


def _check(ctx: AuthContext, new: Registration) -> tuple[str, str, dict[str, str]]:
    """(email key, identifier, errors by field), nothing written."""
    errors: dict[str, str] = {}
    for field, value, missing in (("nom", new.last_name, _("Please enter your last name.")),
                                  ("prenom", new.first_name, _("Please enter your first name."))):
        if not value:
            errors[field] = missing
        elif len(value) > NAME_MAX:
            errors[field] = _("%(count)s characters at most.") % {"count": NAME_MAX}
    email = normalize_email(new.email) or ""
    if not email:
        errors["email"] = _("Please enter a valid email address.")
    elif normalize_email(new.email_confirmation) != email:
        errors["email_confirmation"] = _("The two email addresses are different.")
    identifier = email
    if asks_identifier(ctx.config):
        identifier = ctx.identifier_for("parent", new.identifier) or ""
        if not identifier or "@" in identifier:
            errors["identifiant"] = _("Choose an identifier of letters, digits, dots or hyphens (no space).")
    policy = ctx.config.password_policy
    names = [n for n in (new.first_name, new.last_name) if n]
    violations = [v.message for v in check_password(new.password, policy, identifier=identifier or None, names=names)]
    if not new.password:
        errors["mot_de_passe"] = _("Please enter a new password.")
    elif violations:
        lead = ctx.text("password.not_compliant")
        errors["mot_de_passe"] = " ".join([lead, *violations] if lead else violations)
    elif new.confirmation != new.password:
        errors["confirmation"] = ctx.text("password.mismatch")
    if ctx.tenant.terms_version and not new.accepts_terms:
        errors["conditions"] = _("You must accept the terms of use to continue.")
    return email, identifier, errors


async def register(ctx: AuthContext, new: Registration, ip: str | None) -> None:
    """Create the family's account, unusable until confirmed, and email the confirmation link;
    or, when the address is already an account's, email that address to say so. Invalid (by
    field) with nothing written; RateLimited past REGISTRATION_PER_IP. Commits."""
    email, identifier, errors = _check(ctx, new)
    if not errors and asks_identifier(ctx.config) and await ctx.find(identifier) is not None:
        # A username is chosen: the family must learn that this one is taken.
        errors["identifiant"] = _("This identifier is already used: please choose another one.")
    if errors:
        raise Invalid(_("Please correct the fields shown."), field_errors=errors)
    allowed = await REGISTRATION_PER_IP.hit(ctx.db, ctx.tenant.slug, f"ip:{ip}")
    await ctx.db.commit()
    if not allowed:
        raise RateLimited()
    # The same work whether the address is free or not: one hash either way.
    password_hash = await ctx.hasher.hash(new.password)
    if await credentials.address_holder(ctx, email) is None:
        try:
            await _create(ctx, new, email, identifier, password_hash, ip)
            return
        except IntegrityError:  # the same address registered in parallel: answered as taken
            await ctx.db.rollback()
    await _address_taken(ctx, email, new.email, ip)


async def _create(ctx: AuthContext, new: Registration, email: str, identifier: str, password_hash: str,
                  ip: str | None) -> None:
    now = clock.now()
    address = plain_address(new.email)
    account = Account(
        tenant_id=ctx.tenant.slug, kind="parent", identifier=identifier, email=address, email_key=email,
        first_name=new.first_name, last_name=new.last_name, password_hash=password_hash, password_changed_at=now,
        registered_at=now, created_at=now,
        terms_version=ctx.tenant.terms_version if new.accepts_terms else None,
        terms_accepted_at=now if new.accepts_terms and ctx.tenant.terms_version else None,
    )
    ctx.db.add(account)
    await ctx.db.flush()
    ctx.db.add(PasswordHistory(tenant_id=ctx.tenant.slug, account_id=account.id, password_hash=password_hash, created_at=now))
    await credentials.send_email_confirmation(ctx, account, address)
    await audit.record(ctx.db, ctx.tenant.slug, EventType.ACCOUNT_REGISTERED, account_id=account.id, ip=ip)
    await ctx.db.commit()


async def _address_taken(ctx: AuthContext, email: str, raw_email: str, ip: str | None) -> None:
    holder = await ctx.db.scalar(select(Account).where(
        Account.tenant_id == ctx.tenant.slug, (Account.email_key == email) | (Account.identifier == email),
    ).order_by(Account.id).limit(1))
    # Mail only to an address stored on an account: the one that holds it.
    to = holder.email if holder is not None and holder.email_key == email else plain_address(raw_email)
    await ctx.mail("registration_exists", to, about=holder.id if holder else None)
    await audit.record(ctx.db, ctx.tenant.slug, EventType.REGISTRATION_REFUSED, account_id=holder.id if holder else None,
                       ip=ip, reason="address_taken")
    await ctx.db.commit()


async def expire_registrations(ctx: AuthContext) -> int:
    """Delete the family accounts created online whose address was never confirmed within
    `families.confirmation_ttl`; the number deleted. A rerun deletes nothing twice."""
    cutoff = clock.now() - ctx.config.families.confirmation_ttl
    expired = list((await ctx.db.scalars(select(Account.id).where(
        Account.tenant_id == ctx.tenant.slug, Account.kind == "parent", Account.registered_at < cutoff,
        Account.email_confirmed_at.is_(None),
    ))).all())
    if expired:
        await ctx.db.execute(delete(Account).where(Account.tenant_id == ctx.tenant.slug, Account.id.in_(expired)))
        await audit.record(ctx.db, ctx.tenant.slug, EventType.REGISTRATION_EXPIRED, count=len(expired))
    await ctx.db.commit()
    return len(expired)
