"""Whether a fiche is published (portal.publication): each regime's rule case by case with a
frozen clock, `published_clause` agreeing with `publication_status` on every case, the register
and its audit lines, staff suspension, the assistant's page « Publication de ma fiche » and the
dashboard, and the monthly file's `publication` and `statut_agrement` columns. Both backends:
the clause is SQL with correlated EXISTS, the register is written in bulk by the import."""

from __future__ import annotations

from datetime import UTC, date, datetime

import pytest
from sqlalchemy import select

from assmat.auth.models import Account
from assmat.core.errors import Invalid
from assmat.core.security.models import AuditEvent
from assmat.portal.agrement.models import Agrement
from assmat.portal.imports.service import import_assistants
from assmat.portal.publication.models import (
    CONSENT,
    CONSENT_WITHDRAWN,
    OBJECTION,
    OBJECTION_WITHDRAWN,
    PublicationEvent,
    PublicationState,
)
from assmat.portal.publication.service import (
    published_clause,
    publication_status,
    record_choice,
    resume,
    suspend,
)
from tests.admin.test_import import HEADER, csv_bytes, row
from tests.flows import test_eure_et_loir as eure_flow
from tests.support.portal import text_of

pytestmark = pytest.mark.both_backends

GERS, EURE, MON_ENFANT, CESTAS = "gers", "eure-et-loir", "mon-enfant", "cestas"
T0 = datetime(2026, 11, 2, 9, 0, tzinfo=UTC)  # the frozen clock's start: Monday 2 November 2026 in Paris
NOW = datetime(2026, 11, 1, 8, 0, tzinfo=UTC)


# -- building a world -------------------------------------------------------------------------------

def run(portal, work):
    async def go():
        async with portal.app.state.sessionmaker(expire_on_commit=False) as db:
            result = await work(db)
            await db.commit()
            return result

    return portal.run(go)


def assistant(portal, name: str, *, kind: str = "assistant", agrements=((date(2020, 1, 1), date(2030, 12, 31), None),),
              choice: str | None = None, last_kind: str | None = None, suspended: bool = False,
              disabled: bool = False) -> Account:
    """An account with its agréments (start, end, status) and its fiche's state, straight in the database."""
    slug = portal.slug

    async def work(db):
        account = Account(tenant_id=slug, kind=kind, identifier=f"{name}@example.org".lower(), first_name="Anne",
                          last_name=name, city="Auch", disabled_at=NOW if disabled else None)
        db.add(account)
        await db.flush()
        for index, (start, end, status) in enumerate(agrements):
            db.add(Agrement(tenant_id=slug, account_id=account.id, number=f"{name}-{index}", start_date=start,
                            end_date=end, capacity=3, status=status))
        if choice or last_kind or suspended:
            db.add(PublicationState(tenant_id=slug, account_id=account.id, choice=choice, last_kind=last_kind or choice,
                                    suspended_at=NOW if suspended else None,
                                    suspension_reason="Plainte en cours d'examen" if suspended else None))
        return account

    return run(portal, work)


# name → (setup, reason under consent, under opt_out, under mandatory_with_masking); None: published.
CASES = {
    "valid": ({}, "no_consent", None, None),
    "ends_yesterday": ({"agrements": [(date(2020, 1, 1), date(2026, 11, 1), None)]},) + ("agrement_expired",) * 3,
    "ends_today": ({"agrements": [(date(2020, 1, 1), date(2026, 11, 2), None)], "choice": "consent"}, None, None, None),
    "ends_tomorrow": ({"agrements": [(date(2020, 1, 1), date(2026, 11, 3), None)], "choice": "consent"}, None, None, None),
    "starts_tomorrow": ({"agrements": [(date(2026, 11, 3), date(2031, 11, 2), None)]},) + ("agrement_not_started",) * 3,
    "renewal": ({"agrements": [(date(2020, 1, 1), date(2030, 12, 31), "renewal")], "choice": "consent"},)
    + ("agrement_renewal",) * 3,
    "suspended_agrement": ({"agrements": [(date(2020, 1, 1), None, "suspended")]},) + ("agrement_suspended",) * 3,
    "withdrawn_agrement": ({"agrements": [(date(2020, 1, 1), None, "withdrawn")]},) + ("agrement_withdrawn",) * 3,
    "no_agrement": ({"agrements": []},) + ("no_agrement",) * 3,
    "old_and_current": ({"agrements": [(date(2010, 1, 1), date(2015, 1, 1), None), (date(2015, 1, 2), None, None)],
                         "choice": "consent"}, None, None, None),
    "staff_suspended": ({"choice": "consent", "suspended": True},) + ("suspended",) * 3,
    "objected": ({"choice": "objection"}, "no_consent", "objected", None),
    "consented": ({"choice": "consent"}, None, None, None),
    "consent_withdrawn": ({"last_kind": CONSENT_WITHDRAWN}, "withdrawn", None, None),
    "objection_withdrawn": ({"last_kind": OBJECTION_WITHDRAWN}, "no_consent", None, None),
    "disabled": ({"choice": "consent", "disabled": True},) + ("disabled",) * 3,
    "structure": ({"kind": "mam", "choice": "consent"},) + ("not_assistant",) * 3,
}
REGIME_COLUMN = {MON_ENFANT: 1, EURE: 2, GERS: 3}


@pytest.mark.parametrize("slug", [MON_ENFANT, EURE, GERS, CESTAS])
def test_each_regimes_rule_case_by_case_and_the_clause_agrees(portal_for, frozen_clock, slug):
    portal = portal_for(slug)
    accounts = {name: assistant(portal, name.replace("_", "-"), **setup) for name, (setup, *_) in CASES.items()}

    async def statuses(db):
        return {name: await publication_status(db, portal.tenant, account) for name, account in accounts.items()}

    found = run(portal, statuses)
    published = {id_ for (id_,) in portal.query(select(Account.id).where(published_clause(portal.tenant)))}
    for name, (_setup, *reasons) in CASES.items():
        expected = reasons[REGIME_COLUMN[slug] - 1] if slug in REGIME_COLUMN else "no_publication"
        assert found[name].reason == expected, (slug, name, found[name])
        assert found[name].published is (expected is None), (slug, name)
        assert (accounts[name].id in published) is found[name].published, (slug, name, "clause and status disagree")
        assert found[name].label  # a sentence, in every case
    if slug == CESTAS:
        assert published == set()
    else:
        assert published  # the control: some fiches are public


def test_the_rule_follows_the_tenants_own_date(portal_for, frozen_clock):
    """At 23:30 UTC on 2 November it is already 3 November in Paris: an agrément ending on the 2nd
    has expired, one starting on the 3rd has begun."""
    portal = portal_for(EURE)
    ending = assistant(portal, "Fin", agrements=[(date(2020, 1, 1), date(2026, 11, 2), None)])
    starting = assistant(portal, "Debut", agrements=[(date(2026, 11, 3), None, None)])

    def state() -> tuple[bool, bool, set[int]]:
        async def work(db):
            return ((await publication_status(db, portal.tenant, ending)).published,
                    (await publication_status(db, portal.tenant, starting)).published)

        public = {id_ for (id_,) in portal.query(select(Account.id).where(published_clause(portal.tenant)))}
        return (*run(portal, work), public)

    assert state() == (True, False, {ending.id})
    frozen_clock.advance(hours=14, minutes=30)  # 23:30 UTC
    assert state() == (False, True, {starting.id})


def test_the_labels_tell_her_why_in_french(portal_for, frozen_clock):
    portal = portal_for(MON_ENFANT)
    renewal = assistant(portal, "Renouvellement", agrements=[(date(2020, 1, 1), None, "renewal")], choice="consent")
    suspended = assistant(portal, "Suspendue", choice="consent", suspended=True)
    withdrawn = assistant(portal, "Retrait", last_kind=CONSENT_WITHDRAWN)
    published = assistant(portal, "Publiee", choice="consent")

    async def labels(db):
        return [(await publication_status(db, portal.tenant, account)).label
                for account in (renewal, suspended, withdrawn, published)]

    renewal_label, suspended_label, withdrawn_label, published_label = run(portal, labels)
    assert renewal_label == ("Votre inscription est momentanément suspendue en période de révision ou de "
                             "renouvellement de votre agrément. Pour toute question, contactez votre circonscription de PMI.")
    assert "Motif : Plainte en cours d'examen" in suspended_label and "circonscription de PMI" in suspended_label
    assert withdrawn_label == "Votre fiche n'est plus publiée : vous avez retiré votre consentement."
    assert published_label == "Votre fiche est publiée : les familles peuvent la consulter."


# -- the register ---------------------------------------------------------------------------------

def register_of(portal, account_id: int) -> list[tuple]:
    return [tuple(r) for r in portal.query(
        select(PublicationEvent.kind, PublicationEvent.source, PublicationEvent.recorded_by)
        .where(PublicationEvent.account_id == account_id).order_by(PublicationEvent.id))]


def audit_of(portal, account_id: int) -> list[tuple]:
    return [(type_, detail.get("source"), detail.get("by")) for type_, detail in portal.query(
        select(AuditEvent.type, AuditEvent.detail).where(AuditEvent.account_id == account_id,
                                                         AuditEvent.type.like("publication.%"))
        .order_by(AuditEvent.id))]


def test_every_choice_is_a_register_line_and_an_audit_line_and_a_repeat_writes_nothing(portal_for, frozen_clock):
    portal = portal_for(MON_ENFANT)
    anne = assistant(portal, "Anne")

    def choose(choice, **kwargs):
        return run(portal, lambda db: record_choice(db, portal.tenant, anne, choice, **kwargs))

    assert choose(CONSENT, source="form") is not None
    assert choose(CONSENT, source="form") is None  # already standing: nothing written
    frozen_clock.advance(days=3)
    assert choose(CONSENT_WITHDRAWN, source="staff", admin="agent@mon-enfant.fr") is not None
    assert register_of(portal, anne.id) == [("consent", "form", None), ("consent_withdrawn", "staff", "agent@mon-enfant.fr")]
    assert audit_of(portal, anne.id) == [("publication.consent", "form", None),
                                         ("publication.consent_withdrawn", "staff", "agent@mon-enfant.fr")]
    dates = [d for (d,) in portal.query(select(PublicationEvent.created_at).where(PublicationEvent.account_id == anne.id)
                                        .order_by(PublicationEvent.id))]
    assert dates == [T0, T0.replace(day=5)]
    state = portal.query(select(PublicationState.choice, PublicationState.last_kind)
                         .where(PublicationState.account_id == anne.id))
    assert [tuple(s) for s in state] == [(None, "consent_withdrawn")]


@pytest.mark.parametrize(("slug", "refused"), [(MON_ENFANT, OBJECTION), (EURE, CONSENT), (GERS, OBJECTION),
                                               (GERS, CONSENT)])
def test_a_choice_the_regime_does_not_offer_is_refused_and_changes_nothing(portal_for, frozen_clock, slug, refused):
    portal = portal_for(slug)
    anne = assistant(portal, "Anne")
    with pytest.raises(Invalid) as raised:
        run(portal, lambda db: record_choice(db, portal.tenant, anne, refused, source="form"))
    assert raised.value.message == "Ce choix n'est pas proposé sur ce portail."
    assert register_of(portal, anne.id) == [] and audit_of(portal, anne.id) == []


def test_staff_suspend_with_a_reason_then_resume(portal_for, frozen_clock):
    portal = portal_for(EURE)
    anne = assistant(portal, "Anne")

    def status():
        return run(portal, lambda db: publication_status(db, portal.tenant, anne))

    with pytest.raises(Invalid):
        run(portal, lambda db: suspend(db, portal.tenant, anne, "   ", by="agent@eure.fr"))
    assert status().published
    assert run(portal, lambda db: suspend(db, portal.tenant, anne, "Enquête en cours", by="agent@eure.fr")) is True
    assert run(portal, lambda db: suspend(db, portal.tenant, anne, "Encore", by="agent@eure.fr")) is False
    assert status().reason == "suspended" and "Motif : Enquête en cours" in status().label
    assert run(portal, lambda db: resume(db, portal.tenant, anne, by="agent@eure.fr")) is True
    assert run(portal, lambda db: resume(db, portal.tenant, anne, by="agent@eure.fr")) is False
    assert status().published
    lines = portal.query(select(AuditEvent.type, AuditEvent.detail).where(AuditEvent.account_id == anne.id)
                         .order_by(AuditEvent.id))
    assert [(t, d.get("reason")) for t, d in lines] == [("publication.suspended", "Enquête en cours"),
                                                        ("publication.resumed", None)]


# -- the assistant's page ---------------------------------------------------------------------------

MON_ENFANT_PASSWORD = "Lune2Soleil42"
GERS_PASSWORD = "Lune#Soleil42"


def signed_in_on_mon_enfant(portal):
    account, _ = portal.create_account("anne.martin@example.org", MON_ENFANT_PASSWORD)
    run(portal, lambda db: _add_agrement(db, portal.slug, account.id))
    assert portal.login("anne.martin@example.org", MON_ENFANT_PASSWORD).status_code == 303
    return account


async def _add_agrement(db, slug, account_id, status=None):
    db.add(Agrement(tenant_id=slug, account_id=account_id, number=f"AGR-{account_id}", start_date=date(2020, 1, 1),
                    end_date=date(2030, 12, 31), capacity=3, status=status))


def post_choice(portal, choice: str | None):
    data = {} if choice is None else {"choix": choice}
    return portal.post("/espace/publication", data)


def test_she_gives_then_withdraws_her_consent_on_mon_enfant(portal_for, frozen_clock):
    portal = portal_for(MON_ENFANT)
    anne = signed_in_on_mon_enfant(portal)
    page = text_of(portal.client.get("/espace/publication"))
    assert "Publication de ma fiche" in page
    assert "vous n'avez pas donné votre consentement pour la publication de vos coordonnées" in page
    assert "J'accepte que mes coordonnées et mes disponibilités soient publiées" in page
    assert "Retirer mon consentement" not in page

    response = post_choice(portal, CONSENT)
    assert response.status_code == 303 and response.headers["location"] == "/espace/publication?info=pub_consent"
    page = text_of(portal.client.get(response.headers["location"]))
    assert "Votre consentement est enregistré." in page and "Votre fiche est publiée" in page
    assert "Retirer mon consentement" in page
    dashboard = text_of(portal.client.get("/espace"))
    assert "Votre fiche est publiée : les familles peuvent la consulter." in dashboard
    assert 'href="/espace/publication"' in dashboard

    response = post_choice(portal, CONSENT_WITHDRAWN)
    assert response.headers["location"] == "/espace/publication?info=pub_consent_withdrawn"
    assert "Votre fiche n'est plus publiée : vous avez retiré votre consentement." in text_of(portal.client.get("/espace"))
    assert register_of(portal, anne.id) == [("consent", "form", None), ("consent_withdrawn", "form", None)]
    assert [t for t, *_ in audit_of(portal, anne.id)] == ["publication.consent", "publication.consent_withdrawn"]


@pytest.mark.parametrize("forged", [OBJECTION, "publier", "", None, "consent" * 100])
def test_a_forged_choice_gets_a_french_message_and_changes_nothing(portal_for, frozen_clock, forged):
    portal = portal_for(MON_ENFANT)
    anne = signed_in_on_mon_enfant(portal)
    response = post_choice(portal, forged)
    assert response.status_code == 400
    assert "Ce choix n'est pas proposé sur ce portail." in text_of(response)
    assert register_of(portal, anne.id) == [] and audit_of(portal, anne.id) == []


def test_a_post_without_its_csrf_token_changes_nothing(portal_for, frozen_clock):
    portal = portal_for(MON_ENFANT)
    anne = signed_in_on_mon_enfant(portal)
    response = portal.client.post("/espace/publication", data={"choix": CONSENT})
    assert response.status_code in (400, 403)
    assert register_of(portal, anne.id) == []


def test_she_objects_then_cancels_on_eure_et_loir(portal_for, frozen_clock):
    portal = portal_for(EURE)
    eure_flow.active_account(portal)
    (account_id,) = [i for (i,) in portal.query(select(Account.id).where(Account.tenant_id == EURE))]
    run(portal, lambda db: _add_agrement(db, EURE, account_id))
    assert eure_flow.login(portal, eure_flow.PMI_NUMBER, eure_flow.GOOD).status_code == 303
    page = text_of(portal.client.get("/espace/publication"))
    assert "Votre fiche est publiée" in page
    assert "Vous figurerez toujours dans les listes fournies aux mairies (article L. 421-8" in page
    response = post_choice(portal, OBJECTION)
    assert response.headers["location"] == "/espace/publication?info=pub_objection"
    page = text_of(portal.client.get(response.headers["location"]))
    assert "Votre opposition est enregistrée." in page
    assert "Votre fiche n'est pas publiée : vous vous êtes opposé(e) à sa publication." in page
    assert "Annuler mon opposition" in page
    assert post_choice(portal, OBJECTION_WITHDRAWN).headers["location"] == "/espace/publication?info=pub_objection_withdrawn"
    assert register_of(portal, account_id) == [("objection", "form", None), ("objection_withdrawn", "form", None)]


def test_gers_explains_that_publication_is_mandatory_and_takes_no_choice(portal_for, frozen_clock):
    portal = portal_for(GERS)
    account, _ = portal.create_account("AGR-2026-0001", GERS_PASSWORD)
    run(portal, lambda db: _add_agrement(db, GERS, account.id))
    assert portal.login("AGR-2026-0001", GERS_PASSWORD).status_code == 303
    page = text_of(portal.client.get("/espace/publication"))
    assert "vous ne pouvez pas vous y opposer" in page and "R. 421-39" in page
    assert 'name="choix"' not in page  # no form: nothing to choose
    response = portal.post("/espace/publication", {"choix": OBJECTION}, form_path="/espace")
    assert response.status_code == 400 and "Ce choix n'est pas proposé sur ce portail." in text_of(response)
    assert register_of(portal, account.id) == []


def test_a_tenant_that_publishes_nothing_has_no_publication_page(portal_for, frozen_clock):
    portal = portal_for("alpes-maritimes")
    assert portal.client.get("/espace/publication").headers["location"].startswith("/connexion")
    account, _ = portal.create_account("AGR-06-0001", "Lune2Soleil")
    assert portal.login("AGR-06-0001", "Lune2Soleil").status_code == 303
    assert portal.client.get("/espace/publication").status_code == 404
    assert portal.post("/espace/publication", {"choix": CONSENT}, form_path="/espace").status_code == 404
    assert "Publication de ma fiche" not in text_of(portal.client.get("/espace"))
    assert portal.query(select(PublicationEvent.id)) == []


def test_her_choice_changes_her_fiche_only_and_another_tenants_session_is_anonymous(portal_for, frozen_clock):
    portal = portal_for(MON_ENFANT)
    anne = signed_in_on_mon_enfant(portal)
    bea = assistant(portal, "Bea")
    assert post_choice(portal, CONSENT).status_code == 303
    assert register_of(portal, bea.id) == [] and len(register_of(portal, anne.id)) == 1
    # Her session on another tenant's host signs nobody in there.
    eure = portal_for(EURE)
    eure.client.cookies.set("session", portal.client.cookies.get("session"), domain=f"{EURE}.localhost")
    response = eure.client.get("/espace/publication")
    assert response.status_code == 303 and response.headers["location"].startswith("/connexion")
    response = eure.client.post("/espace/publication", data={"choix": OBJECTION})
    assert response.status_code in (303, 403)
    assert portal.query(select(PublicationEvent.id).where(PublicationEvent.tenant_id == EURE)) == []


def test_another_kind_of_account_has_no_publication_page(portal_for, frozen_clock):
    portal = portal_for(MON_ENFANT)
    account, _ = portal.create_account("mam@example.org", MON_ENFANT_PASSWORD)
    portal.update_account(account.id, kind="mam")
    assert portal.login("mam@example.org", MON_ENFANT_PASSWORD).status_code == 303
    assert portal.client.get("/espace/publication").status_code == 404
    assert "Publication de ma fiche" not in text_of(portal.client.get("/espace"))


# -- the monthly file -------------------------------------------------------------------------------

STATUS_HEADER = HEADER + ";statut_agrement"


def import_file(portal, data: bytes, *, dry_run: bool = False):
    return run(portal, lambda db: import_assistants(db, portal.tenant, data, "mensuel.csv", dry_run=dry_run,
                                                    by="agent@example.org"))


def test_the_import_feeds_consent_on_mon_enfant_and_counts_the_changes(portal_for, frozen_clock):
    portal = portal_for(MON_ENFANT)
    # mon-enfant's file is keyed by the email its assistants sign in with (import.key).
    numbers = [(f"66-2026-{i:03}", f"a{i}@example.org") for i in range(4)]
    first = import_file(portal, csv_bytes(*(row(n, email=e, publication=p)
                                            for (n, e), p in zip(numbers, ["oui", "oui", "non", ""]))))
    assert first.choices == {"consent": 2}
    assert (first.published, first.unpublished, first.suspended) == (2, 0, 0)
    again = import_file(portal, csv_bytes(*(row(n, email=e, publication=p)
                                            for (n, e), p in zip(numbers, ["oui", "non", "oui", ""]))))
    assert again.choices == {"consent": 1, "consent_withdrawn": 1}
    assert (again.published, again.unpublished, again.suspended) == (1, 1, 0)
    sources = {s for (s,) in portal.query(select(PublicationEvent.source).where(PublicationEvent.tenant_id == MON_ENFANT))}
    assert sources == {"import"}
    assert len(portal.query(select(PublicationEvent.id).where(PublicationEvent.tenant_id == MON_ENFANT))) == 4
    (counts,) = [c for (c,) in portal.query(select(AuditEvent.detail).where(AuditEvent.type == "publication.imported")
                                            .order_by(AuditEvent.id))][-1:]
    assert counts["consent"] == 1 and counts["consent_withdrawn"] == 1


def test_the_import_feeds_objection_on_eure_et_loir_and_a_dry_run_writes_nothing(portal_for, frozen_clock):
    portal = portal_for(EURE)
    base = import_file(portal, csv_bytes(row("280001", publication="oui"), row("280002", publication="oui"),
                                         header=HEADER))
    assert base.choices == {} and base.published == 2  # oui: no objection, nothing to record
    dry = import_file(portal, csv_bytes(row("280001", publication="non"), row("280002", publication="oui")), dry_run=True)
    assert dry.choices == {"objection": 1} and portal.query(select(PublicationEvent.id)) == []
    applied = import_file(portal, csv_bytes(row("280001", publication="non"), row("280002", publication="oui")))
    assert applied.choices == {"objection": 1} and (applied.published, applied.unpublished) == (0, 1)
    lifted = import_file(portal, csv_bytes(row("280001", publication="oui"), row("280002", publication="oui")))
    assert lifted.choices == {"objection_withdrawn": 1} and lifted.published == 1


def test_an_applied_import_rewrites_the_search_table_once(portal_for, frozen_clock, monkeypatch):
    """Names, addresses and choices all change in one import: the search table is rewritten
    once for the tenant, not once for the choices and again for the rest."""
    from sqlalchemy import event

    from assmat.core.db import changes
    from assmat.portal.directory.models import DirectoryEntry

    portal = portal_for(EURE)
    import_file(portal, csv_bytes(row("280001", publication="oui"), row("280002", publication="oui"), header=HEADER))
    calls: list[list[int] | None] = []

    def counting(refresher):
        async def counted(db, tenant, ids):
            calls.append(ids)
            await refresher(db, tenant, ids)
        return counted

    monkeypatch.setattr(changes, "_refreshers", [counting(r) for r in changes._refreshers])
    statements: list[str] = []
    engine = portal.app.state.sessionmaker.kw["bind"].sync_engine
    listener = lambda conn, cursor, statement, *args: statements.append(statement)  # noqa: E731
    event.listen(engine, "before_cursor_execute", listener)
    try:  # she objects, the other moves: a choice and an address in one file
        applied = import_file(portal, csv_bytes(row("280001", publication="non"),
                                                row("280002", publication="oui", city="Lucé", postal="28110")))
    finally:
        event.remove(engine, "before_cursor_execute", listener)
    assert applied.choices == {"objection": 1} and applied.unpublished == 1
    assert calls == [None]  # one refresh, of the whole tenant
    rewrites = [s for s in statements if s.lstrip().upper().startswith("DELETE FROM DIRECTORY_ENTRIES")]
    assert len(rewrites) == 1


def test_gers_ignores_the_publication_column_and_says_so_once(portal_for, frozen_clock):
    portal = portal_for(GERS)
    report = import_file(portal, csv_bytes(row("AGR-1", publication="non"), row("AGR-2", publication="non")))
    assert report.choices == {} and report.published == 2
    notes = [w for w in report.warnings if "publication" in w]
    assert notes == ["Colonne « publication » ignorée : sur ce portail, la publication des fiches est obligatoire "
                     "(article R. 421-39 du code de l'action sociale et des familles)."]
    assert portal.query(select(PublicationEvent.id)) == []


@pytest.mark.parametrize(("typed", "stored", "published"), [
    ("", None, True), ("Valide", None, True), ("en_renouvellement", "renewal", False),
    ("En révision", "renewal", False), ("SUSPENDU", "suspended", False), ("retiré", "withdrawn", False),
    ("expiré", "expired", False),
])
def test_the_agrement_status_column_suspends_the_fiche(portal_for, frozen_clock, typed, stored, published):
    portal = portal_for(GERS)
    import_file(portal, csv_bytes(row("AGR-1") + ";", header=STATUS_HEADER))
    report = import_file(portal, csv_bytes(row("AGR-1") + f";{typed}", header=STATUS_HEADER))
    assert portal.query(select(Agrement.status).where(Agrement.tenant_id == GERS))[0][0] == stored
    assert report.suspended == (0 if published else 1)
    public = portal.query(select(Account.id).where(published_clause(portal.tenant)))
    assert bool(public) is published


def test_an_unknown_agrement_status_rejects_the_line(portal_for, frozen_clock):
    portal = portal_for(GERS)
    report = import_file(portal, csv_bytes(row("AGR-1") + ";peut-être", header=STATUS_HEADER))
    assert [r.reason for r in report.rejected] == [
        "statut d'agrément inconnu « peut-être » (valide, en_renouvellement, en_revision, suspendu, retire ou expire attendu)"]


def test_an_agrement_ended_by_the_file_counts_as_suspended(portal_for, frozen_clock):
    portal = portal_for(EURE)
    import_file(portal, csv_bytes(row("280001"), row("280002")))
    report = import_file(portal, csv_bytes(row("280001", end="01/11/2026"), row("280002", publication="non")))
    assert (report.published, report.unpublished, report.suspended) == (0, 1, 1)
