"""« Ma fiche », its preview and the public fiche, through the HTTP pages: saved as typed, bad
input refused in French with nothing saved, hidden channels absent from the bytes parents get,
404 with the page of any unknown address for whatever is not a published fiche of this tenant,
and every fiche bound to its own assistant and tenant."""

from __future__ import annotations

import re

import pytest
from sqlalchemy import func, select

from assmat.core.security.models import AuditEvent
from assmat.portal.agrement.models import Agrement
from assmat.portal.profile.models import Fiche
from tests.support.portal import text_of
from tests.support.site import make_publishable, signed_in_portal

pytestmark = pytest.mark.both_backends

PHONE = "05 62 61 00 42"
EMAIL = "camille.prunier@example.org"
ADDRESS = "8 chemin des Pruniers"


def full_form(**changes: str | None) -> dict[str, str]:
    form = {
        "presentation": "Assistante maternelle depuis 2012, j'accueille les enfants dans une maison avec jardin.",
        "activites": "Peinture, lecture, jardinage.",
        "projet": "Respecter le rythme de chaque enfant.",
        "langues": "français, occitan",
        "logement": "maison", "etage": "0", "jardin": "1", "non-fumeur": "1", "animaux": "un chat",
        "tarif-horaire": "3,80", "indemnite-entretien": "3,50", "repas": "4",
        "offre-mercredi": "1", "offre-vacances_scolaires": "1", "offre-avant_7h": "1",
        "afficher-telephone": "1", "afficher-courriel": "1", "afficher-adresse": "1",
        "horaires-appel": "du lundi au vendredi, de 18 h à 20 h", "contact-si-place": "1",
    }
    form.update(changes)
    return {key: value for key, value in form.items() if value is not None}


def assistant(portal_for, slug: str = "gers", identifier: str = "AGR-2026-0042", *, publishable: bool = True, **fields):
    defaults = dict(email=EMAIL, phone=PHONE, address=ADDRESS, postal_code="32000", city="Auch",
                    first_name="Camille", last_name="Prunier")
    defaults.update(fields)
    portal, account = signed_in_portal(portal_for, slug, identifier, **{k: v for k, v in defaults.items()
                                                                         if k in ("email", "first_name", "last_name")})
    portal.update_account(account.id, **{k: v for k, v in defaults.items() if k in ("phone", "address", "postal_code", "city")})
    if publishable:  # a valid agrément, and her consent where the tenant asks for it
        make_publishable(portal, account)
    return portal, account


def fiche_row(portal, account_id: int) -> Fiche | None:
    rows = portal.query(select(Fiche).where(Fiche.tenant_id == portal.slug, Fiche.account_id == account_id))
    return rows[0][0] if rows else None


def count(portal, model) -> int:
    return portal.query(select(func.count()).select_from(model))[0][0]


def test_the_assistant_fills_her_fiche_and_parents_read_it(portal_for):
    portal, account = assistant(portal_for)
    page = portal.client.get("/espace/fiche")
    assert page.status_code == 200 and page.headers["cache-control"] == "no-store"
    text = text_of(page)
    for legend in ("Présentation", "Cadre d'accueil", "Tarifs", "Offre d'accueil", "Coordonnées visibles"):
        assert f"<legend>{legend}</legend>" in text
    assert "Contact seulement si une place est disponible" in text
    saved = portal.post("/espace/fiche", full_form())
    assert saved.status_code == 303 and saved.headers["location"] == "/espace/fiche?info=fiche_saved"
    assert "Votre fiche a été enregistrée." in text_of(portal.client.get(saved.headers["location"]))
    fiche = fiche_row(portal, account.id)
    assert re.fullmatch(r"[A-Za-z0-9_-]{12}", fiche.public_id)
    assert (fiche.hourly_rate_cents, fiche.housing, fiche.offer_mercredi, fiche.offer_nuit) == (380, "maison", True, False)
    assert count(portal, AuditEvent) and portal.query(select(AuditEvent.type).where(
        AuditEvent.tenant_id == "gers", AuditEvent.account_id == account.id, AuditEvent.type == "fiche.saved"))

    # Anyone on the Gers host reads it at its public address.
    visitor = portal_for("gers")
    public = visitor.client.get(f"/assistants/{fiche.public_id}")
    assert public.status_code == 200 and public.headers["cache-control"] == "private, max-age=300"
    body = text_of(public)
    for shown in ("Camille Prunier", PHONE, EMAIL, ADDRESS, "Peinture, lecture, jardinage.", "3,80 € par heure",
                  "Le mercredi", "Avant 7 h", "Contact seulement si une place est disponible.", "Maison, rez-de-chaussée",
                  "Animaux : un chat", "Carte : Auch", 'role="img"', "Fiche mise à jour le"):
        assert shown in body, shown
    assert "Adresse non communiquée" not in body

    # Signed in, the same page is never stored (it carries her session's forms).
    assert portal.client.get(f"/assistants/{fiche.public_id}").headers["cache-control"] == "no-store"

    # The preview is the same fiche with its banner, for her only.
    preview = text_of(portal.client.get("/espace/fiche/apercu"))
    assert "Aperçu" in preview and "Peinture, lecture, jardinage." in preview


def test_before_her_first_save_the_preview_shows_a_blank_fiche_and_nothing_is_stored(portal_for):
    portal, account = assistant(portal_for)
    preview = portal.client.get("/espace/fiche/apercu")
    assert preview.status_code == 200 and "Aperçu" in text_of(preview) and "Non renseigné." in text_of(preview)
    assert fiche_row(portal, account.id) is None


def test_a_hidden_address_and_email_never_reach_the_public_page(portal_for):
    portal, account = assistant(portal_for)
    assert portal.post("/espace/fiche", full_form(**{"afficher-courriel": None, "afficher-adresse": None})).status_code == 303
    public_id = fiche_row(portal, account.id).public_id
    raw = portal_for("gers").client.get(f"/assistants/{public_id}").content
    assert EMAIL.encode() not in raw and b"camille.prunier" not in raw
    assert ADDRESS.encode() not in raw and b"Pruniers" not in raw
    assert PHONE.encode() in raw
    assert "Adresse non communiquée : position approximative (centre de la commune)".encode() in raw
    assert b'class="fiche-map-ring"' in raw and b"fiche-map-marker" not in raw


def test_gers_refuses_hiding_both_email_and_phone_and_saves_nothing(portal_for):
    portal, account = assistant(portal_for)
    refused = portal.post("/espace/fiche", full_form(**{"afficher-courriel": None, "afficher-telephone": None}))
    assert refused.status_code == 400
    assert "Vous pouvez masquer votre courriel ou votre téléphone, mais pas les deux" in text_of(refused)
    assert fiche_row(portal, account.id) is None


def test_bad_input_is_refused_in_french_and_changes_nothing(portal_for):
    portal, account = assistant(portal_for)
    assert portal.post("/espace/fiche", full_form()).status_code == 303
    before = fiche_row(portal, account.id)
    refused = portal.post("/espace/fiche", full_form(presentation="Nouveau texte", etage="deux", repas="gratuit"))
    assert refused.status_code == 400
    text = text_of(refused)
    assert "Indiquez l'étage par un nombre (0 pour le rez-de-chaussée)." in text
    assert "Indiquez un montant en euros compris entre 0,50 et 30,00, par exemple 4,50." in text
    assert 'value="gratuit"' in text and "Nouveau texte" in text  # what she typed is kept on the page
    after = fiche_row(portal, account.id)
    assert (after.presentation, after.floor, after.meal_cents, after.updated_at) == (
        before.presentation, before.floor, before.meal_cents, before.updated_at)


def test_opt_out_may_hide_every_channel_and_shows_no_contact(portal_for):
    portal, account = assistant(portal_for, "eure-et-loir", "280042", postal_code="28000", city="Chartres")
    saved = portal.post("/espace/fiche", full_form(**{"afficher-courriel": None, "afficher-telephone": None,
                                                      "afficher-adresse": None}))
    assert saved.status_code == 303
    raw = portal_for("eure-et-loir").client.get(f"/assistants/{fiche_row(portal, account.id).public_id}").content
    assert PHONE.encode() not in raw and EMAIL.encode() not in raw and ADDRESS.encode() not in raw
    assert "Carte : Chartres".encode() in raw


def test_the_agrement_capacity_and_validity_are_shown(portal_for):
    from datetime import date

    portal, account = assistant(portal_for, publishable=False)  # published once her agrément is there
    portal.post("/espace/fiche", full_form())

    async def add():
        async with portal.app.state.sessionmaker() as db:
            db.add(Agrement(tenant_id="gers", account_id=account.id, number="AGR-2026-0042", capacity=4,
                            start_date=date(2021, 3, 1), end_date=date(2031, 2, 28)))
            await db.commit()

    portal.run(add)
    body = text_of(portal_for("gers").client.get(f"/assistants/{fiche_row(portal, account.id).public_id}"))
    assert "4 enfants" in body and "28/02/2031" in body


def test_what_is_no_published_fiche_of_this_tenant_is_the_page_of_any_unknown_address(portal_for):
    gers, gers_account = assistant(portal_for)
    gers.post("/espace/fiche", full_form())
    gers_id = fiche_row(gers, gers_account.id).public_id
    # mon-enfant publishes only with consent: her fiche exists but is not public.
    mon_enfant, me_account = assistant(portal_for, "mon-enfant", "camille.prunier@example.org", postal_code="66000",
                                       city="Perpignan", publishable=False)
    make_publishable(mon_enfant, me_account, consent=False)
    assert mon_enfant.post("/espace/fiche", full_form()).status_code == 303
    unconsented = fiche_row(mon_enfant, me_account.id).public_id

    visitor = portal_for("mon-enfant")
    for path in (f"/assistants/{unconsented}", f"/assistants/{gers_id}", "/assistants/AAAAAAAAAAAA",
                 "/assistants/%27%3B--", "/assistants/" + "x" * 300):
        response = visitor.client.get(path)
        assert response.status_code == 404, path
        # The page of an unknown address (its language links name the path asked for).
        unknown = visitor.client.get("/inconnue" + path)
        assert unknown.status_code == 404
        assert response.content == unknown.content.replace(b"/inconnue/", b"/"), path
    # Once she consents, it is public.
    assert mon_enfant.post("/espace/publication", {"choix": "consent"}).status_code == 303
    assert visitor.client.get(f"/assistants/{unconsented}").status_code == 200
    # The Gers fiche on the Gers host; never on another tenant's.
    assert portal_for("gers").client.get(f"/assistants/{gers_id}").status_code == 200
    assert portal_for("eure-et-loir").client.get(f"/assistants/{gers_id}").status_code == 404


@pytest.mark.parametrize("slug", ["alpes-maritimes", "cestas"])
def test_tenants_that_publish_nothing_have_no_fiche_pages(portal_for, slug):
    identifier = {"alpes-maritimes": "06-AM-0042", "cestas": "famille.fiche"}[slug]
    portal, _account = signed_in_portal(portal_for, slug, identifier)
    for path in ("/espace/fiche", "/espace/fiche/apercu", "/assistants/AAAAAAAAAAAA"):
        assert portal.client.get(path).status_code == 404, path
    assert "Ma fiche" not in text_of(portal.client.get("/espace"))


def test_each_assistant_reads_and_changes_only_her_own_fiche(portal_for):
    first, first_account = assistant(portal_for)
    first.post("/espace/fiche", full_form())
    second, second_account = assistant(portal_for, identifier="AGR-2026-0043", email="autre@example.org",
                                       first_name="Dominique", last_name="Autre")
    page = text_of(second.client.get("/espace/fiche"))
    assert "Peinture" not in page and "autre@example.org" in page and EMAIL not in page
    assert second.post("/espace/fiche", full_form(activites="Musique")).status_code == 303
    assert fiche_row(first, first_account.id).activities == "Peinture, lecture, jardinage."
    assert fiche_row(second, second_account.id).activities == "Musique"
    assert fiche_row(first, first_account.id).public_id != fiche_row(second, second_account.id).public_id
    preview = text_of(second.client.get("/espace/fiche/apercu"))
    assert "Musique" in preview and "Peinture" not in preview


def test_a_structure_account_has_no_fiche_of_its_own(portal_for):
    portal, account = signed_in_portal(portal_for, "eure-et-loir", "280077", email="mam.fiche@example.org")
    portal.update_account(account.id, kind="mam")
    assert portal.client.get("/espace/fiche").status_code == 404
    assert portal.client.get("/espace/fiche/apercu").status_code == 404


def test_the_dashboard_and_the_menu_lead_to_my_fiche(portal_for):
    portal, _account = assistant(portal_for)
    dashboard = portal.client.get("/espace").text
    assert 'href="/espace/fiche"' in dashboard and 'href="/espace/fiche/apercu"' in dashboard
    assert re.search(r'<nav class="site-nav".*href="/espace/fiche">Ma fiche</a>', dashboard, re.S)


def test_the_home_page_card_for_parents_says_something_true_and_links_nowhere_dead(portal_for):
    home = portal_for("gers").client.get("/")
    text = text_of(home)
    assert "Vous cherchez un mode de garde pour votre enfant ?" in text
    assert "La liste des assistants maternels agréés de votre commune est disponible auprès de votre mairie." in text
    card = re.search(r'<section class="card" aria-labelledby="titre-parents">.*?</section>', home.text, re.S).group(0)
    links = re.findall(r'<a [^>]*href="([^"]+)"', card)
    assert links == ["/recherche"]  # the parents' search, alive
    assert portal_for("gers").client.get(links[0]).status_code == 200


def test_the_public_fiche_shows_her_availability_in_the_tenant_forms(portal_for, frozen_clock):
    """Gers offers the global and weekly forms: parents read the label in words and the weeks;
    before any declaration, the grey « non renseignées »."""
    portal, _account = assistant(portal_for)
    assert portal.post("/espace/fiche", full_form()).status_code == 303
    public_id = portal.query(select(Fiche.public_id).where(Fiche.tenant_id == "gers"))[0][0]
    visitor = portal_for("gers")
    assert "Disponibilités non renseignées" in text_of(visitor.client.get(f"/assistants/{public_id}"))
    declared = portal.post("/espace/disponibilites", {
        "aucune-disponibilite": "", "place-0-tranche": "moins_18_mois", "place-0-nombre": "1", "place-0-debut": "",
        "place-0-fin": "", "place-0-type": "regulier", "place-0-j0-matin": "1", "action": "enregistrer",
    })
    assert declared.status_code == 303
    body = text_of(visitor.client.get(f"/assistants/{public_id}"))
    assert "Place disponible maintenant" in body and "Semaine du 02/11/2026 au 08/11/2026" in body
    assert "Janvier" not in body  # not a form the Gers offers
