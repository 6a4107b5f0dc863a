"""What a locked person reads, per tenant: the login answer to the right password, the lock email
and the forgotten-password answer must each say what is true for the tenant's lockout (for good,
or for 15 minutes) within its reveal_locked_state choice.

Before: on the four tenants whose lock lasts 15 minutes, the right password only got « Echec de
l'authentification. », the lock email said to contact the administrator for a lock that lifts by
itself, and « Mot de passe oublié » promised an email that never came."""

from __future__ import annotations

import time
from datetime import date

import pytest
from sqlalchemy import select

from assmat.auth.captcha import DEFAULT_LENGTH, derive_answer
from assmat.auth.errors import AuthError
from assmat.core.mail.models import OutboxMail
from tests.conftest import TENANT_CONFIGS
from tests.support.portal import CSRF, text_of

CAPTCHA_ID = 'name="captcha_id" value="'
SEED_LOCKED = "Votre compte est bloqué, veuillez contacter l'administrateur ou votre référent pour débloquer le compte"
SEED_LOCK_EMAIL = "Cet e-mail a été envoyé car votre compte a été bloqué. Pour le débloquer, veuillez contacter l'administrateur ou votre référent."
FIFTEEN_LOGIN = "Echec de l'authentification. Après 5 échecs, le compte est bloqué pendant 15 minutes."
FIFTEEN_EMAIL = ("Cet e-mail a été envoyé car votre compte a été bloqué pendant 15 minutes à la suite de plusieurs échecs "
                 "de connexion. Il se débloquera de lui-même à la fin de ce délai : vous pourrez alors vous reconnecter.")
FIFTEEN_FORGOT = ("Aucun courriel n'est envoyé pour un compte bloqué à la suite de plusieurs échecs de connexion : le "
                  "blocage dure 15 minutes, réessayez ensuite.")

# Every tenant of tenant_configs/, with its YAML's lockout (checked below) and what each text says.
TENANTS = {
    "gers": {  # 3 failures, for good, revealed: the seed's own words
        "identifier": "AGR-2026-0990", "lockout": (3, "permanent", True),
        "login": SEED_LOCKED, "email": SEED_LOCK_EMAIL, "forgot": SEED_LOCKED,
    },
    "alpes-maritimes": {
        "identifier": "06-AM-0990", "lockout": (5, "15m", False),
        "login": FIFTEEN_LOGIN, "email": FIFTEEN_EMAIL, "forgot": FIFTEEN_FORGOT,
    },
    "cestas": {
        "identifier": "famille.lock", "lockout": (5, "15m", False),
        "login": FIFTEEN_LOGIN, "email": FIFTEEN_EMAIL, "forgot": FIFTEEN_FORGOT,
    },
    "eure-et-loir": {
        "identifier": "280990", "lockout": (5, "15m", False),
        "login": FIFTEEN_LOGIN, "email": FIFTEEN_EMAIL, "forgot": FIFTEEN_FORGOT,
    },
    "mon-enfant": {
        "identifier": "verrou@example.org", "lockout": (5, "15m", False),
        "login": FIFTEEN_LOGIN, "email": FIFTEEN_EMAIL, "forgot": FIFTEEN_FORGOT,
    },
}
GOOD = "Lune#Soleil2026xy"
EMAIL = "verrou@example.org"


def test_every_tenant_yaml_is_covered_with_its_lockout(tenant_registry):
    assert {path.stem for path in TENANT_CONFIGS.glob("*.yaml")} == set(TENANTS)
    for slug, expected in TENANTS.items():
        lockout = tenant_registry.get(slug).config.lockout
        duration = "permanent" if lockout.duration == "permanent" else f"{int(lockout.duration.total_seconds() // 60)}m"
        assert (lockout.max_failures, duration, lockout.reveal_locked_state) == expected["lockout"], slug


def submit(portal, path: str, data: dict[str, str]):
    """Post a form as a browser does: its CSRF token, and the captcha's answer when it has one."""
    page = portal.client.get(path)
    fields = {**data, "csrf_token": CSRF.search(page.text).group(1)}
    if CAPTCHA_ID in page.text:
        captcha_id = page.text.split(CAPTCHA_ID, 1)[1].split('"', 1)[0]
        fields["captcha_id"] = captcha_id
        fields["captcha"] = derive_answer(portal.app.state.settings.effective_secret_key, portal.slug, captcha_id, DEFAULT_LENGTH)
    return portal.client.post(path, data=fields)


def locked_account(portal, identifier: str):
    account, _ = portal.create_account(identifier, GOOD, email=EMAIL, birth_date=date(1980, 5, 17))

    async def fail_until_locked():
        from assmat.auth import login
        from assmat.auth.context import auth_context

        app = portal.app
        for _ in range(portal.tenant.config.lockout.max_failures):
            async with app.state.sessionmaker() as db:
                try:
                    await login.authenticate(auth_context(db, portal.tenant, app.state.hasher, app.state.settings),
                                             identifier, "Faux#Passe99", None)
                except AuthError:
                    pass

    portal.run(fail_until_locked)
    assert portal.account(account.id).locked_at is not None
    return account


@pytest.mark.parametrize("slug", list(TENANTS))
def test_a_locked_person_reads_what_is_true_for_the_tenant(portal_for, smtp_server, slug):
    portal = portal_for(slug)
    expected = TENANTS[slug]
    locked_account(portal, expected["identifier"])

    right_password = submit(portal, "/connexion", {"identifiant": expected["identifier"], "mot_de_passe": GOOD})
    assert right_password.status_code == 400
    assert expected["login"] in text_of(right_password)
    if not portal.tenant.config.lockout.reveal_locked_state:
        # The generic answer: the same for an unknown identifier.
        unknown = submit(portal, "/connexion", {"identifiant": "inconnu@example.org" if slug == "mon-enfant" else "999999",
                                                "mot_de_passe": GOOD})
        assert expected["login"] in text_of(unknown)

    # The lock's commit woke the sender: the email is read as the person receives it.
    (template,) = portal.query(select(OutboxMail.template).where(OutboxMail.template == "account_locked"))
    assert template == ("account_locked",)
    deadline = time.monotonic() + 10
    while not (mine := [m for m in smtp_server.messages if m["To"] == EMAIL]) and time.monotonic() < deadline:
        time.sleep(0.01)
    (mail,) = mine
    body = mail.get_body(("plain",)).get_content()
    assert expected["email"] in " ".join(body.split())
    if expected["email"] != SEED_LOCK_EMAIL:
        assert "contacter l'administrateur" not in body

    reset = portal.tenant.config.password_reset
    form = {"identifiant": expected["identifier"], "email": EMAIL}
    answer = submit(portal, "/mot-de-passe-oublie", {k: v for k, v in form.items()
                                                     if (k == "email" and "email" in reset.identify_by)
                                                     or (k == "identifiant" and "identifier" in reset.identify_by)})
    shown = text_of(portal.client.get(answer.headers["location"])) if answer.status_code == 303 else text_of(answer)
    assert expected["forgot"] in shown
    templates = [row[0] for row in portal.query(select(OutboxMail.template))]
    assert "temporary_password" not in templates and "reset_link" not in templates  # and indeed no mail came
