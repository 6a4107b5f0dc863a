"""Phone numbers in a tenant's free-text contact line, made into `tel:` links.

The YAML's `contact.phone` is written for people (« 07 77 82 20 37 ou 05 56 78 13 00 (postes 128
et 151) »): only the real numbers in it become links, each its own, in E.164 (`tel:+33…`); the
words around them stay plain text."""

from __future__ import annotations

import re

from markupsafe import Markup, escape

# A French number: 0 or +33, then nine digits (the first not 0) grouped as people write them
# (« 05 56 78 13 00 », « 0 800 130 000 », « 05.56.78.13.00 »). Not glued to other digits, so an
# extension (« poste 128 ») or a longer number never becomes a link.
_FRENCH_NUMBER = re.compile(r"(?<![\d+])(?:\+33[\s.-]?(?:\(0\)[\s.-]?)?|0[\s.-]?)([1-9](?:[\s.-]?\d){8})(?![\d])")


def phone_numbers(text: str) -> list[tuple[str, str]]:
    """(as written, E.164) for each French number in `text`, in order."""
    return [(m.group(0), "+33" + re.sub(r"\D", "", m.group(1))) for m in _FRENCH_NUMBER.finditer(text)]


def phone_links(text: str) -> Markup:
    """`text` escaped, with each number wrapped in its own `tel:` link."""
    parts: list[str] = []
    position = 0
    for match in _FRENCH_NUMBER.finditer(text):
        parts.append(escape(text[position : match.start()]))
        e164 = "+33" + re.sub(r"\D", "", match.group(1))
        parts.append(Markup('<a href="tel:{}">{}</a>').format(e164, match.group(0)))
        position = match.end()
    parts.append(escape(text[position:]))
    return Markup("").join(parts)
