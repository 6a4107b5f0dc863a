"""Fixed-window rate limits kept in the database, so every replica shares them."""

from __future__ import annotations

import hashlib
from datetime import datetime, timedelta

from sqlalchemy import select, update
from sqlalchemy.exc import IntegrityError
from sqlalchemy.ext.asyncio import AsyncSession

from assmat import clock
from assmat.db.models import RateLimitHit


def _window_start(now: datetime, window: timedelta) -> datetime:
    seconds = int(window.total_seconds())
    epoch = int(now.timestamp())
    return datetime.fromtimestamp(epoch - epoch % seconds, tz=now.tzinfo)


async def hit(
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
        return await hit(session, tenant_id, bucket, key, limit=limit, window=window)
    return True
