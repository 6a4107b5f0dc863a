"""Every link of every email starts with the deployment's public URL (ASSMAT_PUBLIC_URL_TEMPLATE
in the demo), whichever template and whoever sends it: one way to build links."""

from __future__ import annotations

import re

import pytest

from assmat.core.mail.links import mail_base_url
from assmat.core.mail.outbox import TEMPLATES, render
from assmat.core.settings import Settings
from tests.admin.conftest import Console, signed_in
from tests.conftest import smtp_settings
from tests.mail import tenant
from tests.mail.test_outbox import CONTEXTS
from tests.support.portal import text_of

DEMO_TEMPLATE = "http://{slug}.localhost:8000"  # what `make run` sets
DEMO = Settings(public_url_template=DEMO_TEMPLATE, platform_url="http://localhost:8000")
URL = re.compile(r"https?://[^\s\"'<>)]+")
SLUGS = ["alpes-maritimes", "cestas", "eure-et-loir", "gers", "mon-enfant", None]
# Templates that must carry a link (the others may carry none).
LINKED = {"reset_link", "activation_link", "email_confirmation", "email_change_confirmation", "admin_set_password",
          "personal_message_notice", "account_locked_admin"}


def urls(*texts: str) -> list[str]:
    return [u for text in texts for u in URL.findall(text)]


@pytest.mark.parametrize("slug", SLUGS)
@pytest.mark.parametrize("template", sorted(TEMPLATES))
def test_every_template_links_only_to_the_configured_public_url(template, slug):
    tenant_ = tenant(slug) if slug else None
    base = mail_base_url(DEMO, tenant_)
    assert base == (DEMO_TEMPLATE.format(slug=slug) if slug else "http://localhost:8000")
    context = dict(CONTEXTS[template])
    if "url" in context:
        context["url"] = f"{base}/lien/tok3n"
    mail = render(tenant_, template, context, base_url=base, platform_sender=DEMO.platform_mail_from)
    found = urls(mail.subject, mail.body_text, mail.body_html)
    assert all(u.startswith(f"{base}/") for u in found), found
    if template in LINKED:
        assert found


@pytest.fixture
def settings(tmp_path, database_url, smtp_server):
    return smtp_settings(tmp_path, database_url, smtp_server).model_copy(update={"public_url_template": DEMO_TEMPLATE})


def test_mails_sent_by_the_running_app_link_to_the_demo_host(portal_for, client_for, app, smtp_server):
    """The two notices that used each tenant's production host in the demo (the personal message
    notice and the admins' lock notice), with a reset link beside them, as received by SMTP."""
    am = portal_for("alpes-maritimes")
    am.create_account("AGR-2026-0200", "Lune#Soleil42", email="bruno@example.org")
    console = signed_in(lambda host: Console(client_for(host), app), app, "alpes-maritimes", "agent@am.fr")
    token = console.csrf("/admin/message/ecrire")
    done = console.client.post("/admin/message/ecrire", data={
        "csrf_token": token, "destinataire": "un", "identifiant": "AGR-2026-0200", "expediteur": "Service PMI",
        "objet": "Visite", "corps": "Bonjour.",
    })
    assert done.status_code == 303, text_of(done)

    gers = portal_for("gers")  # notify_admins: true, 3 failures
    gers.create_account("AGR-2026-0201", "Lune#Soleil42", email="anne@example.org")
    for _ in range(3):
        gers.login("AGR-2026-0201", "Faux#Passe99")

    cestas = portal_for("cestas")
    cestas.create_account("famille.liens", "Lune#Soleil42", email="paul@example.org")
    cestas.post("/mot-de-passe-oublie", {"identifiant": "famille.liens", "email": "paul@example.org"})

    mails = smtp_server.wait_for(4)
    by_template = {}
    for mail in mails:
        body = mail.get_body(("plain",)).get_content() + mail.get_body(("html",)).get_content()
        by_template[str(mail["Subject"])] = urls(body)
    origin = {"alpes-maritimes": "http://alpes-maritimes.localhost:8000/", "gers": "http://gers.localhost:8000/",
              "cestas": "http://cestas.localhost:8000/"}
    assert len(mails) == 4, by_template
    linked = [(subject, found) for subject, found in by_template.items() if found]
    assert len(linked) == 3, by_template  # the notice, the admins' lock notice, the reset link
    for subject, found in linked:
        assert all(any(u.startswith(o) for o in origin.values()) for u in found), (subject, found)
    notice = next(found for subject, found in by_template.items() if "Nouveau message personnel" in subject)
    assert set(notice) == {"http://alpes-maritimes.localhost:8000/"}
    lock = next(found for subject, found in by_template.items() if "Compte bloqué :" in subject)
    assert set(lock) == {"http://gers.localhost:8000/admin"}
