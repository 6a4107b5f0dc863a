"""Captchas: a short code shown as an image and read aloud in French, single use, short-lived.

The answer is never stored. It is derived from the challenge id with the app's secret key
(HMAC), so any replica can draw or read it out, and the database holds only a keyed hash of it:
a plain SHA-256 of a 20-bit code would be reversed in a second by anyone reading the table.

Alphabet (16 symbols, 4 bits each, so that HMAC bytes map onto it without bias):
digits 2-9 and the letters A H J R U W X Y.
- Shapes that a distorted image confuses are out: 0 O Q D, 1 I L, 2 Z, 5 S, 6 G, 8 B, U V, K X.
- French letter names that rhyme or differ by one consonant are out: the "é" letters
  B C D G P T V ("bé", "cé", "dé"… and "dé"/"deux", "té"/"sept"), M N ("emme"/"enne"),
  F S ("effe"/"esse"), E ("eu", close to "deux"), K ("ka", close to "a" and "quatre").
- What remains sounds distinct: deux trois quatre cinq six sept huit neuf, a, ache, ji, erre,
  u, double vé, iks, i grec.
Five characters give about a million codes (20 bits); each wrong answer burns the challenge.
"""

from __future__ import annotations

import hashlib
import hmac
import re
import secrets
import threading
import unicodedata
from datetime import timedelta
from pathlib import Path
from typing import TypeGuard

import anyio.to_thread
from captcha.audio import AudioCaptcha
from captcha.image import ImageCaptcha
from sqlalchemy import select, update
from sqlalchemy.ext.asyncio import AsyncSession

from assmat import clock
from assmat.db.models import CaptchaChallenge

ALPHABET = "23456789AHJRUWXY"
MIN_LENGTH = 4
MAX_LENGTH = 8
DEFAULT_LENGTH = 5
TTL = timedelta(minutes=10)
VOICES_DIR = Path(__file__).resolve().parent / "voices" / "fr"

# secrets.token_urlsafe(24): 32 characters. Anything else is refused before a query.
_ID_PATTERN = re.compile(r"[A-Za-z0-9_-]{32}")
# A pasted novel is not an answer: refuse it before normalising it.
_MAX_ANSWER_CHARS = 64

assert len(ALPHABET) == 16 and len(set(ALPHABET)) == 16, "the derivation maps 4 bits onto one symbol"


def _mac(secret_key: str, purpose: str, *parts: str) -> bytes:
    message = "\x1f".join((f"assmat-captcha-{purpose}", *parts)).encode()
    return hmac.new(secret_key.encode(), message, hashlib.sha256).digest()


def derive_answer(secret_key: str, tenant_slug: str, challenge_id: str, length: int) -> str:
    """The code for this challenge. Shorter lengths are prefixes of longer ones."""
    digest = _mac(secret_key, "answer", tenant_slug, challenge_id)
    symbols = []
    for byte in digest:
        symbols += (ALPHABET[byte >> 4], ALPHABET[byte & 0x0F])
    return "".join(symbols[:length])


def _answer_hash(secret_key: str, tenant_slug: str, challenge_id: str, answer: str) -> str:
    return _mac(secret_key, "check", tenant_slug, challenge_id, answer).hex()


def normalise(answer: str) -> str:
    """What the user typed, as compared: case, every kind of space and full-width forms ignored."""
    return "".join(unicodedata.normalize("NFKC", answer).split()).upper()


def _valid_id(challenge_id: object) -> TypeGuard[str]:
    return isinstance(challenge_id, str) and _ID_PATTERN.fullmatch(challenge_id) is not None


async def new_challenge(
    session: AsyncSession, tenant_slug: str, secret_key: str, length: int = DEFAULT_LENGTH
) -> str:
    """Create a challenge for this tenant and commit it (the image is fetched by another request,
    maybe on another replica). Returns its public id, which says nothing about the answer."""
    if not MIN_LENGTH <= length <= MAX_LENGTH:
        raise ValueError(f"captcha length must be between {MIN_LENGTH} and {MAX_LENGTH}")
    challenge_id = secrets.token_urlsafe(24)
    answer = derive_answer(secret_key, tenant_slug, challenge_id, length)
    now = clock.now()
    session.add(
        CaptchaChallenge(
            id=challenge_id,
            tenant_id=tenant_slug,
            answer_hash=_answer_hash(secret_key, tenant_slug, challenge_id, answer),
            created_at=now,
            expires_at=now + TTL,
        )
    )
    await session.commit()
    return challenge_id


async def check_challenge(
    session: AsyncSession, tenant_slug: str, secret_key: str, challenge_id: object, answer: object
) -> bool:
    """True once for the right answer. Any check, right or wrong, uses the challenge up, and is
    committed here so that it stays used whatever the caller does next. Unknown, expired, used
    and other tenants' challenges all give False."""
    if not _valid_id(challenge_id):
        return False
    now = clock.now()
    # One conditional UPDATE: of two parallel checks, only one finds used_at still empty.
    stored = await session.scalar(
        update(CaptchaChallenge)
        .where(
            CaptchaChallenge.id == challenge_id,
            CaptchaChallenge.tenant_id == tenant_slug,
            CaptchaChallenge.used_at.is_(None),
            CaptchaChallenge.expires_at > now,
        )
        .values(used_at=now)
        .returning(CaptchaChallenge.answer_hash)
        .execution_options(synchronize_session=False)
    )
    await session.commit()
    if stored is None or not isinstance(answer, str) or len(answer) > _MAX_ANSWER_CHARS:
        return False
    given = _answer_hash(secret_key, tenant_slug, challenge_id, normalise(answer))
    return hmac.compare_digest(given, stored)


async def _pending_answer(session: AsyncSession, tenant_slug: str, secret_key: str, challenge_id: object) -> str | None:
    """The answer of a live challenge of this tenant, to draw or read it out; None otherwise."""
    if not _valid_id(challenge_id):
        return None
    stored = await session.scalar(
        select(CaptchaChallenge.answer_hash).where(
            CaptchaChallenge.id == challenge_id,
            CaptchaChallenge.tenant_id == tenant_slug,
            CaptchaChallenge.used_at.is_(None),
            CaptchaChallenge.expires_at > clock.now(),
        )
    )
    if stored is None:
        return None
    # The length is not stored: it is the one whose derived code matches the stored hash.
    for length in range(MIN_LENGTH, MAX_LENGTH + 1):
        candidate = derive_answer(secret_key, tenant_slug, challenge_id, length)
        if hmac.compare_digest(_answer_hash(secret_key, tenant_slug, challenge_id, candidate), stored):
            return candidate
    return None  # issued under another secret key: it cannot be answered either


class _ReadableImageCaptcha(ImageCaptcha):
    # The package turns the text colour's luminance into the paste mask (x1.97), so dark text
    # comes out faint; an almost flat mask keeps the dark colours below dark on the page.
    lookup_table = [min(255, i * 8) for i in range(256)]


_image = _ReadableImageCaptcha(width=220, height=80)
_audio = AudioCaptcha(voicedir=str(VOICES_DIR))
_audio_lock = threading.Lock()
_audio_loaded = False


def image_png(answer: str) -> bytes:
    """A PNG of the code: dark text on a light background (contrast about 6:1 at the worst)."""
    ink = (30 + secrets.randbelow(60), 30 + secrets.randbelow(60), 30 + secrets.randbelow(60), 255)
    return _image.generate(answer, format="png", fg_color=ink).getvalue()


def audio_wav(answer: str) -> bytes:
    """A WAV (8 kHz, 8-bit mono) of three beeps, then the characters read one by one in French."""
    global _audio_loaded
    with _audio_lock:  # the package's lazy loading is not thread-safe
        if not _audio_loaded:
            _audio.load()
            _audio_loaded = True
    return bytes(_audio.generate(answer))


async def render_image(session: AsyncSession, tenant_slug: str, secret_key: str, challenge_id: object) -> bytes | None:
    """The PNG of a live challenge of this tenant, drawn in a worker thread; None otherwise."""
    answer = await _pending_answer(session, tenant_slug, secret_key, challenge_id)
    if answer is None:
        return None
    return await anyio.to_thread.run_sync(image_png, answer)


async def render_audio(session: AsyncSession, tenant_slug: str, secret_key: str, challenge_id: object) -> bytes | None:
    """The WAV of a live challenge of this tenant, generated in a worker thread; None otherwise."""
    answer = await _pending_answer(session, tenant_slug, secret_key, challenge_id)
    if answer is None:
        return None
    return await anyio.to_thread.run_sync(audio_wav, answer)
