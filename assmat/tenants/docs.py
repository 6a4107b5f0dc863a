"""The reference page of the tenant YAML format, generated from the schema itself.

`python -m assmat.tenants.docs > docs/tenant-config.md` writes it; a test fails when the
committed page differs from what the schema generates, so the two cannot drift apart."""

from __future__ import annotations

import types
import typing
from datetime import timedelta
from typing import Any, Literal, get_args, get_origin

from pydantic import BaseModel
from pydantic.fields import FieldInfo
from pydantic_core import PydanticUndefined

from assmat.core.i18n import translations
from assmat.tenants.messages import MESSAGES
from assmat.tenants.schema import TenantConfig

INTRO = """# Référence de la configuration d'un tenant

<!-- Généré depuis assmat/tenants/schema.py par `python -m assmat.tenants.docs` : ne pas modifier à la main. -->

Un fichier YAML par tenant dans `tenant_configs/` (ou le dossier `ASSMAT_TENANT_CONFIGS`),
nommé d'après son `slug`. Une clé inconnue est une erreur. Les durées s'écrivent `30m`, `48h`,
`7d` ; les couleurs `#rrggbb` ; les chemins sont relatifs au dossier de configuration. Les
secrets ne figurent jamais dans le YAML. `assmat check-config [DOSSIER]` valide tous les
fichiers d'un coup (une ligne par erreur : fichier, clé, raison) et affiche les avis.

Règles croisées : `min_length <= max_length` ; les minimums par catégorie tiennent dans
`max_length` ; `link_ttl` seulement avec le mode de réinitialisation `link`, et
`temporary_password_ttl` seulement avec `temporary_password` ; `identity_fields` seulement
(et obligatoirement) avec le mode d'activation `identity_check` ; `first_login.accept_terms`
exige `branding.legal.terms` ; `idle_timeout <= absolute_timeout` ; les identifiants de
`messages` doivent exister ; les codes de types de garde sont uniques ; un nom d'hôte n'est
déclaré que par un tenant et ne peut pas prendre le sous-domaine d'un autre ; `slug` est égal
au nom du fichier ; `features.availability` et `features.public_search` exigent une section
`publication` ; dans `availability`, les codes sont uniques, `max_months` dépasse `min_months` et
chaque tranche horaire finit après son début.
"""


HEADER = "| clé | type | défaut | signification |"


def _type_name(annotation: Any) -> str:
    origin = get_origin(annotation)
    if origin is typing.Annotated:
        return _type_name(get_args(annotation)[0])
    if origin is Literal:
        return " \\| ".join(f"`{value}`" for value in get_args(annotation))
    if origin in (typing.Union, types.UnionType):
        parts = [_type_name(a) for a in get_args(annotation) if a is not type(None)]
        return " \\| ".join(parts)
    if origin is list:
        return f"liste de {_type_name(get_args(annotation)[0])}"
    if origin is dict:
        return "textes par identifiant"
    if annotation is timedelta:
        return "durée"
    if isinstance(annotation, type) and issubclass(annotation, BaseModel):
        return "section"
    return {str: "texte", int: "entier", bool: "booléen"}.get(annotation, getattr(annotation, "__name__", str(annotation)))


def _default(field: FieldInfo) -> str:
    if field.is_required():
        return "obligatoire"
    if field.default_factory is not None:
        value = field.default_factory()
    else:
        value = field.default
    if value is None or value is PydanticUndefined:
        return ""
    if isinstance(value, BaseModel):
        return ""
    if isinstance(value, timedelta):
        seconds = int(value.total_seconds())
        for unit, size in (("d", 86400), ("h", 3600), ("m", 60)):
            if seconds % size == 0:
                return f"`{seconds // size}{unit}`"
    if isinstance(value, bool):
        return f"`{str(value).lower()}`"
    if value == [] or value == {}:
        return ""
    return f"`{value}`"


def _model_of(annotation: Any) -> type[BaseModel] | None:
    origin = get_origin(annotation)
    if origin is typing.Annotated:
        return _model_of(get_args(annotation)[0])
    if origin in (typing.Union, types.UnionType, list):
        for arg in get_args(annotation):
            if (model := _model_of(arg)) is not None:
                return model
        return None
    if isinstance(annotation, type) and issubclass(annotation, BaseModel):
        return annotation
    return None


def _rows(model: type[BaseModel], prefix: str, sections: list[tuple[str, type[BaseModel]]]) -> list[str]:
    rows = []
    for name, field in model.model_fields.items():
        key = f"{prefix}{field.alias or name}"
        nested = _model_of(field.annotation)
        kind = _type_name(field.annotation)
        if nested is not None:
            sections.append((key, nested))
            kind = "liste de sections" if get_origin(field.annotation) is list else "section"
        description = (field.description or "").replace("|", "\\|")
        rows.append(f"| `{key}` | {kind} | {_default(field)} | {description} |")
    return rows


def render_reference() -> str:
    lines = [INTRO]
    pending: list[tuple[str, type[BaseModel]]] = []
    lines += ["## Premier niveau", "", HEADER, "|---|---|---|---|"]
    lines += _rows(TenantConfig, "", pending)
    while pending:
        key, model = pending.pop(0)
        nested: list[tuple[str, type[BaseModel]]] = []
        lines += ["", f"## `{key}`", ""]
        lines += [HEADER, "|---|---|---|---|"]
        lines += _rows(model, f"{key}.", nested)
        pending = nested + pending
    lines += ["", "## Identifiants de `messages`", "", "| identifiant | texte par défaut (français) |", "|---|---|"]
    french = translations("fr")
    lines += [
        f"| `{key}` | {french.gettext(text) if text else '(aucun : la page montre son propre texte ou rien)'} |"
        for key, text in sorted(MESSAGES.items())
    ]
    return "\n".join(lines) + "\n"


if __name__ == "__main__":
    print(render_reference(), end="")
