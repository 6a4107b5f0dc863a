"""Demo data for every configured tenant: idempotent, a second run adds nothing."""

from __future__ import annotations

from dataclasses import dataclass
from datetime import date, timedelta

from sqlalchemy import select
from sqlalchemy.ext.asyncio import async_sessionmaker

from assmat import clock
from assmat.auth.passwords import Hasher
from assmat.db.models import Account, Agrement, CarePeriod, Child, Message
from assmat.tenants.loader import Tenant

# One demo assistant per tenant, identified the way that tenant's users sign in.
DEMO_IDENTIFIERS = {
    "agrement_number": "AGR-2025-0001",
    "pmi_number": "280001",
    "email": "assistante.demo@example.org",
    "username": "famille.demo",
}

DEMO_TOWNS = {
    "alpes-maritimes": ("06000", "Nice"), "gers": ("32000", "Auch"), "eure-et-loir": ("28000", "Chartres"),
    "cestas": ("33610", "Cestas"), "mon-enfant": ("66000", "Perpignan"),
}


@dataclass(frozen=True)
class DemoAccount:
    tenant: Tenant
    identifier: str
    password: str
    created: bool
    note: str = ""


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
                account = Account(
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
                    email_confirmed_at=now,
                    terms_version=tenant.terms_version,
                    terms_accepted_at=now if tenant.terms_version else None,
                    family_situation="Mariée",
                    address="12 rue des Écoles",
                    postal_code=DEMO_TOWNS.get(tenant.slug, DEMO_TOWNS["gers"])[0],
                    city=DEMO_TOWNS.get(tenant.slug, DEMO_TOWNS["gers"])[1],
                )
                session.add(account)
                if account.kind == "assistant":
                    await session.flush()
                    await _demo_space(session, tenant, account)
            result.append(DemoAccount(tenant, identifier, password, existing is None))
        await session.commit()
    return result


async def _demo_space(session, tenant: Tenant, account: Account) -> None:
    """What the assistant's space shows on a fresh demo: an agrément, messages, a hosted child."""
    today = clock.now().date()
    features = tenant.config.features
    if features.agrement:
        session.add(Agrement(tenant_id=tenant.slug, account_id=account.id, number=account.identifier,
                             start_date=date(2021, 3, 1), end_date=date(2031, 2, 28), capacity=4,
                             place="Domicile de l'assistante maternelle"))
    if features.messages:
        session.add_all([
            Message(tenant_id=tenant.slug, sender=tenant.config.name, subject="Alerte météo : vigilance orange",
                    body="Attention, regardez la météo pour les alertes orange ou rouges avant les sorties."),
            Message(tenant_id=tenant.slug, sender="Service PMI", recipient_account_id=account.id,
                    subject="Renouvellement de votre agrément",
                    body="Bonjour, votre dossier de renouvellement est bien reçu. Une visite sera programmée."),
        ])
    if features.children and tenant.config.childcare_types:
        child = Child(tenant_id=tenant.slug, account_id=account.id, last_name="PETIT", first_name="Léa",
                      birth_date=date(today.year - 1, 5, 3), guardian1_civility="Madame", guardian1_last_name="PETIT",
                      guardian1_first_name="Claire", guardian1_email="claire.petit@example.org",
                      guardian1_phone="0612345678", address="4 avenue de la Gare", postal_code=account.postal_code or "06000",
                      city=account.city or "Nice", care_start=today - timedelta(days=3))
        session.add(child)
        await session.flush()
        session.add(CarePeriod(tenant_id=tenant.slug, child_id=child.id, childcare_type=tenant.config.childcare_types[0].code,
                               start_date=child.care_start))


async def load_demo_extras(sessionmaker: async_sessionmaker, tenants: dict[str, Tenant], hasher: Hasher, secret_key: str) -> list[DemoAccount]:
    """Accounts that show the seeds' first-login flows: a Gers letter (its temporary password
    is issued again on each run until used) and a Cestas legacy account (seed 003)."""
    from assmat.auth.hashing import AsyncHasher
    from assmat.auth.service import LETTER_TTL, AccountService

    result: list[DemoAccount] = []
    async_hasher = AsyncHasher(hasher)
    async with sessionmaker() as session:
        if (gers := tenants.get("gers")) is not None:
            service = AccountService(gers, session, async_hasher, secret_key, "")
            account = await service.find("AGR-2025-0002")
            created = account is None
            if account is None:
                account, _ = await service.create_account(
                    "AGR-2025-0002", email="nouvelle.assistante@example.org", first_name="Julie", last_name="Courrier",
                    birth_date=date(1990, 2, 2),
                )
            if account.password_hash is None:
                password = await service.issue_temporary_password(account, LETTER_TTL, reason="letter")
                await session.commit()
                result.append(DemoAccount(gers, account.identifier, password, created, "courrier : mot de passe provisoire"))
        # Accounts as the monthly file creates them, waiting for self-activation.
        for slug, identifier, note in (
            ("eure-et-loir", "280002", "à activer : n° 280002 + date de naissance 12/04/1985"),
            ("alpes-maritimes", "AGR-2025-0003", "à activer : Démo / Camille / 12/04/1985 / votre email"),
        ):
            if (tenant := tenants.get(slug)) is None:
                continue
            service = AccountService(tenant, session, async_hasher, secret_key, "")
            created = await service.find(identifier) is None
            if created:
                await service.create_account(
                    identifier, email=None, first_name="Camille", last_name="Démo", birth_date=date(1985, 4, 12),
                )
            result.append(DemoAccount(tenant, identifier, "—", created, note))
        if (cestas := tenants.get("cestas")) is not None:
            service = AccountService(cestas, session, async_hasher, secret_key, "")
            if await service.find("famille.ancienne") is None:
                account, _ = await service.create_account(
                    "famille.ancienne", email="famille.ancienne@example.org", first_name="Paul", last_name="Ancien", kind="parent",
                )
                account.password_hash = hasher.hash("ancien2020")
                account.needs_security_update = True
                account.activated_at = clock.now()
                session.add(account)
                await session.commit()
                created = True
            else:
                created = False
            result.append(DemoAccount(cestas, "famille.ancienne", "ancien2020", created, "compte ancien : mise à jour de sécurité"))
    return result


async def load_demo_admins(sessionmaker: async_sessionmaker, tenants: dict[str, Tenant], hasher: Hasher) -> list[tuple[str, str, str]]:
    """One console user per tenant and a platform super-admin: (where, email, password)."""
    from assmat.admin.identity import AdminService
    from assmat.auth.hashing import AsyncHasher

    result: list[tuple[str, str, str]] = []
    async_hasher = AsyncHasher(hasher)
    for tenant in [None, *tenants.values()]:
        email = f"admin@{tenant.slug if tenant else 'plateforme'}.example.org"
        policy = tenant.config.password_policy if tenant else None
        password = "Console-Demo-2026" if policy is not None and policy.min_special else "ConsoleDemo2026"
        async with sessionmaker() as session:
            service = AdminService(session, async_hasher, tenant)
            if await service.find(email) is None:
                _, token = await service.create(email, "admin" if tenant else "super")
                await session.commit()
                await service.set_password_with_token(token, password, password)
        result.append((tenant.slug if tenant else "plateforme", email, password))
    return result
