"""Host → tenant resolution: exact matches only, hostile hosts fail closed."""

from __future__ import annotations

import pytest

from assmat.tenants.loader import InvalidConfiguration, load_tenants
from assmat.tenants.registry import TenantRegistry
from tests.support.tenants import write_tenant


@pytest.fixture
def registry(tmp_path):
    write_tenant(tmp_path, "gers", {"hosts": ["assmat.gers.fr"]})
    write_tenant(tmp_path, "cestas")
    return TenantRegistry(load_tenants(tmp_path)[0], "localhost")


@pytest.mark.parametrize(
    ("host", "expected"),
    [
        ("gers.localhost", "gers"),
        ("GERS.LOCALHOST", "gers"),
        ("gers.localhost:8000", "gers"),
        ("gers.localhost.", "gers"),
        ("assmat.gers.fr", "gers"),
        ("Assmat.Gers.FR:443", "gers"),
        ("cestas.localhost", "cestas"),
        ("localhost", "root"),
        ("localhost:8000", "root"),
        ("gers.localhost.evil.com", None),
        ("evil.com", None),
        ("evilgers.localhost", None),
        ("gers-localhost", None),
        ("x.gers.localhost", None),
        ("assmat.gers.fr.evil.com", None),
        ("", None),
        (None, None),
        ("gers.localhost:abc", None),
        ("gers.localhost:80:80", None),
        ("[::1]:8000", None),
        ("gers..localhost", None),
        ("gers.localhost/evil", None),
        ("gers.localhost@evil.com", None),
        (" gers.localhost ", "gers"),
        ("127.0.0.1", None),
    ],
)
def test_hosts_resolve_exactly(registry, host, expected):
    resolution = registry.resolve(host)
    if expected is None:
        assert resolution.kind == "unknown" and resolution.tenant is None
    elif expected == "root":
        assert resolution.kind == "root" and resolution.tenant is None
    else:
        assert resolution.kind == "tenant" and resolution.tenant.slug == expected


def test_an_extra_host_may_not_take_another_tenants_subdomain(tmp_path):
    write_tenant(tmp_path, "gers")
    write_tenant(tmp_path, "pirate", {"hosts": ["gers.localhost"]})
    with pytest.raises(InvalidConfiguration) as raised:
        TenantRegistry(load_tenants(tmp_path)[0], "localhost")
    assert [str(e) for e in raised.value.errors] == ["pirate.yaml: hosts: « gers.localhost » est déjà utilisé"]


def test_an_extra_host_may_not_be_the_root_domain(tmp_path):
    write_tenant(tmp_path, "pirate", {"hosts": ["localhost"]})
    with pytest.raises(InvalidConfiguration):
        TenantRegistry(load_tenants(tmp_path)[0], "localhost")
