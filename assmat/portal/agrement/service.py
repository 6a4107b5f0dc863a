"""« Mon agrément » (seed 001 §2.2): the assistant's agréments, as imported by the staff."""

from __future__ import annotations

from sqlalchemy import Integer, String, bindparam, select
from sqlalchemy.ext.asyncio import AsyncSession

from assmat.auth.models import Account
from assmat.portal.agrement.models import Agrement
from assmat.tenants.loader import Tenant


# Built once, its values bound at each request (the dashboard and « Mon agrément » run it).
AGREMENTS = (
    select(Agrement)
    .where(Agrement.tenant_id == bindparam("tenant_id", type_=String), Agrement.account_id == bindparam("account_id", type_=Integer))
    .order_by(Agrement.start_date.desc().nulls_last(), Agrement.id.desc())
)


async def agrements_of(db: AsyncSession, tenant: Tenant, account: Account) -> list[Agrement]:
    """The account's agréments, the latest start first (those without a start date last)."""
    return list(await db.scalars(AGREMENTS, {"tenant_id": tenant.slug, "account_id": account.id}))
