"""Demo data: one account per tenant that can sign in, and a second run adds nothing."""

import asyncio

from sqlalchemy import func, select

from assmat.auth.passwords import Hasher
from assmat.db.engine import make_engine, make_sessionmaker
from assmat.db.models import Account
from assmat.demo import load_demo
from assmat.tenants.loader import load_valid_tenants
from assmat.web.app import sync_tenant_rows
from assmat.tenants.registry import TenantRegistry
from tests.conftest import TENANT_CONFIGS
from tests.support.db import db_session


def test_demo_load_is_idempotent(settings):
    tenants = load_valid_tenants(TENANT_CONFIGS)
    hasher = Hasher(settings)

    async def load():
        engine = make_engine(settings.database_url)
        try:
            sessionmaker = make_sessionmaker(engine)
            await sync_tenant_rows(sessionmaker, TenantRegistry(tenants, "localhost"))
            return await load_demo(sessionmaker, tenants, hasher)
        finally:
            await engine.dispose()

    first = asyncio.run(load())
    second = asyncio.run(load())
    assert [a.created for a in first] == [True] * 5
    assert [a.created for a in second] == [False] * 5
    with db_session(settings.database_url) as session:
        assert session.scalar(select(func.count()).select_from(Account)) == 5
        for account in first:
            row = session.scalar(select(Account).where(Account.tenant_id == account.tenant.slug))
            assert row.identifier == account.identifier
            assert hasher.verify(row.password_hash, account.password)
