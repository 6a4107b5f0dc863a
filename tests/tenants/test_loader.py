"""The tenant YAML loader: strict keys, cross-field rules, every error of every file at once."""

from __future__ import annotations

from datetime import timedelta
from pathlib import Path

import pytest

from assmat.tenants.loader import load_tenants
from tests.conftest import TENANT_CONFIGS
from tests.support.tenants import write_tenant


def errors_of(directory: Path) -> list[str]:
    return [str(e) for e in load_tenants(directory)[1]]


def test_the_five_seed_tenants_load_without_error():
    tenants, errors = load_tenants(TENANT_CONFIGS)
    assert errors == []
    assert set(tenants) == {"gers", "alpes-maritimes", "eure-et-loir", "cestas", "mon-enfant"}


def test_a_minimal_file_gets_the_safe_defaults(tmp_path):
    write_tenant(tmp_path, "neuf")
    config = load_tenants(tmp_path)[0]["neuf"].config
    assert config.password_reset.mode == "link"
    assert config.password_reset.reveal_unknown_account is False
    assert config.lockout.reveal_locked_state is False
    assert config.lockout.duration == timedelta(minutes=15)
    assert config.password_policy.blocklist is True
    assert config.publication is None and not config.offers("publication")  # publishing is chosen, never implied
    assert [g.code for g in config.availability.age_groups] == ["moins_18_mois", "18_mois_3_ans", "plus_3_ans"]
    assert config.availability.validity_months == 6


@pytest.mark.parametrize(
    ("overrides", "expected"),
    [
        ({"login.identifer": "email"}, "neuf.yaml: login.identifer: clé inconnue"),
        ({"branding.primary_color": "#12345g"}, "neuf.yaml: branding.primary_color: couleur attendue au format #rrggbb"),
        ({"branding.primary_color": "blue"}, "neuf.yaml: branding.primary_color: couleur attendue au format #rrggbb"),
        ({"lockout.max_failures": -1}, "neuf.yaml: lockout.max_failures: doit être supérieur ou égal à 1"),
        ({"lockout.duration": "15x"}, "neuf.yaml: lockout.duration: « permanent » ou une durée (30m, 48h, 7d) attendu"),
        ({"session.idle_timeout": 30}, "neuf.yaml: session.idle_timeout: durée attendue sous la forme 30m, 48h ou 7d"),
        ({"login.identifier": "nir"}, "neuf.yaml: login.identifier: valeur attendue parmi : 'agrement_number', 'pmi_number', 'email' or 'username'"),
        ({"login.captcha": "yes"}, "neuf.yaml: login.captcha: true ou false attendu"),
        ({"password_policy.min_length": 10, "password_policy.max_length": 8}, "neuf.yaml: password_policy: min_length doit être inférieur ou égal à max_length"),
        ({"password_policy.max_length": 3, "password_policy.min_length": 3, "password_policy.min_digits": 2, "password_policy.min_special": 2}, "neuf.yaml: password_policy: les minimums par catégorie (4) dépassent max_length (3)"),
        ({"password_reset.link_ttl": "48h", "password_reset.mode": "temporary_password"}, "neuf.yaml: password_reset: link_ttl n'est permis qu'avec mode: link"),
        ({"activation.identity_fields": ["email"]}, "neuf.yaml: activation: identity_fields n'est permis qu'avec mode: identity_check"),
        ({"messages": {"login.fialed": "x"}}, "neuf.yaml: messages: identifiant(s) de message inconnu(s) : login.fialed"),
        ({"hosts": ["Assmat.Example.org"]}, "neuf.yaml: hosts.0: nom d'hôte en minuscules attendu (lettres, chiffres, points, tirets)"),
        ({"slug": "autre"}, "neuf.yaml: slug: « autre » ne correspond pas au nom du fichier « neuf »"),
        ({"branding.legal.terms": "terms/absent.md"}, "neuf.yaml: branding.legal.terms: fichier introuvable : terms/absent.md"),
        ({"branding.legal.terms": "../secret.md"}, "neuf.yaml: branding.legal.terms: chemin relatif au dossier de configuration attendu"),
        ({"features.availability": ["global"]}, "neuf.yaml: (racine): features.availability et features.public_search exigent une section publication"),
        ({"features.public_search": True}, "neuf.yaml: (racine): features.availability et features.public_search exigent une section publication"),
        ({"publication.regime": "always"}, "neuf.yaml: publication.regime: valeur attendue parmi : 'opt_out', 'consent' or 'mandatory_with_masking'"),
        ({"publication.regime": "consent", "publication.photos.max_bytes": 10}, "neuf.yaml: publication.photos.max_bytes: doit être supérieur ou égal à 100000"),
        ({"availability.age_groups": [{"code": "bebes", "label": "Bébés", "min_months": 18, "max_months": 12}]}, "neuf.yaml: availability.age_groups.0: max_months doit dépasser min_months"),
        ({"availability.time_slots": [{"code": "matin", "label": "Matin", "start": "12:00", "end": "07:00"}]}, "neuf.yaml: availability.time_slots.0: end doit suivre start"),
        ({"availability.time_slots": [{"code": "matin", "label": "Matin", "start": "7h", "end": "12:00"}]}, "neuf.yaml: availability.time_slots.0.start: heure attendue au format HH:MM (de 00:00 à 24:00)"),
        ({"availability.age_groups": [{"code": "a", "label": "A"}, {"code": "a", "label": "B"}]}, "neuf.yaml: availability.age_groups: code en double"),
        # MAM and relais (seed 002) sign in by their email in the assistants' field.
        ({"login.structures_identifier": "pmi_number"}, "neuf.yaml: login.structures_identifier: valeur attendue parmi : 'email'"),
        ({"features.structures": ["mam"], "login.identifier": "username"},
         "neuf.yaml: (racine): features.structures exige un login.identifier autre que username (une adresse "
         "électronique tapée dans le champ d'identifiant désigne une structure)"),
        ({"features.structures": ["creche"]}, "neuf.yaml: features.structures.0: valeur attendue parmi : 'mam' or 'ram'"),
        # The habilitation request (seed 004): what it grants must be on, its users sign in by email.
        ({"habilitation.grants": ["availability"]}, "neuf.yaml: (racine): habilitation.grants ouvre une fonction que le portail ne propose pas : availability"),
        ({"habilitation.grants": ["availability"], "features.availability": ["global"], "publication.regime": "consent",
          "login.identifier": "agrement_number"},
         "neuf.yaml: (racine): habilitation exige login.identifier: email (on se connecte avec l'adresse de la demande)"),
        ({"habilitation.grants": []}, "neuf.yaml: habilitation.grants: doit contenir au moins 1 élément(s)"),
        ({"habilitation.grants": ["availability"], "habilitation.consent": "fax"}, "neuf.yaml: habilitation.consent: valeur attendue parmi : 'paper' or 'online'"),
        ({"habilitation.grants": ["availability"], "habilitation.expire_after_days": 0}, "neuf.yaml: habilitation.expire_after_days: doit être supérieur ou égal à 1"),
        # Family accounts (issue 13): their identifier is typed in the assistants' field.
        ({"login.families_identifier": "pmi_number"}, "neuf.yaml: login.families_identifier: valeur attendue parmi : 'email' or 'username'"),
        ({"features.parents": True, "login.families_identifier": "username"},
         "neuf.yaml: (racine): login.families_identifier : email, ou le même que login.identifier (un seul champ "
         "d'identifiant sur le formulaire de connexion)"),
        ({"features.parents": True, "login.identifier": "username", "login.families_identifier": "email"},
         "neuf.yaml: (racine): login.families_identifier: email exige un login.identifier autre que username (une "
         "adresse électronique tapée dans le champ d'identifiant désigne une famille)"),
        ({"login.families_identifier": "email"}, "neuf.yaml: (racine): login.families_identifier exige features.parents"),
        ({"families.signup": True}, "neuf.yaml: (racine): families.signup exige features.parents"),
        ({"families.signup": True, "features.parents": True, "families.confirmation_ttl": "soon"},
         "neuf.yaml: families.confirmation_ttl: durée attendue sous la forme 30m, 48h ou 7d"),
    ],
)
def test_each_mistake_is_refused_with_one_precise_line(tmp_path, overrides, expected):
    write_tenant(tmp_path, "neuf", overrides)
    assert errors_of(tmp_path) == [expected]


def test_every_error_of_every_file_is_reported_at_once(tmp_path):
    write_tenant(tmp_path, "un", {"login.identifer": "email", "lockout.max_failures": 0})
    write_tenant(tmp_path, "deux", {"branding.primary_color": "rouge"})
    write_tenant(tmp_path, "trois")
    tenants, errors = load_tenants(tmp_path)
    assert sorted(str(e) for e in errors) == [
        "deux.yaml: branding.primary_color: couleur attendue au format #rrggbb",
        "un.yaml: lockout.max_failures: doit être supérieur ou égal à 1",
        "un.yaml: login.identifer: clé inconnue",
    ]
    assert list(tenants) == ["trois"]


def test_a_host_declared_by_two_tenants_is_refused(tmp_path):
    write_tenant(tmp_path, "un", {"hosts": ["assmat.example.org"]})
    write_tenant(tmp_path, "deux", {"hosts": ["assmat.example.org"]})
    assert errors_of(tmp_path) == ["un.yaml: hosts: « assmat.example.org » est déjà déclaré par deux.yaml"]


def test_unreadable_yaml_is_one_error_not_a_crash(tmp_path):
    (tmp_path / "casse.yaml").write_text("slug: [unclosed\n", encoding="utf-8")
    (errors,) = [errors_of(tmp_path)]
    assert len(errors) == 1 and errors[0].startswith("casse.yaml: (racine): YAML illisible")


def test_terms_version_follows_the_file_content(tmp_path):
    (tmp_path / "terms").mkdir()
    terms = tmp_path / "terms" / "cgu.md"
    terms.write_text("Version 1", encoding="utf-8")
    write_tenant(tmp_path, "neuf", {"branding.legal.terms": "terms/cgu.md", "first_login.accept_terms": True})
    first = load_tenants(tmp_path)[0]["neuf"].terms_version
    terms.write_text("Version 2", encoding="utf-8")
    second = load_tenants(tmp_path)[0]["neuf"].terms_version
    assert first and second and first != second
