"""Whether an assistant's fiche is published: the one place that decides.

The rule, per tenant (`tenant.config.publication`):
- no `publication` section: the tenant publishes no fiche;
- in every regime, only an account of kind `assistant`, not disabled, with an agrément valid
  today (tenant-local date: started, not ended, no status from the département's file) and not
  suspended by staff;
- `opt_out` (Eure-et-Loir, art. L.421-8 CASF): published unless she objected;
- `consent` (mon-enfant): published only while a recorded consent stands;
- `mandatory_with_masking` (art. R.421-39 CASF): no choice; her choices are ignored.

`publication_status` answers for one account, in words she reads; `published_clause` is the same
rule as SQL over `Account`, for the public fiche, the parents' search and the console. The tests
hold the two to the same answer on every case.

The register (`PublicationEvent`) keeps every consent, objection and withdrawal; the state row
(`PublicationState`) holds the standing choice and a staff suspension, written in the same
transaction as its register line: the register is the history, the state the answer.
"""

from __future__ import annotations

from collections.abc import Iterable, Sequence
from dataclasses import dataclass, field
from datetime import date
from typing import Any

from sqlalchemy import ColumnElement, and_, exists, false, insert, not_, or_, select, update
from sqlalchemy.exc import IntegrityError
from sqlalchemy.ext.asyncio import AsyncSession

from assmat.auth.models import Account
from assmat.core import clock
from assmat.core.db.changes import fiche_changed
from assmat.core.errors import Invalid, NotFound
from assmat.core.i18n import gettext as _
from assmat.core.security import audit
from assmat.core.security.audit import EventType
from assmat.portal.agrement.models import Agrement
from assmat.portal.publication.models import (
    CONSENT,
    CONSENT_WITHDRAWN,
    OBJECTION,
    OBJECTION_WITHDRAWN,
    SOURCES,
    PublicationEvent,
    PublicationState,
)
from assmat.tenants.loader import Tenant

# The choices each regime lets her (or the import, or staff) record.
CHOICES: dict[str, tuple[str, ...]] = {
    "consent": (CONSENT, CONSENT_WITHDRAWN),
    "opt_out": (OBJECTION, OBJECTION_WITHDRAWN),
    "mandatory_with_masking": (),
}
# The standing choice each register line leaves.
STANDING = {CONSENT: "consent", CONSENT_WITHDRAWN: None, OBJECTION: "objection", OBJECTION_WITHDRAWN: None}
EVENTS = {
    CONSENT: EventType.PUBLICATION_CONSENT,
    CONSENT_WITHDRAWN: EventType.PUBLICATION_CONSENT_WITHDRAWN,
    OBJECTION: EventType.PUBLICATION_OBJECTION,
    OBJECTION_WITHDRAWN: EventType.PUBLICATION_OBJECTION_WITHDRAWN,
}
# The agrément statuses the import accepts (`agrement_status` column), as stored: None is current.
AGREMENT_STATUSES = ("renewal", "suspended", "withdrawn", "expired")
AGREMENT_REASONS = {
    "renewal": "agrement_renewal", "suspended": "agrement_suspended", "withdrawn": "agrement_withdrawn",
    "expired": "agrement_expired",
}
# Reasons that come from the agrément or staff (a suspension), not from her own choice.
SUSPENSION_REASONS = {
    "no_agrement", "agrement_expired", "agrement_renewal", "agrement_suspended", "agrement_withdrawn",
    "agrement_not_started", "suspended",
}
REASON_MAX = 500


@dataclass(frozen=True)
class PublicationStatus:
    published: bool
    reason: str | None  # a stable code (see `label_for`); None when published
    label: str  # the French sentence the assistant reads


# -- the rule ------------------------------------------------------------------------------------

def agrement_valid(agrement: Any, today: date) -> bool:
    return (
        agrement.status is None
        and (agrement.start_date is None or agrement.start_date <= today)
        and (agrement.end_date is None or agrement.end_date >= today)
    )


def agrement_reason(agrements: Sequence[Any], today: date) -> str | None:
    """None when one agrément is valid today; else why the latest one is not."""
    if any(agrement_valid(agrement, today) for agrement in agrements):
        return None
    if not agrements:
        return "no_agrement"
    latest = max(agrements, key=lambda a: (a.start_date or date.min, a.id or 0))
    if latest.status is not None:
        return AGREMENT_REASONS.get(latest.status, "agrement_suspended")
    if latest.end_date is not None and latest.end_date < today:
        return "agrement_expired"
    return "agrement_not_started"


def decide(regime: str | None, account: Account, agrements: Sequence[Any], state: PublicationState | None,
           today: date) -> str | None:
    """The reason the fiche is not published, or None when it is. Pure: the same rule as
    `published_clause`, reasons in the order she should deal with them."""
    if regime is None:
        return "no_publication"
    if account.kind != "assistant":
        return "not_assistant"
    if account.disabled_at is not None:
        return "disabled"
    reason = agrement_reason(agrements, today)
    if reason is not None:
        return reason
    if state is not None and state.suspended_at is not None:
        return "suspended"
    choice = state.choice if state is not None else None
    if regime == "consent" and choice != "consent":
        return "withdrawn" if state is not None and state.last_kind == CONSENT_WITHDRAWN else "no_consent"
    if regime == "opt_out" and choice == "objection":
        return "objected"
    return None


def label_for(reason: str | None, *, state: PublicationState | None = None, agrements: Sequence[Any] = ()) -> str:
    """The sentence the assistant reads: her fiche's state, why, and what she can do."""
    pmi = _("For any question, contact your PMI office (circonscription de PMI).")
    if reason is None:
        return _("Your fiche is published: families can see it.")
    if reason in ("no_publication", "not_assistant", "disabled"):
        return _("This account has no public fiche.")
    if reason == "objected":
        return _("Your fiche is not published: you have objected to its publication.")
    if reason == "no_consent":
        return _("Your fiche is not published: you have not given your consent to the publication of your details.")
    if reason == "withdrawn":
        return _("Your fiche is no longer published: you have withdrawn your consent.")
    if reason == "agrement_renewal":
        return _("Your listing is temporarily suspended while your approval is being reviewed or renewed.") + " " + pmi
    if reason == "agrement_suspended":
        return _("Your fiche is not published: your approval is suspended.") + " " + pmi
    if reason == "agrement_withdrawn":
        return _("Your fiche is not published: your approval has been withdrawn.") + " " + pmi
    if reason == "agrement_expired":
        return _("Your fiche is not published: your approval has expired.") + " " + pmi
    if reason == "agrement_not_started":
        starts = min((a.start_date for a in agrements if a.start_date is not None), default=None)
        if starts is not None:
            return _("Your fiche is not published yet: your approval starts on %(date)s.") % {
                "date": starts.strftime("%d/%m/%Y")}
        return _("Your fiche is not published yet: your approval has not started.") + " " + pmi
    if reason == "no_agrement":
        return _("Your fiche is not published: no valid approval is recorded for you.") + " " + pmi
    if reason == "suspended":
        text = _("Your fiche is temporarily suspended by the département's services.")
        if state is not None and state.suspension_reason:
            reason = state.suspension_reason.rstrip()
            text += " " + _("Reason: %(reason)s") % {"reason": reason if reason.endswith((".", "!", "?", "…")) else reason + "."}
        return text + " " + pmi
    raise ValueError(f"unknown publication reason {reason!r}")


def valid_agrement_exists(slug: str, today: date) -> ColumnElement[bool]:
    """`agrement_valid` in SQL: the account (correlated) has an agrément valid on `today`."""
    return exists(select(Agrement.id).where(
        Agrement.tenant_id == slug, Agrement.account_id == Account.id, Agrement.status.is_(None),
        or_(Agrement.start_date.is_(None), Agrement.start_date <= today),
        or_(Agrement.end_date.is_(None), Agrement.end_date >= today),
    ))


def published_clause(tenant: Tenant) -> ColumnElement[bool]:
    """The accounts whose fiche is public today, as a condition over `Account` (it names the
    tenant itself, so it also scopes the select it joins)."""
    publication = tenant.config.publication
    if publication is None:
        return false()
    slug = tenant.slug
    valid_agrement = valid_agrement_exists(slug, clock.today())

    def state_where(*conditions: ColumnElement[bool]) -> ColumnElement[bool]:
        return exists(select(PublicationState.id).where(
            PublicationState.tenant_id == slug, PublicationState.account_id == Account.id, *conditions))

    conditions = [
        Account.tenant_id == slug, Account.kind == "assistant", Account.disabled_at.is_(None), valid_agrement,
        not_(state_where(PublicationState.suspended_at.is_not(None))),
    ]
    if publication.regime == "consent":
        conditions.append(state_where(PublicationState.choice == "consent"))
    elif publication.regime == "opt_out":
        conditions.append(not_(state_where(PublicationState.choice == "objection")))
    return and_(*conditions)


# -- reading ---------------------------------------------------------------------------------------

async def state_of(db: AsyncSession, tenant: Tenant, account_id: int, *, for_update: bool = False) -> PublicationState | None:
    stmt = select(PublicationState).where(PublicationState.tenant_id == tenant.slug,
                                          PublicationState.account_id == account_id)
    return await db.scalar(stmt.with_for_update() if for_update else stmt)


async def publication_status(db: AsyncSession, tenant: Tenant, account: Account) -> PublicationStatus:
    """Published or not, why, in one sentence (two queries)."""
    regime = tenant.config.publication.regime if tenant.config.publication else None
    if account.tenant_id != tenant.slug:
        raise NotFound()
    agrements = list(await db.scalars(
        select(Agrement).where(Agrement.tenant_id == tenant.slug, Agrement.account_id == account.id)))
    state = await state_of(db, tenant, account.id)
    reason = decide(regime, account, agrements, state, clock.today())
    return PublicationStatus(reason is None, reason, label_for(reason, state=state, agrements=agrements))


def allowed_choices(tenant: Tenant) -> tuple[str, ...]:
    publication = tenant.config.publication
    return CHOICES[publication.regime] if publication else ()


# -- writing ---------------------------------------------------------------------------------------

async def _state_for_update(db: AsyncSession, tenant: Tenant, account_id: int) -> PublicationState:
    """The account's state row, created when it has none (a concurrent creation is re-read)."""
    state = await state_of(db, tenant, account_id, for_update=True)
    if state is not None:
        return state
    try:
        async with db.begin_nested():
            state = PublicationState(tenant_id=tenant.slug, account_id=account_id)
            db.add(state)
    except IntegrityError:
        state = await state_of(db, tenant, account_id, for_update=True)
        assert state is not None
    return state


def _recorder(admin: Any) -> str | None:
    """The console user's email (an Admin row, or the email itself)."""
    if admin is None:
        return None
    return admin if isinstance(admin, str) else admin.email


async def record_choice(db: AsyncSession, tenant: Tenant, account: Account, choice: str, *, source: str,
                        admin: Any = None) -> PublicationEvent | None:
    """Record her consent, objection or the withdrawal of either (`CONSENT`, `CONSENT_WITHDRAWN`,
    `OBJECTION`, `OBJECTION_WITHDRAWN`) from `source` (form, import, staff; `admin`: the console
    user, an Admin or an email). A choice the tenant's regime does not offer is refused
    (Invalid); one that changes nothing writes nothing and returns None. The caller commits."""
    if source not in SOURCES:
        raise ValueError(f"unknown source {source!r}")
    if account.tenant_id != tenant.slug or account.kind != "assistant":
        raise NotFound()
    if choice not in allowed_choices(tenant):
        raise Invalid(_("This choice is not available on this portal."))
    state = await _state_for_update(db, tenant, account.id)
    if state.choice == STANDING[choice]:
        return None
    now = clock.now()
    state.choice, state.last_kind, state.choice_at = STANDING[choice], choice, now
    event = PublicationEvent(tenant_id=tenant.slug, account_id=account.id, kind=choice, source=source,
                             recorded_by=_recorder(admin), created_at=now)
    db.add(event)
    await db.flush()
    await audit.record(db, tenant.slug, EVENTS[choice], account_id=account.id, source=source, by=_recorder(admin),
                       register_id=event.id)
    await fiche_changed(db, tenant, [account.id])
    return event


def read_suspension_reason(raw: str) -> str:
    reason = " ".join(raw.split())
    if not reason or len(reason) > REASON_MAX:
        raise Invalid(field_errors={"motif": _("Please give the reason for the suspension (500 characters at most).")})
    return reason


async def suspend(db: AsyncSession, tenant: Tenant, account: Account, reason: str, *, by: str) -> bool:
    """Suspend her fiche with a reason she will read (Invalid without one). False when it already
    was. The caller commits."""
    reason = read_suspension_reason(reason)
    if account.tenant_id != tenant.slug:
        raise NotFound()
    state = await _state_for_update(db, tenant, account.id)
    if state.suspended_at is not None:
        return False
    state.suspended_at, state.suspension_reason, state.suspended_by = clock.now(), reason, by
    await audit.record(db, tenant.slug, EventType.PUBLICATION_SUSPENDED, account_id=account.id, by=by, reason=reason)
    await fiche_changed(db, tenant, [account.id])
    return True


async def resume(db: AsyncSession, tenant: Tenant, account: Account, *, by: str) -> bool:
    """Lift a staff suspension; False when there was none. The caller commits."""
    if account.tenant_id != tenant.slug:
        raise NotFound()
    state = await state_of(db, tenant, account.id, for_update=True)
    if state is None or state.suspended_at is None:
        return False
    reason = state.suspension_reason
    state.suspended_at = state.suspension_reason = state.suspended_by = None
    await audit.record(db, tenant.slug, EventType.PUBLICATION_RESUMED, account_id=account.id, by=by, previous_reason=reason)
    await fiche_changed(db, tenant, [account.id])
    return True


# -- the monthly file ------------------------------------------------------------------------------

@dataclass
class ImportedChoices:
    """What the file's `publication` column did: register lines written, by kind."""

    recorded: dict[str, int] = field(default_factory=dict)
    ignored: bool = False  # the regime takes no choice: the column is not read


def import_choice(regime: str, says_yes: bool) -> str | None:
    """The register line an « oui »/« non » stands for under `regime` (None: the column is ignored)."""
    if regime == "consent":
        return CONSENT if says_yes else CONSENT_WITHDRAWN
    if regime == "opt_out":
        return OBJECTION_WITHDRAWN if says_yes else OBJECTION
    return None


async def apply_imported_choices(db: AsyncSession, tenant: Tenant, answers: dict[int, bool], *,
                                 by: str | None, dry_run: bool) -> ImportedChoices:
    """The file's « oui »/« non » per account id, recorded as register lines (source `import`)
    where they change her standing choice: in batches, one query for the states. A dry run
    counts and writes nothing. The caller commits, and refreshes the derived tables
    (`fiche_changed`) once for the whole import."""
    result = ImportedChoices()
    publication = tenant.config.publication
    if publication is None or not answers:
        return result
    if not CHOICES[publication.regime]:
        result.ignored = True
        return result
    slug, now = tenant.slug, clock.now()
    states = {
        row.account_id: row for row in (await db.execute(
            select(PublicationState.id, PublicationState.account_id, PublicationState.choice)
            .where(PublicationState.tenant_id == slug)
        )).all()
    }
    events: list[dict[str, Any]] = []
    new_states: list[dict[str, Any]] = []
    changed_states: list[dict[str, Any]] = []
    for account_id, says_yes in answers.items():
        choice = import_choice(publication.regime, says_yes)
        assert choice is not None
        old = states.get(account_id)
        if (old.choice if old is not None else None) == STANDING[choice]:
            continue
        result.recorded[choice] = result.recorded.get(choice, 0) + 1
        events.append({"tenant_id": slug, "account_id": account_id, "kind": choice, "source": "import",
                       "recorded_by": by, "created_at": now})
        values = {"choice": STANDING[choice], "last_kind": choice, "choice_at": now, "updated_at": now}
        if old is None:
            new_states.append({"tenant_id": slug, "account_id": account_id, **values})
        else:
            changed_states.append({"id": old.id, **values})
    if dry_run or not events:
        return result
    for batch in _chunks(events):
        await db.execute(insert(PublicationEvent.__table__), list(batch))
    for batch in _chunks(new_states):
        await db.execute(insert(PublicationState.__table__), list(batch))
    for batch in _chunks(changed_states):
        await db.execute(update(PublicationState), list(batch))
    # One line for the run (the register holds each change, with its date and source).
    await audit.record(db, slug, EventType.PUBLICATION_IMPORTED, by=by, **result.recorded)
    # No search refresh here: the import, the only caller, rewrites the tenant's entries once
    # after all its changes (assmat.portal.imports.service).
    return result


async def published_ids(db: AsyncSession, tenant: Tenant) -> set[int]:
    """The ids of the accounts published today (one query)."""
    return set(await db.scalars(select(Account.id).where(published_clause(tenant))))


async def unpublished_by_suspension(db: AsyncSession, tenant: Tenant, ids: Iterable[int]) -> set[int]:
    """Among `ids`, the accounts kept off by their agrément or by staff, not by their own choice."""
    ids = list(ids)
    if not ids:
        return set()
    slug = tenant.slug
    valid = valid_agrement_exists(slug, clock.today())
    staff = exists(select(PublicationState.id).where(
        PublicationState.tenant_id == slug, PublicationState.account_id == Account.id,
        PublicationState.suspended_at.is_not(None)))
    found: set[int] = set()
    for batch in _chunks(ids):
        found |= set(await db.scalars(select(Account.id).where(
            Account.tenant_id == slug, Account.id.in_(batch), or_(not_(valid), staff))))
    return found


def _chunks(items: Sequence[Any], size: int = 1000) -> Iterable[Sequence[Any]]:
    for start in range(0, len(items), size):
        yield items[start:start + size]


# -- the list for the town halls ---------------------------------------------------------------------

@dataclass(frozen=True)
class TownHallEntry:
    city: str
    last_name: str
    first_name: str
    address: str
    postal_code: str
    phone: str
    agrement_number: str
    capacity: int | None
    valid_until: date | None


async def town_hall_list(db: AsyncSession, tenant: Tenant) -> list[TownHallEntry]:
    """The assistants with an agrément valid today, by commune, whatever their publication choice
    (art. L.421-8 CASF: the list given to the town halls): one line per agrément."""
    slug, today = tenant.slug, clock.today()
    rows = await db.execute(
        select(Account.city, Account.last_name, Account.first_name, Account.address, Account.postal_code, Account.phone,
               Agrement.number, Agrement.capacity, Agrement.end_date)
        .join(Agrement, and_(Agrement.tenant_id == Account.tenant_id, Agrement.account_id == Account.id))
        .where(Account.tenant_id == slug, Agrement.tenant_id == slug, Account.kind == "assistant",
               Account.disabled_at.is_(None), Agrement.status.is_(None),
               or_(Agrement.start_date.is_(None), Agrement.start_date <= today),
               or_(Agrement.end_date.is_(None), Agrement.end_date >= today))
        .order_by(Account.city, Account.last_name, Account.first_name, Agrement.number)
    )
    return [TownHallEntry(row.city or "", row.last_name or "", row.first_name or "", row.address or "",
                          row.postal_code or "", row.phone or "", row.number, row.capacity, row.end_date)
            for row in rows]
