"""The accounts view of a tenant's console: search, filters, details with recent audit events,
and the staff actions (unlock, send a reset, disable/enable, resend activation, letter).

SQLAdmin's actions are GET routes without CSRF: here the GET only shows a confirmation page;
the change happens on a POST that checks the CSRF token, the role and the tenant scope of every
primary key, and leaves an audit line."""

from __future__ import annotations

from dataclasses import replace
from typing import Any

from markupsafe import Markup, escape
from sqladmin import action, expose
from sqlalchemy import ColumnElement, and_, case, or_, select
from starlette.requests import Request
from starlette.responses import RedirectResponse, Response

from assmat.admin.actions import Done, Page, action_button, read_console_form
from assmat.admin.letters import PrintedLetter, printed_letter
from assmat.admin.backend import console_user
from assmat.admin.filters import ChoiceFilter
from assmat.admin.scoping import TenantScopedView
from assmat.auth import deletion, staff_actions
from assmat.auth.context import auth_context
from assmat.auth.franceconnect import service as franceconnect
from assmat.auth.models import Account
from assmat.core import clock
from assmat.core.dates import parse_french_date
from assmat.core.i18n import gettext as _
from assmat.web.csrf import csrf_token
from assmat.web.forms import BadForm
from assmat.core.security.models import AuditEvent

# An account's state, for the list and for the overview's counts: the first state whose test
# holds (on a row, in Python; on the table, in SQL) wins, "actif" otherwise.
STATES: list[tuple[str, Any, ColumnElement[bool]]] = [
    ("désactivé", lambda a: a.disabled_at is not None, Account.disabled_at.is_not(None)),
    ("bloqué", lambda a: a.locked_at is not None, Account.locked_at.is_not(None)),
    ("non activé", lambda a: a.password_hash is None, Account.password_hash.is_(None)),
    ("doit changer son mot de passe", lambda a: a.must_change_password or a.needs_security_update,
     or_(Account.must_change_password.is_(True), Account.needs_security_update.is_(True))),
]
ACTIVE = "actif"
KIND_LABELS = {"assistant": "Assistant maternel", "parent": "Famille"}
NEW_ACCOUNT_FIELDS = ("type", "identifiant", "civilite", "nom", "prenom", "naissance", "email", "adresse", "code_postal",
                      "commune")


def kinds_of(config: Any) -> list[str]:
    """The kinds of account staff may create here: its assistants and, where the portal has
    them, families. Structures (MAM, relais) sign in by email, not with the assistants'
    identifier: they are created with their structure, not here."""
    return ["assistant", *(["parent"] if config.features.parents else [])]


def new_account_request(tenant: Any, values: dict[str, str], errors: dict[str, str]) -> tuple[dict[str, Any], dict[str, str]]:
    """The console form's values as `create_account`'s arguments, or the French message of each
    wrong field. What the activation mode needs is required: the fields of the identity check,
    the birth date with the PMI number."""
    config = tenant.config
    errors = dict(errors)
    if values["type"] not in kinds_of(config):
        errors["type"] = "Choisissez le type de compte."
    identifier = values["identifiant"] or (values["email"] if config.login.identifier == "email" else "")
    if not identifier:
        errors["identifiant"] = "Indiquez l'identifiant."
    birth_date = parse_french_date(values["naissance"]) if values["naissance"] else None
    if values["naissance"] and birth_date is None:
        errors["naissance"] = "Date de naissance attendue au format JJ/MM/AAAA."
    needed = {"pmi_number_birthdate": ["birth_date"], "identity_check": list(config.activation.identity_fields or [])}
    fields = {"last_name": "nom", "first_name": "prenom", "birth_date": "naissance", "email": "email"}
    labels = {"nom": "le nom", "prenom": "le prénom", "naissance": "la date de naissance", "email": "l'adresse électronique"}
    for field in needed.get(config.activation.mode, []):
        key = fields[field]
        if not values[key] and key not in errors:
            errors[key] = f"Indiquez {labels[key]} : la personne en aura besoin pour activer son compte."
    if values["civilite"] not in ("", "Madame", "Monsieur"):
        errors["civilite"] = "Choisissez Madame ou Monsieur."
    too_long = {"nom": 100, "prenom": 100, "adresse": 300, "code_postal": 10, "commune": 100, "email": 254}
    for key, limit in too_long.items():
        if len(values[key]) > limit:
            errors.setdefault(key, f"{limit} caractères au plus.")
    return {
        "raw_identifier": identifier, "email": values["email"] or None, "kind": values["type"],
        "first_name": values["prenom"] or None, "last_name": values["nom"] or None, "birth_date": birth_date,
        "civility": values["civilite"] or None, "address": values["adresse"] or None,
        "postal_code": values["code_postal"] or None, "city": values["commune"] or None,
    }, errors


# Letters printed in one document at most: a print run staff can check, and a form that stays small.
LETTERS_PER_DOCUMENT = 300


def account_state(account: Account) -> str:
    return next((label for label, holds, _ in STATES if holds(account)), ACTIVE)


def account_state_sql() -> ColumnElement[str]:
    return case(*[(condition, label) for label, _, condition in STATES], else_=ACTIVE)


def _state_cell(account: Account, _attribute: Any, request: Request) -> Markup:
    """The state, and for a locked account a one-click unlock button (a POST with CSRF)."""
    label = escape(account_state(account))
    user = console_user(request)
    if account.locked_at is None or user is None or not user.can_act:
        return Markup(label)
    return label + Markup(" ") + action_button(request, "account", "unlock", account.id, "Débloquer")


class AccountView(TenantScopedView, model=Account):
    name = "Compte"
    name_plural = "Comptes"
    icon = "fa-solid fa-user"
    column_list = [Account.identifier, "state", Account.last_name, Account.first_name, Account.email, Account.kind]
    column_labels = {
        "identifier": "Identifiant", "last_name": "Nom", "first_name": "Prénom", "email": "Email", "kind": "Type",
        "state": "État", "birth_date": "Date de naissance", "created_at": "Créé le", "last_login_at": "Dernière connexion",
        "locked_at": "Bloqué le", "disabled_at": "Désactivé le", "activated_at": "Activé le", "failed_logins": "Échecs",
        "must_change_password": "Doit changer son mot de passe", "phone": "Téléphone", "civility": "Civilité",
        "city": "Commune", "postal_code": "Code postal", "address": "Adresse", "terms_accepted_at": "Conditions acceptées le",
    }
    column_searchable_list = [Account.identifier, Account.last_name, Account.first_name, Account.email]
    column_sortable_list = [Account.identifier, Account.last_name, Account.created_at]
    column_default_sort = [(Account.last_name, False)]
    column_filters = [
        ChoiceFilter("locked", "Bloqué", {
            "true": ("oui", Account.locked_at.is_not(None)), "false": ("non", Account.locked_at.is_(None)),
        }),
        ChoiceFilter("must_change_password", "Doit changer son mot de passe", {
            "true": ("oui", Account.must_change_password.is_(True)), "false": ("non", Account.must_change_password.is_(False)),
        }),
        ChoiceFilter("not_activated", "Non activé", {
            "true": ("oui", Account.activated_at.is_(None)), "false": ("non", Account.activated_at.is_not(None)),
        }),
        ChoiceFilter("letter_due", "Courrier à imprimer", {"true": ("oui", staff_actions.awaiting_letter())}),
        ChoiceFilter("disabled", "Désactivé", {
            "true": ("oui", Account.disabled_at.is_not(None)), "false": ("non", Account.disabled_at.is_(None)),
        }),
    ]
    column_formatters = {"state": _state_cell}
    column_details_list = [
        Account.identifier, Account.kind, Account.civility, Account.last_name, Account.first_name, Account.birth_date,
        Account.email, Account.phone, Account.address, Account.postal_code, Account.city, Account.created_at,
        Account.activated_at, Account.last_login_at, Account.failed_logins, Account.locked_at, Account.disabled_at,
        Account.must_change_password, Account.terms_accepted_at,
    ]
    details_template = "account_details.html"
    menu_links = (("Créer un compte", "view-account-new_account"), ("Courriers à imprimer", "view-account-letters_due"))
    action_labels = {
        "unlock": "Débloquer",
        "send_reset": "Envoyer une réinitialisation",
        "disable": "Désactiver",
        "enable": "Réactiver",
        "resend_activation": "Renvoyer l'activation",
        "letter": "Imprimer le courrier",
        "unlink_franceconnect": "Délier FranceConnect",
        "delete_family": "Supprimer le compte famille",
    }
    # A staff reset or letter lifts a lock: the new password could not be used otherwise.
    action_notes = {
        "send_reset": "Un compte bloqué sera débloqué : sans cela, la réinitialisation envoyée ne pourrait pas servir.",
        "letter": "Le courrier donne un nouveau mot de passe provisoire qui remplace le précédent. "
                  "Un compte bloqué sera débloqué : sans cela, ce mot de passe ne pourrait pas servir.",
        "unlink_franceconnect": "La personne ne pourra plus se connecter avec FranceConnect avant d'avoir refait "
                                "l'activation (numéro PMI et date de naissance, puis « Identifiez-vous via France Connect »).",
    }

    action_notes["delete_family"] = (
        "Le compte famille et toutes ses données personnelles sont supprimés définitivement ; le journal garde les "
        "événements sans nommer la personne, et un courriel confirme la suppression à son adresse. Seuls les comptes "
        "familles sont supprimés ainsi.")

    def describe(self, row: Account) -> str:
        names = " ".join(part for part in (row.first_name, row.last_name) if part)
        return f"{row.identifier} — {names} ({row.email or 'sans email'})"

    async def recent_events(self, request: Request, account: Account) -> list[AuditEvent]:
        async with request.app.state.sessionmaker() as db:
            return list((await db.scalars(
                select(AuditEvent)
                .where(and_(AuditEvent.account_id == account.id, AuditEvent.tenant_id == self.scope_of(request)))
                .order_by(AuditEvent.created_at.desc(), AuditEvent.id.desc())
                .limit(20)
            )).all())

    async def franceconnect_state(self, request: Request, account: Account) -> str | None:
        """What the details say of FranceConnect: linked or not; nothing where the tenant
        does not offer it and the account has no link."""
        tenant = request.scope["tenant"]
        async with request.app.state.sessionmaker() as db:
            ctx = auth_context(db, tenant, request.app.state.hasher, request.app.state.settings)
            linked = await franceconnect.is_linked(ctx, account.id)
        if linked:
            return "relié à une identité FranceConnect"
        if not franceconnect.offered(tenant.config):
            return None
        return "non relié" if franceconnect.may_use(account) else "non disponible pour les comptes MAM et RAM"

    # -- actions: GET confirms, POST acts (assmat.admin.actions) -------------------------------

    @action(name="unlink_franceconnect", label="Délier FranceConnect", add_in_detail=True, add_in_list=False)
    async def unlink_franceconnect(self, request: Request) -> Response:
        return await self.confirm(request, "unlink_franceconnect")

    @action(name="unlock", label="Débloquer", add_in_detail=True, add_in_list=True)
    async def unlock(self, request: Request) -> Response:
        return await self.confirm(request, "unlock")

    @action(name="send_reset", label="Envoyer une réinitialisation", add_in_detail=True, add_in_list=True)
    async def send_reset(self, request: Request) -> Response:
        return await self.confirm(request, "send_reset")

    @action(name="disable", label="Désactiver", add_in_detail=True, add_in_list=True)
    async def disable(self, request: Request) -> Response:
        return await self.confirm(request, "disable")

    @action(name="enable", label="Réactiver", add_in_detail=True, add_in_list=True)
    async def enable(self, request: Request) -> Response:
        return await self.confirm(request, "enable")

    @action(name="resend_activation", label="Renvoyer l'activation", add_in_detail=True, add_in_list=True)
    async def resend_activation(self, request: Request) -> Response:
        return await self.confirm(request, "resend_activation")

    @action(name="delete_family", label="Supprimer le compte famille", add_in_detail=True, add_in_list=False)
    async def delete_family(self, request: Request) -> Response:
        return await self.confirm(request, "delete_family")

    @action(name="letter", label="Imprimer le courrier", add_in_detail=True, add_in_list=True)
    async def letter(self, request: Request) -> Response:
        return await self.confirm(request, "letter")

    @expose("/courriers", methods=["GET"])
    async def letters_due(self, request: Request) -> Response:
        """« Courriers à imprimer »: every account still awaiting its letter (an import's new
        accounts), confirmed on one page, then printed as one document by the letter action."""
        self._require_actor(request)
        async with request.app.state.sessionmaker() as db:
            rows = list((await db.scalars(
                self.list_query(request).where(staff_actions.awaiting_letter())
                .order_by(Account.identifier, Account.id).limit(LETTERS_PER_DOCUMENT + 1)
            )).all())
        return await self._confirmation(request, "letter", rows[:LETTERS_PER_DOCUMENT],
                                        more=len(rows) > LETTERS_PER_DOCUMENT)

    @expose("/nouveau", methods=["GET", "POST"])
    async def new_account(self, request: Request) -> Response:
        """« Créer un compte »: one account of a kind this portal has, then what the tenant's
        activation mode says: its letter, printed at once (`letter`), or an activation link
        mailed to it (the self-activation modes; without an address, she activates on the portal)."""
        by = self._require_actor(request)
        tenant = request.scope["tenant"]
        values = dict.fromkeys(NEW_ACCOUNT_FIELDS, "") | {"type": "assistant"}
        errors: dict[str, str] = {}
        if request.method == "POST":
            try:
                form = await read_console_form(request)
            except BadForm as exc:
                form, errors["form"] = {}, exc.message
            values = {key: " ".join(form.get(key, "").split()) for key in values}
            request_, errors = new_account_request(tenant, values, errors)
            if not errors:
                async with request.app.state.sessionmaker() as db:
                    ctx = auth_context(db, tenant, request.app.state.hasher, request.app.state.settings)
                    try:
                        account, _password = await staff_actions.create_account(ctx, **request_, by=by)
                    except ValueError as exc:
                        errors["email" if str(exc) == _("Please enter a valid email address.") else "identifiant"] = str(exc)
                    else:
                        letter_page = await self._first_credentials(request, db, ctx, account, by)
                        if letter_page is not None:
                            return letter_page
                        url = request.url_for("admin:details", identity=self.identity, pk=str(account.id))
                        return RedirectResponse(f"{url}?cree={'lien' if account.email else 'portail'}", status_code=303)
        return await self._admin_ref.templates.TemplateResponse(request, "account_new.html", {
            "title": "Créer un compte", "values": values, "errors": errors,
            "kinds": [(kind, KIND_LABELS[kind]) for kind in kinds_of(tenant.config)],
            "identifier_is_email": tenant.config.login.identifier == "email",
            "letter_mode": tenant.config.activation.mode == "letter", "csrf_value": csrf_token(request),
        }, status_code=400 if errors else 200)

    async def perform(self, request: Request, db, name: str, rows: list[Account], by: str) -> Done:
        tenant = request.scope["tenant"]
        ctx = auth_context(db, tenant, request.app.state.hasher, request.app.state.settings)
        letters: list[PrintedLetter] = []
        today = clock.today()
        unlocked = deleted = 0
        for account in rows:
            if name == "unlock":
                await staff_actions.staff_unlock(ctx, account, by)
            elif name == "send_reset":
                unlocked += await staff_actions.staff_send_reset(ctx, account, by)
            elif name in ("disable", "enable"):
                await staff_actions.staff_set_disabled(ctx, account, name == "disable", by)
            elif name == "resend_activation":
                if not await staff_actions.staff_resend_activation(ctx, account, by):
                    unlocked += account.locked_at is not None  # staff_letter lifts the lock
                    letters.append(printed_letter(tenant, account, await staff_actions.staff_letter(ctx, account, by), today))
            elif name == "unlink_franceconnect":
                await franceconnect.unlink(ctx, account, by)
            elif name == "delete_family":
                if not deletion.may_delete(account):
                    continue
                await deletion.erase(ctx, account, by=by)
                deleted += 1
            elif name == "letter":
                unlocked += account.locked_at is not None  # staff_letter lifts the lock
                letters.append(printed_letter(tenant, account, await staff_actions.staff_letter(ctx, account, by), today))
        done = Done(deleted if name == "delete_family" else len(rows), unlocked=unlocked, mail_failed=len(ctx.mail_failures))
        if not letters:
            return done
        # The temporary password is shown here once, to print; it is stored only hashed.
        return replace(done, page=Page("letter.html", {
            "letters": letters, "tenant": tenant, "config": tenant.config, "unlocked": unlocked,
        }))
