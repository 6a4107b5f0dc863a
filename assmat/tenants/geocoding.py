"""Which geocoder serves a tenant: its YAML's `geocoding.url` (a département's own addok), else
the platform's ASSMAT_GEOCODER_URL (the national service), else none (geocoding is off)."""

from __future__ import annotations

from assmat.core.geocoding.client import Geocoder
from assmat.core.settings import Settings
from assmat.tenants.loader import Tenant

# One client per URL for the whole process, so that tenants sharing a geocoder share its cache.
_geocoders: dict[str, Geocoder] = {}


def geocoder_url(settings: Settings, tenant: Tenant) -> str | None:
    if tenant.config.geocoding is not None:
        return tenant.config.geocoding.url
    return settings.geocoder_url or None


def geocoder_for(settings: Settings, tenant: Tenant) -> Geocoder | None:
    """The tenant's geocoder, or None when geocoding is off for it (search by commune still
    works from the data we hold; the console says geocoding is off)."""
    url = geocoder_url(settings, tenant)
    if url is None:
        return None
    if url not in _geocoders:
        _geocoders[url] = Geocoder(url)
    return _geocoders[url]
