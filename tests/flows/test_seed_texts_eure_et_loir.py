"""Seed 002 (Espace pro assmat28, Eure-et-Loir): every title, label, button, hint and message the
questions-réponses page shows on a screen the product has, as the user reaches it."""

from __future__ import annotations

import re
from datetime import UTC, datetime

from tests.flows.test_eure_et_loir import PMI_NUMBER, pmi_account, post_with_captcha
from tests.support.screens import Screens, missing_texts, visible_text

SLUG = "eure-et-loir"
GOOD = "Cathedrale#Beauce28"

HELP = (
    "Vous devez être en possession de l'identifiant individuel remis par les services de la PMI aux "
    "assistant·es maternel·les en activité et titulaires d'un agrément. Il s'agit d'un numéro à 6 chiffres "
    "qui vous permettra d'activer votre compte lors de votre première visite, et de vous connecter lors des "
    "visites suivantes."
)
# The seed adds « et si la réponse à votre problème ne figure pas dans les questions-réponses
# ci-dessus »: there are no questions-réponses above on this page, so the clause is left out.
ASSISTANCE = (
    "En cas de difficulté à vous connecter, veuillez consulter la PMI centrale au 02 37 20 12 82 "
    "(horaires de bureau sauf le mercredi)."
)

SEEN = [
    ("login", "Authentification"),
    ("login", "Identifiant"),
    ("login", "Mot de passe"),
    ("login", "Cryptogramme de sécurité"),
    ("login", "Recopier le cryptogramme de sécurité"),
    ("login", "Recharger le cryptogramme de sécurité"),
    ("login", "Connexion à l'espace pro"),
    ("login", "J'ai oublié mon mot de passe"),
    ("login", HELP),
    ("login", "Assistance technique"),
    ("login", ASSISTANCE),
    # « Créez votre compte en deux étapes »
    ("activation", "Cette étape permet de vérifier que vous êtes déjà connu(e) de nos services."),
    ("activation", "Date de naissance"),
    ("activation_step2", "mail de confirmation va vous être envoyé"),
    # « J'ai oublié mon mot de passe »: the address used to sign in, a new password by mail
    ("forgot", "J'ai oublié mon mot de passe"),
    ("forgot", "Indiquez l'adresse e-mail avec laquelle vous vous connectez habituellement."),
    ("forgot", "Vous recevrez un mail avec votre nouveau mot de passe."),
    ("forgot", "Adresse e-mail"),
    ("forgot", "Recopier le cryptogramme de sécurité"),
    # « Comment modifier une information dans l'onglet Agrément ? »
    ("agrement", "Signaler un changement de situation"),
]

# For later issues (features not built yet): « France Connect » as a second means of
# identification and its explanation (« Utilisez le service d'identité numérique de l'Etat… »),
# « une maison d'assistant maternel » / « un relais d'assistant maternel » on the forgotten
# password (MAM and RAM accounts), the public fiche (« VOIR LES COORDONNÉES », « Présentation »,
# « Cadre d'accueil », « Géolocalisation »), the search engine, « Je ne souhaite pas apparaitre
# sur le site ». Obsolete: « Informations coronavirus - COVID-19 ».


def steps(portal):
    def activation_step2(s: Screens) -> str:
        pmi_account(portal)
        response = portal.post("/activation", {"identifiant": PMI_NUMBER, "date_naissance": "14/03/1975"})
        assert response.status_code == 303, response.text[:300]
        return s.get(response.headers["location"])

    def agrement(s: Screens) -> str:
        s["activation_step2"]
        active_account_id = "280418"
        account, _ = portal.create_account(active_account_id, GOOD, email="marie@example.fr")
        portal.update_account(account.id, email_confirmed_at=datetime.now(UTC))
        s.fresh_browser()
        response = post_with_captcha(portal, "/connexion", {"identifiant": active_account_id, "mot_de_passe": GOOD})
        assert response.status_code == 303, response.text[:300]
        return s.get("/espace/agrement")

    return {
        "login": lambda s: s.get("/connexion"),
        "activation": lambda s: s.get("/activation"),
        "activation_step2": activation_step2,
        "forgot": lambda s: s.get("/mot-de-passe-oublie"),
        "agrement": agrement,
    }


def test_eure_et_loir_screens_show_the_seed_words(portal_for, smtp_server):
    portal = portal_for(SLUG)
    screens = Screens(portal, smtp_server, steps(portal))
    missing = missing_texts(screens, SEEN)
    assert not missing, "\n".join(missing)


def test_eure_et_loir_assistance_phone_is_a_link(portal_for):
    page = portal_for(SLUG).client.get("/connexion").text
    assistance = re.search(r'<section aria-labelledby="titre-assistance">.*?</section>', page, re.S).group(0)
    assert '<a href="tel:+33237201282">02 37 20 12 82</a>' in assistance


def test_eure_et_loir_forgot_password_names_only_the_address_it_asks(portal_for):
    """Item 12: the form asks for the email address alone; its text spoke of an identifier."""
    page = portal_for(SLUG).client.get("/mot-de-passe-oublie").text
    main = visible_text(re.search(r"<main.*?</main>", page, re.S).group(0)).lower()
    assert 'name="email"' in page and 'name="identifiant"' not in page
    assert "identifiant" not in main
