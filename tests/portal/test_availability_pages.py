"""« Mes disponibilités » (seed 004, « Etape 2 ») on the Gers and mon-enfant portals: the page in
the tenant's forms, each button of the form, French messages with nothing saved on bad input,
the keep-alive of the idle warning, the dashboard's line — and every page bound to its own
assistant and tenant."""

from __future__ import annotations

import re
from datetime import date

import pytest
from sqlalchemy import func, select

from assmat.auth.models import UserSession
from assmat.core.security.models import AuditEvent
from assmat.portal.availability.models import (
    AvailabilityDeclaration,
    AvailabilityException,
    AvailableSlot,
    AvailablePlace,
)
from tests.support.portal import text_of
from tests.support.site import PASSWORD, signed_in_portal

# Dates, small integers and foreign keys are strict on PostgreSQL only: both backends.
pytestmark = pytest.mark.both_backends

PAGE = "/espace/disponibilites"
KEEP_ALIVE = "/espace/session/prolonger"


def declaration(**overrides: str) -> dict[str, str]:
    """Two places (now, and from 4 January 2027: frozen clock, Monday 2 November 2026), one exception."""
    data = {
        "aucune-disponibilite": "",
        "place-0-tranche": "moins_18_mois", "place-0-nombre": "1", "place-0-debut": "", "place-0-fin": "",
        "place-0-type": "regulier", "place-0-j0-matin": "1", "place-0-j1-matin": "1", "place-0-j2-apres_midi": "1",
        "place-1-tranche": "plus_3_ans", "place-1-nombre": "2", "place-1-debut": "04/01/2027", "place-1-fin": "",
        "place-1-type": "periscolaire", "place-1-j2-midi": "1",
        "place-2-tranche": "", "place-2-nombre": "", "place-2-debut": "", "place-2-fin": "", "place-2-type": "regulier",
        "exception-0-date": "09/11/2026", "exception-0-creneau": "journee", "exception-0-etat": "indisponible",
        "exception-1-date": "", "exception-1-creneau": "journee", "exception-1-etat": "indisponible",
        "action": "enregistrer",
    }
    data.update(overrides)
    return {key: value for key, value in data.items() if value is not None}


def counts(portal) -> tuple[int, int, int, int]:
    return tuple(portal.query(select(func.count()).select_from(model))[0][0]
                 for model in (AvailabilityDeclaration, AvailablePlace, AvailableSlot, AvailabilityException))


@pytest.fixture
def gers(portal_for, frozen_clock):
    portal, account = signed_in_portal(portal_for, "gers", "AGR-2026-0301")
    return portal, account


def test_a_new_assistant_sees_grey_and_an_empty_form(gers):
    portal, _account = gers
    response = portal.client.get(PAGE)
    assert response.status_code == 200
    page = text_of(response)
    assert "Disponibilités non renseignées" in page
    assert "Par sécurité, votre session se ferme après 30 minutes sans action" in page
    assert 'name="place-0-tranche"' in page and 'name="place-1-tranche"' not in page
    assert "Ajouter une place" in page and "Enregistrer" in page
    assert 'name="exception-0-date"' in page  # Gers offers the weekly view


def test_saving_a_declaration_shows_it_in_the_tenant_forms(gers):
    portal, account = gers
    response = portal.post(PAGE, declaration())
    assert response.status_code == 303 and response.headers["location"] == f"{PAGE}?info=availability_saved"
    assert counts(portal) == (1, 2, 4, 1)
    (declared,) = portal.query(select(AvailabilityDeclaration))
    assert declared[0].declared_on == date(2026, 11, 2) and declared[0].valid_until == date(2027, 5, 2)
    page = text_of(portal.client.get(response.headers["location"]))
    assert "Vos disponibilités ont été enregistrées." in page
    assert "Place disponible maintenant" in page
    assert "Semaine du 02/11/2026 au 08/11/2026" in page and "Semaine du 23/11/2026 au 29/11/2026" in page
    assert "Janvier" not in page  # Gers offers global and weekly only
    assert "Déclarées le 02/11/2026, valables jusqu'au 02/05/2027." in page
    assert 'value="04/01/2027"' in page and 'name="place-0-j0-matin" value="1" checked' in page
    audit = portal.query(select(AuditEvent.type).where(AuditEvent.account_id == account.id))
    assert ("availability.declared",) in audit


def test_no_availability_is_red(gers):
    portal, _account = gers
    data = {"aucune-disponibilite": "1", "place-0-tranche": "", "place-0-nombre": "", "place-0-debut": "",
            "place-0-fin": "", "place-0-type": "regulier", "action": "enregistrer"}
    assert portal.post(PAGE, data).status_code == 303
    page = text_of(portal.client.get(PAGE))
    assert "Pas de disponibilité" in page and "Semaine du" not in page
    assert counts(portal) == (1, 0, 0, 0)
    dashboard = text_of(portal.client.get("/espace"))
    assert "Pas de disponibilité" in dashboard and "Mettre à jour mes disponibilités" in dashboard


def test_add_a_place_re_renders_with_one_more_row_and_saves_nothing(gers):
    portal, _account = gers
    response = portal.post(PAGE, declaration(action="ajouter-place"))
    assert response.status_code == 200
    page = text_of(response)
    assert 'name="place-3-tranche"' in page and 'value="04/01/2027"' in page
    response = portal.post(PAGE, declaration(action="ajouter-exception"))
    assert 'name="exception-2-date"' in text_of(response)
    assert counts(portal) == (0, 0, 0, 0)


def test_a_removed_place_is_not_saved(gers):
    portal, _account = gers
    assert portal.post(PAGE, declaration(**{"place-1-retirer": "1"})).status_code == 303
    assert counts(portal)[:2] == (1, 1)


@pytest.mark.parametrize(("overrides", "field", "message"), [
    ({"place-0-nombre": "0"}, "place-0-nombre", "Indiquez un nombre de places entre 1 et 6."),
    ({"place-0-nombre": "deux"}, "place-0-nombre", "Indiquez un nombre de places entre 1 et 6."),
    ({"place-0-tranche": "bebes"}, "place-0-tranche", "Choisissez une tranche d'âge dans la liste."),
    ({"place-0-j0-nuit": "1"}, "place-0-grille", "Tranche horaire inconnue : cochez les cases de la grille."),
    ({"place-0-j9-matin": "1"}, "place-0-grille", "Tranche horaire inconnue : cochez les cases de la grille."),
    ({"place-1-fin": "01/12/2026"}, "place-1-fin", "La date de fin doit suivre la date de début."),
    ({"place-1-debut": "2027-13-45"}, "place-1-debut", "Saisissez la date au format JJ/MM/AAAA."),
    ({"place-1-debut": "4 janvier"}, "place-1-debut", "Saisissez la date au format JJ/MM/AAAA."),
    ({"place-0-type": "nuit"}, "place-0-type", "Choisissez un type d'accueil dans la liste."),
    ({"place-1-j2-midi": None}, "place-1-grille", "Cochez au moins une tranche horaire pour cette place."),
    ({"exception-0-date": "31/02/2026"}, "exception-0-date", "Saisissez la date au format JJ/MM/AAAA."),
    ({"exception-0-creneau": "nuit"}, "exception-0-creneau", "Choisissez une tranche horaire dans la liste."),
])
def test_bad_input_is_refused_in_french_and_nothing_is_saved(gers, overrides, field, message):
    portal, _account = gers
    response = portal.post(PAGE, declaration(**overrides))
    assert response.status_code == 400
    page = text_of(response)
    assert message in page
    assert f'id="erreur-{field}"' in page
    assert "Le formulaire contient des erreurs" in page
    assert counts(portal) == (0, 0, 0, 0)


def test_a_refusal_keeps_the_stored_declaration(gers):
    portal, _account = gers
    assert portal.post(PAGE, declaration()).status_code == 303
    before = counts(portal)
    assert portal.post(PAGE, declaration(**{"place-0-nombre": "0"})).status_code == 400
    assert counts(portal) == before


def test_places_and_no_availability_together_are_refused(gers):
    portal, _account = gers
    response = portal.post(PAGE, declaration(**{"aucune-disponibilite": "1"}))
    assert response.status_code == 400
    assert "Vous avez coché « Pas de disponibilité » : retirez les places, ou décochez cette case." in text_of(response)
    empty = {"place-0-tranche": "", "place-0-nombre": "", "place-0-debut": "", "place-0-fin": "",
             "place-0-type": "regulier", "action": "enregistrer"}
    response = portal.post(PAGE, empty)
    assert response.status_code == 400
    assert "Déclarez au moins une place, ou cochez « Pas de disponibilité »." in text_of(response)
    assert counts(portal) == (0, 0, 0, 0)


def test_saving_again_replaces_the_declaration(gers, frozen_clock):
    portal, account = gers
    assert portal.post(PAGE, declaration()).status_code == 303
    frozen_clock.advance(days=10)
    assert portal.login(account.identifier, PASSWORD).status_code == 303
    data = declaration(**{"place-1-retirer": "1", "exception-0-date": None})
    assert portal.post(PAGE, data).status_code == 303
    assert counts(portal) == (1, 1, 3, 0)
    (declared,) = portal.query(select(AvailabilityDeclaration.declared_on, AvailabilityDeclaration.valid_until))
    assert declared == (date(2026, 11, 12), date(2027, 5, 12))


def test_the_keep_alive_restarts_the_idle_timeout(gers, frozen_clock):
    portal, _account = gers
    token = re.search(r'action="/espace/session/prolonger"[^>]*>\s*<input type="hidden" name="csrf_token" value="([^"]+)"',
                      portal.client.get(PAGE).text).group(1)
    frozen_clock.advance(minutes=25)
    response = portal.client.post(KEEP_ALIVE, data={"csrf_token": token})
    assert response.status_code == 204
    (seen,) = portal.query(select(UserSession.last_seen_at))
    assert seen[0] == frozen_clock.now
    frozen_clock.advance(minutes=25)  # 50 minutes after the page, 25 after the keep-alive
    assert portal.client.get(PAGE).status_code == 200


def test_the_keep_alive_needs_a_csrf_token_and_a_session(gers, portal_for):
    portal, _account = gers
    assert portal.client.post(KEEP_ALIVE, data={"csrf_token": "faux"}).status_code == 403
    anonymous = portal_for("gers")
    token = anonymous.csrf("/connexion")
    response = anonymous.client.post(KEEP_ALIVE, data={"csrf_token": token})
    assert response.status_code == 303 and response.headers["location"].startswith("/connexion")


def test_tenants_without_availability_have_no_page(portal_for, frozen_clock):
    portal, _account = signed_in_portal(portal_for, "alpes-maritimes", "AGR-2026-0302")
    assert portal.client.get(PAGE).status_code == 404
    assert "Mettre à jour mes disponibilités" not in text_of(portal.client.get("/espace"))


def test_mon_enfant_shows_the_three_forms(portal_for, frozen_clock):
    portal, _account = signed_in_portal(portal_for, "mon-enfant", "essai1@example.org")
    data = declaration(**{"place-1-debut": "01/09/2027"})
    assert portal.post(PAGE, data).status_code == 303
    page = text_of(portal.client.get(PAGE))
    assert "Place disponible maintenant" in page
    assert "Semaine du 02/11/2026 au 08/11/2026" in page
    assert "Disponibilités en janvier et septembre" in page
    assert page.index("Janvier 2027") < page.index("Septembre 2027")


def test_another_assistant_never_sees_nor_changes_a_declaration(portal_for, frozen_clock):
    anne, _ = signed_in_portal(portal_for, "gers", "AGR-2026-0303")
    assert anne.post(PAGE, declaration()).status_code == 303
    berthe, _ = signed_in_portal(portal_for, "gers", "AGR-2026-0304")
    page = text_of(berthe.client.get(PAGE))
    assert "Disponibilités non renseignées" in page and "04/01/2027" not in page
    assert berthe.post(PAGE, {"aucune-disponibilite": "1", "action": "enregistrer"}).status_code == 303
    rows = anne.query(select(AvailabilityDeclaration.none_available).order_by(AvailabilityDeclaration.id))
    assert rows == [(False,), (True,)]
    assert "Place disponible maintenant" in text_of(anne.client.get(PAGE))


def test_a_session_of_another_tenant_is_anonymous_here(portal_for, frozen_clock):
    gers_portal, _ = signed_in_portal(portal_for, "gers", "AGR-2026-0305")
    foreign = portal_for("eure-et-loir")
    foreign.client.cookies.set("session", gers_portal.client.cookies.get("session"), domain="eure-et-loir.localhost")
    response = foreign.client.get(PAGE)
    assert response.status_code == 303 and response.headers["location"].startswith("/connexion")


def test_the_stale_filter_and_the_public_summary(portal_for, frozen_clock):
    """stale_clause (the console's « disponibilités périmées »): missing or out of date, this
    tenant's assistants only; public_availability holds availability and nothing of the person."""
    from dataclasses import asdict

    from assmat.auth.models import Account
    from assmat.portal.availability.service import public_availability, stale_clause

    gers, current = signed_in_portal(portal_for, "gers", "AGR-2026-0311")
    assert gers.post(PAGE, declaration()).status_code == 303
    never, _ = gers.create_account("AGR-2026-0312", PASSWORD)
    old, _ = gers.create_account("AGR-2026-0313", PASSWORD)

    async def backdate():
        async with gers.app.state.sessionmaker() as db:
            db.add(AvailabilityDeclaration(tenant_id="gers", account_id=old.id, declared_on=date(2026, 3, 1),
                                           valid_until=date(2026, 9, 1), none_available=True))
            await db.commit()

    gers.run(backdate)
    eure = portal_for("eure-et-loir")
    eure.create_account("280099", PASSWORD)
    stale = {row[0] for row in gers.query(select(Account.id).where(stale_clause(gers.tenant, date(2026, 11, 2))))}
    assert stale == {never.id, old.id}

    async def summary(account_id):
        async with gers.app.state.sessionmaker() as db:
            return await public_availability(db, gers.tenant, account_id)

    shown = gers.run(summary, current.id)
    assert shown.state.code == "now" and len(shown.weeks) == 4 and shown.months == ()
    assert "Martin" not in repr(asdict(shown)) and "anne.martin" not in repr(asdict(shown))
    assert gers.run(summary, old.id).state.label == "Disponibilités non mises à jour depuis plus de 6 mois"
    assert gers.run(summary, never.id).state.label == "Disponibilités non renseignées"
