"""The printed letter that gives an account its identifier and a temporary password, in the
tenant's words (its YAML `letter:` section; seed 000's letter for the Gers), dated the day it is
printed: « Auch, le 1er décembre 2026 ». Built here, rendered by `letter.html`."""

from __future__ import annotations

from dataclasses import dataclass
from datetime import date

from assmat.auth.models import Account
from assmat.tenants.loader import Tenant

MONTHS = ("janvier", "février", "mars", "avril", "mai", "juin", "juillet", "août", "septembre", "octobre",
          "novembre", "décembre")

DEFAULT_BEFORE = (
    "Suite à votre agrément, vous disposez d'un espace réservé avec un accès sécurisé au site {site}. "
    "Vous trouverez ci-après vos identifiant et mot de passe :",
)
DEFAULT_AFTER = (
    "J'attire votre attention sur l'importance de respecter la casse (majuscule/minuscule) dans votre saisie au "
    "risque de bloquer votre compte personnel. Lors de votre première connexion, vous serez invité à choisir votre "
    "propre mot de passe.",
    "Je vous prie de croire, {civilite}, à l'assurance de mes meilleurs sentiments.",
)


def french_date(day: date) -> str:
    """« 1er décembre 2026 », « 9 octobre 2025 »: as a French letter is dated."""
    return f"{'1er' if day.day == 1 else day.day} {MONTHS[day.month - 1]} {day.year}"


def civility_of(account: Account) -> str:
    return account.civility if account.civility in ("Madame", "Monsieur") else "Madame, Monsieur"


@dataclass(frozen=True)
class PrintedLetter:
    letterhead: list[str]
    mention: str | None
    recipient: list[str]
    dated: str
    subject: str
    salutation: str
    before: list[str]
    identifier: str
    password: str
    after: list[str]
    signature: list[str]


def printed_letter(tenant: Tenant, account: Account, password: str, today: date) -> PrintedLetter:
    config = tenant.config
    branding, letter = config.branding, config.letter
    civility = civility_of(account)
    site = config.public_url or branding.service_name

    def words(paragraphs) -> list[str]:
        # Only {civilite} may appear in the YAML's paragraphs (checked when it loads); {site}
        # only in the defaults.
        return [text.replace("{civilite}", civility).replace("{site}", site) for text in paragraphs]

    letterhead = list(letter.letterhead) or [
        line for line in (branding.legal.publisher, branding.contact.address,
                          f"Téléphone : {branding.contact.phone}" if branding.contact.phone else None) if line
    ]
    names = " ".join(part for part in (account.civility, account.first_name, account.last_name) if part)
    town = " ".join(part for part in (account.postal_code, account.city) if part)
    return PrintedLetter(
        letterhead=letterhead, mention=letter.mention,
        recipient=[line for line in (names, account.address, town) if line],
        dated=f"{letter.place}, le {french_date(today)}" if letter.place else f"Le {french_date(today)}",
        subject=letter.subject or branding.tagline or branding.service_name,
        salutation=f"{civility},",
        before=words(letter.before_credentials or DEFAULT_BEFORE),
        identifier=account.identifier, password=password,
        after=words(letter.after_credentials or DEFAULT_AFTER),
        signature=list(letter.signature) or [branding.legal.publication_director],
    )
