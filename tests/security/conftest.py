"""Flow tests run against a real SMTP server: the emails are checked as received."""

from __future__ import annotations

import pytest

from assmat import clock
from tests.conftest import make_settings


@pytest.fixture
def settings(tmp_path, database_url, smtp_server):
    return make_settings(
        tmp_path,
        database_url,
        mail_backend="smtp",
        smtp_host=smtp_server.host,
        smtp_port=smtp_server.port,
        public_url_template="http://{slug}.localhost",
    )


@pytest.fixture
def frozen_clock():
    """A clock tests move by hand: `frozen_clock.advance(minutes=31)`."""
    from datetime import UTC, datetime, timedelta

    class Frozen:
        def __init__(self) -> None:
            self.now = datetime(2026, 11, 2, 9, 0, tzinfo=UTC)

        def advance(self, **delta: float) -> None:
            self.now += timedelta(**delta)

    frozen = Frozen()
    clock.set_clock(lambda: frozen.now)
    yield frozen
    clock.set_clock(None)
