"""What an anonymous client can make the captcha write, and how often it may try: made-up ids
write nothing, page views create a bounded number of challenges per client, and the forms that
carry a captcha are throttled per client address with a French 429 page. Rows are counted."""

from __future__ import annotations

import re

import pytest
from sqlalchemy import func, select

from assmat.core.security.ratelimit import CAPTCHA_FORM, CAPTCHA_ISSUE, CAPTCHA_RENDER
from assmat.auth.models import CaptchaChallenge
from assmat.core.security.models import RateLimitHit
from tests.support.db import db_session
from tests.support.portal import CSRF, text_of

# Rate-limit windows are a conditional UPDATE … RETURNING and an INSERT that may meet an
# IntegrityError under races.
pytestmark = pytest.mark.both_backends

CAPTCHA_ID = re.compile(r'name="captcha_id" value="([^"]+)"')
TOO_MANY = "Trop de demandes sont venues de votre connexion en peu de temps."


def rows(database_url: str) -> tuple[int, int]:
    """(captcha challenges, rate-limit rows)."""
    with db_session(database_url) as session:
        return (
            session.scalar(select(func.count()).select_from(CaptchaChallenge)),
            session.scalar(select(func.count()).select_from(RateLimitHit)),
        )


def test_made_up_captcha_ids_are_404_and_write_nothing(client_for, database_url):
    client = client_for("eure-et-loir")
    before = rows(database_url)
    paths = [f"/captcha/{name}.{suffix}" for suffix in ("png", "wav") for name in (
        "x" * 32, "y" * 32, "anything", "a" * 64, "%2e%2e", "é" * 32, "12345678901234567890",
    )]
    paths += [f"/captcha/{i:032d}.png" for i in range(30)]  # a bot walking through ids
    for path in paths:
        response = client.get(path)
        assert response.status_code == 404, path
    assert rows(database_url) == before


def test_renders_of_a_real_challenge_are_counted_once_it_is_known_to_exist(client_for, database_url, frozen_clock):
    client = client_for("eure-et-loir")
    challenge_id = CAPTCHA_ID.search(client.get("/connexion").text).group(1)
    statuses = [client.get(f"/captcha/{challenge_id}.png").status_code for _ in range(CAPTCHA_RENDER.limit + 1)]
    assert statuses == [200] * CAPTCHA_RENDER.limit + [429]
    # One challenge; one row for the page views of this client, one for this challenge's renders.
    assert rows(database_url) == (1, 2)


@pytest.mark.parametrize("slug, path", [("eure-et-loir", "/connexion"), ("mon-enfant", "/mot-de-passe-oublie")])
def test_page_views_create_a_bounded_number_of_challenges_per_client(client_for, database_url, slug, path, frozen_clock):
    client = client_for(slug)
    statuses = [client.get(path).status_code for _ in range(CAPTCHA_ISSUE.limit + 5)]
    assert statuses == [200] * CAPTCHA_ISSUE.limit + [429] * 5
    refused = client.get(path)
    assert refused.status_code == 429
    assert TOO_MANY in text_of(refused)
    assert "Trop de demandes" in refused.text.split("<h1")[1]
    # The refused views wrote nothing: one challenge per accepted view, one rate-limit row.
    assert rows(database_url) == (CAPTCHA_ISSUE.limit, 1)


def _submit(client, path: str, fields: dict[str, str]):
    page = client.get(path)
    assert page.status_code == 200, page.status_code
    data = {**fields, "csrf_token": CSRF.search(page.text).group(1), "captcha_id": CAPTCHA_ID.search(page.text).group(1),
            "captcha": "ZZZZZ"}
    return client.post(path, data=data)


@pytest.mark.parametrize("slug, path, fields", [
    ("eure-et-loir", "/connexion", {"identifiant": "280417", "mot_de_passe": "Cathedrale#Beauce28"}),
    ("eure-et-loir", "/mot-de-passe-oublie", {"email": "claire.petit@example.fr"}),
    ("mon-enfant", "/mot-de-passe-oublie", {"email": "claire.petit@example.fr"}),
])
def test_forms_with_a_captcha_are_throttled_per_client_with_a_french_429(
    client_for, database_url, slug, path, fields, frozen_clock
):  # a frozen clock: a fixed window must not roll over between the tries and the refusal
    client = client_for(slug)
    statuses = [_submit(client, path, fields).status_code for _ in range(CAPTCHA_FORM.limit)]
    assert statuses == [400] * CAPTCHA_FORM.limit  # wrong codes, answered as such
    refused = _submit(client, path, fields)
    assert refused.status_code == 429
    assert TOO_MANY in text_of(refused)
    challenges, _ = rows(database_url)
    with db_session(database_url) as session:
        unused = session.scalar(select(func.count()).select_from(CaptchaChallenge).where(CaptchaChallenge.used_at.is_(None)))
    # Each try: a challenge for the form, used by the wrong answer, and one for the page that
    # answered 400. The refused submission did not even look at its captcha: it stays unused.
    assert challenges == CAPTCHA_FORM.limit * 2 + 1 and unused == CAPTCHA_FORM.limit + 1
