"""The request kit of every handler: read the tenant, the form and the database, answer with a
page or a redirect. What cannot go on is raised, never returned: a wrong form (`FormRefused`),
an unknown tenant or a refused action (`DomainError`), a browser that must go elsewhere first
(`Redirect`); assmat.app maps each to its answer once."""

from __future__ import annotations

from collections.abc import AsyncIterator, Callable
from contextlib import asynccontextmanager
from typing import Any
from urllib.parse import urlencode

from sqlalchemy.ext.asyncio import AsyncSession
from starlette.requests import Request
from starlette.responses import RedirectResponse, Response

from assmat.core.errors import NotFound
from assmat.tenants.loader import Tenant
from assmat.web.forms import Uploaded, read_form, read_form_with_file
from assmat.web.templating import render


class Redirect(Exception):
    """Send the browser to `url` (303): raised by guards such as auth.guards.signed_in."""

    def __init__(self, path: str, **params: str):
        super().__init__(path)
        self.url = f"{path}?{urlencode(params)}" if params else path


def tenant(request: Request, feature: str | None = None) -> Tenant:
    """The tenant whose host this is (TenantMiddleware); a host of none is refused before.
    With `feature`, the page of a feature the tenant does not offer (`TenantConfig.offers`)
    does not exist: NotFound."""
    found = request.scope.get("tenant")
    if found is None or (feature is not None and not found.config.offers(feature)):
        raise NotFound()
    return found


def client_ip(request: Request) -> str | None:
    return request.client.host if request.client else None


# The unit of work the session middleware opened to load the signed-in account, lent to the
# request's first `database` (assmat.auth.session_middleware).
LENT_SESSION = "assmat.lent_session"


@asynccontextmanager
async def database(request: Request) -> AsyncIterator[AsyncSession]:
    """A unit of work: commit what the handler committed; a commit that queued mail wakes the
    sender (assmat.core.db.engine.make_sessionmaker). The first of a signed-in request goes on
    with the session middleware's, already connected; it is closed here like any other."""
    async with request.scope.pop(LENT_SESSION, None) or request.app.state.sessionmaker() as session:
        yield session


async def form(request: Request, max_fields: int = 50) -> dict[str, str]:
    """The POSTed form, CSRF checked first; raises BadForm (400) or CsrfFailed (403)."""
    return await read_form(request, max_fields=max_fields)


async def form_with_file(request: Request, field: str, max_file_bytes: int, too_large: str,
                         max_fields: int = 10) -> Uploaded:
    """A POSTed multipart form with one file in `field` (assmat.web.forms.read_form_with_file):
    the same checks as `form`, the body bounded by the file's limit while it streams."""
    return await read_form_with_file(request, field, max_file_bytes, too_large, max_fields=max_fields)


def redirect(path: str, **params: str) -> RedirectResponse:
    return RedirectResponse(Redirect(path, **params).url, status_code=303)


# Short notices shown after a redirect, by code (`?info=code`): nothing user-supplied is ever
# echoed. Each feature registers its own codes with their texts.
NOTICES: dict[str, Callable[[Tenant | None], str]] = {}


def register_notices(**factories: Callable[[Tenant | None], str]) -> None:
    overlap = NOTICES.keys() & factories.keys()
    if overlap:
        raise ValueError(f"notice codes registered twice: {sorted(overlap)}")
    NOTICES.update(factories)


def notice(request: Request) -> str | None:
    factory = NOTICES.get(request.query_params.get("info") or "")
    return factory(request.scope.get("tenant")) if factory else None


def page(request: Request, template: str, context: dict[str, Any] | None = None, status: int = 200) -> Response:
    return render(request, template, {"notice": notice(request), **(context or {})}, status_code=status)
