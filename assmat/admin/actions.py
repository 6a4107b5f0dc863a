"""Staff actions in the console: a GET that only asks for confirmation, a POST that acts.

SQLAdmin's actions are GET routes without CSRF protection (stack.md). A view lists its actions
in `action_labels` and declares each one with `@action` whose body is `return await
self.confirm(request, name)`; the change itself happens on POST /{identity}/run/{action}, which
checks, in this order: the action exists (404), the user may act here (403), the CSRF token
(403), every primary key is one of the rows the view shows (404 for the whole request,
nothing done). The view's `perform` then acts and writes its audit lines in the same
transaction, and says what it did with a `Done`: the console goes back to the list with the
counts, or shows the page the `Done` names (a letter to print)."""

from __future__ import annotations

from dataclasses import dataclass
from typing import Any, ClassVar

from markupsafe import Markup, escape
from sqladmin import action, expose
from sqlalchemy import update
from starlette.exceptions import HTTPException
from starlette.requests import Request
from starlette.responses import RedirectResponse, Response

from assmat.core import clock
from assmat.admin.backend import console_user
from assmat.admin.letters import printed_letter
from assmat.auth import staff_actions
from assmat.core.security import audit
from assmat.core.security.audit import EventType
from assmat.web.csrf import csrf_token
from assmat.web.forms import BadForm, CsrfFailed, expired_form_message, read_form


@dataclass(frozen=True)
class Page:
    """A console page an action shows instead of going back to the list. It comes once, after
    a change (a temporary password to print): never cached."""

    template: str
    context: dict[str, Any]


@dataclass(frozen=True)
class Done:
    """What an action did: how many rows it changed, locks it lifted on the way, mails it could
    not queue (the change stands; the audit trail has the reason), and the page to show, if
    any, instead of the list."""

    count: int
    unlocked: int = 0
    mail_failed: int = 0
    page: Page | None = None


async def read_console_form(request: Request) -> dict[str, str]:
    """A console page's POSTed form: a missing or foreign CSRF token is a 403 with the expired-
    form message (a console page never re-renders for it); BadForm is the caller's to show."""
    try:
        return await read_form(request)
    except CsrfFailed:
        raise HTTPException(403, detail=expired_form_message()) from None


def run_url(request: Request, identity: str, action: str) -> str:
    return str(request.url_for(f"admin:view-{identity}-run_action", action=action))


def action_button(request: Request, identity: str, action: str, pk: int, label: str) -> Markup:
    """A one-click POST form for one row: a list's shortcut, CSRF-checked and scoped like the
    confirmed route it posts to."""
    return Markup(
        f'<form method="post" action="{escape(run_url(request, identity, action))}" class="d-inline-form">'
        f'<input type="hidden" name="csrf_token" value="{escape(csrf_token(request))}">'
        f'<input type="hidden" name="pks" value="{int(pk)}">'
        f'<button type="submit" class="btn btn-sm btn-primary">{escape(label)}</button></form>'
    )


class ConfirmedActions:
    action_labels: ClassVar[dict[str, str]] = {}
    # A sentence shown on the confirmation page, per action, when its effect needs saying.
    action_notes: ClassVar[dict[str, str]] = {}
    # Actions that need a reason from staff (a refusal the assistant reads): the label of the
    # required field on the confirmation page. `perform` finds it in `request.state.action_reason`.
    action_reasons: ClassVar[dict[str, str]] = {}
    REASON_MAX = 500

    # Provided by the scoping base class (assmat.admin.scoping).
    def may_act(self, request: Request) -> bool:
        raise NotImplementedError

    async def scoped_rows(self, request: Request, db: Any, pks: list[str]) -> list[Any]:
        raise NotImplementedError

    def describe(self, row: Any) -> str:
        """One line naming a row on the confirmation page."""
        return str(row)

    async def perform(self, request: Request, db: Any, name: str, rows: list[Any], by: str) -> Done:
        """Act on `rows` in `db` (committed afterwards) and audit it; say what was done."""
        raise NotImplementedError

    def _require_actor(self, request: Request) -> str:
        user = console_user(request)
        if user is None or not self.may_act(request):
            raise HTTPException(403)
        return user.admin.email

    async def confirm(self, request: Request, name: str) -> Response:
        self._require_actor(request)
        pks = request.query_params.get("pks", "").split(",")
        async with request.app.state.sessionmaker() as db:
            rows = await self.scoped_rows(request, db, pks)
        return await self._confirmation(request, name, rows)

    async def _confirmation(self, request: Request, name: str, rows: list[Any], reason_error: str | None = None,
                            status: int = 200, more: bool = False) -> Response:
        return await self._admin_ref.templates.TemplateResponse(request, "confirm_action.html", {
            "action_label": self.action_labels[name], "action_note": self.action_notes.get(name),
            "items": [self.describe(row) for row in rows], "pks": ",".join(str(row.id) for row in rows),
            "post_url": run_url(request, self.identity, name), "model_view": self,
            "reason_label": self.action_reasons.get(name), "reason_error": reason_error, "reason_max": self.REASON_MAX,
            "more": more,
        }, status_code=status)

    @expose("/run/{action}", methods=["POST"])
    async def run_action(self, request: Request) -> Response:
        name = request.path_params["action"]
        if name not in self.action_labels:
            raise HTTPException(404)
        by = self._require_actor(request)
        try:
            form = await read_form(request)
        except CsrfFailed:
            raise HTTPException(403, detail=expired_form_message()) from None
        except BadForm:
            raise HTTPException(403) from None
        async with request.app.state.sessionmaker() as db:
            rows = await self.scoped_rows(request, db, form.get("pks", "").split(","))
            if name in self.action_reasons:
                reason = " ".join(form.get("reason", "").split())
                if not reason or len(reason) > self.REASON_MAX:
                    error = ("Indiquez le motif." if not reason
                             else f"Le motif ne doit pas dépasser {self.REASON_MAX} caractères.")
                    return await self._confirmation(request, name, rows, reason_error=error, status=400)
                request.state.action_reason = reason
            done = await self.perform(request, db, name, rows, by)
            # The page (a letter) shows this transaction's rows: rendered before it ends.
            shown = await self._action_page(request, done.page) if done.page is not None else None
            await db.commit()
        if shown is not None:
            return shown
        query = f"?done={name}&count={done.count}"
        if done.unlocked:
            query += f"&unlocked={done.unlocked}"
        if done.mail_failed:
            query += f"&mail_failed={done.mail_failed}"
        return RedirectResponse(str(request.url_for("admin:list", identity=self.identity)) + query, status_code=303)

    async def _first_credentials(self, request: Request, db: Any, ctx: Any, account: Any, by: str) -> Response | None:
        """What the tenant's activation mode gives an account staff just created, committed: in
        `letter` mode the page of its letter, to print now (returned); otherwise an activation
        link mailed to its address, if it has one (None: the caller says where to go next)."""
        tenant = request.scope["tenant"]
        if tenant.config.activation.mode == "letter":
            letter = printed_letter(tenant, account, await staff_actions.staff_letter(ctx, account, by), clock.today())
            shown = await self._action_page(request, Page("letter.html", {
                "letters": [letter], "tenant": tenant, "config": tenant.config, "unlocked": 0}))
            await db.commit()
            return shown
        await staff_actions.staff_resend_activation(ctx, account, by)
        await db.commit()
        return None

    async def _action_page(self, request: Request, page: Page) -> Response:
        response = await self._admin_ref.templates.TemplateResponse(request, page.template, page.context)
        response.headers["cache-control"] = "no-store"
        return response


class MarkHandled:
    """« Marquer comme traité » for rows with a `handled_at` column (contact messages, changes of
    situation): the first date and its audit line (`handled_event`) are kept."""

    handled_event: ClassVar[EventType]
    action_labels: ClassVar[dict[str, str]] = {"mark_handled": "Marquer comme traité"}

    @action(name="mark_handled", label="Marquer comme traité", add_in_detail=True, add_in_list=True)
    async def mark_handled(self, request: Request) -> Response:
        return await self.confirm(request, "mark_handled")  # type: ignore[attr-defined]

    def handled_detail(self, row: Any) -> dict[str, Any]:
        """What the audit line says of the row (its id under the name the trail uses)."""
        raise NotImplementedError

    async def perform(self, request: Request, db, name: str, rows: list[Any], by: str) -> Done:
        model, tenant_id = self.model, self.scope_of(request)  # type: ignore[attr-defined]
        handled = 0
        for row in rows:
            result = await db.execute(
                update(model)
                .where(model.id == row.id, model.tenant_id == tenant_id, model.handled_at.is_(None))
                .values(handled_at=clock.now())
                .execution_options(synchronize_session=False)
            )
            if result.rowcount == 1:
                await audit.record(db, tenant_id, self.handled_event, by=by, **self.handled_detail(row))
                handled += 1
        return Done(handled)
