"""Password hashing runs off the event loop: in as many threads as there are cores, below the
loop's priority (assmat.core.security.hashing)."""

from __future__ import annotations

import asyncio
import os
import threading
import time

from assmat.core.security import hashing
from assmat.core.security.hashing import HASHING_NICENESS, make_hasher
from assmat.core.settings import Settings


def _priority_and_thread(*_: str) -> tuple[int, int]:
    tid = threading.get_native_id()
    return os.getpriority(os.PRIO_PROCESS, tid), tid


def test_hashing_threads_yield_to_the_event_loop():
    async def main() -> tuple[int, int]:
        return await hashing._in_hashing_thread(_priority_and_thread)

    priority, tid = asyncio.run(main())
    own = os.getpriority(os.PRIO_PROCESS, threading.get_native_id())
    assert tid != threading.get_native_id()
    assert own == os.getpriority(os.PRIO_PROCESS, 0)  # the caller's thread keeps its priority
    assert priority == min(19, own + HASHING_NICENESS)


def test_no_more_hashes_at_once_than_cores():
    cores = os.cpu_count() or 2
    running, most = 0, 0
    lock = threading.Lock()

    def work(*_: str) -> None:
        nonlocal running, most
        with lock:
            running += 1
            most = max(most, running)
        time.sleep(0.05)
        with lock:
            running -= 1

    async def main() -> None:
        await asyncio.gather(*(hashing._in_hashing_thread(work) for _ in range(cores + 3)))

    asyncio.run(main())
    assert most == cores


def test_verify_and_hash_through_the_threads(tmp_path):
    settings = Settings(var_dir=tmp_path, argon2_time_cost=1, argon2_memory_cost=64)
    hasher = make_hasher(settings)

    async def main() -> tuple[bool, bool]:
        stored = await hasher.hash("Un-mot-de-passe-2026")
        return await hasher.verify(stored, "Un-mot-de-passe-2026"), await hasher.verify(stored, "autre chose")

    assert asyncio.run(main()) == (True, False)
    assert hasher.verifications == 2


def test_a_forked_process_hashes_in_threads_of_its_own():
    async def check() -> bool:
        return await hashing._in_hashing_thread(lambda *_: True)

    asyncio.run(check())  # the parent's pool exists, with its threads
    read, write = os.pipe()
    child = os.fork()
    if child == 0:  # the child: its pool must start threads, or the hash would wait forever
        os.close(read)
        ok = False
        try:
            ok = asyncio.run(asyncio.wait_for(check(), 5))
        finally:
            os.write(write, b"1" if ok else b"0")
            os._exit(0)
    os.close(write)
    answer = os.read(read, 1)
    os.waitpid(child, 0)
    assert answer == b"1"
