"""Write minimal valid tenant files for tests, with overrides by key path."""

from __future__ import annotations

import copy
from pathlib import Path
from typing import Any

import yaml


def minimal_config(slug: str) -> dict[str, Any]:
    return {
        "slug": slug,
        "name": f"Tenant {slug}",
        "branding": {
            "service_name": f"Service {slug}",
            "primary_color": "#005a8c",
            "mail_from": f"Service <ne-pas-repondre@{slug}.example.org>",
            "admin_email": f"admin@{slug}.example.org",
            "legal": {"publisher": "Éditeur", "publication_director": "Directeur", "host": "Hébergeur"},
        },
        "login": {"identifier": "email"},
    }


def set_path(data: dict[str, Any], dotted: str, value: Any) -> None:
    keys = dotted.split(".")
    for key in keys[:-1]:
        data = data.setdefault(key, {})
    data[keys[-1]] = value


def write_tenant(directory: Path, slug: str, overrides: dict[str, Any] | None = None, filename: str | None = None) -> Path:
    data = copy.deepcopy(minimal_config(slug))
    for dotted, value in (overrides or {}).items():
        set_path(data, dotted, value)
    directory.mkdir(parents=True, exist_ok=True)
    path = directory / (filename or f"{slug}.yaml")
    path.write_text(yaml.safe_dump(data, allow_unicode=True, sort_keys=False), encoding="utf-8")
    return path
