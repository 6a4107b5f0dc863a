"""Seed 001 (Extranet AssMat, Alpes-Maritimes): every title, label, button, hint and message the
documentation shows on a screen the product has, as the user reaches it."""

from __future__ import annotations

import re
from datetime import UTC, date, datetime

from assmat.portal.messages.models import Message
from tests.support.screens import Screens, mail_text, missing_texts

SLUG = "alpes-maritimes"
GOOD = "Mimosa#Corniche7"
ID = "06-AM-0201"
EMAIL = "helene.lefevre@example.org"
NAMES = {"first_name": "Gertrude", "last_name": "Assmat", "birth_date": date(1990, 2, 2)}

SEEN = [
    # §1.1 Connexion
    ("login", "Assistants Maternels"),
    ("login", "Connexion"),
    ("login", "Identifiant"),
    ("login", "Mot de passe"),
    ("login", "Afficher le mot de passe"),
    ("login", "PREMIÈRE CONNEXION OU MOT DE PASSE OUBLIÉ ?"),
    # §1.2.1 première connexion avec mot de passe temporaire
    ("forced", "Changement de mot de passe"),
    ("forced", "Politique de sécurité : 8 caractères au minimum dont 1 minuscule, 1 majuscule et 1 chiffre"),
    ("forced", "Mot de passe"),
    ("forced", "Vérification du mot de passe"),
    ("forced", "Valider"),
    ("forced_weak", "ERREUR :"),
    ("forced_weak", "Mot de passe non conforme à la politique de sécurité"),
    ("forced_mismatch", "Le mot de passe n'est pas identique à la vérification"),
    # §1.2.2 première connexion avec l'identifiant seul: identity check, then the emailed link
    ("activation", "Identifiant"),
    ("activation", "Nom"),
    ("activation", "Prénom"),
    ("activation", "Date de naissance"),
    ("activation_link", "Changement de mot de passe"),
    ("activation_link", "Politique de sécurité : 8 caractères au minimum dont 1 minuscule, 1 majuscule et 1 chiffre"),
    ("activation_link", "Mot de passe"),
    ("activation_link", "Vérification du mot de passe"),
    ("activation_link", "Valider"),
    # §2.1 Tableau de bord and menu
    ("dashboard", "Tableau de bord"),
    ("dashboard", "Mon agrément"),
    ("dashboard", "Messages"),
    ("dashboard", "Enfants accueillis"),
    ("dashboard", "Mes informations personnelles"),
    ("dashboard", "Civilité"),
    ("dashboard", "Nom"),
    ("dashboard", "Prénom"),
    ("dashboard", "Date de naissance"),
    ("dashboard", "Les informations contenues sur cette page sont issues de l'application métier du service des modes d'accueil de la petite enfance. Pour toute modification, veuillez contacter le référent administratif dont les coordonnées figurent sur votre attestation d'agrément ou adresser un courriel à nepasrepondre@departement06.fr"),
    ("dashboard", "Voir plus"),
    ("dashboard", "Mes messages"),
    ("dashboard", "Général"),
    ("dashboard", "attention regardez la météo pour les alertes orange ou rouges"),
    ("dashboard", "Aucun enfant accueilli actuellement"),
    ("dashboard", "Documents utiles"),
    ("dashboard", "Documentation du portail Extranet"),
    ("dashboard", "Déconnexion"),
    # §2.3 Messages
    ("messages", "Messages reçus"),
    ("messages", "Messages archivés"),
    ("messages", "Date"),
    ("messages", "Expéditeur"),
    ("messages", "Destinataire"),
    ("messages", "Objet"),
    ("messages", "tous les assistants maternels"),
    ("messages", "Voir"),
    ("archives", "Messages archivés"),
    # §2.4 Enfants accueillis
    ("children", "Liste des enfants accueillis"),
    ("children", "La loi vous oblige à déclarer sous 8 jours les enfants accueillis et à préciser les coordonnées des parents."),
    ("children", "Ajouter ou modifier un enfant"),
    ("children", "Historique"),
    ("child_form", "Ajouter ou modifier un enfant"),
    ("child_form", "Informations de l'enfant"),
    ("child_form", "Nom de l'enfant"),
    ("child_form", "Prénom de l'enfant"),
    ("child_form", "Date de naissance de l'enfant"),
    ("child_form", "Informations concernant les parents"),
    ("child_form", "Nom du responsable légal n°1"),
    ("child_form", "Prénom du responsable légal n°1"),
    ("child_form", "Adresse courriel du responsable légal n°1"),
    ("child_form", "Adresse principale"),
    ("child_form", "Code postal"),
    ("child_form", "Commune"),
    ("child_form", "Cochez cette case si l'adresse du responsable légal n°2 est différente de l'adresse du responsable légal n°1."),
    ("child_form", "Adresse secondaire"),
    ("child_form", "Périodes d'accueil"),
    ("child_form", "Type de garde"),
    ("child_form", "Date de début"),
    ("child_form", "Date de fin"),
    ("child_form", "Nombre d'heures par mois"),
    ("child_form", "Commentaire"),
    ("child_form", "Garde standard"),
    ("child_form", "Valider"),
    ("child_form", "Annuler"),
    # §2.5 Mon compte
    ("account", "Mon compte"),
    ("account", "Changer votre mot de passe"),
    ("account", "Changer votre adresse email ?"),
    ("change_password", "Changer votre mot de passe"),
    ("change_password", "Mot de passe actuel"),
    ("change_password", "Nouveau mot de passe"),
    ("change_password", "Confirmation du mot de passe"),
    ("change_password", "Enregistrer"),
    ("change_email", "Changer votre adresse email ?"),
    ("change_email", "Adresse email actuelle"),
    ("change_email", "Nouvelle adresse email"),
    ("change_email", "Enregistrer"),
]

# For later issues or not shown by this product: « ← RETOUR » and « ANNULER » on the password
# change (the session already knows who changes it), « Identifiant » and « Mot de passe actuel »
# on the forced change (same reason), « ASSISTANT GÉNÉRAL (ASSISTANT MATERNEL) » menu label.


def steps(portal):
    def sign_in(s: Screens) -> None:
        if "signed_in" not in s.seen:
            account, _ = portal.create_account("06-AM-0202", GOOD, email="gertrude@example.org", civility="Madame", **NAMES)
            s.seen["signed_in"] = ""

            async def add():
                async with portal.app.state.sessionmaker() as db:
                    db.add(Message(tenant_id=SLUG, subject="attention regardez la météo pour les alertes orange ou rouges",
                                   sender="Service PMI", body="Bonjour.", created_at=datetime(2024, 10, 21, 13, 31, tzinfo=UTC)))
                    await db.commit()

            portal.run(add)
            s.fresh_browser()
            s.post("/connexion", {"identifiant": "06-AM-0202", "mot_de_passe": GOOD}, expect=303)

    def signed(path):
        def step(s: Screens) -> str:
            sign_in(s)
            return s.get(path)
        return step

    def forced(s: Screens) -> str:
        _, temporary = portal.create_account(ID, temporary=True, email=EMAIL, **NAMES)
        s.fresh_browser()
        s.post("/connexion", {"identifiant": ID, "mot_de_passe": temporary}, expect=303)
        return s.get("/changement-mot-de-passe")

    def forced_post(password, confirmation):
        def step(s: Screens) -> str:
            s["forced"]
            return s.post("/changement-mot-de-passe", {"mot_de_passe": password, "confirmation": confirmation})
        return step

    def activation_link(s: Screens) -> str:
        portal.create_account("06-AM-0203", email=None, first_name="Hélène", last_name="Lefèvre", birth_date=date(1990, 2, 2))
        s.fresh_browser()
        s.post("/activation", {"identifiant": "06-AM-0203", "nom": "Lefèvre", "prenom": "Hélène",
                               "date_naissance": "02/02/1990", "email": "helene@example.org"}, expect=303)
        body = mail_text(s.next_mail())
        path = re.search(r"http://alpes-maritimes\.localhost(/activation/[A-Za-z0-9_-]+)", body).group(1)
        return s.get(path)

    return {
        "login": lambda s: s.get("/connexion"),
        "forced": forced,
        "forced_weak": forced_post("faible", "faible"),
        "forced_mismatch": forced_post(GOOD, GOOD + "x"),
        "activation": lambda s: s.get("/activation"),
        "activation_link": activation_link,
        "dashboard": signed("/espace"),
        "messages": signed("/espace/messages"),
        "archives": signed("/espace/messages/archives"),
        "children": signed("/espace/enfants"),
        "child_form": signed("/espace/enfants/nouveau"),
        "account": signed("/espace/compte"),
        "change_password": signed("/espace/compte/mot-de-passe"),
        "change_email": signed("/espace/compte/email"),
    }


def test_alpes_maritimes_screens_show_the_seed_words(portal_for, smtp_server):
    portal = portal_for(SLUG)
    screens = Screens(portal, smtp_server, steps(portal))
    missing = missing_texts(screens, SEEN)
    assert not missing, "\n".join(missing)
