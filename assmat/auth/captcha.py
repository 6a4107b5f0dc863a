"""Captchas: a short code shown as an image and read aloud in French, single use, short-lived.

The answer is never stored. It is derived from the challenge id with the app's secret key
(HMAC), so any replica can draw or read it out, and the database holds only a keyed hash of it:
a plain SHA-256 of a 20-bit code would be reversed in a second by anyone reading the table.

Alphabet (16 symbols, 4 bits each, so that HMAC bytes map onto it without bias):
digits 2 3 5 6 7 8 9 and the letters A H J O R U W X Y.
- Shapes that a distorted image confuses are out: 1 I L, 2 Z, 5 S, 6 G, 8 B, U V, K X, Q D, and
  4, which a tilted closed 4 makes an A. O is in because none of 0 Q D is: a 0 typed for it
  counts as an O, and a 1 typed for a 7 counts as a 7 (neither 0 nor 1 is ever in a code).
- French letter names that rhyme or differ by one consonant are out: the "é" letters
  B C D G P T V ("bé", "cé", "dé"… and "dé"/"deux", "té"/"sept"), M N ("emme"/"enne"),
  F S ("effe"/"esse"), E ("eu", close to "deux"), K ("ka", close to "a").
- What remains sounds distinct: deux trois cinq six sept huit neuf, a, ache, ji, o, erre,
  u, double vé, iks, i grec.
Five characters give about a million codes (20 bits); each wrong answer burns the challenge.
"""

from __future__ import annotations

import functools
import hashlib
import hmac
import io
import re
import secrets
import unicodedata
import wave
from datetime import timedelta
from pathlib import Path
from typing import TypeGuard

import anyio.to_thread
import numpy as np
from captcha.image import ImageCaptcha
from sqlalchemy import select, update
from sqlalchemy.ext.asyncio import AsyncSession

from assmat.core import clock
from assmat.auth.models import CaptchaChallenge

ALPHABET = "2356789AHJORUWXY"
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
# The digits of ALPHABET, for a form that asks for digits only (seed 004: « (4 chiffres) »).
DIGITS = "".join(c for c in ALPHABET if c.isdigit())


def _mac(secret_key: str, purpose: str, *parts: str) -> bytes:
    message = "\x1f".join((f"assmat-captcha-{purpose}", *parts)).encode()
    return hmac.new(secret_key.encode(), message, hashlib.sha256).digest()


def derive_answer(secret_key: str, tenant_slug: str, challenge_id: str, length: int, digits: bool = False) -> str:
    """The code for this challenge. Shorter lengths are prefixes of longer ones. With `digits`,
    digits only (bytes beyond the last multiple of 7 are skipped: no symbol is favoured)."""
    digest = _mac(secret_key, "answer", tenant_slug, challenge_id)
    if digits:
        usable = len(DIGITS) * (256 // len(DIGITS))
        return "".join(DIGITS[byte % len(DIGITS)] for byte in digest if byte < usable)[:length]
    symbols = []
    for byte in digest:
        symbols += (ALPHABET[byte >> 4], ALPHABET[byte & 0x0F])
    return "".join(symbols[:length])


def _answer_hash(secret_key: str, tenant_slug: str, challenge_id: str, answer: str) -> str:
    return _mac(secret_key, "check", tenant_slug, challenge_id, answer).hex()


# Never in a code, and what a reader may take the code's O and 7 for.
_MISREAD = str.maketrans({"0": "O", "1": "7"})


def normalise(answer: str) -> str:
    """What the user typed, as compared: case, every kind of space and full-width forms ignored,
    a 0 read as O and a 1 read as 7."""
    return "".join(unicodedata.normalize("NFKC", answer).split()).upper().translate(_MISREAD)


def _valid_id(challenge_id: object) -> TypeGuard[str]:
    return isinstance(challenge_id, str) and _ID_PATTERN.fullmatch(challenge_id) is not None


async def new_challenge(
    session: AsyncSession, tenant_slug: str, secret_key: str, length: int = DEFAULT_LENGTH, digits: bool = False
) -> str:
    """Create a challenge for this tenant and commit it (the image is fetched by another request,
    maybe on another replica). Returns its public id, which says nothing about the answer."""
    if not MIN_LENGTH <= length <= MAX_LENGTH:
        raise ValueError(f"captcha length must be between {MIN_LENGTH} and {MAX_LENGTH}")
    challenge_id = secrets.token_urlsafe(24)
    answer = derive_answer(secret_key, tenant_slug, challenge_id, length, digits)
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


async def live_answer(session: AsyncSession, tenant_slug: str, secret_key: str, challenge_id: object) -> str | None:
    """The answer of a live challenge of this tenant, to draw or read it out; None otherwise.
    Reads only: a made-up id costs one indexed lookup and writes nothing."""
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
    for digits in (False, True):
        for length in range(MIN_LENGTH, MAX_LENGTH + 1):
            candidate = derive_answer(secret_key, tenant_slug, challenge_id, length, digits)
            if hmac.compare_digest(_answer_hash(secret_key, tenant_slug, challenge_id, candidate), stored):
                return candidate
    return None  # issued under another secret key: it cannot be answered either


class _ReadableImageCaptcha(ImageCaptcha):
    # The package turns the text colour's luminance into the paste mask (x1.97), so dark text
    # comes out faint; an almost flat mask keeps the dark colours below dark on the page.
    lookup_table = [min(255, i * 8) for i in range(256)]
    # The package tilts by up to 30 degrees: enough to make a 7 look like a 1.
    character_rotate = (-12, 12)


# Drawn at twice the size it is shown (220 x 80 CSS pixels): sharp on high-density screens.
IMAGE_SIZE = (440, 160)
_image = _ReadableImageCaptcha(width=IMAGE_SIZE[0], height=IMAGE_SIZE[1], font_sizes=(84, 96, 108))


def image_png(answer: str) -> bytes:
    """A PNG of the code: dark text on a light background (contrast about 6:1 at the worst)."""
    ink = (30 + secrets.randbelow(60), 30 + secrets.randbelow(60), 30 + secrets.randbelow(60), 255)
    return _image.generate(answer, format="png", fg_color=ink).getvalue()


# -- Audio ------------------------------------------------------------------------------------
# Every recording we ship is public (it is in the package), so a bot can slide each one along
# the served audio and keep the best matches: with 32 recordings pasted as they were, it read
# 78 % of the characters and 12 codes out of 40. Here no character is heard as it was recorded:
# each comes from one of eight voices, read at a random speed that wavers while it speaks (pitch
# and tempo together), through a random microphone and room, stretched or squeezed in time on
# its own, at a random loudness and with random gaps; under each one another character is said
# 10 to 14 dB quieter, and a murmur of recordings, bent the same way and half of them backwards,
# runs throughout. The code stays about 10 dB above all of it (at least 6 dB, tested), which
# people follow easily; the same bot then reads fewer than 40 % of the characters and no code
# (tests/security/test_audio_captcha_attack.py).

AUDIO_RATE = 8000
_BEEP = 0.5 * np.sin(2 * np.pi * 880 * np.arange(int(0.12 * AUDIO_RATE)) / AUDIO_RATE) * np.hanning(int(0.12 * AUDIO_RATE))
_MURMUR_LEVEL = (0.14, 0.28)  # of full scale, the voice being at 0.75 to 1: 9 to 17 dB below it
_MURMUR_STREAMS = 2
_UNDER_LEVEL = (0.2, 0.32)  # of the character it hides under: 10 to 14 dB below it


@functools.cache
def _voices() -> dict[str, tuple[np.ndarray, ...]]:
    """The shipped recordings, as floats in [-1, 1], by character (read once per process)."""
    voices = {}
    for char in ALPHABET:
        recordings = []
        for path in sorted((VOICES_DIR / char).glob("*.wav")):
            with wave.open(str(path)) as sound:
                frames = sound.readframes(sound.getnframes())
            recordings.append((np.frombuffer(frames, np.uint8).astype(np.float64) - 128) / 128)
        voices[char] = tuple(recordings)
    return voices


def _bend(recording: np.ndarray, rng: np.random.Generator) -> np.ndarray:
    """The recording read at a random speed that wavers a few times a second (pitch and tempo
    move together, like a tape), then its duration changed again without changing its pitch."""
    speed = rng.uniform(0.82, 1.22)
    depth, wobble, phase = rng.uniform(0.05, 0.1), rng.uniform(2.0, 5.0), rng.uniform(0, 2 * np.pi)
    steps = speed * (1 + depth * np.sin(2 * np.pi * wobble * np.arange(len(recording) * 2) / AUDIO_RATE + phase))
    positions = np.cumsum(steps)
    positions = positions[positions < len(recording) - 1]
    read = np.interp(positions, np.arange(len(recording)), recording)
    # A random tilt of the spectrum: brighter or duller, as through another microphone.
    tilted = np.convolve(read, [1.0, -rng.uniform(-0.7, 0.9)], mode="same")
    # A random room: a few early echoes, which the ear ignores and which smear every frame.
    echoed = np.concatenate([tilted, np.zeros(int(0.08 * AUDIO_RATE))])
    for _ in range(3):
        delay = int(rng.uniform(0.012, 0.08) * AUDIO_RATE)
        echoed[delay : delay + len(tilted)] += rng.uniform(0.2, 0.45) * tilted
    return _stretch(echoed, rng.uniform(0.8, 1.25), rng)


def _stretch(sound: np.ndarray, factor: float, rng: np.random.Generator) -> np.ndarray:
    """Duration times `factor`, pitch unchanged: 30 ms grains overlapped and added at a new
    spacing, each taken a little off its place so that the joins fall somewhere new each time."""
    grain = int(0.03 * AUDIO_RATE)
    hop_out = grain // 2
    hop_in = hop_out / factor
    window = np.hanning(grain)
    count = max(1, int((len(sound) - grain) / hop_in) + 1)
    out = np.zeros(count * hop_out + grain)
    padded = np.pad(sound, (grain, grain))
    for i in range(count):
        start = grain + int(i * hop_in) + int(rng.integers(-grain // 8, grain // 8 + 1))
        out[i * hop_out : i * hop_out + grain] += padded[start : start + grain] * window
    return out


def _compose(answer: str, rng: np.random.Generator) -> tuple[np.ndarray, np.ndarray]:
    """The voice track (beeps, then the code) and the murmur under it, same length."""
    voices = _voices()
    every = [(char, r) for char, recordings in voices.items() for r in recordings]

    def word(exclude: str = "") -> np.ndarray:
        char, recording = every[rng.integers(len(every))]
        while char == exclude:
            char, recording = every[rng.integers(len(every))]
        bent = _bend(recording, rng)
        return bent[::-1] if rng.random() < 0.5 else bent

    def add(track: np.ndarray, sound: np.ndarray, at: int, level: float) -> None:
        sound = sound * level / max(np.abs(sound).max(), 1e-9)
        lo, hi = max(at, 0), min(at + len(sound), len(track))
        if hi > lo:
            track[lo:hi] += sound[lo - at : hi - at]

    pieces = [np.zeros(int(rng.uniform(0.2, 0.6) * AUDIO_RATE))]  # the start moves each time
    for _ in range(3):
        pieces += [_BEEP, np.zeros(int(0.15 * AUDIO_RATE))]
    pieces.append(np.zeros(int(rng.uniform(0.3, 0.6) * AUDIO_RATE)))
    spoken = []  # (start, length, level) of each character of the code
    for char in answer:
        said = _bend(voices[char][rng.integers(len(voices[char]))], rng)
        level = rng.uniform(0.75, 1.0)
        said *= level / max(np.abs(said).max(), 1e-9)
        spoken.append((sum(map(len, pieces)), len(said), level))
        pieces += [said, np.zeros(int(rng.uniform(0.35, 0.8) * AUDIO_RATE))]
    speech = np.concatenate(pieces)
    murmur = np.zeros(len(speech))
    # Under each character, another one, quieter, starting a little before or after it.
    for (start, length, level), char in zip(spoken, answer):
        add(murmur, word(exclude=char), start + int(rng.uniform(-0.4, 0.4) * length), level * rng.uniform(*_UNDER_LEVEL))
    for _ in range(_MURMUR_STREAMS):
        at = -int(rng.integers(0, AUDIO_RATE // 2))
        while at < len(speech):
            sound = word()
            add(murmur, sound, at, rng.uniform(*_MURMUR_LEVEL))
            at += len(sound) + int(rng.integers(-AUDIO_RATE // 10, AUDIO_RATE // 5))
    return speech, murmur


def audio_wav(answer: str) -> bytes:
    """A WAV (8 kHz, 8-bit mono) of three beeps, then the characters read one by one in French."""
    rng = np.random.default_rng(secrets.randbits(128))
    speech, murmur = _compose(answer, rng)
    mixed = speech + murmur
    mixed *= 0.95 / max(np.abs(mixed).max(), 1e-9)
    pcm = np.clip(np.round(mixed * 127 + 128), 0, 255).astype(np.uint8)
    out = io.BytesIO()
    with wave.open(out, "wb") as sound:
        sound.setnchannels(1)
        sound.setsampwidth(1)
        sound.setframerate(AUDIO_RATE)
        sound.writeframes(pcm.tobytes())
    return out.getvalue()


async def render_image(session: AsyncSession, tenant_slug: str, secret_key: str, challenge_id: object) -> bytes | None:
    """The PNG of a live challenge of this tenant, drawn in a worker thread; None otherwise."""
    answer = await live_answer(session, tenant_slug, secret_key, challenge_id)
    if answer is None:
        return None
    return await anyio.to_thread.run_sync(image_png, answer)


async def render_audio(session: AsyncSession, tenant_slug: str, secret_key: str, challenge_id: object) -> bytes | None:
    """The WAV of a live challenge of this tenant, generated in a worker thread; None otherwise."""
    answer = await live_answer(session, tenant_slug, secret_key, challenge_id)
    if answer is None:
        return None
    return await anyio.to_thread.run_sync(audio_wav, answer)
