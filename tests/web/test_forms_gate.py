"""Gates of issue 9 over the whole site, with the pages discovered from the router:

- every `<form method="post">` of every page (portal of every tenant, console of a tenant and of the
  platform; anonymous, signed in, in the middle of a first login) carries a non-empty csrf_token:
  « Oui, supprimer », « Archiver ce message » and « Se déconnecter » on « Mon compte » posted an
  empty one, and every test brought its own token;
- every signed-in portal page and every console page says `Cache-Control: no-store` (after signing
  out, Back showed a child's record);
- no malformed token gets past a 403 with the French expired-form page: non-ASCII (a 500 from
  hmac.compare_digest), huge, repeated, empty or missing, on every POST route of the router."""

from __future__ import annotations

import re

from sqlalchemy import func, select

from assmat.app import CONSOLE_VIEWS as VIEWS
from assmat.auth.staff import AdminService
from assmat.core.security.models import AuditEvent
from tests.admin.conftest import ADMIN_PASSWORD, Console, create_admin
from tests.support.portal import CSRF, text_of
from tests.support.site import (
    CONSOLE,
    MODEL_VIEWS,
    Visit,
    crawl,
    fill_space,
    forms_without_token,
    page_routes,
    post_forms,
    post_routes,
    PASSWORD,
    signed_in_portal,
    space_starts,
    token_urls,
)

CONSOLE_TENANT = "alpes-maritimes"  # its console shows every tenant view (children, messages, situations)
PUBLISHING_TENANT = "gers"  # publishes fiches with moderated photos: « Photos à valider »
EXPIRED = "Le formulaire a expiré ou ne provient pas de ce site"
# An identifier of each kind a tenant may sign in with, n-th one.
IDENTIFIERS = {"agrement_number": "AGR-2026-03{:02d}", "username": "famille.essai{}", "pmi_number": "2800{:02d}",
               "email": "essai{}@example.org"}
PUBLISHING_TENANT = "gers"
PUBLICATION_STARTS = ["/admin/fiches/list", "/admin/registre-publication/list", "/admin/liste-mairies"]
REDIRECTS = {"/admin/": "the console's index sends staff to the overview, super-admins to the tenants"}
PUBLIC_STARTS = ["/", "/connexion", "/mot-de-passe-oublie", "/activation", "/contact"]


def admin_token(app, client, slug: str | None, email: str) -> str:
    """The link `assmat create-admin` emails, not yet used."""
    tenant = app.state.registry.get(slug) if slug else None

    async def make():
        async with app.state.sessionmaker() as db:
            service = AdminService(db, app.state.hasher, tenant)
            _admin, token = await service.create(email, "admin" if slug else "super")
            await db.commit()
            return token

    return client.portal.call(make)


def console_signed_in(app, client_for, host: str, email: str) -> Console:
    console = Console(client_for(host), app)
    create_admin(app, console.client, None if host == "localhost" else host, email, ADMIN_PASSWORD,
                 role="super" if host == "localhost" else "admin")
    assert console.login(email, ADMIN_PASSWORD).status_code == 302
    return console


def action_confirmations(console: Console, visits: list[Visit]) -> list[str]:
    """Each console action's confirmation page, for a row its list shows (the list offers actions
    through a menu that script fills in; the details page links them)."""
    urls = []
    for view in MODEL_VIEWS:
        rows = {m for visit in visits for m in re.findall(rf"/admin/{view.identity}/details/(\d+)", visit.text)}
        for name in getattr(view, "action_labels", {}):
            if rows:
                urls.append(f"/admin/{view.identity}/action/{name.replace('_', '-')}?pks={min(rows)}")
    return urls


def visit_everything(app, portal_for, client_for) -> list[Visit]:
    visits: list[Visit] = []
    relais = structure_portal(app, portal_for)  # signed in first: the crawl below spends the captchas' rate limit
    for slug, tenant in sorted(app.state.registry.tenants.items()):  # every tenant: features show different pages
        identifier = IDENTIFIERS[tenant.config.login.identifier]
        assistant_portal, assistant = signed_in_portal(portal_for, slug, identifier.format(1))
        space = fill_space(assistant_portal, assistant)
        visits += crawl(assistant_portal.client, "assistant", ["/espace", "/", *space_starts(space)])
        pending, _ = signed_in_portal(portal_for, slug, identifier.format(2), temporary=True)
        visits += crawl(pending.client, "first login", ["/changement-mot-de-passe"])
        if assistant_portal.tenant.terms_version:
            terms, _ = signed_in_portal(portal_for, slug, identifier.format(3), accepted_terms=False)
            visits += crawl(terms.client, "terms", ["/conditions"])
        if tenant.config.features.parents:  # a family account: its « Mon compte » and « Supprimer mon compte »
            family, parent = signed_in_portal(portal_for, slug, identifier.format(4))
            family.update_account(parent.id, kind="parent")
            visits += crawl(family.client, "family", ["/espace/compte", "/espace/compte/suppression"])
        anonymous = portal_for(slug)
        family_pages = ["/creer-mon-compte/envoye", "/compte-supprime"] if tenant.config.families.signup else []
        visits += crawl(anonymous.client, "anonymous", PUBLIC_STARTS + family_pages + token_urls(anonymous, assistant.id))
    staff = console_signed_in(app, client_for, CONSOLE_TENANT, "agent@example.org")
    console_visits = crawl(staff.client, "console", [f"{CONSOLE}/"])
    visits += console_visits + crawl(staff.client, "console", action_confirmations(staff, console_visits))
    # The publication views show only on a tenant that publishes (the Gers): its fiches, register
    # and list for the town halls, and the queues of texts and photos waiting for the staff.
    publishing = console_signed_in(app, client_for, PUBLISHING_TENANT, "agent@example.org")
    moderation = crawl(publishing.client, "console", [f"{CONSOLE}/fiche-texts/list", f"{CONSOLE}/photo/list"])
    visits += moderation + crawl(publishing.client, "console", action_confirmations(publishing, moderation))
    publishing_visits = crawl(publishing.client, "console", PUBLICATION_STARTS, limit=len(PUBLICATION_STARTS) + 3)
    visits += publishing_visits + crawl(publishing.client, "console", action_confirmations(publishing, publishing_visits))
    platform = console_signed_in(app, client_for, "localhost", "plateforme@example.org")
    visits += crawl(platform.client, "platform console", [f"{CONSOLE}/"])
    visits += habilitation_visits(app, portal_for, client_for)
    visits += family_visits(portal_for)
    # MAM and relais (seed 002): Eure-et-Loir's only.
    structures = console_signed_in(app, client_for, "eure-et-loir", "agent@example.org")
    visits += crawl(relais.client, "relais", ["/espace", "/espace/notre-fiche", "/espace/relais/assistants"])
    structure_visits = crawl(structures.client, "console", [f"{CONSOLE}/structures/list", f"{CONSOLE}/structures/nouvelle"])
    visits += structure_visits + crawl(structures.client, "console", action_confirmations(structures, structure_visits))
    anonymous_console = client_for(CONSOLE_TENANT)
    link = f"/admin/mot-de-passe/{admin_token(app, anonymous_console, CONSOLE_TENANT, 'nouvel.agent@example.org')}"
    visits += crawl(anonymous_console, "anonymous", [f"{CONSOLE}/login", link])
    return visits


def structure_portal(app, portal_for):
    """Eure-et-Loir's relais, signed in (its space, « Notre fiche », its communes' assistants), and a
    MAM with a member: the console's structure pages have rows to show."""
    from datetime import UTC, datetime

    from assmat.auth import credentials
    from assmat.portal.structures import service
    from tests.flows.test_eure_et_loir import GOOD, login

    portal = portal_for("eure-et-loir")
    _relais, account = portal.service_call(service.create_structure, service.NewStructure(
        kind="ram", name="Relais de Chartres", email="relais.gate@example.org", city="Chartres",
        communes="Chartres"), "agent@example.org")
    portal.service_call(service.create_structure, service.NewStructure(
        kind="mam", name="MAM du portail", email="mam.gate@example.org", city="Chartres"), "agent@example.org")
    portal.service_call(credentials.set_password, account, GOOD, None, "test")
    portal.update_account(account.id, email_confirmed_at=datetime.now(UTC))
    assert login(portal, "relais.gate@example.org", GOOD).status_code == 303
    return portal


def family_visits(portal_for) -> list[Visit]:
    """mon-enfant's family account (issue 13): its favourites, searches, « Mes données » and the
    contact form, each with an item; and the requests page of the assistant it wrote to."""
    from assmat.portal.families.models import ContactRequest, Favourite, SavedSearch
    from assmat.portal.profile.models import Fiche

    slug = "mon-enfant"
    family, account = signed_in_portal(portal_for, slug, "famille.crawl@example.org", kind="parent",
                                       email="famille.crawl@example.org")
    ((assistant_id, public_id),) = family.query(select(Fiche.account_id, Fiche.public_id).where(
        Fiche.tenant_id == slug, Fiche.public_id == "FicheDemo123"))

    async def seed() -> None:
        async with family.app.state.sessionmaker() as db:
            db.add_all([Favourite(tenant_id=slug, account_id=account.id, public_id=public_id),
                        SavedSearch(tenant_id=slug, account_id=account.id, name="Auch", query="commune=32000"),
                        ContactRequest(tenant_id=slug, family_account_id=account.id, assistant_account_id=assistant_id,
                                       public_id=public_id, message="Bonjour.")])
            await db.commit()

    family.run(seed)
    visits = crawl(family.client, "family", ["/espace", f"/assistants/{public_id}", f"/assistants/{public_id}/contact",
                                             "/recherche?commune=32000"])
    assistant = portal_for(slug)
    assert assistant.login(IDENTIFIERS["email"].format(1), PASSWORD).status_code == 303
    return visits + crawl(assistant.client, "assistant", ["/espace/demandes"])


def habilitation_visits(app, portal_for, client_for) -> list[Visit]:
    """mon-enfant's habilitation request (seed 004): the pages a POST's redirect or an emailed
    consent link reach, and the staff's queue with each step's confirmation."""
    from datetime import timedelta

    from assmat.auth.models import Account
    from assmat.core.security.tokens import Principal, TokenService
    from assmat.portal.habilitation.models import HabilitationRequest
    from assmat.portal.habilitation.service import CONSENT

    slug = "mon-enfant"
    anonymous = portal_for(slug)

    async def seed() -> str:
        async with app.state.sessionmaker() as db:
            account_id = await db.scalar(select(Account.id).where(Account.tenant_id == slug).order_by(Account.id).limit(1))
            request = HabilitationRequest(
                tenant_id=slug, state="consent_requested", status="assistant_inscrit", civility="Mme", last_name="Roux",
                first_name="Nadia", street_name="rue des Amandiers", postal_code="66000", city="Perpignan",
                phone="0468000000", email="habil@example.org", email_key="habil@example.org", account_id=account_id)
            db.add(request)
            await db.flush()
            token = await TokenService(db).issue(CONSENT, Principal("account", account_id, slug), timedelta(days=1),
                                                 {"request": request.id})
            await db.commit()
            return token

    token = anonymous.run(seed)
    visits = crawl(anonymous.client, "anonymous", ["/habilitation/demande?statut=assistant_inscrit",
                                                   "/habilitation/enregistree", f"/habilitation/consentement/{token}"])
    caf = Console(client_for(slug), app)
    create_admin(app, caf.client, slug, "caf@example.org", "ConsoleSolide2026")  # letters and digits: its policy
    assert caf.login("caf@example.org", "ConsoleSolide2026").status_code == 302
    queue = crawl(caf.client, "console", [f"{CONSOLE}/demandes-habilitation/list"])
    return visits + queue + crawl(caf.client, "console", action_confirmations(caf, queue))


def crawl_everything(app, portal_for, client_for) -> list[Visit]:
    visits = visit_everything(app, portal_for, client_for)
    rendered = {visit.route.template for visit in visits if visit.route is not None
                and (visit.status == 200 or visit.route.template in REDIRECTS)}
    missing = sorted(route.template for route in page_routes(app) if route.template not in rendered)
    assert not missing, f"pages of the router never rendered by the crawl: {missing}"
    return visits


def check_every_post_form_carries_its_csrf_token(everything: list[Visit]) -> None:
    forms = [(visit, form) for visit in everything for form in post_forms(visit.text)]
    assert len(forms) > 100  # the crawl met the site's forms: sign in and out, the space's, the console's
    posted_to = {form.action.split("?")[0] for _visit, form in forms}
    for action in ("/deconnexion", "/connexion", "/admin/logout", "/admin/login"):
        assert any(target.endswith(action) for target in posted_to), action
    broken = [f"{visit.user} {visit.url} → {action or '(this page)'}"
              for visit in everything for action in forms_without_token(visit.text)]
    assert not broken, "forms posted without a CSRF token:\n" + "\n".join(broken)


def check_the_three_forms_that_could_not_be_posted(everything: list[Visit]) -> None:
    """« Oui, supprimer », « Archiver ce message », « Se déconnecter » on « Mon compte »: their own
    token, not only the header's logout form's."""
    def tokens_of(path_pattern: str, action_pattern: str) -> list[str]:
        return [form.tokens[0] if form.tokens else "" for visit in everything if re.fullmatch(path_pattern, visit.url)
                for form in post_forms(visit.text) if re.fullmatch(action_pattern, form.action)]

    for page, action in ((r"/espace/enfants/\d+/supprimer", r"/espace/enfants/\d+/supprimer"),
                         (r"/espace/messages/\d+", r"/espace/messages/\d+/(archiver|desarchiver)"),
                         (r"/espace/compte", r"/deconnexion")):
        found = tokens_of(page, action)
        assert found and all(re.fullmatch(r"[0-9a-f]{64}", token) for token in found), (page, found)


def check_private_pages_are_never_stored(everything: list[Visit]) -> None:
    private = [visit for visit in everything if visit.user != "anonymous" or visit.url.startswith(CONSOLE)]
    signed_in_pages = {visit.route.template for visit in private if visit.route is not None and visit.status == 200}
    assert {"/espace", "/espace/enfants/{child_id:id}", "/espace/compte", "/admin/{identity}/list"} <= signed_in_pages
    stored = [f"{visit.user} {visit.url} ({visit.status}): {visit.headers.get('cache-control')!r}"
              for visit in private if "no-store" not in (visit.headers.get("cache-control") or "")]
    assert not stored, "pages with personal data the browser may keep:\n" + "\n".join(stored)
    # Anonymous public pages stay cacheable: the header marks what is private, not everything.
    home = next(v for v in everything if v.user == "anonymous" and v.url == "/" and v.status == 200)
    assert "no-store" not in (home.headers.get("cache-control") or "")


# -- malformed tokens on every POST route -------------------------------------------------------------------


def malformed_tokens(good: str) -> dict[str, object]:
    """What wapiti and friends send in csrf_token: each must be a 403, never a 500."""
    return {
        "non-ASCII": good[:-1] + "é",
        "huge": "a" * 40_000,
        "repeated": [good, good],
        "empty": "",
        "missing": None,
        "well-formed but wrong": "0" * 64,
    }


def post_targets(app, visits: list[Visit]) -> tuple[list[tuple[str, Visit, bool]], list[str]]:
    """(url, the visit whose browser posts there) for every form the crawl met on a POST route, and
    the POST routes no page has a form for."""
    routes = post_routes(app)
    targets: dict[str, tuple[str, Visit]] = {}
    for visit in visits:
        for form in post_forms(visit.text):
            action = (form.action or visit.url).replace(f"http://{visit.client.base_url.host}", "")
            path = action.split("?")[0]
            if any(route.regex.match(path) for route in routes) and action not in targets:
                targets[action] = (action, visit, form.enctype == "multipart/form-data")
    covered = {route.template for route in routes for action in targets if route.regex.match(action.split("?")[0])}
    return list(targets.values()), sorted(route.template for route in routes if route.template not in covered)


def audit_count(app, client) -> int:
    async def count():
        async with app.state.sessionmaker() as db:
            return (await db.execute(select(func.count()).select_from(AuditEvent))).scalar_one()

    return client.portal.call(count)


def check_every_malformed_token_is_a_403_on_every_post_route(app, visits: list[Visit]) -> None:
    targets, formless = post_targets(app, visits)
    # Routes no page posts to: SQLAdmin's own create, edit and import (no view allows them) and the
    # action runners of views without actions refuse before reading a form (403, 404 or 405); the
    # import's apply form only follows a dry run, and checks its token first like any other;
    # FranceConnect's buttons show only where a tenant enables it (none in tenant_configs/).
    sqladmin_disabled = {"/admin/{identity}/create", "/admin/{identity}/edit/{pk:path}", "/admin/{identity}/import",
                         *(f"/admin/{view.identity}/run/{{action}}" for view in VIEWS if not getattr(view, "action_labels", None))}
    franceconnect = {"/franceconnect/connexion", "/activation/{token}/franceconnect"}
    assert set(formless) <= sqladmin_disabled | {"/admin/import/appliquer"} | franceconnect, formless
    staff = next(visit for visit in visits if visit.user == "console")
    disabled = [template.replace("{identity}", "account").replace("{pk:path}", "1").replace("{action}", "unlock")
                for template in formless if template in sqladmin_disabled]
    # The import's apply form only follows a dry run; it reads a plain form, like the portal's.
    formless_targets = [(template, staff, False) for template in formless if template not in sqladmin_disabled]
    problems = []
    for url, visit, multipart in targets + formless_targets + [(url, staff, False) for url in disabled]:
        client = visit.client
        good = CSRF.search(visit.text).group(1) if CSRF.search(visit.text) else "0" * 64
        before = audit_count(app, client)
        for name, token in malformed_tokens(good).items():
            data = {"identifiant": "x", "pks": "1"} | ({} if token is None else {"csrf_token": token})
            files = {"fichier": ("assistants.csv", b"identifiant\n", "text/csv")} if multipart else None
            response = client.post(url, data=data, files=files)
            if response.status_code not in ({403} if url not in disabled else {403, 404, 405}):
                problems.append(f"{visit.user} {url} [{name}]: {response.status_code}")
            elif response.status_code == 403 and url not in disabled and EXPIRED not in text_of(response):
                problems.append(f"{visit.user} {url} [{name}]: 403 without the expired-form message")
        if audit_count(app, client) != before:
            problems.append(f"{visit.user} {url}: something was recorded")
    assert len(targets) >= 30
    assert not problems, "\n".join(problems)
    # Nothing was done: the users are still signed in (a sign-out with a bad token signs nobody out).
    for visit in visits:
        if visit.user == "assistant" and visit.url == "/espace/compte":
            assert visit.client.get("/espace/compte").status_code == 200
    assert staff.client.get("/admin/vue-d-ensemble").status_code == 200


def test_the_whole_site_posts_its_forms_never_stores_private_pages_and_refuses_bad_tokens(app, portal_for, client_for):
    """One crawl of the whole site (about 150 pages: every tenant, anonymous, signed in, first login,
    console, platform console), four gates; every failure is reported, not only the first."""
    everything = crawl_everything(app, portal_for, client_for)
    checks = [check_every_post_form_carries_its_csrf_token, check_the_three_forms_that_could_not_be_posted,
              check_private_pages_are_never_stored, lambda visits: check_every_malformed_token_is_a_403_on_every_post_route(app, visits)]
    failures = []
    for check in checks:
        try:
            check(everything)
        except AssertionError as exc:
            failures.append(str(exc))
    assert not failures, "\n\n".join(failures)
