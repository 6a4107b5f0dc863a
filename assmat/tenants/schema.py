"""The tenant YAML format (shared/spec/tenant-config.md) as a strict pydantic schema.

Every key carries a description: `docs/tenant-config.md` is generated from this module and a
test fails when the two differ, so the reference page cannot drift from what is enforced.
"""

from __future__ import annotations

import re
from datetime import timedelta
from typing import Annotated, Any, Literal
from urllib.parse import urlsplit

from pydantic import (
    AfterValidator,
    BaseModel,
    BeforeValidator,
    ConfigDict,
    Field,
    WithJsonSchema,
    model_validator,
)

from assmat.tenants.messages import MESSAGE_IDS

_DURATION = re.compile(r"^([1-9][0-9]*)([mhd])$")
_UNITS = {"m": "minutes", "h": "hours", "d": "days"}


def parse_duration(value: Any) -> timedelta:
    if isinstance(value, timedelta):
        return value
    if not isinstance(value, str) or not (match := _DURATION.match(value.strip())):
        raise ValueError("durée attendue sous la forme 30m, 48h ou 7d")
    return timedelta(**{_UNITS[match.group(2)]: int(match.group(1))})


Duration = Annotated[
    timedelta,
    BeforeValidator(parse_duration),
    WithJsonSchema({"type": "string", "pattern": _DURATION.pattern}),
]


def _lock_duration(value: Any) -> Any:
    if value == "permanent" or isinstance(value, timedelta):
        return value
    try:
        return parse_duration(value)
    except ValueError:
        raise ValueError("« permanent » ou une durée (30m, 48h, 7d) attendu") from None


LockDuration = Annotated[
    Literal["permanent"] | timedelta,
    BeforeValidator(_lock_duration),
    WithJsonSchema({"type": "string", "pattern": f"^permanent$|{_DURATION.pattern}"}),
]


def _known_message_ids(value: dict[str, str]) -> dict[str, str]:
    unknown = sorted(set(value) - MESSAGE_IDS)
    if unknown:
        raise ValueError(f"identifiant(s) de message inconnu(s) : {', '.join(unknown)}")
    return value


def _colour(value: str) -> str:
    if not re.fullmatch(r"#[0-9a-fA-F]{6}", value):
        raise ValueError("couleur attendue au format #rrggbb")
    return value.lower()


Colour = Annotated[str, AfterValidator(_colour)]


def _host(value: str) -> str:
    if value != value.lower() or not re.fullmatch(r"[a-z0-9]([a-z0-9.-]*[a-z0-9])?", value):
        raise ValueError("nom d'hôte en minuscules attendu (lettres, chiffres, points, tirets)")
    return value


Host = Annotated[str, AfterValidator(_host)]


def _email(value: str) -> str:
    if not re.fullmatch(r"[^@\s<>]+@[^@\s<>]+\.[^@\s<>]+", value):
        raise ValueError("adresse électronique invalide")
    return value


Email = Annotated[str, AfterValidator(_email)]


def _mail_from(value: str) -> str:
    # "Name <address>" or a bare address.
    match = re.fullmatch(r"(?:[^<>]*<([^<>]+)>|([^<>]+))", value.strip())
    _email((match.group(1) or match.group(2)).strip() if match else "")
    return value


MailFrom = Annotated[str, AfterValidator(_mail_from)]


def _relative_path(value: str) -> str:
    if value.startswith("/") or ".." in value.split("/"):
        raise ValueError("chemin relatif au dossier de configuration attendu")
    return value


RelativePath = Annotated[str, AfterValidator(_relative_path)]


def _https_or_http_url(value: str) -> str:
    if not re.fullmatch(r"https?://[^\s/]+(/\S*)?", value):
        raise ValueError("adresse web attendue (https://…)")
    return value.rstrip("/")


Url = Annotated[str, AfterValidator(_https_or_http_url)]


class Strict(BaseModel):
    # Unknown keys are errors: a typo must never fall back silently to a default.
    model_config = ConfigDict(extra="forbid", strict=True, frozen=True)


class Contact(Strict):
    phone: str | None = Field(None, description="Téléphone affiché en pied de page.")
    email: Email | None = Field(None, description="Adresse de contact affichée.")
    address: str | None = Field(None, description="Adresse postale affichée.")


class Legal(Strict):
    publisher: str = Field(description="Éditeur du site (mentions légales).")
    publication_director: str = Field(description="Directeur de la publication.")
    host: str = Field(description="Hébergeur du site (nom et adresse).")
    accessibility: Literal["non conforme", "partiellement conforme", "totalement conforme"] = Field(
        "non conforme", description="État de conformité RGAA affiché en pied de page."
    )
    terms: RelativePath | None = Field(
        None,
        description="Fichier Markdown des conditions d'utilisation acceptées à la première "
        "connexion ; une nouvelle version du fichier les fait accepter à nouveau.",
    )
    legal_notice: RelativePath | None = Field(None, description="Texte complémentaire des mentions légales (Markdown).")
    privacy: RelativePath | None = Field(None, description="Page « Données personnelles » (Markdown).")
    cookies: RelativePath | None = Field(None, description="Page « Cookies » (Markdown).")


class Branding(Strict):
    service_name: str = Field(description="Nom du service affiché dans l'en-tête et les courriels.")
    tagline: str | None = Field(None, description="Sous-titre de l'en-tête.")
    logo: RelativePath | None = Field(None, description="Logo (SVG ou PNG), relatif au dossier.")
    primary_color: Colour = Field(description="Couleur principale, #rrggbb.")
    mail_from: MailFrom = Field(description="Expéditeur des courriels, « Nom <adresse> ».")
    admin_email: Email = Field(description="Reçoit les avis de blocage et les messages du formulaire de contact.")
    contact: Contact = Field(default_factory=Contact, description="Coordonnées affichées.")
    legal: Legal = Field(description="Mentions légales et pages réglementaires.")


class Login(Strict):
    identifier: Literal["agrement_number", "pmi_number", "email", "username"] = Field(
        description="Ce que l'utilisateur saisit comme identifiant (les assistants, et les familles)."
    )
    structures_identifier: Literal["email"] = Field(
        "email", description="Identifiant des comptes de structures (MAM, relais, features.structures) : leur adresse "
        "électronique, tapée dans le même champ que l'identifiant des assistants."
    )
    families_identifier: Literal["email", "username"] | None = Field(
        None, description="Identifiant des comptes familles (features.parents) : « email » (leur adresse électronique) "
        "ou « username » (un identifiant donné par le service) ; absent : celui de login.identifier. Tapé dans le "
        "même champ que l'identifiant des assistants : s'il diffère de login.identifier, ce doit être « email »."
    )
    captcha: bool = Field(False, description="Captcha image et audio sur le formulaire de connexion.")

    @property
    def effective_families_identifier(self) -> str:
        return self.families_identifier or self.identifier


class History(Strict):
    months: int | None = Field(None, ge=1, le=120, description="Refuser les mots de passe des N derniers mois.")
    count: int | None = Field(None, ge=1, le=50, description="Refuser les N derniers mots de passe.")

    @model_validator(mode="after")
    def _exactly_one(self) -> "History":
        if (self.months is None) == (self.count is None):
            raise ValueError("indiquer soit months, soit count")
        return self


class PasswordPolicy(Strict):
    min_length: int = Field(12, ge=1, le=1024, description="Longueur minimale.")
    max_length: int = Field(128, ge=1, le=1024, description="Longueur maximale.")
    min_uppercase: int = Field(0, ge=0, description="Majuscules minimum.")
    min_lowercase: int = Field(0, ge=0, description="Minuscules minimum.")
    min_letters: int = Field(0, ge=0, description="Lettres minimum, majuscules ou minuscules.")
    min_digits: int = Field(0, ge=0, description="Chiffres minimum.")
    min_special: int = Field(0, ge=0, description="Caractères spéciaux minimum.")
    special_characters: str | None = Field(
        None,
        description="Les seuls caractères spéciaux acceptés ; absent : tout caractère non "
        "alphanumérique ; vide : aucun.",
    )
    allow_whitespace: bool = Field(False, description="Accepter les espaces.")
    forbid_identifier: bool = Field(True, description="Refuser un mot de passe contenant l'identifiant, le nom ou le prénom.")
    history: History | None = Field(None, description="Historique : {months: 6} ou {count: 5} ; absent : aucun.")
    blocklist: bool = Field(True, description="Refuser les mots de passe courants (liste livrée hors ligne).")

    @model_validator(mode="after")
    def _lengths_fit(self) -> "PasswordPolicy":
        if self.min_length > self.max_length:
            raise ValueError("min_length doit être inférieur ou égal à max_length")
        required = (
            max(self.min_uppercase + self.min_lowercase, self.min_letters) + self.min_digits + self.min_special
        )
        if required > self.max_length:
            raise ValueError(f"les minimums par catégorie ({required}) dépassent max_length ({self.max_length})")
        if self.min_special and self.special_characters == "":
            raise ValueError("min_special exige des caractères spéciaux autorisés")
        if self.special_characters and any(c.isalnum() or c.isspace() for c in self.special_characters):
            raise ValueError("special_characters ne doit contenir ni lettre, ni chiffre, ni espace")
        return self


class Lockout(Strict):
    max_failures: int = Field(5, ge=1, le=100, description="Échecs consécutifs avant blocage.")
    reset_counter_on_success: bool = Field(
        True, description="Une connexion réussie remet le compteur à zéro (false : règle du Gers)."
    )
    duration: LockDuration = Field(
        parse_duration("15m"), description="« permanent » (un administrateur débloque) ou une durée (15m)."
    )
    notify_user: bool = Field(True, description="Prévenir l'utilisateur par courriel lors du blocage.")
    notify_admins: bool = Field(False, description="Prévenir branding.admin_email lors du blocage.")
    reveal_locked_state: bool = Field(False, description="Dire « compte bloqué » à la connexion (sinon échec générique).")


class PasswordReset(Strict):
    mode: Literal["temporary_password", "link"] = Field("link", description="Mot de passe provisoire envoyé par courriel, ou lien.")
    identify_by: list[Literal["identifier", "email"]] = Field(
        ["identifier", "email"], min_length=1, description="Champs demandés : identifier, email, ou les deux."
    )
    link_ttl: Duration | None = Field(None, description="Validité du lien (mode link ; 1h par défaut).")
    temporary_password_ttl: Duration | None = Field(
        None, description="Validité du mot de passe provisoire (mode temporary_password ; 72h par défaut)."
    )
    reveal_unknown_account: bool = Field(
        False, description="Messages explicites « identifiant inconnu » / « email ne correspond pas »."
    )
    allowed_when_locked: bool = Field(False, description="Un compte bloqué peut demander une réinitialisation.")
    captcha: bool = Field(False, description="Captcha sur le formulaire.")

    @model_validator(mode="after")
    def _ttl_matches_mode(self) -> "PasswordReset":
        if len(set(self.identify_by)) != len(self.identify_by):
            raise ValueError("identify_by contient un doublon")
        if self.link_ttl is not None and self.mode != "link":
            raise ValueError("link_ttl n'est permis qu'avec mode: link")
        if self.temporary_password_ttl is not None and self.mode != "temporary_password":
            raise ValueError("temporary_password_ttl n'est permis qu'avec mode: temporary_password")
        return self

    @property
    def effective_link_ttl(self) -> timedelta:
        return self.link_ttl or timedelta(hours=1)

    @property
    def effective_temporary_password_ttl(self) -> timedelta:
        return self.temporary_password_ttl or timedelta(hours=72)


class Activation(Strict):
    mode: Literal["letter", "identity_check", "pmi_number_birthdate"] = Field(
        "letter", description="Courrier avec mot de passe provisoire, contrôle d'identité, ou n° PMI + date de naissance."
    )
    identity_fields: list[Literal["last_name", "first_name", "birth_date", "email"]] | None = Field(
        None, description="Champs du contrôle d'identité (mode identity_check)."
    )
    link_ttl: Duration = Field(parse_duration("48h"), description="Validité du lien d'activation.")
    email_confirmation: bool = Field(True, description="Confirmer l'adresse électronique avant la première utilisation.")
    franceconnect: bool = Field(False, description="Proposer FranceConnect comme seconde étape.")

    @model_validator(mode="after")
    def _fields_match_mode(self) -> "Activation":
        if self.identity_fields is not None and self.mode != "identity_check":
            raise ValueError("identity_fields n'est permis qu'avec mode: identity_check")
        if self.mode == "identity_check" and not self.identity_fields:
            raise ValueError("identity_fields est requis avec mode: identity_check")
        return self


FRANCECONNECT_ISSUERS = {
    "integration": "https://fcp-low.integ01.dev-franceconnect.fr/api/v2",
    "production": "https://oidc.franceconnect.gouv.fr/api/v2",
}
FRANCECONNECT_SCOPES = "openid given_name family_name birthdate gender birthplace birthcountry email"


def _fc_environment(value: str) -> str:
    if value in FRANCECONNECT_ISSUERS:
        return value
    try:
        return _https_or_http_url(value)
    except ValueError:
        raise ValueError("« integration », « production » ou l'adresse (http ou https) d'un fournisseur de test") from None


def _fc_scopes(value: str) -> str:
    scopes = value.split()
    if "openid" not in scopes:
        raise ValueError("les scopes doivent comprendre « openid »")
    if len(set(scopes)) != len(scopes):
        raise ValueError("un scope figure deux fois")
    return " ".join(scopes)


class FranceConnect(Strict):
    """FranceConnect v2 (seed 002: « Identifiez-vous via France Connect »): the State's identity
    to sign in, and the second step of the activation where `activation.franceconnect` is set."""

    enabled: bool = Field(False, description="Proposer FranceConnect sur la page de connexion (et à l'activation).")
    environment: Annotated[str, AfterValidator(_fc_environment)] = Field(
        "integration", description="« integration », « production », ou l'adresse de l'émetteur d'un fournisseur de test "
        "(sa découverte : {adresse}/.well-known/openid-configuration)."
    )
    client_id: str = Field("", description="Identifiant du service fourni par FranceConnect.")
    client_secret_env: Annotated[str, Field(pattern=r"^[A-Z][A-Z0-9_]*$")] = Field(
        "ASSMAT_FRANCECONNECT_SECRET",
        description="NOM de la variable d'environnement qui contient le secret (jamais le secret lui-même).",
    )
    scopes: Annotated[str, AfterValidator(_fc_scopes)] = Field(FRANCECONNECT_SCOPES, description="Scopes demandés, séparés par des espaces.")

    @property
    def issuer(self) -> str:
        return FRANCECONNECT_ISSUERS.get(self.environment, self.environment).rstrip("/")

    @model_validator(mode="after")
    def _client_when_enabled(self) -> "FranceConnect":
        if self.enabled and not self.client_id.strip():
            raise ValueError("client_id est requis quand FranceConnect est activé")
        return self


_LETTER_PLACEHOLDER = re.compile(r"\{([^{}]*)\}")


def _letter_text(value: list[str]) -> list[str]:
    for text in value:
        if not text.strip():
            raise ValueError("un paragraphe vide")
        unknown = {name for name in _LETTER_PLACEHOLDER.findall(text) if name != "civilite"}
        if unknown or text.count("{") != text.count("}"):
            raise ValueError("seul {civilite} peut figurer entre accolades (« Madame », « Monsieur » ou « Madame, Monsieur »)")
    return value


LetterText = Annotated[list[str], AfterValidator(_letter_text)]


class Letter(Strict):
    """The printed letter that gives an account its identifier and temporary password (seed
    000: « Auch, le 9 octobre 2025 », « Objet : … », signed by the Président)."""

    place: str | None = Field(None, description="Ville de la date : « Auch » donne « Auch, le 9 octobre 2025 ».")
    letterhead: list[str] = Field(
        [], description="Lignes de l'en-tête de l'expéditeur (service, affaire suivie par, téléphone) ; "
        "vide : l'éditeur, l'adresse et le téléphone de branding."
    )
    mention: str | None = Field(None, description="Mention d'envoi, par exemple « Lettre expédiée en recommandé avec A.R. ».")
    subject: str | None = Field(None, description="Objet du courrier ; absent : le sous-titre ou le nom du service.")
    before_credentials: LetterText = Field(
        [], description="Paragraphes avant l'identifiant et le mot de passe ; {civilite} devient « Madame », "
        "« Monsieur » ou « Madame, Monsieur » ; vide : le texte par défaut."
    )
    after_credentials: LetterText = Field(
        [], description="Paragraphes après l'identifiant et le mot de passe, formule de politesse comprise ; "
        "vide : le texte par défaut."
    )
    signature: list[str] = Field([], description="Lignes de la signature ; vide : le directeur de la publication.")


class FirstLogin(Strict):
    change_password: bool = Field(True, description="Un mot de passe provisoire doit être changé à la connexion.")
    accept_terms: bool = Field(False, description="Faire accepter les conditions d'utilisation (legal.terms).")


class Session(Strict):
    idle_timeout: Duration = Field(parse_duration("30m"), description="Déconnexion après inactivité.")
    absolute_timeout: Duration = Field(parse_duration("12h"), description="Durée maximale d'une session.")

    @model_validator(mode="after")
    def _idle_within_absolute(self) -> "Session":
        if self.idle_timeout > self.absolute_timeout:
            raise ValueError("idle_timeout doit être inférieur ou égal à absolute_timeout")
        return self


class Document(Strict):
    title: str = Field(description="Intitulé du lien.")
    url: Url = Field(description="Adresse du document.")


class Features(Strict):
    children: bool = Field(False, description="Déclaration des enfants accueillis.")
    messages: bool = Field(False, description="Messages du département.")
    agrement: bool = Field(
        False, description="Page « Mon agrément » et formulaire « Signaler un changement de situation »."
    )
    availability: list[Literal["global", "weekly", "january_september"]] = Field(
        [], description="Formes de disponibilités proposées."
    )
    public_search: bool = Field(False, description="Recherche publique pour les parents.")
    structures: list[Literal["mam", "ram"]] = Field([], description="Comptes de structures (MAM, relais).")
    parents: bool = Field(False, description="Comptes parents.")
    documents: list[Document] = Field([], description="Documents utiles.")


class Families(Strict):
    signup: bool = Field(
        False, description="Les familles créent elles-mêmes leur compte (« Créer mon compte famille »), confirmé par un "
        "lien envoyé par courriel ; false : seul le service crée les comptes familles. Exige features.parents."
    )
    confirmation_ttl: Duration = Field(
        parse_duration("48h"), description="Validité du lien de confirmation d'un compte créé en ligne ; passé ce délai, "
        "le compte non confirmé est supprimé par « assmat registrations-expire »."
    )
    captcha: bool = Field(False, description="Captcha sur le formulaire de création de compte.")


class Photos(Strict):
    max_count: int = Field(6, ge=0, le=20, description="Nombre de photos par fiche (0 : pas de photos).")
    max_bytes: int = Field(
        5_000_000, ge=100_000, le=20_000_000, description="Taille maximale d'un fichier envoyé, en octets."
    )
    moderation: bool = Field(True, description="Une photo n'est publiée qu'après validation par le service.")


class Geocoding(Strict):
    url: Url = Field(
        description="Adresse du géocodeur de ce tenant (protocole de la Base Adresse Nationale : "
        "{url}/search, {url}/reverse), par exemple l'addok du département ; remplace ASSMAT_GEOCODER_URL."
    )


def _tiles_url(value: str) -> str:
    parts = urlsplit(value)
    if parts.scheme != "https" or not parts.hostname or any(mark not in value for mark in ("{z}", "{x}", "{y}")):
        raise ValueError("une adresse https de tuiles avec {z}, {x} et {y}")
    return value


class MapTiles(Strict):
    tiles_url: Annotated[str, AfterValidator(_tiles_url)] = Field(
        description="Adresse des tuiles de la carte interactive de la recherche, https, avec {z}, {x} et {y} "
        "(par exemple https://tile.openstreetmap.org/{z}/{x}/{y}.png). La politique de sécurité des pages de "
        "recherche de ce tenant autorise alors les images de cet hôte, et lui seul."
    )
    attribution: str = Field(min_length=1, max_length=200, description="Mention des sources des tuiles, affichée sur la carte.")

    @property
    def origin(self) -> str:
        parts = urlsplit(self.tiles_url)
        return f"{parts.scheme}://{parts.netloc}"


class Publication(Strict):
    regime: Literal["opt_out", "consent", "mandatory_with_masking"] = Field(
        description=(
            "Règle de publication des fiches : opt_out (publiée sauf opposition, art. L.421-8 CASF), "
            "consent (publiée seulement après consentement enregistré, retirable à tout moment), "
            "mandatory_with_masking (publication obligatoire, art. R.421-39 CASF : l'assistant peut masquer "
            "son adresse, et son courriel ou son téléphone, pas les deux)."
        )
    )
    show_rates: bool = Field(True, description="La fiche montre les tarifs de l'assistant.")
    text_moderation: bool = Field(
        False, description="Les textes libres de la fiche ne sont publiés qu'après validation par le service."
    )
    photos: Photos = Field(default_factory=Photos, description="Photos de la fiche.")


def _clock_time(value: str) -> str:
    if not re.fullmatch(r"([01][0-9]|2[0-3]):[0-5][0-9]|24:00", value):
        raise ValueError("heure attendue au format HH:MM (de 00:00 à 24:00)")
    return value


ClockTime = Annotated[str, AfterValidator(_clock_time)]


class AgeGroup(Strict):
    code: Annotated[str, Field(pattern=r"^[a-z0-9_]+$")] = Field(description="Code stable de la tranche d'âge.")
    label: str = Field(description="Libellé affiché.")
    min_months: int = Field(0, ge=0, le=216, description="Âge minimal, en mois (inclus).")
    max_months: int | None = Field(None, ge=1, le=216, description="Âge maximal, en mois (exclu) ; vide : sans limite.")

    @model_validator(mode="after")
    def _ordered(self) -> "AgeGroup":
        if self.max_months is not None and self.max_months <= self.min_months:
            raise ValueError("max_months doit dépasser min_months")
        return self


class TimeSlot(Strict):
    code: Annotated[str, Field(pattern=r"^[a-z0-9_]+$")] = Field(description="Code stable de la tranche horaire.")
    label: str = Field(description="Libellé affiché.")
    start: ClockTime = Field(description="Début, HH:MM.")
    end: ClockTime = Field(description="Fin, HH:MM (24:00 pour minuit).")

    @model_validator(mode="after")
    def _ordered(self) -> "TimeSlot":
        if self.end <= self.start:  # HH:MM compares in text order
            raise ValueError("end doit suivre start")
        return self


def _default_age_groups() -> list[AgeGroup]:
    return [
        AgeGroup(code="moins_18_mois", label="Moins de 18 mois", min_months=0, max_months=18),
        AgeGroup(code="18_mois_3_ans", label="De 18 mois à 3 ans", min_months=18, max_months=36),
        AgeGroup(code="plus_3_ans", label="Plus de 3 ans", min_months=36),
    ]


def _default_time_slots() -> list[TimeSlot]:
    return [
        TimeSlot(code="avant_7h", label="Avant 7 h", start="05:00", end="07:00"),
        TimeSlot(code="matin", label="Matin (7 h – 12 h)", start="07:00", end="12:00"),
        TimeSlot(code="midi", label="Midi (12 h – 14 h)", start="12:00", end="14:00"),
        TimeSlot(code="apres_midi", label="Après-midi (14 h – 18 h)", start="14:00", end="18:00"),
        TimeSlot(code="soir", label="Soir (18 h – 20 h)", start="18:00", end="20:00"),
        TimeSlot(code="apres_20h", label="Après 20 h", start="20:00", end="23:00"),
    ]


def _unique_slot_codes(value: list[Any]) -> list[Any]:
    codes = [item.code for item in value]
    if len(set(codes)) != len(codes):
        raise ValueError("code en double")
    return value


class AvailabilitySettings(Strict):
    age_groups: Annotated[list[AgeGroup], AfterValidator(_unique_slot_codes)] = Field(
        default_factory=_default_age_groups, min_length=1, description="Tranches d'âge des places déclarées."
    )
    time_slots: Annotated[list[TimeSlot], AfterValidator(_unique_slot_codes)] = Field(
        default_factory=_default_time_slots, min_length=1, max_length=9,
        description="Tranches horaires de la grille de la semaine (9 au plus)."
    )
    validity_months: int = Field(6, ge=1, le=24, description="Durée de validité d'une déclaration, en mois.")


class ChildcareType(Strict):
    code: Annotated[str, Field(pattern=r"^[a-z0-9_]+$")] = Field(description="Code stable du type de garde.")
    label: str = Field(description="Libellé affiché.")
    requires_end_date: bool = Field(False, description="La date de fin est obligatoire.")
    max_days_per_year: int | None = Field(None, ge=1, le=366, description="Plafond de jours par an.")
    max_hours_per_month: int | None = Field(
        None, ge=1, le=744, description="Plafond d'heures par mois ; seul ce type accepte des heures."
    )


class ImportColumns(Strict):
    agrement_number: str | None = None
    civility: str | None = None
    last_name: str | None = None
    first_name: str | None = None
    birth_date: str | None = None
    email: str | None = None
    phone: str | None = None
    address: str | None = None
    postal_code: str | None = None
    city: str | None = None
    agrement_start: str | None = None
    agrement_end: str | None = None
    capacity: str | None = None
    publication: str | None = None
    family_situation: str | None = None
    agrement_place: str | None = None
    agrement_status: str | None = None
    mam: str | None = Field(
        None, description="En-tête de la colonne facultative de la MAM où exerce l'assistante (son nom, comme dans "
        "la console ; vide : à domicile). Lue seulement sur un portail qui a des MAM (features.structures).",
    )


class Import(Strict):
    delimiter: Literal[";", ",", "\t", "|"] = Field(";", description="Séparateur du fichier CSV.")
    key: Literal["agrement_number", "email"] | None = Field(
        None,
        description="Colonne qui identifie le compte d'une ligne : le numéro d'agrément (lu comme l'identifiant "
        "de connexion), ou l'adresse électronique quand c'est l'identifiant (login.identifier: email) ; le numéro "
        "d'agrément reste alors obligatoire, pour l'agrément. Absente : email si login.identifier vaut email, "
        "sinon agrement_number.",
    )
    columns: ImportColumns = Field(
        default_factory=ImportColumns, description="Renommage des en-têtes : champ → en-tête du fichier."
    )


class Habilitation(Strict):
    grants: list[Literal["availability"]] = Field(
        min_length=1,
        description="Ce qu'ouvre un compte activé par une demande d'habilitation (mon-enfant : availability, "
        "« uniquement à la mise à jour des disponibilités ») ; les autres pages de l'espace lui sont refusées.",
    )
    consent: Literal["paper", "online"] = Field(
        "paper",
        description="Recueil du consentement : paper (lettre signée, cochée par le service dans la console) "
        "ou online (lien à usage unique envoyé par courriel).",
    )
    consent_link_ttl: Duration = Field(parse_duration("14d"), description="Validité du lien de consentement (consent: online).")
    expire_after_days: int = Field(
        60, ge=1, le=365, description="Une demande reçue ou en attente du consentement, sans suite depuis ce nombre de "
        "jours, expire (assmat habilitations-expire) ; un consentement reçu attend l'activation sans expirer."
    )


def _unique_codes(value: list[ChildcareType]) -> list[ChildcareType]:
    codes = [t.code for t in value]
    if len(set(codes)) != len(codes):
        raise ValueError("code de type de garde en double")
    return value


class TenantConfig(Strict):
    slug: Annotated[str, Field(pattern=r"^[a-z0-9]([a-z0-9-]*[a-z0-9])?$", max_length=63)] = Field(
        description="Identifiant du tenant ; servi sur {slug}.{ASSMAT_BASE_DOMAIN} ; égal au nom du fichier."
    )
    name: str = Field(description="Nom de la collectivité.")
    hosts: list[Host] = Field([], description="Noms d'hôte supplémentaires (correspondance exacte, minuscules).")
    public_url: Url | None = Field(
        None, description="Base de tous les liens des courriels (jamais l'en-tête Host)."
    )
    locale: Literal["fr", "en"] = Field("fr", description="Langue par défaut.")
    branding: Branding = Field(description="Identité visuelle, expéditeur des courriels, pages légales.")
    login: Login = Field(description="Formulaire de connexion.")
    password_policy: PasswordPolicy = Field(default_factory=PasswordPolicy, description="Règles des mots de passe.")
    lockout: Lockout = Field(default_factory=Lockout, description="Blocage après des échecs de connexion.")
    password_reset: PasswordReset = Field(default_factory=PasswordReset, description="Mot de passe oublié.")
    activation: Activation = Field(default_factory=Activation, description="Première activation d'un compte.")
    letter: Letter = Field(default_factory=Letter, description="Courrier imprimé qui donne l'identifiant et le mot de passe provisoire.")
    first_login: FirstLogin = Field(default_factory=FirstLogin, description="Étapes imposées à la première connexion.")
    session: Session = Field(default_factory=Session, description="Durées des sessions.")
    messages: Annotated[dict[str, str], AfterValidator(_known_message_ids)] = Field({}, description="Textes remplacés, par identifiant de message.")
    features: Features = Field(default_factory=Features, description="Ce que propose le portail du tenant.")
    families: Families = Field(default_factory=Families, description="Comptes familles (features.parents).")
    childcare_types: Annotated[list[ChildcareType], AfterValidator(_unique_codes)] = Field(
        [], description="Types de garde des périodes d'accueil déclarées."
    )
    publication: Publication | None = Field(
        None, description="Publication des fiches des assistants ; absente : le tenant ne publie aucune fiche."
    )
    availability: AvailabilitySettings = Field(
        default_factory=AvailabilitySettings,
        description="Réglages des disponibilités (features.availability choisit les formes).",
    )
    import_: Import = Field(default_factory=Import, alias="import", description="Fichier mensuel des assistants.")
    geocoding: Geocoding | None = Field(
        None, description="Géocodage des adresses ; absent : le géocodeur des réglages (ASSMAT_GEOCODER_URL)."
    )
    habilitation: Habilitation | None = Field(
        None, description="Demandes d'habilitation en ligne validées par le service (mon-enfant) ; absente : aucune."
    )
    map: MapTiles | None = Field(
        None, description="Carte interactive (Leaflet) au-dessus de la carte des résultats de la recherche ; absent : "
        "la carte dessinée par le serveur seule, sans tuiles ni script. Exige features.public_search."
    )
    franceconnect: FranceConnect = Field(default_factory=FranceConnect, description="Connexion avec FranceConnect.")

    model_config = ConfigDict(extra="forbid", strict=True, frozen=True, populate_by_name=True)

    @property
    def import_key(self) -> str:
        """The monthly file's column that names a row's account (see `Import.key`)."""
        return self.import_.key or ("email" if self.login.identifier == "email" else "agrement_number")

    def offers(self, feature: str) -> bool:
        """Whether the portal has `feature`: a key of `features` turned on, or "publication"
        (the fiches are published: the section is present)."""
        if feature == "publication":
            return self.publication is not None
        if feature == "habilitation":
            return self.habilitation is not None
        return bool(getattr(self.features, feature))

    @model_validator(mode="after")
    def _cross_field_rules(self) -> "TenantConfig":
        if self.first_login.accept_terms and not self.branding.legal.terms:
            raise ValueError("first_login.accept_terms exige branding.legal.terms")
        if self.import_.key is not None and (self.import_.key == "email") != (self.login.identifier == "email"):
            raise ValueError("import.key: email si et seulement si login.identifier: email (la clé du fichier est "
                             "l'identifiant de connexion)")
        if (self.features.availability or self.features.public_search) and self.publication is None:
            raise ValueError("features.availability et features.public_search exigent une section publication")
        if self.habilitation is not None:
            closed = [grant for grant in self.habilitation.grants if not self.offers(grant)]
            if closed:
                raise ValueError(f"habilitation.grants ouvre une fonction que le portail ne propose pas : {', '.join(closed)}")
            if self.login.identifier != "email":
                raise ValueError("habilitation exige login.identifier: email (on se connecte avec l'adresse de la demande)")
        if self.features.structures and self.login.identifier == "username":
            raise ValueError("features.structures exige un login.identifier autre que username (une adresse "
                             "électronique tapée dans le champ d'identifiant désigne une structure)")
        families = self.login.effective_families_identifier
        if self.features.parents and families not in ("email", self.login.identifier):
            raise ValueError("login.families_identifier : email, ou le même que login.identifier (un seul champ "
                             "d'identifiant sur le formulaire de connexion)")
        if self.features.parents and families == "email" and self.login.identifier == "username":
            raise ValueError("login.families_identifier: email exige un login.identifier autre que username (une "
                             "adresse électronique tapée dans le champ d'identifiant désigne une famille)")
        if self.login.families_identifier is not None and not self.features.parents:
            raise ValueError("login.families_identifier exige features.parents")
        if self.families.signup and not self.features.parents:
            raise ValueError("families.signup exige features.parents")
        if self.map is not None and not self.features.public_search:
            raise ValueError("map exige features.public_search")
        if self.activation.franceconnect and self.franceconnect.enabled and self.activation.mode != "pmi_number_birthdate":
            raise ValueError("activation.franceconnect n'est permis qu'avec activation.mode: pmi_number_birthdate")
        return self
