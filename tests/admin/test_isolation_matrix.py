"""The console's isolation matrix (security.md: "every console view, tried with another tenant's
ids: 404, never data").

Data-driven: the cells come from the views the console registers (assmat.app.CONSOLE_VIEWS,
checked against the running app's /admin mount). For every model view and every operation
SQLAdmin routes (list with search, details, edit GET and POST, create, delete, export, ajax
lookup, file download, SQLAdmin's import) and every action (its GET confirmation and its POST
run), a Gers admin uses a Cestas row's id: 403 or 404, never 200 with the row, never 500, and
the whole database is unchanged afterwards. Then the import page, the roles (read-only staff
cannot act), the sessions (portal and console never cross; a console session is anonymous on
another host), CSRF on every console POST, the console lockout and `assmat create-admin`."""

from __future__ import annotations

import asyncio
import email
import email.policy
import html
import inspect
import os
import re
import signal
import subprocess
import sys
import time
from collections.abc import Callable, Iterator
from dataclasses import dataclass
from datetime import UTC, date, timedelta
from pathlib import Path
from typing import Any

import pytest
from sqladmin import Admin as SqlAdmin
from sqladmin import ModelView
from sqladmin.helpers import slugify_action_name
from sqlalchemy import func, select
from starlette.routing import Mount

from assmat.core import clock
from assmat.app import CONSOLE_VIEWS as VIEWS
from assmat.auth.staff import CONSOLE_LOCKOUT, AdminService
from assmat.admin.scoping import PlatformView, TenantScopedView
from assmat.auth.errors import LoginFailed
from assmat.auth.models import Account, Admin, UserSession
from assmat.core.db.base import Base
from assmat.core.mail.models import OutboxMail
from assmat.core.security.models import AuditEvent
from assmat.portal.children.models import CarePeriod, Child, Guardian
from assmat.portal.contact.models import ContactMessage
from assmat.portal.habilitation.models import HabilitationRequest
from assmat.portal.structures.models import Structure
from assmat.portal.imports.models import ImportRun
from assmat.portal.messages.models import Message
from assmat.portal.profile.models import Fiche, PositionCorrection
from assmat.portal.publication.models import PublicationEvent
from assmat.portal.photos.models import Photo, PhotoFile
from assmat.portal.space.models import SituationChange
from tests.admin.conftest import ADMIN_PASSWORD, Console, create_admin, fetch, signed_in, store
from tests.admin.test_import import ENVOI, csv_bytes, row, upload
from tests.conftest import REPO, TENANT_CONFIGS, app_for, clients_of, smtp_settings
from tests.support.portal import CSRF, text_of
from tests.support.smtp import SmtpServer

# One pass of the console's isolation matrix on each backend; the console lockout under parallel
# logins (a conditional UPDATE … RETURNING).
pytestmark = pytest.mark.both_backends

A, B = "gers", "cestas"  # A's staff attack B's rows
A_TAG, B_TAG = "propregers", "fuitecestas"  # in every row of A, of B: B_TAG must never show on A's console
GOOD = "Lune#Soleil42"

# -- what the matrix covers, from the registered views -----------------------------------------------------

MODEL_VIEWS = [view for view in VIEWS if issubclass(view, ModelView)]


def action_names(view: type[ModelView]) -> list[str]:
    """The view's actions: the names its POST runner knows (`action_labels`)."""
    return list(getattr(view, "action_labels", {}))


def action_slugs(view: type[ModelView]) -> set[str]:
    """The slugs of the GET routes SQLAdmin registers for the view's `@action` methods."""
    return {member._slug for _, member in inspect.getmembers(view) if getattr(member, "_action", False)}


# Every SQLAdmin route that takes a model view's identity (and a row id where it has one).
ROW_OPERATIONS = [
    "list_search", "details", "edit_get", "edit_post", "create_get", "create_post", "delete", "export_csv",
    "ajax_lookup", "file_download", "file_preview", "sqladmin_import", "run_undeclared",
]

MATRIX = [
    pytest.param(view, operation, id=f"{view.identity}:{operation}")
    for view in MODEL_VIEWS
    for operation in ROW_OPERATIONS + [f"{kind}:{name}" for name in action_names(view) for kind in ("confirm", "run")]
]

# The field each model's search box would match, per row (a substring of the row, no "@" or space:
# the page echoes it in links, URL-encoded).
SEARCH_NEEDLE = {
    Account: "{tag}-ident",
    AuditEvent: "{tag}-audit",
    OutboxMail: "{tag}-mail",
    ContactMessage: "{tag}-contact",
    Admin: "{tag}-staff",
    Message: "{tag}-objet",
    Child: "{tag}-enfant",
    SituationChange: "{tag}-situation",
    Fiche: "{tag}-fiche",
    PublicationEvent: "{tag}-registre",
    Photo: "{tag}-photo",
    PositionCorrection: "{tag}-correction",
    HabilitationRequest: "{tag}-habilitation",
    Structure: "{tag}-structure",
}


# -- one row of each kind in each tenant ----------------------------------------------------------------

@dataclass
class World:
    console: Any  # A's staff, signed in on A's host
    rows: dict[type, tuple[Any, Any]]  # model → (A's row, B's row)
    runs: tuple[ImportRun, ImportRun]

    def ids(self, model: type) -> tuple[int, int]:
        ours, theirs = self.rows[model]
        return ours.id, theirs.id


def make_rows(console) -> tuple[dict[type, tuple[Any, Any]], tuple[ImportRun, ImportRun]]:
    now = clock.now()

    def account(tenant: str, tag: str) -> Account:
        return Account(
            tenant_id=tenant, identifier=f"{tag}-ident", email=f"{tag}-ident@example.org",
            email_key=f"{tag}-ident@example.org", first_name="Zoé", last_name=f"{tag}nom", birth_date=date(1980, 5, 17),
            password_hash="$argon2id$v=19$m=1024,t=1,p=1$c2VsLXNlbC1zZWw$aGFzaC1oYXNoLWhhc2gtaGFzaA",
            failed_logins=3, locked_at=now, created_at=now, activated_at=now,
        )

    ours, theirs = store(console, account(A, A_TAG), account(B, B_TAG))
    rows: dict[type, tuple[Any, Any]] = {Account: (ours, theirs)}

    def audit(tenant: str, tag: str, account_id: int) -> AuditEvent:
        return AuditEvent(tenant_id=tenant, account_id=account_id, type="login.failed", ip="192.0.2.9",
                          detail={"note": f"{tag}-audit"}, created_at=now)

    def mail(tenant: str, tag: str) -> OutboxMail:
        return OutboxMail(tenant_id=tenant, template="reset_link", sender=f"{tag} <ne-pas-repondre@example.org>",
                          recipient=f"{tag}-mail@example.org", subject=f"{tag} objet", body_text=f"{tag} corps",
                          body_html=f"<p>{tag} corps</p>", status="failed", attempts=5, next_attempt_at=now,
                          last_error=f"{tag} erreur", created_at=now)

    def contact(tenant: str, tag: str) -> ContactMessage:
        return ContactMessage(tenant_id=tenant, name=f"{tag} Contact", email=f"{tag}-contact@example.org",
                              message=f"Bonjour, {tag} message.", created_at=now)

    def staff(tenant: str, tag: str) -> Admin:
        return Admin(tenant_id=tenant, email=f"{tag}-staff@example.org", email_key=f"{tag}-staff@example.org",
                     role="admin", created_at=now)

    def run(tenant: str, tag: str) -> ImportRun:
        return ImportRun(tenant_id=tenant, filename=f"{tag}.csv", dry_run=False, created_at=now,
                         counts={"rows": 1, "created": 1, "updated": 0, "unchanged": 0, "rejected": 1, "missing": 1,
                                 "returned": 0, "letters": 0},
                         rejected=[{"line": 2, "reason": f"{tag} raison"}], missing=[f"{tag}-absent"])

    def message(tenant: str, tag: str, account_id: int) -> Message:
        return Message(tenant_id=tenant, sender=f"{tag} service", recipient_account_id=account_id,
                       subject=f"{tag}-objet", body=f"{tag} corps", created_at=now)

    rows[Message] = store(console, message(A, A_TAG, ours.id), message(B, B_TAG, theirs.id))

    def child(tenant: str, tag: str, account_id: int) -> Child:
        return Child(tenant_id=tenant, account_id=account_id, last_name=f"{tag}-enfant", first_name="Lou",
                     birth_date=date(2024, 3, 1), address=f"1 rue {tag}", postal_code="32000", city="Auch",
                     declared_at=now, care_start=date(2025, 1, 6), declared_late=True,
                     guardians=[Guardian(tenant_id=tenant, position=1, last_name=f"{tag}-parent")])

    rows[Child] = store(console, child(A, A_TAG, ours.id), child(B, B_TAG, theirs.id))
    store(console, *(CarePeriod(tenant_id=kid.tenant_id, child_id=kid.id, childcare_type="standard",
                                start_date=date(2025, 1, 6), comment=f"{tag} période")
                     for kid, tag in zip(rows[Child], (A_TAG, B_TAG))))

    def situation(tenant: str, tag: str, account_id: int) -> SituationChange:
        return SituationChange(tenant_id=tenant, account_id=account_id, message=f"Déménagement {tag}-situation",
                               created_at=now)

    rows[SituationChange] = store(console, situation(A, A_TAG, ours.id), situation(B, B_TAG, theirs.id))

    def fiche(tenant: str, tag: str, account_id: int) -> Fiche:
        return Fiche(tenant_id=tenant, account_id=account_id, public_id=f"{tag[:8]}1234", texts_state="pending",
                     pending_presentation=f"Présentation {tag}-fiche", texts_submitted_at=now,
                     geocode_label=f"1 rue {tag}-fiche", geocode_score=0.4, geocode_type="street",
                     latitude=43.6, longitude=0.5, position_source="geocoder")

    rows[Fiche] = store(console, fiche(A, A_TAG, ours.id), fiche(B, B_TAG, theirs.id))

    def correction(tenant: str, tag: str, account_id: int) -> PositionCorrection:
        return PositionCorrection(tenant_id=tenant, account_id=account_id, latitude=43.61, longitude=0.51,
                                  url="https://adresse.data.gouv.fr/map?lng=0.51&lat=43.61&z=18",
                                  message=f"Au fond {tag}-correction", requested_at=now)

    rows[PositionCorrection] = store(console, correction(A, A_TAG, ours.id), correction(B, B_TAG, theirs.id))

    def habilitation(tenant: str, tag: str, account_id: int) -> HabilitationRequest:
        # Consent received: every step but the refusal's would apply, were the row in reach.
        return HabilitationRequest(tenant_id=tenant, account_id=account_id, matched_by="email", state="consent_received",
                                   status="assistant_inscrit", civility="Mme", last_name=f"{tag}-habilitation",
                                   first_name="Zoé", street_name=f"rue {tag}", postal_code="32000", city="Auch",
                                   phone="0562000000", email=f"{tag}-ident@example.org",
                                   email_key=f"{tag}-ident@example.org", created_at=now, updated_at=now)

    rows[HabilitationRequest] = store(console, habilitation(A, A_TAG, ours.id), habilitation(B, B_TAG, theirs.id))

    def structure(tenant: str, tag: str, account_id: int) -> Structure:
        return Structure(tenant_id=tenant, kind="ram", name=f"Relais {tag}-structure", email=f"{tag}-relais@example.org",
                         city="Auch", communes=f"Auch\n{tag}-commune", created_at=now, updated_at=now)

    rows[Structure] = store(console, structure(A, A_TAG, ours.id), structure(B, B_TAG, theirs.id))
    def register(tenant: str, tag: str, account_id: int) -> PublicationEvent:
        return PublicationEvent(tenant_id=tenant, account_id=account_id, kind="consent", source="staff",
                                recorded_by=f"{tag}-registre", created_at=now)

    rows[PublicationEvent] = store(console, register(A, A_TAG, ours.id), register(B, B_TAG, theirs.id))
    def photo(tenant: str, tag: str, account_id: int) -> Photo:
        return Photo(tenant_id=tenant, account_id=account_id, public_key=f"{tag}-cle".ljust(24, "x")[:24],
                     description=f"Le jardin {tag}-photo", status="pending", position=1, width=8, height=8,
                     thumbnail_width=8, thumbnail_height=8, byte_size=len(tag), created_at=now, updated_at=now)

    rows[Photo] = store(console, photo(A, A_TAG, ours.id), photo(B, B_TAG, theirs.id))
    store(console, *(PhotoFile(tenant_id=row.tenant_id, photo_id=row.id, image=f"{tag}-image".encode(),
                               thumbnail=f"{tag}-miniature".encode()) for row, tag in zip(rows[Photo], (A_TAG, B_TAG))))
    made = store(console, audit(A, A_TAG, ours.id), audit(B, B_TAG, theirs.id), mail(A, A_TAG), mail(B, B_TAG),
                 contact(A, A_TAG), contact(B, B_TAG), staff(A, A_TAG), staff(B, B_TAG), run(A, A_TAG), run(B, B_TAG))
    rows[AuditEvent] = made[0], made[1]
    rows[OutboxMail] = made[2], made[3]
    rows[ContactMessage] = made[4], made[5]
    rows[Admin] = made[6], made[7]
    return rows, (made[8], made[9])


@pytest.fixture
def world(console_for, app) -> World:
    """A world of its own, for a test that changes it."""
    console = signed_in(console_for, app, A, "agent@gers.fr")
    rows, runs = make_rows(console)
    return World(console, rows, runs)


@dataclass
class Matrix:
    """The world the module's read-only tests share (one per backend): A's admin and A's
    read-only staff signed in on one app, one row of each kind in each tenant."""

    world: World  # A's admin
    reader: World  # A's read-only staff, over the same rows
    console_for: Callable[[str], Console]  # more browsers on the same app
    var_dir: Path
    smtp: SmtpServer
    settled: tuple = ()  # the state the last test that shared the world left (or the world as built)

    def state(self) -> tuple[dict[str, list[tuple]], list[str], int]:
        """Every row of every table, every file the app wrote, every mail it sent."""
        files = sorted(str(path.relative_to(self.var_dir)) for path in self.var_dir.rglob("*") if path.is_file())
        return snapshot(self.world.console), files, len(self.smtp.received)


@pytest.fixture(scope="module")
def matrix(module_database_url, tmp_path_factory, tenant_registry) -> Iterator[Matrix]:
    """Built once per module and backend, not once per cell: every test that uses it proves it
    changed nothing (`shared`), so each cell still meets the world as it was built."""
    server = SmtpServer().start()
    try:
        settings = smtp_settings(tmp_path_factory.mktemp("matrix"), module_database_url, server)
        app = app_for(settings, tenant_registry)
        with clients_of(app) as client_for:
            def console_for(host: str) -> Console:
                return Console(client_for(host), app)

            admin = signed_in(console_for, app, A, "agent@gers.fr")
            rows, runs = make_rows(admin)
            reader = signed_in(console_for, app, A, "lecteur@gers.fr", role="read_only")
            matrix = Matrix(World(admin, rows, runs), World(reader, rows, runs), console_for, Path(settings.var_dir), server)
            matrix.settled = matrix.state()
            yield matrix
    finally:
        server.stop()


@pytest.fixture
def shared(matrix) -> Iterator[Matrix]:
    """The module's shared world, checked after the test against what the previous one left (the
    sessions' sliding `last_seen_at` aside): a test that writes anything fails here, alone."""
    yield matrix
    (before_tables, before_files, before_mails), matrix.settled = matrix.settled, matrix.state()
    tables, files, mails = matrix.settled
    assert changed_tables(before_tables, tables) == [], "a test changed the shared world's tables"
    assert files == before_files, "a test wrote files in the shared world's var/"
    assert mails == before_mails, "a test sent mail from the shared world"


def snapshot(console) -> dict[str, list[tuple]]:
    """Every row of every table (the session's sliding `last_seen_at` aside): "nothing changes"
    means this is equal before and after."""

    async def dump():
        async with console.app.state.sessionmaker() as db:
            tables = {}
            for table in Base.metadata.sorted_tables:
                columns = [c for c in table.columns if not (table.name == "sessions" and c.name == "last_seen_at")]
                result = await db.execute(select(*columns).order_by(*table.primary_key.columns))
                tables[table.name] = [tuple(r) for r in result.all()]
            return tables

    return console.client.portal.call(dump)


def changed_tables(before: dict, after: dict) -> list[str]:
    return [name for name in before if before[name] != after[name]]


def leak_free(body: str, needle: str | None = None) -> bool:
    """No trace of B's rows (the search term the page echoes aside)."""
    text = html.unescape(body)
    if needle:
        text = text.replace(needle, "")
    return B_TAG not in text


def mentions_details(body: str, identity: str, pk: int) -> bool:
    return re.search(rf"/admin/{re.escape(identity)}/details/{pk}(?![0-9])", body) is not None


def console_csrf(console) -> str:
    """The console's CSRF token (the logout form of every console page carries it)."""
    return console.csrf("/admin/vue-d-ensemble")


def refused(response, allowed=(403, 404)) -> None:
    assert response.status_code in allowed, (response.status_code, response.text[:500])
    assert leak_free(response.text), response.text[:2000]


# -- the guard: the matrix is the console ---------------------------------------------------------------

def console_of(app) -> SqlAdmin:
    """The SQLAdmin instance behind the app's /admin mount (its routes' endpoints are its methods)."""
    (mount,) = [route for route in app.routes if isinstance(route, Mount) and route.name == "admin"]
    (listing,) = [route for route in mount.app.routes if getattr(route, "name", None) == "list"]
    console = listing.endpoint.__self__
    assert isinstance(console, SqlAdmin)
    return console


def test_the_matrix_covers_every_registered_view_route_and_action(app):
    console = console_of(app)
    assert [type(view).__base__ for view in console.views] == VIEWS  # each app subclasses them (mount_console)
    routes = {getattr(route, "path", None) for route in console.admin.routes}
    expected_custom = {"/vue-d-ensemble", "/import", "/import/simulation", "/import/appliquer", "/import/{run_id:id}",
                       "/plateforme", "/plateforme/administrateurs/nouveau", "/message/ecrire", "/mot-de-passe-oublie", "/liste-mairies", "/liste-mairies/csv",
                       "/photo/miniature/{pk}", "/photo/image/{pk}", "/account/courriers",
                       "/account/nouveau", "/structures/nouvelle", "/structures/modifier/{pk}",
                       "/structures/personnes/{pk}"}
    for view in MODEL_VIEWS:
        # Every tenant's rows of the view's model are built by make_rows, B's searchable in SEARCH_NEEDLE.
        assert view.model in SEARCH_NEEDLE, f"{view.__name__}: give make_rows a row of {view.model.__name__}"
        assert issubclass(view, (TenantScopedView, PlatformView)), f"{view.__name__} is neither tenant nor platform scoped"
        # Each @action GET route has its CSRF-checked POST runner, and the matrix tries both.
        assert action_slugs(view) == {slugify_action_name(name) for name in action_names(view)}, view.__name__
        for slug in action_slugs(view):
            expected_custom.add(f"/{view.identity}/action/{slug}")
        expected_custom.add(f"/{view.identity}/run/{{action}}")  # every console view has the runner
        # Nothing here writes through SQLAdmin's generic forms.
        assert not (view.can_create or view.can_edit or view.can_delete or view.can_import), view.__name__
        assert not getattr(view, "form_ajax_refs", None), f"{view.__name__}: form_ajax_refs ignores the tenant"
    sqladmin_routes = {"/statics", "/", "/{identity}/list", "/{identity}/details/{pk:path}", "/{identity}/delete",
                       "/{identity}/create", "/{identity}/edit/{pk:path}", "/{identity}/export/{export_type}",
                       "/{identity}/import", "/{identity}/ajax/lookup", "/login", "/logout",
                       "/{identity}/{pk:path}/{column_name}/download/", "/{identity}/{pk:path}/{column_name}/preview/"}
    # A new console route needs its cells in this file.
    assert routes - sqladmin_routes == expected_custom


# -- the matrix: A's staff, B's ids ---------------------------------------------------------------------

@pytest.mark.parametrize(("view", "operation"), MATRIX)
def test_another_tenants_row_is_out_of_reach(shared, view, operation):
    world = shared.world
    console, client, identity = world.console, world.console.client, view.identity
    ours, theirs = world.ids(view.model)
    needle = SEARCH_NEEDLE[view.model].format(tag=B_TAG)
    before = snapshot(console)
    token = console_csrf(console)

    if operation == "list_search":
        for params in ({"search": needle}, {"search": needle, "pageSize": 100}, {}):
            response = client.get(f"/admin/{identity}/list", params=params)
            assert response.status_code in (200, 403), response.status_code
            assert leak_free(response.text, needle), "B's row listed"
            assert not mentions_details(response.text, identity, theirs)
        if issubclass(view, TenantScopedView):  # the control: A's own rows do show
            assert A_TAG in text_of(client.get(f"/admin/{identity}/list", params={"pageSize": 100}))
    elif operation == "details":
        refused(client.get(f"/admin/{identity}/details/{theirs}"))
    elif operation == "edit_get":
        refused(client.get(f"/admin/{identity}/edit/{theirs}"))
    elif operation == "edit_post":
        data = {"csrf_token": token, "tenant_id": A, "email": "pris@example.org", "name": "pris", "last_name": "pris",
                "status": "pending", "role": "admin", "save": "Save"}
        refused(client.post(f"/admin/{identity}/edit/{theirs}", data=data))
    elif operation == "create_get":
        refused(client.get(f"/admin/{identity}/create"))
    elif operation == "create_post":
        data = {"csrf_token": token, "tenant_id": B, "email": "pris@example.org", "identifier": "pris",
                "name": "pris", "role": "admin", "save": "Save"}
        refused(client.post(f"/admin/{identity}/create", data=data))
    elif operation == "delete":
        for pks in (str(theirs), f"{ours},{theirs}"):
            refused(client.delete(f"/admin/{identity}/delete", params={"pks": pks}))
    elif operation == "export_csv":
        for params in ({}, {"search": needle}):
            response = client.get(f"/admin/{identity}/export/csv", params=params)
            assert response.status_code in (200, 403), response.status_code
            assert leak_free(response.content.decode("utf-8-sig", "replace")), "B's row exported"
        if response.status_code == 200 and view.can_export:
            assert A_TAG in client.get(f"/admin/{identity}/export/csv").content.decode("utf-8-sig")  # the control
    elif operation == "ajax_lookup":
        for name in ("tenant", "account", "admin", "id"):
            response = client.get(f"/admin/{identity}/ajax/lookup", params={"name": name, "term": needle})
            assert response.status_code in (400, 403, 404), response.status_code
            assert leak_free(response.text, needle)
    elif operation in ("file_download", "file_preview"):
        kind = operation.split("_")[1]
        for column in ("id", "email", "body_text"):
            refused(client.get(f"/admin/{identity}/{theirs}/{column}/{kind}/"))
    elif operation == "sqladmin_import":
        content = f"id,tenant_id,email\n{theirs},{A},pris@example.org\n".encode()
        refused(client.post(f"/admin/{identity}/import", data={"csrf_token": token},
                            files={"file": ("lignes.csv", content, "text/csv")}))
    elif operation == "run_undeclared":  # the runner exists on every view: names it does not declare
        for name in ("delete", "edit", "unlock", "mark_handled"):
            if name not in action_names(view):
                refused(client.post(f"/admin/{identity}/run/{name}", data={"csrf_token": token, "pks": str(theirs)}))
    elif operation.startswith("confirm:"):
        slug = slugify_action_name(operation.split(":", 1)[1])
        for pks in (str(theirs), f"{ours},{theirs}", f"{theirs},{theirs}"):
            refused(client.get(f"/admin/{identity}/action/{slug}", params={"pks": pks}))
    elif operation.startswith("run:"):
        name = operation.split(":", 1)[1]
        for pks in (str(theirs), f"{ours},{theirs}", f"{theirs},{ours}"):
            refused(client.post(f"/admin/{identity}/run/{name}", data={"csrf_token": token, "pks": pks}))
    else:  # pragma: no cover - a cell without its attempt
        pytest.fail(f"no attempt written for {operation}")

    assert changed_tables(before, snapshot(console)) == []


def test_another_tenants_photo_is_never_served_to_the_console(shared):
    """The moderation queue's images go through the console's own check: B's photo is a 404 to
    A's staff, A's own is served (the control), and nobody signed out gets either."""
    console = shared.world.console
    ours, theirs = shared.world.ids(Photo)
    before = snapshot(console)
    for kind in ("miniature", "image"):
        response = console.client.get(f"/admin/photo/{kind}/{theirs}")
        assert response.status_code == 404 and B_TAG not in response.text, kind
        own = console.client.get(f"/admin/photo/{kind}/{ours}")
        assert own.status_code == 200 and own.headers["content-type"] == "image/jpeg", kind
        assert own.headers["cache-control"] == "no-store" and own.content.startswith(A_TAG.encode())
        for path in (f"/admin/photo/{kind}/{theirs}0", f"/admin/photo/{kind}/-1", f"/admin/photo/{kind}/x"):
            assert console.client.get(path).status_code == 404, path
    stranger = shared.console_for(A)
    response = stranger.client.get(f"/admin/photo/miniature/{ours}")
    assert response.status_code in (302, 303) and "/admin/login" in response.headers["location"]
    foreign = shared.console_for(B)  # A's session cookie means nothing on B's host
    foreign.client.cookies = console.client.cookies
    assert foreign.client.get(f"/admin/photo/miniature/{theirs}").status_code in (302, 303, 403)
    assert changed_tables(before, snapshot(console)) == []


def test_the_import_page_never_shows_another_tenants_run(shared):
    console = shared.world.console
    ours, theirs = shared.world.runs
    before = snapshot(console)
    refused(console.client.get(f"/admin/import/{theirs.id}"), allowed=(404,))
    own = console.client.get(f"/admin/import/{ours.id}")
    assert own.status_code == 200 and f"{A_TAG}.csv" in own.text  # the control
    history = console.client.get("/admin/import")
    assert history.status_code == 200 and f"{A_TAG}.csv" in history.text and leak_free(history.text)
    for path in (f"/admin/import/{theirs.id}0", "/admin/import/-1", f"/admin/import/{theirs.id}.csv"):
        assert console.client.get(path).status_code == 404, path
    assert changed_tables(before, snapshot(console)) == []


def test_another_tenants_pending_upload_cannot_be_applied(world, console_for, app, settings):
    """Cestas staff ran a dry run: its signed "envoi" posted on the Gers console is refused,
    nothing is imported anywhere, and Cestas can still apply its own upload."""
    theirs = signed_in(console_for, app, B, "agent@cestas.fr")
    dry = upload(theirs, csv_bytes(row("CES-0001", "Fuitecestas")))
    assert dry.status_code == 200, text_of(dry)
    envoi = html.unescape(ENVOI.search(dry.text).group(1))
    console = world.console
    before = snapshot(console)
    pending = sorted((Path(settings.var_dir) / "imports").iterdir())

    response = console.client.post("/admin/import/appliquer", data={"csrf_token": console_csrf(console), "envoi": envoi})
    assert response.status_code in (400, 403, 404) and leak_free(response.text)
    assert changed_tables(before, snapshot(console)) == []
    assert sorted((Path(settings.var_dir) / "imports").iterdir()) == pending  # B's upload is still there

    applied = theirs.client.post("/admin/import/appliquer", data={"csrf_token": theirs.csrf("/admin/import"), "envoi": envoi})
    assert applied.status_code == 303
    applied_runs = fetch(console, select(ImportRun.tenant_id).where(ImportRun.dry_run.is_(False), ImportRun.filename == "mensuel.csv"))
    assert applied_runs == [(B,)]
    assert fetch(console, select(Account.tenant_id).where(Account.last_name == "Fuitecestas")) == [(B,)]


# -- roles: read-only staff read, never act -------------------------------------------------------------

ROLE_MATRIX = [
    pytest.param(view, name, id=f"{view.identity}:{name}") for view in MODEL_VIEWS for name in action_names(view)
]


@pytest.fixture
def reader_world(console_for, app) -> World:
    reader = signed_in(console_for, app, A, "lecteur@gers.fr", role="read_only")
    rows, runs = make_rows(reader)
    return World(reader, rows, runs)


@pytest.mark.parametrize(("view", "name"), ROLE_MATRIX)
def test_read_only_staff_cannot_run_any_action(shared, view, name):
    reader = shared.reader.console
    ours, _ = shared.reader.ids(view.model)
    before = snapshot(reader)
    slug = slugify_action_name(name)
    assert reader.client.get(f"/admin/{view.identity}/action/{slug}", params={"pks": str(ours)}).status_code == 403
    response = reader.client.post(f"/admin/{view.identity}/run/{name}", data={"csrf_token": console_csrf(reader), "pks": str(ours)})
    assert response.status_code == 403
    assert changed_tables(before, snapshot(reader)) == []


def test_read_only_staff_read_every_list_of_their_tenant_and_cannot_import(reader_world, console_for, app, settings):
    reader = reader_world.console
    for view in MODEL_VIEWS:
        listing = reader.client.get(f"/admin/{view.identity}/list")
        if issubclass(view, TenantScopedView):
            assert listing.status_code == 200, view.identity
            assert f"/admin/{view.identity}/run/" not in listing.text
            assert f"/admin/{view.identity}/action/" not in listing.text
        else:
            assert listing.status_code == 403, view.identity
    for page in ("/admin/vue-d-ensemble", "/admin/import", "/admin/audit/export/csv"):
        assert reader.client.get(page).status_code == 200, page

    # A real pending upload of an admin of the same tenant: the reader may neither apply it nor upload.
    admin = signed_in(console_for, app, A, "agent@gers.fr")
    envoi = html.unescape(ENVOI.search(upload(admin, csv_bytes(row("AGR-2026-0700"))).text).group(1))
    before = snapshot(reader)
    token = reader.csrf("/admin/import")
    assert reader.client.post("/admin/import/appliquer", data={"csrf_token": token, "envoi": envoi}).status_code == 403
    dry = reader.client.post("/admin/import/simulation", data={"csrf_token": token},
                             files={"fichier": ("m.csv", csv_bytes(row("AGR-2026-0701")), "text/csv")})
    assert dry.status_code == 403
    assert changed_tables(before, snapshot(reader)) == []
    assert admin.client.post("/admin/import/appliquer", data={"csrf_token": admin.csrf("/admin/import"), "envoi": envoi}).status_code == 303


# -- sessions: portal and console never cross; hosts never share a console session -----------------------

def to_console_login(response) -> bool:
    return response.status_code == 302 and response.headers["location"].endswith("/admin/login")


CONSOLE_PAGES = ["/admin/", "/admin/vue-d-ensemble", "/admin/account/list", "/admin/account/courriers", "/admin/account/nouveau", "/admin/structures/nouvelle", "/admin/audit/list", "/admin/import",
                 "/admin/audit/export/csv", "/admin/plateforme", "/admin/tenant-admin/list",
                 "/admin/plateforme/administrateurs/nouveau"]


def test_a_portal_session_gives_no_console_access(portal_for, console_for, app):
    gers = portal_for(A)
    account, _ = gers.create_account("AGR-2026-0800", GOOD, email="anne@example.org")
    gers.update_account(account.id, locked_at=clock.now())
    gers.create_account("AGR-2026-0801", GOOD, email="bruno@example.org")
    assert gers.login("AGR-2026-0801", GOOD).status_code == 303
    assert gers.client.get("/espace").status_code == 200  # signed in on the portal
    before = snapshot(gers)
    for page in CONSOLE_PAGES:
        assert to_console_login(gers.client.get(page)), page
    # Even with a valid CSRF token for this host (the portal's), a console POST signs nobody in.
    token = gers.csrf("/espace")
    assert to_console_login(gers.client.post("/admin/account/run/unlock", data={"csrf_token": token, "pks": str(account.id)}))
    assert changed_tables(before, snapshot(gers)) == []


def test_a_console_session_gives_no_portal_access(console_for, app):
    console = signed_in(console_for, app, A, "agent@gers.fr")
    assert console.client.get("/admin/account/list").status_code == 200
    for page in ("/espace", "/espace/compte", "/espace/compte/mot-de-passe", "/changement-mot-de-passe"):
        response = console.client.get(page)
        assert response.status_code in (302, 303) and "/connexion" in response.headers["location"], (page, response.status_code)


def test_a_console_session_is_anonymous_on_another_host(world, client_for, console_for, app):
    console = world.console
    gers_cookie = console.client.cookies.get("admin_session")
    assert gers_cookie
    platform = signed_in(console_for, app, "localhost", "root@assmat.example")
    super_cookie = platform.client.cookies.get("admin_session")
    _, theirs = world.ids(Account)
    before = snapshot(console)

    # A's staff on B's host, with B's host CSRF cookie and token (as a sibling subdomain could forge).
    cestas = console_for(B)
    token = cestas.csrf("/admin/login")
    cestas.client.headers["cookie"] = f"csrf={cestas.client.cookies.get('csrf')}; admin_session={gers_cookie}"
    cestas.client.cookies.clear()
    for page in CONSOLE_PAGES + [f"/admin/account/details/{theirs}"]:
        assert to_console_login(cestas.client.get(page)), page
    assert to_console_login(cestas.client.post("/admin/account/run/unlock", data={"csrf_token": token, "pks": str(theirs)}))
    assert to_console_login(cestas.client.get("/admin/account/action/unlock", params={"pks": str(theirs)}))

    # A super-admin's session on a tenant's host, a tenant's session on the root domain.
    for host, cookie in ((A, super_cookie), ("localhost", gers_cookie)):
        client = client_for(host)
        client.headers["cookie"] = f"admin_session={cookie}"
        for page in CONSOLE_PAGES + ["/admin/platform-audit/list"]:
            assert to_console_login(client.get(page)), (host, page)
    assert changed_tables(before, snapshot(console)) == []


# -- CSRF on every console POST -----------------------------------------------------------------------

def foreign_token(console_for, console) -> str:
    """A valid token of B's host for this browser's own CSRF cookie: refused on A's host."""
    cookie = console.client.cookies.get("csrf")
    assert cookie
    other = console_for(B)
    other.client.headers["cookie"] = f"csrf={cookie}"
    return CSRF.search(other.client.get("/admin/login").text).group(1)


# import_apply applies its upload once refused (the upload is intact): it changes its world.
CSRF_POSTS = ["login", "logout", "forgot_password", "import_dry_run"] + [
    f"run:{view.identity}:{name}" for view in MODEL_VIEWS if issubclass(view, TenantScopedView) for name in action_names(view)
]
CSRF_VARIANTS = ["missing", "wrong", "other_tenant"]


@pytest.mark.parametrize("post", CSRF_POSTS)
@pytest.mark.parametrize("variant", CSRF_VARIANTS)
def test_every_console_post_needs_its_csrf_token(shared, post, variant):
    console_post_without_its_csrf_token(shared.world, shared.console_for, post, variant)


@pytest.mark.parametrize("variant", CSRF_VARIANTS)
def test_the_import_apply_post_needs_its_csrf_token(world, console_for, variant):
    console_post_without_its_csrf_token(world, console_for, "import_apply", variant)


def console_post_without_its_csrf_token(world: World, console_for, post: str, variant: str) -> None:
    console = world.console
    visitor = console_for(A)  # not signed in, for the login
    visitor.client.get("/admin/login")
    sender = visitor if post == "login" else console
    token = {"missing": None, "wrong": "0" * 64, "other_tenant": foreign_token(console_for, sender)}[variant]
    envoi = None
    if post == "import_apply":
        envoi = html.unescape(ENVOI.search(upload(console, csv_bytes(row("AGR-2026-0900"))).text).group(1))
    before = snapshot(console)

    def form(**values):
        return {**values, **({"csrf_token": token} if token is not None else {})}

    if post == "login":
        response = visitor.client.post("/admin/login", data=form(username="agent@gers.fr", password=ADMIN_PASSWORD))
        assert response.status_code in (400, 403) and "admin_session" not in response.cookies
        assert to_console_login(visitor.client.get("/admin/account/list"))
    elif post == "forgot_password":
        response = visitor.client.post("/admin/mot-de-passe-oublie", data=form(email="agent@gers.fr"))
        assert response.status_code == 403
    elif post == "logout":
        response = console.client.post("/admin/logout", data=form())
        assert response.status_code in (400, 403)
        assert console.client.get("/admin/account/list").status_code == 200  # still signed in
    elif post == "import_dry_run":
        response = console.client.post("/admin/import/simulation", data=form(),
                                       files={"fichier": ("m.csv", csv_bytes(row("AGR-2026-0901")), "text/csv")})
        assert response.status_code in (400, 403)
    elif post == "import_apply":
        response = console.client.post("/admin/import/appliquer", data=form(envoi=envoi))
        assert response.status_code in (400, 403)
    else:
        _, identity, name = post.split(":")
        model = next(view.model for view in MODEL_VIEWS if view.identity == identity)
        ours, _ = world.ids(model)
        response = console.client.post(f"/admin/{identity}/run/{name}", data=form(pks=str(ours)))
        assert response.status_code in (400, 403)
    assert changed_tables(before, snapshot(console)) == []
    if post == "import_apply":  # the upload is intact: with its token it applies
        applied = console.client.post("/admin/import/appliquer", data={"csrf_token": console_csrf(console), "envoi": envoi})
        assert applied.status_code == 303


# -- lockout of console users ---------------------------------------------------------------------------

def parallel_console_logins(console, tenant_slug: str, email_: str, password: str, count: int) -> list[str]:
    app = console.app
    tenant = app.state.registry.get(tenant_slug)

    async def one() -> str:
        async with app.state.sessionmaker() as db:
            try:
                await AdminService(db, app.state.hasher, tenant).authenticate(email_, password, "203.0.113.9")
            except LoginFailed:
                return "failed"
            return "ok"

    async def all_at_once() -> list[str]:
        return list(await asyncio.gather(*(one() for _ in range(count))))

    return console.client.portal.call(all_at_once)


def test_parallel_wrong_passwords_lock_a_gers_admin_after_the_consoles_threshold_and_the_lock_is_audited(console_for, app):
    console = signed_in(console_for, app, A, "agent@gers.fr")
    assert console.client.get("/admin/account/list").status_code == 200
    # The Gers portal locks for good after 3 failures; its console has the consoles' own rule.
    assert app.state.registry.get(A).config.lockout.max_failures == 3
    threshold = app.state.settings.console_lockout_max_failures
    assert threshold == CONSOLE_LOCKOUT.max_failures == 5
    hasher = app.state.hasher
    before = hasher.verifications
    results = parallel_console_logins(console, A, "agent@gers.fr", "Faux#Passe99", 20)
    assert results == ["failed"] * 20
    assert hasher.verifications - before <= threshold
    (admin,) = fetch(console, select(Admin.locked_at, Admin.locked_until, Admin.failed_logins).where(Admin.email == "agent@gers.fr"))
    assert admin.locked_at is not None and admin.failed_logins == threshold
    assert admin.locked_until is not None  # temporary, never permanent
    locks = fetch(console, select(AuditEvent.tenant_id, AuditEvent.ip, AuditEvent.detail).where(AuditEvent.type == "admin.locked"))
    assert [tuple(lock) for lock in locks] == [(A, "203.0.113.9", {"admin_email": "agent@gers.fr"})]
    # Locked: the open session ends, the right password no longer opens one.
    assert to_console_login(console.client.get("/admin/account/list"))
    assert console.login("agent@gers.fr", ADMIN_PASSWORD).status_code == 400
    assert parallel_console_logins(console, A, "agent@gers.fr", ADMIN_PASSWORD, 1) == ["failed"]
    assert fetch(console, select(func.count()).select_from(UserSession).where(UserSession.admin_id.is_not(None)))[0][0] == 0


@pytest.mark.parametrize("slug", [A, B])
def test_the_consoles_threshold_locks_an_admin_and_no_sooner(console_for, app, slug):
    console = console_for(slug)
    create_admin(app, console.client, slug, f"agent@{slug}.fr", ADMIN_PASSWORD)
    threshold = app.state.settings.console_lockout_max_failures
    for attempt in range(1, threshold + 1):
        assert console.login(f"agent@{slug}.fr", "Faux#Passe99").status_code == 400
        (admin,) = fetch(console, select(Admin.locked_at).where(Admin.email == f"agent@{slug}.fr"))
        assert (admin.locked_at is not None) == (attempt == threshold), attempt
    assert console.login(f"agent@{slug}.fr", ADMIN_PASSWORD).status_code == 400
    locks = fetch(console, select(AuditEvent.tenant_id).where(AuditEvent.type == "admin.locked"))
    assert locks == [(slug,)]


def test_anonymous_guesses_lock_a_gers_admin_for_fifteen_minutes_then_the_lock_lifts(console_for, app, frozen_clock):
    """Three guesses (the Gers portal's permanent threshold) shut nobody out; the consoles' five
    lock for 15 minutes; after them the right password opens the console again."""
    console = console_for(A)
    create_admin(app, console.client, A, "agent@gers.fr", ADMIN_PASSWORD)
    for _ in range(3):
        assert console.login("agent@gers.fr", "Faux#Passe99").status_code == 400
    (admin,) = fetch(console, select(Admin.locked_at).where(Admin.email == "agent@gers.fr"))
    assert admin.locked_at is None
    for _ in range(2):
        assert console.login("agent@gers.fr", "Faux#Passe99").status_code == 400
    (admin,) = fetch(console, select(Admin.locked_at, Admin.locked_until).where(Admin.email == "agent@gers.fr"))
    assert admin.locked_at is not None
    until = admin.locked_until if admin.locked_until.tzinfo else admin.locked_until.replace(tzinfo=UTC)
    assert until == frozen_clock.now + timedelta(minutes=15)
    frozen_clock.advance(minutes=14, seconds=59)
    assert console.login("agent@gers.fr", ADMIN_PASSWORD).status_code == 400  # still locked
    frozen_clock.advance(seconds=2)
    assert console.login("agent@gers.fr", ADMIN_PASSWORD).status_code == 302
    assert console.client.get("/admin/account/list").status_code == 200
    (admin,) = fetch(console, select(Admin.locked_at, Admin.failed_logins).where(Admin.email == "agent@gers.fr"))
    assert admin.locked_at is None and admin.failed_logins == 0


def test_the_consoles_lockout_comes_from_the_settings(tmp_path, database_url, smtp_server):
    from assmat.auth.staff import console_lockout
    from tests.conftest import smtp_settings

    settings = smtp_settings(tmp_path, database_url, smtp_server, console_lockout_max_failures=8, console_lockout_minutes=60)
    rule = console_lockout(settings)
    assert rule.max_failures == 8 and rule.duration == timedelta(hours=1)


def test_a_console_reset_reaches_only_this_consoles_staff(console_for, app):
    """B's staff address typed in A's console (or the platform's) gets no link: same answer,
    nothing written."""
    ours = console_for(A)
    create_admin(app, ours.client, B, "agent@cestas.fr", ADMIN_PASSWORD)
    for host in (A, "localhost"):
        visitor = console_for(host)
        before = snapshot(visitor)
        token = visitor.csrf("/admin/mot-de-passe-oublie")
        response = visitor.client.post("/admin/mot-de-passe-oublie", data={"csrf_token": token, "email": "agent@cestas.fr"})
        assert response.status_code == 200 and "un courriel vient d'y être envoyé" in text_of(response)
        assert changed_tables(before, snapshot(visitor)) == [], host


# -- assmat create-admin ----------------------------------------------------------------------------

SECRET = "test-secret-key-not-for-production"


def cli_env(database_url: str, var_dir: Path) -> dict[str, str]:
    return {**os.environ, "ASSMAT_DATABASE_URL": database_url, "ASSMAT_VAR_DIR": str(var_dir),
            "ASSMAT_SECRET_KEY": SECRET, "ASSMAT_TENANT_CONFIGS": str(TENANT_CONFIGS), "ASSMAT_MAIL_BACKEND": "file",
            "ASSMAT_PUBLIC_URL_TEMPLATE": "http://{slug}.localhost", "ASSMAT_PLATFORM_URL": "http://localhost"}


def assmat(env: dict[str, str], *args: str) -> subprocess.CompletedProcess:
    return subprocess.run([sys.executable, "-m", "assmat", *args], check=False, cwd=REPO, capture_output=True, text=True, env=env,
                          timeout=120)


def mails_from_the_worker(env: dict[str, str], mail_dir: Path, count: int) -> list[email.message.EmailMessage]:
    """Run `assmat mail-worker` until it has written `count` .eml files, then stop it (SIGTERM)."""
    worker = subprocess.Popen([sys.executable, "-m", "assmat", "mail-worker"], cwd=REPO, env=env,
                              stdout=subprocess.PIPE, stderr=subprocess.PIPE, text=True)
    try:
        deadline = time.monotonic() + 30
        while time.monotonic() < deadline and len(list(mail_dir.glob("*.eml"))) < count:
            assert worker.poll() is None, worker.communicate()
            time.sleep(0.1)
    finally:
        worker.send_signal(signal.SIGTERM)
        out, err = worker.communicate(timeout=20)
    assert worker.returncode == 0, err
    files = sorted(mail_dir.glob("*.eml"))
    assert len(files) == count, (out, err)
    return [email.message_from_bytes(path.read_bytes(), policy=email.policy.default) for path in files]


def set_password_through_the_app(client, link: str, password: str):
    path = "/" + link.split("/", 3)[3]
    page = client.get(path)
    assert page.status_code == 200, page.text[:500]
    token = CSRF.search(page.text).group(1)
    return client.post(path, data={"csrf_token": token, "mot_de_passe": password, "confirmation": password})


def test_create_admin_mails_a_set_password_link_that_opens_the_console(database_url, tmp_path, console_for, app):
    var_dir = tmp_path / "cli-var"
    env = cli_env(database_url, var_dir)
    created = assmat(env, "create-admin", A, "Agent@Example.org")
    assert created.returncode == 0, created.stderr
    assert "Accès console créé : Agent@Example.org (gers)" in created.stdout
    again = assmat(env, "create-admin", A, "agent@example.org")
    assert again.returncode == 1 and "ERREUR" in again.stderr

    (message,) = mails_from_the_worker(env, var_dir / "mail", 1)
    assert message["To"] == "Agent@Example.org"
    body = message.get_body(("plain",)).get_content()
    (link,) = re.findall(r"http://gers\.localhost/admin/mot-de-passe/\S+", body)
    assert "Un accès à la console du Département du Gers a été créé pour vous." in body  # with its article

    console = console_for(A)
    assert console.login("agent@example.org", ADMIN_PASSWORD).status_code == 400  # no password yet
    chosen = set_password_through_the_app(console.client, link, ADMIN_PASSWORD)
    assert chosen.status_code == 303 and chosen.headers["location"] == "/admin/login"
    assert set_password_through_the_app(console.client, link, ADMIN_PASSWORD).status_code in (200, 400)  # single use
    assert console.login("agent@example.org", ADMIN_PASSWORD).status_code == 302
    assert console.client.get("/admin/account/list").status_code == 200
    (admin,) = fetch(console, select(Admin.tenant_id, Admin.role).where(Admin.email_key == "agent@example.org"))
    assert (admin.tenant_id, admin.role) == (A, "admin")
    # Gers staff only: the same credentials open nothing on another tenant or the platform.
    for host in (B, "localhost"):
        assert console_for(host).login("agent@example.org", ADMIN_PASSWORD).status_code == 400, host


def test_create_admin_super_signs_in_on_the_root_domain_only(database_url, tmp_path, console_for, app):
    var_dir = tmp_path / "cli-var"
    env = cli_env(database_url, var_dir)
    created = assmat(env, "create-admin", "-", "root@assmat.example", "--super")
    assert created.returncode == 0, created.stderr
    assert "Accès console créé : root@assmat.example (plateforme (super-admin))" in created.stdout
    # Delivered first: a delivered mail's body (and its link) is erased from the outbox.
    (message,) = mails_from_the_worker(env, var_dir / "mail", 1)
    (link,) = re.findall(r"http://localhost/admin/mot-de-passe/\S+", message.get_body(("plain",)).get_content())
    (mail,) = fetch(console_for("localhost"), select(OutboxMail.tenant_id, OutboxMail.recipient, OutboxMail.body_text))
    assert (mail.tenant_id, mail.recipient, mail.body_text) == (None, "root@assmat.example", "")
    assert "Un accès à la console de la plateforme assmat a été créé pour vous." in message.get_body(("plain",)).get_content()

    # The link is the platform's: on a tenant's host it is not valid.
    on_gers = console_for(A)
    assert set_password_through_the_app(on_gers.client, link, "Plateforme#Solide2026").status_code == 400
    root = console_for("localhost")
    chosen = set_password_through_the_app(root.client, link, "Plateforme#Solide2026")
    assert chosen.status_code == 303
    assert root.login("root@assmat.example", "Plateforme#Solide2026").status_code == 302
    assert root.client.get("/admin/plateforme").status_code == 200
    for host in (A, B):
        assert console_for(host).login("root@assmat.example", "Plateforme#Solide2026").status_code == 400, host


def test_the_letters_to_print_are_only_this_tenants(world, console_for, app):
    """« Courriers à imprimer » lists A's accounts awaiting their letter, never B's; read-only
    staff cannot print."""
    ours, theirs = store(world.console, *(Account(
        tenant_id=tenant, identifier=f"{tag}-courrier", first_name="Zoé", last_name=f"{tag}courrier",
        created_at=clock.now()) for tenant, tag in ((A, A_TAG), (B, B_TAG))))
    reader = signed_in(console_for, app, A, "lecteur-courrier@gers.fr", role="read_only")
    before = snapshot(world.console)
    page = world.console.client.get("/admin/account/courriers")
    assert page.status_code == 200 and f"{A_TAG}-courrier" in page.text and leak_free(page.text)
    assert str(theirs.id) not in re.search(r'name="pks" value="([^"]*)"', page.text).group(1).split(",")
    assert reader.client.get("/admin/account/courriers").status_code == 403
    assert changed_tables(before, snapshot(world.console)) == []
