"""The purge (`assmat purge`, and the mail worker every hour): what outlived its retention goes,
in batches, on both backends, with a frozen clock; what may still serve stays."""

from __future__ import annotations

import asyncio
import os
import subprocess
import sys
from datetime import UTC, datetime, timedelta

import pytest
from sqlalchemy import select

from assmat.core import clock
from assmat.auth.models import Account, Admin, CaptchaChallenge, UserSession
from assmat.core.mail.models import OutboxMail
from assmat.core.security.models import AccountToken, RateLimitHit
from assmat.tenants.models import TenantRow
from assmat.auth.franceconnect.models import FranceConnectRequest
from assmat.core.db.purge import Retention, purge
from assmat.core.mail.sender import FileBackend
from assmat.core.mail.worker import MailWorker
from tests.conftest import REPO
from tests.mail import sessionmaker_for
from tests.support.db import db_session

# The purge deletes in batches by rowcount, on each backend.
pytestmark = pytest.mark.both_backends

NOW = datetime(2026, 3, 2, 12, 0, tzinfo=UTC)
RETENTION = Retention()  # the defaults: captchas 1 h, rate limits 2 d, sessions 1 d, tokens 7 d, mail 30 d
H, D = timedelta(hours=1), timedelta(days=1)


@pytest.fixture
def frozen():
    clock.set_clock(lambda: NOW)
    try:
        yield NOW
    finally:
        clock.set_clock(None)


def seed(database_url: str) -> dict[str, set[str]]:
    """Rows named `gone-…` outlived their retention; `kept-…` may still serve. Returns the names
    expected to stay, per table."""
    with db_session(database_url) as db:
        db.add_all([TenantRow(slug="gers", name="Gers"), TenantRow(slug="cestas", name="Cestas")])
        db.flush()
        account = Account(tenant_id="gers", identifier="agr-1", email="a@example.org", email_key="a@example.org")
        other = Account(tenant_id="cestas", identifier="famille", email="f@example.org", email_key="f@example.org")
        admin = Admin(tenant_id="gers", email="s@gers.fr", email_key="s@gers.fr", role="admin")
        db.add_all([account, other, admin])
        db.flush()

        def captcha(name, expires, used=None):
            return CaptchaChallenge(id=name, tenant_id="gers", answer_hash="h", created_at=expires - timedelta(minutes=10),
                                    expires_at=expires, used_at=used)

        db.add_all([
            captcha("gone-expired", NOW - H - timedelta(seconds=1)),
            captcha("gone-used", NOW + 5 * H, used=NOW - 2 * H),
            captcha("kept-expired-recently", NOW - 30 * H / 60),
            captcha("kept-live", NOW + H / 6),
        ])
        for name, expires, used in (("gone-trip", NOW - H - timedelta(seconds=1), None), ("gone-used-trip", NOW + H / 6, NOW - 2 * H),
                                    ("kept-trip", NOW - H / 2, None), ("kept-live-trip", NOW + H / 6, None)):
            db.add(FranceConnectRequest(id=name, tenant_id="gers", purpose="login", browser_hash="b" * 64, nonce="n",
                                        created_at=NOW - H, expires_at=expires, used_at=used))
        for name, start in (("gone-window", NOW - 2 * D - H), ("kept-window", NOW - D), ("kept-current", NOW)):
            db.add(RateLimitHit(tenant_id="cestas", bucket=name, key="k" * 64, window_start=start, count=3))
        for name, expires, tenant, who in (("gone-s", NOW - D - H, "gers", account), ("gone-s2", NOW - 3 * D, "cestas", other),
                                           ("kept-s", NOW - H, "gers", account), ("kept-live-s", NOW + H, "cestas", other)):
            db.add(UserSession(id=name, tenant_id=tenant, account_id=who.id, expires_at=expires))
        for name, expires in (("gone-a", NOW - 2 * D), ("kept-a", NOW - H), ("kept-live-a", NOW + H)):
            db.add(UserSession(id=name, admin_id=admin.id, tenant_id="gers", expires_at=expires))

        def token(model, name, expires, used=None, **owner):
            return model(token_hash=name.ljust(64, "x"), purpose=name, expires_at=expires, used_at=used, **owner)

        db.add_all([
            token(AccountToken, "gone-expired", NOW - 8 * D, tenant_id="gers", account_id=account.id),
            token(AccountToken, "gone-used", NOW + 20 * D, used=NOW - 8 * D, tenant_id="cestas", account_id=other.id),
            token(AccountToken, "kept-used", NOW + D, used=NOW - D, tenant_id="gers", account_id=account.id),
            token(AccountToken, "kept-live", NOW + 2 * D, tenant_id="gers", account_id=account.id),
            token(AccountToken, "gone-admin", NOW - 8 * D, tenant_id="gers", admin_id=admin.id),
            token(AccountToken, "kept-admin", NOW + D, tenant_id="gers", admin_id=admin.id),
        ])

        def mail(name, status, sent=None, last_try=NOW):
            return OutboxMail(tenant_id="gers", template="account_locked", sender="s@gers.fr", recipient="a@example.org",
                              subject=name, body_text="", status=status, next_attempt_at=last_try,
                              created_at=last_try - H, sent_at=sent)

        db.add_all([
            mail("gone-sent", "sent", sent=NOW - 31 * D, last_try=NOW - 31 * D),
            mail("gone-failed", "failed", last_try=NOW - 31 * D),
            mail("kept-sent", "sent", sent=NOW - 29 * D, last_try=NOW - 29 * D),
            mail("kept-pending", "pending", last_try=NOW - 60 * D),  # never purged before delivery
            mail("kept-sending", "sending", last_try=NOW - 60 * D),
        ])
        db.commit()
    return {
        "captcha_challenges": {"kept-expired-recently", "kept-live"},
        "franceconnect_requests": {"kept-trip", "kept-live-trip"},
        "rate_limits": {"kept-window", "kept-current"},
        "sessions": {"kept-s", "kept-live-s", "kept-a", "kept-live-a"},  # the portal's and a console's
        "account_tokens": {"kept-used", "kept-live", "kept-admin"},
        "outbox": {"kept-sent", "kept-pending", "kept-sending"},
    }


def remaining(database_url: str) -> dict[str, set[str]]:
    with db_session(database_url) as db:
        return {
            "captcha_challenges": set(db.scalars(select(CaptchaChallenge.id))),
            "franceconnect_requests": set(db.scalars(select(FranceConnectRequest.id))),
            "rate_limits": set(db.scalars(select(RateLimitHit.bucket))),
            "sessions": set(db.scalars(select(UserSession.id))),
            "account_tokens": set(db.scalars(select(AccountToken.purpose))),
            "outbox": set(db.scalars(select(OutboxMail.subject))),
        }


def run_purge(database_url: str, **kwargs):
    async def run():
        async with sessionmaker_for(database_url) as sessionmaker:
            return await purge(sessionmaker, RETENTION, **kwargs)

    return asyncio.run(run())


def test_purge_deletes_what_outlived_its_retention_and_keeps_the_rest(database_url, frozen):
    kept = seed(database_url)
    report = run_purge(database_url, batch=1)  # one row per transaction: the batches loop
    assert remaining(database_url) == kept
    assert report.deleted == {"captcha_challenges": 2, "franceconnect_requests": 2, "rate_limits": 1, "sessions": 3,
                              "account_tokens": 3, "outbox": 2}
    with db_session(database_url) as db:  # the owners of purged rows are untouched
        assert len(db.scalars(select(Account.id)).all()) == 2 and len(db.scalars(select(Admin.id)).all()) == 1
    assert run_purge(database_url).total == 0  # nothing more on a second run


def test_purge_follows_the_retention_settings(database_url, frozen):
    seed(database_url)

    async def run():
        async with sessionmaker_for(database_url) as sessionmaker:
            return await purge(sessionmaker, Retention(mail=timedelta(days=10), captchas=timedelta(minutes=10)))

    asyncio.run(run())
    left = remaining(database_url)
    assert left["outbox"] == {"kept-pending", "kept-sending"}  # kept-sent is 29 days old
    assert left["captcha_challenges"] == {"kept-live"}  # expired 30 minutes ago


def test_the_mail_worker_purges_periodically(database_url, frozen, tmp_path):
    kept = seed(database_url)

    async def run():
        async with sessionmaker_for(database_url) as sessionmaker:
            worker = MailWorker(sessionmaker, FileBackend(tmp_path), retention=RETENTION, purge_interval=3600)
            await worker.run_once()
            return worker

    worker = asyncio.run(run())
    assert remaining(database_url) == kept
    assert worker.last_purge is not None and worker.last_purge.total == 13


def test_assmat_purge_prints_what_it_deleted(tmp_path):
    env = {**os.environ, "ASSMAT_VAR_DIR": str(tmp_path), "ASSMAT_RETENTION_MAIL": "P10D"}
    env.pop("ASSMAT_DATABASE_URL", None)
    migrate = subprocess.run([sys.executable, "-m", "assmat", "db", "upgrade"], cwd=REPO, env=env,
                             capture_output=True, text=True, timeout=120)
    assert migrate.returncode == 0, migrate.stderr
    now = datetime.now(UTC)
    with db_session(f"sqlite:///{tmp_path / 'assmat.db'}") as db:
        db.add(TenantRow(slug="gers", name="Gers"))
        db.flush()
        for subject, age in (("old", timedelta(days=11)), ("recent", timedelta(days=9))):
            db.add(OutboxMail(tenant_id="gers", template="account_locked", sender="s@gers.fr", recipient="a@example.org",
                              subject=subject, body_text="", status="sent", next_attempt_at=now - age,
                              created_at=now - age, sent_at=now - age))
        db.commit()
    result = subprocess.run([sys.executable, "-m", "assmat", "purge"], cwd=REPO, env=env,
                            capture_output=True, text=True, timeout=120)
    assert result.returncode == 0, result.stderr
    assert "courriels envoyés ou en échec : 1" in result.stdout
    assert "Purge terminée : 1 ligne(s) supprimée(s)." in result.stdout
    with db_session(f"sqlite:///{tmp_path / 'assmat.db'}") as db:
        assert db.scalars(select(OutboxMail.subject)).all() == ["recent"]
