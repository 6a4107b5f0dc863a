"""The tenants' rows: every configured tenant has one, for the foreign keys that point at it."""

from __future__ import annotations

from sqlalchemy import select
from sqlalchemy.exc import IntegrityError

from assmat.tenants.models import TenantRow
from assmat.tenants.registry import TenantRegistry


async def sync_tenant_rows(sessionmaker, registry: TenantRegistry) -> None:
    """Every configured tenant has its row (foreign keys point at it); a new YAML adds one."""
    async with sessionmaker() as session:
        existing = {row.slug: row for row in (await session.scalars(select(TenantRow))).all()}
        for slug, tenant in registry.tenants.items():
            row = existing.get(slug)
            if row is None:
                session.add(TenantRow(slug=slug, name=tenant.config.name))
            elif row.name != tenant.config.name:
                row.name = tenant.config.name
        try:
            await session.commit()
        except IntegrityError:  # another replica inserted the same rows first
            await session.rollback()
