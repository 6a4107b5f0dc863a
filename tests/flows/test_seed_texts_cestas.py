"""Seed 003 (Portail Familles, Ville de Cestas): every title, label, button, hint and message the
guide shows, on the screens and in the email, as a family reaches them."""

from __future__ import annotations

import re

from tests.support.screens import Screens, mail_text, missing_texts

SLUG = "cestas"
GOOD = "Pins#Landes33"
ID = "famille.martin"
EMAIL = "martin.famille@example.fr"

RULES = [
    "Au minimum 8 caractères alpha-numériques (symboles autorisés, pas d'espace)",
    "Au moins 1 lettre en minuscule",
    "Au moins 1 lettre en majuscule",
    "Au moins 1 chiffre",
    "Au maximum 30 caractères",
]
NEW_PASSWORD_SCREEN = [
    "Mise à jour de sécurité : Mon mot de passe",
    "Mise à jour de votre mot de passe",
    "Votre mot de passe doit respecter les règles suivantes :",
    *RULES,
    "Saisir le nouveau mot de passe",
    "Confirmez le mot de passe",
    "Annuler et quitter",
    "Je me connecte au Portail Familles",
]

SEEN = [
    # CAS N° 1
    ("login", "Portail Familles"),
    ("login", "Authentification"),
    ("login", "Votre identifiant"),
    ("login", "Mot de passe"),
    ("login", "Se connecter"),
    ("login", "Vous avez oublié ou perdu votre mot de passe ?"),
    ("login", "Réinitialiser votre mot de passe"),
    ("forgot", "Portail Familles"),
    # The seed writes « Rénitialisation » and « l'adresse courriel associé »: corrected here.
    ("forgot", "Réinitialisation de mot de passe"),
    ("forgot", "Pour réinitialiser votre mot de passe, veuillez saisir votre identifiant de connexion et l'adresse courriel associée à votre profil."),
    ("forgot", "Votre identifiant"),
    ("forgot", "Votre adresse courriel"),
    ("forgot", "Valider"),
    ("forgot", "Annuler"),
    ("forgot_sent", "Si les informations fournies sont valides, un courriel vous sera envoyé à l'adresse associée à votre compte. Veuillez consulter votre messagerie et cliquer sur le lien contenu dans ce message afin de réinitialiser votre mot de passe."),
    ("forgot_sent", "Vous pourrez alors vous connecter à nouveau avec ce nouveau mot de passe."),
    ("forgot_sent", "Si vous ne recevez pas de message, vérifiez dans votre dossier de \"Spams\" ou recommencez ultérieurement."),
    ("forgot_sent", "Je me connecte"),
    ("reset_mail_subject", "Réinitialisation de votre mot de passe"),
    ("reset_mail", "Vous avez demandé à réinitialiser votre mot de passe."),
    ("reset_mail", "Veuillez cliquer sur le lien ci-dessous :"),
    ("reset_mail", "Vous pourrez modifier votre mot de passe."),
    ("reset_mail", "Attention, ce lien est valable pendant 48H à compter de la demande de réinitialisation du mot de passe."),
    ("reset_mail", "Si vous n'êtes pas à l'origine de cette demande, veuillez ignorer ce message."),
    ("reset_page", "Afin de sécuriser votre compte, nous devons réinitialiser votre mot de passe."),
    *[("reset_page", words) for words in NEW_PASSWORD_SCREEN],
    # CAS N° 2: a password from before the 4 November 2020 update
    ("legacy", "Afin de sécuriser votre compte, vous devez réinitialiser votre mot de passe."),
    *[("legacy", words) for words in NEW_PASSWORD_SCREEN],
    # « Contactez-nous au 07 77 82 20 37 ou au 05 56 78 13 00 poste 128 et 151 »
    ("footer", "07 77 82 20 37"),
    ("footer", "05 56 78 13 00"),
]

# Not screens of this product: the link to https://cestas.carteplus.fr and the « Compte Famille »
# icon of www.mairie-cestas.fr (the portal is now served on the Ville's own host).


def steps(portal):
    def forgot_sent(s: Screens) -> str:
        portal.create_account(ID, GOOD, email=EMAIL)
        return s.post("/mot-de-passe-oublie", {"identifiant": ID, "email": EMAIL}, expect=303)

    def reset_mail(s: Screens) -> str:
        s["forgot_sent"]
        mail = s.next_mail()
        s.seen["reset_mail_subject"] = str(mail["subject"])
        return mail_text(mail)

    def reset_page(s: Screens) -> str:
        path = re.search(r"http://cestas\.localhost(/reinitialisation/[A-Za-z0-9_-]+)", s["reset_mail"]).group(1)
        return s.get(path)

    def legacy(s: Screens) -> str:
        account, _ = portal.create_account("famille.ancienne", "vieux2019", email="ancienne@example.fr")
        portal.update_account(account.id, needs_security_update=True)
        s.fresh_browser()
        s.post("/connexion", {"identifiant": "famille.ancienne", "mot_de_passe": "vieux2019"}, expect=303)
        return s.get("/changement-mot-de-passe")

    return {
        "login": lambda s: s.get("/connexion"),
        "footer": lambda s: s.get("/"),
        "forgot": lambda s: s.get("/mot-de-passe-oublie"),
        "forgot_sent": forgot_sent,
        "reset_mail": reset_mail,
        "reset_mail_subject": lambda s: (s["reset_mail"], s.seen["reset_mail_subject"])[1],
        "reset_page": reset_page,
        "legacy": legacy,
    }


def test_cestas_screens_show_the_seed_words(portal_for, smtp_server):
    portal = portal_for(SLUG)
    screens = Screens(portal, smtp_server, steps(portal))
    missing = missing_texts(screens, SEEN)
    assert not missing, "\n".join(missing)


def test_cestas_footer_phone_numbers_are_each_their_own_tel_link(portal_for):
    """Item 10: « 07 77 82 20 37 ou 05 56 78 13 00 (postes 128 et 151) » made one broken link."""
    page = portal_for(SLUG).client.get("/").text
    assert '<a href="tel:+33777822037">07 77 82 20 37</a> ou <a href="tel:+33556781300">05 56 78 13 00</a> (postes 128 et 151)' in page
    assert all(href.startswith("tel:+33") and re.fullmatch(r"tel:\+33\d{9}", href) for href in re.findall(r'href="(tel:[^"]*)"', page))
