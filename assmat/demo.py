"""Demo data for every configured tenant: idempotent, a second run adds nothing."""

from __future__ import annotations

import io
import secrets
from dataclasses import dataclass
from datetime import date, timedelta

from PIL import Image, ImageDraw

from sqlalchemy import select
from sqlalchemy.ext.asyncio import AsyncSession, async_sessionmaker

from assmat.core import clock
from assmat.core.security.hashing import AsyncHasher
from assmat.core.settings import Settings
from assmat.auth.models import Account
from assmat.portal.agrement.models import Agrement
from assmat.portal.availability.models import (
    AvailabilityDeclaration,
    AvailabilityException,
    AvailableSlot,
    AvailablePlace,
)
from assmat.portal.availability.rules import add_months
from assmat.portal.children.models import CarePeriod, Child, Guardian
from assmat.portal.messages.models import Message
from assmat.portal.profile.models import Fiche
from assmat.portal.photos.models import APPROVED, PENDING, Photo, PhotoFile
from assmat.portal.photos.service import photos_offered, reencode
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
    password: str | None  # None: no password to print; `note` says how to get in
    created: bool
    note: str = ""


# What the summary says when a run finds an account changed by someone who tried the demo.
PASSWORD_CHANGED = "mot de passe changé depuis le chargement : utilisez « Mot de passe oublié » ou repartez de zéro"


async def sign_in_state(account: Account, password: str, hasher: AsyncHasher) -> tuple[str | None, str]:
    """The demo password to print, if it still opens the account, and a note on its state.
    A second run must not print a password that no longer works."""
    if account.disabled_at is not None:
        return None, "désactivé depuis la console (« Réactiver »)"
    if account.password_hash is None or not await hasher.verify(account.password_hash, password):
        return None, PASSWORD_CHANGED
    if account.locked_at is not None:
        return password, "bloqué : débloquez-le depuis la console (« Débloquer »)"
    return password, ""


def demo_password(tenant: Tenant) -> str:
    """A password every seed policy accepts ('-' is in the Gers list; mon-enfant takes no special)."""
    return "Assmat-Demo-2026" if tenant.config.password_policy.min_special else "AssmatDemo2026"


async def load_demo(sessionmaker: async_sessionmaker, tenants: dict[str, Tenant], hasher: AsyncHasher) -> list[DemoAccount]:
    result: list[DemoAccount] = []
    async with sessionmaker() as session:
        for tenant in tenants.values():
            kind = tenant.config.login.identifier
            identifier = DEMO_IDENTIFIERS[kind].lower() if kind in ("email", "username") else DEMO_IDENTIFIERS[kind]
            password = demo_password(tenant)
            existing = await session.scalar(
                select(Account).where(Account.tenant_id == tenant.slug, Account.identifier == identifier)
            )
            if existing is not None:
                shown, note = await sign_in_state(existing, password, hasher)
                result.append(DemoAccount(tenant, identifier, shown, False, note))
            else:
                now = clock.now()
                email = DEMO_IDENTIFIERS["email"] if kind != "email" else identifier
                account = Account(
                    tenant_id=tenant.slug,
                    # A families' portal (Cestas): its demo account is a family; where assistants
                    # publish (mon-enfant), it stays an assistant and the family comes in the extras.
                    kind="parent" if tenant.config.features.parents and not tenant.config.features.children
                    and tenant.config.publication is None else "assistant",
                    identifier=identifier,
                    email=email,
                    email_key=email.lower(),
                    civility="Madame",
                    first_name="Camille",
                    last_name="Démo",
                    birth_date=date(1985, 4, 12),
                    password_hash=await hasher.hash(password),
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
                result.append(DemoAccount(tenant, identifier, password, True))
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
                      birth_date=date(today.year - 1, 5, 3), address="4 avenue de la Gare", postal_code=account.postal_code or "06000",
                      city=account.city or "Nice", care_start=today - timedelta(days=3),
                      guardians=[Guardian(tenant_id=tenant.slug, position=1, civility="Madame", last_name="PETIT",
                                          first_name="Claire", email="claire.petit@example.org", phone="0612345678")])
        session.add(child)
        await session.flush()
        session.add(CarePeriod(tenant_id=tenant.slug, child_id=child.id, childcare_type=tenant.config.childcare_types[0].code,
                               start_date=child.care_start))
    if tenant.slug in DEMO_PHOTO_TENANTS and photos_offered(tenant):
        await _demo_photos(session, tenant, account)


# Fiches with photos on a fresh demo: one approved, one waiting in the console's « Photos à valider ».
DEMO_PHOTO_TENANTS = ("gers", "eure-et-loir")


def _drawing(kind: str) -> bytes:
    """A picture drawn here, so that no binary file sits in the repository: a garden with a
    swing, or a play corner with blocks."""
    image = Image.new("RGB", (1200, 800), (186, 222, 244))
    draw = ImageDraw.Draw(image)
    if kind == "jardin":
        draw.rectangle((0, 520, 1200, 800), fill=(118, 176, 84))
        draw.ellipse((980, 60, 1120, 200), fill=(250, 214, 90))
        draw.line((300, 520, 420, 220, 540, 520), fill=(120, 72, 40), width=18)
        draw.line((420, 220, 780, 220), fill=(120, 72, 40), width=18)
        draw.line((660, 520, 780, 220, 900, 520), fill=(120, 72, 40), width=18)
        draw.line((560, 220, 560, 430), fill=(80, 80, 80), width=6)
        draw.line((640, 220, 640, 430), fill=(80, 80, 80), width=6)
        draw.rectangle((540, 430, 660, 450), fill=(200, 60, 50))
    else:
        draw.rectangle((0, 560, 1200, 800), fill=(214, 180, 132))
        for index, colour in enumerate(((220, 70, 60), (60, 120, 210), (250, 200, 60), (90, 170, 90))):
            left = 220 + index * 190
            draw.rectangle((left, 420, left + 150, 560), fill=colour)
        draw.rectangle((410, 280, 560, 420), fill=(240, 140, 40))
        draw.rectangle((600, 280, 750, 420), fill=(150, 90, 200))
    buffer = io.BytesIO()
    image.save(buffer, "PNG")
    return buffer.getvalue()


async def _demo_photos(session, tenant: Tenant, account: Account) -> None:
    photos = (
        ("jardin", "Le jardin clos avec son portique et sa balançoire", APPROVED),
        ("jeux", "Le coin jeux : des cubes de couleur sur un tapis", PENDING),
    )
    for position, (kind, description, status) in enumerate(photos, start=1):
        encoded = reencode(_drawing(kind))  # the same path as an upload: what is stored is our JPEG
        photo = Photo(
            tenant_id=tenant.slug, account_id=account.id, public_key=secrets.token_urlsafe(18), description=description,
            status=status, position=position, width=encoded.width, height=encoded.height,
            thumbnail_width=encoded.thumbnail_width, thumbnail_height=encoded.thumbnail_height,
            byte_size=len(encoded.image), reviewed_at=clock.now() if status == APPROVED else None,
            reviewed_by=tenant.config.branding.admin_email if status == APPROVED else None,
        )
        session.add(photo)
        await session.flush()
        session.add(PhotoFile(tenant_id=tenant.slug, photo_id=photo.id, image=encoded.image, thumbnail=encoded.thumbnail))


async def load_demo_extras(sessionmaker: async_sessionmaker, tenants: dict[str, Tenant], hasher: AsyncHasher, settings: Settings) -> list[DemoAccount]:
    """Accounts that show the seeds' first-login flows: a Gers letter, accounts waiting for
    self-activation and a Cestas legacy account (seed 003), each reported as it is now."""
    from assmat.auth import credentials, staff_actions
    from assmat.auth.context import LETTER_TTL, auth_context

    result: list[DemoAccount] = []
    async with sessionmaker() as session:
        if (gers := tenants.get("gers")) is not None:
            ctx = auth_context(session, gers, hasher, settings)
            account = await ctx.find("AGR-2025-0002")
            created = account is None
            if account is None:
                account, _ = await staff_actions.create_account(ctx,
                    "AGR-2025-0002", email="nouvelle.assistante@example.org", first_name="Julie", last_name="Courrier",
                    birth_date=date(1990, 2, 2),
                )
            if account.password_hash is None:
                # Only its hash is stored: a run cannot show the previous letter's password again,
                # so until a password is chosen each run prints a new letter (the older one stops working).
                password = await credentials.issue_temporary_password(ctx, account, LETTER_TTL, reason="letter")
                await session.commit()
                note = ("courrier : mot de passe provisoire" if created
                        else "courrier : nouveau mot de passe provisoire (celui des lancements précédents ne vaut plus)")
                result.append(DemoAccount(gers, account.identifier, password, created, note))
            else:
                result.append(DemoAccount(gers, account.identifier, None, created,
                                          "courrier déjà utilisé : mot de passe choisi par l'utilisateur ; un nouveau "
                                          "courrier : console du Gers, Comptes, fiche du compte, « Imprimer le courrier »"))
        # Accounts as the monthly file creates them, waiting for self-activation.
        for slug, identifier, note in (
            ("eure-et-loir", "280002", "à activer : n° 280002 + date de naissance 12/04/1985"),
            ("alpes-maritimes", "AGR-2025-0003", "à activer : Démo / Camille / 12/04/1985 / votre email"),
        ):
            if (tenant := tenants.get(slug)) is None:
                continue
            ctx = auth_context(session, tenant, hasher, settings)
            account = await ctx.find(identifier)
            created = account is None
            if account is None:
                account, _ = await staff_actions.create_account(ctx,
                    identifier, email=None, first_name="Camille", last_name="Démo", birth_date=date(1985, 4, 12),
                )
            if account.password_hash is not None:
                note = "déjà activé : mot de passe choisi par l'utilisateur (repartez de zéro pour l'activer à nouveau)"
            result.append(DemoAccount(tenant, identifier, None, created, note))
        if (cestas := tenants.get("cestas")) is not None:
            ctx = auth_context(session, cestas, hasher, settings)
            account = await ctx.find("famille.ancienne")
            created = account is None
            if account is None:
                account, _ = await staff_actions.create_account(ctx,
                    "famille.ancienne", email="famille.ancienne@example.org", first_name="Paul", last_name="Ancien", kind="parent",
                )
                account.password_hash = await hasher.hash("ancien2020")
                account.needs_security_update = True
                account.activated_at = clock.now()
                session.add(account)
                await session.commit()
            shown, note = await sign_in_state(account, "ancien2020", hasher)
            if shown is not None and account.needs_security_update:
                note = "compte ancien : mise à jour de sécurité" + (f" ; {note}" if note else "")
            elif shown is None and not account.needs_security_update:
                note = "mise à jour de sécurité déjà faite : mot de passe choisi par l'utilisateur"
            result.append(DemoAccount(cestas, "famille.ancienne", shown, created, note))
        if (mon_enfant := tenants.get("mon-enfant")) is not None and mon_enfant.config.features.parents:
            # A family account of the national site, signing in by its email (« Créer mon compte famille »).
            ctx = auth_context(session, mon_enfant, hasher, settings)
            password = demo_password(mon_enfant)
            account = await ctx.find(DEMO_FAMILY)
            created = account is None
            if account is None:
                account, _ = await staff_actions.create_account(ctx,
                    DEMO_FAMILY, email=DEMO_FAMILY, first_name="Léa", last_name="Famille", kind="parent",
                )
                now = clock.now()
                account.password_hash = await hasher.hash(password)
                account.password_changed_at = account.activated_at = account.email_confirmed_at = now
                account.terms_version, account.terms_accepted_at = mon_enfant.terms_version, now
                session.add(account)
                await session.commit()
            shown, note = await sign_in_state(account, password, hasher)
            result.append(DemoAccount(mon_enfant, DEMO_FAMILY, shown, created, f"compte famille{' ; ' + note if note else ''}"))
    return result


DEMO_FAMILY = "famille.demo@example.org"


# Two more assistants per tenant with availability: one « Pas de disponibilité » (red), one whose
# declaration is older than the validity (grey). Data only: they cannot sign in.
DEMO_AVAILABILITY_OTHERS = {
    "agrement_number": ("AGR-2025-0011", "AGR-2025-0012"),
    "pmi_number": ("280011", "280012"),
    "email": ("assistante.complete@example.org", "assistante.ancienne@example.org"),
    "username": ("assistante.complete", "assistante.ancienne"),
}


async def load_demo_availability(sessionmaker: async_sessionmaker, tenants: dict[str, Tenant]) -> None:
    """On each tenant with availability: the demo assistant's current declaration (a place now,
    another from next September, a day off in two weeks), an assistant without availability and
    one out of date. Idempotent: an account that already has a declaration keeps it."""
    today = clock.today()
    async with sessionmaker() as session:
        for tenant in tenants.values():
            if not tenant.config.offers("availability"):
                continue
            kind = tenant.config.login.identifier
            normal = (lambda value: value.lower()) if kind in ("email", "username") else (lambda value: value)
            demo = await session.scalar(select(Account).where(
                Account.tenant_id == tenant.slug, Account.identifier == normal(DEMO_IDENTIFIERS[kind]),
                Account.kind == "assistant"))
            full, old = DEMO_AVAILABILITY_OTHERS[kind]
            people = [(demo, today, "current")] if demo is not None else []
            for identifier, first_name, declared_on, state in (
                (full, "Nadia", today - timedelta(days=20), "none"),
                (old, "Odile", add_months(today, -(tenant.config.availability.validity_months + 2)), "current"),
            ):
                account = await session.scalar(select(Account).where(
                    Account.tenant_id == tenant.slug, Account.identifier == normal(identifier)))
                if account is None:
                    account = Account(tenant_id=tenant.slug, kind="assistant", identifier=normal(identifier),
                                      email=f"{first_name.lower()}.demo@example.org",
                                      email_key=f"{first_name.lower()}.demo@example.org", civility="Madame",
                                      first_name=first_name, last_name="Démo", birth_date=date(1979, 9, 9))
                    session.add(account)
                    await session.flush()
                people.append((account, declared_on, state))
            for account, declared_on, state in people:
                if await session.scalar(select(AvailabilityDeclaration.id).where(
                        AvailabilityDeclaration.tenant_id == tenant.slug,
                        AvailabilityDeclaration.account_id == account.id)) is not None:
                    continue
                await _demo_declaration(session, tenant, account, declared_on, none=state == "none")
        await session.commit()


async def _demo_declaration(session, tenant: Tenant, account: Account, declared_on: date, *, none: bool) -> None:
    settings = tenant.config.availability
    declaration = AvailabilityDeclaration(
        tenant_id=tenant.slug, account_id=account.id, declared_on=declared_on,
        valid_until=add_months(declared_on, settings.validity_months), none_available=none)
    session.add(declaration)
    await session.flush()
    if none:
        return
    slots = [slot.code for slot in settings.time_slots]
    september = date(declared_on.year + (declared_on.month >= 9), 9, 1)
    places = (
        (settings.age_groups[0].code, 1, None, "regulier", [(day, slot) for day in range(5) for slot in slots[1:4]]),
        (settings.age_groups[-1].code, 2, september, "periscolaire",
         [(day, slot) for day in (0, 1, 3, 4) for slot in slots[-2:-1]] + [(2, slot) for slot in slots[1:4]]),
    )
    for position, (group, count, free_from, kind, grid) in enumerate(places):
        place = AvailablePlace(tenant_id=tenant.slug, declaration_id=declaration.id, position=position,
                               age_group=group, places=count, free_from=free_from, kind=kind)
        session.add(place)
        await session.flush()
        session.add_all(AvailableSlot(tenant_id=tenant.slug, place_id=place.id, weekday=day, slot=slot)
                        for day, slot in sorted(set(grid)))
    day_off = declared_on + timedelta(days=14)
    session.add(AvailabilityException(tenant_id=tenant.slug, declaration_id=declaration.id, day=day_off, slot=None,
                                      available=False))


async def load_demo_admins(
    sessionmaker: async_sessionmaker, tenants: dict[str, Tenant], hasher: AsyncHasher
) -> list[tuple[str, str, str | None]]:
    """One console user per tenant and a platform super-admin: (where, email, password), the
    password None when it was changed since the demo set it."""
    from assmat.auth.staff import AdminService

    result: list[tuple[str, str, str]] = []
    for tenant in [None, *tenants.values()]:
        email = f"admin@{tenant.slug if tenant else 'plateforme'}.example.org"
        policy = tenant.config.password_policy if tenant else None
        password = "Console-Demo-2026" if policy is not None and policy.min_special else "ConsoleDemo2026"
        async with sessionmaker() as session:
            service = AdminService(session, hasher, tenant)
            admin = await service.find(email)
            if admin is None:
                _, token = await service.create(email, "admin" if tenant else "super")
                await session.commit()
                await service.set_password_with_token(token, password, password)
                shown: str | None = password
            else:
                shown = password if admin.password_hash and await hasher.verify(admin.password_hash, password) else None
        result.append((tenant.slug if tenant else "plateforme", email, shown))
    return result


# The demo assistants' fiches: a full one located at her home (Gers), one whose address and email
# are hidden, placed at the commune's centre (Eure-et-Loir), one published with her consent and
# no rates, as mon-enfant shows (Pyrénées-Orientales).
DEMO_FICHES = {
    "gers": dict(
        public_id="demo-gers-01", position_source="demo", latitude=43.6478, longitude=0.5872, phone="05 62 00 00 01",
        presentation="Assistante maternelle depuis 2012, j'accueille jusqu'à quatre enfants dans une maison de plain-pied, "
                     "au calme, à dix minutes à pied des écoles d'Auch.",
        activities="Peinture, pâte à modeler, lecture d'albums, jardinage au potager, sorties au relais petite enfance "
                   "le mardi matin.",
        project="Respecter le rythme de chaque enfant (sommeil, repas), favoriser l'autonomie et le jeu libre, "
                "échanger chaque soir avec les parents sur la journée.",
        housing="maison", floor=0, garden=True, non_smoking=True, vehicle=True, pets="un chat",
        hourly_rate_cents=380, maintenance_cents=350, meal_cents=400, languages="français, occitan",
        offer_periscolaire=True, offer_mercredi=True, offer_vacances_scolaires=True, offer_avant_7h=True,
        calling_hours="du lundi au vendredi, de 18 h à 20 h",
    ),
    "eure-et-loir": dict(
        public_id="demo-eure-01", position_source="demo", latitude=48.4439, longitude=1.4957, phone="02 37 00 00 02",
        show_address=False, show_email=False, contact_only_if_place=True,
        presentation="J'accueille les enfants dans un appartement lumineux au deuxième étage avec ascenseur, près "
                     "d'un grand parc.",
        activities="Comptines, motricité au parc, éveil musical.",
        housing="appartement", floor=2, elevator=True, non_smoking=True, hourly_rate_cents=400, maintenance_cents=380,
        languages="français, anglais", offer_temps_partiel=True, offer_mercredi=True, offer_depannage_urgence=True,
        calling_hours="en semaine après 19 h",
    ),
    "mon-enfant": dict(
        public_id="demo-pyr-001", position_source="demo", latitude=42.6986, longitude=2.8956, phone="04 68 00 00 03",
        presentation="Assistante maternelle à Perpignan, quartier Saint-Mathieu, j'accueille les tout-petits et les "
                     "enfants scolarisés le mercredi.",
        housing="maison", garden=True, languages="français, catalan, espagnol", offer_mercredi=True,
        offer_periscolaire=True, offer_samedi=True,
    ),
}


@dataclass(frozen=True)
class DemoFiche:
    tenant: Tenant
    public_id: str
    note: str


async def load_demo_fiches(sessionmaker: async_sessionmaker, tenants: dict[str, Tenant]) -> list[DemoFiche]:
    """The fiches of the demo assistants (created once; a second run changes nothing)."""
    notes = {"gers": "fiche complète, adresse visible", "eure-et-loir": "adresse et courriel masqués",
             "mon-enfant": "publiée avec consentement, sans tarifs"}
    result: list[DemoFiche] = []
    async with sessionmaker() as session:
        for slug, values in DEMO_FICHES.items():
            tenant = tenants.get(slug)
            if tenant is None or tenant.config.publication is None:
                continue
            kind = tenant.config.login.identifier
            identifier = DEMO_IDENTIFIERS[kind].lower() if kind in ("email", "username") else DEMO_IDENTIFIERS[kind]
            account = await session.scalar(
                select(Account).where(Account.tenant_id == slug, Account.identifier == identifier, Account.kind == "assistant")
            )
            if account is None:
                continue
            values = dict(values)
            phone = values.pop("phone")
            fiche = await session.scalar(select(Fiche).where(Fiche.tenant_id == slug, Fiche.account_id == account.id))
            if fiche is None:
                account.phone = account.phone or phone
                session.add(Fiche(tenant_id=slug, account_id=account.id, **values))
            result.append(DemoFiche(tenant, fiche.public_id if fiche else values["public_id"], notes[slug]))
        result += await _publication_fiches(session, tenants)
        await session.commit()
    return result


# A fiche for the publication demo's assistants (load_demo_publication), so that each tenant that
# publishes shows a published fiche whose address and email are hidden (placed at the commune's
# centre), and a suspended one that answers like any unknown address.
PUBLICATION_FICHE_NOTES = {"published": "adresse et courriel masqués (centre de la commune)",
                           "staff_suspended": "suspendue par le service : page introuvable (404)"}


async def _publication_fiches(session: AsyncSession, tenants: dict[str, Tenant]) -> list[DemoFiche]:
    result: list[DemoFiche] = []
    for tenant in tenants.values():
        if tenant.config.publication is None:
            continue
        for number, first_name, _last_name, fate in DEMO_PUBLICATION_FICHES:
            if fate not in PUBLICATION_FICHE_NOTES:
                continue
            account = await session.scalar(select(Account).where(
                Account.tenant_id == tenant.slug, Account.identifier == _fiche_identifier(tenant, number)))
            if account is None:
                continue
            public_id = f"fiche-{tenant.slug[:3]}-{number:02d}"  # 12 characters, as the random ones
            if await session.scalar(select(Fiche.id).where(Fiche.tenant_id == tenant.slug, Fiche.account_id == account.id)) is None:
                session.add(Fiche(
                    tenant_id=tenant.slug, account_id=account.id, public_id=public_id, show_address=False,
                    show_email=False, presentation=f"Bonjour, je suis {first_name}. J'accueille les enfants à mon domicile, "
                                                   "au calme, près de l'école.",
                    housing="maison", garden=True, languages="français", offer_mercredi=True,
                ))
            result.append(DemoFiche(tenant, public_id, PUBLICATION_FICHE_NOTES[fate]))
    return result
# Fiches of each tenant that publishes, in every state the staff and the parents should see:
# (identifier suffix, first name, last name, what happens to the fiche). Their accounts have no
# password (nobody signs in with them); the demo assistant above is published too.
DEMO_PUBLICATION_FICHES = (
    (1, "Sophie", "Publiée", "published"),
    (2, "Martine", "Suspendue", "staff_suspended"),
    (3, "Nadia", "Renouvellement", "renewal"),
    (4, "Élise", "Opposée", "objection"),  # opt_out only
    (5, "Laure", "Sans-Consentement", "no_consent"),  # consent only
)


def _fiche_identifier(tenant: Tenant, number: int) -> str:
    kind = tenant.config.login.identifier
    if kind == "pmi_number":
        return f"2801{number:02d}"
    if kind == "email":
        return f"fiche.{number}@example.org"
    if kind == "username":
        return f"fiche.{number}"
    return f"AGR-2025-01{number:02d}"


async def load_demo_publication(sessionmaker: async_sessionmaker, tenants: dict[str, Tenant]) -> int:
    """Published, suspended (by staff, with a reason; agrément in renewal), objecting (opt-out)
    and unconsented (consent) fiches on each tenant that publishes, written through the
    publication service. Idempotent; returns how many accounts it created."""
    from assmat.portal.publication.models import CONSENT, OBJECTION
    from assmat.portal.publication.service import record_choice, state_of, suspend

    created = 0
    async with sessionmaker() as session:
        for tenant in tenants.values():
            publication = tenant.config.publication
            if publication is None:
                continue
            postal_code, city = DEMO_TOWNS.get(tenant.slug, DEMO_TOWNS["gers"])
            # The demo assistant herself: an agrément, and her consent where one is needed.
            kind = tenant.config.login.identifier
            identifier = DEMO_IDENTIFIERS[kind].lower() if kind in ("email", "username") else DEMO_IDENTIFIERS[kind]
            demo = await session.scalar(select(Account).where(Account.tenant_id == tenant.slug,
                                                              Account.identifier == identifier))
            fiches: list[tuple[Account, str]] = []
            # Once: a later run keeps whatever someone trying the demo chose.
            if demo is not None and demo.kind == "assistant" and await state_of(session, tenant, demo.id) is None:
                fiches.append((demo, "published"))
            for number, first_name, last_name, fate in DEMO_PUBLICATION_FICHES:
                if (fate == "objection" and publication.regime != "opt_out") or \
                        (fate == "no_consent" and publication.regime != "consent"):
                    continue
                fiche_id = _fiche_identifier(tenant, number)
                account = await session.scalar(select(Account).where(Account.tenant_id == tenant.slug,
                                                                     Account.identifier == fiche_id))
                if account is None:
                    account = Account(tenant_id=tenant.slug, kind="assistant", identifier=fiche_id, civility="Madame",
                                      first_name=first_name, last_name=last_name, phone=f"06 00 00 00 {number:02d}",
                                      address=f"{number} place de la Mairie", postal_code=postal_code, city=city)
                    session.add(account)
                    await session.flush()
                    created += 1
                    fiches.append((account, fate))
            for account, fate in fiches:
                has_agrement = await session.scalar(select(Agrement.id).where(
                    Agrement.tenant_id == tenant.slug, Agrement.account_id == account.id).limit(1))
                if has_agrement is None:
                    session.add(Agrement(
                        tenant_id=tenant.slug, account_id=account.id, number=f"DEMO-{account.id:05d}",
                        start_date=date(2021, 3, 1), end_date=date(2031, 2, 28), capacity=4,
                        status="renewal" if fate == "renewal" else None))
                if publication.regime == "consent" and fate in ("published", "staff_suspended", "renewal"):
                    await record_choice(session, tenant, account, CONSENT, source="staff", admin="démonstration")
                if fate == "objection":
                    await record_choice(session, tenant, account, OBJECTION, source="form")
                if fate == "staff_suspended":
                    await suspend(session, tenant, account, "Contrôle du domicile en cours : fiche suspendue "
                                  "jusqu'à la visite de la puéricultrice.", by="démonstration")
        await session.commit()
    return created


async def load_demo_directory(sessionmaker: async_sessionmaker, tenants: dict[str, Tenant]) -> dict[str, int]:
    """The parents' search table of each tenant that publishes, rebuilt from the demo's fiches
    (some were written straight into their tables above). Returns the entries per tenant."""
    from assmat.portal.directory.service import rebuild_entries

    counts: dict[str, int] = {}
    async with sessionmaker() as session:
        for tenant in tenants.values():
            if tenant.config.publication is not None:
                counts[tenant.slug] = await rebuild_entries(session, tenant)
        await session.commit()
    return counts


# Pending habilitation requests (seed 004) on the tenants that take them: one matched by email
# (the « Sans-Consentement » fiche of the monthly file), waiting for the staff; one whose consent
# letter is out; one that matches nobody, to orient to the Pôle PMI.
DEMO_HABILITATIONS = (
    ("Laure", "Sans-Consentement", 5, "received"),
    ("Sophie", "Publiée", 1, "consent_requested"),
    ("Camille", "Inconnue", None, "received"),
)


async def load_demo_habilitation(sessionmaker: async_sessionmaker, tenants: dict[str, Tenant]) -> int:
    """The pending requests of DEMO_HABILITATIONS on each tenant with an `habilitation` section,
    after load_demo_publication (the fiches they match). Idempotent; returns how many it added."""
    from assmat.portal.habilitation.models import HabilitationRequest

    added = 0
    async with sessionmaker() as session:
        for tenant in tenants.values():
            if tenant.config.habilitation is None:
                continue
            postal_code, city = DEMO_TOWNS.get(tenant.slug, DEMO_TOWNS["gers"])
            for first_name, last_name, number, state in DEMO_HABILITATIONS:
                email = _fiche_identifier(tenant, number) if number is not None else "camille.inconnue@example.org"
                known = await session.scalar(select(HabilitationRequest.id).where(
                    HabilitationRequest.tenant_id == tenant.slug, HabilitationRequest.email_key == email).limit(1))
                if known is not None:
                    continue
                account_id = await session.scalar(select(Account.id).where(
                    Account.tenant_id == tenant.slug, Account.identifier == email)) if number is not None else None
                now = clock.now()
                session.add(HabilitationRequest(
                    tenant_id=tenant.slug, state=state, status="assistant_inscrit", civility="Mme",
                    last_name=last_name, first_name=first_name, street_number=str(number or 9), street_type="place",
                    street_name="de la Mairie", postal_code=postal_code, city=city, phone="04 68 00 00 00",
                    email=email, email_key=email, account_id=account_id, matched_by="email" if account_id else None,
                    created_at=now, updated_at=now, consent_requested_at=now if state == "consent_requested" else None,
                ))
                added += 1
        await session.commit()
    return added


async def load_demo_family(sessionmaker: async_sessionmaker, tenants: dict[str, Tenant]) -> None:
    """The demo family's data on each tenant with family accounts and the search (mon-enfant),
    after load_demo_directory: one favourite (the first fiche by name) and one saved search (the
    commune of that fiche, 10 km around), given to the account `DEMO_FAMILY` that
    load_demo_extras creates and prints. Idempotent."""
    from urllib.parse import urlencode

    from assmat.portal.directory.models import DirectoryEntry
    from assmat.portal.families.models import Favourite
    from assmat.portal.families.service import offers_families, save_search

    async with sessionmaker() as session:
        for slug, tenant in sorted(tenants.items()):
            if not offers_families(tenant):
                continue
            family = await session.scalar(select(Account).where(Account.tenant_id == slug,
                                                                Account.identifier == DEMO_FAMILY))
            if family is None:
                continue
            if await session.scalar(select(Favourite.id).where(Favourite.tenant_id == slug,
                                                               Favourite.account_id == family.id).limit(1)):
                continue  # its favourite and its search are there already
            first = (await session.execute(select(DirectoryEntry.public_id, DirectoryEntry.postal_code).where(
                DirectoryEntry.tenant_id == slug, DirectoryEntry.postal_code.is_not(None))
                .order_by(DirectoryEntry.name_key).limit(1))).first()
            if first is not None:
                session.add(Favourite(tenant_id=slug, account_id=family.id, public_id=first.public_id))
                await save_search(session, tenant, family, "Près de chez nous",
                                  urlencode({"commune": first.postal_code, "rayon": "10"}), None)
        await session.commit()


async def demo_searches(sessionmaker: async_sessionmaker, tenants: dict[str, Tenant]) -> list[tuple[Tenant, str]]:
    """A parents' search to try on each tenant that offers it: the commune of its first entry,
    10 km around (the path and query of `/recherche`)."""
    from urllib.parse import urlencode

    from assmat.portal.directory.models import DirectoryEntry

    searches: list[tuple[Tenant, str]] = []
    async with sessionmaker() as session:
        for slug, tenant in sorted(tenants.items()):
            if not tenant.config.offers("public_search"):
                continue
            postal_code = await session.scalar(
                select(DirectoryEntry.postal_code).where(DirectoryEntry.tenant_id == slug,
                                                         DirectoryEntry.postal_code.is_not(None))
                .order_by(DirectoryEntry.name_key).limit(1))
            query = urlencode({"commune": postal_code, "rayon": "10"}) if postal_code else ""
            searches.append((tenant, f"/recherche?{query}" if query else "/recherche"))
    return searches


# MAM and relais (seed 002) on the tenants that have them: a MAM whose members are the demo
# assistant and the published fiche of the monthly file, and a relais covering their commune.
# Their accounts sign in by email with the tenant's demo password.
DEMO_STRUCTURES = (
    ("mam", "MAM Les Petits Loups", "mam.petits-loups@example.org", "3 rue du Bourg"),
    ("ram", "Relais petite enfance de Chartres", "relais.chartres@example.org", "1 place des Halles"),
)


async def load_demo_structures(sessionmaker: async_sessionmaker, tenants: dict[str, Tenant], hasher: AsyncHasher,
                               settings: Settings) -> list[DemoAccount]:
    """DEMO_STRUCTURES on each tenant with MAM and relais, through the structures' service, after
    load_demo_publication (the members' fiches) and before load_demo_directory (« en MAM »).
    Idempotent: a second run reports each account as it is now."""
    from assmat.auth import credentials
    from assmat.auth.context import auth_context
    from assmat.portal.structures import service
    from assmat.portal.structures.models import Structure

    result: list[DemoAccount] = []
    async with sessionmaker() as session:
        for tenant in tenants.values():
            kinds = service.kinds_of(tenant.config)
            if not kinds:
                continue
            postal_code, city = DEMO_TOWNS.get(tenant.slug, DEMO_TOWNS["gers"])
            password = demo_password(tenant)
            ctx = auth_context(session, tenant, hasher, settings)
            for kind, name, email, address in DEMO_STRUCTURES:
                if kind not in kinds:
                    continue
                structure = await session.scalar(select(Structure).where(Structure.tenant_id == tenant.slug,
                                                                         Structure.email == email))
                if structure is not None:
                    account = await ctx.find(email)
                    if account is None:
                        continue
                    shown, note = await sign_in_state(account, password, hasher)
                    result.append(DemoAccount(tenant, email, shown, False, note or service.KIND_LABELS[kind]))
                    continue
                structure, account = await service.create_structure(ctx, service.NewStructure(
                    kind=kind, name=name, email=email, address=address, postal_code=postal_code, city=city,
                    phone="02 37 00 00 10", communes=city if kind == "ram" else ""), "démonstration")
                await credentials.set_password(ctx, account, password, None, "demo")
                account.activated_at = account.email_confirmed_at = clock.now()
                if kind == "mam":
                    structure.presentation = ("Trois assistantes maternelles accueillent les enfants dans une maison "
                                              "de plain-pied avec jardin, au centre de " + city + ".")
                    structure.hours = "Du lundi au vendredi, de 7 h 30 à 18 h 30. Appelez de préférence après 17 h."
                    kind_id = tenant.config.login.identifier
                    members = [DEMO_IDENTIFIERS[kind_id].lower() if kind_id in ("email", "username")
                               else DEMO_IDENTIFIERS[kind_id], _fiche_identifier(tenant, 1)]
                    for identifier in members:
                        member = await service.assistant_by_identifier(session, tenant, identifier)
                        if member is not None:
                            await service.link_member(session, tenant, structure, member, "démonstration")
                await session.commit()
                result.append(DemoAccount(tenant, email, password, True, service.KIND_LABELS[kind]))
    return result
