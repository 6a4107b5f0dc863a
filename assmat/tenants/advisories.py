"""Weak choices a tenant may make on purpose (the seeds' habits), printed by check-config."""

from __future__ import annotations

import math
import string

from assmat.tenants.schema import PasswordPolicy, TenantConfig

# CNIL délibération 2022-100: about 80 bits of entropy for a password alone, about 50 when
# access is restricted (temporary lockout, throttling).
CNIL_BITS_WITH_LOCKOUT = 50
CNIL_BITS_WITHOUT_LOCKOUT = 80


def policy_entropy_bits(policy: PasswordPolicy) -> float:
    """Entropy of the shortest password the policy forces, counted the CNIL way:
    min_length × log2(size of the alphabet made of the character classes it requires)."""
    alphabet = 0
    if policy.min_lowercase or policy.min_letters:
        alphabet += 26
    if policy.min_uppercase or (policy.min_letters and not policy.min_lowercase):
        alphabet += 26
    if policy.min_digits:
        alphabet += 10
    if policy.min_special:
        specials = policy.special_characters
        alphabet += len(specials) if specials else len(string.punctuation)
    if alphabet == 0:
        alphabet = 10  # nothing required: an all-digit password passes
    return policy.min_length * math.log2(alphabet)


def advisories(config: TenantConfig) -> list[str]:
    notes: list[str] = []
    lockout = config.lockout
    bits = policy_entropy_bits(config.password_policy)
    # Any lockout restricts access; CNIL's lower bar applies.
    needed = CNIL_BITS_WITH_LOCKOUT if lockout.max_failures <= 10 else CNIL_BITS_WITHOUT_LOCKOUT
    if bits < needed:
        notes.append(
            f"password_policy : environ {bits:.0f} bits d'entropie, sous la recommandation CNIL "
            f"(délibération 2022-100) d'environ {needed} bits pour cette restriction d'accès"
        )
    if config.password_reset.mode == "temporary_password":
        notes.append("password_reset.mode : les mots de passe provisoires partent en clair par courriel ; préférer mode: link")
    if config.password_reset.reveal_unknown_account:
        notes.append(
            "password_reset.reveal_unknown_account : les messages explicites révèlent quels comptes existent"
        )
    if lockout.reveal_locked_state:
        notes.append("lockout.reveal_locked_state : le message « compte bloqué » révèle qu'un compte existe")
    if lockout.duration == "permanent" and lockout.max_failures <= 5:
        notes.append(
            f"lockout : blocage permanent après {lockout.max_failures} échecs ; n'importe qui peut bloquer "
            "un compte dont il connaît l'identifiant (préférer une durée, par exemple 15m)"
        )
    if not config.password_policy.blocklist:
        notes.append("password_policy.blocklist : les mots de passe courants sont acceptés")
    publication = config.publication
    if publication and publication.photos.max_count and not publication.photos.moderation:
        notes.append("publication.photos.moderation : les photos sont publiées sans validation par le service")
    return notes
