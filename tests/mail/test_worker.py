"""The worker: a nudge sends at once, it stops cleanly, the web app runs it in-process, and
`assmat mail-worker` runs it alone until Ctrl+C or SIGTERM."""

from __future__ import annotations

import asyncio
import os
import signal
import subprocess
import sys
import time

import pytest
from sqlalchemy import select
from starlette.testclient import TestClient

from assmat.core.mail.models import OutboxMail
from assmat.core.mail.sender import SmtpBackend
from assmat.core.mail.worker import STOP_GRACE, MailWorker
from tests.conftest import REPO, make_settings
from tests.mail import add_tenant_rows, enqueue, frozen_clock, outbox_rows, sessionmaker_for, tenant  # noqa: F401
from tests.support.db import db_session

# The worker claims mail (FOR UPDATE SKIP LOCKED on PostgreSQL) and purges, in the app and as
# `assmat mail-worker`.
pytestmark = pytest.mark.both_backends


def smtp_settings(settings, port: int, **overrides):
    return settings.model_copy(update={"mail_backend": "smtp", "smtp_host": "127.0.0.1", "smtp_port": port, **overrides})


def test_a_nudge_sends_at_once_without_waiting_for_the_next_poll(settings, smtp_server, frozen_clock):
    add_tenant_rows(settings.database_url, "gers")
    backend = SmtpBackend(smtp_settings(settings, smtp_server.port))

    async def run():
        async with sessionmaker_for(settings.database_url) as sessionmaker:
            worker = MailWorker(sessionmaker, backend, poll_interval=3600)  # only a nudge can wake it
            worker.start()
            try:
                while worker.last_report is None:  # its first run, on an empty outbox
                    await asyncio.sleep(0.01)
                async with sessionmaker() as session:
                    await enqueue(session, tenant("gers"), "account_locked", "marie@exemple.fr", {})
                    await session.commit()
                worker.nudge()
                messages = await smtp_server.wait_for_async(1, timeout=10)
            finally:
                await worker.stop()
            assert not worker.running
            return messages

    [message] = asyncio.run(run())
    assert message["Subject"] == "Webasma - Compte bloqué"
    [row] = outbox_rows(settings.database_url)
    assert row.status == "sent"


def test_the_commit_that_queued_a_mail_wakes_the_sender_and_a_rollback_does_not(settings, smtp_server, frozen_clock):
    """The unit of work (make_sessionmaker): nobody nudges by hand, and a rolled-back mail wakes nothing."""
    from assmat.core.db.engine import make_engine, make_sessionmaker

    add_tenant_rows(settings.database_url, "gers")
    backend = SmtpBackend(smtp_settings(settings, smtp_server.port))

    async def run():
        engine = make_engine(settings.database_url)
        wakes: list[str] = []
        worker: MailWorker | None = None

        def wake() -> None:
            wakes.append("wake")
            assert worker is not None
            worker.nudge()

        sessionmaker = make_sessionmaker(engine, wake)
        worker = MailWorker(sessionmaker, backend, poll_interval=3600)  # only a wake can make it send
        worker.start()
        try:
            while worker.last_report is None:
                await asyncio.sleep(0.01)
            async with sessionmaker() as session:
                await enqueue(session, tenant("gers"), "account_locked", "annule@exemple.fr", {})
                await session.rollback()
            async with sessionmaker() as session:
                await session.commit()  # a commit without mail wakes nothing either
            assert wakes == []
            async with sessionmaker() as session:
                await enqueue(session, tenant("gers"), "account_locked", "marie@exemple.fr", {})
                await session.commit()
            assert wakes == ["wake"]
            messages = await smtp_server.wait_for_async(1, timeout=10)
        finally:
            await worker.stop()
            await engine.dispose()
        return messages

    [message] = asyncio.run(run())
    assert message["To"] == "marie@exemple.fr"
    [row] = outbox_rows(settings.database_url)
    assert row.status == "sent"


def test_stop_is_clean_and_idempotent_even_when_never_started(settings):
    async def run():
        async with sessionmaker_for(settings.database_url) as sessionmaker:
            idle = MailWorker(sessionmaker, SmtpBackend(settings))
            idle.nudge()  # not running: nothing happens, nothing breaks
            await idle.stop()
            worker = MailWorker(sessionmaker, SmtpBackend(settings), poll_interval=3600)
            worker.start()
            assert worker.running
            started = time.monotonic()
            await worker.stop()
            await worker.stop()
            return worker.running, time.monotonic() - started

    running, stop_duration = asyncio.run(run())
    assert running is False
    assert stop_duration < STOP_GRACE / 2  # it stopped by itself, it was not cancelled at the deadline


def test_the_web_app_delivers_in_process_and_stops_its_worker_on_shutdown(tmp_path, database_url, smtp_server):
    from assmat.app import create_app

    settings = make_settings(tmp_path, database_url, mail_backend="smtp", smtp_host="127.0.0.1", smtp_port=smtp_server.port)
    app = create_app(settings)
    with TestClient(app):
        worker = app.state.mail_worker
        assert worker.running
        with db_session(database_url) as session:  # the app's start-up created the tenant rows
            session.add(
                OutboxMail(
                    tenant_id="gers", template="account_locked", sender="Webasma <ne-pas-repondre@gers.fr>",
                    recipient="marie@exemple.fr", subject="Webasma - Compte bloqué", body_text="Bonjour,",
                )
            )
            session.commit()
        worker.nudge()  # from another thread than the app's loop, as a sync caller would
        [message] = smtp_server.wait_for(1, timeout=10)
    assert not worker.running
    assert message["To"] == "marie@exemple.fr"
    assert [r.status for r in outbox_rows(database_url)] == ["sent"]


def test_the_in_process_worker_can_be_turned_off(tmp_path, database_url):
    from assmat.app import create_app

    app = create_app(make_settings(tmp_path, database_url, mail_in_process=False))
    with TestClient(app):
        assert isinstance(app.state.mail_worker, MailWorker)
        assert not app.state.mail_worker.running
        app.state.mail_worker.nudge()  # harmless: another process delivers


@pytest.mark.parametrize("signum", [signal.SIGINT, signal.SIGTERM], ids=["SIGINT", "SIGTERM"])
def test_the_mail_worker_command_delivers_and_stops_on_a_signal(tmp_path, sqlite_template, signum):
    import shutil

    database = tmp_path / "assmat.db"
    shutil.copy(sqlite_template, database)
    database_url = f"sqlite:///{database}"
    add_tenant_rows(database_url, "gers")
    with db_session(database_url) as session:
        session.add(
            OutboxMail(
                tenant_id="gers", template="account_locked", sender="Webasma <ne-pas-repondre@gers.fr>",
                recipient="marie@exemple.fr", subject="Webasma - Compte bloqué", body_text="Bonjour,",
            )
        )
        session.commit()
    env = {
        **os.environ,
        "ASSMAT_DATABASE_URL": database_url,
        "ASSMAT_VAR_DIR": str(tmp_path / "var"),
        "ASSMAT_MAIL_BACKEND": "file",
        "ASSMAT_SECRET_KEY": "test-secret-key-not-for-production",
    }
    process = subprocess.Popen(
        [sys.executable, "-m", "assmat", "mail-worker"],
        cwd=REPO, env=env, stdout=subprocess.PIPE, stderr=subprocess.PIPE, text=True,
    )
    try:
        mail_dir = tmp_path / "var" / "mail"
        deadline = time.monotonic() + 30
        while not (mail_dir.is_dir() and list(mail_dir.glob("*.eml"))):
            assert process.poll() is None, process.communicate()
            assert time.monotonic() < deadline, "no .eml written"
            time.sleep(0.05)
        process.send_signal(signum)
        stdout, stderr = process.communicate(timeout=20)
    finally:
        if process.poll() is None:
            process.kill()
            process.communicate()
    assert process.returncode == 0, stderr
    assert "Ctrl+C" in stdout and "arrêté" in stdout
    assert "Traceback" not in stderr
    with db_session(database_url) as session:
        assert session.scalars(select(OutboxMail.status)).all() == ["sent"]
