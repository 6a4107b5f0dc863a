"""Helpers shared by the mail tests: tenants, a frozen clock, sessions on the test database."""

from __future__ import annotations

from collections.abc import AsyncIterator, Iterator
from contextlib import asynccontextmanager
from datetime import UTC, datetime, timedelta
from functools import cache

import pytest
from sqlalchemy import select
from sqlalchemy.ext.asyncio import AsyncSession, async_sessionmaker

from assmat.core import clock
from assmat.core.db.engine import make_engine, make_sessionmaker
from assmat.core.mail.models import OutboxMail
from assmat.tenants.models import TenantRow
from assmat.tenants.loader import Tenant, load_valid_tenants
from tests.conftest import TENANT_CONFIGS
from tests.support.db import db_session

T0 = datetime(2025, 10, 10, 9, 36, tzinfo=UTC)  # the seed's "ven. 10 oct. 2025, 09:36" (UTC here)


@cache
def _tenants() -> dict[str, Tenant]:
    return load_valid_tenants(TENANT_CONFIGS)


def tenant(slug: str) -> Tenant:
    return _tenants()[slug]


class FrozenClock:
    def __init__(self, at: datetime):
        self.at = at

    def __call__(self) -> datetime:
        return self.at

    def advance(self, delta: timedelta) -> None:
        self.at += delta


@pytest.fixture
def frozen_clock() -> Iterator[FrozenClock]:
    frozen = FrozenClock(T0)
    clock.set_clock(frozen)
    try:
        yield frozen
    finally:
        clock.set_clock(None)


def add_tenant_rows(database_url: str, *slugs: str) -> None:
    """Outbox rows point at tenants.slug: the rows the app's start-up would create."""
    with db_session(database_url) as session:
        for slug in slugs:
            session.add(TenantRow(slug=slug, name=tenant(slug).config.name))
        session.commit()


def outbox_rows(database_url: str) -> list[OutboxMail]:
    with db_session(database_url) as session:
        rows = list(session.scalars(select(OutboxMail).order_by(OutboxMail.id)))
        session.expunge_all()
        return rows


@asynccontextmanager
async def sessionmaker_for(database_url: str) -> AsyncIterator[async_sessionmaker[AsyncSession]]:
    engine = make_engine(database_url)
    try:
        yield make_sessionmaker(engine)
    finally:
        await engine.dispose()


def production_settings():
    """The deployment's settings without the demo's link template."""
    from assmat.core.settings import Settings

    return Settings(public_url_template=None, platform_url=None)


def production_base(tenant_: Tenant | None) -> str:
    """The base of mail links in production: each tenant's public_url (no URL template)."""
    from assmat.core.mail.links import mail_base_url

    return mail_base_url(production_settings(), tenant_)


def render(tenant_: Tenant | None, template: str, context: dict, locale: str | None = None):
    """`assmat.core.mail.outbox.render` with the production links of the tenant."""
    from assmat.core.mail import outbox

    return outbox.render(tenant_, template, context, locale, base_url=production_base(tenant_),
                         platform_sender=production_settings().platform_mail_from)


async def enqueue(session: AsyncSession, tenant_: Tenant | None, template: str, to: object, context: dict,
                  locale: str | None = None) -> OutboxMail:
    """`assmat.core.mail.outbox.enqueue` with the production links of the tenant."""
    from assmat.core.mail import outbox

    return await outbox.enqueue(session, tenant_, template, to, context, locale, base_url=production_base(tenant_),
                                platform_sender=production_settings().platform_mail_from)
