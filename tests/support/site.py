"""The whole site as users see it: every route of the router, a world where each route has
something to show (accounts in every state, a child, messages, tokens, console rows), and a
crawler that opens every page reachable from each user's start pages.

Used by the gates of issue 9: forms that cannot be posted, pages that the browser may store,
malformed CSRF tokens. Routes are read from the app, so a new page cannot escape them."""

from __future__ import annotations

import io
import re
from collections import deque
from dataclasses import dataclass, field
from datetime import date, timedelta
from html.parser import HTMLParser
from typing import Any
from urllib.parse import urlsplit

from PIL import Image
from sqladmin import ModelView
from starlette.routing import Mount, Route, compile_path

from assmat.core import clock
from assmat.app import CONSOLE_VIEWS as VIEWS
from assmat.core.security.tokens import Principal, TokenService
from assmat.auth.context import ACTIVATION, ACTIVATION_STEP2, EMAIL_CHANGE, RESET
from assmat.core.mail.models import OutboxMail
from assmat.portal.agrement.models import Agrement
from assmat.portal.availability.models import AvailabilityDeclaration, AvailabilityException, AvailableSlot, AvailablePlace
from assmat.portal.children.models import CarePeriod, Child, Guardian
from assmat.portal.contact.models import ContactMessage
from assmat.portal.imports.models import ImportRun
from assmat.portal.messages.models import Message, MessageState
from assmat.portal.profile.models import Fiche, PositionCorrection
from assmat.portal.publication.models import PublicationEvent, PublicationState
from assmat.portal.photos.models import Photo, PhotoFile
from assmat.portal.photos.service import photos_offered
from assmat.portal.space.models import SituationChange
from tests.support.portal import CSRF

PASSWORD = "Cathedrale#Beauce28"  # valid under every tenant's policy
CONSOLE = "/admin"

# GET routes that render no HTML page of their own, and why; every other GET route must be crawled.
NOT_PAGES = {
    "/healthz": "plain text",
    "/readyz": "JSON",
    "/static": "files",
    "/admin/statics": "files",
    "/captcha/{challenge_id}.png": "image",
    "/captcha/{challenge_id}.wav": "sound",
    "/theme.css": "style sheet",
    "/logo": "image",
    "/favicon.svg": "image",
    "/favicon.ico": "image",
    "/langue/{code}": "a redirect that sets the language cookie",
    "/admin/{identity}/export/{export_type}": "CSV download",
    "/admin/liste-mairies/csv": "CSV download",
    "/admin/{identity}/ajax/lookup": "JSON",
    "/admin/{identity}/{pk:path}/{column_name}/download/": "file download",
    "/admin/{identity}/{pk:path}/{column_name}/preview/": "file preview",
    "/photos/{key:str}": "image",
    "/photos/{key:str}/miniature": "image",
    "/admin/photo/miniature/{pk}": "image",
    "/admin/photo/image/{pk}": "image",
    "/recherche/communes": "JSON (the search form's commune suggestions)",
    # Returns from FranceConnect, of a tenant that enables it (none does in tenant_configs/):
    # covered against a real provider by tests/auth/test_franceconnect.py and the browser test.
    "/franceconnect/retour": "the provider's return (a session, or a page about a refused trip)",
    "/franceconnect/deconnecte": "a redirect after the provider's logout",
}

MODEL_VIEWS = [view for view in VIEWS if issubclass(view, ModelView)]


def _console_route_applies(template: str) -> bool:
    """SQLAdmin registers create and edit for every view; they are pages only where a view allows them."""
    if template.endswith("/create"):
        return any(view.can_create for view in MODEL_VIEWS)
    if template.endswith("/edit/{pk:path}"):
        return any(view.can_edit for view in MODEL_VIEWS)
    return True


@dataclass(frozen=True)
class RouteInfo:
    template: str  # the full path template, e.g. /admin/{identity}/list
    methods: frozenset[str]
    regex: re.Pattern[str]

    @property
    def console(self) -> bool:
        return self.template == CONSOLE or self.template.startswith(CONSOLE + "/")


def site_routes(app: Any) -> list[RouteInfo]:
    """Every route of the app, the console's mounted ones included, with full paths."""
    found: list[RouteInfo] = []

    def walk(routes: list[Any], prefix: str) -> None:
        for route in routes:
            if isinstance(route, Route):
                template = prefix + route.path
                found.append(RouteInfo(template, frozenset(route.methods or ()), compile_path(template)[0]))
            elif isinstance(route, Mount):
                template = prefix + route.path
                sub = getattr(route, "routes", None)
                if template in NOT_PAGES or not sub:
                    found.append(RouteInfo(template, frozenset({"GET"}), re.compile("^" + re.escape(template) + "/.*$")))
                else:
                    walk(sub, template)

    walk(app.routes, "")
    assert any(route.console for route in found) and len(found) > 50, "the router was not read"
    return found


def page_routes(app: Any) -> list[RouteInfo]:
    """The GET routes that render a page: every one must be opened by the crawl."""
    return [
        route for route in site_routes(app)
        if "GET" in route.methods and route.template not in NOT_PAGES and _console_route_applies(route.template)
    ]


def post_routes(app: Any) -> list[RouteInfo]:
    return [route for route in site_routes(app) if "POST" in route.methods]


def route_of(routes: list[RouteInfo], path: str) -> RouteInfo | None:
    # Literal routes first (/espace/messages/archives before /espace/messages/{id}).
    for route in sorted(routes, key=lambda r: r.template.count("{")):
        if route.regex.match(path):
            return route
    return None


# -- reading pages ------------------------------------------------------------------------------------------


@dataclass
class PostForm:
    action: str
    enctype: str = ""
    tokens: list[str] = field(default_factory=list)


class _PageParser(HTMLParser):
    def __init__(self) -> None:
        super().__init__(convert_charrefs=True)
        self.links: list[str] = []
        self.forms: list[PostForm] = []
        self._form: PostForm | None = None

    def handle_starttag(self, tag: str, attrs: list[tuple[str, str | None]]) -> None:
        values = {name: value or "" for name, value in attrs}
        if tag == "a" and values.get("href"):
            self.links.append(values["href"])
        elif tag == "form":
            self._form = PostForm(values.get("action", ""), values.get("enctype", "")) if values.get("method", "get").lower() == "post" else None
            if self._form is not None:
                self.forms.append(self._form)
        elif tag == "input" and self._form is not None and values.get("name") == "csrf_token":
            self._form.tokens.append(values.get("value", ""))

    def handle_endtag(self, tag: str) -> None:
        if tag == "form":
            self._form = None


def post_forms(text: str) -> list[PostForm]:
    parser = _PageParser()
    parser.feed(text)
    return parser.forms


def forms_without_token(text: str) -> list[str]:
    """The actions of the page's POST forms whose csrf_token is missing, empty or repeated."""
    return [form.action for form in post_forms(text) if len(form.tokens) != 1 or not form.tokens[0].strip()]


@dataclass
class Visit:
    user: str  # who opened it: "anonymous", "assistant", "pending", "console", …
    url: str
    route: RouteInfo | None
    status: int
    headers: Any
    text: str
    client: Any = None  # the browser that opened it (its cookies: session, console session)


def _local(href: str, host: str) -> str | None:
    if href.startswith(("mailto:", "tel:", "#", "javascript:")):
        return None
    parts = urlsplit(href)
    if parts.scheme and parts.scheme not in ("http", "https"):
        return None
    if parts.netloc and parts.netloc.split(":")[0] != host:
        return None
    if not parts.path.startswith("/") or parts.path.startswith("//"):
        return None
    return parts.path + (f"?{parts.query}" if parts.query else "")


def crawl(client: Any, user: str, starts: list[str], limit: int = 300) -> list[Visit]:
    """Opens every page reachable from `starts` by links and redirects on the client's host, once per
    route and query shape (a list sorted ten ways is one page), never a route that is no page."""
    host = urlsplit(str(client.base_url)).hostname
    routes = site_routes(client.app)
    skipped = [route for route in routes if route.template in NOT_PAGES]
    queue, seen, visits = deque(starts), set(), []
    while queue and len(visits) < limit:
        url = queue.popleft()
        path, _, query = url.partition("?")
        route = route_of(routes, path)
        if any(route_skip.regex.match(path) for route_skip in skipped) or path.startswith("/langue/"):
            continue
        # One visit per route (a list sorted or filtered ten ways is one page); an action's
        # confirmation counts with its rows (pks=) and without.
        # Each console view's list and details are pages of their own.
        identity = path.split("/")[2] if route and "{identity}" in route.template else ""
        key = (route.template if route else path, identity, "pks=" in query)
        if key in seen and url not in starts:
            continue
        seen.add(key)
        response = client.get(url)
        if response.status_code in (301, 302, 303, 307, 308):
            target = _local(response.headers.get("location", ""), host)
            if target:
                queue.append(target)
            visits.append(Visit(user, url, route, response.status_code, response.headers, "", client))
            continue
        text = response.text if "text/html" in response.headers.get("content-type", "") else ""
        visits.append(Visit(user, url, route, response.status_code, response.headers, text, client))
        parser = _PageParser()
        parser.feed(text)
        for href in parser.links:
            target = _local(href, host)
            if target:
                queue.append(target)
    return visits


# -- a world where every page has something to show ----------------------------------------------------------


def _store(portal: Any, *rows: Any) -> list[Any]:
    async def add():
        async with portal.app.state.sessionmaker(expire_on_commit=False) as db:
            db.add_all(rows)
            await db.commit()
        return list(rows)

    return portal.run(add)


def make_publishable(portal: Any, account: Any, *, agrement: bool = True, consent: bool = True) -> None:
    """What the publication rule asks of an assistant's fiche (assmat.portal.publication): an
    agrément valid today, and on a `consent` tenant her recorded consent."""
    rows: list[Any] = []
    if agrement:
        rows.append(Agrement(tenant_id=portal.slug, account_id=account.id, number=f"AGR-PUB-{account.id}",
                             start_date=date(2020, 1, 1), end_date=date(2035, 12, 31), capacity=3))
    publication = portal.tenant.config.publication
    if consent and publication is not None and publication.regime == "consent":
        rows += [PublicationEvent(tenant_id=portal.slug, account_id=account.id, kind="consent", source="staff",
                                  recorded_by="agent@example.org"),
                 PublicationState(tenant_id=portal.slug, account_id=account.id, choice="consent", last_kind="consent",
                                  choice_at=clock.now())]
    _store(portal, *rows)


def issue_token(portal: Any, account_id: int, purpose: str, data: dict[str, Any] | None = None) -> str:
    async def issue():
        async with portal.app.state.sessionmaker() as db:
            token = await TokenService(db).issue(purpose, Principal("account", account_id, portal.slug), timedelta(hours=1), data)
            await db.commit()
            return token

    return portal.run(issue)


def token_urls(portal: Any, account_id: int) -> list[str]:
    """A live link of each kind emails carry, for this account."""
    return [
        f"/reinitialisation/{issue_token(portal, account_id, RESET)}",
        f"/activation/{issue_token(portal, account_id, ACTIVATION, {'email': 'anne@example.org'})}",
        f"/activation/{issue_token(portal, account_id, ACTIVATION_STEP2)}",
        f"/confirmation-email/{issue_token(portal, account_id, EMAIL_CHANGE, {'email': 'nouvelle@example.org'})}",
    ]


@dataclass
class SpaceData:
    account: Any
    child: Any | None = None
    message: Any | None = None
    archived: Any | None = None
    fiche: Any | None = None
    photo: Any | None = None


def space_starts(data: "SpaceData") -> list[str]:
    """Pages the crawl would see once per route but that show another form (an archived message),
    or that no link of the space leads to (her public fiche: parents reach it from outside), and
    her photos."""
    starts = [f"/espace/messages/{data.archived.id}"] if data.archived is not None else []
    starts += [f"/assistants/{data.fiche.public_id}"] if data.fiche is not None else []
    return starts + (["/espace/fiche/photos"] if data.photo is not None else [])


def fill_space(portal: Any, account: Any) -> SpaceData:
    """A child with a period, a message in the inbox and one in the archives, a change of situation,
    a contact message and an outbox mail: every list and detail page has a row."""
    tenant = portal.tenant
    data = SpaceData(account)
    features = tenant.config.features
    if features.children:
        (data.child,) = _store(portal, Child(
            tenant_id=portal.slug, account_id=account.id, last_name="ENFANTGARDE", first_name="Anna",
            birth_date=date(2025, 1, 1), address="147 boulevard du Mercantour", postal_code="06200", city="Nice",
            care_start=date(2026, 11, 2),
            guardians=[Guardian(tenant_id=portal.slug, position=1, civility="Madame", last_name="ENFANTGARDE",
                                first_name="Maman", email="maman@example.org", phone="0612345678")],
        ))
        if tenant.config.childcare_types:
            code = tenant.config.childcare_types[0].code
            _store(portal, CarePeriod(tenant_id=portal.slug, child_id=data.child.id, childcare_type=code,
                                      start_date=date(2026, 11, 2)))
    if features.messages:
        data.message, data.archived = _store(
            portal,
            Message(tenant_id=portal.slug, subject="Réunion d'information", sender="Service PMI", body="Bonjour."),
            Message(tenant_id=portal.slug, subject="Votre agrément", sender="Service PMI", body="Bonjour.",
                    recipient_account_id=account.id),
        )
        _store(portal, MessageState(tenant_id=portal.slug, message_id=data.archived.id, account_id=account.id,
                                    read_at=clock.now(), archived_at=clock.now()))
    if tenant.config.offers("publication") and account.kind == "assistant":
        # A fiche with every section filled, published, with a text waiting for the staff.
        portal.update_account(account.id, phone="0562610042", address="8 chemin des Pruniers",
                              postal_code="32000", city="Auch")
        make_publishable(portal, account)
        (data.fiche,) = _store(portal, Fiche(
            tenant_id=portal.slug, account_id=account.id, public_id="FicheDemo123", presentation="Bonjour.",
            activities="Peinture.", project="Le rythme de chaque enfant.", pending_presentation="Bonjour à tous.",
            texts_state="pending", texts_submitted_at=clock.now(), housing="maison", floor=0, garden=True,
            hourly_rate_cents=380, languages="français", offer_mercredi=True, calling_hours="le soir",
            latitude=43.66, longitude=0.57,
        ))
        # Her correction request, waiting for the staff (« Corrections de géolocalisation »).
        _store(portal, PositionCorrection(tenant_id=portal.slug, account_id=account.id, latitude=43.661,
                                          longitude=0.571, url="https://adresse.data.gouv.fr/map?lng=0.571&lat=43.661&z=18"))
    if features.availability and account.kind == "assistant":
        # A declaration with a place, its grid and an exception: every view of « Mes disponibilités » shows.
        today = clock.today()
        (declaration,) = _store(portal, AvailabilityDeclaration(
            tenant_id=portal.slug, account_id=account.id, declared_on=today, valid_until=today + timedelta(days=180)))
        (place,) = _store(portal, AvailablePlace(
            tenant_id=portal.slug, declaration_id=declaration.id, position=0,
            age_group=tenant.config.availability.age_groups[0].code, places=1, kind="regulier"))
        _store(portal, AvailableSlot(tenant_id=portal.slug, place_id=place.id, weekday=0,
                                     slot=tenant.config.availability.time_slots[0].code),
               AvailabilityException(tenant_id=portal.slug, declaration_id=declaration.id,
                                     day=today + timedelta(days=7), available=False))
    if photos_offered(tenant):
        buffer = io.BytesIO()
        Image.new("RGB", (48, 32), (40, 120, 60)).save(buffer, "JPEG")
        (data.photo,) = _store(portal, Photo(
            tenant_id=portal.slug, account_id=account.id, public_key="crawlcrawlcrawlcrawlcraw",
            description="Le coin jeux", status="rejected", rejection_reason="Photo floue", position=1, width=48,
            height=32, thumbnail_width=48, thumbnail_height=32, byte_size=len(buffer.getvalue()),
        ))
        _store(portal, PhotoFile(tenant_id=portal.slug, photo_id=data.photo.id, image=buffer.getvalue(),
                                 thumbnail=buffer.getvalue()))
    _store(
        portal,
        SituationChange(tenant_id=portal.slug, account_id=account.id, message="Déménagement le 1er janvier."),
        ContactMessage(tenant_id=portal.slug, name="Anne Martin", email="anne@example.org", message="Bonjour."),
        OutboxMail(tenant_id=portal.slug, template="reset_link", sender="Portail <ne-pas-repondre@example.org>",
                   recipient="anne@example.org", subject="Réinitialisation", body_text="Bonjour.", status="failed",
                   attempts=5, last_error="refused"),
        ImportRun(tenant_id=portal.slug, filename="assistants.csv", dry_run=False, counts={"created": 0}),
    )
    if tenant.config.offers("publication") and tenant.config.publication.regime != "consent":
        # A line of the « Registre des consentements » (make_publishable wrote one where consent is the rule).
        _store(portal, PublicationEvent(tenant_id=portal.slug, account_id=account.id, kind="consent", source="staff",
                                        recorded_by="agent@example.org"))
    return data


def signed_in_portal(portal_for: Any, slug: str, identifier: str, **fields: Any) -> tuple[Any, Any]:
    portal = portal_for(slug)
    account, temporary = portal.create_account(identifier, None if fields.get("temporary") else PASSWORD, **fields)
    portal.update_account(account.id, email_confirmed_at=clock.now())  # where the tenant asks for it
    extra = {}
    if portal.tenant.config.login.captcha:
        from assmat.auth.captcha import DEFAULT_LENGTH, derive_answer

        page = portal.client.get("/connexion").text
        extra["csrf_token"] = CSRF.search(page).group(1)
        extra["captcha_id"] = re.search(r'name="captcha_id" value="([^"]+)"', page).group(1)
        extra["captcha"] = derive_answer(portal.app.state.settings.effective_secret_key, slug, extra["captcha_id"], DEFAULT_LENGTH)
    response = portal.login(identifier, temporary or PASSWORD, **extra)
    assert response.status_code == 303, (slug, identifier, re.findall(r'role="alert".*?</div>', response.text, re.S))
    return portal, account
