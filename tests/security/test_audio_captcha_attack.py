"""The audio captcha against a bot that owns every recording we ship.

The attacker reads the shipped voices (they are in the package), fetches the served WAV, and
matches each recording against it: log-spectrogram templates, stretched over the range of
speeds a generator may apply, slid along the audio by normalised cross-correlation; the best
matches, taken at the loudest moments of the audio, in time order, are its answer. Against the
first generator (32 recordings pasted whole, louder than a murmur of reversed recordings) it
read 78 % of the characters and solved 12 codes out of 40; against the current one, about 38 %
of the characters and no code in 120 tries.

The bound: over N challenges the attack may solve at most MAX_SOLVED. With 40 challenges and at
most 2 solved (1 in 20), a generator whose true solve rate were 1 in 5 would pass only with
probability P(Binomial(40, 0.2) <= 2) < 0.9 %, so passing says the rate is well under 1 in 5;
at the measured rate (under 1 %) the test fails by chance less than once in 200 runs. The
per-character accuracy over 200 characters is also held under one half (measured: 38 %, three
standard deviations below the bound)."""

from __future__ import annotations

import io
import secrets
import time
import wave
from pathlib import Path

import numpy as np
import pytest

from assmat.auth import captcha
from tests.auth.test_captcha import SECRET, issue, with_db

RATE = 8000
FRAME = 256  # 32 ms
HOP = 80  # 10 ms
BANDS = 32
FLOOR = 1e-2  # quieter than this is silence, whatever its spectrum
SEPARATION = 40  # frames: two characters are read at least 0.4 s apart
REACH = 40  # frames: how far before its loudest moment a character may start
SPEEDS = np.linspace(0.8, 1.3, 11)  # the stretches the attacker tries on every recording

CHALLENGES = 40
SERVED = 4
MAX_SOLVED = 2
MAX_CHARACTER_ACCURACY = 0.5


def _samples(wav_bytes: bytes) -> np.ndarray:
    with wave.open(io.BytesIO(wav_bytes)) as sound:
        width = sound.getsampwidth()
        frames = sound.readframes(sound.getnframes())
        assert sound.getframerate() == RATE and sound.getnchannels() == 1
    if width == 1:
        return (np.frombuffer(frames, np.uint8).astype(np.float64) - 128) / 128
    return np.frombuffer(frames, "<i2").astype(np.float64) / 32768


def _features(signal: np.ndarray) -> np.ndarray:
    """Log energy in BANDS bands from 100 Hz to 3.6 kHz, one column per 10 ms."""
    if len(signal) < FRAME:
        signal = np.pad(signal, (0, FRAME - len(signal)))
    frames = np.lib.stride_tricks.sliding_window_view(signal, FRAME)[::HOP] * np.hanning(FRAME)
    spectrum = np.abs(np.fft.rfft(frames, axis=1)) ** 2
    edges = np.linspace(4, 116, BANDS + 1).astype(int)
    bands = np.stack([spectrum[:, a:b].sum(axis=1) for a, b in zip(edges[:-1], edges[1:])], axis=1)
    return np.log(bands + FLOOR).T  # BANDS x frames


def _stretch(signal: np.ndarray, factor: float) -> np.ndarray:
    n = max(FRAME, int(len(signal) * factor))
    return np.interp(np.linspace(0, len(signal) - 1, n), np.arange(len(signal)), signal)


class Attacker:
    """Knows every shipped recording, as anyone who installs the package does."""

    def __init__(self, voices: Path = captcha.VOICES_DIR):
        self.templates: list[tuple[str, np.ndarray]] = []
        for char_dir in sorted(p for p in voices.iterdir() if p.is_dir()):
            for path in sorted(char_dir.glob("*.wav")):
                recording = _samples(path.read_bytes())
                for speed in SPEEDS:
                    feats = _features(_stretch(recording, speed))
                    feats = feats - feats.mean()
                    self.templates.append((char_dir.name, feats / np.linalg.norm(feats)))

    def scores(self, audio: np.ndarray) -> tuple[np.ndarray, np.ndarray, np.ndarray]:
        """For each 10 ms position: the best normalised correlation of a recording starting
        there, its character and its length (in 10 ms frames)."""
        feats = _features(audio)
        n = feats.shape[1]
        best = np.full(n, -1.0)
        char = np.full(n, "", dtype=object)
        length = np.zeros(n, dtype=int)
        size = 1 << int(np.ceil(np.log2(2 * n)))
        spectrum = np.fft.rfft(feats, size, axis=1)
        zero = np.zeros((feats.shape[0], 1))
        sums = np.concatenate([zero, np.cumsum(feats, axis=1)], axis=1).sum(axis=0)
        squares = np.concatenate([zero, np.cumsum(feats**2, axis=1)], axis=1).sum(axis=0)
        for name, template in self.templates:
            width = template.shape[1]
            if width >= n:
                continue
            # Sliding dot product of the template (zero mean, unit norm) with every window.
            kernel = np.fft.rfft(template[:, ::-1], size, axis=1)
            dots = np.fft.irfft((spectrum * kernel).sum(axis=0), size)[width - 1 : n]
            window_sum = sums[width:] - sums[:-width]
            window_var = (squares[width:] - squares[:-width]) - window_sum**2 / template.size
            score = dots / np.sqrt(np.maximum(window_var, 1e-9))
            positions = len(score)
            better = score > best[:positions]
            best[:positions][better] = score[better]
            char[:positions][better] = name
            length[:positions][better] = width
        return best, char, length

    def solve(self, wav_bytes: bytes, code_length: int) -> str:
        """The code is read louder than anything around it: take the loudest separated moments,
        then name each by the recording that fits best near it."""
        audio = _samples(wav_bytes)
        best, char, length = self.scores(audio)
        frames = len(best)
        peak = np.array([np.abs(audio[i * HOP : i * HOP + FRAME]).max(initial=0) for i in range(frames)])
        taken = np.zeros(frames, dtype=bool)
        picks: list[tuple[int, str]] = []
        for frame in np.argsort(-peak):
            if len(picks) == code_length:
                break
            if taken[frame]:
                continue
            taken[max(0, frame - SEPARATION) : frame + SEPARATION] = True
            # The recordings that start before the peak and last past it.
            starts = np.arange(max(0, frame - REACH), frame + 1)
            starts = starts[starts + length[starts] > frame]
            if not len(starts):
                continue
            start = int(starts[np.argmax(best[starts])])
            picks.append((start, str(char[start])))
        return "".join(c for _, c in sorted(picks))


@pytest.fixture(scope="module")
def attacker() -> Attacker:
    return Attacker()


def random_code() -> str:
    return "".join(secrets.choice(captcha.ALPHABET) for _ in range(captcha.DEFAULT_LENGTH))


def test_matching_the_shipped_recordings_does_not_solve_the_audio_captcha(attacker):
    """The statistics, on the audio the route serves (audio_wav; the next test goes through the
    route and the form's check)."""
    solved = right_characters = 0
    generation = []
    for _ in range(CHALLENGES):
        code = random_code()
        started = time.perf_counter()
        served = captcha.audio_wav(code)
        generation.append(time.perf_counter() - started)
        guess = attacker.solve(served, len(code))
        solved += captcha.normalise(guess) == code
        right_characters += sum(g == a for g, a in zip(guess, code))
    accuracy = right_characters / (CHALLENGES * captcha.DEFAULT_LENGTH)
    print(f"solved {solved}/{CHALLENGES}, characters {accuracy:.0%}, generated in {np.median(generation) * 1000:.0f} ms (median)")
    assert solved <= MAX_SOLVED, (solved, accuracy)
    assert accuracy < MAX_CHARACTER_ACCURACY, (solved, accuracy)


@pytest.mark.both_backends  # the captcha is spent by a conditional UPDATE … RETURNING
def test_the_attack_on_the_served_audio_is_refused_by_the_form_check(client_for, database_url, attacker):
    client = client_for("eure-et-loir")
    solved = 0
    for _ in range(SERVED):
        challenge_id = with_db(database_url, lambda sm: issue(sm, tenant="eure-et-loir"))
        served = client.get(f"/captcha/{challenge_id}.wav")
        assert served.status_code == 200 and served.headers["content-type"] == "audio/wav"
        guess = attacker.solve(served.content, captcha.DEFAULT_LENGTH)
        assert len(guess) == captcha.DEFAULT_LENGTH  # the bot did find five spoken characters
        solved += with_db(database_url, lambda sm: _check(sm, challenge_id, guess))
    assert solved <= 1, solved


async def _check(sessionmaker, challenge_id: str, guess: str) -> bool:
    async with sessionmaker() as session:
        return await captcha.check_challenge(session, "eure-et-loir", SECRET, challenge_id, guess)
