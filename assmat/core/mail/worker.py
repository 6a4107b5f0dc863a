"""The loop that empties the outbox: inside each web process, or alone (`assmat mail-worker`).

It runs `deliver_due` whenever it is nudged (a request just committed a mail) and otherwise
every few seconds, which also picks up retries and mail queued by other processes. Given a
retention, it also purges expired rows (assmat.core.db.purge) once per `purge_interval`: every
deployment runs a mail worker, so nothing needs a separate scheduler.
"""

from __future__ import annotations

import asyncio
import contextlib
import logging
import signal
import time

from sqlalchemy.ext.asyncio import AsyncSession, async_sessionmaker

from assmat.core.db.purge import PurgeReport, Retention, purge
from assmat.core.mail.sender import DeliveryReport, MailBackend, deliver_due, make_backend
from assmat.core.settings import Settings

log = logging.getLogger("assmat.core.mail")

POLL_INTERVAL = 5.0
PURGE_INTERVAL = 3600.0
# On shutdown the current run may finish its message (SMTP timeout is 10 s) before it is cancelled.
STOP_GRACE = 12.0


class MailWorker:
    def __init__(
        self,
        sessionmaker: async_sessionmaker[AsyncSession],
        backend: MailBackend,
        *,
        poll_interval: float = POLL_INTERVAL,
        batch: int = 20,
        stop_grace: float = STOP_GRACE,
        retention: Retention | None = None,
        purge_interval: float = PURGE_INTERVAL,
    ):
        self.sessionmaker = sessionmaker
        self.backend = backend
        self.poll_interval = poll_interval
        self.batch = batch
        self.stop_grace = stop_grace
        self._wake = asyncio.Event()
        self._stopping = False
        self._loop: asyncio.AbstractEventLoop | None = None
        self._task: asyncio.Task[None] | None = None
        self.last_report: DeliveryReport | None = None
        self.retention = retention
        self.purge_interval = purge_interval
        self._next_purge = 0.0  # monotonic: the first run purges
        self.last_purge: PurgeReport | None = None

    @property
    def running(self) -> bool:
        return self._task is not None and not self._task.done()

    def nudge(self) -> None:
        """Deliver now rather than at the next poll. Cheap, never blocks, callable from any thread."""
        loop = self._loop
        if loop is None or loop.is_closed():
            return  # not running: the next start or another process's worker delivers
        try:
            same_loop = asyncio.get_running_loop() is loop
        except RuntimeError:
            same_loop = False
        if same_loop:
            self._wake.set()
        else:
            loop.call_soon_threadsafe(self._wake.set)

    async def run_once(self) -> DeliveryReport:
        self.last_report = await deliver_due(self.sessionmaker, self.backend, batch=self.batch)
        await self._purge_when_due()
        return self.last_report

    async def _purge_when_due(self) -> None:
        if self.retention is None or time.monotonic() < self._next_purge:
            return
        self._next_purge = time.monotonic() + self.purge_interval
        try:
            self.last_purge = await purge(self.sessionmaker, self.retention)
        except Exception:  # the mail goes on; the next interval tries again
            log.exception("purge failed; retrying in %s s", self.purge_interval)

    async def run_forever(self) -> None:
        self._loop = asyncio.get_running_loop()
        while not self._stopping:
            # Cleared before the run: a nudge that arrives during it triggers another run.
            self._wake.clear()
            try:
                report = await self.run_once()
            except Exception:
                log.exception("mail delivery run failed; retrying in %s s", self.poll_interval)
            else:
                if report.claimed >= self.batch and report.released == 0:
                    continue  # a full batch: more mail is probably due
            if self._stopping:
                break
            with contextlib.suppress(TimeoutError):
                await asyncio.wait_for(self._wake.wait(), self.poll_interval)

    def start(self) -> None:
        """Run in the background of the current event loop (the web app's lifespan)."""
        if self.running:
            return
        self._stopping = False
        self._loop = asyncio.get_running_loop()
        self._task = asyncio.create_task(self.run_forever(), name="assmat-mail-worker")

    async def stop(self) -> None:
        """Let the current run finish (bounded), then end the task. Idempotent."""
        task, self._task = self._task, None
        if task is None:
            return
        self._stopping = True
        self.nudge()
        try:
            await asyncio.wait_for(asyncio.shield(task), self.stop_grace)
        except TimeoutError:
            task.cancel()
            with contextlib.suppress(asyncio.CancelledError):
                await task
        except Exception:
            log.exception("mail worker ended with an error")


async def run_standalone(settings: Settings, *, poll_interval: float = POLL_INTERVAL) -> None:
    """`assmat mail-worker`: deliver until SIGINT or SIGTERM, then stop cleanly."""
    from assmat.core.db.engine import make_engine, make_sessionmaker

    engine = make_engine(settings.database_url)
    worker = MailWorker(make_sessionmaker(engine), make_backend(settings), poll_interval=poll_interval,
                        retention=Retention.from_settings(settings))
    loop = asyncio.get_running_loop()
    stop = asyncio.Event()
    signals = (signal.SIGINT, signal.SIGTERM)
    for signum in signals:
        loop.add_signal_handler(signum, stop.set)
    try:
        worker.start()
        assert worker._task is not None
        stopped = asyncio.create_task(stop.wait())
        await asyncio.wait({worker._task, stopped}, return_when=asyncio.FIRST_COMPLETED)
        stopped.cancel()
    finally:
        for signum in signals:
            loop.remove_signal_handler(signum)
        await worker.stop()
        await engine.dispose()
