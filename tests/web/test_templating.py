"""The pages' Jinja environment: its two shortcuts (direct calls of the page's own functions,
dict rows read without an exception) render exactly what Jinja renders."""

import jinja2
import pytest
from jinja2.utils import _PassArg
from markupsafe import Markup

from assmat.core.i18n import current_locale
from assmat.web.templating import DIRECT_CALLS, MARKUP_CALLS, templates

PAGE = """\
{% macro text(label) %}[{{ label }}]{% endmacro %}
{% for row in rows %}{{ _('Dashboard') }}: {{ row.subject }}, {{ row.missing is defined }}, \
{{ row.items() | list | length }}, {{ row.get('subject') }}, {{ text(row.subject) }}, {{ _('%(name)s!', name=row.subject) }}
{% endfor %}{{ ngettext('%(num)d child', '%(num)d children', 2) }} {{ range(2) | list }} {{ plain.subject }}"""


@pytest.fixture
def french():
    token = current_locale.set("fr")
    yield
    current_locale.reset(token)


def render(environment: jinja2.Environment) -> str:
    class Plain:
        subject = "objet"

    rows = [{"subject": "<Météo>"}, {"subject": "Relais", "items": "a key named as a dict method"}]
    return environment.from_string(PAGE).render(rows=rows, plain=Plain())


def test_pages_render_what_jinja_renders(french):
    jinja = jinja2.Environment(autoescape=True, extensions=["jinja2.ext.i18n"], trim_blocks=True, lstrip_blocks=True)
    jinja.globals.update({name: templates.env.globals[name] for name in ("_", "gettext", "ngettext")})
    page = render(templates.env)
    assert page == render(jinja)
    assert "Tableau de bord: &lt;Météo&gt;, False, 1, &lt;Météo&gt;, [&lt;Météo&gt;], &lt;Météo&gt;!" in page
    assert ", 2, Relais, [Relais]" in page  # row.items is still the dict's method
    assert page.endswith("2 enfants [0, 1] objet")


def test_the_pages_own_functions_are_called_directly_and_others_through_jinja():
    source = templates.env.compile(PAGE, raw=True)
    for name in ("_", "ngettext", "text"):
        assert f"context.call((undefined(name='{name}')" not in source
    assert "context.call(environment.getattr(" in source  # row.items(), row.get(): Jinja's way
    assert "context.call((undefined(name='range')" in source


def test_the_directly_called_functions_take_no_jinja_context(french):
    # A function marked pass_context would get its arguments shifted if called directly.
    for name in DIRECT_CALLS:
        assert _PassArg.from_obj(templates.env.globals[name]) is None, name
    # Their output is written unescaped: it must be the page's own Markup.
    for name in MARKUP_CALLS:
        arguments = ("<b>", "<b>", 1) if name == "ngettext" else ("<b>",)
        assert type(templates.env.globals[name](*arguments)) is Markup, name


def test_only_the_environments_own_texts_skip_escaping(french):
    compiled = templates.env.compile("{{ _('Dashboard') }}{{ name }}", raw=True)
    assert "yield ((undefined(name='_')" in compiled and "yield escape((undefined(name='name')" in compiled
    raw = lambda text: text  # noqa: E731 (a template's own `_`, returning a plain string)
    for source in ("{% set _ = raw %}{{ _('<b>') }}", "{% for _ in [raw] %}{{ _('<b>') }}{% endfor %}",
                   "{% macro shown(_) %}{{ _('<b>') }}{% endmacro %}{{ shown(raw) }}"):
        assert templates.env.from_string(source).render(raw=raw) == "&lt;b&gt;", source
