"""Sessions, cookies, CSRF, redirects and headers (security.md)."""

from __future__ import annotations

import re

import pytest
from sqlalchemy import func, select
from starlette.testclient import TestClient

from assmat.core.mail.models import OutboxMail
from assmat.core.security.models import AccountToken
from assmat.app import create_app
from tests.conftest import make_settings
from tests.support.portal import Portal, text_of

GOOD = "Lune2Soleil"


@pytest.mark.both_backends  # revocation: a DELETE of the session row
def test_a_new_session_id_at_login_and_a_dead_cookie_after_logout(portal_for):
    portal = portal_for("cestas")
    portal.create_account("famille.robin", GOOD)
    portal.client.cookies.set("session", "fixed-by-an-attacker-0123456789abcdef", domain="cestas.localhost")
    response = portal.login("famille.robin", GOOD)
    issued = re.search(r"session=([^;]+)", ";".join(response.headers.get_list("set-cookie"))).group(1)
    assert issued != "fixed-by-an-attacker-0123456789abcdef" and len(issued) >= 43
    assert portal.client.get("/espace").status_code == 200
    portal.post("/deconnexion", {}, form_path="/espace")
    portal.client.cookies.set("session", issued, domain="cestas.localhost")  # a copied cookie
    assert portal.client.get("/espace").status_code == 303


@pytest.mark.both_backends  # sliding expiry: conditional UPDATEs over UTC timestamps
def test_idle_and_absolute_timeouts_are_enforced_on_the_server(portal_for, frozen_clock):
    portal = portal_for("mon-enfant")
    portal.create_account("anne@example.org", "Lune2Soleil")
    session = portal.tenant.config.session
    portal.login("anne@example.org", "Lune2Soleil")
    steps = int(session.absolute_timeout / (session.idle_timeout / 2))
    for _ in range(steps - 1):
        frozen_clock.advance(seconds=(session.idle_timeout / 2).total_seconds())
        assert portal.client.get("/espace").status_code == 200
    frozen_clock.advance(seconds=(session.idle_timeout / 2).total_seconds() + 1)
    expired = portal.client.get("/espace")
    assert expired.status_code == 303 and "session_expired" in expired.headers["location"]


@pytest.mark.parametrize("junk", ["=", ";;", "orphan", 'quoted="unterminated', "a=b=c", "path=/", "$Version=1"])
def test_a_malformed_cookie_header_is_read_as_browsers_send_it(portal_for, junk):
    """Junk around the cookies (a browser extension's, a proxy's) hides none of them and is no 500:
    the session, the CSRF cookie and the language are still read, whatever comes before them."""
    portal = portal_for("cestas")
    portal.create_account("famille.duval", GOOD)
    portal.login("famille.duval", GOOD)
    jar = {cookie.name: cookie.value for cookie in portal.client.cookies.jar}
    portal.client.cookies.clear()
    header = f"{junk}; session={jar['session']}; {junk}; csrf={jar['csrf']}; lang=en; {junk}"
    page = portal.client.get("/espace", headers={"cookie": header})
    assert page.status_code == 200 and '<html lang="en">' in page.text
    token = re.search(r'name="csrf_token" value="([^"]+)"', page.text).group(1)
    logout = portal.client.post("/deconnexion", data={"csrf_token": token}, headers={"cookie": header})
    assert logout.status_code == 303 and "logged_out" in logout.headers["location"]
    assert portal.client.get("/espace", headers={"cookie": header}).status_code == 303  # the session is gone


def test_session_cookie_is_host_only_httponly_and_samesite(portal_for):
    portal = portal_for("cestas")
    portal.create_account("famille.lucas", GOOD)
    response = portal.login("famille.lucas", GOOD)
    (cookie,) = [c for c in response.headers.get_list("set-cookie") if c.startswith("session=")]
    assert "HttpOnly" in cookie and "SameSite=lax" in cookie and "Domain" not in cookie and "Secure" not in cookie


def test_cookies_are_secure_in_production_with_hsts(tmp_path, database_url):
    settings = make_settings(tmp_path, database_url, env="production")
    app = create_app(settings)
    with TestClient(app, base_url="https://cestas.localhost", follow_redirects=False) as client:
        portal = Portal(client, app, "cestas")
        portal.create_account("famille.prod", GOOD)
        first = client.get("/connexion")
        assert "Secure" in first.headers["set-cookie"]
        assert first.headers["strict-transport-security"].startswith("max-age=")
        cookies = portal.login("famille.prod", GOOD).headers.get_list("set-cookie")
        assert [c for c in cookies if c.startswith("session=")] and all("Secure" in c for c in cookies)


EXPIRED_FORM = "Le formulaire a expiré ou ne provient pas de ce site"
BAD_TOKENS = {"missing": None, "wrong": "0" * 64}


@pytest.mark.parametrize(
    "path",
    ["/connexion", "/deconnexion", "/mot-de-passe-oublie", "/contact", "/activation", "/changement-mot-de-passe",
     "/conditions", "/espace/compte/mot-de-passe", "/espace/compte/email"],
)
def test_every_post_needs_the_csrf_token(portal_for, path):
    portal = portal_for("alpes-maritimes")
    portal.csrf("/connexion")  # the browser has its CSRF cookie
    response = portal.client.post(path, data={"identifiant": "x", "mot_de_passe": "y", "nom": "n", "email": "e@x.fr", "message": "m"})
    assert response.status_code in (403, 303)
    if response.status_code == 303:  # pages that need a session send anonymous users to sign in first
        assert response.headers["location"].startswith("/connexion")
        assert path in SIGNED_IN_FORMS  # each of them is tried signed in below
    else:
        assert EXPIRED_FORM in text_of(response)


# The forms only a signed-in account reaches, with what its account must be for the form to show.
SIGNED_IN_FORMS = {
    "/changement-mot-de-passe": {"must_change_password": True},
    "/conditions": {"accepted_terms": False},
    "/espace/compte/mot-de-passe": {},
    "/espace/compte/email": {},
}


@pytest.mark.parametrize("variant", list(BAD_TOKENS))
@pytest.mark.parametrize("path", list(SIGNED_IN_FORMS))
def test_every_signed_in_post_needs_the_csrf_token(portal_for, path, variant):
    """Signed in and shown the form, the account's POST without its token is refused, and
    nothing changes: same account, still signed in, the form still there."""
    portal = portal_for("gers")
    account, _ = portal.create_account("AGR-2026-0990", "Lune#Soleil42", email="anne@example.org", **SIGNED_IN_FORMS[path])
    assert portal.login("AGR-2026-0990", "Lune#Soleil42").status_code == 303
    form = portal.client.get(path)
    assert form.status_code == 200 and 'name="csrf_token"' in form.text  # the form is really reached
    before = portal.account(account.id)
    written = portal.query(select(func.count()).select_from(AccountToken)) + portal.query(select(func.count()).select_from(OutboxMail))

    data = {"mot_de_passe_actuel": "Lune#Soleil42", "mot_de_passe": "Etoile#Neuve2026", "confirmation": "Etoile#Neuve2026",
            "email": "nouvelle@example.org", "accepter": "1"}
    if BAD_TOKENS[variant] is not None:
        data["csrf_token"] = BAD_TOKENS[variant]
    response = portal.client.post(path, data=data)
    assert response.status_code == 403 and EXPIRED_FORM in text_of(response)

    after = portal.account(account.id)
    assert (after.password_hash, after.email, after.terms_version, after.must_change_password) == (
        before.password_hash, before.email, before.terms_version, before.must_change_password)
    # No confirmation link and no mail either (the email form changes the address only once confirmed).
    assert portal.query(select(func.count()).select_from(AccountToken)) + portal.query(select(func.count()).select_from(OutboxMail)) == written
    assert portal.client.get(path).status_code == 200  # still signed in, still at this form


def test_a_csrf_token_from_another_tenant_is_refused(portal_for):
    cestas = portal_for("cestas")
    gers = portal_for("gers")
    cestas_token = cestas.csrf()
    gers.csrf()
    gers.client.cookies.set("csrf", cestas.client.cookies.get("csrf"), domain="gers.localhost")
    response = gers.client.post("/connexion", data={"csrf_token": cestas_token, "identifiant": "a", "mot_de_passe": "b"})
    assert response.status_code == 403


@pytest.mark.parametrize("target", ["//evil.example", "/\\evil.example", "/%09/evil.example", "https://evil.example", "javascript:alert(1)"])
def test_next_only_redirects_to_local_paths(portal_for, target):
    portal = portal_for("cestas")
    portal.create_account("famille.next", GOOD)
    response = portal.login("famille.next", GOOD, next=target)
    assert response.headers["location"] == "/espace"


def test_next_keeps_a_local_path(portal_for):
    portal = portal_for("cestas")
    portal.create_account("famille.local", GOOD)
    assert portal.login("famille.local", GOOD, next="/espace/compte").headers["location"] == "/espace/compte"


def test_token_pages_send_no_referrer(portal_for):
    response = portal_for("cestas").client.get("/reinitialisation/unknown-token")
    assert response.headers["referrer-policy"] == "no-referrer"
    assert response.headers["cache-control"] == "no-store"
