"""Fixed-window rate limits kept in the database, so every replica shares them."""

from __future__ import annotations

import hashlib
from dataclasses import dataclass
from datetime import datetime, timedelta

from sqlalchemy import select, update
from sqlalchemy.exc import IntegrityError
from sqlalchemy.ext.asyncio import AsyncSession

from assmat.core import clock
from assmat.core.security.models import RateLimitHit


def _window_start(now: datetime, window: timedelta) -> datetime:
    seconds = int(window.total_seconds())
    epoch = int(now.timestamp())
    return datetime.fromtimestamp(epoch - epoch % seconds, tz=now.tzinfo)


async def _hit(
    session: AsyncSession, tenant_id: str, bucket: str, key: str, *, limit: int, window: timedelta
) -> bool:
    """Count one hit; False when this key already used its `limit` hits in the current window.

    Keys are hashed: an identifier or an IP address is not stored in clear for this."""
    hashed = hashlib.sha256(f"{bucket}\x1f{key}".encode()).hexdigest()
    start = _window_start(clock.now(), window)
    where = (
        RateLimitHit.tenant_id == tenant_id,
        RateLimitHit.bucket == bucket,
        RateLimitHit.key == hashed,
        RateLimitHit.window_start == start,
    )
    bumped = await session.execute(
        update(RateLimitHit).where(*where, RateLimitHit.count < limit).values(count=RateLimitHit.count + 1).returning(RateLimitHit.id)
    )
    if bumped.scalar() is not None:
        return True
    if await session.scalar(select(RateLimitHit.id).where(*where)) is not None:
        return False  # window full
    try:
        async with session.begin_nested():
            session.add(RateLimitHit(tenant_id=tenant_id, bucket=bucket, key=hashed, window_start=start, count=1))
    except IntegrityError:  # a parallel request created the window first: count against it
        return await _hit(session, tenant_id, bucket, key, limit=limit, window=window)
    return True


@dataclass(frozen=True)
class RateLimit:
    """A named limit: at most `limit` hits per `window` for one key of one bucket. Every limit of
    the platform is one of the constants below, so they can be read (and tuned) in one place."""

    bucket: str
    limit: int
    window: timedelta

    async def hit(self, session: AsyncSession, tenant_id: str, key: str) -> bool:
        return await _hit(session, tenant_id, self.bucket, key, limit=self.limit, window=self.window)


# Anonymous requests that write rows are capped per client, so that no one fills the tables
# (the purge only removes what has expired).
# Each view of a form with a captcha issues a challenge (a row, alive ten minutes): a person
# reloads a page a few times, a bot thousands.
CAPTCHA_ISSUE = RateLimit("captcha_issue", limit=30, window=timedelta(minutes=10))
# Each render draws fresh noise: many renders of one code could be averaged by a bot. Counted
# per challenge, once the challenge is known to exist.
CAPTCHA_RENDER = RateLimit("captcha_render", limit=6, window=timedelta(minutes=10))
# Submissions of a form that carries a captcha, per client address: the captcha is not the only
# brake on a bot that solves it (sign-in, forgot password, and any form that shows one).
CAPTCHA_FORM = RateLimit("captcha_form", limit=10, window=timedelta(minutes=10))

# Account flows, per identifier and per client: a person asks again a few times, a bot thousands.
RESET_PER_ACCOUNT = RateLimit("reset", limit=5, window=timedelta(hours=1))
ACTIVATION_PER_IDENTIFIER = RateLimit("activation", limit=5, window=timedelta(hours=1))  # key "id:…"
ACTIVATION_PER_IP = RateLimit("activation", limit=30, window=timedelta(hours=1))  # key "ip:…"
# Forms that mail the staff: a visitor's questions, an assistant's real changes; not a relay.
CONTACT_PER_IP = RateLimit("contact", limit=5, window=timedelta(hours=1))
# The habilitation request form (seed 004): a person sends one, maybe two.
HABILITATION_PER_IP = RateLimit("habilitation", limit=5, window=timedelta(hours=1))
# « Créer mon compte famille »: a family registers once, maybe twice after a typo.
REGISTRATION_PER_IP = RateLimit("registration", limit=5, window=timedelta(hours=1))
# A family's contact requests to assistants (issue 13): a family writes to a few, a spammer to all.
CONTACT_REQUESTS_PER_FAMILY = RateLimit("family_contact", limit=5, window=timedelta(days=1))
SITUATION_CHANGE_PER_ACCOUNT = RateLimit("situation_change", limit=5, window=timedelta(days=1))
# Her requests to move her fiche's position (each replaces the one before): staff read the last.
CORRECTIONS_PER_ACCOUNT = RateLimit("position_correction", limit=5, window=timedelta(days=1))
# Each photo sent is decoded and re-encoded (up to 50 million pixels): a person sends a few, and
# tries again after a refusal; a script sending thousands would only keep the processors busy.
PHOTO_UPLOADS_PER_ACCOUNT = RateLimit("photo_upload", limit=20, window=timedelta(hours=1))


class LocalRateLimit:
    """A fixed-window limit counted in this process's memory: no database write, for requests
    that must stay cheap (the parents' search). Per process: with N workers a client gets at most
    N × `limit` hits per window, which is still a brake on scraping and never on a parent. Keys
    are hashed like the database's; the windows of the past are forgotten as a new one opens."""

    def __init__(self, bucket: str, limit: int, window: timedelta, max_keys: int = 100_000):
        self.bucket, self.limit, self.window, self.max_keys = bucket, limit, window, max_keys
        self._start: datetime | None = None
        self._counts: dict[str, int] = {}

    def hit(self, tenant_id: str, key: str) -> bool:
        """Count one hit; False when this key already used its `limit` hits in this window."""
        start = _window_start(clock.now(), self.window)
        if start != self._start or len(self._counts) >= self.max_keys:
            self._start, self._counts = start, {}
        hashed = hashlib.sha256(f"{self.bucket}\x1f{tenant_id}\x1f{key}".encode()).hexdigest()
        count = self._counts.get(hashed, 0)
        if count >= self.limit:
            return False
        self._counts[hashed] = count + 1
        return True

    def reset(self) -> None:
        self._start, self._counts = None, {}


# The parents' search, per client address: a parent refines and pages through a few dozen
# searches; a scraper walking a département's communes needs thousands. In memory (see
# LocalRateLimit): a search stays a few reads.
SEARCH_PER_IP = LocalRateLimit("search", limit=120, window=timedelta(minutes=10))
