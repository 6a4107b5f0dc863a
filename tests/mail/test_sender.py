"""Delivery to a real SMTP server: headers and parts, SMTP down then back, retries with backoff,
giving up, crashed workers, concurrent workers, and the file backend."""

from __future__ import annotations

import asyncio
import email
import email.policy
from datetime import timedelta
from email.utils import parsedate_to_datetime

import pytest
from sqlalchemy import select

from assmat.core.mail.models import OutboxMail
from assmat.core.mail.outbox import requeue
from assmat.core.mail.sender import (
    LEASE,
    MAX_ATTEMPTS,
    FileBackend,
    SmtpBackend,
    backoff,
    deliver_due,
    make_backend,
)
from tests.mail import T0, add_tenant_rows, enqueue, frozen_clock, outbox_rows, sessionmaker_for, tenant  # noqa: F401
from tests.support.db import db_session
from tests.support.postgres import free_port

# The outbox claim is FOR UPDATE SKIP LOCKED on PostgreSQL and another statement on SQLite;
# concurrent workers.
pytestmark = pytest.mark.both_backends


def smtp_settings(settings, port: int, **overrides):
    return settings.model_copy(update={"mail_backend": "smtp", "smtp_host": "127.0.0.1", "smtp_port": port, **overrides})


async def queue(database_url: str, *mails: tuple[str, str, str, dict]) -> list[int]:
    """Enqueue (tenant, template, to, context) tuples in one committed transaction."""
    async with sessionmaker_for(database_url) as sessionmaker, sessionmaker() as session:
        rows = [await enqueue(session, tenant(slug), template, to, context) for slug, template, to, context in mails]
        await session.commit()
        return [row.id for row in rows]


def test_backoff_doubles_from_30_seconds_up_to_an_hour():
    delays = [backoff(n).total_seconds() for n in range(1, 12)]
    assert delays == [30, 60, 120, 240, 480, 960, 1920, 3600, 3600, 3600, 3600]


def test_a_queued_mail_reaches_the_smtp_server_with_its_headers_and_both_parts(settings, smtp_server, frozen_clock):
    add_tenant_rows(settings.database_url, "gers")
    asyncio.run(queue(settings.database_url, ("gers", "temporary_password", "marie@exemple.fr", {"password": "R}1SEcGw", "ttl_hours": 72})))
    backend = make_backend(smtp_settings(settings, smtp_server.port))
    assert isinstance(backend, SmtpBackend)

    async def run():
        async with sessionmaker_for(settings.database_url) as sessionmaker:
            return await deliver_due(sessionmaker, backend)

    report = asyncio.run(run())
    assert (report.claimed, report.sent, report.retried, report.failed) == (1, 1, 0, 0)
    [received] = smtp_server.received
    assert received.mail_from == "ne-pas-repondre@gers.fr" and received.rcpt_tos == ["marie@exemple.fr"]
    message = received.message
    assert message["From"] == "Webasma <ne-pas-repondre@gers.fr>"
    assert message["To"] == "marie@exemple.fr"
    assert message["Subject"] == "Demande de modification de mot de passe"
    assert parsedate_to_datetime(message["Date"]) == T0
    assert message["Message-ID"].endswith("@gers.fr>")
    assert message["Auto-Submitted"] == "auto-generated"
    assert message.get_content_type() == "multipart/alternative"
    # On the wire lines end with CRLF.
    text = message.get_body(("plain",)).get_content().replace("\r\n", "\n")
    html = message.get_body(("html",)).get_content()
    assert text.startswith("Bonjour,\n\nVotre nouveau mot de passe est : R}1SEcGw\n\n")
    assert text.rstrip().endswith("Cordialement")
    assert "Votre nouveau mot de passe est : R}1SEcGw" in html and "#00558c" in html

    [row] = outbox_rows(settings.database_url)
    assert (row.status, row.attempts, row.sent_at, row.claimed_until) == ("sent", 1, T0, None)
    assert asyncio.run(run()).claimed == 0  # nothing is sent twice


def test_smtp_down_keeps_the_mail_and_delivers_it_once_when_smtp_is_back(settings, smtp_server, frozen_clock):
    add_tenant_rows(settings.database_url, "gers")
    asyncio.run(queue(settings.database_url, ("gers", "account_locked", "marie@exemple.fr", {})))
    down = make_backend(smtp_settings(settings, free_port()))  # nothing listens there
    up = make_backend(smtp_settings(settings, smtp_server.port))

    async def run(backend):
        async with sessionmaker_for(settings.database_url) as sessionmaker:
            return await deliver_due(sessionmaker, backend)

    report = asyncio.run(run(down))
    assert (report.sent, report.retried) == (0, 1)
    [row] = outbox_rows(settings.database_url)
    assert (row.status, row.attempts, row.next_attempt_at) == ("pending", 1, T0 + timedelta(seconds=30))
    assert row.last_error and "refused" in row.last_error.lower() and len(row.last_error) <= 300

    # Not due yet: even with SMTP back, the retry waits for its time.
    frozen_clock.advance(timedelta(seconds=29))
    assert asyncio.run(run(up)).claimed == 0
    assert smtp_server.messages == []

    frozen_clock.advance(timedelta(seconds=1))
    assert asyncio.run(run(up)).sent == 1
    frozen_clock.advance(timedelta(hours=2))
    assert asyncio.run(run(up)).claimed == 0
    [message] = smtp_server.messages
    assert message["Subject"] == "Webasma - Compte bloqué"
    [row] = outbox_rows(settings.database_url)
    assert (row.status, row.attempts, row.sent_at) == ("sent", 2, T0 + timedelta(seconds=30))


def test_retries_back_off_then_give_up_and_a_requeued_mail_goes_out(settings, smtp_server, frozen_clock):
    add_tenant_rows(settings.database_url, "gers")
    [mail_id] = asyncio.run(queue(settings.database_url, ("gers", "account_locked", "marie@exemple.fr", {})))
    down = make_backend(smtp_settings(settings, free_port()))
    up = make_backend(smtp_settings(settings, smtp_server.port))

    async def run(backend):
        async with sessionmaker_for(settings.database_url) as sessionmaker:
            return await deliver_due(sessionmaker, backend)

    waits = []
    for attempt in range(1, MAX_ATTEMPTS + 1):
        report = asyncio.run(run(down))
        assert report.claimed == 1
        [row] = outbox_rows(settings.database_url)
        assert row.attempts == attempt
        if attempt < MAX_ATTEMPTS:
            assert row.status == "pending"
            waits.append((row.next_attempt_at - frozen_clock.at).total_seconds())
            frozen_clock.at = row.next_attempt_at
    assert waits == [30, 60, 120, 240, 480, 960, 1920, 3600, 3600, 3600, 3600]
    [row] = outbox_rows(settings.database_url)
    assert (row.status, row.attempts) == ("failed", MAX_ATTEMPTS) and row.last_error
    frozen_clock.advance(timedelta(days=30))
    assert asyncio.run(run(up)).claimed == 0  # failed mail stays, visible, not retried by itself
    assert smtp_server.messages == []

    async def retry():
        async with sessionmaker_for(settings.database_url) as sessionmaker, sessionmaker() as session:
            assert await requeue(session, tenant("gers"), mail_id)
            await session.commit()

    asyncio.run(retry())
    assert asyncio.run(run(up)).sent == 1
    assert len(smtp_server.messages) == 1


def test_the_error_kept_never_shows_the_smtp_password(settings, smtp_server, frozen_clock):
    add_tenant_rows(settings.database_url, "gers")
    asyncio.run(queue(settings.database_url, ("gers", "account_locked", "marie@exemple.fr", {})))
    # aiosmtpd offers no AUTH here: the login fails after the password was handed to smtplib.
    backend = make_backend(smtp_settings(settings, smtp_server.port, smtp_username="assmat", smtp_password="Sup3r-S3cret!"))

    async def run():
        async with sessionmaker_for(settings.database_url) as sessionmaker:
            return await deliver_due(sessionmaker, backend)

    assert asyncio.run(run()).retried == 1
    [row] = outbox_rows(settings.database_url)
    assert row.status == "pending" and "AUTH" in row.last_error
    assert "Sup3r-S3cret!" not in row.last_error
    assert smtp_server.messages == []


def test_a_mail_left_sending_by_a_crashed_worker_is_taken_again_after_its_claim(settings, smtp_server, frozen_clock):
    add_tenant_rows(settings.database_url, "gers")
    asyncio.run(
        queue(
            settings.database_url,
            ("gers", "account_locked", "crashed@exemple.fr", {}),
            ("gers", "account_locked", "busy@exemple.fr", {}),
        )
    )
    with db_session(settings.database_url) as session:
        crashed, busy = session.scalars(select(OutboxMail).order_by(OutboxMail.id)).all()
        crashed.status, crashed.attempts, crashed.claimed_until = "sending", 1, T0 - timedelta(seconds=1)
        busy.status, busy.attempts, busy.claimed_until = "sending", 1, T0 + timedelta(minutes=1)
        session.commit()
    backend = make_backend(smtp_settings(settings, smtp_server.port))

    async def run():
        async with sessionmaker_for(settings.database_url) as sessionmaker:
            return await deliver_due(sessionmaker, backend)

    assert asyncio.run(run()).sent == 1
    assert [m["To"] for m in smtp_server.messages] == ["crashed@exemple.fr"]
    crashed, busy = outbox_rows(settings.database_url)
    assert (crashed.status, crashed.attempts) == ("sent", 2)
    assert busy.status == "sending"  # its worker may still be sending it


class BlockingBackend:
    """Accepts nothing: each send waits until the test cancels the run."""

    description = "blocking"

    def __init__(self) -> None:
        self.started = asyncio.Event()

    async def send(self, message) -> None:
        self.started.set()
        await asyncio.Event().wait()


def test_a_run_cancelled_at_shutdown_hands_back_the_mails_it_had_not_tried(settings, frozen_clock):
    add_tenant_rows(settings.database_url, "gers")
    asyncio.run(queue(settings.database_url, *[("gers", "account_locked", f"u{i}@exemple.fr", {}) for i in range(3)]))

    async def run():
        backend = BlockingBackend()
        async with sessionmaker_for(settings.database_url) as sessionmaker:
            task = asyncio.create_task(deliver_due(sessionmaker, backend))
            await asyncio.wait_for(backend.started.wait(), 10)
            task.cancel()
            with pytest.raises(asyncio.CancelledError):
                await task

    asyncio.run(run())
    in_flight, *untried = outbox_rows(settings.database_url)
    # The one being sent may have reached the server: it waits for its claim to expire.
    assert (in_flight.status, in_flight.attempts, in_flight.claimed_until) == ("sending", 1, T0 + LEASE)
    assert [(r.status, r.attempts, r.claimed_until) for r in untried] == [("pending", 0, None)] * 2


def test_two_workers_at_once_deliver_each_mail_exactly_once(settings, smtp_server, frozen_clock):
    add_tenant_rows(settings.database_url, "gers", "cestas")
    count = 30
    asyncio.run(
        queue(
            settings.database_url,
            *[("gers" if i % 2 else "cestas", "account_locked", f"user{i}@exemple.fr", {}) for i in range(count)],
        )
    )
    backend = make_backend(smtp_settings(settings, smtp_server.port))

    async def drain(sessionmaker) -> int:
        sent = 0
        while (report := await deliver_due(sessionmaker, backend, batch=4)).claimed:
            sent += report.sent
        return sent

    async def run():
        # Two engines: two independent connection pools, as two processes would have.
        async with sessionmaker_for(settings.database_url) as first, sessionmaker_for(settings.database_url) as second:
            return await asyncio.gather(drain(first), drain(second))

    sent = asyncio.run(run())
    assert sum(sent) == count
    received = smtp_server.messages
    assert len(received) == count
    assert sorted(m["To"] for m in received) == sorted(f"user{i}@exemple.fr" for i in range(count))
    assert len({m["Message-ID"] for m in received}) == count
    assert {(r.status, r.attempts) for r in outbox_rows(settings.database_url)} == {("sent", 1)}


# Row locks with SKIP LOCKED are PostgreSQL's; SQLite serialises writers (covered above).
@pytest.mark.parametrize("database_url", ["postgresql"], indirect=True)
def test_postgresql_workers_skip_rows_another_worker_holds(settings, smtp_server, frozen_clock):
    add_tenant_rows(settings.database_url, "gers")
    ids = asyncio.run(queue(settings.database_url, *[("gers", "account_locked", f"u{i}@exemple.fr", {}) for i in range(5)]))
    backend = make_backend(smtp_settings(settings, smtp_server.port))

    async def run():
        async with sessionmaker_for(settings.database_url) as holder, sessionmaker_for(settings.database_url) as worker:
            async with holder() as session, session.begin():
                # Another worker's claim transaction, caught between its SELECT and its UPDATE.
                await session.scalars(select(OutboxMail.id).where(OutboxMail.id.in_(ids[:2])).with_for_update())
                return await asyncio.wait_for(deliver_due(worker, backend), 10)  # no waiting on the lock

    report = asyncio.run(run())
    assert report.sent == 3
    assert sorted(m["To"] for m in smtp_server.messages) == ["u2@exemple.fr", "u3@exemple.fr", "u4@exemple.fr"]
    assert [r.status for r in outbox_rows(settings.database_url)] == ["pending", "pending", "sent", "sent", "sent"]


def test_the_file_backend_writes_readable_eml_files(settings, frozen_clock):
    add_tenant_rows(settings.database_url, "cestas")
    url = "https://portail-familles.mairie-cestas.fr/reinitialisation/tok3n"
    asyncio.run(queue(settings.database_url, ("cestas", "reset_link", "famille@exemple.fr", {"url": url, "ttl_hours": 48})))
    backend = make_backend(settings)  # the test settings use MAIL_BACKEND=file
    assert isinstance(backend, FileBackend) and backend.directory == settings.var_dir / "mail"

    async def run():
        async with sessionmaker_for(settings.database_url) as sessionmaker:
            return await deliver_due(sessionmaker, backend)

    assert asyncio.run(run()).sent == 1
    [path] = list((settings.var_dir / "mail").iterdir())
    assert path.suffix == ".eml"
    message = email.message_from_bytes(path.read_bytes(), policy=email.policy.default)
    assert message["From"] == "Portail Familles - Ville de Cestas <webmaster@mairie-cestas.fr>"
    assert message["To"] == "famille@exemple.fr"
    assert message["Subject"] == "Réinitialisation de votre mot de passe"
    assert url in message.get_body(("plain",)).get_content()
    assert f'href="{url}"' in message.get_body(("html",)).get_content()
    [row] = outbox_rows(settings.database_url)
    assert row.status == "sent"


def test_each_file_gets_its_own_name(tmp_path, frozen_clock):
    from email.message import EmailMessage

    backend = FileBackend(tmp_path / "mail")
    message = EmailMessage()
    message["Subject"] = "x"
    message.set_content("y")

    async def run():
        await asyncio.gather(*[backend.send(message) for _ in range(5)])

    asyncio.run(run())
    assert len(list((tmp_path / "mail").glob("*.eml"))) == 5
    assert not list((tmp_path / "mail").glob(".*"))  # no partial file left behind


def test_a_delivered_mail_keeps_no_secret_in_the_outbox(settings, smtp_server, frozen_clock):
    """The temporary password and the live link reach the SMTP server, then the row keeps only
    what the console shows: template, sender, recipient, subject, status and dates."""
    add_tenant_rows(settings.database_url, "gers", "cestas")
    link = "https://portail-familles.mairie-cestas.fr/reinitialisation/LIVE-TOKEN-abc123"
    asyncio.run(queue(settings.database_url,
                      ("gers", "temporary_password", "marie@exemple.fr", {"password": "SECRET-Xy12"}),
                      ("cestas", "reset_link", "paul@exemple.fr", {"url": link, "ttl_hours": 48})))
    backend = make_backend(smtp_settings(settings, smtp_server.port))

    async def run():
        async with sessionmaker_for(settings.database_url) as sessionmaker:
            return await deliver_due(sessionmaker, backend)

    assert asyncio.run(run()).sent == 2
    received = {m["To"]: m.get_body(("plain",)).get_content() + m.get_body(("html",)).get_content()
                for m in smtp_server.messages}
    assert "SECRET-Xy12" in received["marie@exemple.fr"] and link in received["paul@exemple.fr"]
    rows = outbox_rows(settings.database_url)
    for row in rows:
        assert (row.body_text, row.body_html) == ("", None)
        assert (row.status, row.sent_at) == ("sent", T0)
    assert [(r.template, r.recipient, r.subject) for r in rows] == [
        ("temporary_password", "marie@exemple.fr", "Demande de modification de mot de passe"),
        ("reset_link", "paul@exemple.fr", "Réinitialisation de votre mot de passe"),
    ]
    with db_session(settings.database_url) as session:  # nowhere in the table, not only in the body columns
        dump = " ".join(str(v) for row in session.execute(select(OutboxMail)).all() for v in row.OutboxMail.__dict__.values())
    assert "SECRET-Xy12" not in dump and "LIVE-TOKEN" not in dump


def test_a_mail_waiting_for_a_retry_keeps_its_body(settings, smtp_server, frozen_clock):
    add_tenant_rows(settings.database_url, "gers")
    asyncio.run(queue(settings.database_url, ("gers", "temporary_password", "marie@exemple.fr", {"password": "SECRET-Xy12"})))
    down = make_backend(smtp_settings(settings, free_port()))

    async def run():
        async with sessionmaker_for(settings.database_url) as sessionmaker:
            return await deliver_due(sessionmaker, down)

    assert asyncio.run(run()).retried == 1
    [row] = outbox_rows(settings.database_url)
    assert "SECRET-Xy12" in row.body_text and row.status == "pending"
