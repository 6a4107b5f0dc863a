"""Seed 001 §2.4: the child declaration's rules, case by case, with the tenants' own types."""

from __future__ import annotations

from datetime import UTC, date, datetime, timedelta

import pytest
from sqlalchemy import select

from assmat.auth.models import Account
from assmat.portal.children.models import CarePeriod, Child, Guardian
from assmat.portal.messages.models import Message, MessageState
from assmat.tenants.models import TenantRow
from assmat.portal.children.service import (
    MESSAGES,
    Address,
    PeriodInput,
    in_history,
    is_current,
    is_late,
    validate_declaration,
)
from assmat.tenants.loader import load_valid_tenants
from assmat.tenants.schema import ChildcareType
from tests.conftest import TENANT_CONFIGS
from tests.support.db import db_session

TODAY = date(2025, 7, 9)
REQUIRED = "Veuillez renseigner ce champ"
BANNER_MAIN = [
    "\"Adresse principale\" est un champ requis.",
    "\"Code postal de l'adresse principale\" est un champ requis.",
    "\"Commune de l'adresse principale\" est un champ requis.",
]


@pytest.fixture(scope="module")
def am_types() -> list[ChildcareType]:
    return load_valid_tenants(TENANT_CONFIGS)["alpes-maritimes"].config.childcare_types


def form(**overrides: str) -> dict[str, str]:
    """A valid declaration (the seed's example), with fields replaced or blanked."""
    data = {
        "enfant-nom": "ENFANTGARDE",
        "enfant-prenom": "Anna",
        "enfant-naissance": "01/01/2022",
        "rl1-civilite": "Madame",
        "rl1-nom": "ENFANTGARDE",
        "rl1-prenom": "Maman",
        "rl1-courriel": "mailmaman@mailperso.fr",
        "rl1-telephone": "06 12 34 56 78",
        "rl2-civilite": "Monsieur",
        "rl2-nom": "ENFANTGARDE",
        "rl2-prenom": "Papa",
        "rl2-courriel": "mailpapa@mailpersoaussi.fr",
        "rl2-telephone": "06.23.45.67.89",
        "adresse": "147 boulevard du Mercantour",
        "code-postal": "06200",
        "commune": "Nice",
        "periode-0-type": "standard",
        "periode-0-debut": "09/07/2025",
    }
    data.update(overrides)
    return data


def check(data, types, today=TODAY):
    return validate_declaration(data, types, today)


def errors_of(data, types, today=TODAY) -> dict[str, str]:
    return check(data, types, today)[1]


# --- a valid form --------------------------------------------------------------------------------


def test_the_seed_example_is_a_valid_declaration(am_types):
    declaration, errors, banner = check(form(), am_types)
    assert (errors, banner) == ({}, [])
    assert declaration is not None
    assert (declaration.last_name, declaration.first_name, declaration.birth_date) == ("ENFANTGARDE", "Anna", date(2022, 1, 1))
    assert declaration.guardian1.phone == "0612345678"
    assert declaration.guardian2.phone == "0623456789"
    assert declaration.main_address == Address("147 boulevard du Mercantour", "06200", "Nice")
    assert declaration.second_address is None and not declaration.has_second_address
    assert declaration.periods == [PeriodInput("standard", date(2025, 7, 9))]


def test_guardians_are_optional(am_types):
    blank = {f"rl{n}-{f}": "" for n in (1, 2) for f in ("civilite", "nom", "prenom", "courriel", "telephone")}
    declaration, errors, _ = check(form(**blank), am_types)
    assert errors == {}
    assert declaration.guardian1.email is None and declaration.guardian2.phone is None


def test_iso_dates_from_date_inputs_are_accepted(am_types):
    declaration, errors, _ = check(form(**{"enfant-naissance": "2022-01-01", "periode-0-debut": "2025-07-09"}), am_types)
    assert errors == {}
    assert declaration.birth_date == date(2022, 1, 1)


# --- the child -----------------------------------------------------------------------------------


@pytest.mark.parametrize("field", ["enfant-nom", "enfant-prenom", "enfant-naissance"])
def test_each_child_field_is_required(am_types, field):
    declaration, errors, banner = check(form(**{field: "  "}), am_types)
    assert declaration is None
    assert errors == {field: REQUIRED}
    assert banner == []


@pytest.mark.parametrize("value", ["2022-13-01", "31/02/2022", "1/1/2022", "hier", "01-01-2022"])
def test_a_malformed_birth_date_is_refused(am_types, value):
    assert errors_of(form(**{"enfant-naissance": value}), am_types) == {
        "enfant-naissance": "Date invalide, format attendu : JJ/MM/AAAA"
    }


def test_a_birth_date_in_the_future_is_refused_today_is_accepted(am_types):
    assert errors_of(form(**{"enfant-naissance": "10/07/2025"}), am_types) == {
        "enfant-naissance": "La date de naissance ne peut pas être dans le futur"
    }
    assert errors_of(form(**{"enfant-naissance": "09/07/2025"}), am_types) == {}


def test_names_longer_than_the_columns_are_refused(am_types):
    assert errors_of(form(**{"enfant-nom": "X" * 101}), am_types) == {
        "enfant-nom": "Ce champ ne doit pas dépasser 100 caractères"
    }
    assert errors_of(form(**{"enfant-nom": "X" * 100}), am_types) == {}


# --- guardians -----------------------------------------------------------------------------------


@pytest.mark.parametrize("value", ["maman", "maman@", "@mailperso.fr", "ma man@mailperso.fr", "maman@mailperso"])
def test_a_given_email_must_be_an_address(am_types, value):
    assert errors_of(form(**{"rl2-courriel": value}), am_types) == {"rl2-courriel": "Adresse courriel invalide"}


@pytest.mark.parametrize("value", ["0612345678", "06 12 34 56 78", "06.12.34.56.78", " 06 12.34 56 78 "])
def test_french_phone_numbers_with_spaces_or_dots_are_accepted(am_types, value):
    declaration, errors, _ = check(form(**{"rl1-telephone": value}), am_types)
    assert errors == {}
    assert declaration.guardian1.phone == "0612345678"


@pytest.mark.parametrize("value", ["061234567", "06123456789", "6123456789", "+33612345678", "06-12-34-56-78", "06 12 34 56 7a"])
def test_other_phone_numbers_are_refused(am_types, value):
    assert errors_of(form(**{"rl1-telephone": value}), am_types) == {
        "rl1-telephone": "Numéro de téléphone invalide : 10 chiffres attendus"
    }


def test_civility_must_be_madame_or_monsieur(am_types):
    assert errors_of(form(**{"rl1-civilite": "Docteur"}), am_types) == {
        "rl1-civilite": "Civilité invalide : choisissez Madame ou Monsieur"
    }


# --- addresses -----------------------------------------------------------------------------------


@pytest.mark.parametrize("field", ["adresse", "code-postal", "commune"])
def test_each_main_address_field_is_required_without_banner(am_types, field):
    declaration, errors, banner = check(form(**{field: ""}), am_types)
    assert declaration is None
    assert errors == {field: REQUIRED}
    assert banner == []


def test_a_missing_main_address_shows_the_seed_banner(am_types):
    declaration, errors, banner = check(form(adresse="", **{"code-postal": "", "commune": ""}), am_types)
    assert declaration is None
    assert banner == BANNER_MAIN
    assert errors == {"adresse": REQUIRED, "code-postal": REQUIRED, "commune": REQUIRED}


@pytest.mark.parametrize("value", ["6200", "062000", "O6200", "06 200"])
def test_a_postal_code_has_five_digits(am_types, value):
    assert errors_of(form(**{"code-postal": value}), am_types) == {
        "code-postal": "Le code postal doit comporter 5 chiffres"
    }


def test_the_second_address_is_ignored_when_the_box_is_not_checked(am_types):
    declaration, errors, banner = check(form(**{"adresse-secondaire": "", "code-postal-secondaire": "x"}), am_types)
    assert (errors, banner) == ({}, [])
    assert declaration.second_address is None


def test_the_second_address_is_required_when_the_box_is_checked(am_types):
    declaration, errors, banner = check(form(**{"adresse-secondaire-cochee": "on"}), am_types)
    assert declaration is None
    assert banner == [
        "\"Adresse secondaire\" est un champ requis.",
        "\"Code postal de l'adresse secondaire\" est un champ requis.",
        "\"Commune de l'adresse secondaire\" est un champ requis.",
    ]
    assert errors == {"adresse-secondaire": REQUIRED, "code-postal-secondaire": REQUIRED, "commune-secondaire": REQUIRED}


def test_a_partly_given_second_address_gets_field_messages_only(am_types):
    # The seed's screenshot: postal code given, address and city missing.
    _, errors, banner = check(form(**{"adresse-secondaire-cochee": "on", "code-postal-secondaire": "06200"}), am_types)
    assert banner == []
    assert errors == {"adresse-secondaire": REQUIRED, "commune-secondaire": REQUIRED}


def test_a_checked_and_complete_second_address_is_kept(am_types):
    declaration, errors, _ = check(
        form(**{
            "adresse-secondaire-cochee": "on",
            "adresse-secondaire": "148 boulevard du Mercantour",
            "code-postal-secondaire": "06200",
            "commune-secondaire": "Nice",
        }),
        am_types,
    )
    assert errors == {}
    assert declaration.second_address == Address("148 boulevard du Mercantour", "06200", "Nice")
    assert declaration.has_second_address


# --- care periods --------------------------------------------------------------------------------


def test_at_least_one_period_is_required(am_types):
    data = form(**{"periode-0-type": "", "periode-0-debut": ""})
    assert errors_of(data, am_types) == {"periode-0-type": REQUIRED}
    del data["periode-0-type"], data["periode-0-debut"]
    assert errors_of(data, am_types) == {"periode-0-type": REQUIRED}


def test_a_blank_row_is_ignored_and_rows_are_taken_in_index_order(am_types):
    data = form(**{
        "periode-3-type": "derogation", "periode-3-debut": "01/08/2025", "periode-3-fin": "10/08/2025",
        "periode-7-type": "", "periode-7-debut": "", "periode-7-fin": "", "periode-7-heures": "",
        "periode-7-commentaire": "",
    })
    declaration, errors, _ = check(data, am_types)
    assert errors == {}
    assert [p.childcare_type for p in declaration.periods] == ["standard", "derogation"]


def test_the_type_is_required_in_a_row_with_other_fields(am_types):
    assert errors_of(form(**{"periode-0-type": ""}), am_types) == {"periode-0-type": REQUIRED}


def test_an_unknown_type_is_refused(am_types):
    assert errors_of(form(**{"periode-0-type": "nounou"}), am_types) == {"periode-0-type": "Type de garde inconnu"}


def test_the_start_date_is_required(am_types):
    assert errors_of(form(**{"periode-0-debut": "", "periode-0-commentaire": "le matin"}), am_types) == {
        "periode-0-debut": REQUIRED
    }


def test_standard_needs_no_end_date(am_types):
    declaration, errors, _ = check(form(), am_types)
    assert errors == {} and declaration.periods[0].end_date is None


@pytest.mark.parametrize("code", ["derogation", "depassement"])
def test_exceptional_types_require_an_end_date(am_types, code):
    assert errors_of(form(**{"periode-0-type": code}), am_types) == {"periode-0-fin": REQUIRED}


@pytest.mark.parametrize("code", ["standard", "derogation", "depassement"])
def test_the_end_date_cannot_precede_the_start_date(am_types, code):
    data = form(**{"periode-0-type": code, "periode-0-debut": "10/07/2025", "periode-0-fin": "09/07/2025"})
    assert errors_of(data, am_types) == {
        "periode-0-fin": "La date de fin doit être postérieure ou égale à la date de début"
    }
    data["periode-0-fin"] = "10/07/2025"
    assert errors_of(data, am_types) == {}


def test_a_malformed_period_date_is_refused(am_types):
    assert errors_of(form(**{"periode-0-debut": "32/07/2025"}), am_types) == {
        "periode-0-debut": "Date invalide, format attendu : JJ/MM/AAAA"
    }


def test_derogation_at_55_days_is_accepted_56_is_refused(am_types):
    start = date(2025, 7, 9)
    data = form(**{"periode-0-type": "derogation", "periode-0-debut": "09/07/2025"})
    data["periode-0-fin"] = (start + timedelta(days=54)).strftime("%d/%m/%Y")  # 55 days, both included
    declaration, errors, _ = check(data, am_types)
    assert errors == {}
    assert declaration.periods[0].end_date == date(2025, 9, 1)
    data["periode-0-fin"] = (start + timedelta(days=55)).strftime("%d/%m/%Y")
    assert errors_of(data, am_types) == {
        "periode-0-fin": "la durée saisie dépasse 55 jours par an (période de 56 jours)"
    }


def test_depassement_at_50_hours_is_accepted_51_is_refused(am_types):
    data = form(**{
        "periode-0-type": "depassement", "periode-0-debut": "09/07/2025", "periode-0-fin": "10/07/2025",
        "periode-0-heures": "50",
    })
    declaration, errors, _ = check(data, am_types)
    assert errors == {}
    assert declaration.periods[0].hours_per_month == 50
    data["periode-0-heures"] = "51"
    assert errors_of(data, am_types) == {"periode-0-heures": "le nombre d'heures saisi dépasse 50h par mois"}
    data["periode-0-heures"] = "68"  # the seed's screenshot
    assert errors_of(data, am_types) == {"periode-0-heures": "le nombre d'heures saisi dépasse 50h par mois"}


def test_hours_are_optional_on_depassement(am_types):
    data = form(**{"periode-0-type": "depassement", "periode-0-fin": "10/07/2025"})
    declaration, errors, _ = check(data, am_types)
    assert errors == {} and declaration.periods[0].hours_per_month is None


@pytest.mark.parametrize("code", ["standard", "derogation"])
def test_hours_on_another_type_point_to_the_hours_type(am_types, code):
    data = form(**{"periode-0-type": code, "periode-0-fin": "10/07/2025", "periode-0-heures": "10"})
    assert errors_of(data, am_types) == {
        "periode-0-heures": "Pour saisir le nombre d'heures par mois, affectez-le au type de garde "
        "« Dépassement exceptionnel (50 h/mois) »"
    }


@pytest.mark.parametrize("value", ["0", "-3", "2.5", "dix"])
def test_hours_are_a_positive_whole_number(am_types, value):
    data = form(**{"periode-0-type": "depassement", "periode-0-fin": "10/07/2025", "periode-0-heures": value})
    assert errors_of(data, am_types) == {
        "periode-0-heures": "Le nombre d'heures par mois doit être un nombre entier positif"
    }


def test_a_comment_is_kept_up_to_500_characters(am_types):
    declaration, errors, _ = check(form(**{"periode-0-commentaire": "x" * 500}), am_types)
    assert errors == {} and declaration.periods[0].comment == "x" * 500
    assert errors_of(form(**{"periode-0-commentaire": "x" * 501}), am_types) == {
        "periode-0-commentaire": "Ce champ ne doit pas dépasser 500 caractères"
    }


def test_errors_of_several_rows_are_keyed_by_row(am_types):
    data = form(**{
        "periode-1-type": "derogation", "periode-1-debut": "09/07/2025",
        "periode-2-type": "standard", "periode-2-heures": "5",
    })
    assert errors_of(data, am_types) == {
        "periode-1-fin": REQUIRED,
        "periode-2-debut": REQUIRED,
        "periode-2-heures": "Pour saisir le nombre d'heures par mois, affectez-le au type de garde "
        "« Dépassement exceptionnel (50 h/mois) »",
    }


# --- another tenant's types ----------------------------------------------------------------------

CUSTOM = [
    ChildcareType(code="periscolaire", label="Périscolaire"),
    ChildcareType(code="vacances", label="Vacances scolaires", max_days_per_year=10),
    ChildcareType(code="renfort", label="Renfort (20 h/mois)", requires_end_date=True, max_hours_per_month=20),
]


def test_a_custom_tenant_list_replaces_the_codes():
    assert errors_of(form(), CUSTOM) == {"periode-0-type": "Type de garde inconnu"}
    assert errors_of(form(**{"periode-0-type": "periscolaire"}), CUSTOM) == {}


def test_a_custom_day_cap_requires_an_end_date_and_applies_at_its_limit():
    data = form(**{"periode-0-type": "vacances"})
    assert errors_of(data, CUSTOM) == {"periode-0-fin": REQUIRED}
    data["periode-0-fin"] = "18/07/2025"  # 10 days
    assert errors_of(data, CUSTOM) == {}
    data["periode-0-fin"] = "19/07/2025"
    assert errors_of(data, CUSTOM) == {"periode-0-fin": "la durée saisie dépasse 10 jours par an (période de 11 jours)"}


def test_a_custom_hour_cap_and_its_label():
    data = form(**{"periode-0-type": "renfort", "periode-0-fin": "31/07/2025", "periode-0-heures": "20"})
    assert errors_of(data, CUSTOM) == {}
    data["periode-0-heures"] = "21"
    assert errors_of(data, CUSTOM) == {"periode-0-heures": "le nombre d'heures saisi dépasse 20h par mois"}
    data.update({"periode-0-type": "vacances", "periode-0-fin": "10/07/2025", "periode-0-heures": "5"})
    assert errors_of(data, CUSTOM) == {
        "periode-0-heures": "Pour saisir le nombre d'heures par mois, affectez-le au type de garde « Renfort (20 h/mois) »"
    }


def test_hours_when_no_type_takes_hours():
    types = [ChildcareType(code="standard", label="Garde standard")]
    assert errors_of(form(**{"periode-0-heures": "5"}), types) == {
        "periode-0-heures": "Le nombre d'heures par mois ne peut pas être saisi pour ce type de garde"
    }


def test_every_message_id_is_namespaced():
    assert all(key.startswith("children.") for key in MESSAGES)


# --- current, history, late ----------------------------------------------------------------------


def test_a_child_whose_last_period_ended_yesterday_is_in_history():
    periods = [PeriodInput("standard", date(2025, 1, 1), date(2025, 3, 1)), PeriodInput("derogation", date(2025, 6, 1), TODAY - timedelta(days=1))]
    assert in_history(periods, TODAY) and not is_current(periods, TODAY)


def test_a_child_whose_period_ends_today_is_current():
    periods = [PeriodInput("standard", date(2025, 1, 1), date(2025, 3, 1)), PeriodInput("derogation", date(2025, 6, 1), TODAY)]
    assert is_current(periods, TODAY) and not in_history(periods, TODAY)


def test_an_open_ended_or_future_period_keeps_the_child_current():
    assert is_current([PeriodInput("standard", date(2020, 1, 1))], TODAY)
    assert is_current([PeriodInput("standard", TODAY + timedelta(days=30), TODAY + timedelta(days=40))], TODAY)


def test_a_child_without_periods_is_not_in_history():
    assert not in_history([], TODAY) and is_current([], TODAY)


def test_declaring_8_days_after_the_start_is_on_time_9_is_late():
    periods = [PeriodInput("standard", date(2025, 7, 9)), PeriodInput("standard", date(2025, 7, 1))]
    assert not is_late(date(2025, 7, 9), periods)  # 8 days after the earliest start
    assert is_late(date(2025, 7, 10), periods)  # 9 days
    assert not is_late(date(2025, 6, 1), periods)  # declared ahead
    assert not is_late(TODAY, [])


# --- storage -------------------------------------------------------------------------------------


@pytest.mark.both_backends  # foreign keys, lengths and time zones: PostgreSQL enforces what SQLite may not
def test_children_periods_messages_and_states_are_stored(database_url):
    now = datetime(2025, 7, 9, 10, 0, tzinfo=UTC)
    with db_session(database_url) as session:
        session.add(TenantRow(slug="alpes-maritimes", name="Alpes-Maritimes"))
        session.flush()
        assistant = Account(tenant_id="alpes-maritimes", identifier="066001", last_name="ASSMAT", first_name="Gertrude")
        other = Account(tenant_id="alpes-maritimes", identifier="066002")
        session.add_all([assistant, other])
        session.flush()
        child = Child(
            tenant_id="alpes-maritimes", account_id=assistant.id, last_name="ENFANTGARDE", first_name="Anna",
            birth_date=date(2022, 1, 1),
            guardians=[Guardian(tenant_id="alpes-maritimes", position=1, civility="Madame", phone="0612345678")],
            address="147 boulevard du Mercantour", postal_code="06200", city="Nice",
            has_second_address=True, second_address="148 boulevard du Mercantour", second_postal_code="06200",
            second_city="Nice", declared_at=now,
        )
        session.add(child)
        session.flush()
        session.add_all([
            CarePeriod(tenant_id="alpes-maritimes", child_id=child.id, childcare_type="standard", start_date=date(2025, 7, 9)),
            CarePeriod(
                tenant_id="alpes-maritimes", child_id=child.id, childcare_type="depassement",
                start_date=date(2025, 7, 9), end_date=date(2025, 7, 10), hours_per_month=50, comment="été",
            ),
        ])
        general = Message(tenant_id="alpes-maritimes", sender="Service PMI", subject="Alerte météo", body="Orange.", created_at=now)
        personal = Message(
            tenant_id="alpes-maritimes", sender="Service PMI", subject="Votre agrément", body="À renouveler.",
            recipient_account_id=assistant.id, created_at=now + timedelta(minutes=1),
        )
        session.add_all([general, personal])
        session.flush()
        session.add_all([
            MessageState(tenant_id="alpes-maritimes", message_id=general.id, account_id=assistant.id, read_at=now),
            MessageState(tenant_id="alpes-maritimes", message_id=personal.id, account_id=assistant.id, archived_at=now),
        ])
        session.commit()
        other_id = other.id

    with db_session(database_url) as session:
        if database_url.startswith("sqlite"):  # as the app's engine does (assmat.core.db.engine)
            session.connection().exec_driver_sql("PRAGMA foreign_keys=ON")
        stored = session.scalars(select(Child)).one()
        assert stored.declared_at == now and stored.has_second_address
        guardians = session.scalars(select(Guardian).where(Guardian.child_id == stored.id)).all()
        assert [(g.tenant_id, g.position, g.civility, g.phone) for g in guardians] == [
            ("alpes-maritimes", 1, "Madame", "0612345678"),
        ]
        periods = session.scalars(select(CarePeriod).where(CarePeriod.child_id == stored.id).order_by(CarePeriod.id)).all()
        assert [(p.childcare_type, p.end_date, p.hours_per_month) for p in periods] == [
            ("standard", None, None), ("depassement", date(2025, 7, 10), 50),
        ]
        assert is_current(periods, TODAY) and not is_late(stored.declared_at.date(), periods)
        # What the other assistant sees: general messages and their own, not this one's personal one.
        visible = session.scalars(
            select(Message.subject).where(
                Message.tenant_id == "alpes-maritimes",
                (Message.recipient_account_id.is_(None)) | (Message.recipient_account_id == other_id),
            )
        ).all()
        assert visible == ["Alerte météo"]
        states = session.scalars(select(MessageState).order_by(MessageState.message_id)).all()
        assert [(s.read_at, s.archived_at) for s in states] == [(now, None), (None, now)]
        # Deleting the child deletes its periods and its guardians.
        session.delete(stored)
        session.commit()
        assert session.scalars(select(CarePeriod)).all() == []
        assert session.scalars(select(Guardian)).all() == []
