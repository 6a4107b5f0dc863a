"""The contact form's acknowledgment (seed 000: « Je souhaite recevoir un accusé de réception »).

Anyone may type any address in the form, so the acknowledgment sent from the tenant's address
confirms receipt and quotes nothing the visitor typed: otherwise the portal relays free text,
under the département's name, to whoever the sender chooses. A signed-in visitor who asks the
copy at the address stored on their confirmed account gets the copy the seed describes: that
address already receives the account's temporary passwords and links.
"""

from __future__ import annotations

import pytest

from tests.conftest import smtp_settings

SPAM = "Gagnez 1000 euros sur https://arnaque.example.net maintenant"
NAME = "Voir https://arnaque.example.net"


@pytest.fixture
def settings(tmp_path, database_url, smtp_server):
    return smtp_settings(tmp_path, database_url, smtp_server)


def bodies(mail) -> str:
    return mail.get_body(("plain",)).get_content() + mail.get_body(("html",)).get_content()


def send(portal, email: str, name: str = NAME, message: str = SPAM):
    response = portal.post("/contact", {"nom": name, "email": email, "message": message, "accuse_reception": "1"})
    assert response.status_code == 303, response.text


def test_an_anonymous_visitor_gets_a_receipt_that_quotes_nothing_they_typed(portal_for, smtp_server):
    gers = portal_for("gers")
    send(gers, "victime@example.org")
    mails = {m["To"]: m for m in smtp_server.wait_for(2)}
    assert SPAM in bodies(mails["pmi@gers.fr"])  # staff still read the whole message
    receipt = mails["victime@example.org"]
    text = bodies(receipt) + receipt["Subject"]
    assert "Nous avons bien reçu votre message à l'administrateur du site" in text
    assert "arnaque" not in text and "1000 euros" not in text
    assert "En voici une copie" not in text


def test_a_signed_in_visitor_at_their_confirmed_address_gets_the_copy(portal_for, smtp_server):
    from assmat.core import clock

    gers = portal_for("gers")
    gers.create_account("AGR-2026-0100", "Lune#Soleil42", email="anne.martin@example.org",
                        email_confirmed_at=clock.now())
    assert gers.login("AGR-2026-0100", "Lune#Soleil42").status_code == 303
    send(gers, "Anne.Martin@example.org", name="Anne Martin", message="Bonjour,\nMon adresse a changé.")
    mails = {m["To"].lower(): m for m in smtp_server.wait_for(2)}
    receipt = bodies(mails["anne.martin@example.org"])
    assert "En voici une copie" in receipt and "Mon adresse a changé." in receipt
    assert "Bonjour Anne Martin," in receipt


def test_a_signed_in_visitor_typing_another_address_gets_no_copy(portal_for, smtp_server):
    from assmat.core import clock

    gers = portal_for("gers")
    gers.create_account("AGR-2026-0101", "Lune#Soleil42", email="anne.martin@example.org",
                        email_confirmed_at=clock.now())
    assert gers.login("AGR-2026-0101", "Lune#Soleil42").status_code == 303
    send(gers, "victime@example.org")
    mails = {m["To"]: m for m in smtp_server.wait_for(2)}
    text = bodies(mails["victime@example.org"])
    assert "arnaque" not in text and "En voici une copie" not in text
