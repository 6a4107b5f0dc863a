"""Load every tenant file of a folder, reporting every error of every file at once."""

from __future__ import annotations

import hashlib
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

import yaml
from pydantic import ValidationError

from assmat.core.mail.outbox import MailBranding
from assmat.tenants.schema import TenantConfig

# libyaml's parser is about ten times faster than the pure-Python one; same safe subset of YAML.
_SafeLoader = getattr(yaml, "CSafeLoader", yaml.SafeLoader)


@dataclass(frozen=True)
class Tenant:
    """A validated tenant configuration with the files it names read in."""

    config: TenantConfig
    source: Path
    terms_text: str | None = None
    terms_version: str | None = None
    legal_texts: dict[str, str] = field(default_factory=dict)
    logo_path: Path | None = None

    @property
    def slug(self) -> str:
        return self.config.slug

    @property
    def mail(self) -> MailBranding:
        """What the mailer shows of this tenant (assmat.core.mail.outbox.MailTenant)."""
        branding = self.config.branding
        return MailBranding(
            name=self.config.name, service_name=branding.service_name, primary_color=branding.primary_color,
            mail_from=branding.mail_from, locale=self.config.locale, public_url=self.config.public_url,
            contact_phone=branding.contact.phone, contact_email=branding.contact.email,
        )


@dataclass(frozen=True)
class ConfigError:
    file: str
    path: str
    reason: str

    def __str__(self) -> str:
        return f"{self.file}: {self.path or '(racine)'}: {self.reason}"


class InvalidConfiguration(Exception):
    def __init__(self, errors: list[ConfigError]):
        self.errors = errors
        super().__init__("\n".join(str(e) for e in errors))


# Pydantic's messages are English; the people who write these files read French.
_FRENCH = {
    "extra_forbidden": "clé inconnue",
    "missing": "clé obligatoire manquante",
    "string_type": "texte attendu",
    "int_type": "nombre entier attendu",
    "bool_type": "true ou false attendu",
    "list_type": "liste attendue",
    "dict_type": "dictionnaire attendu",
    "model_type": "section (dictionnaire) attendue",
    "model_attributes_type": "section (dictionnaire) attendue",
    "greater_than_equal": "doit être supérieur ou égal à {ge}",
    "less_than_equal": "doit être inférieur ou égal à {le}",
    "too_short": "doit contenir au moins {min_length} élément(s)",
    "string_too_long": "au plus {max_length} caractères",
    "string_pattern_mismatch": "format invalide (attendu : {pattern})",
    "literal_error": "valeur attendue parmi : {expected}",
    "none_required": "valeur non permise",
}


def _reason(error: dict[str, Any]) -> str:
    if error["type"] == "value_error":
        return str(error["ctx"]["error"])
    template = _FRENCH.get(error["type"])
    if template is None:
        return error["msg"]
    return template.format(**error.get("ctx", {}))


def _key_path(loc: tuple[Any, ...]) -> str:
    # Union branches add type names (e.g. "function-before[...]") to the location: drop them.
    parts = [str(p) for p in loc if not (isinstance(p, str) and "[" in p)]
    return ".".join(parts).replace(".import_.", ".import.")


def _read_asset(base: Path, relative: str | None, key: str, errors: list[ConfigError], name: str) -> str | None:
    if relative is None:
        return None
    path = base / relative
    if not path.is_file():
        errors.append(ConfigError(name, key, f"fichier introuvable : {relative}"))
        return None
    return path.read_text(encoding="utf-8")


def load_file(path: Path, errors: list[ConfigError]) -> Tenant | None:
    name = path.name
    try:
        raw = yaml.load(path.read_text(encoding="utf-8"), Loader=_SafeLoader)
    except (yaml.YAMLError, UnicodeDecodeError) as exc:
        errors.append(ConfigError(name, "", f"YAML illisible : {exc}".replace("\n", " ")))
        return None
    if not isinstance(raw, dict):
        errors.append(ConfigError(name, "", "un dictionnaire YAML est attendu"))
        return None
    try:
        config = TenantConfig.model_validate(raw)
    except ValidationError as exc:
        for error in exc.errors():
            errors.append(ConfigError(name, _key_path(error["loc"]), _reason(error)))
        return None
    if config.slug != path.stem:
        errors.append(ConfigError(name, "slug", f"« {config.slug} » ne correspond pas au nom du fichier « {path.stem} »"))
        return None
    base = path.parent
    legal = config.branding.legal
    before = len(errors)
    terms = _read_asset(base, legal.terms, "branding.legal.terms", errors, name)
    texts = {
        key: text
        for key in ("legal_notice", "privacy", "cookies")
        if (text := _read_asset(base, getattr(legal, key), f"branding.legal.{key}", errors, name)) is not None
    }
    logo = None
    if config.branding.logo:
        logo = base / config.branding.logo
        if not logo.is_file():
            errors.append(ConfigError(name, "branding.logo", f"fichier introuvable : {config.branding.logo}"))
    if len(errors) > before:
        return None
    return Tenant(
        config=config,
        source=path,
        terms_text=terms,
        # The version is the content's hash: editing the file asks every user to accept again.
        terms_version=hashlib.sha256(terms.encode()).hexdigest()[:16] if terms else None,
        legal_texts=texts,
        logo_path=logo,
    )


def load_tenants(directory: Path) -> tuple[dict[str, Tenant], list[ConfigError]]:
    """Every tenant of `directory` and every error found; tenants are valid only if errors is empty."""
    errors: list[ConfigError] = []
    if not directory.is_dir():
        return {}, [ConfigError(str(directory), "", "dossier de configuration introuvable")]
    tenants: dict[str, Tenant] = {}
    files = sorted([*directory.glob("*.yaml"), *directory.glob("*.yml")])
    if not files:
        errors.append(ConfigError(str(directory), "", "aucun fichier de tenant (*.yaml)"))
    for path in files:
        tenant = load_file(path, errors)
        if tenant is not None:
            tenants[tenant.slug] = tenant
    owner: dict[str, str] = {}
    for tenant in tenants.values():
        for host in tenant.config.hosts:
            if host in owner:
                errors.append(
                    ConfigError(tenant.source.name, "hosts", f"« {host} » est déjà déclaré par {owner[host]}")
                )
            owner.setdefault(host, tenant.source.name)
    return tenants, errors


def load_valid_tenants(directory: Path) -> dict[str, Tenant]:
    tenants, errors = load_tenants(directory)
    if errors:
        raise InvalidConfiguration(errors)
    return tenants
