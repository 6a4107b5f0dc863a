"""The audit trail: who did what, from where, when. Never a password or a token.

Every line's type is an `EventType`: its value is what the row stores (the strings the trail has
always held, so old rows keep their meaning) and its label is what staff read in the console.
"""

from __future__ import annotations

from enum import StrEnum
from typing import Any

from sqlalchemy.ext.asyncio import AsyncSession

from assmat.core import clock
from assmat.core.security.models import AuditEvent

FORBIDDEN_KEYS = {"password", "mot_de_passe", "token", "temporary_password", "confirmation"}


class EventType(StrEnum):
    """Every kind of audit line, with the French label the console shows for it."""

    label: str

    def __new__(cls, value: str, label: str) -> EventType:
        member = str.__new__(cls, value)
        member._value_ = value
        member.label = label
        return member

    ACCOUNT_CREATED = "account.created", "compte créé"
    ACCOUNT_DELETED = "account.deleted", "compte famille supprimé (données personnelles effacées)"
    ACCOUNT_DISABLED = "account.disabled", "compte désactivé"
    ACCOUNT_ENABLED = "account.enabled", "compte réactivé"
    ACCOUNT_LOCKED = "account.locked", "compte bloqué"
    ACCOUNT_REGISTERED = "account.registered", "compte famille créé en ligne (adresse à confirmer)"
    ACCOUNT_UNLOCKED = "account.unlocked", "compte débloqué"
    ACTIVATION_COMPLETED = "activation.completed", "activation terminée"
    ACTIVATION_IDENTIFIED = "activation.identified", "activation : identité vérifiée"
    ACTIVATION_REFUSED = "activation.refused", "activation refusée"
    ACTIVATION_REQUESTED = "activation.requested", "activation demandée"
    ACTIVATION_SENT_BY_STAFF = "activation.sent_by_staff", "activation renvoyée par le service"
    ADMIN_CREATED = "admin.created", "accès console créé"
    ADMIN_DISABLED = "admin.disabled", "accès console désactivé"
    ADMIN_ENABLED = "admin.enabled", "accès console réactivé"
    ADMIN_LOCKED = "admin.locked", "accès console bloqué"
    ADMIN_LOGIN = "admin.login", "connexion à la console"
    ADMIN_LOGIN_FAILED = "admin.login_failed", "échec de connexion à la console"
    ADMIN_PASSWORD_SET = "admin.password_set", "mot de passe console choisi"
    ADMIN_PASSWORD_RESET_REQUESTED = "admin.password_reset_requested", "mot de passe console oublié : lien envoyé"
    ADMIN_UNLOCKED = "admin.unlocked", "accès console débloqué"
    ADMIN_SET_PASSWORD_SENT = "admin.set_password_sent", "lien de choix du mot de passe envoyé (console)"
    AVAILABILITY_DECLARED = "availability.declared", "disponibilités déclarées"
    CHILD_CREATED = "child.created", "enfant déclaré"
    CHILD_DELETED = "child.deleted", "déclaration d'enfant supprimée"
    CHILD_UPDATED = "child.updated", "déclaration d'enfant modifiée"
    CONTACT_HANDLED = "contact.handled", "message de contact traité"
    CONTACT_SENT = "contact.sent", "message de contact envoyé"
    EMAIL_CHANGED = "email.changed", "email modifié"
    EMAIL_CONFIRMED = "email.confirmed", "email confirmé"
    EMAIL_CHANGE_REQUESTED = "email_change.requested", "changement d'email demandé"
    HABILITATION_ACTIVATED = "habilitation.activated", "habilitation activée, mot de passe envoyé"
    HABILITATION_CONSENT_RECEIVED = "habilitation.consent_received", "habilitation : consentement reçu"
    HABILITATION_CONSENT_REQUESTED = "habilitation.consent_requested", "habilitation : consentement demandé"
    HABILITATION_DUPLICATE = "habilitation.duplicate", "demande d'habilitation en double (non enregistrée)"
    HABILITATION_EXPIRED = "habilitation.expired", "demande d'habilitation expirée"
    HABILITATION_ORIENTED = "habilitation.oriented", "demande d'habilitation orientée vers le Pôle PMI"
    HABILITATION_REJECTED = "habilitation.rejected", "demande d'habilitation refusée"
    HABILITATION_REQUESTED = "habilitation.requested", "demande d'habilitation reçue"
    IMPORT_APPLIED = "import.applied", "import des assistants appliqué"
    IMPORT_DRY_RUN = "import.dry_run", "import des assistants simulé"
    FICHE_SAVED = "fiche.saved", "fiche publique mise à jour"
    FICHE_TEXTS_APPROVED = "fiche.texts_approved", "textes de la fiche validés"
    FICHE_TEXTS_REJECTED = "fiche.texts_rejected", "textes de la fiche refusés"
    FRANCECONNECT_LINKED = "franceconnect.linked", "compte relié à FranceConnect"
    FRANCECONNECT_REFUSED = "franceconnect.refused", "FranceConnect refusé (identité différente ou compte non relié)"
    FRANCECONNECT_UNLINKED = "franceconnect.unlinked", "lien FranceConnect supprimé"
    GEOCODING_RUN = "geocoding.run", "géolocalisation des fiches effectuée"
    POSITION_CORRECTION_ACCEPTED = "position_correction.accepted", "correction de géolocalisation acceptée"
    POSITION_CORRECTION_REJECTED = "position_correction.rejected", "correction de géolocalisation refusée"
    POSITION_CORRECTION_REQUESTED = "position_correction.requested", "correction de géolocalisation demandée"
    LETTER_PRINTED = "letter.printed", "courrier imprimé"
    REGISTRATION_EXPIRED = "registration.expired", "compte famille non confirmé supprimé (lien expiré)"
    REGISTRATION_REFUSED = "registration.refused", "création de compte famille : adresse déjà utilisée (courriel envoyé)"
    LOGIN_FAILED = "login.failed", "échec de connexion"
    LOGIN_SUCCEEDED = "login.success", "connexion"
    LOGOUT = "logout", "déconnexion"
    MAIL_NOT_SENT = "mail.not_sent", "courriel non envoyé (adresse refusée ou erreur)"
    MAIL_REQUEUED = "mail.requeued", "courriel relancé"
    MESSAGE_SENT = "message.sent", "message envoyé aux assistants"
    PASSWORD_CHANGE_REFUSED = (
        "password.change_refused",
        "changement de mot de passe refusé (mot de passe provisoire expiré ou déjà remplacé)",
    )
    PASSWORD_CHANGED = "password.changed", "mot de passe changé"
    PASSWORD_CHECK_FAILED = "password.check_failed", "mot de passe actuel erroné"
    PUBLICATION_CONSENT = "publication.consent", "consentement à la publication de la fiche"
    PUBLICATION_CONSENT_WITHDRAWN = "publication.consent_withdrawn", "consentement à la publication retiré"
    PUBLICATION_OBJECTION = "publication.objection", "opposition à la publication de la fiche"
    PUBLICATION_OBJECTION_WITHDRAWN = "publication.objection_withdrawn", "opposition à la publication annulée"
    PUBLICATION_IMPORTED = "publication.imported", "choix de publication reçus par l'import"
    PUBLICATION_SUSPENDED = "publication.suspended", "fiche suspendue par le service"
    PUBLICATION_RESUMED = "publication.resumed", "suspension de la fiche levée"
    PHOTO_ADDED = "photo.added", "photo ajoutée à la fiche"
    PHOTO_APPROVED = "photo.approved", "photo validée"
    PHOTO_DELETED = "photo.deleted", "photo supprimée"
    PHOTO_DESCRIBED = "photo.described", "description de photo modifiée"
    PHOTO_REJECTED = "photo.rejected", "photo refusée"
    RESET_REFUSED = "reset.refused", "réinitialisation refusée"
    RESET_REQUESTED = "reset.requested", "réinitialisation demandée"
    RESET_SENT_BY_STAFF = "reset.sent_by_staff", "réinitialisation envoyée par le service"
    RESET_USED = "reset.used", "réinitialisation utilisée"
    SITUATION_CHANGE_HANDLED = "situation_change.handled", "changement de situation traité"
    SITUATION_CHANGE_SENT = "situation_change.sent", "changement de situation signalé"
    STRUCTURE_ACCOUNT_ADDED = "structure.account_added", "compte ajouté à une structure (MAM, relais)"
    STRUCTURE_DELETED = "structure.deleted", "structure supprimée (MAM, relais)"
    STRUCTURE_FICHE_SAVED = "structure.fiche_saved", "fiche de la structure mise à jour par la structure"
    STRUCTURE_MEMBER_LINKED = "structure.member_linked", "assistant rattaché à une MAM"
    STRUCTURE_MEMBER_UNLINKED = "structure.member_unlinked", "assistant détaché d'une MAM"
    STRUCTURE_UPDATED = "structure.updated", "structure modifiée par le service"
    TEMPORARY_PASSWORD_ISSUED = "temporary_password.issued", "mot de passe provisoire émis"
    TERMS_ACCEPTED = "terms.accepted", "conditions acceptées"
    TOWN_HALL_LIST_EXPORTED = "publication.town_hall_list", "liste des assistants pour les mairies exportée"


def event_label(stored: str) -> str:
    """What staff read for a stored type; a type no member carries any more shows as stored."""
    try:
        return EventType(stored).label
    except ValueError:
        return stored


NEW_EVENT = AuditEvent.__table__.insert()


async def record(
    session: AsyncSession,
    tenant_id: str | None,
    event_type: EventType,
    *,
    account_id: int | None = None,
    ip: str | None = None,
    **detail: Any,
) -> None:
    """Write an audit line in the caller's transaction."""
    # A free string would be a type without a label, shown raw in the console: refuse it loudly.
    if not isinstance(event_type, EventType):
        raise TypeError(f"audit event types are EventType members, not {event_type!r}")
    leaked = FORBIDDEN_KEYS & set(detail)
    if leaked:
        raise ValueError(f"secrets never go to the audit trail: {sorted(leaked)}")
    # An INSERT of the row, not an object for the flush: every sign-in writes one, and a
    # unit of work for a row nothing reads back cost more than the statement (about 300 calls).
    await session.execute(NEW_EVENT, {
        "tenant_id": tenant_id, "account_id": account_id, "type": event_type.value, "ip": ip, "detail": detail,
        "created_at": clock.now(),
    })
