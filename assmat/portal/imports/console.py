"""The console page "Import du fichier mensuel": upload → dry-run report → "Appliquer".

The uploaded bytes wait between the two steps in a file under var/imports/ with a random
name, referenced by a single-use token of the console user (the token service's: its data
name the file and the SHA-256 of the content; one hour). Applying claims the file by renaming it, so a double click applies once, and deletes it.
Staff with the admin role import; read_only staff see the history only."""

from __future__ import annotations

import hashlib
import os
import re
import secrets
import time
from datetime import timedelta
from pathlib import Path, PurePosixPath, PureWindowsPath
from typing import Any

from sqladmin import BaseView, expose
from starlette.exceptions import HTTPException
from starlette.requests import Request
from starlette.responses import RedirectResponse, Response

from assmat.admin.backend import console_user
from assmat.portal.imports.service import (
    ImportFileError,
    ImportReport,
    expected_columns,
    find_run,
    import_assistants,
    recent_runs,
)
from assmat.admin.scoping import TenantScopedView
from assmat.core.security.tokens import TokenService
from assmat.portal.imports.models import ImportRun
from assmat.web import ids  # noqa: F401 - the {…:id} path converter
from assmat.tenants.geocoding import geocoder_url
from assmat.web.csrf import csrf_token
from assmat.web.forms import BadForm, CsrfFailed, expired_form_message, read_form, read_form_with_file

MAX_UPLOAD_BYTES = 20 * 1024 * 1024
PENDING_TTL = 3600  # seconds an uploaded file waits for "Appliquer"
PENDING_UPLOAD = "import_pending"  # token purpose
SHOWN = 1000  # rejected lines and missing identifiers listed on a page
_PENDING_NAME = re.compile(r"^[0-9a-f]{32}$")
TOO_LARGE = f"Le fichier dépasse la taille maximale de {MAX_UPLOAD_BYTES // (1024 * 1024)} Mo : rien n'a été importé."


async def read_upload(request: Request, field: str = "fichier") -> tuple[str, bytes]:
    """(file name, content) of one uploaded file, the body bounded while it streams and the CSRF
    token checked first (assmat.web.forms). BadForm (400, French message) or CsrfFailed (403)."""
    upload = await read_form_with_file(request, field, MAX_UPLOAD_BYTES, TOO_LARGE)
    if upload.filename is None:
        raise BadForm("Choisissez le fichier CSV à importer.")
    if not upload.content:
        raise BadForm("Le fichier envoyé est vide.")
    return _safe_name(upload.filename), upload.content


def _safe_name(filename: str) -> str:
    """The base name the browser sent, for the history only (never a path on disk)."""
    name = PureWindowsPath(PurePosixPath(filename).name).name
    name = "".join(c for c in name if c.isprintable()).strip()
    return name[:200] or "fichier.csv"


class ImportView(BaseView):
    name = "Import du fichier mensuel"
    icon = "fa-solid fa-file-import"

    # -- access ----------------------------------------------------------------------------------

    def is_accessible(self, request: Request) -> bool:
        user = console_user(request)
        tenant = request.scope.get("tenant")
        return user is not None and tenant is not None and user.admin.tenant_id == tenant.slug

    def is_visible(self, request: Request) -> bool:
        return self.is_accessible(request)

    @staticmethod
    def _require_admin(request: Request) -> None:
        TenantScopedView.scope_of(request)
        user = console_user(request)
        if user is None or not user.can_act:
            raise HTTPException(403)

    # -- pending uploads -------------------------------------------------------------------------

    @staticmethod
    def _pending_dir(request: Request) -> Path:
        path = Path(request.app.state.settings.var_dir) / "imports"
        path.mkdir(parents=True, exist_ok=True)
        return path

    @classmethod
    def _purge(cls, request: Request) -> None:
        """Uploads never applied are deleted after an hour."""
        limit = time.time() - PENDING_TTL
        for path in cls._pending_dir(request).iterdir():
            try:
                if path.stat().st_mtime < limit:
                    path.unlink()
            except FileNotFoundError:
                pass

    async def _keep(self, request: Request, filename: str, content: bytes) -> str:
        """Keep the upload for "Appliquer"; the token that names it goes in the page."""
        user = console_user(request)
        if user is None:
            raise HTTPException(403)
        name = secrets.token_hex(16)
        path = self._pending_dir(request) / f"{name}.csv"
        fd = os.open(path, os.O_WRONLY | os.O_CREAT | os.O_EXCL, 0o600)
        with os.fdopen(fd, "wb") as out:
            out.write(content)
        async with request.app.state.sessionmaker() as db:
            token = await TokenService(db).issue(
                PENDING_UPLOAD, user.admin.principal, timedelta(seconds=PENDING_TTL),
                data={"f": name, "n": filename, "h": hashlib.sha256(content).hexdigest()},
            )
            await db.commit()
        return token

    async def _claim(self, request: Request, token: str) -> tuple[str, bytes]:
        """(file name, content) of a pending upload, taken once; BadForm when expired or used."""
        gone = BadForm("Ce fichier a expiré (1 h) ou a déjà été appliqué : envoyez-le de nouveau.")
        user = console_user(request)
        if user is None:
            raise gone
        async with request.app.state.sessionmaker() as db:
            row = await TokenService(db).consume(PENDING_UPLOAD, token, request.scope["tenant"].slug, kind="admin")
            await db.commit()
        data = row.data if row is not None and row.admin_id == user.admin.id else None
        if data is None or not _PENDING_NAME.match(str(data.get("f", ""))):
            raise gone
        directory = self._pending_dir(request)
        claimed = directory / f"{data['f']}.applying"
        try:
            os.rename(directory / f"{data['f']}.csv", claimed)  # atomic: one of two parallel applies wins
        except FileNotFoundError:
            raise gone from None
        try:
            content = claimed.read_bytes()
        finally:
            claimed.unlink(missing_ok=True)
        if hashlib.sha256(content).hexdigest() != data.get("h"):
            raise gone
        return str(data.get("n") or "fichier.csv"), content

    # -- pages -------------------------------------------------------------------------------

    async def _page(self, request: Request, error: str | None = None, status_code: int = 200) -> Response:
        slug = TenantScopedView.scope_of(request)
        async with request.app.state.sessionmaker() as db:
            runs = await recent_runs(db, slug)
        user = console_user(request)
        config = request.scope["tenant"].config
        delimiter = config.import_.delimiter
        return await self.templates.TemplateResponse(request, "import.html", {
            "title": self.name, "runs": runs, "can_act": user is not None and user.can_act, "error": error,
            "csrf_value": csrf_token(request), "max_mb": MAX_UPLOAD_BYTES // (1024 * 1024),
            "columns": expected_columns(config), "delimiter": "tabulation" if delimiter == "\t" else f"« {delimiter} »",
        }, status_code=status_code)

    async def _run(self, request: Request, filename: str, content: bytes, dry_run: bool) -> ImportReport:
        tenant = request.scope["tenant"]
        user = console_user(request)
        async with request.app.state.sessionmaker() as db:
            return await import_assistants(
                db, tenant, content, filename,
                dry_run=dry_run, admin_id=user.admin.id if user else None, by=user.admin.email if user else None,
            )

    @expose("/import", methods=["GET"], identity="import")
    async def index(self, request: Request) -> Response:
        self._purge(request)
        return await self._page(request)

    @expose("/import/simulation", methods=["POST"], identity="import-dry-run")
    async def dry_run(self, request: Request) -> Response:
        self._require_admin(request)
        self._purge(request)
        try:
            filename, content = await read_upload(request)
        except CsrfFailed:
            raise HTTPException(403, detail=expired_form_message()) from None
        except BadForm as exc:
            return await self._page(request, exc.message, status_code=400)
        try:
            report = await self._run(request, filename, content, dry_run=True)
        except ImportFileError as exc:
            return await self._page(request, f"{filename} : {exc.message}", status_code=400)
        return await self.templates.TemplateResponse(request, "import_report.html", {
            "title": self.name, "report": _report_context(report), "pending": await self._keep(request, filename, content),
            "csrf_value": csrf_token(request), "letter_mode": request.scope["tenant"].config.activation.mode == "letter",
        })

    @expose("/import/appliquer", methods=["POST"], identity="import-apply")
    async def apply(self, request: Request) -> Response:
        self._require_admin(request)
        try:
            form = await read_form(request)
            filename, content = await self._claim(request, form.get("envoi", ""))
        except CsrfFailed:
            raise HTTPException(403, detail=expired_form_message()) from None
        except BadForm as exc:
            return await self._page(request, exc.message, status_code=400)
        try:
            report = await self._run(request, filename, content, dry_run=False)
        except ImportFileError as exc:
            return await self._page(request, f"{filename} : {exc.message}", status_code=400)
        return RedirectResponse(str(request.url_for("admin:view-import-run", run_id=report.run_id)), status_code=303)

    @expose("/import/{run_id:id}", methods=["GET"], identity="import-run")
    async def run_details(self, request: Request) -> Response:
        slug = TenantScopedView.scope_of(request)
        async with request.app.state.sessionmaker() as db:
            run = await find_run(db, slug, request.path_params["run_id"])
        if run is None:
            raise HTTPException(404)
        tenant = request.scope["tenant"]
        return await self.templates.TemplateResponse(request, "import_report.html", {
            "title": self.name, "report": _run_context(run), "pending": None, "csrf_value": csrf_token(request),
            "letter_mode": tenant.config.activation.mode == "letter",
            # The import never waits on the network: the addresses are geocoded apart (assmat geocode).
            "geocoding": None if run.dry_run or not tenant.config.offers("publication")
            else ("on" if geocoder_url(request.app.state.settings, tenant) else "off"),
        })


def _report_context(report: ImportReport) -> dict[str, Any]:
    return {
        "filename": report.filename, "dry_run": report.dry_run, "counts": report.counts, "encoding": report.encoding,
        "warnings": report.warnings, "rejected": [{"line": r.line, "reason": r.reason} for r in report.rejected[:SHOWN]],
        "missing": report.missing[:SHOWN], "letters": report.letters[:SHOWN], "created_at": None, "shown": SHOWN,
    }


def _run_context(run: ImportRun) -> dict[str, Any]:
    return {
        "filename": run.filename, "dry_run": run.dry_run, "counts": run.counts, "encoding": None, "warnings": [],
        "rejected": run.rejected[:SHOWN], "missing": run.missing[:SHOWN], "letters": None, "created_at": run.created_at,
        "shown": SHOWN,
    }
