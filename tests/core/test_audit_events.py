"""Every audit line is an EventType member, and staff read a French label, never a raw id."""

from __future__ import annotations

import ast
import asyncio
import re
from pathlib import Path

import pytest
from sqlalchemy import select

from assmat.core.db.engine import make_engine, make_sessionmaker
from assmat.core.security import audit
from assmat.core.security.audit import EventType, event_label
from assmat.core.security.models import AuditEvent

ASSMAT = Path(__file__).resolve().parents[2] / "assmat"


@pytest.mark.parametrize("event", list(EventType), ids=lambda event: event.value)
def test_every_event_has_a_french_label(event):
    assert event.label and event.label.strip() == event.label
    assert event.label != event.value
    # A sentence for people, not an identifier: no dotted or snake_case id in it.
    assert not re.search(r"\w[._]\w", event.label), event.label
    assert event_label(event.value) == event.label


def test_values_are_the_stored_strings_and_unique():
    assert len({event.value for event in EventType}) == len(EventType)
    assert EventType("login.failed") is EventType.LOGIN_FAILED
    assert EventType.LOGIN_FAILED == "login.failed"  # rows written before the enum keep their meaning


def test_a_stored_type_without_member_is_shown_as_stored():
    assert event_label("gone.event") == "gone.event"


def test_record_writes_the_value_and_refuses_a_free_string(database_url):
    async def main() -> list[AuditEvent]:
        engine = make_engine(database_url)
        try:
            async with make_sessionmaker(engine)() as db:
                await audit.record(db, None, EventType.LOGOUT, ip="192.0.2.1", outcome="ok")
                with pytest.raises(TypeError, match="EventType"):
                    await audit.record(db, None, "logout")  # type: ignore[arg-type]
                with pytest.raises(ValueError, match="secrets"):
                    await audit.record(db, None, EventType.LOGOUT, password="x")
                await db.commit()
            async with make_sessionmaker(engine)() as db:
                return list(await db.scalars(select(AuditEvent)))
        finally:
            await engine.dispose()

    [event] = asyncio.run(main())  # the refused ones wrote nothing
    assert event.type == "logout" and type(event.type) is str
    assert (event.tenant_id, event.account_id, event.ip, event.detail) == (None, None, "192.0.2.1", {"outcome": "ok"})
    assert event.created_at is not None


def _string_events(source: str, name: str) -> list[str]:
    """`audit.record(...)` calls (and `handled_event = ...`) whose event is written as a string."""
    found = []
    for node in ast.walk(ast.parse(source, name)):
        event = None
        if isinstance(node, ast.Call) and isinstance(node.func, ast.Attribute) and node.func.attr == "record":
            if len(node.args) >= 3:
                event = node.args[2]
            event = next((k.value for k in node.keywords if k.arg == "event_type"), event)
        elif isinstance(node, (ast.Assign, ast.AnnAssign)):
            targets = node.targets if isinstance(node, ast.Assign) else [node.target]
            if any(isinstance(t, ast.Name) and t.id == "handled_event" for t in targets):
                event = node.value
        if event is not None and any(isinstance(n, (ast.Constant, ast.JoinedStr)) and isinstance(getattr(n, "value", ""), str)
                                     for n in ast.walk(event)):
            found.append(f"{name}:{node.lineno}")
    return found


def test_no_audit_call_names_its_event_with_a_string():
    offenders = [
        place for path in sorted(ASSMAT.rglob("*.py"))
        for place in _string_events(path.read_text(encoding="utf-8"), str(path.relative_to(ASSMAT.parent)))
    ]
    assert offenders == []


def test_the_scan_finds_a_string_event():
    sample = ('audit.record(db, "gers", "login.failed" if x else EventType.LOGOUT, ip=ip)\n'
              'audit.record(db, "gers", EventType.LOGOUT, ip="192.0.2.1")\n'
              'audit.record(db, "gers", event_type=f"login.{outcome}")\n'
              'class V:\n    handled_event = "contact.handled"\n')
    assert _string_events(sample, "sample.py") == ["sample.py:1", "sample.py:3", "sample.py:5"]
