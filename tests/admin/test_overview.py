"""A tenant console's first page: configuration, advisories, accounts by state, locks per day."""

from __future__ import annotations

import pytest
import re
from datetime import date, timedelta

from assmat.core import clock
from assmat.admin.overview import LABEL_MIN_BARS, labelled_days
from assmat.core.security.models import AuditEvent
from tests.admin.conftest import signed_in, store
from tests.support.portal import text_of

# The accounts' states are a SQL CASE over UTC timestamps, which each backend stores its own way.
pytestmark = pytest.mark.both_backends


def count_cell(text: str, label: str) -> int:
    match = re.search(rf"<th scope=\"row\">{re.escape(label)}</th><td class=\"text-end\">(\d+)</td>", text)
    assert match, f"no row {label!r}"
    return int(match.group(1))


def test_the_gers_overview_shows_its_configuration_advisories_and_counts(console_for, app, portal_for, frozen_clock):
    gers, cestas = portal_for("gers"), portal_for("cestas")
    now = clock.now()
    active, _ = gers.create_account("AGR-1", "Lune#Soleil42")
    locked, _ = gers.create_account("AGR-2", "Lune#Soleil42")
    gers.update_account(locked.id, locked_at=now)
    disabled, _ = gers.create_account("AGR-3", "Lune#Soleil42")
    gers.update_account(disabled.id, disabled_at=now, locked_at=now)  # disabled wins, as in the accounts list
    gers.create_account("AGR-4")  # never activated
    must_change, _ = gers.create_account("AGR-5", "Lune#Soleil42")
    gers.update_account(must_change.id, must_change_password=True)
    for identifier in ("famille.a", "famille.b"):
        other, _ = cestas.create_account(identifier, "Lune2Soleil")
        cestas.update_account(other.id, locked_at=now)

    console = signed_in(console_for, app, "gers", "agent@gers.fr", role="read_only")
    store(console,
          *[AuditEvent(tenant_id="gers", type="account.locked", account_id=locked.id, created_at=now - timedelta(days=2))
            for _ in range(3)],
          AuditEvent(tenant_id="gers", type="account.locked", account_id=locked.id, created_at=now),
          AuditEvent(tenant_id="gers", type="account.locked", account_id=locked.id, created_at=now - timedelta(days=40)),
          AuditEvent(tenant_id="cestas", type="account.locked", created_at=now - timedelta(days=2)),
          AuditEvent(tenant_id="gers", type="login.failed", created_at=now - timedelta(days=2)))

    index = console.client.get("/admin/")
    assert index.status_code == 302 and index.headers["location"].endswith("/admin/vue-d-ensemble")
    page = console.client.get("/admin/vue-d-ensemble")
    assert page.status_code == 200
    text = text_of(page)
    assert "lockout : blocage permanent après 3 échecs" in text
    assert "password_reset.mode : les mots de passe provisoires partent en clair" in text
    assert {label: count_cell(text, label) for label in
            ("actif", "bloqué", "non activé", "désactivé", "doit changer son mot de passe")} == {
        "actif": 1, "bloqué": 1, "non activé": 1, "désactivé": 1, "doit changer son mot de passe": 1}
    assert "Comptes (5)" in text

    # Locks: 3 two days ago, 1 today; not the one of 40 days ago, not Cestas's.
    assert "Blocages de comptes sur 30 jours (4)" in text
    days = {(now - timedelta(days=2)).strftime("%d/%m/%Y"): 3, now.strftime("%d/%m/%Y"): 1}
    for day, count in days.items():
        assert count_cell(text, day) == count
    assert count_cell(text, (now - timedelta(days=1)).strftime("%d/%m/%Y")) == 0
    assert len(re.findall(r'<rect class="bar"', page.text)) == 2 and 'role="img"' in page.text

    # The effective configuration, read-only, and the file itself.
    assert "<dt><code>max_failures</code>" in page.text and "Échecs consécutifs avant blocage." in text
    assert "reveal_locked_state: true" in text and "gers.yaml" in text
    assert "<form" not in text.split("Configuration en vigueur")[1].split("</main>")[0]

    # Under the CSP (no inline style or script), the page still draws its chart.
    assert "style=" not in page.text
    assert not re.search(r"<script(?![^>]*\ssrc=)", page.text)


def test_the_overview_is_the_tenants_own(console_for, app):
    cestas = signed_in(console_for, app, "cestas", "agent@cestas.fr")
    text = text_of(cestas.client.get("/admin/vue-d-ensemble"))
    assert "Ville de Cestas" in text and "Département du Gers" not in text
    assert "blocage permanent après 3 échecs" not in text
    platform = signed_in(console_for, app, "localhost", "root@assmat.example")
    assert platform.client.get("/admin/vue-d-ensemble").status_code == 403


@pytest.mark.parametrize("last_day", [date(2026, 12, 1), date(2026, 12, 2), date(2026, 11, 30), date(2027, 3, 1)])
def test_the_chart_dates_never_touch_each_other(last_day):
    days = [last_day - timedelta(days=offset) for offset in range(29, -1, -1)]
    kept = sorted(labelled_days(days))
    assert kept[0] == 0 and kept[-1] == len(days) - 1  # the axis says where it starts and ends
    assert all(b - a >= LABEL_MIN_BARS for a, b in zip(kept, kept[1:])), [days[i].strftime("%d/%m") for i in kept]
    firsts = [i for i, day in enumerate(days) if day.day == 1 and i not in kept]
    assert all(any(abs(i - k) < LABEL_MIN_BARS for k in kept) for i in firsts)  # a month start dropped only for a neighbour
