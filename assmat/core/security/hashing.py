"""Password verification off the event loop, with bounded concurrency.

argon2 holds a core for ~20-100 ms: running it on the event loop would stall every request,
and running unboundedly many at once only queues them in the kernel. A capacity limiter keeps
as many in flight as there are cores; the rest wait their turn without blocking the loop."""

from __future__ import annotations

import os

import anyio

from assmat.core.security.passwords import Hasher
from assmat.core.settings import Settings


class AsyncHasher:
    def __init__(self, hasher: Hasher, concurrency: int | None = None):
        self.hasher = hasher
        self.limiter = anyio.CapacityLimiter(concurrency or os.cpu_count() or 2)
        # A hash of a random password: verifying against it costs what a real check costs.
        self._dummy_hash = hasher.hash(os.urandom(16).hex())
        self.verifications = 0  # real checks of an account's password (tests count them)
        self.dummy_verifications = 0

    async def hash(self, password: str) -> str:
        return await anyio.to_thread.run_sync(self.hasher.hash, password, limiter=self.limiter)

    async def verify(self, stored_hash: str, password: str) -> bool:
        self.verifications += 1
        return await anyio.to_thread.run_sync(self.hasher.verify, stored_hash, password, limiter=self.limiter)

    async def dummy_verify(self, password: str) -> None:
        """The same work as a real check, for unknown, locked or inactive accounts."""
        self.dummy_verifications += 1
        await anyio.to_thread.run_sync(self.hasher.verify, self._dummy_hash, password, limiter=self.limiter)

    def needs_rehash(self, stored_hash: str) -> bool:
        return self.hasher.needs_rehash(stored_hash)


def make_hasher(settings: Settings) -> AsyncHasher:
    """The process's one hasher (the app's, or a CLI command's): built here only, then passed."""
    return AsyncHasher(Hasher(settings))
