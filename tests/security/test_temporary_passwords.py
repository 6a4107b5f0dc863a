"""A letter's or a reset's temporary password stays valid until a new password replaces it or it
expires; signing in with it opens a session restricted to the forced change; and under races one
temporary password never gives two sessions, nor two new passwords.

The rule (assmat.auth.login.authenticate and assmat.auth.credentials.change_forced_password):
- leaving the forced change, or having a first choice refused, does not spend the temporary
  password: the letter works again (the Gers locked people out for good after three tries);
- a sign-in with it ends every other session of the account and re-checks the token with a
  conditional UPDATE … RETURNING that row-locks it: parallel sign-ins leave exactly one session;
- the forced change spends it with a conditional UPDATE … RETURNING in the transaction of the new
  password: of two parallel changes exactly one sets a password, the other is refused."""

from __future__ import annotations

import asyncio
import re
from datetime import timedelta
from urllib.parse import parse_qs, urlsplit

import pytest
from sqlalchemy import func, select
from starlette.routing import Route

from assmat.auth.errors import TokenInvalid
from assmat.auth import credentials, login
from assmat.auth.context import AuthContext, auth_context
from assmat.auth.sessions import open_session
from assmat.auth.models import PasswordHistory, UserSession
from tests.support.portal import text_of
from tests.security.test_isolation import FEATURE_PAGES

# Under races one temporary password gives one session: a conditional UPDATE … RETURNING.
pytestmark = pytest.mark.both_backends

GOOD = "Lune#Soleil42"
FORCED = "/changement-mot-de-passe"


def sessions_of(portal, account_id: int) -> int:
    return portal.query(select(func.count()).select_from(UserSession).where(UserSession.account_id == account_id))[0][0]


def test_the_letter_still_works_after_leaving_the_forced_change_and_never_locks(portal_for):
    gers = portal_for("gers")  # 3 failures lock for good
    account, temporary = gers.create_account("AGR-2026-0900", temporary=True)
    for _ in range(gers.tenant.config.lockout.max_failures + 2):
        gers.client.cookies.clear()  # the browser closed on the forced change
        response = gers.login("AGR-2026-0900", temporary)
        assert response.status_code == 303 and response.headers["location"] == FORCED
        refused = gers.post(FORCED, {"mot_de_passe": "abc", "confirmation": "abc"})
        assert refused.status_code == 400  # a first choice refused spends nothing either
    assert gers.account(account.id).locked_at is None
    assert sessions_of(gers, account.id) == 1  # each sign-in ended the previous restricted session

    changed = gers.post(FORCED, {"mot_de_passe": GOOD, "confirmation": GOOD})
    assert changed.status_code == 303 and changed.headers["location"] != FORCED
    gers.client.cookies.clear()
    assert gers.login("AGR-2026-0900", temporary).status_code == 400  # replaced: spent now
    assert gers.login("AGR-2026-0900", GOOD).status_code == 303


def signed_in_routes(app) -> list[tuple[str, set[str]]]:
    """Every page that needs a session: the space, « Mon compte » and the terms."""
    routes = [r for r in app.routes if isinstance(r, Route) and (r.path.startswith("/espace") or r.path == "/conditions")]
    assert len(routes) >= 15
    return [(re.sub(r"\{[^}]+\}", "1", r.path), set(r.methods or ())) for r in routes]


def test_the_forced_change_session_reaches_no_other_page(app, portal_for):
    """Every signed-in route, on the Alpes-Maritimes, the Gers, Eure-et-Loir (the structures'
    pages) and mon-enfant (a family's pages): between them, every feature of the space. A session
    that must first change its temporary password goes back there. The page of a feature a tenant
    does not offer does not exist there (404) and is checked on another."""
    from tests.flows.test_eure_et_loir import login as login_with_captcha

    checked: set[str] = set()
    for slug, identifier in (("alpes-maritimes", "06-AM-0901"), ("gers", "AGR-2026-0901"), ("eure-et-loir", "280901"),
                             ("mon-enfant", "anne.forcee@example.org")):
        portal = portal_for(slug)
        _account, temporary = portal.create_account(identifier, temporary=True, email=f"forced-{slug}@example.org")
        signed = login_with_captcha(portal, identifier, temporary) if portal.tenant.config.login.captcha \
            else portal.login(identifier, temporary)
        assert signed.headers["location"] == FORCED
        token = portal.csrf(FORCED)
        for path, methods in signed_in_routes(app):
            feature = next((name for prefix, name in FEATURE_PAGES if path.startswith(prefix)), None)
            if feature is not None and not portal.tenant.config.offers(feature):
                assert "GET" not in methods or portal.client.get(path).status_code == 404, (slug, path)
                continue
            checked.add(path)
            if "GET" in methods:
                response = portal.client.get(path)
                assert response.status_code == 303 and response.headers["location"] == FORCED, (slug, path, response.status_code)
            if "POST" in methods:
                response = portal.client.post(path, data={"csrf_token": token, "message": "x", "mot_de_passe_actuel": temporary})
                assert response.status_code == 303 and response.headers["location"] == FORCED, (slug, path, response.status_code)
        assert portal.client.get("/connexion").headers["location"] == "/espace"  # and /espace sends back here
        assert portal.client.get(FORCED).status_code == 200
    assert checked == {path for path, _methods in signed_in_routes(app)}


def race(portal, *calls):
    """Run the coroutine functions at once on the app's loop; each gets its own database session.
    A barrier inside the password check makes every sign-in read the token before any commits."""

    async def all_at_once():
        return await asyncio.gather(*(call() for call in calls), return_exceptions=True)

    return portal.run(all_at_once)


def context(portal, db) -> AuthContext:
    return auth_context(db, portal.tenant, portal.app.state.hasher, portal.app.state.settings)


def test_two_parallel_sign_ins_with_one_temporary_password_leave_one_session(portal_for, monkeypatch):
    gers = portal_for("gers")
    account, temporary = gers.create_account("AGR-2026-0902", temporary=True)
    hasher = gers.app.state.hasher
    original = hasher.dummy_verify
    barrier: list[asyncio.Barrier] = []

    async def both_verify_first(password: str) -> None:
        if not barrier:
            barrier.append(asyncio.Barrier(2))
        await original(password)
        await barrier[0].wait()

    monkeypatch.setattr(hasher, "dummy_verify", both_verify_first)  # a letter account has no password yet

    async def sign_in():
        async with gers.app.state.sessionmaker() as db:
            outcome = await login.authenticate(context(gers, db), "AGR-2026-0902", temporary, None)
            await open_session(db, outcome.account, timedelta(hours=1), None, None)
            await db.commit()
            return outcome.used_temporary_password

    results = race(gers, sign_in, sign_in)
    assert all(r is True or isinstance(r, Exception) for r in results), results
    assert sessions_of(gers, account.id) == 1
    assert gers.account(account.id).must_change_password is True


def test_two_parallel_forced_changes_set_exactly_one_password(portal_for):
    gers = portal_for("gers")
    account, temporary = gers.create_account("AGR-2026-0903", temporary=True)
    assert gers.login("AGR-2026-0903", temporary).headers["location"] == FORCED
    restricted = gers.account(account.id)

    def change(password: str):
        async def call():
            async with gers.app.state.sessionmaker() as db:
                await credentials.change_forced_password(context(gers, db), restricted, password, password, None, "first_login")
                await db.commit()
                return password
        return call

    results = race(gers, change(GOOD), change("Etoile&Mer58"))
    winners = [r for r in results if isinstance(r, str)]
    assert len(winners) == 1, results
    assert [type(r) for r in results if not isinstance(r, str)] == [TokenInvalid]
    gers.client.cookies.clear()
    assert gers.login("AGR-2026-0903", winners[0]).status_code == 303
    gers.client.cookies.clear()
    loser = "Etoile&Mer58" if winners[0] == GOOD else GOOD
    assert gers.login("AGR-2026-0903", loser).status_code == 400


def test_an_expired_temporary_password_ends_the_restricted_session(portal_for, frozen_clock):
    am = portal_for("alpes-maritimes")
    account, temporary = am.create_account("06-AM-0904", temporary=True)
    assert am.login("06-AM-0904", temporary).headers["location"] == FORCED
    frozen_clock.advance(days=31)  # the letter's 30 days are over; the session's idle timeout is not checked here
    sessions = am.query(select(UserSession.id).where(UserSession.account_id == account.id))
    assert len(sessions) == 1
    am.run(_touch_sessions(am, account.id))
    refused = am.post(FORCED, {"mot_de_passe": GOOD, "confirmation": GOOD})
    assert refused.status_code == 303
    location = urlsplit(refused.headers["location"])
    assert location.path == "/connexion" and parse_qs(location.query)["info"] == ["temporary_password_spent"]
    assert "n'est plus valable" in text_of(am.client.get(refused.headers["location"]))
    assert sessions_of(am, account.id) == 0
    assert am.account(account.id).must_change_password is False
    assert am.login("06-AM-0904", temporary).status_code == 400


def _touch_sessions(portal, account_id: int):
    """Keep the restricted session inside its idle and absolute timeouts after the clock jump."""
    from sqlalchemy import update

    from assmat.core import clock

    async def touch():
        async with portal.app.state.sessionmaker() as db:
            await db.execute(update(UserSession).where(UserSession.account_id == account_id)
                             .values(last_seen_at=clock.now(), expires_at=clock.now() + timedelta(hours=1)))
            await db.commit()

    return touch


def test_a_double_submitted_forced_change_sets_one_password(portal_for, monkeypatch):
    """The same forced change posted twice at once (a double click, two tabs): before, both set a
    password; now the temporary password is spent once, so exactly one request sets one."""
    from concurrent.futures import ThreadPoolExecutor

    gers = portal_for("gers")
    account, temporary = gers.create_account("AGR-2026-0905", temporary=True)
    assert gers.login("AGR-2026-0905", temporary).headers["location"] == FORCED
    token = gers.csrf(FORCED)
    hasher = gers.app.state.hasher
    original = hasher.hash
    barrier: list[asyncio.Barrier] = []

    async def hash_together(password: str) -> str:
        # Both requests hash their new password at the same time where nothing stops them; where
        # the first holds the token, the second waits on it and the barrier gives up.
        if not barrier:
            barrier.append(asyncio.Barrier(2))
        try:
            await asyncio.wait_for(barrier[0].wait(), 2)
        except (TimeoutError, asyncio.BrokenBarrierError):
            pass
        return await original(password)

    monkeypatch.setattr(hasher, "hash", hash_together)
    def post(password: str):
        return gers.client.post(FORCED, data={"csrf_token": token, "mot_de_passe": password, "confirmation": password})

    with ThreadPoolExecutor(2) as pool:
        responses = list(pool.map(post, [GOOD, "Etoile&Mer58"]))
    changed = [r for r in responses if r.status_code == 303 and not r.headers["location"].startswith("/connexion")]
    assert len(changed) == 1, [(r.status_code, r.headers.get("location")) for r in responses]
    history = gers.query(select(func.count()).select_from(PasswordHistory).where(PasswordHistory.account_id == account.id))
    assert history[0][0] == 1
