"""One address rule everywhere, and a notification that cannot be sent never undoes or blocks
the change it announces (security.md, « Found by an authorised test »).

The finding: the import stored `<bad@example.org>` and `a,b@x.org`, which the mailer refused;
the next lock then answered 500 and rolled back, and unlock, reset and activation all answered
500 too. Here every entry point gives the same verdict on the same address, and an account that
still holds such an address (imported before the rule was shared) locks, unlocks and resets
normally, with the failure in its audit trail and said by the console."""

from __future__ import annotations

import html
import re
from datetime import date

import pytest
from sqlalchemy import select

from assmat.auth import staff_actions
from assmat.auth.staff import AdminService
from assmat.portal.imports.service import DEFAULT_HEADERS, import_assistants
from assmat.auth.identifiers import normalize_email
from assmat.auth.models import Account
from assmat.core.mail.models import OutboxMail
from assmat.core.security.models import AuditEvent
from assmat.core.mail.address import plain_address
from assmat.core.mail.outbox import InvalidRecipient, single_recipient
from assmat.portal.children.service import validate_declaration
from tests.admin.conftest import ADMIN_PASSWORD, console_for, create_admin  # noqa: F401 (fixture)
from tests.conftest import TENANT_CONFIGS, smtp_settings
from tests.support.portal import text_of

# Addresses and fields of any length and byte reach the database: PostgreSQL enforces types and
# lengths, SQLite does not.
pytestmark = pytest.mark.both_backends

GOOD = "Lune#Soleil42"
REFUSED = [
    "<bad@example.org>", "a,b@x.org", "Eve <eve@example.org>", "a b@example.org", "a@example", "a@@example.org",
    "a;b@example.org", '"a"@example.org', "a@exa_mple.org", "a@example.org\r\nBcc: c@example.org", "a@-example.org",
    "a..b@example.org", "élodie@example.org", "a@example.o", "x" * 65 + "@example.org",
]
# The refused addresses a CSV cell can carry (no `;`, quote or line break).
IMPORT_REFUSED = ["<bad@example.org>", "a,b@x.org", "Eve <eve@example.org>", "a b@example.org", "a@example",
                  "a@@example.org", "a@exa_mple.org", "élodie@example.org"]
ACCEPTED = ["anne.martin@example.org", " Anne.Martin@Example.ORG ", "o'neil+pmi@sub.example.fr", "a-b_c@x-y.org"]


@pytest.fixture
def settings(tmp_path, database_url, smtp_server):
    return smtp_settings(tmp_path, database_url, smtp_server)


def mailer_accepts(address: str) -> bool:
    try:
        single_recipient(address)
    except InvalidRecipient:
        return False
    return True


def children_form_accepts(address: str) -> bool:
    from assmat.tenants.loader import load_valid_tenants

    types = load_valid_tenants(TENANT_CONFIGS)["alpes-maritimes"].config.childcare_types
    data = {
        "enfant-nom": "ENFANT", "enfant-prenom": "Anna", "enfant-naissance": "01/01/2022", "rl1-nom": "PARENT",
        "rl1-prenom": "Maman", "rl1-courriel": address, "adresse": "1 rue A", "code-postal": "06200", "commune": "Nice",
        "periode-0-type": "standard", "periode-0-debut": "09/07/2025",
    }
    return "rl1-courriel" not in validate_declaration(data, types, date(2025, 7, 9))[1]


@pytest.mark.parametrize("address", REFUSED + ACCEPTED)
def test_the_mailer_the_lookups_and_the_forms_share_one_verdict(address):
    expected = address in ACCEPTED
    assert (plain_address(address) is not None) is expected
    assert mailer_accepts(address) is expected
    assert (normalize_email(address) is not None) is expected
    assert children_form_accepts(address) is expected


def test_import_console_and_cli_refuse_what_the_mailer_refuses(portal_for, app):
    gers = portal_for("gers")
    tenant = gers.tenant
    header = ";".join(DEFAULT_HEADERS.values())
    lines = [header] + [
        ";".join([f"AGR-9-{i:03d}", "Mme", "Martin", "Anne", "17/05/1980", address, "0562000000", "1 rue A", "32000",
                  "Auch", "01/01/2020", "31/12/2030", "3", "oui"])
        for i, address in enumerate(IMPORT_REFUSED + ACCEPTED[:1])
    ]

    async def run_import():
        async with app.state.sessionmaker() as db:
            report = await import_assistants(db, tenant, "\r\n".join(lines).encode(), "a.csv", dry_run=False)
            await db.commit()
            return report

    report = gers.run(run_import)
    assert report.created == 1
    assert {r.line for r in report.rejected if "adresse électronique invalide" in r.reason} == set(range(2, 2 + len(IMPORT_REFUSED)))
    stored = gers.query(select(Account.email).where(Account.tenant_id == "gers"))
    assert stored == [("anne.martin@example.org",)]

    for address in ("<bad@example.org>", "a,b@x.org"):
        with pytest.raises(ValueError, match="adresse email valide"):
            gers.service_call(staff_actions.create_account, "AGR-9-900", email=address)  # `assmat create-account`

        async def create_admin_with(address=address):
            async with app.state.sessionmaker() as db:
                await AdminService(db, app.state.hasher, tenant).create(address, "admin")  # console and CLI

        with pytest.raises(ValueError):
            gers.run(create_admin_with)


def legacy_account(portal, identifier: str, address: str = "<bad@example.org>") -> Account:
    """An account imported before the rule was shared: its stored address is one the mailer refuses."""
    account, _ = portal.create_account(identifier, GOOD)
    portal.update_account(account.id, email=address, email_key=address.lower())
    return portal.account(account.id)


def not_sent(portal, account_id: int) -> list[str]:
    rows = portal.query(select(AuditEvent.detail).where(AuditEvent.type == "mail.not_sent", AuditEvent.account_id == account_id))
    return [row.detail["template"] for row in rows]


@pytest.mark.parametrize("address", ["<bad@example.org>", "a,b@x.org"])
def test_a_lock_commits_even_when_its_notice_cannot_be_sent(portal_for, address):
    gers = portal_for("gers")  # 3 failures, permanent, notifies the user and the admins
    account = legacy_account(gers, "AGR-2026-0700", address)
    answers = [gers.login("AGR-2026-0700", "Faux#Passe99") for _ in range(3)]
    assert [a.status_code for a in answers] == [400, 400, 400]
    assert "Votre compte est bloqué" in text_of(answers[-1])
    assert gers.account(account.id).locked_at is not None
    assert not_sent(gers, account.id) == ["account_locked"]
    # The admins' notice went out: one bad address does not silence the others.
    assert gers.query(select(OutboxMail.template)) == [("account_locked_admin",)]


def test_staff_unlock_reset_and_activation_work_and_say_the_mail_was_not_sent(portal_for, console_for, app):
    gers = portal_for("gers")
    account = legacy_account(gers, "AGR-2026-0701")
    for _ in range(3):
        gers.login("AGR-2026-0701", "Faux#Passe99")
    assert gers.account(account.id).locked_at is not None
    pending, _ = gers.create_account("AGR-2026-0702")  # never activated
    gers.update_account(pending.id, email="a,b@x.org", email_key="a,b@x.org")

    console = console_for("gers")
    create_admin(app, console.client, "gers", "agent@gers.fr", ADMIN_PASSWORD)
    assert console.login("agent@gers.fr", ADMIN_PASSWORD).status_code == 302
    for action, pk in (("unlock", account.id), ("send_reset", account.id), ("resend_activation", pending.id)):
        done = console.run_action(action, str(pk))
        assert done.status_code == 303, action
        assert "mail_failed=1" in done.headers["location"], action
        listing = html.unescape(console.client.get(done.headers["location"]).text)
        assert "1 courriel(s) n'ont pas pu être envoyés" in listing, action
    assert gers.account(account.id).locked_at is None
    assert not_sent(gers, account.id) == ["account_locked", "temporary_password", "temporary_password"]
    assert not_sent(gers, pending.id) == ["activation_link"]


def page(response) -> str:
    """The page without what changes on every render (the CSRF token)."""
    return re.sub(r'value="[A-Za-z0-9_-]{20,}"', 'value=""', text_of(response))


def test_identity_check_answers_the_same_whether_or_not_the_identity_matches(portal_for):
    """Alpes-Maritimes: with an address the mailer refuses, the matching identity answered 500
    and the wrong one the generic page, which told them apart."""
    am = portal_for("alpes-maritimes")
    am.create_account("06-AM-0900", email=None, last_name="Lefèvre", first_name="Hélène", birth_date=date(1990, 2, 2))
    form = {"identifiant": "06-AM-0900", "nom": "Lefèvre", "prenom": "Hélène", "date_naissance": "02/02/1990"}
    for address in ("<bad@example.org>", "a,b@x.org"):
        matching = am.post("/activation", {**form, "email": address})
        wrong = am.post("/activation", {**form, "nom": "Autre", "email": address})
        assert matching.status_code == wrong.status_code == 400
        assert "Veuillez saisir une adresse email valide." in text_of(matching)
        assert page(matching).replace("Lefèvre", "NOM") == page(wrong).replace("Autre", "NOM")
    assert am.query(select(OutboxMail.id)) == []
