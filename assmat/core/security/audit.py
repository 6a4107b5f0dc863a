"""The audit trail: who did what, from where, when. Never a password or a token."""

from __future__ import annotations

from typing import Any

from sqlalchemy.ext.asyncio import AsyncSession

from assmat.core import clock
from assmat.core.security.models import AuditEvent

FORBIDDEN_KEYS = {"password", "mot_de_passe", "token", "temporary_password", "confirmation"}


def record(
    session: AsyncSession,
    tenant_id: str | None,
    event_type: str,
    *,
    account_id: int | None = None,
    ip: str | None = None,
    **detail: Any,
) -> AuditEvent:
    """Add an audit line to the caller's transaction."""
    leaked = FORBIDDEN_KEYS & set(detail)
    if leaked:
        raise ValueError(f"secrets never go to the audit trail: {sorted(leaked)}")
    event = AuditEvent(
        tenant_id=tenant_id, account_id=account_id, type=event_type, ip=ip, detail=detail, created_at=clock.now()
    )
    session.add(event)
    return event
