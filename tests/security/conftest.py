"""Flows are checked against a real SMTP server: the emails are asserted as received."""

from __future__ import annotations

import pytest

from tests.conftest import smtp_settings


@pytest.fixture
def settings(tmp_path, database_url, smtp_server):
    return smtp_settings(tmp_path, database_url, smtp_server)
