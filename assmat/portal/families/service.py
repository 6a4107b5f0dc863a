"""The rules of a family account (issue 13, « Parents »), on tenants with both `features.parents`
and `features.public_search`: favourites, saved searches and their alerts, contact requests to an
assistant and her answers, and « Mes données » (everything, each item deletable).

Addresses: a contact request is mailed to the assistant from the tenant's sender with no
Reply-To; the family's address is written in it only when the family ticked the box, and her
answer carries her address only when she ticked hers. Nothing else of either account is sent."""

from __future__ import annotations

import re
from collections.abc import Sequence
from dataclasses import dataclass, replace
from datetime import date, datetime, timedelta
from urllib.parse import parse_qs, quote

from sqlalchemy import and_, delete, or_, select
from sqlalchemy.ext.asyncio import AsyncSession

from assmat.auth.models import Account
from assmat.core import clock
from assmat.core.errors import Invalid, NotFound, RateLimited
from assmat.core.geocoding.client import Geocoder
from assmat.core.i18n import gettext as _
from assmat.core.mail.outbox import enqueue
from assmat.core.security.ratelimit import CONTACT_REQUESTS_PER_FAMILY
from assmat.portal.directory.models import DirectoryEntry
from assmat.portal.directory.page import LIST_FIELDS, PATH, TEXT_FIELDS, read_search
from assmat.portal.directory.service import MAX_PAGE, Result, search
from assmat.portal.families.models import ContactClosed, ContactRequest, Favourite, SavedSearch, SearchNotice
from assmat.portal.profile.service import PUBLIC_ID, public_fiche
from assmat.tenants.loader import Tenant

NAME_MAX = 100
QUERY_MAX = 2000
MAX_SEARCHES = 20  # saved searches per family
MAX_FAVOURITES = 200
MESSAGE_MAX = 2000
PHONE_MAX = 20
# A declared future place « comes near » when it is free within this many days (a constant): the
# family hears of it once, a month ahead, the lead time the assistants' own reminder gives.
PLACE_WINDOW_DAYS = 31
# The alerts read at most this many pages of a saved search's results (ordered by distance,
# then name): 100 childminders, more than a family reads in one mail.
ALERT_PAGES = 5
_PHONE = re.compile(r"^\+?[0-9 .]{6,20}$")


def offers_families(tenant: Tenant) -> bool:
    """Family accounts have something to do here: the tenant has them and the public search."""
    features = tenant.config.features
    return bool(features.parents and features.public_search) and tenant.config.publication is not None


def _family(tenant: Tenant, account: Account) -> None:
    if not offers_families(tenant) or account.kind != "parent":
        raise NotFound()


# -- favourites ------------------------------------------------------------------------------------------

@dataclass(frozen=True)
class FavouriteView:
    public_id: str
    name: str | None  # None: the fiche is no longer published (nothing else is shown)
    commune: str | None


async def favourite_ids(db: AsyncSession, tenant: Tenant, account: Account, public_ids: Sequence[str]) -> set[str]:
    """Which of these fiches the family keeps (for the buttons of a page)."""
    if not public_ids:
        return set()
    return set((await db.scalars(select(Favourite.public_id).where(
        Favourite.tenant_id == tenant.slug, Favourite.account_id == account.id,
        Favourite.public_id.in_(list(public_ids))))).all())


async def add_favourite(db: AsyncSession, tenant: Tenant, account: Account, public_id: str) -> None:
    """Keep a published fiche (NotFound for any other id); keeping it twice changes nothing."""
    _family(tenant, account)
    await public_fiche(db, tenant, public_id)
    if await favourite_ids(db, tenant, account, [public_id]):
        return
    count = len((await db.scalars(select(Favourite.id).where(
        Favourite.tenant_id == tenant.slug, Favourite.account_id == account.id))).all())
    if count >= MAX_FAVOURITES:
        raise Invalid(_("You keep %(max)s favourites already: remove one first.") % {"max": MAX_FAVOURITES})
    db.add(Favourite(tenant_id=tenant.slug, account_id=account.id, public_id=public_id))


async def remove_favourite(db: AsyncSession, tenant: Tenant, account: Account, public_id: str) -> None:
    """Forget a favourite of this family (of no other); one it does not keep changes nothing."""
    _family(tenant, account)
    await db.execute(delete(Favourite).where(Favourite.tenant_id == tenant.slug, Favourite.account_id == account.id,
                                             Favourite.public_id == public_id[:16]))


async def favourites_of(db: AsyncSession, tenant: Tenant, account: Account) -> list[FavouriteView]:
    """The family's favourites, the newest first; a fiche no longer published shows no name."""
    _family(tenant, account)
    today = clock.today()
    rows = (await db.execute(
        select(Favourite.public_id, DirectoryEntry.name, DirectoryEntry.postal_code, DirectoryEntry.commune_name)
        .outerjoin(DirectoryEntry, and_(
            DirectoryEntry.tenant_id == tenant.slug, DirectoryEntry.public_id == Favourite.public_id,
            or_(DirectoryEntry.published_until.is_(None), DirectoryEntry.published_until >= today)))
        .where(Favourite.tenant_id == tenant.slug, Favourite.account_id == account.id)
        .order_by(Favourite.created_at.desc(), Favourite.id.desc())
    )).all()
    return [FavouriteView(public_id, name, " ".join(p for p in (postcode, commune) if p) or None if name else None)
            for public_id, name, postcode, commune in rows]


# -- saved searches --------------------------------------------------------------------------------------

def _params(query: str) -> dict[str, list[str]]:
    parsed = parse_qs(query[:QUERY_MAX], keep_blank_values=False)
    return {name: parsed.get(name, []) for name in (*TEXT_FIELDS, *LIST_FIELDS)}


async def read_saved(tenant: Tenant, geocoder: Geocoder | None, query: str):
    """The criteria of a stored or posted query string, read by the search page itself: the
    `Asked` (its `criteria` None when the search is not valid)."""
    return await read_search(tenant, geocoder, _params(query))


async def searches_of(db: AsyncSession, tenant: Tenant, account: Account) -> list[SavedSearch]:
    _family(tenant, account)
    return list((await db.scalars(select(SavedSearch).where(
        SavedSearch.tenant_id == tenant.slug, SavedSearch.account_id == account.id)
        .order_by(SavedSearch.created_at.desc(), SavedSearch.id.desc()))).all())


async def save_search(db: AsyncSession, tenant: Tenant, account: Account, name: str, query: str,
                      geocoder: Geocoder | None) -> SavedSearch:
    """Keep a valid search under a name, as its canonical query string (without its page). What
    it finds today is already known to the family (it has the page before its eyes): those are
    remembered, so that its alerts carry only what is new. Invalid: nothing is kept."""
    _family(tenant, account)
    name = " ".join(name.split())
    errors: dict[str, str] = {}
    if not name or len(name) > NAME_MAX:
        errors["nom"] = _("Give this search a name (%(max)s characters at most).") % {"max": NAME_MAX}
    asked = await read_saved(tenant, geocoder, query) if len(query) <= QUERY_MAX else None
    if asked is None or asked.criteria is None:
        errors["requete"] = _("This search contains errors: correct it on the search page, then save it.")
    if errors:
        raise Invalid(field_errors=errors)
    if len(await searches_of(db, tenant, account)) >= MAX_SEARCHES:
        raise Invalid(field_errors={"nom": _("You keep %(max)s searches already: delete one first.")
                                    % {"max": MAX_SEARCHES}})
    saved = SavedSearch(tenant_id=tenant.slug, account_id=account.id, name=name, query=asked.query())
    db.add(saved)
    await db.flush()
    for key in (await _current(db, tenant, asked.criteria, clock.today())).keys():
        db.add(SearchNotice(tenant_id=tenant.slug, search_id=saved.id, key=key))
    return saved


async def delete_search(db: AsyncSession, tenant: Tenant, account: Account, search_id: int) -> None:
    """Delete a saved search of this family; NotFound for any other id (another family's too)."""
    _family(tenant, account)
    found = await db.scalar(select(SavedSearch.id).where(
        SavedSearch.tenant_id == tenant.slug, SavedSearch.account_id == account.id, SavedSearch.id == search_id))
    if found is None:
        raise NotFound()
    await db.execute(delete(SearchNotice).where(SearchNotice.tenant_id == tenant.slug, SearchNotice.search_id == found))
    await db.execute(delete(SavedSearch).where(SavedSearch.tenant_id == tenant.slug, SavedSearch.id == found))


# -- alerts ----------------------------------------------------------------------------------------------

@dataclass(frozen=True)
class Novelty:
    """One line of an alert: a fiche that matches now, or one of its places coming free soon."""

    name: str
    commune: str
    public_id: str
    free_from: date | None = None  # a place coming near; None: a new matching fiche


async def _matches(db: AsyncSession, tenant: Tenant, criteria) -> list[Result]:
    results: list[Result] = []
    for number in range(1, min(ALERT_PAGES, MAX_PAGE) + 1):
        found = await search(db, tenant, replace(criteria, page=number))
        results += found.results
        if number >= found.pages:
            break
    return results


async def _current(db: AsyncSession, tenant: Tenant, criteria, today: date) -> dict[str, Novelty]:
    """What a search finds today, by notice key: each matching fiche, and each of their places
    declared free within PLACE_WINDOW_DAYS (after today)."""
    found: dict[str, Novelty] = {}
    horizon = today + timedelta(days=PLACE_WINDOW_DAYS)
    for result in await _matches(db, tenant, replace(criteria, page=1)):
        commune = " ".join(part for part in (result.postal_code, result.commune) if part)
        found[f"e:{result.public_id}"] = Novelty(result.name, commune, result.public_id)
        for place in result.places:
            if place.free_from is not None and today < place.free_from <= horizon:
                key = f"p:{result.public_id}:{place.age_group}:{place.free_from.isoformat()}"[:80]
                found[key] = Novelty(result.name, commune, result.public_id, place.free_from)
    return found


async def send_alerts(db: AsyncSession, tenant: Tenant, geocoder: Geocoder | None, *, base_url: str) -> int:
    """One mail per saved search that finds something it never told of (a new matching fiche, a
    declared place now within PLACE_WINDOW_DAYS), to the family's address; each thing is told
    once, whatever the number of runs. Returns how many mails were queued; the caller commits."""
    if not offers_families(tenant):
        return 0
    today = clock.today()
    rows = (await db.execute(
        select(SavedSearch, Account.email)
        .join(Account, and_(Account.tenant_id == SavedSearch.tenant_id, Account.id == SavedSearch.account_id))
        .where(SavedSearch.tenant_id == tenant.slug, Account.tenant_id == tenant.slug, Account.kind == "parent",
               Account.disabled_at.is_(None))
        .order_by(SavedSearch.id)
    )).all()
    sent = 0
    for saved, email in rows:
        asked = await read_saved(tenant, geocoder, saved.query)
        if asked.criteria is None:  # no longer valid here (a time slot the tenant removed): told nothing
            continue
        current = await _current(db, tenant, asked.criteria, today)
        known = set((await db.scalars(select(SearchNotice.key).where(
            SearchNotice.tenant_id == tenant.slug, SearchNotice.search_id == saved.id))).all())
        fresh = {key: novelty for key, novelty in current.items() if key not in known}
        if not fresh:
            continue
        for key in fresh:
            db.add(SearchNotice(tenant_id=tenant.slug, search_id=saved.id, key=key))
        saved.alerted_at = clock.now()
        if not email:
            continue
        lines = [{"name": n.name, "commune": n.commune, "public_id": n.public_id,
                  "free_from": n.free_from.strftime("%d/%m/%Y") if n.free_from else None}
                 for n in sorted(fresh.values(), key=lambda n: (n.free_from is not None, n.name, n.free_from or today))]
        await enqueue(db, tenant, "search_alert", email, {
            "search_name": saved.name, "lines": lines, "url": f"{base_url}{PATH}?{saved.query}",
        }, base_url=base_url)
        sent += 1
    return sent


# -- contact requests ------------------------------------------------------------------------------------

async def contact_open(db: AsyncSession, tenant: Tenant, account_id: int) -> bool:
    """Whether this assistant receives contact requests (she may turn them off)."""
    return await db.scalar(select(ContactClosed.id).where(
        ContactClosed.tenant_id == tenant.slug, ContactClosed.account_id == account_id)) is None


async def set_contact_open(db: AsyncSession, tenant: Tenant, assistant: Account, open_: bool) -> None:
    if not offers_families(tenant) or assistant.kind != "assistant":
        raise NotFound()
    await db.execute(delete(ContactClosed).where(ContactClosed.tenant_id == tenant.slug,
                                                 ContactClosed.account_id == assistant.id))
    if not open_:
        db.add(ContactClosed(tenant_id=tenant.slug, account_id=assistant.id))


@dataclass(frozen=True)
class ContactForm:
    message: str
    phone: str | None
    share_email: bool


def read_contact(values: dict[str, str]) -> ContactForm:
    """The form's fields, trimmed; Invalid with a message for each wrong field."""
    message = values.get("message", "").strip()
    phone = " ".join(values.get("telephone", "").split())
    errors: dict[str, str] = {}
    if not message or len(message) > MESSAGE_MAX:
        errors["message"] = _("Please write your message (%(max)s characters at most).") % {"max": f"{MESSAGE_MAX:,}".replace(",", "\u202f")}
    if phone and not _PHONE.fullmatch(phone):
        errors["telephone"] = _("This phone number is not valid: digits only, for example 06 12 34 56 78.")
    if errors:
        raise Invalid(field_errors=errors)
    return ContactForm(message, phone or None, values.get("partager-email") == "1")


async def contactable(db: AsyncSession, tenant: Tenant, public_id: str):
    """The published fiche a family may write to; NotFound when it is not published, or she
    receives no contact requests (the page then offers none)."""
    if not offers_families(tenant):
        raise NotFound()
    fiche = await public_fiche(db, tenant, public_id)
    if not await contact_open(db, tenant, fiche.account_id):
        raise NotFound()
    return fiche


async def send_contact(db: AsyncSession, tenant: Tenant, family: Account, public_id: str, values: dict[str, str],
                       *, base_url: str) -> ContactRequest:
    """Checks the form (Invalid), counts the request against the family (RateLimited, the refused
    attempt still counting), keeps it for her space and mails it to her from the tenant's sender.
    The caller commits."""
    _family(tenant, family)
    fiche = await contactable(db, tenant, public_id)
    form = read_contact(values)
    if not await CONTACT_REQUESTS_PER_FAMILY.hit(db, tenant.slug, f"account:{family.id}"):
        await db.commit()
        raise RateLimited(_("You have sent several contact requests today. Please try again tomorrow."))
    request = ContactRequest(tenant_id=tenant.slug, family_account_id=family.id, assistant_account_id=fiche.account_id,
                             public_id=fiche.public_id, message=form.message, phone=form.phone,
                             share_email=form.share_email and bool(family.email))
    db.add(request)
    await db.flush()
    assistant_email = await db.scalar(select(Account.email).where(
        Account.tenant_id == tenant.slug, Account.id == fiche.account_id))
    if assistant_email:
        await enqueue(db, tenant, "contact_request", assistant_email, {
            "message": form.message, "phone": form.phone,
            "family_email": family.email if request.share_email else None,
            "url": f"{base_url}/espace/demandes",
        }, base_url=base_url)
    return request


async def requests_received(db: AsyncSession, tenant: Tenant, assistant: Account) -> list[ContactRequest]:
    if not offers_families(tenant) or assistant.kind != "assistant":
        raise NotFound()
    return list((await db.scalars(select(ContactRequest).where(
        ContactRequest.tenant_id == tenant.slug, ContactRequest.assistant_account_id == assistant.id)
        .order_by(ContactRequest.created_at.desc(), ContactRequest.id.desc()))).all())


async def answer_request(db: AsyncSession, tenant: Tenant, assistant: Account, request_id: int,
                         values: dict[str, str], *, base_url: str) -> ContactRequest:
    """Her answer to a request she received (NotFound for any other), relayed to the family's
    address; her own address is written in it only when she ticked the box. The caller commits."""
    if not offers_families(tenant) or assistant.kind != "assistant":
        raise NotFound()
    request = await db.scalar(select(ContactRequest).where(
        ContactRequest.tenant_id == tenant.slug, ContactRequest.assistant_account_id == assistant.id,
        ContactRequest.id == request_id))
    if request is None:
        raise NotFound()
    answer = values.get("reponse", "").strip()
    if not answer or len(answer) > MESSAGE_MAX:
        raise Invalid(field_errors={"reponse": _("Please write your answer (%(max)s characters at most).")
                                    % {"max": f"{MESSAGE_MAX:,}".replace(",", "\u202f")}})
    if request.answered_at is not None:
        raise Invalid(field_errors={"reponse": _("You have already answered this request.")})
    request.answer = answer
    request.answer_shares_email = values.get("partager-email") == "1" and bool(assistant.email)
    request.answered_at = clock.now()
    family_email = await db.scalar(select(Account.email).where(
        Account.tenant_id == tenant.slug, Account.id == request.family_account_id))
    if family_email:
        name = " ".join(part for part in (assistant.first_name, assistant.last_name) if part) or _("Childminder")
        await enqueue(db, tenant, "contact_answer", family_email, {
            "assistant_name": name, "answer": answer,
            "assistant_email": assistant.email if request.answer_shares_email else None,
            "url": f"{base_url}/assistants/{quote(request.public_id)}",
        }, base_url=base_url)
    return request


# -- « Mes données » -------------------------------------------------------------------------------------

@dataclass(frozen=True)
class SentRequest:
    id: int
    public_id: str
    name: str | None  # None: her fiche is no longer published
    sent_at: datetime
    message: str
    phone: str | None
    share_email: bool
    answer: str | None
    answered_at: datetime | None


async def requests_sent(db: AsyncSession, tenant: Tenant, family: Account) -> list[SentRequest]:
    _family(tenant, family)
    today = clock.today()
    rows = (await db.execute(
        select(ContactRequest, DirectoryEntry.name)
        .outerjoin(DirectoryEntry, and_(
            DirectoryEntry.tenant_id == tenant.slug, DirectoryEntry.public_id == ContactRequest.public_id,
            or_(DirectoryEntry.published_until.is_(None), DirectoryEntry.published_until >= today)))
        .where(ContactRequest.tenant_id == tenant.slug, ContactRequest.family_account_id == family.id)
        .order_by(ContactRequest.created_at.desc(), ContactRequest.id.desc())
    )).all()
    return [SentRequest(r.id, r.public_id, name, r.created_at, r.message, r.phone, r.share_email, r.answer,
                        r.answered_at) for r, name in rows]


async def delete_request(db: AsyncSession, tenant: Tenant, family: Account, request_id: int) -> None:
    """Delete a request this family sent (NotFound for any other): it leaves her space too."""
    _family(tenant, family)
    deleted = await db.execute(delete(ContactRequest).where(
        ContactRequest.tenant_id == tenant.slug, ContactRequest.family_account_id == family.id,
        ContactRequest.id == request_id))
    if deleted.rowcount != 1:  # type: ignore[attr-defined]
        raise NotFound()


def valid_public_id(value: str) -> bool:
    return bool(PUBLIC_ID.fullmatch(value))
