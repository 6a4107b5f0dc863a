"""The printed letter: the tenant's words, its civility, its date in French."""

from __future__ import annotations

from datetime import date
from types import SimpleNamespace

import pytest

from assmat.admin.letters import french_date, printed_letter
from assmat.tenants.loader import load_tenants
from tests.support.tenants import write_tenant


def test_a_french_letter_is_dated_the_french_way():
    assert french_date(date(2026, 12, 1)) == "1er décembre 2026"
    assert french_date(date(2025, 10, 9)) == "9 octobre 2025"
    assert french_date(date(2026, 8, 31)) == "31 août 2026"


def _account(civility):
    return SimpleNamespace(civility=civility, first_name="Anne", last_name="Martin", address="1 rue des Écoles",
                           postal_code="32000", city="Auch", identifier="AGR-1")


def test_without_a_letter_section_the_letter_uses_the_branding_and_the_default_words(tmp_path):
    write_tenant(tmp_path, "neuf")
    tenant = load_tenants(tmp_path)[0]["neuf"]
    letter = printed_letter(tenant, _account(None), "Secret42", date(2026, 12, 1))
    assert letter.dated == "Le 1er décembre 2026" and letter.salutation == "Madame, Monsieur,"
    assert letter.letterhead[0] == tenant.config.branding.legal.publisher
    assert letter.signature == [tenant.config.branding.legal.publication_director]
    assert letter.after[-1] == "Je vous prie de croire, Madame, Monsieur, à l'assurance de mes meilleurs sentiments."
    assert "{" not in " ".join(letter.before + letter.after)
    assert letter.recipient == ["Anne Martin", "1 rue des Écoles", "32000 Auch"]


def test_the_tenants_letter_section_gives_its_words(tmp_path):
    write_tenant(tmp_path, "neuf", {"letter": {
        "place": "Chartres", "subject": "votre espace", "before_credentials": ["Bonjour {civilite}."],
        "signature": ["La présidente"], "mention": "Recommandé"}})
    tenant = load_tenants(tmp_path)[0]["neuf"]
    letter = printed_letter(tenant, _account("Monsieur"), "Secret42", date(2026, 3, 2))
    assert letter.dated == "Chartres, le 2 mars 2026" and letter.subject == "votre espace"
    assert letter.before == ["Bonjour Monsieur."] and letter.salutation == "Monsieur,"
    assert letter.signature == ["La présidente"] and letter.mention == "Recommandé"


@pytest.mark.parametrize("paragraphs", [["Bonjour {nom}."], ["Bonjour {civilite."], ["  "]])
def test_a_letter_paragraph_with_an_unknown_placeholder_is_refused(tmp_path, paragraphs):
    write_tenant(tmp_path, "neuf", {"letter": {"after_credentials": paragraphs}})
    loaded, errors = load_tenants(tmp_path)
    assert "neuf" not in loaded
    assert len(errors) == 1 and "letter.after_credentials" in str(errors[0])
