"""French is the default language and really renders; every text has its translation."""

import subprocess

from babel.messages.pofile import read_po

from assmat.core.i18n import LOCALE_DIR, current_locale, gettext, translations
from assmat.tenants.messages import MESSAGES
from tests.conftest import REPO


def french_catalog():
    with (LOCALE_DIR / "fr" / "LC_MESSAGES" / "messages.po").open("rb") as handle:
        return read_po(handle, locale="fr")


def test_french_catalog_loads_and_translates():
    token = current_locale.set("fr")
    try:
        assert gettext("Legal notice") == "Mentions légales"
        assert gettext(MESSAGES["login.failed"]) == "Echec de l'authentification."
    finally:
        current_locale.reset(token)
    assert translations("en").gettext("Legal notice") == "Legal notice"


def test_every_extracted_text_has_a_french_translation(tmp_path):
    pot = tmp_path / "messages.pot"
    subprocess.run(
        [str(REPO / ".venv/bin/pybabel"), "extract", "-F", "babel.cfg", "--no-location", "-o", str(pot), "."],
        cwd=REPO, check=True, capture_output=True,
    )
    with pot.open("rb") as handle:
        extracted = {m.id for m in read_po(handle) if m.id}
    catalog = french_catalog()
    translated = {m.id for m in catalog if m.id and m.string and not m.fuzzy}
    missing = sorted(str(i) for i in extracted - translated)
    assert not missing, f"untranslated (run `make messages` and translate): {missing}"
    assert len(extracted) > 40
    # `make messages` keeps only what it extracts: a text translated at run time (a label in a
    # table of the code) must be marked with N_, or its translation is dropped as obsolete.
    unmarked = sorted(str(i) for i in translated - extracted)
    assert not unmarked, f"in the catalog, never extracted (mark it with N_, or remove it): {unmarked}"


def test_seed_wording_is_kept_verbatim_in_french():
    french = translations("fr")
    assert french.gettext(MESSAGES["reset.unknown_identifier"]) == (
        "L'identifiant indiqué ne correspond à aucun compte, merci de contacter votre service PMI"
    )
    assert french.gettext(MESSAGES["login.first_login"]) == (
        "Il s'agit de votre première connexion. Vous devez changer votre mot de passe."
    )


def test_page_texts_follow_the_requests_language_and_escape_their_values():
    from assmat.web.templating import translated

    for locale, dashboard in (("fr", "Tableau de bord"), ("en", "Dashboard"), ("fr", "Tableau de bord")):
        token = current_locale.set(locale)
        try:
            assert translated("Dashboard") == dashboard  # made once per language, then reused
            assert translated("Dashboard") is translated("Dashboard")
            assert translated("100%% of %(name)s", name="<b>") == "100% of &lt;b&gt;"
            assert translated("100%% sure") == "100% sure"  # a text without values is formatted too
        finally:
            current_locale.reset(token)
