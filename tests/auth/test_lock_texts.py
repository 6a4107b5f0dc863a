"""A lock's length in words, and the texts of lockout choices no shipped tenant makes yet (a lock
that lasts a while and is revealed; one that lasts for good and is hidden)."""

from __future__ import annotations

from datetime import timedelta

import pytest

from assmat.auth.lockout import DurationWords
from assmat.core.i18n import current_locale
from assmat.tenants.loader import load_valid_tenants
from assmat.auth.http import login_failed_text, login_locked_text, reset_locked_text, reset_sent_text
from tests.support.tenants import write_tenant


@pytest.mark.parametrize(("duration", "fr", "en"), [
    (timedelta(minutes=1), "1 minute", "1 minute"),
    (timedelta(minutes=15), "15 minutes", "15 minutes"),
    (timedelta(minutes=90), "90 minutes", "90 minutes"),
    (timedelta(hours=1), "1 heure", "1 hour"),
    (timedelta(hours=2), "2 heures", "2 hours"),
    (timedelta(days=1), "1 jour", "1 day"),
    (timedelta(days=3), "3 jours", "3 days"),
])
def test_a_lock_length_reads_as_people_say_it_in_the_current_language(duration, fr, en):
    words = DurationWords(duration)
    assert str(words) == fr
    token = current_locale.set("en")
    try:
        assert str(words) == en
    finally:
        current_locale.reset(token)


def tenant(tmp_path, duration: str, reveal: bool):
    write_tenant(tmp_path, "essai", {
        "lockout.max_failures": 4, "lockout.duration": duration, "lockout.reveal_locked_state": reveal,
        "password_reset.reveal_unknown_account": reveal,
    })
    return load_valid_tenants(tmp_path)["essai"]


def test_a_revealed_lock_of_two_hours_says_how_long(tmp_path):
    essai = tenant(tmp_path, "2h", reveal=True)
    assert login_locked_text(essai) == (
        "Votre compte est bloqué pendant 2 heures à la suite de plusieurs échecs de connexion. Réessayez ensuite."
    )
    assert "pendant 2 heures" in reset_locked_text(essai) and "administrateur" not in reset_locked_text(essai)
    assert login_failed_text(essai) == "Echec de l'authentification."  # the lock has its own message here
    assert "Aucun courriel" not in reset_sent_text(essai, "reset.sent_generic")


def test_a_hidden_lock_for_good_says_so_in_the_generic_answers(tmp_path):
    essai = tenant(tmp_path, "permanent", reveal=False)
    assert login_failed_text(essai) == (
        "Echec de l'authentification. Après 4 échecs, le compte est bloqué jusqu'à ce qu'un administrateur le débloque."
    )
    assert reset_sent_text(essai, "reset.sent_generic").endswith(
        "Aucun courriel n'est envoyé pour un compte bloqué à la suite de plusieurs échecs de connexion : contactez "
        "l'administrateur pour le débloquer."
    )
