"""What a family account is for (portal.families), on mon-enfant (parents and the public search):
favourites from the fiche and the results, saved searches read again by the search page, the
alerts (frozen clock, real SMTP: once per new match), contact requests that never reveal an
address its owner did not share (body, headers, pages), the rate limit, the assistant's on/off,
« Mes données », and isolation between families and tenants."""

from __future__ import annotations

import os
import re
from datetime import date, timedelta
from urllib.parse import urlencode

import pytest
from sqlalchemy import select

from assmat.auth import credentials
from assmat.core import clock
from assmat.core.mail.links import mail_base_url
from assmat.core.mail.models import OutboxMail
from assmat.portal.availability.rules import Place
from assmat.portal.families.models import ContactRequest, Favourite, SavedSearch
from assmat.portal.families.service import send_alerts
from assmat.portal.publication.service import record_choice
from tests.conftest import smtp_settings
from tests.portal.test_directory import AUCH, PAVIE, assistant, declare
from tests.support.portal import CSRF, text_of
from tests.support.site import PASSWORD, signed_in_portal

pytestmark = pytest.mark.both_backends

MON_ENFANT = "mon-enfant"
FAMILY_EMAIL = "famille.durand@example.org"
ASSISTANT_EMAIL = "anne.consent@example.org"
SEARCH = {"commune": "Auch (32000)", "rayon": "5"}


@pytest.fixture
def settings(tmp_path, database_url, smtp_server):
    return smtp_settings(tmp_path, database_url, smtp_server)


def published(portal, last_name: str, at=AUCH, email: str | None = None):
    account = assistant(portal, last_name, at=at, choice="consent")
    if email:
        portal.update_account(account.id, email=email)
    return portal.account(account.id)


def family(portal_for, email: str = FAMILY_EMAIL):
    portal, account = signed_in_portal(portal_for, MON_ENFANT, email, kind="parent", email=email,
                                       first_name="Claire", last_name="Durand")
    return portal, account


def public_id(portal, account) -> str:
    from assmat.portal.profile.models import Fiche

    return portal.query(select(Fiche.public_id).where(Fiche.tenant_id == portal.slug, Fiche.account_id == account.id))[0][0]


def post_from(portal, page_path: str, action: str, data: dict[str, str]):
    """Post the form of `page_path` whose action is `action`, as a browser would, with its token."""
    page = portal.client.get(page_path)
    assert page.status_code == 200, (page_path, page.status_code)
    assert f'action="{action}"' in page.text, (action, page_path)
    token = CSRF.search(page.text).group(1)
    return portal.client.post(action, data={"csrf_token": token, **data})


def alerts(portal) -> int:
    async def call():
        async with portal.app.state.sessionmaker() as db:
            count = await send_alerts(db, portal.tenant, None, base_url=mail_base_url(portal.app.state.settings, portal.tenant))
            await db.commit()
            return count

    return portal.run(call)


def whole(mail) -> str:
    return str(mail)  # every header and every part, as delivered


# -- favourites ------------------------------------------------------------------------------------------

def test_a_family_keeps_favourites_from_the_fiche_and_the_results(portal_for, frozen_clock, smtp_server):
    anne = published(portal_for(MON_ENFANT), "Favorite")
    portal, _family = family(portal_for)
    pid = public_id(portal, anne)

    fiche = portal.client.get(f"/assistants/{pid}")
    assert "Ajouter à mes favoris" in text_of(fiche)
    added = post_from(portal, f"/assistants/{pid}", "/espace/favoris/ajouter",
                      {"fiche": pid, "retour": f"/assistants/{pid}"})
    assert added.status_code == 303 and added.headers["location"].startswith(f"/assistants/{pid}?")
    again = text_of(portal.client.get(added.headers["location"]))
    assert "Retirer de mes favoris" in again and "La fiche a été ajoutée à vos favoris." in again

    results = portal.client.get("/recherche", params=SEARCH)
    assert "Retirer de mes favoris" in text_of(results) and "Enregistrer cette recherche" in text_of(results)
    mine = text_of(portal.client.get("/espace/favoris"))
    assert "Anne Favorite" in mine and "32000 Auch" in mine

    back = f"/recherche?{urlencode(SEARCH)}"
    removed = post_from(portal, back, "/espace/favoris/retirer", {"fiche": pid, "retour": back})
    assert removed.status_code == 303 and removed.headers["location"].startswith("/recherche?")
    assert "Ajouter à mes favoris" in text_of(portal.client.get(back))
    assert portal.query(select(Favourite.id).where(Favourite.tenant_id == portal.slug)) == []


def test_a_fiche_no_longer_published_says_so_without_its_data(portal_for, frozen_clock, smtp_server):
    anne = published(portal_for(MON_ENFANT), "Retiree")
    portal, _family = family(portal_for)
    pid = public_id(portal, anne)
    post_from(portal, f"/assistants/{pid}", "/espace/favoris/ajouter", {"fiche": pid, "retour": "/espace/favoris"})

    async def withdraw(db):
        await record_choice(db, portal.tenant, await db.get(type(anne), anne.id), "consent_withdrawn", source="form")
        await db.commit()

    async def call():
        async with portal.app.state.sessionmaker() as db:
            await withdraw(db)

    portal.run(call)
    page = text_of(portal.client.get("/espace/favoris"))
    assert "Fiche plus publiée" in page and "Anne Retiree" not in page and "Auch" not in page
    # and a fiche that is not published cannot be added
    assert post_from(portal, "/espace/favoris", "/espace/favoris/retirer", {"fiche": pid}).status_code == 303
    refused = portal.post("/espace/favoris/ajouter", {"fiche": pid}, form_path="/espace/favoris")
    assert refused.status_code == 404


# -- saved searches and alerts ------------------------------------------------------------------------------

def test_a_search_is_saved_from_its_results_and_run_again(portal_for, frozen_clock, smtp_server):
    portal, _family = family(portal_for)
    published(portal, "Chercheuse")
    back = f"/recherche?{urlencode(SEARCH)}"
    page = portal.client.get(back)
    query = re.search(r'name="requete" value="([^"]+)"', page.text).group(1)
    saved = post_from(portal, back, "/espace/recherches/enregistrer", {"nom": "Près de l'école", "requete": query.replace("&amp;", "&")})
    assert saved.status_code == 303 and saved.headers["location"].startswith("/espace/recherches")
    listed = portal.client.get("/espace/recherches")
    assert "Près de l'école" in text_of(listed)
    link = re.search(r'href="(/recherche\?[^"]+)"', listed.text).group(1).replace("&amp;", "&")
    assert "Anne Chercheuse" in text_of(portal.client.get(link))
    (row,) = portal.query(select(SavedSearch).where(SavedSearch.tenant_id == portal.slug))
    assert row[0].query == "commune=Auch+%2832000%29&rayon=5"


@pytest.mark.parametrize("name, query, field_message", [
    ("", "commune=Auch+%2832000%29&rayon=5", "Donnez un nom à cette recherche"),
    ("Ma recherche", "commune=Nulle-part-du-tout&rayon=5", "Cette recherche contient des erreurs"),
    ("Ma recherche", "rayon=7", "Cette recherche contient des erreurs"),
    ("x" * 101, "commune=32000", "Donnez un nom à cette recherche"),
])
def test_a_wrong_search_or_name_is_refused_in_french_and_nothing_is_kept(portal_for, frozen_clock, smtp_server,
                                                                         name, query, field_message):
    portal, _family = family(portal_for)
    response = portal.post("/espace/recherches/enregistrer", {"nom": name, "requete": query}, form_path="/espace/recherches")
    assert response.status_code == 400 and field_message in text_of(response)
    assert portal.query(select(SavedSearch.id).where(SavedSearch.tenant_id == portal.slug)) == []


def test_alerts_tell_each_new_match_and_each_coming_place_once(portal_for, frozen_clock, smtp_server):
    portal, _family = family(portal_for)
    known = published(portal, "Connue")  # matches when the search is saved: the family has seen her
    back = f"/recherche?{urlencode(SEARCH)}"
    assert post_from(portal, back, "/espace/recherches/enregistrer",
                     {"nom": "Auch", "requete": urlencode(SEARCH)}).status_code == 303
    assert alerts(portal) == 0

    first = published(portal, "Nouvelle", at=PAVIE)
    assert alerts(portal) == 1
    (mail,) = smtp_server.wait_for(1)
    body = mail.get_body(("plain",)).get_content()
    assert mail["To"] == FAMILY_EMAIL and "mon-enfant.fr" in mail["From"] and mail["Reply-To"] is None
    assert "« Auch »" in mail["Subject"] and "Anne Nouvelle" in body and "Connue" not in body
    assert f"http://mon-enfant.localhost/assistants/{public_id(portal, first)}" in body
    assert "12 rue des Lilas" not in whole(mail)  # nothing the public fiche does not show... nor her address

    assert alerts(portal) == 0  # a second run: nothing new

    # A place declared for later: told once, when it comes within the window.
    declare(portal, known, Place("plus_18_mois", 1, clock.today() + timedelta(days=45), None, "regulier", frozenset()))
    assert alerts(portal) == 0
    frozen_clock.advance(days=20)
    assert alerts(portal) == 1
    mails = smtp_server.wait_for(2)
    coming = mails[-1].get_body(("plain",)).get_content()
    free_from = (date(2026, 11, 2) + timedelta(days=45)).strftime("%d/%m/%Y")
    assert "Anne Connue" in coming and f"une place se libère le {free_from}" in coming
    assert alerts(portal) == 0

    published(portal, "Troisieme")
    assert alerts(portal) == 1
    last = smtp_server.wait_for(3)[-1].get_body(("plain",)).get_content()
    assert "Anne Troisieme" in last and "Nouvelle" not in last and "Connue" not in last
    assert len(smtp_server.wait_for(3)) == 3


def test_the_alerts_command_runs_from_cron(portal_for, frozen_clock, smtp_server, settings, tmp_path):
    from tests.test_cli import run

    portal, _family = family(portal_for)
    post_from(portal, f"/recherche?{urlencode(SEARCH)}", "/espace/recherches/enregistrer",
              {"nom": "Auch", "requete": urlencode(SEARCH)})
    published(portal, "Cron")
    env = {**os.environ, "ASSMAT_VAR_DIR": str(tmp_path / "cli"), "ASSMAT_DATABASE_URL": settings.database_url,
           "ASSMAT_MAIL_BACKEND": "file"}
    first = run("alerts-send", env=env)
    assert first.returncode == 0, first.stderr
    assert "mon-enfant : 1 alerte(s)" in first.stdout and "gers" not in first.stdout
    again = run("alerts-send", "mon-enfant", env=env)
    assert again.returncode == 0 and "mon-enfant : 0 alerte(s)" in again.stdout
    assert portal.query(select(OutboxMail.template).where(OutboxMail.tenant_id == portal.slug,
                                                          OutboxMail.template == "search_alert")) == [("search_alert",)]
    unknown = run("alerts-send", "nulle-part", env=env)
    assert unknown.returncode == 1 and "ERREUR tenant inconnu : nulle-part" in unknown.stderr


# -- contact requests --------------------------------------------------------------------------------------

def contact(portal, pid: str, **fields: str):
    return post_from(portal, f"/assistants/{pid}/contact", f"/assistants/{pid}/contact",
                     {"message": "Bonjour, avez-vous une place en janvier ?", **fields})


def test_a_contact_request_never_reveals_the_address_the_family_did_not_share(portal_for, frozen_clock, smtp_server):
    anne = published(portal_for(MON_ENFANT), "Contactee", email=ASSISTANT_EMAIL)
    portal, _family = family(portal_for)
    pid = public_id(portal, anne)
    fiche = text_of(portal.client.get(f"/assistants/{pid}"))
    assert "Contacter cette assistante maternelle" in fiche
    form = portal.client.get(f"/assistants/{pid}/contact")
    assert 'name="partager-email" value="1">' in form.text  # unchecked by default

    sent = contact(portal, pid, telephone="06 12 34 56 78")
    assert sent.status_code == 303 and "Votre message a été envoyé" in text_of(portal.client.get(sent.headers["location"]))
    (mail,) = smtp_server.wait_for(1)
    assert mail["To"] == ASSISTANT_EMAIL and mail["Reply-To"] is None
    assert FAMILY_EMAIL not in whole(mail) and "famille.durand" not in whole(mail)
    assert "avez-vous une place en janvier" in mail.get_body(("plain",)).get_content()
    assert "06 12 34 56 78" in mail.get_body(("plain",)).get_content()

    shared = contact(portal, pid, **{"partager-email": "1"})
    assert shared.status_code == 303
    second = smtp_server.wait_for(2)[-1]
    assert FAMILY_EMAIL in second.get_body(("plain",)).get_content() and second["Reply-To"] is None

    # Her space: the requests, the family's address only where it was shared.
    portal_her = portal_for(MON_ENFANT)
    portal_her.service_call(credentials.set_password, portal_her.account(anne.id), PASSWORD, None, "test")
    assert portal_her.login(anne.identifier, PASSWORD).status_code == 303
    requests = portal_her.client.get("/espace/demandes")
    assert requests.status_code == 200 and "avez-vous une place en janvier" in text_of(requests)
    assert FAMILY_EMAIL not in requests.text

    (first_id,) = [row[0] for row in portal.query(select(ContactRequest.id).where(
        ContactRequest.tenant_id == portal.slug, ContactRequest.share_email.is_(False)))]
    answered = post_from(portal_her, "/espace/demandes", f"/espace/demandes/{first_id}/repondre",
                         {"reponse": "Oui, appelez-moi le soir."})
    assert answered.status_code == 303
    answer = smtp_server.wait_for(3)[-1]
    assert answer["To"] == FAMILY_EMAIL and answer["Reply-To"] is None
    assert ASSISTANT_EMAIL not in whole(answer) and "Oui, appelez-moi le soir." in answer.get_body(("plain",)).get_content()
    assert "Oui, appelez-moi le soir." in text_of(portal.client.get("/espace/mes-donnees"))

    # She turns requests off: no button, no form.
    assert post_from(portal_her, "/espace/demandes", "/espace/demandes/reglage", {}).status_code == 303
    assert "Contacter cette assistante maternelle" not in text_of(portal.client.get(f"/assistants/{pid}"))
    assert portal.client.get(f"/assistants/{pid}/contact").status_code == 404


def test_contact_requests_are_rate_limited_in_french(portal_for, frozen_clock, smtp_server):
    anne = published(portal_for(MON_ENFANT), "Limitee", email=ASSISTANT_EMAIL)
    portal, _family = family(portal_for)
    pid = public_id(portal, anne)
    for _ in range(5):
        assert contact(portal, pid).status_code == 303
    refused = contact(portal, pid)
    assert refused.status_code == 429 and "plusieurs demandes de contact aujourd'hui" in text_of(refused)
    assert len(portal.query(select(ContactRequest.id).where(ContactRequest.tenant_id == portal.slug))) == 5


def test_a_wrong_contact_form_is_refused_in_french_and_nothing_is_sent(portal_for, frozen_clock, smtp_server):
    anne = published(portal_for(MON_ENFANT), "Erreur", email=ASSISTANT_EMAIL)
    portal, _family = family(portal_for)
    pid = public_id(portal, anne)
    empty = contact(portal, pid, message="", telephone="appelez-moi")
    page = text_of(empty)
    assert empty.status_code == 400 and "Veuillez écrire votre message" in page and "Ce numéro de téléphone" in page
    assert portal.query(select(ContactRequest.id).where(ContactRequest.tenant_id == portal.slug)) == []
    assert portal.query(select(OutboxMail.id).where(OutboxMail.tenant_id == portal.slug,
                                                    OutboxMail.template == "contact_request")) == []


# -- « Mes données » and isolation ---------------------------------------------------------------------------

def test_my_data_shows_everything_and_deletes_each_item(portal_for, frozen_clock, smtp_server):
    anne = published(portal_for(MON_ENFANT), "Donnees", email=ASSISTANT_EMAIL)
    portal, _family = family(portal_for)
    pid = public_id(portal, anne)
    post_from(portal, f"/assistants/{pid}", "/espace/favoris/ajouter", {"fiche": pid, "retour": f"/assistants/{pid}"})
    post_from(portal, f"/recherche?{urlencode(SEARCH)}", "/espace/recherches/enregistrer",
              {"nom": "Ma recherche", "requete": urlencode(SEARCH)})
    contact(portal, pid)
    dashboard = text_of(portal.client.get("/espace"))
    assert 'href="/espace/mes-donnees"' in dashboard and 'href="/espace/favoris"' in dashboard
    page = text_of(portal.client.get("/espace/mes-donnees"))
    assert "Anne Donnees" in page and "Ma recherche" in page and "avez-vous une place" in page
    assert "Adresse électronique non partagée" in page

    (search_id,) = [r[0] for r in portal.query(select(SavedSearch.id).where(SavedSearch.tenant_id == portal.slug))]
    (request_id,) = [r[0] for r in portal.query(select(ContactRequest.id).where(ContactRequest.tenant_id == portal.slug))]
    assert post_from(portal, "/espace/mes-donnees", f"/espace/mes-donnees/demandes/{request_id}/supprimer", {}
                     ).status_code == 303
    assert post_from(portal, "/espace/mes-donnees", f"/espace/recherches/{search_id}/supprimer",
                     {"retour": "/espace/mes-donnees"}).headers["location"].startswith("/espace/mes-donnees")
    assert post_from(portal, "/espace/mes-donnees", "/espace/favoris/retirer",
                     {"fiche": pid, "retour": "/espace/mes-donnees"}).status_code == 303
    page = text_of(portal.client.get("/espace/mes-donnees"))
    assert "Aucun favori." in page and "Aucune recherche enregistrée." in page and "Aucune demande de contact." in page


def test_a_family_never_sees_nor_deletes_another_s_items(portal_for, frozen_clock, smtp_server):
    anne = published(portal_for(MON_ENFANT), "Partagee", email=ASSISTANT_EMAIL)
    first, _ = family(portal_for)
    pid = public_id(first, anne)
    post_from(first, f"/assistants/{pid}", "/espace/favoris/ajouter", {"fiche": pid, "retour": "/espace/favoris"})
    post_from(first, f"/recherche?{urlencode(SEARCH)}", "/espace/recherches/enregistrer",
              {"nom": "Secrète", "requete": urlencode(SEARCH)})
    contact(first, pid, message="Message privé de la première famille")
    (search_id,) = [r[0] for r in first.query(select(SavedSearch.id).where(SavedSearch.tenant_id == first.slug))]
    (request_id,) = [r[0] for r in first.query(select(ContactRequest.id).where(ContactRequest.tenant_id == first.slug))]

    other, _ = family(portal_for, "autre.famille@example.org")
    for path in ("/espace/favoris", "/espace/recherches", "/espace/mes-donnees"):
        page = text_of(other.client.get(path))
        assert "Secrète" not in page and "Message privé" not in page and "Anne Partagee" not in page
    assert other.post(f"/espace/recherches/{search_id}/supprimer", {}, form_path="/espace/recherches").status_code == 404
    assert other.post(f"/espace/mes-donnees/demandes/{request_id}/supprimer", {},
                      form_path="/espace/mes-donnees").status_code == 404
    other.post("/espace/favoris/retirer", {"fiche": pid}, form_path="/espace/favoris")
    assert len(first.query(select(Favourite.id).where(Favourite.tenant_id == first.slug))) == 1
    assert len(first.query(select(SavedSearch.id).where(SavedSearch.tenant_id == first.slug))) == 1
    assert len(first.query(select(ContactRequest.id).where(ContactRequest.tenant_id == first.slug))) == 1


def test_tenants_without_families_have_none_of_these_pages(portal_for, frozen_clock, smtp_server):
    gers, _ = signed_in_portal(portal_for, "gers", "AGR-2026-0999", kind="parent")
    for path in ("/espace/favoris", "/espace/recherches", "/espace/mes-donnees", "/espace/demandes"):
        assert gers.client.get(path).status_code == 404, path
    assert "Mes favoris" not in text_of(gers.client.get("/espace"))
    # an assistant of mon-enfant has no family pages, a family no requests page
    portal, _ = signed_in_portal(portal_for, MON_ENFANT, "assistante.seule@example.org")
    assert portal.client.get("/espace/favoris").status_code == 404
    assert portal.client.get("/espace/demandes").status_code == 200
    family_portal, _ = family(portal_for)
    assert family_portal.client.get("/espace/demandes").status_code == 404
