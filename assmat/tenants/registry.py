"""Which tenant a host name belongs to: one place, exact matches only, fail closed."""

from __future__ import annotations

from dataclasses import dataclass

from assmat.tenants.loader import ConfigError, InvalidConfiguration, Tenant

ROOT = "root"  # the platform's own domain


@dataclass(frozen=True)
class Resolution:
    kind: str  # "tenant" | "root" | "unknown"
    tenant: Tenant | None = None


def normalise_host(raw: str | None) -> str | None:
    """Lower-case, strip the port and one trailing dot; None when the value is not a host name."""
    if not raw:
        return None
    host = raw.strip().lower()
    if host.startswith("["):  # IPv6 literal: never a tenant
        return None
    if host.count(":") > 1:
        return None
    name, _, port = host.partition(":")
    if port and not port.isdigit():
        return None
    name = name.removesuffix(".")
    if not name or any(not (c.isalnum() or c in "-.") for c in name) or ".." in name:
        return None
    return name


class TenantRegistry:
    def __init__(self, tenants: dict[str, Tenant], base_domain: str):
        self.base_domain = base_domain
        self.tenants = dict(sorted(tenants.items()))
        self._by_host: dict[str, Tenant] = {}
        errors: list[ConfigError] = []
        for tenant in self.tenants.values():
            for host in (f"{tenant.slug}.{base_domain}", *tenant.config.hosts):
                other = self._by_host.get(host)
                if host == base_domain or (other is not None and other is not tenant):
                    errors.append(ConfigError(tenant.source.name, "hosts", f"« {host} » est déjà utilisé"))
                self._by_host.setdefault(host, tenant)
        if errors:
            raise InvalidConfiguration(errors)

    def resolve(self, raw_host: str | None) -> Resolution:
        host = normalise_host(raw_host)
        if host is None:
            return Resolution("unknown")
        if host == self.base_domain:
            return Resolution(ROOT)
        tenant = self._by_host.get(host)
        return Resolution("tenant", tenant) if tenant else Resolution("unknown")

    def get(self, slug: str) -> Tenant | None:
        return self.tenants.get(slug)
