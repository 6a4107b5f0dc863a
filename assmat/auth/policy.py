"""A tenant's password policy: the rules shown to the user, the check, temporary passwords.

Character classes follow Python's Unicode predicates on the NFC form, counted in code points:
uppercase `isupper`, lowercase `islower`, letter `isalpha`, digit `isdecimal` (Nd), whitespace
`isspace`; a special character is anything else. password.js mirrors these semantics for the
live checklist; this module stays the truth. History is checked by the account service, which
holds the hashes; it appears here only as a rule to display.
"""

from __future__ import annotations

import re
import secrets
import unicodedata
from collections.abc import Sequence
from dataclasses import dataclass
from typing import Any

from assmat.auth.blocklist import is_common
from assmat.core.i18n import gettext as _
from assmat.core.i18n import N_
from assmat.tenants.schema import PasswordPolicy

# Used when the policy accepts any special character: easy to type and to read in a letter.
SAFE_SPECIALS = "!#$%*+-=?@_"
# The Gers prints temporary passwords in a letter: no 0/O/o, 1/l/I, nor | that looks like them.
UNAMBIGUOUS_UPPER = "ABCDEFGHJKLMNPQRSTUVWXYZ"
UNAMBIGUOUS_LOWER = "abcdefghijkmnpqrstuvwxyz"
UNAMBIGUOUS_DIGITS = "23456789"
AMBIGUOUS_SPECIALS = "|`'\""
TEMPORARY_MIN_LENGTH = 12

# One code point decomposes canonically into at most 4 (e.g. U+1F82), so NFC shrinks a string by
# at most this factor: a longer raw input is over max_length without normalising it.
_MAX_NFC_SHRINK = 4
_SHORTEST_NAME_PART = 3
_MAX_LISTED_CHARACTERS = 10


@dataclass(frozen=True)
class Rule:
    code: str
    label: str


@dataclass(frozen=True)
class Violation:
    code: str
    message: str


# --- character classes ---------------------------------------------------------------------


def _is_special(char: str) -> bool:
    return not (char.isalpha() or char.isdecimal() or char.isspace())


def _counts(password: str) -> dict[str, int]:
    return {
        "uppercase": sum(c.isupper() for c in password),
        "lowercase": sum(c.islower() for c in password),
        "letters": sum(c.isalpha() for c in password),
        "digits": sum(c.isdecimal() for c in password),
    }


def _specials(password: str, policy: PasswordPolicy) -> int:
    allowed = policy.special_characters
    return sum(_is_special(c) and (allowed is None or c in allowed) for c in password)


def _refused_characters(password: str, policy: PasswordPolicy) -> list[str]:
    """Characters outside letters, digits, allowed specials (and spaces, judged by their own rule)."""
    allowed = policy.special_characters
    if allowed is None:
        return []
    refused: dict[str, None] = {}
    for char in password:
        if _is_special(char) and char not in allowed:
            refused.setdefault(char)
    return list(refused)


def _show(chars: Sequence[str]) -> str:
    """Offending characters, readable even when invisible or combining."""
    shown = [
        c if c.isprintable() and not unicodedata.combining(c) else f"U+{ord(c):04X}"
        for c in chars[:_MAX_LISTED_CHARACTERS]
    ]
    return " ".join(shown) + (" …" if len(chars) > _MAX_LISTED_CHARACTERS else "")


# --- labels and messages -------------------------------------------------------------------
# Singular and plural are separate msgids chosen with n == 1 rather than ngettext: the catalog
# tooling fills singular entries only, and only positive counts are ever shown. N_ marks them
# for extraction; they are translated when used.

_COUNTED_LABELS = {
    "min_length": (N_("At least 1 character"), N_("At least %(n)d characters")),
    "max_length": (N_("At most 1 character"), N_("At most %(n)d characters")),
    "uppercase": (N_("At least 1 uppercase letter"), N_("At least %(n)d uppercase letters")),
    "lowercase": (N_("At least 1 lowercase letter"), N_("At least %(n)d lowercase letters")),
    "letters": (N_("At least 1 letter"), N_("At least %(n)d letters")),
    "digits": (N_("At least 1 digit"), N_("At least %(n)d digits")),
    "special": (
        N_("At least 1 special character (neither a letter nor a digit)"),
        N_("At least %(n)d special characters (neither letters nor digits)"),
    ),
    "special_from": (
        N_("At least 1 special character from: %(chars)s"),
        N_("At least %(n)d special characters from: %(chars)s"),
    ),
    "history_months": (
        N_("Must not have been used in the last month"),
        N_("Must not have been used in the last %(n)d months"),
    ),
    "history_count": (N_("Must not be your previous password"), N_("Must not be one of your last %(n)d passwords")),
}

_COUNTED_MESSAGES = {
    "min_length": (
        N_("The password must contain at least 1 character."),
        N_("The password must contain at least %(n)d characters."),
    ),
    "max_length": (
        N_("The password must contain at most 1 character."),
        N_("The password must contain at most %(n)d characters."),
    ),
    "uppercase": (
        N_("The password must contain at least 1 uppercase letter."),
        N_("The password must contain at least %(n)d uppercase letters."),
    ),
    "lowercase": (
        N_("The password must contain at least 1 lowercase letter."),
        N_("The password must contain at least %(n)d lowercase letters."),
    ),
    "letters": (
        N_("The password must contain at least 1 letter."),
        N_("The password must contain at least %(n)d letters."),
    ),
    "digits": (
        N_("The password must contain at least 1 digit."),
        N_("The password must contain at least %(n)d digits."),
    ),
    "special": (
        N_("The password must contain at least 1 special character (neither a letter nor a digit)."),
        N_("The password must contain at least %(n)d special characters (neither letters nor digits)."),
    ),
    "special_from": (
        N_("The password must contain at least 1 special character from: %(chars)s"),
        N_("The password must contain at least %(n)d special characters from: %(chars)s"),
    ),
}


def _counted(table: dict[str, tuple[str, str]], key: str, n: int, **values: Any) -> str:
    one, many = table[key]
    if n == 1:
        return _(one) % values if values else _(one)
    return _(many) % {"n": n, **values}


def _special_text(table: dict[str, tuple[str, str]], policy: PasswordPolicy) -> str:
    if policy.special_characters is None:
        return _counted(table, "special", policy.min_special)
    return _counted(table, "special_from", policy.min_special, chars=policy.special_characters)


def _charset_label(policy: PasswordPolicy) -> str:
    if policy.special_characters == "":
        return _("No special characters: letters and digits only")
    if policy.min_special > 0:  # the special rule already lists them
        return _("No other special characters")
    return _("Only these special characters are accepted: %(chars)s") % {"chars": policy.special_characters}


def _history_label(policy: PasswordPolicy) -> str:
    history = policy.history
    assert history is not None
    if history.months is not None:
        return _counted(_COUNTED_LABELS, "history_months", history.months)
    assert history.count is not None
    return _counted(_COUNTED_LABELS, "history_count", history.count)


_CLASS_MINIMUMS = ("uppercase", "lowercase", "letters", "digits")


def _minimum(policy: PasswordPolicy, code: str) -> int:
    return int(getattr(policy, f"min_{code}"))


def policy_rules(policy: PasswordPolicy) -> list[Rule]:
    """The rules to show, in order, labelled in the current language."""
    rules = [
        Rule("min_length", _counted(_COUNTED_LABELS, "min_length", policy.min_length)),
        Rule("max_length", _counted(_COUNTED_LABELS, "max_length", policy.max_length)),
    ]
    for code in _CLASS_MINIMUMS:
        if _minimum(policy, code) > 0:
            rules.append(Rule(code, _counted(_COUNTED_LABELS, code, _minimum(policy, code))))
    if policy.min_special > 0:
        rules.append(Rule("special", _special_text(_COUNTED_LABELS, policy)))
    if policy.special_characters is not None:
        rules.append(Rule("charset", _charset_label(policy)))
    if not policy.allow_whitespace:
        rules.append(Rule("whitespace", _("No spaces")))
    if policy.forbid_identifier:
        rules.append(Rule("identifier", _("Must not contain your identifier or your name")))
    if policy.history is not None:
        rules.append(Rule("history", _history_label(policy)))
    if policy.blocklist:
        rules.append(Rule("blocklist", _("Must not be a common password")))
    return rules


# Rules the browser can evaluate; the others are reminders there (identifier, history, blocklist).
CLIENT_CHECKED = frozenset(
    {"min_length", "max_length", "uppercase", "lowercase", "letters", "digits", "special", "charset", "whitespace"}
)


def rules_as_json(policy: PasswordPolicy) -> list[dict[str, Any]]:
    """The checklist for password.js: every rule with the same keys.

    `client` says whether the browser evaluates it; `min` and `max` are counts; `chars` is the
    list of accepted specials (None: any character other than a letter, digit or space)."""
    params: dict[str, dict[str, Any]] = {
        "min_length": {"min": policy.min_length},
        "max_length": {"max": policy.max_length},
        **{code: {"min": _minimum(policy, code)} for code in _CLASS_MINIMUMS},
        "special": {"min": policy.min_special, "chars": policy.special_characters},
        "charset": {"chars": policy.special_characters},
    }
    return [
        {
            "code": rule.code,
            "label": rule.label,
            "client": rule.code in CLIENT_CHECKED,
            "min": params.get(rule.code, {}).get("min"),
            "max": params.get(rule.code, {}).get("max"),
            "chars": params.get(rule.code, {}).get("chars"),
        }
        for rule in policy_rules(policy)
    ]


# --- check ---------------------------------------------------------------------------------


def _fold(text: str) -> str:
    """Case- and accent-insensitive form for containment checks."""
    decomposed = unicodedata.normalize("NFKD", text)
    return "".join(c for c in decomposed if not unicodedata.combining(c)).casefold()


def _personal_words(identifier: str | None, names: Sequence[str]) -> list[str]:
    words: list[str] = []
    if identifier:
        folded = _fold(identifier.strip())
        words.append(folded)
        if "@" in folded:  # an email: its local part too, not the provider's domain
            words.append(folded.split("@", 1)[0])
    for name in names:
        if name:
            words.extend(re.split(r"[\W_]+", _fold(name)))
    return [w for w in words if len(w) >= _SHORTEST_NAME_PART]


def check_password(
    password: str,
    policy: PasswordPolicy,
    *,
    identifier: str | None = None,
    names: Sequence[str] = (),
) -> list[Violation]:
    """Every rule of `policy` that `password` breaks (history excepted), with its message."""
    too_long = [Violation("max_length", _counted(_COUNTED_MESSAGES, "max_length", policy.max_length))]
    # Oversized input costs one length comparison: nothing else is worth reporting.
    if len(password) > _MAX_NFC_SHRINK * policy.max_length:
        return too_long
    password = unicodedata.normalize("NFC", password)
    if len(password) > policy.max_length:
        return too_long

    violations: list[Violation] = []
    if len(password) < policy.min_length:
        violations.append(Violation("min_length", _counted(_COUNTED_MESSAGES, "min_length", policy.min_length)))
    counts = _counts(password)
    for code in _CLASS_MINIMUMS:
        if counts[code] < _minimum(policy, code):
            violations.append(Violation(code, _counted(_COUNTED_MESSAGES, code, _minimum(policy, code))))
    if _specials(password, policy) < policy.min_special:
        violations.append(Violation("special", _special_text(_COUNTED_MESSAGES, policy)))
    refused = _refused_characters(password, policy)
    if refused:
        message = _("The password contains characters that are not accepted: %(chars)s") % {"chars": _show(refused)}
        violations.append(Violation("charset", message))
    if not policy.allow_whitespace and any(c.isspace() for c in password):
        violations.append(Violation("whitespace", _("The password must not contain spaces.")))
    if policy.forbid_identifier:
        folded = _fold(password)
        if any(word in folded for word in _personal_words(identifier, names)):
            violations.append(
                Violation("identifier", _("The password must not contain your identifier or your name."))
            )
    if policy.blocklist and is_common(password):
        violations.append(Violation("blocklist", _("This password is too common, please choose another one.")))
    return violations


# --- temporary passwords -------------------------------------------------------------------


def _usable_specials(policy: PasswordPolicy) -> str:
    allowed = SAFE_SPECIALS if policy.special_characters is None else policy.special_characters
    # A combining mark would merge with its neighbour under NFC; skip look-alikes when possible.
    single = "".join(
        c
        for c in dict.fromkeys(allowed)
        if _is_special(c) and not unicodedata.combining(c) and unicodedata.normalize("NFC", c) == c
    )
    readable = "".join(c for c in single if c not in AMBIGUOUS_SPECIALS)
    return readable or single


_MAX_ATTEMPTS = 100


def generate_temporary_password(policy: PasswordPolicy) -> str:
    """A random password valid under `policy`, easy to copy from a printed letter."""
    specials = _usable_specials(policy)
    if policy.min_special and not specials:
        raise ValueError("the policy's special characters cannot be used in a temporary password")
    letters = UNAMBIGUOUS_UPPER + UNAMBIGUOUS_LOWER
    letter_minimum = max(policy.min_uppercase + policy.min_lowercase, policy.min_letters)
    required = letter_minimum + policy.min_digits + policy.min_special
    length = min(max(policy.min_length, TEMPORARY_MIN_LENGTH, required), policy.max_length)
    shuffler = secrets.SystemRandom()
    for _attempt in range(_MAX_ATTEMPTS):
        chars = [secrets.choice(UNAMBIGUOUS_UPPER) for _i in range(policy.min_uppercase)]
        chars += [secrets.choice(UNAMBIGUOUS_LOWER) for _i in range(policy.min_lowercase)]
        chars += [secrets.choice(letters) for _i in range(policy.min_letters - len(chars))]
        chars += [secrets.choice(UNAMBIGUOUS_DIGITS) for _i in range(policy.min_digits)]
        chars += [secrets.choice(specials) for _i in range(policy.min_special)]
        # Fill with letters and digits only: specials are the hardest to read and type.
        chars += [secrets.choice(letters + UNAMBIGUOUS_DIGITS) for _i in range(length - len(chars))]
        shuffler.shuffle(chars)
        candidate = "".join(chars)
        if not check_password(candidate, policy):
            return candidate
    raise RuntimeError("could not generate a temporary password for this policy")
