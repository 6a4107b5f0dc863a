"""The password policy: rules shown, the check, the blocklist, temporary passwords, the field."""

from __future__ import annotations

import random
import re
from collections.abc import Iterator
from pathlib import Path

import pytest

from assmat.auth.blocklist import common_passwords, is_common
from assmat.auth.policy import (
    SAFE_SPECIALS,
    UNAMBIGUOUS_DIGITS,
    UNAMBIGUOUS_LOWER,
    UNAMBIGUOUS_UPPER,
    Rule,
    Violation,
    check_password,
    generate_temporary_password,
    policy_rules,
    rules_as_json,
)
from assmat.core.i18n import current_locale
from assmat.tenants.loader import load_valid_tenants
from assmat.tenants.schema import History, PasswordPolicy
from assmat.web.templating import templates
from tests.conftest import TENANT_CONFIGS

# Everything off: each test turns on the one rule it is about.
BARE = dict(min_length=1, max_length=64, forbid_identifier=False, blocklist=False, allow_whitespace=True)


def bare(**overrides: object) -> PasswordPolicy:
    return PasswordPolicy(**{**BARE, **overrides})


@pytest.fixture(autouse=True)
def french() -> Iterator[None]:
    token = current_locale.set("fr")
    yield
    current_locale.reset(token)


@pytest.fixture(scope="module")
def tenant_policies() -> dict[str, PasswordPolicy]:
    tenants = load_valid_tenants(Path(TENANT_CONFIGS))
    return {slug: tenant.config.password_policy for slug, tenant in tenants.items()}


def codes(violations: list[Violation]) -> list[str]:
    return [v.code for v in violations]


# --- each rule alone -----------------------------------------------------------------------

ALONE = [
    # code, policy, breaking password, message, a password the same policy accepts
    ("min_length", dict(min_length=8), "abc1234", "Le mot de passe doit contenir au moins 8 caractères.", "abc12345"),
    ("max_length", dict(max_length=10), "abcdefghijk", "Le mot de passe doit contenir au maximum 10 caractères.",
     "abcdefghij"),
    ("uppercase", dict(min_uppercase=1), "abc", "Le mot de passe doit contenir au moins 1 majuscule.", "aBc"),
    ("uppercase", dict(min_uppercase=2), "Abc", "Le mot de passe doit contenir au moins 2 majuscules.", "ABc"),
    ("lowercase", dict(min_lowercase=1), "ABC", "Le mot de passe doit contenir au moins 1 minuscule.", "AbC"),
    ("letters", dict(min_letters=3), "ab12", "Le mot de passe doit contenir au moins 3 lettres.", "abé2"),
    ("digits", dict(min_digits=1), "abc", "Le mot de passe doit contenir au moins 1 chiffre.", "ab3"),
    ("special", dict(min_special=1), "abc1",
     "Le mot de passe doit contenir au moins 1 caractère spécial (ni lettre ni chiffre).", "abc1€"),
    ("special", dict(min_special=1, special_characters="!?"), "abc1",
     "Le mot de passe doit contenir au moins 1 caractère spécial dans la liste suivante : !?", "abc1?"),
    ("charset", dict(special_characters="!?"), "abc~1",
     "Le mot de passe contient des caractères non acceptés : ~", "abc!1"),
    ("charset", dict(special_characters=""), "abc-1", "Le mot de passe contient des caractères non acceptés : -",
     "abc1"),
    ("whitespace", dict(allow_whitespace=False), "abc def", "Le mot de passe ne doit pas contenir d'espace.",
     "abc-def"),
    ("identifier", dict(forbid_identifier=True), "xx032AGR19yy",
     "Le mot de passe ne doit contenir ni votre identifiant ni votre nom.", "xx032AGR1yy"),
    ("blocklist", dict(blocklist=True), "Soleil", "Ce mot de passe est trop courant, veuillez en choisir un autre.",
     "Soleil-d-hiver"),
]


@pytest.mark.parametrize(("code", "overrides", "password", "message", "good"), ALONE)
def test_each_rule_broken_alone_gives_exactly_its_violation(code, overrides, password, message, good):
    policy = bare(**overrides)
    assert check_password(password, policy, identifier="032agr19") == [Violation(code, message)]
    assert check_password(good, policy, identifier="032agr19") == []
    assert code in [rule.code for rule in policy_rules(policy)]


def test_every_broken_rule_is_reported_at_once():
    policy = PasswordPolicy(min_length=8, max_length=30, min_uppercase=1, min_digits=1, min_special=1,
                            special_characters="!?", allow_whitespace=False)
    assert codes(check_password("é~ a", policy)) == ["min_length", "uppercase", "digits", "special", "charset",
                                                      "whitespace"]


def test_length_counts_code_points_after_nfc():
    policy = bare(min_length=4, max_length=4)
    decomposed = "e\u0301" * 4  # "éééé" written with combining accents: 8 code points, 4 after NFC
    assert check_password(decomposed, policy) == []
    assert codes(check_password("🙂🙂🙂", policy)) == ["min_length"]


def test_unicode_letters_and_digits_count_in_their_classes():
    policy = bare(min_uppercase=1, min_lowercase=1, min_digits=1, special_characters="")
    assert check_password("Éé٣", policy) == []  # Arabic-Indic three is a decimal digit


def test_refused_characters_are_named_once_each():
    policy = bare(special_characters="!")
    [violation] = check_password("a~b~c^\u200b", policy)
    assert violation.code == "charset"
    assert violation.message.endswith(": ~ ^ U+200B")


def test_whitespace_allowed_is_not_a_charset_violation():
    assert check_password("correct horse", bare(special_characters="", allow_whitespace=True)) == []


# --- the five tenants ----------------------------------------------------------------------


def test_every_tenant_accepts_a_good_password(tenant_policies):
    assert set(tenant_policies) == {"alpes-maritimes", "cestas", "eure-et-loir", "gers", "mon-enfant"}
    good = {"mon-enfant": "Brume7Vanneau42"}
    for slug, policy in tenant_policies.items():
        password = good.get(slug, "Brume-Vanneau42")
        assert check_password(password, policy, identifier="032-2019-0042", names=["Hélène", "Dupont"]) == [], slug


def test_gers_refuses_a_special_outside_its_list(tenant_policies):
    gers = tenant_policies["gers"]
    assert check_password("Vanneau4!", gers) == []
    assert codes(check_password("Vanneau4~", gers)) == ["special", "charset"]
    assert codes(check_password("vanneau4!", gers)) == ["uppercase"]
    assert codes(check_password("Vanneau!", gers)) == ["digits"]
    assert codes(check_password("Van4!", gers)) == ["min_length"]


def test_mon_enfant_refuses_any_special(tenant_policies):
    policy = tenant_policies["mon-enfant"]
    assert check_password("vanneau42", policy) == []
    assert codes(check_password("vanneau42!", policy)) == ["charset"]
    assert codes(check_password("vanneau-42", policy)) == ["charset"]
    assert codes(check_password("12345678", policy)) == ["letters", "blocklist"]


def test_cestas_refuses_31_characters_and_spaces(tenant_policies):
    cestas = tenant_policies["cestas"]
    assert check_password("Vanneau4" + "x" * 22, cestas) == []
    assert codes(check_password("Vanneau4" + "x" * 23, cestas)) == ["max_length"]
    assert codes(check_password("Vanneau 42", cestas)) == ["whitespace"]
    assert check_password("Vanneau#42", cestas) == []  # "symboles autorisés"


def test_gers_rules_use_the_seed_wording(tenant_policies):
    labels = [rule.label for rule in policy_rules(tenant_policies["gers"])]
    assert labels[:5] == [
        "8 caractères minimum",
        "Au maximum 128 caractères",
        "1 majuscule minimum",
        "1 minuscule minimum",
        "1 chiffre minimum",
    ]
    assert "1 caractère spécial minimum dans la liste suivante : !@#$%^&*(){}<>?/|+=-_" in labels
    assert "Le mot de passe ne doit pas avoir été utilisé lors des 6 derniers mois" in labels


def test_cestas_shows_its_maximum(tenant_policies):
    assert Rule("max_length", "Au maximum 30 caractères") in policy_rules(tenant_policies["cestas"])


def test_rule_codes_in_order(tenant_policies):
    assert [r.code for r in policy_rules(tenant_policies["gers"])] == [
        "min_length", "max_length", "uppercase", "lowercase", "digits", "special", "charset", "whitespace",
        "identifier", "history", "blocklist",
    ]
    assert [r.code for r in policy_rules(tenant_policies["mon-enfant"])] == [
        "min_length", "max_length", "letters", "digits", "charset", "whitespace", "identifier", "blocklist",
    ]


def test_history_is_shown_in_months_or_count():
    months = policy_rules(PasswordPolicy(history=History(months=1)))
    count = policy_rules(PasswordPolicy(history=History(count=5)))
    assert Rule("history", "Le mot de passe ne doit pas avoir été utilisé lors du dernier mois") in months
    assert Rule("history", "Le mot de passe ne doit pas être l'un de vos 5 derniers mots de passe") in count


def test_labels_follow_the_language():
    token = current_locale.set("en")
    try:
        assert policy_rules(bare(min_uppercase=2))[2] == Rule("uppercase", "At least 2 uppercase letters")
        assert check_password("abc", bare(min_digits=1))[0].message == "The password must contain at least 1 digit."
    finally:
        current_locale.reset(token)


# --- identifier and names ------------------------------------------------------------------


@pytest.mark.parametrize(
    "password",
    ["xx032-2019-0042", "032-2019-0042", "Hélène2024!", "HELENE2024!", "helene2024", "dUpOnT!!77", "Dupônt99"],
)
def test_identifier_and_names_are_refused_whatever_the_case_and_accents(password):
    policy = bare(forbid_identifier=True)
    violations = check_password(password, policy, identifier="032-2019-0042", names=["Hélène", "Dupont"])
    assert codes(violations) == ["identifier"]


def test_compound_names_are_split_and_short_parts_ignored():
    policy = bare(forbid_identifier=True)
    names = ["Marie-Jo D'Artagnan", "Li"]
    assert codes(check_password("zzarTAGNANzz", policy, names=names)) == ["identifier"]
    assert codes(check_password("zzmariezz", policy, names=names)) == ["identifier"]
    assert check_password("Dodo-Jo-Lion", policy, names=names) == []  # "Jo", "D", "Li": too short to refuse


def test_email_identifier_refuses_its_local_part_not_the_provider():
    policy = bare(forbid_identifier=True)
    identifier = "helene.dupont@gmail.com"
    assert codes(check_password("x-helene.dupont-x", policy, identifier=identifier)) == ["identifier"]
    assert check_password("GmailCom2024", policy, identifier=identifier) == []


def test_identifier_is_ignored_when_the_policy_allows_it():
    assert check_password("Dupont2024", bare(forbid_identifier=False), names=["Dupont"]) == []


# --- blocklist -----------------------------------------------------------------------------


def test_blocklist_holds_zxcvbn_top_passwords_and_the_french_supplement():
    from zxcvbn.frequency_lists import FREQUENCY_LISTS

    listed = common_passwords()
    assert set(FREQUENCY_LISTS["passwords"][:10_000]) <= listed
    assert len(listed) >= 30_000
    assert all(entry == entry.lower() for entry in listed)


@pytest.mark.parametrize(
    "password",
    # From zxcvbn's list...
    ["password", "123456789", "azerty123", "soleil", "Marseille", "motdepasse", "bonjour", "AZERTYUIOP", "jetaime",
     # ...and from the French supplement.
     "doudou", "Loulou", "chouchou", "coucou123", "nicolas"],
)
def test_common_passwords_are_refused_in_any_case(password):
    assert is_common(password)
    assert codes(check_password(password, bare(blocklist=True))) == ["blocklist"]


def test_an_uncommon_password_passes_the_blocklist():
    assert not is_common("Vanneau-Brume-42")
    assert check_password("Vanneau-Brume-42", bare(blocklist=True)) == []


# --- oversized input -----------------------------------------------------------------------


def test_a_megabyte_password_is_refused_with_only_the_length_violation(tenant_policies):
    huge = "Aa1!" * 262_144
    for policy in [*tenant_policies.values(), bare(max_length=1024)]:
        [violation] = check_password(huge, policy, identifier="032-2019-0042", names=["Dupont"])
        assert violation.code == "max_length"
    # Just over the raw bound and just under it, with combining accents that NFC folds away.
    policy = bare(max_length=10)
    assert check_password("e\u0301" * 10, policy) == []
    assert codes(check_password("e\u0301" * 11, policy)) == ["max_length"]


# --- temporary passwords -------------------------------------------------------------------

LOOK_ALIKES = set("0Oo1lI")
AMBIGUOUS_SPECIALS = set("|`'\"")


def expected_length(policy: PasswordPolicy) -> int:
    letters = max(policy.min_uppercase + policy.min_lowercase, policy.min_letters)
    required = letters + policy.min_digits + policy.min_special
    return min(max(policy.min_length, 12, required), policy.max_length)


def assert_good_temporary(password: str, policy: PasswordPolicy) -> None:
    assert check_password(password, policy) == [], (password, policy)
    assert len(password) == expected_length(policy)
    assert not LOOK_ALIKES & set(password)
    assert not any(c.isspace() for c in password)
    specials = set(password) - set(UNAMBIGUOUS_UPPER + UNAMBIGUOUS_LOWER + UNAMBIGUOUS_DIGITS)
    allowed = set(SAFE_SPECIALS if policy.special_characters is None else policy.special_characters)
    assert specials <= allowed
    if allowed - AMBIGUOUS_SPECIALS:  # | and quotes only when the policy offers nothing else
        assert not specials & AMBIGUOUS_SPECIALS
    assert not is_common(password)


def test_temporary_passwords_are_valid_for_every_tenant(tenant_policies):
    for policy in tenant_policies.values():
        passwords = {generate_temporary_password(policy) for _ in range(50)}
        assert len(passwords) == 50  # random, not repeated
        for password in passwords:
            assert_good_temporary(password, policy)


def test_temporary_passwords_use_only_the_gers_specials(tenant_policies):
    gers = tenant_policies["gers"]
    for _ in range(50):
        password = generate_temporary_password(gers)
        assert any(c in "!@#$%^&*(){}<>?/+=-_" for c in password)
        assert "|" not in password  # allowed, but looks like l and I in a letter


def test_no_specials_when_the_policy_has_none(tenant_policies):
    for _ in range(50):
        assert generate_temporary_password(tenant_policies["mon-enfant"]).isalnum()


def random_policy(rng: random.Random) -> PasswordPolicy:
    max_length = rng.choice([rng.randint(1, 16), rng.randint(16, 64), rng.randint(64, 1024)])
    min_length = rng.randint(1, max_length)
    special_characters = rng.choice([None, "", "".join(rng.sample("!@#$%^&*(){}<>?/|+=-_~.,;:'\"[]`", rng.randint(1, 8)))])
    minimums = {}
    budget = max_length
    for key in ("min_uppercase", "min_lowercase", "min_letters", "min_digits", "min_special"):
        if key == "min_special" and special_characters == "":
            continue
        value = rng.choice([0, 0, 1, 2, rng.randint(0, 5)])
        value = min(value, budget)
        minimums[key] = value
        if key != "min_letters":
            budget -= value
    # min_letters counts within max(upper + lower, letters): keep the sum within max_length.
    letters_room = max_length - minimums.get("min_digits", 0) - minimums.get("min_special", 0)
    minimums["min_letters"] = min(minimums["min_letters"], letters_room)
    history = rng.choice([None, History(months=6), History(count=5)])
    return PasswordPolicy(
        min_length=min_length,
        max_length=max_length,
        special_characters=special_characters,
        allow_whitespace=rng.random() < 0.3,
        forbid_identifier=rng.random() < 0.5,
        blocklist=rng.random() < 0.8,
        history=history,
        **minimums,
    )


@pytest.mark.parametrize("seed", range(200))
def test_temporary_passwords_are_valid_for_random_policies(seed):
    policy = random_policy(random.Random(seed))
    for _ in range(5):
        assert_good_temporary(generate_temporary_password(policy), policy)


# --- client checklist and field ------------------------------------------------------------


def test_rules_as_json_gives_the_checklist_its_parameters(tenant_policies):
    rules = rules_as_json(tenant_policies["gers"])
    assert all(set(rule) == {"code", "label", "client", "min", "max", "chars"} for rule in rules)
    by_code = {rule["code"]: rule for rule in rules}
    assert by_code["min_length"] == {"code": "min_length", "label": "8 caractères minimum", "client": True,
                                     "min": 8, "max": None, "chars": None}
    assert by_code["max_length"]["max"] == 128
    assert by_code["special"]["min"] == 1 and by_code["special"]["chars"] == "!@#$%^&*(){}<>?/|+=-_"
    assert by_code["charset"]["chars"] == "!@#$%^&*(){}<>?/|+=-_"
    assert [r["code"] for r in rules if not r["client"]] == ["identifier", "history", "blocklist"]
    assert [r["code"] for r in rules] == [r.code for r in policy_rules(tenant_policies["gers"])]
    assert rules_as_json(bare(min_special=2))[-1] == {
        "code": "special", "label": "2 caractères spéciaux minimum (ni lettres ni chiffres)", "client": True,
        "min": 2, "max": None, "chars": None,
    }


def render(source: str, **context: object) -> str:
    template = templates.env.from_string(
        '{% from "_password_field.html" import password_field, confirmation_field %}' + source
    )
    return template.render(**context)


def test_password_field_ties_rules_error_and_toggle_to_the_input(tenant_policies):
    html = render(
        '{{ password_field("new_password", "Nouveau mot de passe", rules, error="Trop court.") }}',
        rules=rules_as_json(tenant_policies["gers"]),
    )
    assert '<label for="new_password">Nouveau mot de passe</label>' in html
    input_tag = re.search(r"<input[^>]*>", html).group(0)
    assert 'type="password"' in input_tag and 'name="new_password"' in input_tag and "required" in input_tag
    assert 'autocomplete="new-password"' in input_tag
    assert 'aria-describedby="new_password-rules new_password-error"' in input_tag
    assert 'aria-invalid="true"' in input_tag
    toggle = re.search(r'<button[^>]*class="password-toggle"[^>]*>([^<]*)</button>', html)
    assert toggle is not None and toggle.group(1) == "Afficher le mot de passe"
    for attribute in ('type="button"', 'aria-controls="new_password"', 'aria-pressed="false"', " hidden",
                      'data-label-show="Afficher le mot de passe"', 'data-label-hide="Masquer le mot de passe"'):
        assert attribute in toggle.group(0)
    assert re.search(r'<ul class="password-rules" id="new_password-rules" data-for="new_password"', html)
    assert html.count("<li data-rule=") == len(rules_as_json(tenant_policies["gers"]))
    assert '<li data-rule="min_length" data-client="true" data-min="8">8 caractères minimum<span' in html
    assert 'data-chars="!@#$%^&amp;*(){}&lt;&gt;?/|+=-_"' in html
    assert '<li data-rule="history" data-client="false">' in html
    assert 'data-label-ok="satisfait" data-label-ko="non satisfait"' in html
    assert 'data-summary-template="{ok} règles sur {total} respectées"' in html
    assert re.search(r'<p class="visually-hidden password-rules-summary" id="new_password-rules-summary" '
                     r'aria-live="polite"></p>', html)
    assert '<p class="error-text" id="new_password-error">Trop court.</p>' in html
    # The page CSP allows no inline script or style.
    assert "<script" not in html and "style=" not in html and "onclick" not in html


def test_password_field_without_rules_or_error():
    html = render('{{ password_field("password", "Mot de passe", [], autocomplete="current-password", '
                  'describedby="login-hint", show_rules=False) }}')
    assert 'autocomplete="current-password"' in html
    assert 'aria-describedby="login-hint"' in html
    assert "password-rules" not in html and "error-text" not in html and "aria-invalid" not in html


def test_confirmation_field():
    html = render('{{ confirmation_field(error="Les mots de passe ne correspondent pas.") }}')
    assert '<label for="confirmation">Confirmez le nouveau mot de passe</label>' in html
    assert 'aria-describedby="confirmation-error" aria-invalid="true"' in html
    assert 'aria-controls="confirmation"' in html
    assert '<p class="error-text" id="confirmation-error">' in html


def test_script_and_styles_ship_with_the_package():
    static = Path(__file__).resolve().parents[2] / "assmat" / "static"
    script = (static / "password.js").read_text(encoding="utf-8")
    assert "aria-pressed" in script and "rule-ok" in script and "summaryTemplate" in script
    styles = (static / "password.css").read_text(encoding="utf-8")
    assert ".password-toggle[hidden]" in styles and ".visually-hidden" in styles
