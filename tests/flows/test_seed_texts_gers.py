"""Seed 000 (Webasma, Gers): every title, label, button, hint and message the guide shows on a
screen the product has, as the user reaches it — asserted on the rendered page or the email."""

from __future__ import annotations

from tests.support.screens import Screens, mail_text, missing_texts

SLUG = "gers"
GOOD = "Armagnac#2026"
ID = "AGR-2026-0101"
EMAIL = "anne.martin@example.org"

SEEN = [
    # §2 Première connexion
    ("home", "Accès réservé"),
    ("login", "Accès réservé"),
    ("login", "Merci de vous identifier."),
    ("login", "Identifiant"),
    ("login", "Mot de passe"),
    ("login", "Mot de passe oublié ?"),
    ("login", "Se connecter"),
    ("login", "Contacter l'administrateur du site"),
    ("forced", "Il s'agit de votre première connexion. Vous devez changer votre mot de passe."),
    ("forced", "Nouveau mot de passe"),
    ("forced", "Confirmation"),
    ("forced", "Vous devez respecter la consigne suivante :"),
    ("forced", "8 caractères minimum"),
    ("forced", "1 majuscule minimum"),
    ("forced", "1 minuscule minimum"),
    ("forced", "1 chiffre minimum"),
    ("forced", "1 caractère spécial minimum dans la liste suivante : [!@#$%^&*(){}<>?/|+=-_]"),
    ("forced", "Le mot de passe ne doit pas avoir été utilisé lors des 6 derniers mois"),
    ("forced", "Se connecter"),
    ("terms", "Conditions d'utilisation"),
    ("terms", "Article 1"),
    ("terms", "L'acceptation de ces conditions ne sera à faire qu'à la première visite"),
    ("terms", "Accepter"),
    # §3 J'ai oublié mon mot de passe
    ("login_failed", "Echec de l'authentification."),
    ("forgot", "Identifiant"),
    ("forgot", "Adresse mail"),
    ("forgot", "M'envoyer un nouveau mot de passe"),
    ("forgot", "Contacter l'administrateur du site"),
    ("forgot_sent", "Un nouveau mot de passe vient de vous être communiqué par mail"),
    ("reset_mail_subject", "Demande de modification de mot de passe"),
    ("reset_mail", "Bonjour,"),
    ("reset_mail", "Votre nouveau mot de passe est :"),
    ("reset_mail", "Cordialement"),
    ("forgot_unknown", "L'identifiant indiqué ne correspond à aucun compte, merci de contacter votre service PMI"),
    ("forgot_mismatch", "L'email associé au compte n'a pas été trouvé"),
    ("footer", "Mentions légales"),
    ("footer", "Contacter l'administrateur du site"),
    ("contact", "Envoyer un message à l'administrateur du site"),
    ("contact", "Votre nom"),
    ("contact", "Votre adresse email"),
    ("contact", "Votre message"),
    ("contact", "Je souhaite recevoir un accusé de réception"),
    ("contact", "Envoyer"),
    # §4 J'ai bloqué mon compte
    ("lock_mail_subject", "Webasma - Compte bloqué"),
    ("lock_mail", "Bonjour,"),
    ("lock_mail", "Cet e-mail a été envoyé car votre compte a été bloqué. Pour le débloquer, veuillez contacter l'administrateur ou votre référent."),
    ("locked", "Votre compte est bloqué, veuillez contacter l'administrateur ou votre référent pour débloquer le compte"),
    # Generated texts in correct French
    ("accessibility", "Le Conseil départemental du Gers s'engage"),
    ("home", "Un service du Département du Gers."),
]

# For later issues (features not built yet): « BIENVENUE SUR LE SITE DE PUBLICATION DES ASSISTANTS
# MATERNELS AGREES DU DEPARTEMENT DU GERS » search for parents, « disponibilités », « modalités
# d'accueil (configuration de logement, tarifs, éléments relatifs au projet d'accueil) ».


def steps(portal):
    def forced(s: Screens) -> str:
        _, temporary = portal.create_account(ID, temporary=True, email=EMAIL, accepted_terms=False)
        s.post("/connexion", {"identifiant": ID, "mot_de_passe": temporary}, expect=303)
        page = s.get("/changement-mot-de-passe")
        s.seen["terms"] = s.post("/changement-mot-de-passe", {"mot_de_passe": GOOD, "confirmation": GOOD}, expect=303)
        s.fresh_browser()
        return page

    def terms(s: Screens) -> str:
        s["forced"]
        return s.seen["terms"]

    def forgot_sent(s: Screens) -> str:
        s["forced"]
        return s.post("/mot-de-passe-oublie", {"identifiant": ID, "email": EMAIL}, expect=303)

    def reset_mail(s: Screens) -> str:
        s["forgot_sent"]
        mail = s.next_mail()
        s.seen["reset_mail_subject"] = str(mail["subject"])
        return mail_text(mail)

    def locked(s: Screens) -> str:
        portal.create_account("AGR-2026-0102", GOOD, email="bloquee@example.org")
        for _ in range(3):
            s.post("/connexion", {"identifiant": "AGR-2026-0102", "mot_de_passe": "Faux#Mot2passe"})
        page = s.post("/connexion", {"identifiant": "AGR-2026-0102", "mot_de_passe": GOOD})
        s["reset_mail"]  # the reset mail, if asked first, comes before the lock notices
        mails = s.smtp.wait_for(s.mails + 1)
        for mail in mails[s.mails:]:
            if "Compte bloqué" in str(mail["subject"]) and mail["to"] == "bloquee@example.org":
                s.seen["lock_mail_subject"] = str(mail["subject"])
                s.seen["lock_mail"] = mail_text(mail)
        return page

    def lock_mail(s: Screens) -> str:
        s["locked"]
        return s.seen.get("lock_mail", "")

    return {
        "home": lambda s: s.get("/"),
        "footer": lambda s: s.get("/"),
        "login": lambda s: s.get("/connexion"),
        "login_failed": lambda s: s.post("/connexion", {"identifiant": "AGR-0000-0000", "mot_de_passe": "x"}),
        "forced": forced,
        "terms": terms,
        "forgot": lambda s: s.get("/mot-de-passe-oublie"),
        "forgot_sent": forgot_sent,
        "reset_mail": reset_mail,
        "reset_mail_subject": lambda s: (s["reset_mail"], s.seen["reset_mail_subject"])[1],
        "forgot_unknown": lambda s: s.post("/mot-de-passe-oublie", {"identifiant": "AGR-0000-0000", "email": EMAIL}),
        "forgot_mismatch": lambda s: (s["forced"], s.post("/mot-de-passe-oublie", {"identifiant": ID, "email": "autre@example.org"}))[1],
        "contact": lambda s: s.get("/contact"),
        "locked": locked,
        "lock_mail": lock_mail,
        "lock_mail_subject": lambda s: (s["locked"], s.seen.get("lock_mail_subject", ""))[1],
        "accessibility": lambda s: s.get("/accessibilite"),
    }


def test_gers_screens_show_the_seed_words(portal_for, smtp_server):
    portal = portal_for(SLUG)
    screens = Screens(portal, smtp_server, steps(portal))
    missing = missing_texts(screens, SEEN)
    assert not missing, "\n".join(missing)
