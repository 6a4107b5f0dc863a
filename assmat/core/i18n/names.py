"""A tenant's name inside a French sentence: « le Département du Gers », « du Département du
Gers », « de la Ville de Cestas ». The YAML writes names bare (« Département du Gers »), and
French needs the article, contracted after « de ». In other languages the name stays bare (the
English message carries its own words around it)."""

from __future__ import annotations

import unicodedata

from assmat.core.i18n import current_locale

# First words of the names tenants use, by gender. Unknown words read as masculine.
_FEMININE = {
    "agglomération", "caisse", "collectivité", "commune", "communauté", "direction", "maison",
    "fédération", "mairie", "métropole", "mutualité", "plateforme", "préfecture", "région", "ville",
}
_ARTICLES = {"le": "m", "la": "f", "les": "p", "l'": "v", "l’": "v"}


def _starts_with_vowel(word: str) -> bool:
    bare = unicodedata.normalize("NFKD", word)[:1].lower()
    return bare in "aeiouyh"


def _split(name: str) -> tuple[str, str]:
    """(article kind or "", name without its article)."""
    lower = name.lower()
    for article, kind in _ARTICLES.items():
        if lower.startswith(article) and (article.endswith(("'", "’")) or lower[len(article) : len(article) + 1] == " "):
            return kind, name[len(article) :].lstrip()
    first = name.split(" ", 1)[0]
    if _starts_with_vowel(first):
        return "v", name
    return ("f" if first.lower() in _FEMININE else "m"), name


def the_name(name: str, capital: bool = False) -> str:
    """« le Département du Gers », « la Ville de Cestas », « l'Agglomération… » (French only)."""
    if current_locale.get() != "fr":
        return name
    kind, bare = _split(name)
    article = {"m": "le ", "f": "la ", "p": "les ", "v": "l'"}[kind]
    result = article + bare
    return result[0].upper() + result[1:] if capital else result


def of_name(name: str) -> str:
    """« du Département du Gers », « de la Ville de Cestas », « de l'Agglomération… » (French only)."""
    if current_locale.get() != "fr":
        return name
    kind, bare = _split(name)
    return {"m": "du ", "f": "de la ", "p": "des ", "v": "de l'"}[kind] + bare
