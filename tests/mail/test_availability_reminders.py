"""Availability reminders at a real SMTP server, with a frozen clock: « pensez à mettre à jour vos
disponibilités » before 1 December (and 1 June), and « votre place se libère le … » one month
before a declared future date. The right people get the right text once; nobody else; a rerun
(or a second replica) sends nothing twice. And `assmat availability-reminders` as cron runs it."""

from __future__ import annotations

import os
import sqlite3
from datetime import UTC, date, datetime, timedelta

import pytest
from sqlalchemy import select

from assmat.core import clock
from assmat.core.mail.links import mail_base_url
from assmat.core.mail.models import OutboxMail
from assmat.portal.availability.models import AvailabilityDeclaration, AvailabilityReminder, AvailablePlace
from assmat.portal.availability.service import send_reminders, season_deadline
from tests.conftest import smtp_settings
from tests.test_cli import run

PASSWORD = "Cathedrale#Beauce28"


@pytest.fixture
def settings(tmp_path, database_url, smtp_server):
    return smtp_settings(tmp_path, database_url, smtp_server)


def declare(portal, account_id: int, declared_on: date, *free_from: date | None, none: bool = False) -> None:
    async def add():
        async with portal.app.state.sessionmaker() as db:
            declaration = AvailabilityDeclaration(
                tenant_id=portal.slug, account_id=account_id, declared_at=clock.now(), declared_on=declared_on,
                valid_until=declared_on + timedelta(days=182), none_available=none)
            db.add(declaration)
            await db.flush()
            db.add_all(AvailablePlace(tenant_id=portal.slug, declaration_id=declaration.id, position=i,
                                      age_group="plus_3_ans", places=1, free_from=day, kind="regulier")
                       for i, day in enumerate(free_from))
            await db.commit()

    portal.run(add)


def remind(portal) -> int:
    async def call():
        async with portal.app.state.sessionmaker() as db:
            count = await send_reminders(db, portal.tenant, clock.today(),
                                         base_url=mail_base_url(portal.app.state.settings, portal.tenant))
            await db.commit()
            return count

    return portal.run(call)


def text(mail) -> str:
    return mail["Subject"] + "\n" + mail.get_body(("plain",)).get_content() + mail.get_body(("html",)).get_content()


def test_the_season_and_place_reminders_reach_the_right_people_once(portal_for, smtp_server, frozen_clock):
    frozen_clock.now = datetime(2026, 11, 16, 8, 0, tzinfo=UTC)  # 15 days before 1 December
    gers = portal_for("gers")
    anne, _ = gers.create_account("AGR-2026-0401", PASSWORD, email="anne@example.org")  # never declared
    berthe, _ = gers.create_account("AGR-2026-0402", PASSWORD, email="berthe@example.org")
    declare(gers, berthe.id, date(2026, 11, 16), None)  # declared today: no season reminder
    dora, _ = gers.create_account("AGR-2026-0403", PASSWORD, email="dora@example.org")
    declare(gers, dora.id, date(2026, 10, 1), date(2026, 12, 10), date(2026, 12, 10), date(2027, 3, 1))
    eve, _ = gers.create_account("AGR-2026-0404", PASSWORD, email="eve@example.org")
    # Declared 4 days ago, within the month before her date: no place reminder (the season's, yes).
    declare(gers, eve.id, date(2026, 11, 12), date(2026, 12, 10))
    gers.create_account("AGR-2026-0405", PASSWORD, email="fanny@example.org", disabled_at=clock.now())
    gers.create_account("AGR-2026-0406", PASSWORD, email=None)
    gers.create_account("AGR-2026-0407", None, email="pas-active@example.org")  # cannot sign in yet
    alpes = portal_for("alpes-maritimes")  # offers no availability
    alpes.create_account("AGR-2026-0408", PASSWORD, email="gilles@example.org")

    assert remind(gers) == 4 and remind(alpes) == 0
    mails = smtp_server.wait_for(4)
    by_kind = sorted((m["To"], "se libère" in m["Subject"]) for m in mails)
    assert by_kind == [("anne@example.org", False), ("dora@example.org", False), ("dora@example.org", True),
                       ("eve@example.org", False)]
    season = next(m for m in mails if m["To"] == "anne@example.org")
    assert season["Subject"] == "Webasma - Pensez à mettre à jour vos disponibilités"
    assert "Pensez à mettre à jour vos disponibilités avant le 01/12/2026" in text(season)
    assert "http://gers.localhost/espace/disponibilites" in text(season)
    place = next(m for m in mails if "se libère" in m["Subject"])
    assert "Votre place se libère le 10/12/2026 : vérifiez que vos disponibilités sont à jour." in text(place)

    # The next days of the window, and the same day again: nothing twice.
    assert remind(gers) == 0
    frozen_clock.advance(days=3)
    assert remind(gers) == 0
    assert len(gers.query(select(OutboxMail.id))) == 4
    assert len(gers.query(select(AvailabilityReminder.id))) == 4
    smtp_server.wait_for(4)
    assert len(smtp_server.received) == 4


def test_no_reminder_outside_the_windows(portal_for, smtp_server, frozen_clock):
    frozen_clock.now = datetime(2026, 11, 15, 8, 0, tzinfo=UTC)  # the day before the window
    gers = portal_for("gers")
    anne, _ = gers.create_account("AGR-2026-0411", PASSWORD, email="anne@example.org")
    declare(gers, anne.id, date(2026, 10, 1), date(2026, 12, 16))  # more than a month ahead
    assert remind(gers) == 0
    frozen_clock.now = datetime(2026, 12, 1, 8, 0, tzinfo=UTC)  # 1 December: the deadline has come
    assert remind(gers) == 1  # only the place of 16 December
    (mail,) = smtp_server.wait_for(1)
    assert "Votre place se libère le 16/12/2026" in text(mail)


@pytest.mark.parametrize(("today", "deadline"), [
    (date(2026, 5, 16), None), (date(2026, 5, 17), date(2026, 6, 1)), (date(2026, 5, 31), date(2026, 6, 1)),
    (date(2026, 6, 1), None), (date(2026, 11, 16), date(2026, 12, 1)), (date(2026, 12, 1), None),
])
def test_the_season_windows(today, deadline):
    assert season_deadline(today) == deadline


def test_the_command_cron_runs(tmp_path):
    env = {**os.environ, "ASSMAT_VAR_DIR": str(tmp_path), "ASSMAT_MAIL_BACKEND": "file"}
    assert run("db", "upgrade", env=env).returncode == 0
    assert run("create-account", "gers", "AGR-2026-0421", "--email", "anne@example.org", env=env).returncode == 0
    today = date.today()
    with sqlite3.connect(tmp_path / "assmat.db") as db:
        (account_id,) = db.execute("select id from accounts where email = 'anne@example.org'").fetchone()
        db.execute("update accounts set password_hash = 'x' where id = ?", (account_id,))
        db.execute("insert into availability_declarations (tenant_id, account_id, declared_at, declared_on, valid_until,"
                   " none_available) values ('gers', ?, ?, ?, ?, 0)",
                   (account_id, "2020-01-01 00:00:00", (today - timedelta(days=60)).isoformat(),
                    (today + timedelta(days=120)).isoformat()))
        db.execute("insert into availability_places (tenant_id, declaration_id, position, age_group, places, free_from, kind)"
                   " values ('gers', 1, 0, 'plus_3_ans', 1, ?, 'regulier')", ((today + timedelta(days=20)).isoformat(),))
    for _ in range(2):
        result = run("availability-reminders", "gers", env=env)
        assert result.returncode == 0, result.stderr
        assert "gers :" in result.stdout
    with sqlite3.connect(tmp_path / "assmat.db") as db:
        templates = [row[0] for row in db.execute("select template from outbox where recipient = 'anne@example.org'")]
    assert templates.count("availability_place_reminder") == 1
    result = run("availability-reminders", "nulle-part", env=env)
    assert result.returncode == 1 and "ERREUR tenant inconnu : nulle-part" in result.stderr
