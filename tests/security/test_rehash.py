"""argon2 parameters live in settings; a login upgrades a hash made with older parameters."""

from __future__ import annotations

import pytest
from starlette.testclient import TestClient

from assmat.app import create_app
from tests.conftest import make_settings
from tests.support.portal import Portal

# The rehash at login is an UPDATE … RETURNING of the account.
pytestmark = pytest.mark.both_backends


def test_login_rehashes_when_the_parameters_changed(tmp_path, database_url):
    old = create_app(make_settings(tmp_path, database_url))
    with TestClient(old, base_url="http://cestas.localhost", follow_redirects=False) as client:
        account, _ = Portal(client, old, "cestas").create_account("famille.rehash", "Lune2Soleil")
        before = Portal(client, old, "cestas").account(account.id).password_hash
    assert "m=1024,t=1,p=1" in before

    new = create_app(make_settings(tmp_path, database_url, argon2_time_cost=2, argon2_memory_cost=2048))
    with TestClient(new, base_url="http://cestas.localhost", follow_redirects=False) as client:
        portal = Portal(client, new, "cestas")
        assert portal.login("famille.rehash", "Lune2Soleil").status_code == 303
        after = portal.account(account.id).password_hash
        assert "m=2048,t=2,p=1" in after
        client.cookies.clear()
        assert portal.login("famille.rehash", "Lune2Soleil").status_code == 303
