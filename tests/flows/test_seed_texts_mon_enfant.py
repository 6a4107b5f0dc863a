"""Seed 004 (mon-enfant.fr, espace professionnel): every title, label, button, hint and message
the guide shows on a screen the product has, as the assistant reaches it."""

from __future__ import annotations

import re

from tests.support.screens import Screens, missing_texts, visible_text

SLUG = "mon-enfant"
GOOD = "Perpignan66"
EMAIL = "nadia.roca@example.fr"

SEEN = [
    # « Espace professionnel »
    ("login", "Espace professionnel"),
    ("login", "Vous êtes déjà habilité(e) ?"),
    ("login", "(* champ obligatoire)"),
    ("login", "Votre adresse électronique"),
    ("login", "Votre mot de passe"),
    ("login", "Se connecter"),
    ("login", "Modifier votre mot de passe"),
    ("login", "Mot de passe oublié ?"),
    # « Perte du mot de passe »
    ("forgot", "Mot de passe oublié ?"),
    ("forgot", "Votre adresse électronique"),
    ("forgot", "Saisir votre adresse électronique et le texte qui s'affiche, puis cliquer sur « Envoyer le mot de passe ». Vous recevrez votre nouveau mot de passe par un courriel et devrez à nouveau le modifier lors de la première utilisation."),
    ("forgot", "Recopiez le texte (lettres et/ou chiffres) qui apparaît dans l'emplacement ci-dessous. Cette démarche permet de sécuriser votre demande. Si vous n'y arrivez pas correctement, cliquez sur « Recommencer » et recopiez le nouveau texte qui s'affiche."),
    ("forgot", "Vérification du texte"),
    ("forgot", "Recommencer"),
    ("forgot", "Envoyer le mot de passe"),
    ("forgot", "Retour"),
    # « Réception du mot de passe »: personalised at the first login
    ("forced", "À la première connexion, le mot de passe est à personnaliser par un code d'accès composé de 8 caractères alphanumériques minimum."),
    ("forced", "Le mot de passe doit être sur 8 caractères minimum et contenir au moins un chiffre et une lettre"),
    # « Modification du mot de passe », reached from the public page
    ("change_password", "Modifier votre mot de passe"),
    ("change_password", "Votre mot de passe actuel"),
    ("change_password", "Votre nouveau mot de passe"),
    ("change_password", "Confirmez votre nouveau mot de passe"),
    ("change_password", "Le mot de passe doit être sur 8 caractères minimum et contenir au moins un chiffre et une lettre"),
    ("change_password", "Valider"),
    ("change_password", "Retour"),
    ("change_password", "Vos droits d'accès vous sont personnellement affectés. Vous ne devez jamais communiquer ni partager votre identifiant et votre mot de passe"),
    # « Durée d'une session utilisateur », « Clôture de session »
    ("account", "La durée d'une session utilisateur est de 30 minutes. Au-delà, sans aucune action de l'utilisateur, la session se ferme automatiquement et les données saisies sont perdues."),
    ("account", "Fermer la session"),
    ("dashboard", "Fermer la session"),
]

# For later issues (features not built yet): « Faites votre demande d'habilitation en ligne », the
# « Demande d'habilitation » form and its answer, « Cet espace vous permet de demander une
# habilitation pour afficher vos disponibilités… », « Télécharger la documentation », the
# « Assistantes maternelles » tab, « Indiquez les dispo… » and the three availability forms
# (disponibilité globale, à la semaine, en janvier et septembre), « Important : les guillemets ne
# font pas partie du mot de passe » (the emailed password is not quoted here).


def steps(portal):
    def forced(s: Screens) -> str:
        _, temporary = portal.create_account(EMAIL, temporary=True, email=EMAIL)
        s.fresh_browser()
        s.post("/connexion", {"identifiant": EMAIL, "mot_de_passe": temporary}, expect=303)
        page = s.get("/changement-mot-de-passe")
        s.post("/changement-mot-de-passe", {"mot_de_passe": GOOD, "confirmation": GOOD}, expect=303)
        return page

    def change_password(s: Screens) -> str:
        # From the public page, as the guide says: the link asks to sign in, then comes back.
        s["forced"]
        s.fresh_browser()
        login = portal.client.get("/connexion").text
        assert 'href="/espace/compte/mot-de-passe"' in login
        response = portal.client.get("/espace/compte/mot-de-passe")
        assert response.status_code == 303
        location = response.headers["location"]
        next_path = re.search(r"next=([^&]+)", location)
        data = {"identifiant": EMAIL, "mot_de_passe": GOOD}
        if next_path:
            from urllib.parse import unquote
            data["next"] = unquote(next_path.group(1))
        signed = portal.post("/connexion", data)
        assert signed.status_code == 303 and signed.headers["location"] == "/espace/compte/mot-de-passe", signed.headers
        return s.get("/espace/compte/mot-de-passe")

    return {
        "login": lambda s: s.get("/connexion"),
        "forgot": lambda s: s.get("/mot-de-passe-oublie"),
        "forced": forced,
        "change_password": change_password,
        "account": lambda s: (s["change_password"], s.get("/espace/compte"))[1],
        "dashboard": lambda s: (s["change_password"], s.get("/espace"))[1],
    }


def test_mon_enfant_screens_show_the_seed_words(portal_for, smtp_server):
    portal = portal_for(SLUG)
    screens = Screens(portal, smtp_server, steps(portal))
    missing = missing_texts(screens, SEEN)
    assert not missing, "\n".join(missing)


def test_mon_enfant_forgot_password_names_only_the_address_it_asks(portal_for):
    """Item 12: the form asks for the email address alone; its text spoke of an identifier."""
    page = portal_for(SLUG).client.get("/mot-de-passe-oublie").text
    main = visible_text(re.search(r"<main.*?</main>", page, re.S).group(0)).lower()
    assert 'name="email"' in page and 'name="identifiant"' not in page
    assert "identifiant" not in main
