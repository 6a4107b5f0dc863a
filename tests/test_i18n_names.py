"""Tenant names inside French sentences take their article: « Le Conseil départemental du Gers
s'engage… », « la console du Département du Gers »; English keeps the bare name."""

import pytest

from assmat.core.i18n import current_locale
from assmat.core.i18n.names import of_name, the_name


@pytest.fixture
def french():
    token = current_locale.set("fr")
    yield
    current_locale.reset(token)


@pytest.mark.parametrize(("name", "the", "of"), [
    ("Département du Gers", "le Département du Gers", "du Département du Gers"),
    ("Conseil départemental du Gers", "le Conseil départemental du Gers", "du Conseil départemental du Gers"),
    ("Ville de Cestas", "la Ville de Cestas", "de la Ville de Cestas"),
    ("Caisse nationale des allocations familiales (Cnaf)", "la Caisse nationale des allocations familiales (Cnaf)",
     "de la Caisse nationale des allocations familiales (Cnaf)"),
    ("Eurométropole de Strasbourg", "l'Eurométropole de Strasbourg", "de l'Eurométropole de Strasbourg"),
    ("Hôtel de ville", "l'Hôtel de ville", "de l'Hôtel de ville"),
    ("Le Département de la Drôme", "le Département de la Drôme", "du Département de la Drôme"),
    ("La Métropole de Lyon", "la Métropole de Lyon", "de la Métropole de Lyon"),
    ("plateforme assmat", "la plateforme assmat", "de la plateforme assmat"),
    ("Ville d'Auch", "la Ville d'Auch", "de la Ville d'Auch"),
    ("Agglomération du Grand Auch", "l'Agglomération du Grand Auch", "de l'Agglomération du Grand Auch"),
    ("Le Haillan", "le Haillan", "du Haillan"),
    ("Les Mureaux", "les Mureaux", "des Mureaux"),
])
def test_french_articles(french, name, the, of):
    assert the_name(name) == the
    assert of_name(name) == of
    assert the_name(name, capital=True) == the[0].upper() + the[1:]


def test_other_languages_keep_the_bare_name():
    token = current_locale.set("en")
    try:
        assert the_name("Département du Gers", capital=True) == "Département du Gers"
        assert of_name("Ville de Cestas") == "Ville de Cestas"
    finally:
        current_locale.reset(token)
