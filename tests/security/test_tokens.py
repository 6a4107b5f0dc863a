"""Reset and activation tokens, temporary passwords, links and recipients (security.md)."""

from __future__ import annotations

import asyncio
import hashlib
import re

import pytest
from sqlalchemy import select

from assmat.auth.errors import TokenInvalid
from assmat.auth.policy import check_password
from assmat.auth import recovery
from assmat.auth.context import auth_context
from assmat.core.security.models import AccountToken
from tests.conftest import make_settings
from tests.support.portal import text_of

# Tokens are spent once, under races, by a conditional UPDATE … RETURNING.
pytestmark = pytest.mark.both_backends

GOOD = "Lune2Soleil"
NEW = "Etoile3Marine"


def reset_link(portal, smtp_server, identifier: str, email: str, count: int = 1) -> str:
    portal.post("/mot-de-passe-oublie", {"identifiant": identifier, "email": email})
    mail = smtp_server.wait_for(count)[count - 1]
    return re.search(r"https?://\S+/reinitialisation/(\S+)", mail.get_body(("plain",)).get_content()).group(0)


def token_of(link: str) -> str:
    return link.rsplit("/", 1)[1]


def test_reset_token_is_long_random_and_stored_hashed(portal_for, smtp_server):
    cestas = portal_for("cestas")
    account, _ = cestas.create_account("famille.leroy", GOOD, email="leroy@example.org")
    token = token_of(reset_link(cestas, smtp_server, "famille.leroy", "leroy@example.org"))
    assert len(token) >= 43  # 32 random bytes, base64url: 256 bits
    (stored,) = cestas.query(select(AccountToken.token_hash).where(AccountToken.account_id == account.id, AccountToken.purpose == "reset"))
    assert stored[0] == hashlib.sha256(token.encode()).hexdigest() and token not in stored[0]


def test_two_parallel_uses_of_one_token_exactly_one_wins(portal_for, smtp_server):
    cestas = portal_for("cestas")
    cestas.create_account("famille.roux", GOOD, email="roux@example.org")
    token = token_of(reset_link(cestas, smtp_server, "famille.roux", "roux@example.org"))
    app = cestas.app

    async def use(password: str) -> str:
        async with app.state.sessionmaker() as db:
            try:
                await recovery.reset_with_token(auth_context(db, cestas.tenant, app.state.hasher, app.state.settings),
                                                token, password, password, None)
            except TokenInvalid:
                return "refused"
            return "used"

    async def both():
        return await asyncio.gather(use("Etoile3Marine"), use("Comete4Lointaine"))

    assert sorted(cestas.run(both)) == ["refused", "used"]


def test_token_expires_at_its_ttl(portal_for, smtp_server, frozen_clock):
    cestas = portal_for("cestas")
    cestas.create_account("famille.fabre", GOOD, email="fabre@example.org")
    link = reset_link(cestas, smtp_server, "famille.fabre", "fabre@example.org")
    path = "/reinitialisation/" + token_of(link)
    ttl = cestas.tenant.config.password_reset.effective_link_ttl
    frozen_clock.advance(seconds=ttl.total_seconds() - 1)
    assert cestas.client.get(path).status_code == 200
    frozen_clock.advance(seconds=2)
    expired = cestas.client.get(path)
    assert expired.status_code == 400 and "Lien plus valable" in text_of(expired)


def test_a_newer_token_and_a_password_change_kill_older_tokens(portal_for, smtp_server):
    cestas = portal_for("cestas")
    account, _ = cestas.create_account("famille.morel", GOOD, email="morel@example.org")
    first = token_of(reset_link(cestas, smtp_server, "famille.morel", "morel@example.org", 1))
    second = token_of(reset_link(cestas, smtp_server, "famille.morel", "morel@example.org", 2))
    assert cestas.client.get(f"/reinitialisation/{first}").status_code == 400
    assert cestas.client.get(f"/reinitialisation/{second}").status_code == 200
    cestas.login("famille.morel", GOOD)
    cestas.post("/espace/compte/mot-de-passe", {"mot_de_passe_actuel": GOOD, "mot_de_passe": NEW, "confirmation": NEW})
    assert cestas.client.get(f"/reinitialisation/{second}").status_code == 400


def test_a_reset_request_changes_nothing_until_used(portal_for, smtp_server):
    cestas = portal_for("cestas")
    account, _ = cestas.create_account("famille.blanc", GOOD, email="blanc@example.org")
    before = cestas.account(account.id)
    reset_link(cestas, smtp_server, "famille.blanc", "blanc@example.org")
    after = cestas.account(account.id)
    assert (after.password_hash, after.locked_at, after.must_change_password) == (before.password_hash, None, False)
    assert cestas.login("famille.blanc", GOOD).status_code == 303


def test_tokens_are_bound_to_their_tenant(portal_for, smtp_server):
    cestas = portal_for("cestas")
    cestas.create_account("famille.garnier", GOOD, email="garnier@example.org")
    token = token_of(reset_link(cestas, smtp_server, "famille.garnier", "garnier@example.org"))
    other = portal_for("alpes-maritimes")
    assert other.client.get(f"/reinitialisation/{token}").status_code == 400
    assert cestas.client.get(f"/reinitialisation/{token}").status_code == 200


def test_temporary_password_is_valid_single_use_expiring_and_forces_a_change(portal_for, smtp_server, frozen_clock):
    gers = portal_for("gers")
    account, temporary = gers.create_account("AGR-2026-0200", temporary=True)
    assert check_password(temporary, gers.tenant.config.password_policy) == []
    # The letter's password lives 30 days; a reset's the configured TTL.
    gers.post("/mot-de-passe-oublie", {"identifiant": "AGR-2026-0200", "email": "anne.martin@example.org"})
    mailed = re.search(r"Votre nouveau mot de passe est : (\S+)", smtp_server.wait_for(1)[0].get_body(("plain",)).get_content()).group(1)
    assert gers.login("AGR-2026-0200", temporary).status_code == 400  # the newer one replaced it
    ttl = gers.tenant.config.password_reset.effective_temporary_password_ttl
    frozen_clock.advance(seconds=ttl.total_seconds() + 1)
    expired = gers.login("AGR-2026-0200", mailed)
    assert expired.status_code == 400 and "mot de passe provisoire a expiré" in text_of(expired)


def test_links_come_from_the_tenant_url_never_from_host_headers(tmp_path, database_url, smtp_server):
    from starlette.testclient import TestClient

    from assmat.app import create_app
    from tests.support.portal import Portal

    settings = make_settings(tmp_path, database_url, mail_backend="smtp", smtp_host=smtp_server.host, smtp_port=smtp_server.port)
    app = create_app(settings)
    with TestClient(app, base_url="http://cestas.localhost", follow_redirects=False) as client:
        cestas = Portal(client, app, "cestas")
        cestas.create_account("famille.henry", GOOD, email="henry@example.org")
        token = cestas.csrf("/mot-de-passe-oublie")
        client.post(
            "/mot-de-passe-oublie",
            data={"csrf_token": token, "identifiant": "famille.henry", "email": "henry@example.org"},
            headers={"x-forwarded-host": "evil.example", "forwarded": "host=evil.example"},
        )
        body = smtp_server.wait_for(1)[0].get_body(("plain",)).get_content()
    expected = cestas.tenant.config.public_url
    assert f"{expected}/reinitialisation/" in body
    assert "evil.example" not in body and "localhost" not in body


def test_mail_goes_only_to_the_stored_address_even_when_an_array_is_sent(portal_for, smtp_server):
    gers = portal_for("gers")
    gers.create_account("AGR-2026-0201", GOOD, email="victime@example.org")
    token = gers.csrf("/mot-de-passe-oublie")
    response = gers.client.post("/mot-de-passe-oublie", data={
        "csrf_token": token, "identifiant": "AGR-2026-0201", "email": ["victime@example.org", "pirate@example.org"],
    })
    assert response.status_code == 400
    assert "chaque champ doit être envoyé une seule fois" in text_of(response)
    uppercase = gers.post("/mot-de-passe-oublie", {"identifiant": "AGR-2026-0201", "email": "VICTIME@EXAMPLE.ORG"})
    assert uppercase.status_code == 303
    (mail,) = smtp_server.wait_for(1)
    assert mail["To"] == "victime@example.org"
