"""Every page passes axe-core (WCAG 2.x A and AA rules) in a real Chromium with no serious or
critical violation, at a desktop size and at a phone size, with and without the site's scripts;
and works without JavaScript on a phone-sized screen.

axe-core comes from the npm registry, pinned by package.json and package-lock.json at the root of
the repository (`make test` runs `npm ci` when the lock file changes). It is evaluated in each page
and run there, as auditors' browser extensions do.

How each page is checked (`test_page_is_accessible`):
1. desktop (1280×800), JavaScript on: axe;
2. the same page resized to a phone (360×740), the CSS media queries applied: axe;
3. when the site's script changed the page (a MutationObserver counts what changes once the
   parser is done): phone, the site's scripts blocked (their requests aborted), which is the page a
   browser without JavaScript builds, and axe on it. Not a context with `java_script_enabled=False`:
   there Playwright still evaluates expressions, but `axe.run` never resolves (its timers are
   script execution, which such a context suspends);
4. phone, in a context with JavaScript disabled: the page answers, shows its main heading, and
   nothing is wider than the screen (no horizontal scrolling, WCAG 1.4.10). A screen's `action`
   (a failed sign-in, a failed declaration) is done there too: its form submits without script.
"""

from __future__ import annotations

import re
import uuid
from collections.abc import Callable
from dataclasses import dataclass, field
from datetime import UTC, date, datetime, timedelta
from typing import Any

import pytest
from playwright.sync_api import Browser, BrowserContext, Page, expect

from assmat.core.clock import today as paris_today
from tests.browser.conftest import LiveAccounts, LiveServer
from tests.conftest import IN_CI, REPO

pytestmark = pytest.mark.browser

AXE_PATH = REPO / "node_modules" / "axe-core" / "axe.min.js"
# WCAG 2.0, 2.1 and 2.2 levels A and AA: what the RGAA 4 refers to.
AXE_TAGS = ["wcag2a", "wcag2aa", "wcag21a", "wcag21aa", "wcag22a", "wcag22aa"]
BLOCKING = ("serious", "critical")
# Counts the DOM changes made once the parser is done, i.e. by the site's (deferred) scripts:
# readystatechange to "interactive" comes before deferred scripts run. None: the page is the one
# parsed, the same with or without JavaScript.
WATCH_SCRIPTS = """
window.__a11yScriptMutations = 0;
document.addEventListener("readystatechange", () => {
  if (document.readyState !== "interactive") return;
  new MutationObserver((records) => { window.__a11yScriptMutations += records.length; })
    .observe(document, {subtree: true, childList: true, attributes: true, characterData: true});
});
"""
PHONE = {"width": 360, "height": 740}
DESKTOP = {"width": 1280, "height": 800}
PASSWORD = "Mimosa#Corniche7"  # meets the Alpes-Maritimes policy
AM = "alpes-maritimes"


# -- axe ----------------------------------------------------------------------------------------------------


@pytest.fixture(scope="module")
def axe_source() -> str:
    if not AXE_PATH.is_file():
        reason = f"axe-core not found at {AXE_PATH.relative_to(REPO)} (run `npm ci` at the repository root, or `make test`)"
        if IN_CI:
            pytest.fail(reason)
        pytest.skip(reason)
    return AXE_PATH.read_text(encoding="utf-8")


def run_axe(page: Page, axe: str) -> list[dict[str, Any]]:
    """axe-core's violations on the page as it is now (injected once per document).

    Injected by evaluation, not as a <script> tag: the site's Content-Security-Policy
    (script-src 'self') refuses inline scripts, and it stays on during the check."""
    if not page.evaluate("() => typeof window.axe === 'object'"):
        page.evaluate(axe)
    return page.evaluate(
        """async (tags) => {
            const results = await window.axe.run(document, {runOnly: {type: "tag", values: tags}, resultTypes: ["violations"]});
            return results.violations.map(v => ({
                id: v.id, impact: v.impact, help: v.help, helpUrl: v.helpUrl,
                nodes: v.nodes.map(n => ({target: n.target.join(" "), impact: n.impact, summary: n.failureSummary, html: n.html.slice(0, 200)})),
            }));
        }""",
        AXE_TAGS,
    )


def serious(violations: list[dict[str, Any]]) -> list[dict[str, Any]]:
    return [v for v in violations if v["impact"] in BLOCKING]


def describe(violations: list[dict[str, Any]]) -> str:
    lines = []
    for violation in violations:
        lines.append(f"- {violation['id']} ({violation['impact']}): {violation['help']} <{violation['helpUrl']}>")
        for node in violation["nodes"]:
            lines.append(f"    {node['target']}: {node['html']}")
            for line in (node["summary"] or "").splitlines():
                lines.append(f"      {line}")
    return "\n".join(lines)


def test_describe_lists_rule_impact_help_and_targets() -> None:
    text = describe([{"id": "label", "impact": "critical", "help": "Form elements must have labels", "helpUrl": "u",
                      "nodes": [{"target": "#champ-x", "impact": "critical", "summary": "Fix any of the following:\n  no label",
                                 "html": "<input id=\"champ-x\">"}]}])
    assert "label (critical): Form elements must have labels" in text and "#champ-x" in text and "no label" in text
    assert serious([{"impact": "moderate"}, {"impact": "serious"}, {"impact": None}]) == [{"impact": "serious"}]


def test_axe_reports_what_it_should(browser: Browser, axe_source: str) -> None:
    """The harness itself: a page with an unlabelled field and grey-on-white text fails."""
    context = new_context(browser, PHONE, None)
    try:
        page = context.new_page()
        page.set_content('<!doctype html><html lang="fr"><title>t</title><main><h1>Essai</h1>'
                         '<p style="color:#bbb">Texte pâle</p><input type="text" name="x"></main></html>')
        found = {v["id"]: v for v in serious(run_axe(page, axe_source))}
        assert {"label", "color-contrast"} <= set(found), describe(list(found.values()))
        assert found["label"]["nodes"][0]["target"] == "input"
    finally:
        context.close()


# -- what the signed-in pages show -------------------------------------------------------------------------


@dataclass
class World:
    """An Alpes-Maritimes assistant with a current child, a child in the history, messages (one
    archived) and an agrément; `state` is her signed-in browser storage (cookies)."""

    identifier: str
    state: dict[str, Any]
    ids: dict[str, int] = field(default_factory=dict)


def child_form(last_name: str, first_name: str, periods: list[tuple[str, date, date | None, str]]) -> dict[str, str]:
    form = {
        "enfant-nom": last_name, "enfant-prenom": first_name, "enfant-naissance": "14/02/2025",
        "rl1-civilite": "Madame", "rl1-nom": last_name, "rl1-prenom": "Claire",
        "rl1-courriel": "claire@example.org", "rl1-telephone": "0612345678",
        "adresse": "12 avenue Jean Médecin", "code-postal": "06000", "commune": "Nice",
    }
    for index, (kind, start, end, hours) in enumerate(periods):
        form[f"periode-{index}-type"] = kind
        form[f"periode-{index}-debut"] = start.strftime("%d/%m/%Y")
        form[f"periode-{index}-fin"] = end.strftime("%d/%m/%Y") if end else ""
        form[f"periode-{index}-heures"] = hours
    return form


def sign_in(page: Page, identifier: str, password: str) -> None:
    page.get_by_label("Identifiant").fill(identifier)
    page.get_by_label("Mot de passe", exact=False).fill(password)
    # Each tenant's own words: « Connexion » in the Alpes-Maritimes, « Se connecter » elsewhere.
    page.get_by_role("button", name=re.compile(r"^(Se connecter|Connexion)$")).click()


def seed_messages_and_agrement(live_server: LiveServer, account_id: int, identifier: str) -> dict[str, int]:
    from assmat.portal.agrement.models import Agrement
    from assmat.portal.messages.models import Message, MessageState

    async def seed(sessionmaker) -> dict[str, int]:
        now = datetime.now(UTC)
        async with sessionmaker(expire_on_commit=False) as db:
            general = Message(tenant_id=AM, sender="Service des modes d'accueil", subject="Réunion d'information",
                              body="Une réunion d'information aura lieu le 12 mars.\nInscription par courriel.",
                              created_at=now - timedelta(days=2))
            personal = Message(tenant_id=AM, sender="Service PMI", subject="Votre agrément", recipient_account_id=account_id,
                               body="Votre renouvellement est enregistré.", created_at=now - timedelta(days=1))
            archived = Message(tenant_id=AM, sender="Service PMI", subject="Ancienne information", body="Archivé.",
                               recipient_account_id=account_id, created_at=now - timedelta(days=30))
            db.add_all([general, personal, archived])
            await db.flush()
            db.add(MessageState(tenant_id=AM, message_id=archived.id, account_id=account_id, read_at=now, archived_at=now))
            db.add(Agrement(tenant_id=AM, account_id=account_id, number=identifier, start_date=date(2021, 9, 1),
                            end_date=date(2031, 8, 31), capacity=4, place="Nice"))
            await db.commit()
            return {"message": personal.id}

    return live_server.run_async(seed)


@pytest.fixture(scope="module")
def world(live_server: LiveServer, browser: Browser) -> World:
    """Signed in once for the module; each check opens its own context with these cookies."""
    identifier = f"06-AX-{uuid.uuid4().hex[:6].upper()}"
    account, _ = LiveAccounts(live_server).create(AM, identifier, PASSWORD, email=f"{identifier.lower()}@example.org",
                                                  first_name="Hélène", last_name="Lefèvre")
    context = browser.new_context(locale="fr-FR")
    try:
        page = context.new_page()
        page.goto(live_server.url(AM, "/connexion"))
        sign_in(page, identifier, PASSWORD)
        page.wait_for_url(live_server.url(AM, "/espace"))
        ids = seed_messages_and_agrement(live_server, account.id, identifier)

        # Children through the portal's own form (as the assistant declares them).
        today = paris_today()
        token = page.locator("input[name=csrf_token]").first.get_attribute("value")
        assert token
        for key, form in (
            ("child", child_form("ROSSI", "Lucas", [("standard", today - timedelta(days=20), None, ""),
                                                    ("depassement", today - timedelta(days=5), today + timedelta(days=20), "40")])),
            ("history_child", child_form("BLANC", "Emma", [("standard", today - timedelta(days=400), today - timedelta(days=30), "")])),
        ):
            # fetch() from the page: Playwright's own request client does not resolve *.localhost.
            landed = page.evaluate(
                """async (body) => {
                    const response = await fetch("/espace/enfants/nouveau", {method: "POST", body: new URLSearchParams(body)});
                    return [response.status, response.url, response.ok ? "" : (await response.text()).slice(0, 2000)];
                }""",
                {"csrf_token": token, **form},
            )
            assert landed[1].endswith("/espace/enfants?info=created"), landed
        listing = page.goto(live_server.url(AM, "/espace/enfants"))
        assert listing is not None and listing.status == 200
        for key, name in (("child", "Lucas ROSSI"), ("history_child", "Emma BLANC")):
            href = page.get_by_role("link", name=f"Voir {name}").get_attribute("href")
            ids[key] = int(href.rsplit("/", 1)[1])
        for slug, other in (("gers", f"AGR-AX-{uuid.uuid4().hex[:6].upper()}"),
                            ("mon-enfant", f"ax-{uuid.uuid4().hex[:6]}@example.org")):
            sign_in_with_availability(live_server, page, slug, other)
        return World(identifier, context.storage_state(), ids)
    finally:
        context.close()


def sign_in_with_availability(live_server: LiveServer, page: Page, slug: str, identifier: str) -> None:
    """An assistant of a tenant with availability, signed in in the same browser storage, who
    declared a place now and one from the next September through the form (issue 11)."""
    LiveAccounts(live_server).create(slug, identifier, PASSWORD, email=f"{uuid.uuid4().hex[:8]}@example.org")
    page.goto(live_server.url(slug, "/connexion"))
    page.get_by_role("textbox", name=re.compile(r"identifiant|adresse électronique", re.I)).fill(identifier)
    page.get_by_label("Mot de passe", exact=False).fill(PASSWORD)
    page.get_by_role("button", name=re.compile(r"^(Se connecter|Connexion)$")).click()
    page.wait_for_url(live_server.url(slug, "/espace"))
    september = date(paris_today().year + (paris_today().month >= 9), 9, 1).strftime("%d/%m/%Y")
    form = {"place-0-tranche": "moins_18_mois", "place-0-nombre": "1", "place-0-type": "regulier",
            "place-0-j0-matin": "1", "place-0-j1-matin": "1", "place-0-j3-apres_midi": "1",
            "place-1-tranche": "plus_3_ans", "place-1-nombre": "2", "place-1-debut": september,
            "place-1-type": "periscolaire", "place-1-j2-midi": "1", "action": "enregistrer"}
    token = page.locator("input[name=csrf_token]").first.get_attribute("value")
    landed = page.evaluate(
        """async (body) => {
            const response = await fetch("/espace/disponibilites", {method: "POST", body: new URLSearchParams(body)});
            return response.url;
        }""",
        {"csrf_token": token, **form},
    )
    assert landed.endswith("/espace/disponibilites?info=availability_saved"), landed


# -- the pages -----------------------------------------------------------------------------------------------


@dataclass(frozen=True)
class Screen:
    slug: str
    path: str  # may name {child}, {history_child}, {message}: ids from the World
    signed_in: bool = False
    action: Callable[[Page], None] | None = None  # what the user does first (a failed submit)
    scripted: bool = False  # the site's script enhances it (the check makes sure it notices)

    def url(self, live_server: LiveServer, world: World | None) -> str:
        return live_server.url(self.slug, self.path.format(**(world.ids if world else {})))


def failed_sign_in(page: Page) -> None:
    sign_in(page, "06-AM-INCONNU", "Mauvais#Passe1")
    expect(page.get_by_role("alert")).to_contain_text("Echec")


def failed_declaration(page: Page) -> None:
    """Only a name and a bad birth date: errors under the fields and in the banner."""
    page.get_by_role("textbox", name="Nom de l'enfant", exact=True).fill("ROSSI")
    page.get_by_label("Date de naissance de l'enfant").fill("31/02/2025")
    page.get_by_role("button", name="Valider").click()
    expect(page.get_by_role("alert").first).to_be_visible()
    expect(page.locator("[aria-invalid=true]").first).to_be_visible()


def failed_situation_change(page: Page) -> None:
    """Sent empty: the error under the field and in the banner."""
    page.get_by_role("button", name="Envoyer").click()
    expect(page.get_by_role("alert").first).to_be_visible()
    expect(page.get_by_label("Votre message")).to_have_attribute("aria-invalid", "true")


def failed_availability(page: Page) -> None:
    """A place of 0 with an unknown end date: errors under the fields and in the banner."""
    place = page.get_by_role("group", name="Place 1")
    place.get_by_label("Nombre de places").fill("0")
    place.get_by_label("Jusqu'au (facultatif)").fill("31/02/2027")
    page.get_by_role("button", name="Enregistrer").click()
    expect(page.get_by_role("alert").first).to_be_visible()
    expect(place.get_by_label("Nombre de places")).to_have_attribute("aria-invalid", "true")


def failed_habilitation(page: Page) -> None:
    """Sent without the code: the error under the code field and in the banner."""
    page.get_by_role("button", name="Terminer la demande").click()
    expect(page.get_by_role("alert").first).to_be_visible()
    expect(page.get_by_role("textbox", name="Vérification du texte")).to_have_attribute("aria-invalid", "true")


def failed_status_choice(page: Page) -> None:
    page.get_by_role("button", name="Poursuivre").click()
    expect(page.get_by_role("alert").first).to_be_visible()


PUBLIC_PATHS = ["/", "/connexion", "/mot-de-passe-oublie", "/activation", "/contact", "/mentions-legales",
                "/donnees-personnelles", "/cookies", "/accessibilite", "/conditions-generales"]
SCREENS: list[Any] = [
    *(pytest.param(Screen(slug, path), id=f"{slug}{path}") for slug in (AM, "gers") for path in PUBLIC_PATHS),
    # The captcha (image, audio, reload) of Eure-et-Loir; Mon enfant's PMI-number activation.
    pytest.param(Screen("eure-et-loir", "/connexion"), id="eure-et-loir/connexion"),
    pytest.param(Screen("eure-et-loir", "/mot-de-passe-oublie"), id="eure-et-loir/mot-de-passe-oublie"),
    pytest.param(Screen("mon-enfant", "/activation"), id="mon-enfant/activation"),
    # mon-enfant's habilitation request (seed 004): the login page's link, the status, the form, the end.
    *(pytest.param(Screen("mon-enfant", path), id=f"mon-enfant{path}") for path in (
        "/connexion", "/habilitation", "/habilitation/demande?statut=assistant_inscrit", "/habilitation/enregistree")),
    pytest.param(Screen("mon-enfant", "/habilitation", action=failed_status_choice), id="mon-enfant/habilitation-error"),
    pytest.param(Screen("mon-enfant", "/habilitation/demande?statut=assistant_inscrit", action=failed_habilitation),
                 id="mon-enfant/habilitation/demande-error"),
    pytest.param(Screen(AM, "/connexion", action=failed_sign_in), id="alpes-maritimes/connexion-error"),
    *(pytest.param(Screen(AM, path, signed_in=True), id=f"{AM}{path}") for path in (
        "/espace", "/espace/documents", "/espace/compte", "/espace/compte/email",
        "/espace/messages", "/espace/messages/archives", "/espace/messages/{message}",
        "/espace/enfants", "/espace/enfants/nouveau", "/espace/enfants/{child}",
        "/espace/enfants/{child}/modifier", "/espace/enfants/{child}/supprimer", "/espace/enfants/{history_child}",
    )),
    # The live password checklist and the show/hide toggles: checked with and without the script.
    pytest.param(Screen(AM, "/espace/compte/mot-de-passe", signed_in=True, scripted=True),
                 id="alpes-maritimes/espace/compte/mot-de-passe"),
    pytest.param(Screen(AM, "/espace/enfants/nouveau", signed_in=True, action=failed_declaration),
                 id="alpes-maritimes/espace/enfants/nouveau-errors"),
    # « Mon agrément » and its change-of-situation form (issue 5).
    pytest.param(Screen(AM, "/espace/agrement", signed_in=True), id="alpes-maritimes/espace/agrement"),
    pytest.param(Screen(AM, "/espace/agrement/changement-situation", signed_in=True),
                 id="alpes-maritimes/espace/agrement/changement-situation"),
    pytest.param(Screen(AM, "/espace/agrement/changement-situation", signed_in=True, action=failed_situation_change),
                 id="alpes-maritimes/espace/agrement/changement-situation-error"),
    # « Mes disponibilités » in the tenants' forms (issue 11): global and weekly on the Gers, the
    # three with January and September on mon-enfant; the dashboard's line; a refused form.
    *(pytest.param(Screen(slug, path, signed_in=True), id=f"{slug}{path}")
      for slug in ("gers", "mon-enfant") for path in ("/espace", "/espace/disponibilites")),
    pytest.param(Screen("gers", "/espace/disponibilites", signed_in=True, action=failed_availability),
                 id="gers/espace/disponibilites-errors"),
]


def new_context(browser: Browser, viewport: dict[str, int], state: dict[str, Any] | None, *, javascript: bool = True) -> BrowserContext:
    context = browser.new_context(locale="fr-FR", viewport=viewport, storage_state=state, java_script_enabled=javascript)
    context.set_default_timeout(10_000)
    return context


def open_screen(page: Page, screen: Screen, url: str) -> None:
    response = page.goto(url)
    assert response is not None and response.status == 200, f"{url} answered {response and response.status}"
    if screen.action:
        screen.action(page)
        page.wait_for_load_state()


def assert_no_serious(page: Page, axe: str, where: str) -> None:
    found = serious(run_axe(page, axe))
    assert not found, f"axe-core: serious or critical violations on {where}:\n{describe(found)}"


def assert_fits(page: Page, where: str) -> None:
    """Nothing wider than the viewport: no horizontal scrolling at phone size."""
    width = page.evaluate("() => [document.documentElement.scrollWidth, document.documentElement.clientWidth]")
    if width[0] > width[1]:
        wide = page.evaluate(
            """(limit) => Array.from(document.querySelectorAll("body *"))
                .filter(e => e.getBoundingClientRect().right > limit + 1)
                .slice(0, 5).map(e => e.tagName.toLowerCase() + (e.id ? "#" + e.id : "") + (e.className ? "." + String(e.className).split(" ").join(".") : ""))""",
            width[1],
        )
        pytest.fail(f"{where}: the page is {width[0]}px wide on a {width[1]}px screen; too wide: {wide}")


@pytest.mark.parametrize("screen", SCREENS)
def test_page_is_accessible(live_server, browser: Browser, axe_source: str, request: pytest.FixtureRequest, screen: Screen) -> None:
    world: World | None = request.getfixturevalue("world") if screen.signed_in else None
    state = world.state if world else None
    url = screen.url(live_server, world)

    context = new_context(browser, DESKTOP, state)
    context.add_init_script(WATCH_SCRIPTS)
    try:
        page = context.new_page()
        open_screen(page, screen, url)
        if screen.signed_in:  # still signed in: the check is on the page, not on the sign-in form
            assert "/connexion" not in page.url, f"{url} sent to the sign-in page"
        enhanced = page.evaluate("() => window.__a11yScriptMutations")
        if screen.scripted:
            assert enhanced, f"{url}: the site's script was expected to enhance this page"
        assert_no_serious(page, axe_source, f"{url} (desktop)")
        page.set_viewport_size(PHONE)
        assert_no_serious(page, axe_source, f"{url} (phone)")

        if enhanced:
            # The site's scripts changed the page: check the page a browser without JavaScript
            # builds too (the site's scripts blocked). Unchanged, it is the page just checked.
            page.route(re.compile(r".*\.js(\?.*)?$"), lambda route: route.abort())
            open_screen(page, screen, url)
            assert page.evaluate("() => window.__a11yScriptMutations") == 0
            assert_no_serious(page, axe_source, f"{url} (phone, without the site's scripts)")
    finally:
        context.close()

    # JavaScript off for real: the page and its form still work, on a phone.
    context = new_context(browser, PHONE, state, javascript=False)
    try:
        page = context.new_page()
        open_screen(page, screen, url)
        expect(page.get_by_role("heading", level=1)).to_be_visible()
        assert_fits(page, f"{url} (phone, JavaScript off)")
    finally:
        context.close()


# -- the consoles ------------------------------------------------------------------------------------------
# Staff are users too: every console page, in both consoles, under the same checks.

CONSOLE_PASSWORD = "Console#Solide2026"


def import_csv(live_server: LiveServer, identifier: str) -> bytes:
    """A monthly file with the tenant's own headers: one good line, one rejected."""
    from assmat.portal.imports.service import expected_headers

    config = live_server.app.state.registry.get(AM).config
    headers = expected_headers(config)
    values = {"agrement_number": identifier, "civility": "Madame", "last_name": "DURAND", "first_name": "Julie",
              "birth_date": "12/03/1985", "email": f"{identifier.lower()}@example.org", "phone": "0612345678",
              "address": "3 rue des Lilas", "postal_code": "06000", "city": "Nice", "agrement_start": "01/09/2022",
              "agrement_end": "31/08/2032", "capacity": "3", "publication": "oui"}
    sep = config.import_.delimiter
    lines = [sep.join(headers[f] for f in values), sep.join(values.values()), sep.join(["BAD"] + [""] * (len(values) - 1))]
    return ("\n".join(lines) + "\n").encode("utf-8")


@pytest.fixture(scope="module")
def console_world(live_server: LiveServer, browser: Browser, world: World) -> World:
    """An Alpes-Maritimes staff member and a platform super-admin, signed in in one browser
    storage (cookies are per host); the ids the console pages name."""
    from sqlalchemy import func, select

    from assmat.auth.models import Account, Admin
    from assmat.core.mail.models import OutboxMail
    from assmat.core.security.models import AuditEvent
    from assmat.portal.imports.models import ImportRun
    from tests.browser.test_console import create_console_admin

    tag = uuid.uuid4().hex[:8]
    staff, root = f"agent-{tag}@departement06.fr", f"root-{tag}@assmat.example"
    create_console_admin(live_server, AM, staff, CONSOLE_PASSWORD)
    create_console_admin(live_server, None, root, CONSOLE_PASSWORD, role="super")
    context = browser.new_context(locale="fr-FR")
    try:
        page = context.new_page()
        for host, address in ((AM, staff), ("localhost", root)):
            page.goto(live_server.url(host, "/admin/login"))
            page.get_by_label("Adresse email").fill(address)
            page.get_by_label("Mot de passe").fill(CONSOLE_PASSWORD)
            page.get_by_role("button", name="Se connecter").click()
            page.wait_for_url(re.compile(r"/admin/(vue-d-ensemble|plateforme)$"))
        # An import simulation through the console's form: its report is a page to check.
        page.goto(live_server.url(AM, "/admin/import"))
        page.get_by_label("Fichier CSV").set_input_files(
            files=[{"name": "mensuel.csv", "mimeType": "text/csv", "buffer": import_csv(live_server, f"06-IM-{tag.upper()}")}])
        page.get_by_role("button", name="Simuler l'import").click()
        page.wait_for_load_state()
        # A mail in the outbox: the console's « Mot de passe oublié ? » for the staff member.
        page.goto(live_server.url(AM, "/admin/mot-de-passe-oublie"))
        page.get_by_label("Adresse email").fill(staff)
        page.get_by_role("button", name="Recevoir un lien").click()
        expect(page.get_by_role("status")).to_be_visible()

        async def ids(sessionmaker) -> dict[str, int]:
            async with sessionmaker() as db:
                return {
                    "account": await db.scalar(select(Account.id).where(Account.tenant_id == AM, Account.identifier == world.identifier)),
                    "admin": await db.scalar(select(Admin.id).where(Admin.email == staff)),
                    "audit": await db.scalar(select(func.max(AuditEvent.id)).where(AuditEvent.tenant_id == AM)),
                    "run": await db.scalar(select(func.max(ImportRun.id)).where(ImportRun.tenant_id == AM)),
                    "mail": await db.scalar(select(func.max(OutboxMail.id)).where(OutboxMail.tenant_id == AM)),
                }

        found = live_server.run_async(ids)
        assert all(found.values()), found
        return World(world.identifier, context.storage_state(), found)
    finally:
        context.close()


CONSOLE_PAGES = [
    "/admin/login", "/admin/mot-de-passe-oublie", "/admin/vue-d-ensemble",
    "/admin/account/list", "/admin/account/list?locked=true", "/admin/account/details/{account}",
    "/admin/account/action/unlock?pks={account}", "/admin/import", "/admin/import/{run}",
    "/admin/audit/list", "/admin/audit/details/{audit}", "/admin/outbox-mail/list", "/admin/outbox-mail/details/{mail}",
    "/admin/contact-message/list", "/admin/message/list", "/admin/message/ecrire",
    "/admin/declaration/list", "/admin/changement-situation/list", "/admin/demandes-habilitation/list",
]
PLATFORM_PAGES = [
    "/admin/login", "/admin/mot-de-passe-oublie", "/admin/plateforme", "/admin/tenant-admin/list",
    "/admin/tenant-admin/details/{admin}", "/admin/tenant-admin/action/disable?pks={admin}", "/admin/platform-audit/list",
]
CONSOLE_SCREENS = [
    *(pytest.param(Screen(AM, path), id=f"console{path}") for path in CONSOLE_PAGES),
    *(pytest.param(Screen("localhost", path), id=f"platform{path}") for path in PLATFORM_PAGES),
]


@pytest.mark.parametrize("screen", CONSOLE_SCREENS)
def test_console_page_is_accessible(live_server, browser: Browser, axe_source: str, console_world: World, screen: Screen) -> None:
    anonymous = screen.path in ("/admin/login", "/admin/mot-de-passe-oublie")
    state = None if anonymous else console_world.state
    url = screen.url(live_server, console_world)
    context = new_context(browser, DESKTOP, state)
    try:
        page = context.new_page()
        open_screen(page, screen, url)
        assert "/admin/login" not in page.url or anonymous, f"{url} sent to the console login"
        assert_no_serious(page, axe_source, f"{url} (desktop)")
        page.set_viewport_size(PHONE)
        assert_no_serious(page, axe_source, f"{url} (phone)")
        assert_fits(page, f"{url} (phone)")
        expect(page.get_by_role("heading", level=1)).to_be_visible()
    finally:
        context.close()


# -- the habilitation pages that need a token or a session (seed 004) -------------------------------------------

def test_the_habilitation_consent_refusal_and_console_pages_are_accessible(live_server, browser: Browser,
                                                                            axe_source: str) -> None:
    """The online consent link's page, the page an habilitated account meets outside its grant,
    and the console's request, its details and a step's confirmation with its reason field."""
    from datetime import timedelta

    from assmat.core.security.tokens import Principal, TokenService
    from assmat.portal.habilitation.models import HabilitationRequest
    from assmat.portal.habilitation.service import CONSENT
    from tests.browser.test_console import create_console_admin

    slug, tag = "mon-enfant", uuid.uuid4().hex[:8]
    address, password = f"ax-habil-{tag}@example.org", "Canigou66Perpignan"
    account, _ = LiveAccounts(live_server).create(slug, address, password, email=address)

    async def seed(sessionmaker) -> tuple[int, str]:
        async with sessionmaker() as db:
            request = HabilitationRequest(
                tenant_id=slug, state="consent_requested", status="assistant_inscrit", civility="Mme",
                last_name=f"Axe{tag}", first_name="Nadia", street_name="rue des Amandiers", postal_code="66000",
                city="Perpignan", phone="0468000000", email=address, email_key=address, account_id=account.id,
                matched_by="email")
            activated = HabilitationRequest(
                tenant_id=slug, state="activated", status="assistant_inscrit", civility="Mme", last_name=f"Axe{tag}",
                first_name="Nadia", street_name="rue des Amandiers", postal_code="66000", city="Perpignan",
                phone="0468000000", email=address, email_key=address, account_id=account.id, matched_by="email")
            db.add_all([request, activated])
            await db.flush()
            token = await TokenService(db).issue(CONSENT, Principal("account", account.id, slug), timedelta(days=1),
                                                 {"request": request.id})
            await db.commit()
            return request.id, token

    pk, token = live_server.run_async(seed)
    staff = f"ax-caf-{tag}@example.org"
    create_console_admin(live_server, slug, staff, "ConsoleSolide2026")
    context = new_context(browser, DESKTOP, None)
    try:
        page = context.new_page()
        page.goto(live_server.url(slug, "/connexion"))
        page.get_by_role("textbox", name=re.compile("adresse électronique", re.I)).fill(address)
        page.get_by_label(re.compile(r"^Votre mot de passe")).first.fill(password)
        page.get_by_role("button", name="Se connecter").click()
        page.wait_for_load_state()
        page.goto(live_server.url(slug, "/admin/login"))
        page.get_by_label("Adresse email").fill(staff)
        page.get_by_label("Mot de passe").fill("ConsoleSolide2026")
        page.get_by_role("button", name="Se connecter").click()
        page.wait_for_url(re.compile(r"/admin/vue-d-ensemble$"))
        for path, status in ((f"/habilitation/consentement/{token}", 200), ("/espace/fiche", 403),
                             ("/admin/demandes-habilitation/list", 200), (f"/admin/demandes-habilitation/details/{pk}", 200),
                             (f"/admin/demandes-habilitation/action/reject?pks={pk}", 200)):
            page.set_viewport_size(DESKTOP)
            response = page.goto(live_server.url(slug, path))
            assert response is not None and response.status == status, (path, response and response.status)
            expect(page.get_by_role("heading", level=1).first).to_be_visible()
            assert_no_serious(page, axe_source, f"{path} (desktop)")
            page.set_viewport_size(PHONE)
            assert_no_serious(page, axe_source, f"{path} (phone)")
            assert_fits(page, f"{path} (phone)")
    finally:
        context.close()
