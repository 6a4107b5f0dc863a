"""SQLAdmin in French. SQLAdmin ships no French catalog: ours (locale/fr/LC_MESSAGES/admin.po,
made from SQLAdmin's admin.pot) is compiled in memory at start-up, like assmat.core.i18n does, and
registered with SQLAdmin.

The console speaks French whatever the browser asks: no Accept-Language negotiation and no
language cookie (SQLAdmin's would be a script-readable cookie kept a year). SQLAdmin's `?lang=`
parameter still switches the one page it is on to another catalog it ships."""

from __future__ import annotations

import io
from functools import cache
from pathlib import Path

from babel.messages.mofile import write_mo
from babel.messages.pofile import read_po
from babel.support import Translations
from sqladmin import i18n
from sqladmin.i18n import I18nConfig

CATALOG = Path(__file__).parent / "locale" / "fr" / "LC_MESSAGES" / "admin.po"


@cache
def french_catalog() -> Translations:
    with CATALOG.open("rb") as handle:
        catalog = read_po(handle, locale="fr")
    buffer = io.BytesIO()
    write_mo(buffer, catalog)
    buffer.seek(0)
    return Translations(buffer, domain="admin")


def french_console() -> I18nConfig:
    """Register the French catalog with SQLAdmin; the configuration to give its Admin."""
    i18n.translations["fr"] = french_catalog()
    if "fr" not in i18n.SUPPORTED_LOCALES:
        i18n.SUPPORTED_LOCALES.append("fr")
    return I18nConfig(default_locale="fr", language_cookie_name=None, language_header_name=None)
