"""What each email says, in French by default, and what enqueue writes (in the caller's transaction)."""

from __future__ import annotations

import asyncio
import re
from datetime import UTC, datetime

import pytest
from sqlalchemy import func, select

from assmat.core.mail.models import OutboxMail
from assmat.core.mail import outbox
from assmat.core.mail.outbox import TEMPLATES, InvalidRecipient, MailTemplateError, requeue
from tests.mail import (  # noqa: F401
    T0, add_tenant_rows, enqueue, frozen_clock, outbox_rows, render, sessionmaker_for, tenant,
)

# Enqueue writes in the caller's transaction; a delivery is recorded by a conditional UPDATE counted
# by rowcount.
pytestmark = pytest.mark.both_backends

CESTAS_RESET = "https://portail-familles.mairie-cestas.fr/reinitialisation/tok3n"

CONTEXTS = {
    "temporary_password": {"password": "R}1SEcGw", "ttl_hours": 72},
    "reset_link": {"url": "https://assmat.gers.fr/reinitialisation/tok3n", "ttl_hours": 48},
    "account_locked": {},
    "account_locked_admin": {
        "identifier": "AGR-00042",
        "full_name": "Marie Dupont",
        "locked_at": datetime(2025, 10, 10, 9, 10, tzinfo=UTC),
    },
    "activation_link": {"url": "https://assmat.gers.fr/activation/tok3n", "ttl_hours": 48, "full_name": "Marie Dupont"},
    "email_confirmation": {"url": "https://assmat.gers.fr/confirmation/tok3n", "ttl_hours": 24},
    "email_change_confirmation": {"url": "https://assmat.gers.fr/email/tok3n", "ttl_hours": 24},
    "email_change_notice": {"new_email_masked": "m***@exemple.fr"},
    "contact_admin": {"name": "Marie Dupont", "email": "marie@exemple.fr", "message": "Bonjour,\nJe ne me souviens plus du mail."},
    "situation_change_admin": {"name": "Marie Dupont", "identifier": "06-AM-0117", "message": "Je déménage le 1er décembre."},
    "contact_acknowledgment": {"name": "Marie Dupont", "message": "Bonjour,\nJe ne me souviens plus du mail."},
    "personal_message_notice": {},
    "admin_set_password": {"url": "https://assmat.gers.fr/admin/mot-de-passe/abc", "ttl_hours": 48, "console_name": "Département du Gers"},
    "availability_reminder": {"url": "https://assmat.gers.fr/espace/disponibilites", "deadline": "01/12/2026"},
    "availability_place_reminder": {"url": "https://assmat.gers.fr/espace/disponibilites", "free_from": "10/12/2026"},
    # `step` chooses the words of one step of the request (assmat/portal/habilitation/service.py).
    "habilitation": {"step": "consent_online", "url": "https://assmat.gers.fr/habilitation/consentement/abc", "days": 14},
    "registration_exists": {},
    "account_deleted": {},
    # A family's account (assmat/portal/families/service.py): `lines` are checked in tests/portal/test_families.py.
    "search_alert": {"search_name": "Près de l'école", "url": "https://assmat.gers.fr/recherche?commune=32000",
                     "lines": [{"name": "Anne Martin", "commune": "32000 Auch", "public_id": "abc123", "free_from": None},
                               {"name": "Berthe Petit", "commune": "32000 Auch", "public_id": "def456",
                                "free_from": "10/12/2026"}]},
    "contact_request": {"message": "Bonjour,\nAvez-vous une place en janvier ?", "phone": "06 12 34 56 78",
                        "family_email": "famille@exemple.fr", "url": "https://assmat.gers.fr/espace/demandes"},
    "contact_answer": {"assistant_name": "Anne Martin", "answer": "Oui, appelez-moi le soir.",
                       "assistant_email": "anne@exemple.fr", "url": "https://assmat.gers.fr/assistants/abc123"},
}


def test_every_template_has_a_context_here():
    assert set(CONTEXTS) == set(TEMPLATES)


def test_temporary_password_keeps_the_gers_wording():
    mail = render(tenant("gers"), "temporary_password", CONTEXTS["temporary_password"])
    assert mail.subject == "Demande de modification de mot de passe"
    assert mail.sender == "Webasma <ne-pas-repondre@gers.fr>"
    assert mail.body_text == (
        "Bonjour,\n\n"
        "Votre nouveau mot de passe est : R}1SEcGw\n\n"
        "Vous devrez le modifier lors de votre prochaine connexion ; il est valable pendant 72H.\n\n"
        "Cordialement"
    )


def test_temporary_password_without_a_ttl_still_says_it_must_be_changed():
    body = render(tenant("gers"), "temporary_password", {"password": "R}1SEcGw"}).body_text
    assert "Vous devrez le modifier lors de votre prochaine connexion." in body
    assert "valable" not in body


def test_account_locked_is_the_gers_mail_word_for_word():
    mail = render(tenant("gers"), "account_locked", {})
    assert mail.subject == "Webasma - Compte bloqué"
    assert mail.body_text == (
        "Bonjour,\n\n"
        "Cet e-mail a été envoyé car votre compte a été bloqué. Pour le débloquer, veuillez contacter "
        "l'administrateur ou votre référent.\n\n"
        "Cordialement."
    )


def test_reset_link_is_the_cestas_mail_word_for_word():
    url = CESTAS_RESET
    mail = render(tenant("cestas"), "reset_link", {"url": url, "ttl_hours": 48})
    assert mail.subject == "Réinitialisation de votre mot de passe"
    assert mail.body_text == (
        "Vous avez demandé à réinitialiser votre mot de passe.\n\n"
        "Veuillez cliquer sur le lien ci-dessous :\n\n"
        f"{url}\n\n"
        "Vous pourrez modifier votre mot de passe.\n\n"
        "Attention, ce lien est valable pendant 48H à compter de la demande de réinitialisation du mot de passe.\n\n"
        "Si vous n'êtes pas à l'origine de cette demande, veuillez ignorer ce message."
    )
    assert f'href="{url}"' in mail.body_html


def test_the_link_validity_follows_the_ttl_given():
    mail = render(tenant("cestas"), "reset_link", {"url": CESTAS_RESET, "ttl_hours": 1})
    assert "valable pendant 1H à compter" in mail.body_text


def test_admin_lock_notice_says_which_account_when_and_where_to_unlock():
    mail = render(tenant("gers"), "account_locked_admin", CONTEXTS["account_locked_admin"])
    assert mail.subject == "Webasma - Compte bloqué : AGR-00042"
    # 09:10 UTC is 11:10 in Auch in October.
    assert "Le compte AGR-00042 (Marie Dupont) a été bloqué le 10/10/2025 11:10" in mail.body_text
    assert "console d'administration : https://assmat.gers.fr/admin" in mail.body_text


def test_personal_message_notice_gives_no_content_only_the_portal():
    mail = render(tenant("alpes-maritimes"), "personal_message_notice", {})
    assert mail.subject == "Extranet AssMat - Nouveau message personnel"
    assert "Un message personnel est disponible pour vous sur Extranet AssMat" in mail.body_text
    assert "https://assmat.departement06.fr" in mail.body_text


@pytest.mark.parametrize("template", sorted(TEMPLATES))
def test_every_template_renders_text_and_branded_html_in_french(template):
    gers = tenant("gers")
    french = render(gers, template, CONTEXTS[template])
    english = render(gers, template, CONTEXTS[template], locale="en")
    assert french.locale == "fr" and english.locale == "en"
    assert french.subject and "\n" not in french.subject
    assert french.body_text.strip() and "{{" not in french.body_text and "{%" not in french.body_text
    assert french.body_html.startswith("<!DOCTYPE html>")
    assert '<html lang="fr">' in french.body_html
    assert f"background:{gers.config.branding.primary_color}" in french.body_html
    assert "Webasma" in french.body_html
    assert "merci de ne pas y répondre" in french.body_html
    # Nothing was left in English: no English sentence of the same mail appears in the French one.
    values = {line for v in CONTEXTS[template].values() for line in str(v).splitlines()}
    for line in english.body_text.splitlines():
        if line.strip() and line not in values and not line.startswith("http"):
            assert line not in french.body_text, line
    assert french.subject != english.subject or template == "account_locked_admin"


@pytest.mark.parametrize("template", sorted(TEMPLATES))
def test_every_context_value_reaches_both_parts(template):
    mail = render(tenant("gers"), template, CONTEXTS[template])
    for key, value in CONTEXTS[template].items():
        if key in ("ttl_hours", "locked_at", "step", "lines"):
            continue
        for part in str(value).splitlines():
            assert part in mail.body_text, (key, part)
            assert part.replace("'", "&#39;") in mail.body_html, (key, part)


def test_html_escapes_what_users_typed_and_subjects_stay_one_line():
    context = {"name": "Eve <b>", "email": "eve@exemple.fr", "message": "<script>alert(1)</script>\r\nBcc: x@y.z"}
    mail = render(tenant("gers"), "contact_admin", context)
    assert "<script>" not in mail.body_html and "&lt;script&gt;" in mail.body_html
    assert "<script>alert(1)</script>" in mail.body_text  # plain text is not HTML
    ack = render(tenant("gers"), "contact_acknowledgment", {"name": "Eve\r\nBcc: x@y.z", "message": "m"})
    assert "\n" not in ack.subject and "\r" not in ack.subject


def test_platform_mail_without_tenant_uses_the_platform_sender():
    mail = render(None, "contact_acknowledgment", {"name": "A", "message": "m"})
    assert mail.sender.startswith("Assmat <ne-pas-repondre@")
    assert "Portails des assistants maternels" in mail.body_html


def test_the_platform_sender_comes_from_the_settings_passed_never_read_again():
    from assmat.core.settings import Settings

    settings = Settings(base_domain="Assmat.Example.org.")
    mail = outbox.render(None, "contact_acknowledgment", {"name": "A", "message": "m"},
                         base_url="https://assmat.example.org", platform_sender=settings.platform_mail_from)
    assert mail.sender == "Assmat <ne-pas-repondre@assmat.example.org>"
    with pytest.raises(MailTemplateError, match="platform_sender"):
        outbox.render(None, "contact_acknowledgment", {"name": "A", "message": "m"}, base_url="https://assmat.example.org")
    # A tenant's mail comes from the tenant, whatever platform sender is passed.
    gers = outbox.render(tenant("gers"), "account_locked", {}, base_url="https://assmat.gers.fr",
                         platform_sender=settings.platform_mail_from)
    assert gers.sender == "Webasma <ne-pas-repondre@gers.fr>"


def test_unknown_template_missing_context_and_foreign_links_are_refused():
    with pytest.raises(MailTemplateError, match="unknown"):
        render(tenant("gers"), "no_such_mail", {})
    with pytest.raises(MailTemplateError, match="password"):
        render(tenant("gers"), "temporary_password", {})
    with pytest.raises(MailTemplateError, match="url"):
        render(tenant("gers"), "reset_link", {"url": "javascript:alert(1)", "ttl_hours": 1})
    # A link to another host than the mail's base (another tenant, or a Host header) is refused.
    with pytest.raises(MailTemplateError, match="url"):
        render(tenant("gers"), "reset_link", {"url": CESTAS_RESET, "ttl_hours": 1})
    with pytest.raises(MailTemplateError, match="url"):
        render(tenant("gers"), "reset_link", {"url": "https://assmat.gers.fr.evil.example/x", "ttl_hours": 1})
    with pytest.raises(MailTemplateError, match="base_url"):
        outbox.render(tenant("gers"), "account_locked", {}, base_url="/admin")


@pytest.mark.parametrize(
    "to",
    [["a@exemple.fr", "b@exemple.fr"], "a@exemple.fr, b@exemple.fr", "a@exemple.fr\r\nBcc: c@exemple.fr",
     "Eve <a@exemple.fr>", "", "pas-une-adresse", None],
)
def test_enqueue_accepts_one_plain_address_only(settings, to):
    async def run():
        async with sessionmaker_for(settings.database_url) as sessionmaker, sessionmaker() as session:
            with pytest.raises(InvalidRecipient):
                await enqueue(session, tenant("gers"), "account_locked", to, {})

    asyncio.run(run())


def test_enqueue_writes_a_pending_row_only_when_the_caller_commits(settings, frozen_clock):
    add_tenant_rows(settings.database_url, "gers")

    async def run():
        async with sessionmaker_for(settings.database_url) as sessionmaker:
            async with sessionmaker() as session:
                await enqueue(session, tenant("gers"), "account_locked", "marie@exemple.fr", {})
                await session.rollback()  # the business change failed: no mail either
            async with sessionmaker() as session:
                assert await session.scalar(select(func.count()).select_from(OutboxMail)) == 0
                row = await enqueue(session, tenant("gers"), "temporary_password", "marie@exemple.fr", {"password": "x"})
                await session.commit()
                return row.id

    row_id = asyncio.run(run())
    [row] = outbox_rows(settings.database_url)
    assert row.id == row_id
    assert (row.tenant_id, row.template, row.status, row.attempts) == ("gers", "temporary_password", "pending", 0)
    assert row.recipient == "marie@exemple.fr" and row.sender == "Webasma <ne-pas-repondre@gers.fr>"
    assert row.subject == "Demande de modification de mot de passe"
    assert row.next_attempt_at == T0 and row.created_at == T0
    assert row.body_html and re.search(r"Votre nouveau mot de passe est : x", row.body_html)


def test_enqueue_renders_in_the_locale_asked(settings, frozen_clock):
    add_tenant_rows(settings.database_url, "gers")

    async def run():
        async with sessionmaker_for(settings.database_url) as sessionmaker, sessionmaker() as session:
            await enqueue(session, tenant("gers"), "account_locked", "marie@exemple.fr", {}, locale="en")
            await session.commit()

    asyncio.run(run())
    [row] = outbox_rows(settings.database_url)
    assert row.subject == "Webasma - Account locked"


def test_requeue_revives_a_failed_mail_of_its_own_tenant_only(settings, frozen_clock):
    add_tenant_rows(settings.database_url, "gers", "cestas")

    async def run():
        async with sessionmaker_for(settings.database_url) as sessionmaker:
            async with sessionmaker() as session:
                row = await enqueue(session, tenant("gers"), "account_locked", "marie@exemple.fr", {})
                row.status, row.attempts = "failed", 12
                await session.commit()
            async with sessionmaker() as session:
                other = await requeue(session, tenant("cestas"), row.id)
                own = await requeue(session, tenant("gers"), row.id)
                again = await requeue(session, tenant("gers"), row.id)
                await session.commit()
            return other, own, again

    assert asyncio.run(run()) == (False, True, False)
    [row] = outbox_rows(settings.database_url)
    assert (row.status, row.attempts, row.next_attempt_at) == ("pending", 0, T0)
