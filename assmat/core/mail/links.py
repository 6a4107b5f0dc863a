"""The one way to build the links put in emails.

Every link in a mail starts with `mail_base_url(settings, tenant)`: `render` adds the portal and
console links from it and refuses a `url` that does not start with it. The base comes from the
deployment's settings (ASSMAT_PUBLIC_URL_TEMPLATE, e.g. the demo's http://{slug}.localhost:8000),
else the tenant's `public_url`, never from a request's Host header.
"""

from __future__ import annotations

from typing import TYPE_CHECKING

if TYPE_CHECKING:
    from assmat.core.mail.outbox import MailTenant
    from assmat.core.settings import Settings


def mail_base_url(settings: "Settings", tenant: "MailTenant | None") -> str:
    """The base of the links of `tenant`'s mails; without a tenant, the platform console's."""
    if tenant is None:
        return settings.effective_platform_url
    return settings.tenant_base_url(tenant.slug, tenant.mail.public_url).rstrip("/")
