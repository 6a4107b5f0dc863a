"""The habilitation request of seed 004 (mon-enfant): an assistant asks online, the staff match
her against the assistants on file, ask for her consent (on paper or online, as the tenant
chooses), receive it, then activate her habilitation: a generated password is emailed, to be
personalised at the first login. Requests left without reply expire. Every step is audited
and the requester is emailed at each one.

Matching: by email first (mon-enfant signs in with the email, and the monthly file is keyed by
it), else by last name, first name and postcode together, when exactly one assistant has them
(the seed's form asks no birth date). A request that matches nobody is not refused at once: the
staff orient it to the Pôle PMI (« vous êtes orienté vers le Pôle PMI »)."""

from __future__ import annotations

import re
from dataclasses import dataclass
from datetime import timedelta

from sqlalchemy import exists, func, select, update
from sqlalchemy.ext.asyncio import AsyncSession

from assmat.auth import credentials
from assmat.auth.context import AuthContext
from assmat.auth.identifiers import normalize_email, normalize_name
from assmat.auth.models import Account
from assmat.core import clock
from assmat.core.errors import Invalid, NotFound, RateLimited
from assmat.core.i18n import gettext as _
from assmat.core.mail.address import plain_address
from assmat.core.mail.outbox import enqueue
from assmat.core.security import audit
from assmat.core.security.audit import EventType
from assmat.core.security.ratelimit import HABILITATION_PER_IP
from assmat.core.security.tokens import Principal, TokenService
from assmat.portal.agrement.service import agrements_of
from assmat.portal.availability.service import AVAILABILITY_PATH
from assmat.portal.habilitation.models import OPEN_STATES, HabilitationRequest
from assmat.tenants.loader import Tenant

CONSENT = "habilitation_consent"  # the token purpose of the online consent link
# The temporary password of an activation travels by email: it lives as long as an abandoned request.
ACTIVATION_PASSWORD_TTL = timedelta(days=30)
REASON_MAX = 500

# The seed's status choice (« Sélectionnez le statut … puis cliquez sur « Poursuivre » »).
STATUSES = {
    "assistant_inscrit": lambda: _(
        "You are a childminder already listed on the site, and you wish to request an individual habilitation"
    ),
}
CIVILITIES = ("M", "Mme", "Melle")

# What each grant of `habilitation.grants` opens in the space, beside the account pages.
GRANTED_PATHS = {"availability": (AVAILABILITY_PATH, "/espace/session/prolonger")}
ALWAYS_OPEN = ("/espace/compte",)

_POSTCODE = re.compile(r"[0-9]{5}")
_PHONE = re.compile(r"\+?[0-9 .()-]{10,20}")


@dataclass(frozen=True)
class RequestForm:
    status: str
    civility: str
    last_name: str
    first_name: str
    street_number: str | None
    street_type: str | None
    street_name: str
    postal_code: str
    city: str
    phone: str
    email: str
    email_key: str


def _text(values: dict[str, str], name: str) -> str:
    return " ".join(values.get(name, "").split())


def read_request(values: dict[str, str]) -> RequestForm:
    """The form's fields, trimmed; raises Invalid with a French message for each wrong field."""
    errors: dict[str, str] = {}
    status = values.get("statut", "")
    if status not in STATUSES:
        errors["statut"] = _("Please select your status.")
    civility = values.get("civilite", "")
    if civility not in CIVILITIES:
        errors["civilite"] = _("Please choose your title.")
    required = {
        "nom": (100, _("Please enter your last name (100 characters at most).")),
        "prenom": (100, _("Please enter your first name (100 characters at most).")),
        "nom_voie": (200, _("Please enter the street name (200 characters at most).")),
        "commune": (100, _("Please enter your town (100 characters at most).")),
    }
    for name, (limit, message) in required.items():
        if not _text(values, name) or len(_text(values, name)) > limit:
            errors[name] = message
    if len(_text(values, "numero_voie")) > 10:
        errors["numero_voie"] = _("The street number is 10 characters at most.")
    if len(_text(values, "type_voie")) > 40:
        errors["type_voie"] = _("The street type is 40 characters at most.")
    if not _POSTCODE.fullmatch(_text(values, "code_postal")):
        errors["code_postal"] = _("Please enter a postcode of 5 digits.")
    phone = _text(values, "telephone")
    if not _PHONE.fullmatch(phone) or len(re.sub(r"\D", "", phone)) < 10:
        errors["telephone"] = _("Please enter a phone number where you can be reached (10 digits).")
    email_key = normalize_email(values.get("email", ""))
    if email_key is None:
        errors["email"] = _("Please enter a valid email address.")
    elif normalize_email(values.get("email_confirmation", "")) != email_key:
        errors["email_confirmation"] = _("The two email addresses are different.")
    if errors:
        raise Invalid(field_errors=errors)
    assert email_key is not None
    return RequestForm(
        status=status, civility=civility, last_name=_text(values, "nom"), first_name=_text(values, "prenom"),
        street_number=_text(values, "numero_voie") or None, street_type=_text(values, "type_voie") or None,
        street_name=_text(values, "nom_voie"), postal_code=_text(values, "code_postal"), city=_text(values, "commune"),
        phone=phone, email=plain_address(values.get("email")) or email_key, email_key=email_key,
    )


# -- matching against the assistants on file -----------------------------------------------------------


async def match_on_file(db: AsyncSession, tenant_id: str, request: HabilitationRequest) -> tuple[Account | None, str | None]:
    """The assistant on file this request is about, and how she was found; (None, None) if nobody."""
    by_email = await db.scalar(select(Account).where(
        Account.tenant_id == tenant_id, Account.kind == "assistant",
        (Account.email_key == request.email_key) | (Account.identifier == request.email_key),
    ).order_by(Account.id).limit(1))
    if by_email is not None:
        return by_email, "email"
    candidates = list(await db.scalars(select(Account).where(
        Account.tenant_id == tenant_id, Account.kind == "assistant", Account.postal_code == request.postal_code,
    )))
    last, first = normalize_name(request.last_name), normalize_name(request.first_name)
    same = [a for a in candidates if normalize_name(a.last_name) == last and normalize_name(a.first_name) == first]
    return (same[0], "name_postcode") if len(same) == 1 else (None, None)


async def _habilitated(db: AsyncSession, tenant_id: str, account_id: int) -> bool:
    return bool(await db.scalar(select(exists().where(
        HabilitationRequest.tenant_id == tenant_id, HabilitationRequest.account_id == account_id,
        HabilitationRequest.state == "activated",
    ))))


# -- the public request ---------------------------------------------------------------------------------


async def _mail(db: AsyncSession, tenant: Tenant, request: HabilitationRequest | RequestForm, step: str, base_url: str,
                **context: object) -> None:
    await enqueue(db, tenant, "habilitation", request.email, {"step": step, **context}, base_url=base_url)


async def submit_request(db: AsyncSession, tenant: Tenant, values: dict[str, str], *, ip: str | None,
                         base_url: str) -> None:
    """Checks the form (Invalid), counts it against `ip` (RateLimited, the refused attempt
    still counted), then keeps it and emails the confirmation. One answer for everyone: an
    address already habilitated, or with a request under way, stores nothing and is told so
    by email only (its owner reads it; the page says the same to all). The caller commits."""
    form = read_request(values)
    if not await HABILITATION_PER_IP.hit(db, tenant.slug, f"ip:{ip}"):
        await db.commit()
        raise RateLimited(_("Too many requests were sent from your connection. Please try again later."))
    pending = await db.scalar(select(HabilitationRequest.id).where(
        HabilitationRequest.tenant_id == tenant.slug, HabilitationRequest.email_key == form.email_key,
        HabilitationRequest.state.in_(OPEN_STATES),
    ).limit(1))
    request = HabilitationRequest(
        tenant_id=tenant.slug, state="received", status=form.status, civility=form.civility,
        last_name=form.last_name, first_name=form.first_name, street_number=form.street_number,
        street_type=form.street_type, street_name=form.street_name, postal_code=form.postal_code, city=form.city,
        phone=form.phone, email=form.email, email_key=form.email_key, ip=ip, created_at=clock.now(), updated_at=clock.now(),
    )
    account, matched_by = await match_on_file(db, tenant.slug, request)
    if pending is not None:
        await _mail(db, tenant, form, "already_pending", base_url)
        await audit.record(db, tenant.slug, EventType.HABILITATION_DUPLICATE, ip=ip, request_id=pending)
        return
    # Only her own address is told: a match by name would tell a stranger who is habilitated.
    if account is not None and matched_by == "email" and await _habilitated(db, tenant.slug, account.id):
        await _mail(db, tenant, form, "already_habilitated", base_url)
        await audit.record(db, tenant.slug, EventType.HABILITATION_DUPLICATE, account_id=account.id, ip=ip)
        return
    request.account_id, request.matched_by = (account.id, matched_by) if account is not None else (None, None)
    db.add(request)
    await db.flush()
    await _mail(db, tenant, request, "received", base_url)
    await audit.record(db, tenant.slug, EventType.HABILITATION_REQUESTED, account_id=request.account_id, ip=ip,
                       request_id=request.id, matched_by=matched_by)


# -- the staff's steps ------------------------------------------------------------------------------------


class StepRefused(Exception):
    """A step that does not apply to this request now; the message says why, for the console."""


def _step(request: HabilitationRequest, state: str, by: str) -> None:
    now = clock.now()
    request.state, request.updated_at, request.decided_by = state, now, by
    if state not in OPEN_STATES:
        request.closed_at = now


def _require(request: HabilitationRequest, tenant_id: str, *states: str) -> None:
    if request.tenant_id != tenant_id:
        raise NotFound()
    if request.state not in states:
        raise StepRefused(f"La demande n° {request.id} est « {request.state} » : cette étape ne s'applique pas.")


async def orient_to_pmi(db: AsyncSession, tenant: Tenant, request: HabilitationRequest, *, by: str, base_url: str) -> None:
    """Not on file: the requester is sent to the Pôle PMI, the request is closed."""
    _require(request, tenant.slug, "received", "consent_requested")
    _step(request, "oriented", by)
    await _mail(db, tenant, request, "oriented", base_url)
    await audit.record(db, tenant.slug, EventType.HABILITATION_ORIENTED, request_id=request.id, by=by)


async def request_consent(db: AsyncSession, tenant: Tenant, request: HabilitationRequest, *, by: str, base_url: str) -> None:
    """On file: ask for her consent, by a letter to sign (paper) or a single-use link (online)."""
    _require(request, tenant.slug, "received")
    if request.account_id is None:
        account, matched_by = await match_on_file(db, tenant.slug, request)  # the file may have come since
        if account is None:
            raise StepRefused(f"La demande n° {request.id} ne correspond à aucun(e) assistant(e) au fichier : "
                              "orientez-la vers le Pôle PMI.")
        request.account_id, request.matched_by = account.id, matched_by
    settings = tenant.config.habilitation
    assert settings is not None
    _step(request, "consent_requested", by)
    request.consent_requested_at = request.updated_at
    if settings.consent == "online":
        token = await TokenService(db).issue(
            CONSENT, Principal("account", request.account_id, tenant.slug), settings.consent_link_ttl,
            data={"request": request.id},
        )
        await _mail(db, tenant, request, "consent_online", base_url, url=f"{base_url}/habilitation/consentement/{token}",
                    days=max(1, settings.consent_link_ttl.days))
    else:
        await _mail(db, tenant, request, "consent_paper", base_url)
    await audit.record(db, tenant.slug, EventType.HABILITATION_CONSENT_REQUESTED, account_id=request.account_id,
                       request_id=request.id, by=by, mode=settings.consent)


async def record_consent(db: AsyncSession, tenant: Tenant, request: HabilitationRequest, *, by: str, base_url: str) -> None:
    """The signed letter came back (paper): the staff tick it."""
    _require(request, tenant.slug, "consent_requested")
    _step(request, "consent_received", by)
    request.consent_received_at = request.updated_at
    await _mail(db, tenant, request, "consent_received", base_url)
    await audit.record(db, tenant.slug, EventType.HABILITATION_CONSENT_RECEIVED, account_id=request.account_id,
                       request_id=request.id, by=by)


async def consent_request_of(db: AsyncSession, tenant: Tenant, token: object) -> HabilitationRequest | None:
    """The request a live consent link is for, or None (unknown, used, expired, another tenant's)."""
    row = await TokenService(db).find(CONSENT, token, tenant.slug)
    if row is None:
        return None
    return await db.scalar(select(HabilitationRequest).where(
        HabilitationRequest.tenant_id == tenant.slug, HabilitationRequest.id == row.data.get("request"),
        HabilitationRequest.account_id == row.account_id, HabilitationRequest.state == "consent_requested",
    ))


async def give_consent_online(db: AsyncSession, tenant: Tenant, token: object, *, ip: str | None, base_url: str) -> bool:
    """The requester gives her consent with the emailed link; False when the link is no longer valid."""
    request = await consent_request_of(db, tenant, token)
    if request is None or await TokenService(db).consume(CONSENT, token, tenant.slug) is None:
        return False
    _step(request, "consent_received", "demandeur")
    request.consent_received_at = request.updated_at
    await _mail(db, tenant, request, "consent_received", base_url)
    await audit.record(db, tenant.slug, EventType.HABILITATION_CONSENT_RECEIVED, account_id=request.account_id,
                       request_id=request.id, ip=ip, by="online")
    return True


async def activate(ctx: AuthContext, request: HabilitationRequest, *, by: str) -> None:
    """Consent received: the habilitation is activated and a generated password emailed (between
    quotes), to personalise at the first login (the forced change). She signs in with the address
    of her request, which becomes her account's."""
    _require(request, ctx.tenant.slug, "consent_received")
    account = await ctx.get(request.account_id) if request.account_id is not None else None
    if account is None:
        raise StepRefused(f"La demande n° {request.id} n'est liée à aucun compte.")
    if account.disabled_at is not None:  # staff disabled it: they enable it first, on purpose
        raise StepRefused(f"Le compte de la demande n° {request.id} est désactivé : réactivez-le d'abord.")
    if account.identifier != request.email_key:
        taken = await ctx.db.scalar(select(Account.id).where(
            Account.tenant_id == ctx.tenant.slug, Account.identifier == request.email_key, Account.id != account.id))
        if taken is not None:
            raise StepRefused(f"L'adresse de la demande n° {request.id} est déjà l'identifiant d'un autre compte.")
    await ctx.db.execute(update(Account).where(Account.tenant_id == ctx.tenant.slug, Account.id == account.id).values(
        identifier=request.email_key, email=request.email, email_key=request.email_key,
        must_change_password=True,
    ))
    password = await credentials.issue_temporary_password(ctx, account, ACTIVATION_PASSWORD_TTL, reason="habilitation")
    _step(request, "activated", by)
    await _mail(ctx.db, ctx.tenant, request, "activated", ctx.base_url, password=password,
                min_length=ctx.config.password_policy.min_length)
    await audit.record(ctx.db, ctx.tenant.slug, EventType.HABILITATION_ACTIVATED, account_id=account.id,
                       request_id=request.id, by=by)


async def reject(db: AsyncSession, tenant: Tenant, request: HabilitationRequest, reason: str, *, by: str,
                 base_url: str) -> None:
    """Refused, with a reason the requester reads in the email."""
    reason = " ".join(reason.split())[:REASON_MAX]
    if not reason:
        raise StepRefused("Indiquez le motif.")
    _require(request, tenant.slug, *OPEN_STATES)
    _step(request, "rejected", by)
    request.rejection_reason = reason
    await _mail(db, tenant, request, "rejected", base_url, reason=reason)
    await audit.record(db, tenant.slug, EventType.HABILITATION_REJECTED, account_id=request.account_id,
                       request_id=request.id, by=by)


# What expires: a request nobody took up, or whose consent never came back. A received consent
# waits for the staff's activation: it never expires (the signed letter is not lost).
EXPIRING_STATES = ("received", "consent_requested")


async def expire_abandoned(db: AsyncSession, tenant: Tenant, *, base_url: str) -> int:
    """Requests left in EXPIRING_STATES without a step for `habilitation.expire_after_days`
    expire, each emailed and audited (a daily command; a rerun finds nothing more). The caller commits."""
    settings = tenant.config.habilitation
    if settings is None:
        return 0
    limit = clock.now() - timedelta(days=settings.expire_after_days)
    stale = list(await db.scalars(select(HabilitationRequest).where(
        HabilitationRequest.tenant_id == tenant.slug, HabilitationRequest.state.in_(EXPIRING_STATES),
        HabilitationRequest.updated_at < limit,
    ).order_by(HabilitationRequest.id)))
    for request in stale:
        _step(request, "expired", "expiration")
        await _mail(db, tenant, request, "expired", base_url, days=settings.expire_after_days)
        await audit.record(db, tenant.slug, EventType.HABILITATION_EXPIRED, account_id=request.account_id,
                           request_id=request.id)
    return len(stale)


async def overview_section(db: AsyncSession, tenant: Tenant, settings: object) -> tuple[str, list[str]] | None:
    """The console overview's « Demandes d'habilitation »: how many wait at each open step."""
    if tenant.config.habilitation is None:
        return None
    counts = dict((await db.execute(select(HabilitationRequest.state, func.count()).where(
        HabilitationRequest.tenant_id == tenant.slug, HabilitationRequest.state.in_(OPEN_STATES),
    ).group_by(HabilitationRequest.state))).all())
    return "Demandes d'habilitation", [
        f"Reçues, à examiner : {counts.get('received', 0)}",
        f"Consentement demandé, en attente : {counts.get('consent_requested', 0)}",
        f"Consentement reçu, à activer : {counts.get('consent_received', 0)}",
    ]


# -- what an habilitated account may reach ----------------------------------------------------------------


@dataclass(frozen=True)
class Access:
    """The answer for one page of the space: open, sent elsewhere, or refused with a reason."""

    allowed: bool
    redirect_to: str | None = None
    message: str | None = None


OPEN = Access(True)


async def open_paths(db: AsyncSession, tenant: Tenant, account: Account) -> tuple[str, ...] | None:
    """The space's paths an account activated by habilitation may open (its account pages and
    what `habilitation.grants` opens), or None: the account is not kept to any."""
    settings = tenant.config.habilitation
    if settings is None or not await _habilitated(db, tenant.slug, account.id):
        return None
    return (*(p for grant in settings.grants for p in GRANTED_PATHS[grant]), *ALWAYS_OPEN)


async def access_of(db: AsyncSession, tenant: Tenant, account: Account, path: str,
                    paths: tuple[str, ...] | None) -> Access:
    """An account activated by habilitation (`paths`, from open_paths) reaches only those pages
    of the space; the granted pages answer the guide's error page while her agrément is under
    renewal or suspended. Other accounts, other pages: open."""
    if paths is None or not (path == "/espace" or path.startswith("/espace/")) or path.startswith(ALWAYS_OPEN):
        return OPEN
    if path == "/espace":
        return Access(False, redirect_to=paths[0])
    if not path.startswith(paths):
        return Access(False, message=_("Your habilitation gives access only to the update of your availability."))
    latest = next(iter(await agrements_of(db, tenant, account)), None)
    if latest is not None and latest.status in ("renewal", "suspended"):
        return Access(False, message=_(
            "Your listing is temporarily suspended during the review or renewal of your agrément."
        ))
    if latest is not None and latest.status in ("withdrawn", "expired"):
        return Access(False, message=_("Your habilitation is no longer valid."))
    return OPEN
