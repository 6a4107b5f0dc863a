"""Password verification off the event loop, with bounded concurrency, yielding to the loop.

argon2 holds a core for ~20-100 ms: running it on the event loop would stall every request,
and running unboundedly many at once only queues them in the kernel. The process hashes in as
many threads as it has cores; the rest wait their turn without blocking the loop.

Those threads run at a lower priority (`HASHING_NICENESS`), so that the event loop, woken by a
statement's answer or a new request, takes a core at once instead of waiting behind two
hashes. At equal priority, during a flood of logins, a tenth of a core stayed idle (the next
hash waited for a loop that waited for a core); lowered, 1 %, and more logins per second
(benchmarks/login.py, figures in the README). A page served meanwhile waits less behind the
hashes too."""

from __future__ import annotations

import asyncio
import contextlib
import functools
import os
import threading
from collections.abc import Callable
from concurrent.futures import ThreadPoolExecutor
from typing import TypeVar

from assmat.core.security.passwords import Hasher
from assmat.core.settings import Settings

HASHING_NICENESS = 10  # added to the process's own; Linux's `nice` command uses 10 too

T = TypeVar("T")


def _lower_priority() -> None:
    """Run in each hashing thread as it starts: on Linux a thread has its own nice value."""
    tid = threading.get_native_id()
    with contextlib.suppress(OSError, AttributeError):  # not Linux, or not allowed: equal priority
        os.setpriority(os.PRIO_PROCESS, tid, min(19, os.getpriority(os.PRIO_PROCESS, tid) + HASHING_NICENESS))


@functools.cache
def _hashing_threads() -> ThreadPoolExecutor:
    """The process's one pool, whatever the number of apps or hashers in it (tests build many)."""
    return ThreadPoolExecutor(os.cpu_count() or 2, thread_name_prefix="argon2", initializer=_lower_priority)


# A forked child has none of its parent's threads: it starts its own pool on first use.
os.register_at_fork(after_in_child=_hashing_threads.cache_clear)


async def _in_hashing_thread(fn: Callable[..., T], *args: str) -> T:
    return await asyncio.get_running_loop().run_in_executor(_hashing_threads(), fn, *args)


class AsyncHasher:
    def __init__(self, hasher: Hasher):
        self.hasher = hasher
        # A hash of a random password: verifying against it costs what a real check costs.
        self._dummy_hash = hasher.hash(os.urandom(16).hex())
        self.verifications = 0  # real checks of an account's password (tests count them)
        self.dummy_verifications = 0

    async def hash(self, password: str) -> str:
        return await _in_hashing_thread(self.hasher.hash, password)

    async def verify(self, stored_hash: str, password: str) -> bool:
        self.verifications += 1
        return await _in_hashing_thread(self.hasher.verify, stored_hash, password)

    async def dummy_verify(self, password: str) -> None:
        """The same work as a real check, for unknown, locked or inactive accounts."""
        self.dummy_verifications += 1
        await _in_hashing_thread(self.hasher.verify, self._dummy_hash, password)

    def needs_rehash(self, stored_hash: str) -> bool:
        return self.hasher.needs_rehash(stored_hash)


def make_hasher(settings: Settings) -> AsyncHasher:
    """The process's one hasher (the app's, or a CLI command's): built here only, then passed."""
    return AsyncHasher(Hasher(settings))
