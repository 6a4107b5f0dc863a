"""The one token service: every single-use secret of every principal (portal links and
temporary passwords, console set-password and reset links, the import's pending uploads).

256 bits from `secrets`; only the SHA-256 is stored (a keyed hash for temporary passwords,
which a person types); single use under races by a conditional UPDATE … RETURNING; a purpose
and a time to live on every token; issuing one revokes the principal's older live ones of the
same purpose."""

from __future__ import annotations

import hashlib
import hmac
import secrets
from collections.abc import Sequence
from dataclasses import dataclass
from datetime import datetime, timedelta
from typing import Any, Literal

from sqlalchemy import ColumnElement, and_, func, insert, select, update
from sqlalchemy.ext.asyncio import AsyncSession

from assmat.core import clock
from assmat.core.security.models import AccountToken

MAX_TOKEN_LENGTH = 200


@dataclass(frozen=True)
class Principal:
    """Who a token or a session belongs to: a portal account or a console user (staff, or a
    super-admin whose tenant is None)."""

    kind: Literal["account", "admin"]
    id: int
    tenant_id: str | None

    @property
    def owner(self) -> dict[str, int]:
        """The column values naming this principal on a token or session row."""
        return {"account_id": self.id} if self.kind == "account" else {"admin_id": self.id}


def new_secret() -> str:
    return secrets.token_urlsafe(32)


def digest(token: str) -> str:
    return hashlib.sha256(token.encode()).hexdigest()


def keyed_digest(secret_key: str, *parts: str) -> str:
    """HMAC-SHA256 of `parts`, for random secrets too long to brute-force (temporary passwords)."""
    return hmac.new(secret_key.encode(), "\x1f".join(parts).encode(), hashlib.sha256).hexdigest()


def is_expired(expires_at: datetime) -> bool:
    return expires_at <= clock.now()


def _owner(kind: str) -> Any:
    """The column naming a token's principal of this kind."""
    return AccountToken.account_id if kind == "account" else AccountToken.admin_id


def _of_tenant(tenant_id: str | None) -> ColumnElement[bool]:
    return AccountToken.tenant_id == tenant_id if tenant_id is not None else AccountToken.tenant_id.is_(None)


class TokenService:
    """Tokens in the caller's transaction: the caller commits (with the mail that carries it)."""

    def __init__(self, db: AsyncSession, secret_key: str | None = None):
        self.db = db
        self.secret_key = secret_key  # only temporary passwords need it

    def password_hash(self, principal: Principal, password: str) -> str:
        """The stored form of a temporary password: keyed by the principal, so the same typed
        password opens no other account's token."""
        assert self.secret_key, "temporary passwords need the secret key"
        return keyed_digest(self.secret_key, principal.tenant_id or "", str(principal.id), password)

    async def issue(
        self, purpose: str, principal: Principal, ttl: timedelta, data: dict[str, Any] | None = None,
        *, password: str | None = None,
    ) -> str:
        """A new token; older live tokens of the same purpose die. Returns the clear token, or
        stores `password` (a temporary password) by its keyed hash."""
        await self.revoke(principal, purpose)
        secret = password if password is not None else new_secret()
        now = clock.now()
        self.db.add(AccountToken(
            token_hash=self.password_hash(principal, secret) if password is not None else digest(secret),
            tenant_id=principal.tenant_id, purpose=purpose, created_at=now, expires_at=now + ttl,
            data=data or {}, **principal.owner,
        ))
        return secret

    async def issue_unheld(
        self, purpose: str, principals: Sequence[Principal], ttl: timedelta, data: dict[str, Any] | None = None,
    ) -> None:
        """Tokens nobody holds, for new principals in bulk (one executemany): the hash of a
        random secret that is never returned. An import's new account in letter mode gets such
        a temporary password, which the printed letter's replaces."""
        now = clock.now()
        await self.db.execute(insert(AccountToken.__table__), [{
            "token_hash": digest(new_secret()), "tenant_id": principal.tenant_id, "purpose": purpose,
            "created_at": now, "expires_at": now + ttl, "data": data or {}, **principal.owner,
        } for principal in principals])

    async def revoke(self, principal: Principal, *purposes: str) -> None:
        """End every live token of these purposes (a newer one was issued, or the password changed)."""
        query = update(AccountToken).where(
            _owner(principal.kind) == principal.id, _of_tenant(principal.tenant_id), AccountToken.used_at.is_(None)
        )
        if purposes:
            query = query.where(AccountToken.purpose.in_(purposes))
        await self.db.execute(query.values(used_at=clock.now()))

    def _matching(self, purpose: str, token: object, tenant_id: str | None, kind: str) -> ColumnElement[bool] | None:
        if not isinstance(token, str) or not token or len(token) > MAX_TOKEN_LENGTH:
            return None
        return and_(AccountToken.token_hash == digest(token), _of_tenant(tenant_id),
                    AccountToken.purpose == purpose, _owner(kind).is_not(None))

    async def find(self, purpose: str, token: object, tenant_id: str | None, kind: str = "account") -> AccountToken | None:
        """The live token of this tenant, purpose and kind of principal, without consuming it
        (to show a form)."""
        matching = self._matching(purpose, token, tenant_id, kind)
        if matching is None:
            return None
        row = await self.db.scalar(select(AccountToken).where(matching))
        if row is None or row.used_at is not None or is_expired(row.expires_at):
            return None
        return row

    async def consume(self, purpose: str, token: object, tenant_id: str | None, kind: str = "account") -> AccountToken | None:
        """Use a token once: of two parallel uses exactly one gets it (conditional UPDATE)."""
        matching = self._matching(purpose, token, tenant_id, kind)
        if matching is None:
            return None
        now = clock.now()
        used = await self.db.execute(
            update(AccountToken)
            .where(matching, AccountToken.used_at.is_(None), AccountToken.expires_at > now)
            .values(used_at=now)
            .returning(AccountToken.id)
        )
        token_id = used.scalar()
        if token_id is None:
            return None
        return await self.db.scalar(
            select(AccountToken).where(AccountToken.id == token_id, _of_tenant(tenant_id))
            .execution_options(populate_existing=True)
        )

    async def recent(self, principal: Principal, purpose: str, since: timedelta) -> int:
        """How many tokens of this purpose the principal was issued within `since` (throttles)."""
        return await self.db.scalar(
            select(func.count()).select_from(AccountToken)
            .where(_owner(principal.kind) == principal.id, _of_tenant(principal.tenant_id), AccountToken.purpose == purpose,
                   AccountToken.created_at > clock.now() - since)
        ) or 0
