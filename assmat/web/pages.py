"""Public pages of a tenant (home, legal pages) and of the platform's root domain."""

from __future__ import annotations

from starlette.requests import Request
from starlette.responses import FileResponse, RedirectResponse, Response
from starlette.routing import Route

from assmat.core.errors import NotFound
from assmat.core.i18n import LOCALES
from assmat.web import kit
from assmat.web.middleware import LANG_COOKIE
from assmat.web.redirects import safe_next
from assmat.web.templating import render
from assmat.web.theme import favicon_svg, theme_css

ONE_YEAR = 365 * 24 * 3600


async def home(request: Request) -> Response:
    if request.scope.get("tenant") is None:
        registry = request.app.state.registry
        port = f":{request.url.port}" if request.url.port else ""
        tenants = [
            (t, f"{request.url.scheme}://{t.slug}.{registry.base_domain}{port}/") for t in registry.tenants.values()
        ]
        return render(request, "platform_home.html", {"tenants": tenants})
    return render(request, "home.html")


async def legal_notice(request: Request) -> Response:
    tenant = kit.tenant(request)
    return render(request, "legal_notice.html", {"extra": tenant.legal_texts.get("legal_notice")})


async def privacy(request: Request) -> Response:
    tenant = kit.tenant(request)
    return render(request, "legal_page.html", {"page": "privacy", "body": tenant.legal_texts.get("privacy")})


async def cookies(request: Request) -> Response:
    tenant = kit.tenant(request)
    return render(request, "legal_page.html", {"page": "cookies", "body": tenant.legal_texts.get("cookies")})


async def accessibility(request: Request) -> Response:
    kit.tenant(request)
    return render(request, "accessibility.html")


async def terms(request: Request) -> Response:
    tenant = kit.tenant(request)
    if not tenant.terms_text:
        raise NotFound()
    return render(request, "legal_page.html", {"page": "terms", "body": tenant.terms_text})


async def switch_language(request: Request) -> Response:
    code = request.path_params["code"]
    if code not in LOCALES:
        raise NotFound()
    response = RedirectResponse(safe_next(request.query_params.get("next")), status_code=303)
    response.set_cookie(
        LANG_COOKIE,
        code,
        max_age=ONE_YEAR,
        httponly=True,
        samesite="lax",
        secure=request.app.state.settings.is_production,
    )
    return response


async def theme(request: Request) -> Response:
    tenant = request.scope.get("tenant")
    colour = tenant.config.branding.primary_color if tenant else "#2f4f6f"
    return Response(theme_css(colour), media_type="text/css", headers={"cache-control": "public, max-age=300"})


async def logo(request: Request) -> Response:
    tenant = kit.tenant(request)
    if tenant.logo_path is None:
        raise NotFound()
    return FileResponse(tenant.logo_path, headers={"cache-control": "public, max-age=3600"})


async def favicon(request: Request) -> Response:
    # Browsers ask for an icon on every page; without one each page logs a 404. The tenant's
    # colour tells its tabs apart.
    tenant = request.scope.get("tenant")
    colour = tenant.config.branding.primary_color if tenant else "#2f4f6f"
    return Response(favicon_svg(colour), media_type="image/svg+xml", headers={"cache-control": "public, max-age=86400"})


routes = [
    Route("/", home, name="home"),
    Route("/mentions-legales", legal_notice, name="legal_notice"),
    Route("/donnees-personnelles", privacy, name="privacy"),
    Route("/cookies", cookies, name="cookies"),
    Route("/accessibilite", accessibility, name="accessibility"),
    Route("/conditions-generales", terms, name="terms"),
    Route("/langue/{code}", switch_language, name="language"),
    Route("/theme.css", theme, name="theme"),
    Route("/logo", logo, name="logo"),
    Route("/favicon.svg", favicon, name="favicon"),
    Route("/favicon.ico", favicon, name="favicon_ico"),
]
