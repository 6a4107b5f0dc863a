"""One Jinja2 environment for every page, with per-request translations and tenant texts."""

from __future__ import annotations

from contextvars import ContextVar
from functools import lru_cache
from pathlib import Path
from typing import Any

import jinja2
from jinja2 import nodes
from jinja2.compiler import CodeGenerator, Frame, is_python_keyword
from jinja2.idtracking import VAR_LOAD_RESOLVE
from markdown_it import MarkdownIt
from markupsafe import Markup
from starlette.requests import Request
from starlette.responses import HTMLResponse
from starlette.templating import Jinja2Templates

from assmat.core import clock
from assmat.core.i18n import LOCALES, N_, current_locale, gettext, ngettext, translations
from assmat.core.i18n.names import of_name, the_name
from assmat.tenants.messages import MESSAGES, message_text
from assmat.tenants.loader import Tenant
from assmat.web.csrf import csrf_token
from assmat.web.phones import phone_links
from assmat.web.theme import logo_size

TEMPLATES = Path(__file__).resolve().parent.parent / "templates"

# The token of the page being rendered. A global, not a context variable: macros imported
# without `with context` (the CSRF field of _forms.html) see only globals, and a page that
# forgot `with context` posted an empty token (child deletion, archiving, « Mon compte » logout).
_page_csrf_token: ContextVar[str] = ContextVar("page_csrf_token", default="")


def page_csrf_token() -> str:
    return _page_csrf_token.get()

# Raw HTML in tenant Markdown is not rendered: the files are written by staff, shown to everyone.
_markdown = MarkdownIt("commonmark", {"html": False, "linkify": False})


def tenant_text(tenant: Tenant | None, message_id: str, default: str | None = None) -> str:
    """A user-facing text by id: the tenant's override in its own language, else `default`
    (a text the page already translated), else the catalog. Empty: the page shows nothing."""
    if tenant is None:
        return default if default is not None else (gettext(MESSAGES[message_id]) if MESSAGES[message_id] else "")
    return message_text(tenant.config.messages, current_locale.get(), tenant.config.locale, message_id, default)


# The YAML states RGAA compliance in French (the legal wording); other languages translate it.
ACCESSIBILITY_STATUS = {
    "non conforme": N_("not compliant"),
    "partiellement conforme": N_("partially compliant"),
    "totalement conforme": N_("fully compliant"),
}


def accessibility_status(status: str) -> str:
    return gettext(ACCESSIBILITY_STATUS[status])


def markdown(text: str) -> Markup:
    return Markup(_markdown.render(text))


def translated(message: str, **variables: Any) -> Markup:
    """`_()` and `{% trans %}` in the pages, as jinja2.ext.i18n's newstyle gettext does it with
    autoescape on: the translation is the page's own text, the values are escaped into it."""
    if not variables:
        return _page_text(current_locale.get(), message)
    return Markup(gettext(message)) % variables


@lru_cache(maxsize=8192)
def _page_text(locale: str, message: str) -> Markup:
    """A text without values, made once per language: most of a page's fifty `_()` calls,
    each a Markup and a format (`%%` → `%`) of a dozen Python calls."""
    return Markup(translations(locale).gettext(message)) % {}


def translated_plural(singular: str, plural: str, num: int, **variables: Any) -> Markup:
    variables.setdefault("num", num)
    return Markup(ngettext(singular, plural, num)) % variables


# The page's own functions, called directly by the compiled templates (see _PageCodeGenerator).
# None of them takes Jinja's context; a page's macro of the same name (`text` in a form) is a
# plain callable too.
DIRECT_CALLS = frozenset({"_", "gettext", "ngettext", "text", "tenant_text", "csrf_token"})
# Those of them that return the page's own Markup (translated, translated_plural).
MARKUP_CALLS = frozenset({"_", "gettext", "ngettext"})


class _PageCodeGenerator(CodeGenerator):
    """Jinja compiles each call of a template as `context.call(f, …)`, which looks on every call
    for a `pass_context` mark on `f`: 1.3 µs against 0.05 µs for the call itself, and a page
    makes fifty to a hundred of them, most of them `_()`. The page's own functions, which have
    no such mark, are called directly; every other call goes through Jinja as before."""

    def visit_Call(self, node: nodes.Call, frame: Frame, forward_caller: bool = False) -> None:
        if (
            forward_caller or node.dyn_args or node.dyn_kwargs
            or any(is_python_keyword(keyword.key) for keyword in node.kwargs)
            or not (isinstance(node.node, nodes.Name) and node.node.name in DIRECT_CALLS)
        ):
            super().visit_Call(node, frame, forward_caller=forward_caller)
            return
        self.visit(node.node, frame)
        self.write("(")
        for position, argument in enumerate([*node.args, *node.kwargs]):
            if position:
                self.write(", ")
            self.visit(argument, frame)
        self.write(")")

    def _output_child_pre(self, node: nodes.Expr, frame: Frame, finalize: Any) -> None:
        """`{{ _('…') }}` is written as it is: it is Markup already, and escape() of a Markup makes
        a copy of it (1 µs, fifty times a page). Only where `_` is the environment's own (not
        set, imported or a parameter in the template)."""
        if finalize.src is None and self._is_translated_text(node, frame):
            self.write("(")
        else:
            super()._output_child_pre(node, frame, finalize)

    @staticmethod
    def _is_translated_text(node: nodes.Expr, frame: Frame) -> bool:
        if frame.eval_ctx.volatile or not frame.eval_ctx.autoescape:
            return False
        if not isinstance(node, nodes.Call) or not isinstance(node.node, nodes.Name):
            return False
        name = node.node.name
        reference = frame.symbols.find_ref(name)
        return (name in MARKUP_CALLS and reference is not None
                and frame.symbols.find_load(reference) == (VAR_LOAD_RESOLVE, name))


_DICT_ATTRIBUTES = frozenset(dir(dict))


class _PageEnvironment(jinja2.Environment):
    code_generator_class = _PageCodeGenerator

    def getattr(self, obj: Any, attribute: str) -> Any:
        """As Jinja's, faster for a dict: the rows of a list page are dicts, and `message.subject`
        first raised an AttributeError, then looked the key up (0.9 µs against 0.08 µs, hundreds
        of times on an inbox page). Same result: a dict's own attributes still come first."""
        if type(obj) is dict and attribute not in _DICT_ATTRIBUTES:
            try:
                return obj[attribute]
            except KeyError:
                return self.undefined(obj=obj, name=attribute)
        return jinja2.Environment.getattr(self, obj, attribute)


def _environment() -> jinja2.Environment:
    env = _PageEnvironment(
        loader=jinja2.FileSystemLoader(TEMPLATES),
        autoescape=True,
        extensions=["jinja2.ext.i18n"],
        trim_blocks=True,
        lstrip_blocks=True,
    )
    env.install_gettext_callables(gettext=gettext, ngettext=ngettext, newstyle=True)  # type: ignore[attr-defined]
    # The same "newstyle" callables, without the extension's lookups of the context on each call
    # (a page calls them fifty times: a tenth of its CPU on the server).
    env.globals.update(_=translated, gettext=translated, ngettext=translated_plural)
    env.filters["markdown"] = markdown
    env.filters["accessibility_status"] = accessibility_status
    env.filters["phone_links"] = phone_links
    env.filters["the_name"] = the_name
    env.filters["of_name"] = of_name
    env.filters["logo_size"] = logo_size
    env.filters["local_date"] = lambda moment: clock.local(moment).strftime("%d/%m/%Y")  # an aware UTC datetime
    env.globals["LOCALES"] = LOCALES
    env.globals["csrf_token"] = page_csrf_token
    # Pages get the tenant's `text` from render(); anything rendered without one (a macro on its
    # own, a platform page) falls back to the catalog.
    env.globals["text"] = lambda message_id, default=None: tenant_text(None, message_id, default)
    env.globals["tenant_text"] = env.globals["text"]
    return env


templates = Jinja2Templates(env=_environment())


def render(request: Request, name: str, context: dict[str, Any] | None = None, status_code: int = 200) -> HTMLResponse:
    tenant: Tenant | None = request.scope.get("tenant")
    base = {
        "signed_in": request.scope.get("account") is not None,
        "account_kind": getattr(request.scope.get("account"), "kind", None),
        "tenant": tenant,
        "config": tenant.config if tenant else None,
        "locale": request.scope.get("locale", "fr"),
        "text": lambda message_id, default=None: tenant_text(tenant, message_id, default),
        # The same under a name no page's own macro takes (children_form.html has a `text` macro
        # that shadows the global in base.html's blocks).
        "tenant_text": lambda message_id, default=None: tenant_text(tenant, message_id, default),
    }
    # Rendered at once, inside this block: every form of the page gets this request's token.
    reset = _page_csrf_token.set(csrf_token(request) if "csrf_cookie" in request.scope else "")
    try:
        return templates.TemplateResponse(request, name, {**base, **(context or {})}, status_code=status_code)
    finally:
        _page_csrf_token.reset(reset)
