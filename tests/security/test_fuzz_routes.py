"""Every route of the router, portal and console, GET and POST, anonymous and signed in, with
hostile values: never a 5xx (security.md: "no 500 for any malformed id, field name or byte").

The routes come from the running app's router (the portal's routes, the console's SQLAdmin
routes with every registered view's identity), so a new route is walked without touching this
file. Each path parameter, query parameter and form field gets each hostile value: integers past
the database's range, negative, `abc`, `1.5`, NUL bytes, non-ASCII, very long strings; forms also
get non-ASCII or NUL field names and array-valued fields. POSTs carry a valid CSRF token so they
reach the handlers. Both backends (PostgreSQL refuses NUL bytes and overflowing integers)."""

from __future__ import annotations

import re
from collections.abc import Iterator
from urllib.parse import quote

import pytest
from sqlalchemy import select
from starlette.requests import Request
from starlette.routing import Mount, Route

from assmat.auth.models import Account
from assmat.web.csrf import csrf_token

from tests.admin.conftest import ADMIN_PASSWORD, Console, create_admin
from tests.admin.test_isolation_matrix import console_of
from tests.support.portal import Portal

# Hostile values reach the database: PostgreSQL enforces types and lengths, SQLite does not.
pytestmark = pytest.mark.both_backends

TENANT = "alpes-maritimes"  # children, messages and agrément: every portal page exists there
GOOD = "Lune#Soleil42"

HOSTILE = [
    "99999999999999999999",  # past every integer column
    "2147483648",  # one past PostgreSQL's integer
    "-1",
    "0",
    "abc",
    "1.5",
    "a\x00b",  # PostgreSQL refuses NUL in text
    "\x00",
    "périodé²",
    "x" * 5000,
]
# Every field name a form of the portal or the console reads, to reach each handler's rules.
FIELDS = [
    "identifiant", "mot_de_passe", "confirmation", "mot_de_passe_actuel", "email", "nom", "prenom", "message",
    "date_naissance", "captcha", "captcha_id", "nouveau_captcha", "next", "accepter", "accuse_reception",
    "enfant-nom", "enfant-prenom", "enfant-naissance", "adresse", "code-postal", "commune", "periode-0-type",
    "periode-0-debut", "periode-0-fin", "periode-0-heures", "rl1-courriel", "rl1-telephone",
    "expediteur", "destinataire", "objet", "corps", "username", "password", "pks", "confirm", "dry_run", "token",
]
QUERY = ["q", "page", "tri", "ordre", "next", "info", "search", "pks", "sortBy", "sort", "pageSize", "type", "statut"]
ODD_FORMS = [
    {"periode-²-type": "standard", "periode-²-debut": "01/01/2026"},
    {"périodé": "x", "nom\x00": "x", "\x00": "x"},
    {"periode-99999999999999999999-type": "standard"},
    {"identifiant": ["a", "b"], "pks": ["1", "2"]},
]
PARAM = re.compile(r"{([a-z_]+)(?::[a-z]+)?}")


def walk(routes, prefix: str = "") -> Iterator[tuple[str, set[str]]]:
    """(path template, methods) of every endpoint under these routes."""
    for route in routes:
        if isinstance(route, Mount):
            if route.path == "/static" or route.path.endswith("/statics"):
                yield route.path + "/{path}", {"GET"}
            elif hasattr(route.app, "routes"):
                yield from walk(route.app.routes, prefix + route.path)
        elif isinstance(route, Route):
            yield prefix + route.path, set(route.methods or {"GET"}) - {"HEAD"}


def fill(template: str, value: str, identities: list[str]) -> list[str]:
    """The template with each parameter set to `value`; {identity} takes each view's identity."""
    paths = [template]
    if "{identity}" in template:
        paths = [template.replace("{identity}", identity) for identity in identities]
    return [PARAM.sub(lambda _m: quote(value, safe=""), path) for path in paths]


def ordered(endpoints: list[tuple[str, set[str]]]) -> list[tuple[str, set[str]]]:
    # Signing out ends the signed-in walk: those routes come last.
    return sorted(endpoints, key=lambda e: ("deconnexion" in e[0] or "logout" in e[0], e[0]))


def hit_everything(client, endpoints, identities, token: str, session=None) -> list[str]:
    """The 5xx answers, all of them (a server exception is an answer here, not a stop).
    `session`, for a signed-in walk: (is_signed_in, sign_in), so every route is tried signed in."""
    client._transport.raise_server_exceptions = False
    failures: list[str] = []

    def check(method: str, path: str, response) -> None:
        if response.status_code >= 500:
            failures.append(f"{method} {path[:120]!r} → {response.status_code}")

    for template, methods in ordered(endpoints):
        has_params = PARAM.search(template) is not None
        for value in HOSTILE if has_params or "GET" in methods else HOSTILE[:1]:
            for path in fill(template, value, identities):
                if "GET" in methods:
                    check("GET", path, client.get(path, params={name: value for name in QUERY}))
                if "POST" in methods:
                    check("POST", path, client.post(path, data={"csrf_token": token, **{name: value for name in FIELDS}}))
        if "POST" in methods:
            for path in fill(template, "1", identities):
                for form in ODD_FORMS:
                    check("POST", path, client.post(path, data={"csrf_token": token, **form}))
        if session is not None and not session[0]():
            session[1]()
    return failures


def csrf_of(client, app, slug: str | None) -> str:
    """The token every form of this browser carries (signed-in pages have no login form to read)."""
    client.get("/healthz")  # the CSRF cookie
    scope = {"type": "http", "app": app, "tenant": app.state.registry.get(slug) if slug else None,
             "csrf_cookie": client.cookies["csrf"]}
    return csrf_token(Request(scope))


def portal_endpoints(app) -> list[tuple[str, set[str]]]:
    return [e for e in walk(app.router.routes) if not e[0].startswith("/admin")]


def console_endpoints(app) -> list[tuple[str, set[str]]]:
    return [e for e in walk(app.router.routes) if e[0].startswith("/admin")]


def identities(app) -> list[str]:
    return [view.identity for view in console_of(app).views] + ["inconnue"]


def test_the_walk_covers_the_portal_and_the_console(app):
    portal = {path for path, _ in portal_endpoints(app)}
    console = {path for path, _ in console_endpoints(app)}
    assert {"/espace/messages/{message_id:id}", "/espace/enfants/{child_id:id}/modifier", "/contact"} <= portal
    assert {"/admin/{identity}/details/{pk:path}", "/admin/message/ecrire", "/admin/login"} <= console
    assert len(identities(app)) > 10


@pytest.fixture
def signed_in_portal(portal_for) -> Portal:
    portal = portal_for(TENANT)
    portal.create_account("AGR-FUZZ", GOOD, email="fuzz@example.org")
    assert portal.login("AGR-FUZZ", GOOD).headers["location"] == "/espace"
    return portal


def portal_session(portal: Portal):
    def sign_in_again() -> None:
        # Wrong current passwords on « Mon compte » lock the account, as they should: unlock it.
        (account_id,) = portal.query(select(Account.id).where(Account.identifier == "AGR-FUZZ"))[0]
        portal.update_account(account_id, failed_logins=0, locked_at=None)
        assert portal.login("AGR-FUZZ", GOOD).headers["location"] == "/espace"

    return lambda: portal.client.get("/espace").status_code == 200, sign_in_again


def test_no_portal_route_answers_5xx_to_hostile_input(app, portal_for, signed_in_portal):
    anonymous = portal_for(TENANT)
    for portal, session in ((anonymous, None), (signed_in_portal, portal_session(signed_in_portal))):
        failures = hit_everything(portal.client, portal_endpoints(app), identities(app), csrf_of(portal.client, app, TENANT),
                                  session)
        assert failures == [], "\n".join(failures)


def test_no_console_route_answers_5xx_to_hostile_input(app, client_for):
    staff = Console(client_for(TENANT), app)
    create_admin(app, staff.client, TENANT, "staff.fuzz@example.org", ADMIN_PASSWORD)
    assert staff.login("staff.fuzz@example.org", ADMIN_PASSWORD).status_code == 302
    platform = Console(client_for("localhost"), app)
    create_admin(app, platform.client, None, "super.fuzz@example.org", ADMIN_PASSWORD, role="super")
    assert platform.login("super.fuzz@example.org", ADMIN_PASSWORD).status_code == 302
    anonymous = Console(client_for(TENANT), app)
    for console, slug in ((anonymous, TENANT), (staff, TENANT), (platform, None)):
        failures = hit_everything(console.client, console_endpoints(app), identities(app), csrf_of(console.client, app, slug))
        assert failures == [], "\n".join(failures)
