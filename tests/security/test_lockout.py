"""Lockout and brute force (security.md): parallel guesses, counter semantics, variants."""

from __future__ import annotations

import asyncio

import pytest
from sqlalchemy import func, select

from assmat.auth.errors import AccountLocked, LoginFailed
from assmat.auth import login
from assmat.auth.context import auth_context
from assmat.core.mail.models import OutboxMail
from assmat.core.security.models import AuditEvent
from tests.support.portal import text_of

# Parallel guesses: the lockout is a conditional UPDATE … RETURNING.
pytestmark = pytest.mark.both_backends

GOOD = "Lune#Soleil42"


def parallel_logins(portal, identifier: str, password: str, count: int) -> list[str]:
    app = portal.app

    async def one() -> str:
        async with app.state.sessionmaker() as db:
            try:
                await login.authenticate(auth_context(db, portal.tenant, app.state.hasher, app.state.settings),
                                         identifier, password, "203.0.113.7")
            except AccountLocked:
                return "locked"
            except LoginFailed:
                return "failed"
            return "ok"

    async def all_at_once() -> list[str]:
        return list(await asyncio.gather(*(one() for _ in range(count))))

    return portal.run(all_at_once)


def test_twenty_parallel_wrong_passwords_lock_after_three_verifications_and_mail_once(portal_for):
    gers = portal_for("gers")  # max_failures: 3
    account, _ = gers.create_account("AGR-2026-0100", GOOD)
    hasher = gers.app.state.hasher
    before = hasher.verifications
    results = parallel_logins(gers, "AGR-2026-0100", "Faux#Passe99", 20)
    assert hasher.verifications - before <= 3
    assert "ok" not in results
    assert gers.account(account.id).locked_at is not None
    locks = gers.query(select(func.count()).select_from(AuditEvent).where(AuditEvent.type == "account.locked"))
    assert locks[0][0] == 1
    mails = gers.query(select(OutboxMail.template, func.count()).group_by(OutboxMail.template))
    assert dict(mails) == {"account_locked": 1, "account_locked_admin": 1}


def test_a_correct_password_resets_the_counter_where_configured(portal_for):
    portal = portal_for("alpes-maritimes")  # reset_counter_on_success: true, 5 failures
    portal.create_account("06-2020-0100", GOOD)
    max_failures = portal.tenant.config.lockout.max_failures
    for _ in range(max_failures - 1):
        assert portal.login("06-2020-0100", "faux").status_code == 400
    assert portal.login("06-2020-0100", GOOD).status_code == 303
    portal.client.cookies.clear()
    for _ in range(max_failures - 1):
        portal.login("06-2020-0100", "faux")
    assert portal.login("06-2020-0100", GOOD).status_code == 303


def test_a_temporary_lock_ends_by_itself(portal_for, frozen_clock):
    portal = portal_for("alpes-maritimes")
    account, _ = portal.create_account("06-2020-0101", GOOD)
    lockout = portal.tenant.config.lockout
    for _ in range(lockout.max_failures):
        portal.login("06-2020-0101", "faux")
    assert portal.login("06-2020-0101", GOOD).status_code == 400  # locked: generic failure
    frozen_clock.advance(seconds=lockout.duration.total_seconds() - 1)
    assert portal.login("06-2020-0101", GOOD).status_code == 400
    frozen_clock.advance(seconds=2)
    assert portal.login("06-2020-0101", GOOD).status_code == 303
    assert portal.account(account.id).failed_logins == 0


def test_identifier_variants_share_one_counter(portal_for):
    gers = portal_for("gers")
    account, _ = gers.create_account("AGR-2026-0102", GOOD)
    for variant in ("agr-2026-0102", "  AGR-2026-0102  ", "ＡＧＲ－２０２６－０１０２"):
        assert gers.login(variant, "Faux#Passe99").status_code == 400
    response = gers.login("AGR-2026-0102", GOOD)
    assert "Votre compte est bloqué" in text_of(response)
    assert gers.account(account.id).failed_logins == 3


def test_locking_ends_every_session_of_the_account(portal_for, client_for, app):
    from tests.support.portal import Portal

    gers = portal_for("gers")
    gers.create_account("AGR-2026-0103", GOOD)
    assert gers.login("AGR-2026-0103", GOOD).status_code == 303
    assert gers.client.get("/espace").status_code == 200
    attacker = Portal(client_for("gers.localhost"), app, "gers")
    attacker.client.cookies.clear()
    for _ in range(3):
        attacker.login("AGR-2026-0103", "Faux#Passe99")
    assert gers.client.get("/espace").status_code == 303


def test_disabling_ends_every_session_of_the_account(portal_for, frozen_clock):
    portal = portal_for("cestas")
    account, _ = portal.create_account("famille.bernard", "Lune2Soleil")
    portal.login("famille.bernard", "Lune2Soleil")
    assert portal.client.get("/espace").status_code == 200
    portal.update_account(account.id, disabled_at=frozen_clock.now)
    assert portal.client.get("/espace").status_code == 303
    assert portal.login("famille.bernard", "Lune2Soleil").status_code == 400


def test_a_password_change_ends_every_session(portal_for, client_for, app):
    from tests.support.portal import Portal

    portal = portal_for("cestas")
    portal.create_account("famille.petit", "Lune2Soleil")
    other = Portal(client_for("cestas.localhost"), app, "cestas")
    portal.login("famille.petit", "Lune2Soleil")
    other.login("famille.petit", "Lune2Soleil")
    changed = portal.post("/espace/compte/mot-de-passe", {
        "mot_de_passe_actuel": "Lune2Soleil", "mot_de_passe": "Etoile3Marine", "confirmation": "Etoile3Marine",
    })
    assert changed.status_code == 303 and changed.headers["location"].startswith("/connexion")
    assert other.client.get("/espace").status_code == 303


def test_where_resets_are_allowed_when_locked_the_emailed_temporary_password_unlocks(tmp_path, database_url, smtp_server):
    """A tenant with allowed_when_locked: true and emailed temporary passwords."""
    import re
    import shutil

    import yaml
    from starlette.testclient import TestClient

    from assmat.app import create_app
    from tests.conftest import TENANT_CONFIGS, make_settings
    from tests.support.portal import Portal

    configs = tmp_path / "configs"
    shutil.copytree(TENANT_CONFIGS, configs)
    path = configs / "mon-enfant.yaml"
    data = yaml.safe_load(path.read_text(encoding="utf-8"))
    data["password_reset"].update({"allowed_when_locked": True, "captcha": False})
    path.write_text(yaml.safe_dump(data, allow_unicode=True), encoding="utf-8")
    settings = make_settings(tmp_path, database_url, tenant_configs=configs, mail_backend="smtp",
                             smtp_host=smtp_server.host, smtp_port=smtp_server.port)
    app = create_app(settings)
    with TestClient(app, base_url="http://mon-enfant.localhost", follow_redirects=False) as client:
        portal = Portal(client, app, "mon-enfant")
        account, _ = portal.create_account("bloquee@example.org", "Lune2Soleil", email="bloquee@example.org")
        for _ in range(portal.tenant.config.lockout.max_failures):
            portal.login("bloquee@example.org", "faux")
        assert portal.account(account.id).locked_at is not None
        assert portal.post("/mot-de-passe-oublie", {"email": "bloquee@example.org"}).status_code == 303
        mail = [m for m in smtp_server.wait_for(2) if "Votre nouveau mot de passe" in m.get_body(("plain",)).get_content()][0]
        temporary = re.search(r"Votre nouveau mot de passe est : (\S+)", mail.get_body(("plain",)).get_content()).group(1)
        used = portal.login("bloquee@example.org", temporary)
        assert used.status_code == 303 and used.headers["location"] == "/changement-mot-de-passe"
        assert portal.account(account.id).locked_at is None
