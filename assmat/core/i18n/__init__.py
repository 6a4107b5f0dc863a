"""Translations. Message ids are English; `fr` is the default language, `en` is available.

The `.po` files are the only source: they are compiled in memory at start-up, so there is no
build step and no compiled file to forget. The language of the current request lives in a
contextvar that the web layer sets.
"""

from __future__ import annotations

import io
from contextvars import ContextVar
from functools import cache
from pathlib import Path

from babel.messages.mofile import write_mo
from babel.messages.pofile import read_po
from babel.support import NullTranslations, Translations

LOCALES = ("fr", "en")
DEFAULT_LOCALE = "fr"
LOCALE_DIR = Path(__file__).parent / "locale"

current_locale: ContextVar[str] = ContextVar("current_locale", default=DEFAULT_LOCALE)


@cache
def translations(locale: str) -> NullTranslations:
    po = LOCALE_DIR / locale / "LC_MESSAGES" / "messages.po"
    if not po.exists():
        if locale == "en":  # msgids are English
            return NullTranslations()
        raise FileNotFoundError(f"missing catalog for {locale}: {po}")
    with po.open("rb") as handle:
        catalog = read_po(handle, locale=locale)
    buffer = io.BytesIO()
    write_mo(buffer, catalog)
    buffer.seek(0)
    return Translations(buffer)


def gettext(message: str) -> str:
    return translations(current_locale.get()).gettext(message)


def ngettext(singular: str, plural: str, n: int) -> str:
    return translations(current_locale.get()).ngettext(singular, plural, n)


def N_(message: str) -> str:
    """Marks a text for extraction (`make messages`) without translating it now: it is
    translated where it is shown."""
    return message


_ = gettext
