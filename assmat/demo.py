"""Demo data for every configured tenant: idempotent, a second run adds nothing."""

from __future__ import annotations

from dataclasses import dataclass
from datetime import date

from sqlalchemy import select
from sqlalchemy.ext.asyncio import async_sessionmaker

from assmat import clock
from assmat.auth.passwords import Hasher
from assmat.db.models import Account
from assmat.tenants.loader import Tenant

# One demo assistant per tenant, identified the way that tenant's users sign in.
DEMO_IDENTIFIERS = {
    "agrement_number": "AGR-2025-0001",
    "pmi_number": "280001",
    "email": "assistante.demo@example.org",
    "username": "famille.demo",
}


@dataclass(frozen=True)
class DemoAccount:
    tenant: Tenant
    identifier: str
    password: str
    created: bool


def demo_password(tenant: Tenant) -> str:
    """A password every seed policy accepts ('-' is in the Gers list; mon-enfant takes no special)."""
    return "Assmat-Demo-2026" if tenant.config.password_policy.min_special else "AssmatDemo2026"


async def load_demo(sessionmaker: async_sessionmaker, tenants: dict[str, Tenant], hasher: Hasher) -> list[DemoAccount]:
    result: list[DemoAccount] = []
    async with sessionmaker() as session:
        for tenant in tenants.values():
            kind = tenant.config.login.identifier
            identifier = DEMO_IDENTIFIERS[kind].lower() if kind in ("email", "username") else DEMO_IDENTIFIERS[kind]
            password = demo_password(tenant)
            existing = await session.scalar(
                select(Account).where(Account.tenant_id == tenant.slug, Account.identifier == identifier)
            )
            if existing is None:
                now = clock.now()
                email = DEMO_IDENTIFIERS["email"] if kind != "email" else identifier
                session.add(
                    Account(
                        tenant_id=tenant.slug,
                        kind="parent" if tenant.config.features.parents and not tenant.config.features.children else "assistant",
                        identifier=identifier,
                        email=email,
                        email_key=email.lower(),
                        civility="Madame",
                        first_name="Camille",
                        last_name="Démo",
                        birth_date=date(1985, 4, 12),
                        password_hash=hasher.hash(password),
                        password_changed_at=now,
                        activated_at=now,
                        terms_version=tenant.terms_version,
                        terms_accepted_at=now if tenant.terms_version else None,
                    )
                )
            result.append(DemoAccount(tenant, identifier, password, existing is None))
        await session.commit()
    return result
