"""Process-wide settings, read from the environment (prefix ASSMAT_)."""

from __future__ import annotations

import os
import secrets
from datetime import timedelta
from enum import Enum
from functools import cached_property
from pathlib import Path
from typing import Literal

from pydantic import Field, model_validator
from pydantic_settings import BaseSettings, SettingsConfigDict

PROJECT_ROOT = Path(__file__).resolve().parent.parent.parent


class ConfigurationError(Exception):
    """The process cannot start with this configuration; the message says why."""


class Env(str, Enum):
    development = "development"
    production = "production"


class Settings(BaseSettings):
    model_config = SettingsConfigDict(env_prefix="ASSMAT_", extra="ignore")

    env: Env = Env.development
    var_dir: Path = Field(default=PROJECT_ROOT / "var", description="Runtime files: SQLite, secret, mail")
    database_url: str = ""
    tenant_configs: Path = PROJECT_ROOT / "tenant_configs"
    base_domain: str = "localhost"
    secret_key: str = ""
    mail_backend: Literal["smtp", "file"] = "smtp"
    smtp_host: str = "localhost"
    smtp_port: int = 25
    smtp_username: str = ""
    smtp_password: str = ""
    smtp_starttls: bool = False
    # Deliver mail from a task inside each web process; turn off when `assmat mail-worker` runs.
    mail_in_process: bool = True
    # Base of the links in emails when set, e.g. "http://{slug}.localhost:8000" for the demo;
    # otherwise the tenant's public_url, else https://{slug}.{base_domain}. Never the Host header.
    public_url_template: str | None = None
    # Base of the platform console's links (super-admins); default https://{base_domain}.
    platform_url: str | None = None
    # Processes of `assmat serve` (uvicorn workers); unset: see `serve_workers`. Each runs its own
    # mail sender, which SKIP LOCKED claims keep from sending a mail twice.
    workers: int | None = Field(default=None, ge=1)
    # How long rows that only pile up are kept once they stopped serving (assmat.core.db.purge), as ISO
    # 8601 durations (P30D, PT1H). `assmat purge` and the mail worker (hourly) delete them.
    retention_captchas: timedelta = Field(default=timedelta(hours=1), gt=timedelta(0))
    # Must outlast the longest rate-limit window (one day), or a window would restart early.
    retention_rate_limits: timedelta = Field(default=timedelta(days=2), ge=timedelta(days=1))
    retention_sessions: timedelta = Field(default=timedelta(days=1), gt=timedelta(0))
    retention_tokens: timedelta = Field(default=timedelta(days=7), gt=timedelta(0))
    retention_mail: timedelta = Field(default=timedelta(days=30), gt=timedelta(0))
    # Console sign-in (staff and super-admins): its own lockout, temporary, whatever the tenant's
    # portal rule: staff addresses are public, and guesses must not shut a console for good.
    console_lockout_max_failures: int = Field(default=5, ge=1, le=100)
    console_lockout_minutes: int = Field(default=15, ge=1)
    # argon2id cost; OWASP's minimum (m=19 MiB, t=2, p=1) costs ~19 ms a hash on these machines.
    argon2_time_cost: int = Field(default=2, ge=1)
    argon2_memory_cost: int = Field(default=19456, ge=8, description="KiB")
    argon2_parallelism: int = Field(default=1, ge=1)
    # Base URL of the geocoder (the Base Adresse Nationale's protocol: {url}/search, {url}/reverse),
    # e.g. https://data.geopf.fr/geocodage; empty: geocoding is off. A tenant's YAML may name its own.
    geocoder_url: str = ""

    @model_validator(mode="after")
    def _defaults_from_var_dir(self) -> "Settings":
        self.geocoder_url = self.geocoder_url.strip().rstrip("/")
        if self.geocoder_url and not self.geocoder_url.startswith(("http://", "https://")):
            raise ValueError("ASSMAT_GEOCODER_URL must be an http(s) URL, or empty to turn geocoding off")
        if not self.database_url:
            self.database_url = f"sqlite:///{self.var_dir / 'assmat.db'}"
        self.base_domain = self.base_domain.lower().strip(".")
        return self

    @property
    def serve_workers(self) -> int:
        """`workers`, else one process per core this process may use on PostgreSQL, and one on
        SQLite: a single file that several processes would wait on to write."""
        if self.workers is not None:
            return self.workers
        if not self.database_url.startswith("postgresql"):
            return 1
        return len(os.sched_getaffinity(0)) if hasattr(os, "sched_getaffinity") else os.cpu_count() or 1

    @property
    def is_production(self) -> bool:
        return self.env is Env.production

    @cached_property
    def effective_secret_key(self) -> str:
        """The signing key. In development it is generated once and kept under var/."""
        if self.secret_key:
            return self.secret_key
        if self.is_production:
            raise ConfigurationError(
                "ASSMAT_SECRET_KEY is required when ASSMAT_ENV=production "
                "(generate one with: python -c 'import secrets; print(secrets.token_urlsafe(48))')"
            )
        path = self.var_dir / "secret_key"
        if not path.exists():
            path.parent.mkdir(parents=True, exist_ok=True)
            path.write_text(secrets.token_urlsafe(48))
            path.chmod(0o600)
        return path.read_text().strip()

    def tenant_base_url(self, slug: str, public_url: str | None) -> str:
        if self.public_url_template:
            return self.public_url_template.format(slug=slug)
        return public_url or f"https://{slug}.{self.base_domain}"

    @property
    def effective_platform_url(self) -> str:
        return (self.platform_url or f"https://{self.base_domain}").rstrip("/")

    @property
    def platform_mail_from(self) -> str:
        """The sender of mails that belong to no tenant (the platform console's)."""
        return f"Assmat <ne-pas-repondre@{self.base_domain}>"

    @property
    def mail_dir(self) -> Path:
        return self.var_dir / "mail"
