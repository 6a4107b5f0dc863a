"""Seed 001 §2.4, « Enfants accueillis » pages on the Alpes-Maritimes portal: declare, list,
view, edit, delete, history, the seed's messages — and every page bound to its own assistant,
on both backends."""

from __future__ import annotations

import re

import pytest
from sqlalchemy import func, select

from assmat.core.security.models import AuditEvent
from assmat.portal.children.models import CarePeriod, Child, Guardian
from tests.flows import test_eure_et_loir as eure_flow
from tests.support.portal import text_of

# Every page bound to its own assistant, on both backends (long texts, dates and foreign keys are
# strict on PostgreSQL only).
pytestmark = pytest.mark.both_backends

SLUG = "alpes-maritimes"
GOOD = "Mimosa#Corniche7"
LEGAL = "La loi vous oblige à déclarer sous 8 jours les enfants accueillis et à préciser les coordonnées des parents."
BANNER_MAIN = [
    "\"Adresse principale\" est un champ requis.",
    "\"Code postal de l'adresse principale\" est un champ requis.",
    "\"Commune de l'adresse principale\" est un champ requis.",
]


def declaration(**overrides: str) -> dict[str, str]:
    """The seed's example (frozen clock: 2 November 2026), two periods, two empty rows."""
    data = {
        "enfant-nom": "ENFANTGARDE",
        "enfant-prenom": "Anna",
        "enfant-naissance": "01/01/2025",
        "rl1-civilite": "Madame",
        "rl1-nom": "ENFANTGARDE",
        "rl1-prenom": "Maman",
        "rl1-courriel": "mailmaman@mailperso.fr",
        "rl1-telephone": "06 12 34 56 78",
        "rl2-civilite": "",
        "rl2-nom": "",
        "rl2-prenom": "",
        "rl2-courriel": "",
        "rl2-telephone": "",
        "adresse": "147 boulevard du Mercantour",
        "code-postal": "06200",
        "commune": "Nice",
        "adresse-secondaire": "",
        "code-postal-secondaire": "",
        "commune-secondaire": "",
        "periode-0-type": "standard",
        "periode-0-debut": "02/11/2026",
        "periode-0-fin": "",
        "periode-0-heures": "",
        "periode-0-commentaire": "",
        "periode-1-type": "depassement",
        "periode-1-debut": "01/11/2026",
        "periode-1-fin": "30/11/2026",
        "periode-1-heures": "40",
        "periode-1-commentaire": "Vacances des parents",
    }
    for index in (2, 3):
        for part in ("type", "debut", "fin", "heures", "commentaire"):
            data[f"periode-{index}-{part}"] = ""
    data.update(overrides)
    return data


def sign_in(portal, identifier: str = "06-AM-0117", email: str = "helene.lefevre@example.org"):
    account, _ = portal.create_account(identifier, GOOD, email=email, first_name="Hélène", last_name="Lefèvre")
    response = portal.login(identifier, GOOD)
    assert response.status_code == 303 and response.headers["location"] == "/espace"
    return account


def count(portal, model) -> int:
    return portal.query(select(func.count()).select_from(model))[0][0]


def declare(portal, **overrides: str):
    return portal.post("/espace/enfants/nouveau", declaration(**overrides))


def child_ids(portal) -> list[int]:
    return [row[0] for row in portal.query(select(Child.id).order_by(Child.id))]


def sections(portal) -> tuple[str, str]:
    """(current table, history section) of the list page."""
    page = text_of(portal.client.get("/espace/enfants"))
    current, history = page.split('id="titre-historique"')
    return current, history


@pytest.fixture
def am(portal_for, frozen_clock):
    return portal_for(SLUG)


def test_declare_a_child_with_two_periods_lists_it(am):
    account = sign_in(am)
    form = am.client.get("/espace/enfants/nouveau")
    page = text_of(form)
    assert form.status_code == 200
    assert "Pour saisir le nombre d'heures par mois, affectez-le au type de garde « Dépassement exceptionnel (50 h/mois) »" in page
    assert 'name="periode-1-type"' in page and 'name="periode-2-type"' not in page  # two empty rows
    assert 'name="adresse-secondaire"' in page  # shown without JavaScript
    assert "/static/children.css" in page

    response = declare(am)
    assert response.status_code == 303 and response.headers["location"] == "/espace/enfants?info=created"
    children = am.query(select(Child))
    assert len(children) == 1
    child = children[0][0]
    guardians = am.query(select(Guardian.tenant_id, Guardian.child_id, Guardian.position, Guardian.phone))
    assert (child.tenant_id, child.account_id, child.last_name) == (SLUG, account.id, "ENFANTGARDE")
    assert guardians == [(SLUG, child.id, 1, "0612345678")]  # guardian 2 left empty: no row
    periods = [row[0] for row in am.query(select(CarePeriod).order_by(CarePeriod.start_date))]
    assert [(p.childcare_type, p.hours_per_month) for p in periods] == [("depassement", 40), ("standard", None)]

    listing = am.client.get("/espace/enfants?info=created")
    page = text_of(listing)
    assert listing.status_code == 200 and LEGAL in page and "Ajouter ou modifier un enfant" in page
    current, history = sections(am)
    assert "ENFANTGARDE" in current and "01/01/2025" in current and "ENFANTGARDE" not in history
    for action in ("", "/modifier", "/supprimer"):
        assert f'href="/espace/enfants/{child.id}{action}"' in current

    view = am.client.get(f"/espace/enfants/{child.id}")
    assert view.status_code == 200
    assert "Dépassement exceptionnel (50 h/mois)" in text_of(view) and "Vacances des parents" in text_of(view)
    assert "mailmaman@mailperso.fr" in text_of(view) and "0612345678" in text_of(view)

    edit = text_of(am.client.get(f"/espace/enfants/{child.id}/modifier"))
    assert 'value="01/01/2025"' in edit and 'name="periode-3-type"' in edit  # stored rows + 2 empty
    assert 'value="mailmaman@mailperso.fr"' in edit and 'value="0612345678"' in edit

    audits = am.query(select(AuditEvent.type, AuditEvent.detail).where(AuditEvent.type == "child.created"))
    assert audits == [("child.created", {"child_id": child.id, "periods": 2})]


def test_hours_over_the_cap_are_refused_and_nothing_is_written(am):
    sign_in(am)
    response = declare(am, **{"periode-1-heures": "68"})
    page = text_of(response)
    assert response.status_code == 400
    assert "le nombre d'heures saisi dépasse 50h par mois" in page
    assert 'aria-describedby="aide-heures erreur-periode-1-heures"' in page
    assert 'id="erreur-periode-1-heures"' in page and 'role="alert"' in page
    assert 'value="68"' in page and 'value="Vacances des parents"' not in page  # textarea content
    assert ">Vacances des parents</textarea>" in page
    assert count(am, Child) == 0 and count(am, CarePeriod) == 0


def test_missing_address_shows_the_banner(am):
    sign_in(am)
    response = declare(am, **{"adresse": "", "code-postal": "", "commune": ""})
    page = text_of(response)
    assert response.status_code == 400
    banner = page[page.index('id="erreurs"'):page.index("</div>", page.index('id="erreurs"'))]
    for line in BANNER_MAIN:
        assert line in banner
    assert 'id="erreur-adresse"' in page and "Veuillez renseigner ce champ" in page
    assert 'aria-describedby=" erreur-adresse"' in page or 'aria-describedby="erreur-adresse"' in page
    assert count(am, Child) == 0


def test_second_address_required_only_when_ticked(am):
    sign_in(am)
    ticked = declare(am, **{"adresse-secondaire-cochee": "1"})
    assert ticked.status_code == 400 and "\"Adresse secondaire\" est un champ requis." in text_of(ticked)
    assert count(am, Child) == 0
    assert declare(am, **{"adresse-secondaire": "ignored"}).status_code == 303
    assert am.query(select(Child.has_second_address, Child.second_address)) == [(False, None)]


def test_edit_a_child(am):
    sign_in(am)
    declare(am)
    (child_id,) = child_ids(am)
    edited = declaration(**{"enfant-prenom": "Anne", "periode-1-heures": "45", "periode-2-type": "standard",
                            "periode-2-debut": "01/12/2026"})
    response = am.post(f"/espace/enfants/{child_id}/modifier", edited)
    assert response.status_code == 303 and response.headers["location"] == "/espace/enfants?info=updated"
    assert am.query(select(Child.first_name)) == [("Anne",)]
    hours = sorted((p.hours_per_month or 0) for (p,) in am.query(select(CarePeriod)))
    assert hours == [0, 0, 45]
    refused = am.post(f"/espace/enfants/{child_id}/modifier", {**edited, "periode-1-heures": "68"})
    assert refused.status_code == 400 and "dépasse 50h par mois" in text_of(refused)
    assert am.query(select(Child.first_name)) == [("Anne",)] and count(am, CarePeriod) == 3
    assert am.query(select(AuditEvent.detail).where(AuditEvent.type == "child.updated")) == [({"child_id": child_id, "periods": 3},)]


def test_edit_keeps_a_guardians_row_adds_and_removes_them(am):
    """A guardian is updated in place (parents' accounts will link to its row); one emptied on the
    form loses its row, one filled in gets one."""
    sign_in(am)
    declare(am)
    (child_id,) = child_ids(am)
    ((first_id,),) = am.query(select(Guardian.id))
    second = {"rl2-civilite": "Monsieur", "rl2-nom": "ENFANTGARDE", "rl2-prenom": "Papa", "rl2-telephone": "0623456789"}
    response = am.post(f"/espace/enfants/{child_id}/modifier", declaration(**{"rl1-prenom": "Mamie", **second}))
    assert response.status_code == 303
    rows = am.query(select(Guardian.id, Guardian.position, Guardian.first_name, Guardian.phone).order_by(Guardian.position))
    assert rows[0] == (first_id, 1, "Mamie", "0612345678") and rows[1][1:] == (2, "Papa", "0623456789")
    view = text_of(am.client.get(f"/espace/enfants/{child_id}"))
    assert "Mamie" in view and "Papa" in view

    emptied = {f"rl1-{field}": "" for field in ("civilite", "nom", "prenom", "courriel", "telephone")}
    response = am.post(f"/espace/enfants/{child_id}/modifier", declaration(**emptied, **second))
    assert response.status_code == 303
    assert am.query(select(Guardian.position, Guardian.first_name)) == [(2, "Papa")]
    edit = text_of(am.client.get(f"/espace/enfants/{child_id}/modifier"))
    assert 'value="Papa"' in edit and 'value="Mamie"' not in edit


def test_delete_with_confirmation(am):
    sign_in(am)
    declare(am)
    (child_id,) = child_ids(am)
    confirm = am.client.get(f"/espace/enfants/{child_id}/supprimer")
    assert confirm.status_code == 200 and "Anna ENFANTGARDE" in text_of(confirm)
    assert count(am, Child) == 1  # a GET deletes nothing
    response = am.post(f"/espace/enfants/{child_id}/supprimer", {})
    assert response.status_code == 303 and response.headers["location"] == "/espace/enfants?info=deleted"
    assert count(am, Child) == 0 and count(am, CarePeriod) == 0 and count(am, Guardian) == 0
    assert am.client.get(f"/espace/enfants/{child_id}").status_code == 404
    assert am.query(select(AuditEvent.detail).where(AuditEvent.type == "child.deleted")) == [({"child_id": child_id},)]


def test_history_after_the_end_date_is_read_only(am, frozen_clock):
    sign_in(am)
    declare(am, **{"periode-0-fin": "15/11/2026"})
    (child_id,) = child_ids(am)
    current, history = sections(am)
    assert "ENFANTGARDE" in current

    frozen_clock.advance(days=30)  # 2 December: both periods are over
    am.login("06-AM-0117", GOOD)
    current, history = sections(am)
    assert "ENFANTGARDE" not in current and "ENFANTGARDE" in history
    assert f'href="/espace/enfants/{child_id}"' in history
    assert f"/espace/enfants/{child_id}/modifier" not in history and f"/espace/enfants/{child_id}/supprimer" not in history
    view = am.client.get(f"/espace/enfants/{child_id}")
    assert view.status_code == 200 and "/modifier" not in view.text.split('id="contenu"')[1]
    assert am.client.get(f"/espace/enfants/{child_id}/modifier").status_code == 404
    assert am.post(f"/espace/enfants/{child_id}/modifier", declaration(), form_path="/espace/enfants").status_code == 404
    assert am.post(f"/espace/enfants/{child_id}/supprimer", {}, form_path="/espace/enfants").status_code == 404
    assert count(am, Child) == 1 and count(am, CarePeriod) == 2


def test_another_assistant_never_sees_the_child(am, portal_for):
    sign_in(am)
    declare(am)
    (child_id,) = child_ids(am)

    neighbour = portal_for(SLUG)
    neighbour.client.cookies.clear()
    sign_in(neighbour, "06-AM-0118", "autre.assistante@example.org")
    eure = portal_for("eure-et-loir")
    eure_flow.active_account(eure)
    assert eure_flow.login(eure, eure_flow.PMI_NUMBER, eure_flow.GOOD).status_code == 303
    for other in (neighbour, eure):
        listing = other.client.get("/espace/enfants")
        if listing.status_code == 303:
            pytest.fail(f"{other.slug}: not signed in ({listing.headers['location']})")
        assert listing.status_code == 200 and "ENFANTGARDE" not in text_of(listing)
        for path in ("", "/modifier", "/supprimer"):
            assert other.client.get(f"/espace/enfants/{child_id}{path}").status_code == 404
        assert other.post(f"/espace/enfants/{child_id}/modifier", declaration(**{"enfant-nom": "PIRATE"}),
                          form_path="/espace/enfants").status_code == 404
        assert other.post(f"/espace/enfants/{child_id}/supprimer", {}, form_path="/espace/enfants").status_code == 404
    assert am.query(select(Child.last_name)) == [("ENFANTGARDE",)] and count(am, CarePeriod) == 2
    assert "ENFANTGARDE" in sections(am)[0]


def test_tenant_without_the_feature_answers_404(portal_for):
    gers = portal_for("gers")
    for path in ("/espace/enfants", "/espace/enfants/nouveau", "/espace/enfants/1", "/espace/enfants/1/modifier",
                 "/espace/enfants/1/supprimer"):
        assert gers.client.get(path).status_code == 404


def test_anonymous_is_sent_to_sign_in(am):
    response = am.client.get("/espace/enfants")
    assert response.status_code == 303 and response.headers["location"].startswith("/connexion?next=%2Fespace%2Fenfants")


def test_posts_require_the_csrf_token(am):
    sign_in(am)
    declare(am)
    (child_id,) = child_ids(am)
    for path, data in (("/espace/enfants/nouveau", declaration()),
                       (f"/espace/enfants/{child_id}/modifier", declaration(**{"enfant-nom": "AUTRE"})),
                       (f"/espace/enfants/{child_id}/supprimer", {"confirmer": "1"})):
        assert am.client.post(path, data=data).status_code == 403
        assert am.client.post(path, data={**data, "csrf_token": "forged"}).status_code == 403
    assert am.query(select(Child.last_name)) == [("ENFANTGARDE",)] and count(am, CarePeriod) == 2


def test_unknown_or_huge_ids_are_404(am):
    sign_in(am)
    for child_id in ("999", "99999999999999999999"):
        assert am.client.get(f"/espace/enfants/{child_id}").status_code == 404
    assert re.search(r"Aucun enfant|Ajouter ou modifier un enfant", text_of(am.client.get("/espace/enfants")))
