"""The captcha: single use, expiring, bound to its tenant, drawn and read out in French, and a
form field that works without JavaScript. Every database test runs on SQLite and PostgreSQL."""

from __future__ import annotations

import asyncio
import io
import os
import re
import wave
from collections.abc import Awaitable, Callable, Iterator
from datetime import UTC, datetime, timedelta
from html.parser import HTMLParser
from pathlib import Path
from typing import Any, TypeVar

import pytest
from sqlalchemy import select
from sqlalchemy.ext.asyncio import async_sessionmaker

from assmat.core import clock
from assmat.auth import captcha
from assmat.core.db.engine import make_engine, make_sessionmaker
from assmat.auth.models import CaptchaChallenge
from assmat.core.i18n import current_locale
from assmat.tenants.loader import load_valid_tenants
from assmat.tenants.registry import TenantRegistry
from assmat.tenants.rows import sync_tenant_rows
from assmat.web.templating import templates
from tests.conftest import IN_CI, REPO, TENANT_CONFIGS
from tests.support.db import db_session

# A challenge is spent by a conditional UPDATE … RETURNING, exactly once under parallel checks.
pytestmark = pytest.mark.both_backends

SECRET = "test-secret-key-not-for-production"  # the key of tests.conftest.make_settings
T = TypeVar("T")


def with_db(database_url: str, work: Callable[[async_sessionmaker], Awaitable[T]]) -> T:
    """Run `work` on its own engine, with every configured tenant's row in place."""

    async def main() -> T:
        engine = make_engine(database_url)
        try:
            sessionmaker = make_sessionmaker(engine)
            registry = TenantRegistry(load_valid_tenants(TENANT_CONFIGS), "localhost")
            await sync_tenant_rows(sessionmaker, registry)
            return await work(sessionmaker)
        finally:
            await engine.dispose()

    return asyncio.run(main())


async def issue(sessionmaker: async_sessionmaker, tenant: str = "gers", length: int = 5) -> str:
    async with sessionmaker() as session:
        return await captcha.new_challenge(session, tenant, SECRET, length=length)


async def check(sessionmaker: async_sessionmaker, challenge_id: object, answer: object, tenant: str = "gers") -> bool:
    async with sessionmaker() as session:
        return await captcha.check_challenge(session, tenant, SECRET, challenge_id, answer)


def answer_of(challenge_id: str, tenant: str = "gers", length: int = 5) -> str:
    return captcha.derive_answer(SECRET, tenant, challenge_id, length)


@pytest.fixture
def frozen_clock() -> Iterator[list[datetime]]:
    """clock.now() returns frozen_clock[0]; move time by assigning it."""
    current = [datetime(2025, 3, 3, 9, 0, tzinfo=UTC)]
    clock.set_clock(lambda: current[0])
    try:
        yield current
    finally:
        clock.set_clock(None)


# --- The answer ------------------------------------------------------------------------------


def test_answers_use_the_unambiguous_alphabet_and_the_id_carries_none_of_it():
    ids = [f"{i:032d}" for i in range(200)]
    answers = [answer_of(i) for i in ids]
    assert all(len(a) == 5 and set(a) <= set(captcha.ALPHABET) for a in answers)
    assert len(set(answers)) > 190  # spread, not a constant
    assert set("".join(answers)) == set(captcha.ALPHABET)  # every symbol is used
    assert not set("014ILSZBGDQVEFMNKPTC") & set(captcha.ALPHABET)
    # The answer depends on the secret key and the tenant, not on the id alone.
    assert captcha.derive_answer("another key", "gers", ids[0], 5) != answers[0]
    assert captcha.derive_answer(SECRET, "cestas", ids[0], 5) != answers[0]


def test_normalise_ignores_case_spaces_and_full_width_forms():
    assert captcha.normalise(" ah 7w\ty\n") == "AH7WY"
    assert captcha.normalise("ａｈ７ｗｙ") == "AH7WY"


def test_a_zero_typed_for_an_o_and_a_one_typed_for_a_seven_count():
    """Neither 0 nor 1 is ever in a code; the image's O and 7 are what a reader takes for them."""
    assert not {"0", "1"} & set(captcha.ALPHABET) and {"O", "7"} <= set(captcha.ALPHABET)
    assert captcha.normalise("1o0 7O") == "7OO7O"


def test_lengths_outside_the_supported_range_are_refused(database_url):
    async def work(sessionmaker):
        for length in (3, 9):
            with pytest.raises(ValueError):
                await issue(sessionmaker, length=length)

    with_db(database_url, work)


# --- Checking --------------------------------------------------------------------------------


@pytest.mark.parametrize("typed", ["exact", "lower", "spaced"])
def test_the_right_answer_passes_in_any_case_and_with_spaces(database_url, typed):
    async def work(sessionmaker):
        challenge_id = await issue(sessionmaker)
        answer = answer_of(challenge_id)
        given = {"exact": answer, "lower": answer.lower(), "spaced": " " + " ".join(answer.lower()) + " "}[typed]
        return await check(sessionmaker, challenge_id, given)

    assert with_db(database_url, work) is True


def test_a_wrong_answer_fails_and_burns_the_challenge(database_url):
    async def work(sessionmaker):
        challenge_id = await issue(sessionmaker)
        answer = answer_of(challenge_id)
        wrong = ("2" if answer[0] != "2" else "3") + answer[1:]
        return await check(sessionmaker, challenge_id, wrong), await check(sessionmaker, challenge_id, answer)

    assert with_db(database_url, work) == (False, False)
    with db_session(database_url) as session:
        assert session.scalar(select(CaptchaChallenge.used_at)) is not None


def test_a_challenge_is_single_use(database_url):
    async def work(sessionmaker):
        challenge_id = await issue(sessionmaker)
        answer = answer_of(challenge_id)
        return [await check(sessionmaker, challenge_id, answer) for _ in range(3)]

    assert with_db(database_url, work) == [True, False, False]


def test_parallel_checks_with_the_right_answer_let_exactly_one_through(database_url):
    async def work(sessionmaker):
        results = []
        for _ in range(3):
            challenge_id = await issue(sessionmaker)
            answer = answer_of(challenge_id)
            results.append(await asyncio.gather(*(check(sessionmaker, challenge_id, answer) for _ in range(6))))
        return results

    for outcome in with_db(database_url, work):
        assert outcome.count(True) == 1, outcome


def test_an_expired_challenge_fails_even_with_the_right_answer(database_url, frozen_clock):
    async def work(sessionmaker):
        late = await issue(sessionmaker)
        on_time = await issue(sessionmaker)
        frozen_clock[0] += timedelta(minutes=9, seconds=59)
        passed_on_time = await check(sessionmaker, on_time, answer_of(on_time))
        frozen_clock[0] += timedelta(seconds=1)  # exactly ten minutes: expired
        async with sessionmaker() as session:
            image = await captcha.render_image(session, "gers", SECRET, late)
        return passed_on_time, await check(sessionmaker, late, answer_of(late)), image

    assert with_db(database_url, work) == (True, False, None)


def test_another_tenants_challenge_fails_and_is_not_burnt_by_it(database_url):
    async def work(sessionmaker):
        challenge_id = await issue(sessionmaker, tenant="gers")
        answer = answer_of(challenge_id)
        foreign = await check(sessionmaker, challenge_id, answer, tenant="cestas")
        foreign_derived = await check(sessionmaker, challenge_id, answer_of(challenge_id, "cestas"), tenant="cestas")
        async with sessionmaker() as session:
            image = await captcha.render_image(session, "cestas", SECRET, challenge_id)
        return foreign, foreign_derived, image, await check(sessionmaker, challenge_id, answer)

    assert with_db(database_url, work) == (False, False, None, True)


@pytest.mark.parametrize(
    "challenge_id, answer",
    [
        ("x" * 32, "AAAAA"),  # well-formed but unknown
        ("../../etc/passwd", "AAAAA"),
        ("", ""),
        (None, "AAAAA"),
        (["a"], "AAAAA"),
        ("known", None),
        ("known", ["AH7WY"]),
        ("known", "A" * 100_000),
    ],
)
def test_unknown_ids_and_malformed_input_fail_without_error(database_url, challenge_id, answer):
    async def work(sessionmaker):
        real = await issue(sessionmaker)
        target = real if challenge_id == "known" else challenge_id
        return await check(sessionmaker, target, answer)

    assert with_db(database_url, work) is False


def test_the_database_holds_neither_the_answer_nor_an_unkeyed_hash_of_it(database_url):
    import hashlib

    async def work(sessionmaker):
        challenge_id = await issue(sessionmaker)
        answer = answer_of(challenge_id)
        # The same row checked under another secret key: the answer does not match.
        async with sessionmaker() as session:
            other_key = await captcha.check_challenge(session, "gers", "another key", challenge_id, answer)
        return challenge_id, answer, other_key

    challenge_id, answer, other_key = with_db(database_url, work)
    assert other_key is False
    with db_session(database_url) as session:
        row = session.get(CaptchaChallenge, challenge_id)
        assert row is not None and row.tenant_id == "gers"
        assert row.expires_at - row.created_at == timedelta(minutes=10)
        assert answer not in row.answer_hash and answer not in row.id
        assert row.answer_hash != hashlib.sha256(answer.encode()).hexdigest()


# --- Rendering -------------------------------------------------------------------------------


def test_each_length_renders_the_code_it_was_issued_with(database_url):
    async def work(sessionmaker):
        found = {}
        for length in range(captcha.MIN_LENGTH, captcha.MAX_LENGTH + 1):
            challenge_id = await issue(sessionmaker, length=length)
            async with sessionmaker() as session:
                found[length] = await captcha.live_answer(session, "gers", SECRET, challenge_id)
            assert found[length] == answer_of(challenge_id, length=length)
        return found

    assert {len(a) for a in with_db(database_url, work).values()} == set(range(4, 9))


def test_the_voices_are_french_and_in_the_format_the_audio_needs():
    voices = captcha.VOICES_DIR
    assert sorted(p.name for p in voices.iterdir()) == sorted(captcha.ALPHABET)
    total = 0
    for char in captcha.ALPHABET:
        files = sorted((voices / char).glob("*.wav"))
        assert len(files) >= 8, char  # eight voices: a bot meets a different one each time
        for path in files:
            with wave.open(str(path)) as sound:
                assert (sound.getnchannels(), sound.getsampwidth(), sound.getframerate()) == (1, 1, 8000), path
                assert 0.1 < sound.getnframes() / 8000 < 1.0, path
            total += path.stat().st_size
    assert total < 1_000_000
    script = (REPO / "scripts/make_captcha_voices.sh").read_text()
    assert f'ALPHABET="{captcha.ALPHABET}"' in script


def test_the_code_stays_well_above_the_murmur_short_and_quick_to_make():
    """Nobody can listen in a test: what can be measured is that the voice stays at least 6 dB
    (9 dB typically) above the murmur while it speaks, that the whole lasts a few seconds, and
    that making one does not hold a worker thread long."""
    import time

    import numpy as np

    ratios, seconds, durations = [], [], []
    for seed in range(30):
        speech, murmur = captcha._compose("7HXO3", np.random.default_rng(seed))
        frames = len(speech) // 80  # 10 ms
        voice = (speech[: frames * 80].reshape(frames, 80) ** 2).mean(axis=1)
        noise = (murmur[: frames * 80].reshape(frames, 80) ** 2).mean(axis=1)
        speaking = voice > voice.max() * 0.01
        ratios.append(10 * np.log10(voice[speaking].mean() / noise[speaking].mean()))
        durations.append(len(speech) / captcha.AUDIO_RATE)
        started = time.perf_counter()
        captcha.audio_wav("7HXO3")
        seconds.append(time.perf_counter() - started)
    print(f"voice over murmur {min(ratios):.1f} dB at worst, {np.median(ratios):.1f} dB median; "
          f"{max(durations):.1f} s long at most; made in {np.median(seconds) * 1000:.0f} ms (median)")
    assert min(ratios) >= 6 and np.median(ratios) >= 9
    assert max(durations) < 10
    assert np.median(seconds) < 0.5


# --- Routes ----------------------------------------------------------------------------------


def test_the_image_route_serves_a_png_that_is_never_stored(client_for, database_url):
    client = client_for("gers")
    challenge_id = with_db(database_url, issue)
    response = client.get(f"/captcha/{challenge_id}.png")
    assert response.status_code == 200
    assert response.headers["content-type"] == "image/png"
    assert response.headers["cache-control"] == "no-store"
    assert response.content.startswith(b"\x89PNG\r\n\x1a\n")
    width, height = int.from_bytes(response.content[16:20], "big"), int.from_bytes(response.content[20:24], "big")
    # Twice the size it is shown at, with the same aspect ratio (sharp on dense screens).
    assert (width, height) == captcha.IMAGE_SIZE == (440, 160)
    img, _ = Elements(render_field(challenge_id)).find("img")
    assert (int(img["width"]) * 2, int(img["height"]) * 2) == (width, height)
    # Looking does not use the challenge up.
    assert client.get(f"/captcha/{challenge_id}.png").status_code == 200
    assert with_db(database_url, lambda sm: check(sm, challenge_id, answer_of(challenge_id))) is True


def test_the_audio_route_serves_a_wav_that_is_never_stored(client_for, database_url):
    client = client_for("gers")
    challenge_id = with_db(database_url, issue)
    response = client.get(f"/captcha/{challenge_id}.wav")
    assert response.status_code == 200
    assert response.headers["content-type"] == "audio/wav"
    assert response.headers["cache-control"] == "no-store"
    assert response.content[:4] == b"RIFF" and response.content[8:12] == b"WAVE"
    with wave.open(io.BytesIO(response.content)) as sound:
        assert (sound.getnchannels(), sound.getsampwidth(), sound.getframerate()) == (1, 1, 8000)
        # Three beeps, then five characters a fraction of a second apart: short.
        assert 3 < sound.getnframes() / 8000 < 12


def test_used_unknown_malformed_and_foreign_challenges_are_404(client_for, database_url):
    gers = client_for("gers")

    async def work(sessionmaker):
        used = await issue(sessionmaker)
        await check(sessionmaker, used, "wrong")
        return used, await issue(sessionmaker, tenant="cestas")

    used, foreign = with_db(database_url, work)
    for path in (
        f"/captcha/{used}.png",
        f"/captcha/{used}.wav",
        f"/captcha/{foreign}.png",
        f"/captcha/{foreign}.wav",
        f"/captcha/{'x' * 32}.png",
        "/captcha/%2e%2e.wav",
        "/captcha/.png",
    ):
        response = gers.get(path)
        assert response.status_code == 404, path
        assert not response.content.startswith((b"\x89PNG", b"RIFF"))
    assert client_for("cestas").get(f"/captcha/{foreign}.png").status_code == 200


def test_the_routes_do_not_exist_on_the_root_domain(client_for, database_url):
    root = client_for("localhost")
    challenge_id = with_db(database_url, issue)
    for suffix in ("png", "wav"):
        assert root.get(f"/captcha/{challenge_id}.{suffix}").status_code == 404


# --- The form field --------------------------------------------------------------------------


class Elements(HTMLParser):
    """Start tags with their attributes, and the text that follows each one."""

    def __init__(self, html: str):
        super().__init__()
        self.tags: list[tuple[str, dict[str, str | None], list[str]]] = []
        self.feed(html)

    def handle_starttag(self, tag: str, attrs: list[tuple[str, str | None]]) -> None:
        self.tags.append((tag, dict(attrs), []))

    def handle_data(self, data: str) -> None:
        if self.tags and data.strip():
            self.tags[-1][2].append(data.strip())

    def find(self, tag: str, **attrs: str) -> tuple[dict[str, str | None], str]:
        matches = [
            (a, " ".join(text)) for t, a, text in self.tags if t == tag and all(a.get(k) == v for k, v in attrs.items())
        ]
        assert len(matches) == 1, (tag, attrs, matches)
        return matches[0]


def render_field(challenge_id: str, error: str | None = None, locale: str = "fr") -> str:
    token = current_locale.set(locale)
    try:
        module = templates.env.get_template("_captcha.html").make_module({})
        return str(module.captcha_field(challenge_id, error=error))
    finally:
        current_locale.reset(token)


def test_the_field_renders_in_french_with_its_names_ids_and_labels():
    challenge_id = "A" * 32
    html = render_field(challenge_id)
    page = Elements(html)
    _, legend = page.find("legend")
    assert legend == "Cryptogramme de sécurité"
    img, _ = page.find("img")
    assert img["src"] == f"/captcha/{challenge_id}.png"
    assert "cryptogramme" in (img["alt"] or "").lower() and "audio" in (img["alt"] or "")
    audio, _ = page.find("audio")
    assert audio["src"] == f"/captcha/{challenge_id}.wav" and audio["preload"] == "none" and "controls" in audio
    _, listen = page.find("a", href=f"/captcha/{challenge_id}.wav")
    assert listen == "Écouter le cryptogramme"
    _, reload_text = page.find("button", name="nouveau_captcha", value="1", type="submit")
    assert reload_text == "Recharger le cryptogramme de sécurité"
    page.find("input", type="hidden", name="captcha_id", value=challenge_id)
    _, label = page.find("label", **{"for": "captcha"})
    assert label == "Recopier le cryptogramme de sécurité"
    _, hint = page.find("span", id="captcha-hint")
    assert hint == "Majuscules ou minuscules, sans importance."
    field, _ = page.find("input", id="captcha", name="captcha", type="text")
    assert field["autocomplete"] == "off" and field["autocapitalize"] == "characters" and field["spellcheck"] == "false"
    assert field["aria-describedby"] == "captcha-hint" and "aria-invalid" not in field
    assert "captcha-error" not in html
    # CSP (script-src 'self', style-src 'self'): nothing inline.
    assert not re.search(r"<script|<style|\sstyle=|\son[a-z]+=", html)


def test_the_field_ties_its_error_to_the_input():
    page = Elements(render_field("A" * 32, error="Le cryptogramme de sécurité n'a pas été recopié correctement."))
    _, error = page.find("p", id="captcha-error")
    assert error.startswith("Le cryptogramme de sécurité n'a pas été recopié")
    field, _ = page.find("input", id="captcha")
    assert field["aria-describedby"] == "captcha-hint captcha-error" and field["aria-invalid"] == "true"


def test_the_field_speaks_english_too_and_escapes_what_it_is_given():
    page = Elements(render_field('"><script>', error="<b>x</b>", locale="en"))
    assert page.find("legend")[1] == "Security code"
    assert page.find("button", name="nouveau_captcha")[1] == "Reload the security code"
    assert not any(tag in ("script", "b") for tag, _, _ in page.tags)


CHROMIUM = Path(os.environ.get("ASSMAT_CHROMIUM", "/usr/bin/chromium"))


@pytest.mark.browser
def test_in_a_browser_enter_submits_the_form_and_reload_needs_no_script():
    """Enter in a field clicks the form's first submit button: it must not be the reload one.
    The reload button must also work with the required answer field still empty."""
    if not CHROMIUM.is_file():
        if IN_CI:
            pytest.fail(f"Chromium not found at {CHROMIUM}")
        pytest.skip(f"Chromium not found at {CHROMIUM}")
    from playwright.sync_api import sync_playwright

    form = (
        '<!doctype html><html lang="fr"><title>t</title><form method="get" action="/submit">'
        '<label for="identifiant">Identifiant</label><input id="identifiant" name="identifiant" type="text">'
        f"{render_field('A' * 32)}"
        '<button type="submit">Connexion</button></form></html>'
    )
    submitted: list[str] = []

    def serve(route: Any) -> None:
        url = route.request.url
        if "/submit" in url:
            submitted.append(url)
            route.fulfill(body="ok", content_type="text/plain")
        elif url.endswith("/form"):
            route.fulfill(body=form, content_type="text/html; charset=utf-8")
        else:
            route.fulfill(status=404, body="")

    with sync_playwright() as playwright:
        browser = playwright.chromium.launch(executable_path=str(CHROMIUM), args=["--no-sandbox"], headless=True)
        try:
            page = browser.new_page()
            page.set_default_timeout(10_000)
            page.route("http://form.test/**", serve)

            page.goto("http://form.test/form")
            page.fill("#identifiant", "123456")
            page.fill("#captcha", "ah7wy")
            with page.expect_navigation():
                page.press("#captcha", "Enter")
            page.goto("http://form.test/form")
            page.fill("#identifiant", "123456")
            with page.expect_navigation():
                page.get_by_role("button", name="Recharger le cryptogramme de sécurité").click()
        finally:
            browser.close()

    assert len(submitted) == 2
    assert "captcha=ah7wy" in submitted[0] and "nouveau_captcha" not in submitted[0]
    assert "nouveau_captcha=1" in submitted[1] and "identifiant=123456" in submitted[1]
    assert f"captcha_id={'A' * 32}" in submitted[1]


def test_a_challenge_cannot_be_rendered_over_and_over(client_for):
    """Fresh noise on each render: unlimited renders would let a bot average the noise away."""
    import re

    from assmat.auth.captcha_http import RENDERS_PER_CHALLENGE

    client = client_for("eure-et-loir")
    page = client.get("/connexion").text
    challenge = re.search(r'name="captcha_id" value="([^"]+)"', page).group(1)
    statuses = [client.get(f"/captcha/{challenge}.png").status_code for _ in range(RENDERS_PER_CHALLENGE + 1)]
    assert statuses == [200] * RENDERS_PER_CHALLENGE + [429]


def test_a_digits_only_code_is_made_of_the_alphabets_digits_and_renders_and_checks(database_url):
    """mon-enfant's habilitation form asks « (4 chiffres) »: the digits the image and the voices
    already draw (no 0, 1 or 4), each as likely as the others."""
    ids = [f"{i:032d}" for i in range(400)]
    answers = [captcha.derive_answer(SECRET, "mon-enfant", i, 4, digits=True) for i in ids]
    assert all(len(a) == 4 and set(a) <= set(captcha.DIGITS) for a in answers)
    assert set("".join(answers)) == set(captcha.DIGITS) == set("2356789")
    counts = [("".join(answers)).count(d) for d in captcha.DIGITS]
    assert max(counts) < 1.3 * min(counts)

    async def work(sessionmaker):
        async with sessionmaker() as session:
            challenge_id = await captcha.new_challenge(session, "mon-enfant", SECRET, length=4, digits=True)
        async with sessionmaker() as session:
            shown = await captcha.live_answer(session, "mon-enfant", SECRET, challenge_id)
        assert shown == captcha.derive_answer(SECRET, "mon-enfant", challenge_id, 4, digits=True)
        return await check(sessionmaker, challenge_id, shown, tenant="mon-enfant")

    assert with_db(database_url, work) is True
