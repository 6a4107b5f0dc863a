"""Every form people submit, in a real Chromium, by clicking its visible button (found by its
accessible name, as a user or a screen reader finds it), with the visible outcome asserted.

Issue 9: « Oui, supprimer », « Archiver ce message » and « Se déconnecter » on « Mon compte »
answered « Le formulaire a expiré » for everyone, while the suite posted each form with a token of
its own. The CSRF gate of tests/browser/conftest.py checks every page these tests open.

Flows already clicked elsewhere are not repeated here: the Gers letter's first login, forced change
and terms (test_account_flows), the child declaration (test_children), the console's unlock from
the accounts list (test_console)."""

from __future__ import annotations

import re
import uuid
from datetime import date

import pytest
from playwright.sync_api import Page, expect

from tests.browser.test_console import CONSOLE_PASSWORD, create_console_admin

pytestmark = pytest.mark.browser

AM = "alpes-maritimes"
PASSWORD = "Cathedrale#Beauce28"  # valid under every tenant's policy
EXPIRED = "Le formulaire a expiré"
SIGNED_OUT = "Vous êtes déconnecté"


def agrement_number() -> str:
    return f"06-{uuid.uuid4().hex[:8].upper()}"


def sign_in(page: Page, live_server, slug: str, identifier: str, password: str = PASSWORD) -> None:
    page.goto(live_server.url(slug, "/connexion"))
    page.get_by_role("textbox", name=re.compile(r"identifiant|adresse électronique", re.I)).fill(identifier)
    page.get_by_label(re.compile(r"^Mot de passe")).first.fill(password)
    page.get_by_role("button", name=said(live_server, slug, "login.submit")).click()
    page.wait_for_url(re.compile(r"/espace$"))


def assistant(live_server, live_accounts, page: Page, slug: str = AM) -> object:
    account, _ = live_accounts.create(slug, agrement_number(), PASSWORD)
    sign_in(page, live_server, slug, account.identifier)
    return account


def store(live_server, *rows):
    async def add(sessionmaker):
        async with sessionmaker(expire_on_commit=False) as db:
            db.add_all(rows)
            await db.commit()
        return rows

    return live_server.run_async(add)


def with_agrement(live_server, account) -> None:
    """An agrément valid today: what the publication rule asks before a fiche is public."""
    from assmat.portal.agrement.models import Agrement

    store(live_server, Agrement(tenant_id=account.tenant_id, account_id=account.id, number=f"N-{account.id}",
                                start_date=date(2020, 1, 1), end_date=date(2031, 12, 31), capacity=4))


def a_child(live_server, account) -> object:
    from assmat.portal.children.models import CarePeriod, Child, Guardian

    (child,) = store(live_server, Child(
        tenant_id=account.tenant_id, account_id=account.id, last_name="ENFANTGARDE", first_name="Anna",
        birth_date=date(2025, 1, 1), address="147 boulevard du Mercantour", postal_code="06200", city="Nice",
        care_start=date(2026, 11, 2),
        guardians=[Guardian(tenant_id=account.tenant_id, position=1, civility="Madame", last_name="ENFANTGARDE",
                            first_name="Maman", email="maman@example.org", phone="0612345678")],
    ))
    store(live_server, CarePeriod(tenant_id=account.tenant_id, child_id=child.id, childcare_type="standard",
                                  start_date=date(2026, 11, 2)))
    return child


def email_confirmed(live_server, account_id: int) -> None:
    from sqlalchemy import update

    from assmat.core import clock
    from assmat.auth.models import Account

    async def confirm(sessionmaker):
        async with sessionmaker() as db:
            await db.execute(update(Account).where(Account.id == account_id).values(email_confirmed_at=clock.now()))
            await db.commit()

    live_server.run_async(confirm)


def expect_no_expired_form(page: Page) -> None:
    expect(page.get_by_text(EXPIRED)).to_have_count(0)


# -- the gate itself ----------------------------------------------------------------------------------------


def test_the_gate_fails_a_page_whose_post_form_has_an_empty_token(live_server, page: Page, csrf_gate) -> None:
    """The fixture's check sees what a user would hit: a form that posts an empty token."""
    url = live_server.url(AM, "/gabarit-de-test")
    page.route(url, lambda route: route.fulfill(content_type="text/html", body=(
        '<!doctype html><title>t</title><form method="post" action="/espace/enfants/1/supprimer">'
        '<input type="hidden" name="csrf_token" value=""><button>Oui, supprimer</button></form>'
        '<form method="POST" action="/deconnexion"><button>Se déconnecter</button></form>'
        '<form method="get" action="/recherche"><button>Chercher</button></form>')))
    page.goto(url)
    page.evaluate("0")
    assert len(csrf_gate) == 1 and "/espace/enfants/1/supprimer" in csrf_gate[0] and "/deconnexion" in csrf_gate[0]
    assert "/recherche" not in csrf_gate[0]
    csrf_gate.clear()  # seen: this test's page was broken on purpose


# -- the three forms that could not be submitted ----------------------------------------------------------------


def test_an_assistant_deletes_a_declared_child(live_server, live_accounts, page: Page) -> None:
    account = assistant(live_server, live_accounts, page)
    child = a_child(live_server, account)
    page.get_by_role("navigation").get_by_role("link", name="Enfants accueillis").click()
    page.get_by_role("link", name=re.compile(r"^Supprimer Anna ENFANTGARDE")).click()
    page.get_by_role("button", name="Oui, supprimer").click()
    expect_no_expired_form(page)
    page.wait_for_url(re.compile(r"/espace/enfants(\?.*)?$"))
    expect(page.get_by_role("status")).to_contain_text("L'enfant a été supprimé")
    expect(page.get_by_text("ENFANTGARDE")).to_have_count(0)


def test_an_assistant_archives_a_message_and_moves_it_back(live_server, live_accounts, page: Page) -> None:
    from assmat.portal.messages.models import Message

    account = assistant(live_server, live_accounts, page)
    subject = f"Réunion {uuid.uuid4().hex[:6]}"
    store(live_server, Message(tenant_id=AM, subject=subject, sender="Service PMI", body="Bonjour.",
                               recipient_account_id=account.id))
    page.get_by_role("navigation").get_by_role("link", name="Messages").click()
    page.get_by_role("link", name=subject).click()
    page.get_by_role("button", name="Archiver ce message").click()
    expect_no_expired_form(page)
    page.wait_for_url(re.compile(r"/espace/messages(\?.*)?$"))
    expect(page.get_by_role("link", name=subject)).to_have_count(0)

    page.goto(live_server.url(AM, "/espace/messages/archives"))
    page.get_by_role("link", name=subject).click()
    page.get_by_role("button", name="Remettre dans les messages reçus").click()
    expect_no_expired_form(page)
    page.goto(live_server.url(AM, "/espace/messages"))
    expect(page.get_by_role("link", name=subject)).to_be_visible()


def test_an_assistant_searches_her_messages_by_clicking_rechercher(live_server, live_accounts, page: Page) -> None:
    """Accents folded, the wildcards of LIKE matched as themselves (a statement built once, its
    pattern bound: assmat.core.db.like)."""
    from assmat.portal.messages.models import Message

    account = assistant(live_server, live_accounts, page)
    tag = uuid.uuid4().hex[:6]
    for subject in (f"Alerte météo 100% {tag}", f"Alerte météo 1000 {tag}"):
        store(live_server, Message(tenant_id=AM, subject=subject, sender="Service PMI", body="Bonjour.",
                                   recipient_account_id=account.id))
    page.get_by_role("navigation").get_by_role("link", name="Messages").click()
    page.get_by_label("Rechercher un message").fill(f"meteo 100% {tag}")
    page.get_by_role("button", name="Rechercher").click()
    page.wait_for_url(re.compile(r"/espace/messages\?.*q="))
    expect(page.get_by_role("link", name=f"Alerte météo 100% {tag}")).to_be_visible()
    expect(page.get_by_role("link", name=f"Alerte météo 1000 {tag}")).to_have_count(0)
    page.get_by_label("Rechercher un message").fill(f"1_0 {tag}")
    page.get_by_role("button", name="Rechercher").click()
    expect(page.get_by_text("Aucun message ne correspond à votre recherche.")).to_be_visible()


@pytest.mark.parametrize("where", ["Mon compte", "header"])
def test_an_assistant_signs_out(live_server, live_accounts, page: Page, where: str) -> None:
    """From « Mon compte » (it failed) and from the header; afterwards, Back shows nothing private."""
    account = assistant(live_server, live_accounts, page)
    child = a_child(live_server, account)
    page.goto(live_server.url(AM, f"/espace/enfants/{child.id}"))
    expect(page.get_by_text("maman@example.org")).to_be_visible()
    if where == "Mon compte":
        page.get_by_role("navigation").get_by_role("link", name="Mon compte").click()
        page.get_by_role("main").get_by_role("button", name=said(live_server, AM, "menu.sign_out")).click()
    else:
        page.get_by_role("navigation").get_by_role("button", name=said(live_server, AM, "menu.sign_out")).click()
    expect_no_expired_form(page)
    page.wait_for_url(re.compile(r"/connexion\?info=logged_out$"))
    expect(page.get_by_role("status")).to_contain_text(SIGNED_OUT)
    # Back, as far as the child's record: the browser asks the server again, which signs in first.
    for _ in range(2 if where == "Mon compte" else 1):
        page.go_back()
    expect(page.get_by_role("textbox", name=re.compile(r"identifiant", re.I))).to_be_visible()
    expect(page.get_by_text("maman@example.org")).to_have_count(0)


# -- the other forms of the portal ---------------------------------------------------------------------------


def fr(msgid: str, **values: object) -> str:
    """The French text of a catalogue message, as the portal shows it."""
    from assmat.core.i18n import current_locale, gettext

    token = current_locale.set("fr")
    try:
        return gettext(msgid) % values if values else gettext(msgid)
    finally:
        current_locale.reset(token)


def said(live_server, slug: str, message_id: str, default_msgid: str | None = None) -> str:
    """What the tenant shows for `message_id` (its YAML's words, else the catalogue's French)."""
    from assmat.core.i18n import current_locale
    from assmat.web.templating import tenant_text

    token = current_locale.set("fr")
    try:
        return tenant_text(live_server.app.state.registry.get(slug), message_id, fr(default_msgid) if default_msgid else None)
    finally:
        current_locale.reset(token)


def notice(page: Page, msgid: str):
    return expect(page.get_by_role("status").filter(has_text=fr(msgid)))


def mail_link(live_server, recipient: str, pattern: str) -> str:
    """The path of the first link matching `pattern` in the newest mail the live server wrote to `recipient`."""
    import email
    import email.policy
    import time

    deadline = time.monotonic() + 15
    while time.monotonic() < deadline:
        for path in sorted(live_server.settings.mail_dir.glob("*.eml"), key=lambda p: p.stat().st_mtime_ns, reverse=True):
            message = email.message_from_bytes(path.read_bytes(), policy=email.policy.default)
            if message["To"] == recipient:
                found = re.search(r"https?://[^/\s]+(" + pattern + r")", message.get_body(("plain",)).get_content())
                if found:
                    return found.group(1)
        time.sleep(0.1)
    raise AssertionError(f"no mail with {pattern} to {recipient}")


def unique_email() -> str:
    return f"assmat-{uuid.uuid4().hex[:10]}@example.org"


def fill_new_password(page: Page, password: str = "Nouveau#Mimosa2027") -> str:
    page.locator("#mot_de_passe").fill(password)
    page.locator("#confirmation").fill(password)
    return password


def test_an_assistant_changes_her_password_then_signs_in_with_it(live_server, live_accounts, page: Page) -> None:
    account = assistant(live_server, live_accounts, page)
    page.get_by_role("navigation").get_by_role("link", name="Mon compte").click()
    page.get_by_role("link", name=said(live_server, AM, "change_password.title")).click()
    page.get_by_label(fr("Current password")).fill(PASSWORD)
    new = fill_new_password(page)
    page.get_by_role("button", name=said(live_server, AM, "change_password.submit")).click()
    page.wait_for_url(re.compile(r"/connexion\?info=password_changed$"))
    notice(page, "Your password has been changed. Sign in with your new password.").to_be_visible()
    sign_in(page, live_server, AM, account.identifier, new)


def test_an_assistant_changes_her_email_and_confirms_it(live_server, live_accounts, page: Page) -> None:
    assistant(live_server, live_accounts, page)
    address = unique_email()
    page.get_by_role("navigation").get_by_role("link", name="Mon compte").click()
    page.get_by_role("link", name=said(live_server, AM, "change_email.title")).click()
    page.get_by_label(fr("New email address")).fill(address)
    page.get_by_label(fr("Current password")).fill(PASSWORD)
    page.get_by_role("button", name=said(live_server, AM, "change_email.submit")).click()
    notice(page, "A confirmation link has been sent to the new address. The change applies once you click it.").to_be_visible()
    page.goto(live_server.url(AM, mail_link(live_server, address, r"/confirmation-email/[\w-]+")))
    page.get_by_role("button", name=fr("Confirm this address")).click()
    notice(page, "Your email address has been updated.").to_be_visible()
    expect(page.get_by_text(address).first).to_be_visible()


def test_a_visitor_writes_to_the_administrator(live_server, page: Page) -> None:
    page.goto(live_server.url("gers", "/connexion"))
    page.get_by_role("main").get_by_role("link", name=fr("Contact the site administrator")).click()
    page.get_by_role("textbox", name=fr("Your name")).fill("Claire Dupont")
    page.get_by_role("textbox", name=fr("Your email address")).fill(unique_email())
    page.get_by_role("textbox", name=re.compile(r"^Votre message|^Message")).fill("Je n'ai pas reçu mon courrier.")
    page.get_by_role("button", name=fr("Send")).click()
    notice(page, "Your message has been sent to the site administrator.").to_be_visible()


def test_an_assistant_reports_a_change_of_situation(live_server, live_accounts, page: Page) -> None:
    assistant(live_server, live_accounts, page)
    page.get_by_role("navigation").get_by_role("link", name=re.compile("agrément", re.I)).click()
    page.get_by_role("link", name=fr("Report a change of situation")).click()
    page.get_by_role("textbox", name=fr("Your message")).fill("Je déménage le 1er janvier à Antibes.")
    page.get_by_role("button", name=fr("Send")).click()
    notice(page, "Your report has been sent to the département's services. They will contact you if needed.").to_be_visible()


def test_an_assistant_edits_a_declared_child(live_server, live_accounts, page: Page) -> None:
    account = assistant(live_server, live_accounts, page)
    a_child(live_server, account)
    page.get_by_role("navigation").get_by_role("link", name="Enfants accueillis").click()
    page.get_by_role("link", name=re.compile(r"^Modifier Anna ENFANTGARDE")).click()
    page.get_by_role("textbox", name="Téléphone", exact=False).first.fill("06 98 76 54 32")
    page.get_by_role("button", name=fr("Validate")).click()
    expect_no_expired_form(page)
    notice(page, "The child's details have been saved.").to_be_visible()


@pytest.mark.parametrize("slug", ["gers", "alpes-maritimes"], ids=["temporary password", "link"])
def test_forgot_password_in_both_modes(live_server, live_accounts, page: Page, slug: str) -> None:
    """The Gers mails a temporary password; Alpes-Maritimes a link to choose one, followed here."""
    address = unique_email()
    account, _ = live_accounts.create(slug, f"AGR-{uuid.uuid4().hex[:8].upper()}", PASSWORD, email=address)
    page.goto(live_server.url(slug, "/connexion"))
    if slug == "alpes-maritimes":  # one link for a first login and a forgotten password, then the reset form
        page.get_by_role("link", name=said(live_server, slug, "login.activation_link")).click()
        page.get_by_role("link", name=said(live_server, slug, "activation.forgot_link")).click()
    else:
        page.get_by_role("link", name=said(live_server, slug, "login.forgot_link")).click()
    page.get_by_role("textbox", name=re.compile(r"^Identifiant")).fill(account.identifier)
    page.get_by_role("textbox", name=re.compile("^" + re.escape(fr("Email address")))).fill(address)
    mode = live_server.app.state.registry.get(slug).config.password_reset.mode
    submit = said(live_server, slug, "reset.submit", "Send me a new password" if mode == "temporary_password" else "Send me a link")
    page.get_by_role("button", name=submit).click()
    expect_no_expired_form(page)
    page.wait_for_url(re.compile(r"/connexion\?info=reset_(link_)?sent$"))
    expect(page.get_by_role("status")).to_be_visible()
    if slug == "alpes-maritimes":
        page.goto(live_server.url(slug, mail_link(live_server, address, r"/reinitialisation/[\w-]+")))
        new = fill_new_password(page)
        page.get_by_role("button", name=said(live_server, slug, "new_password.submit", "Save my password")).click()
        notice(page, "Your password has been changed. Sign in with your new password.").to_be_visible()
        sign_in(page, live_server, slug, account.identifier, new)


def test_activation_by_identity_check(live_server, live_accounts, page: Page) -> None:
    """Alpes-Maritimes: identifier and identity, then the emailed link, then a password."""
    address = unique_email()
    account, _ = live_accounts.create(AM, agrement_number(), None, email=address)
    page.goto(live_server.url(AM, "/connexion"))
    page.get_by_role("link", name=said(live_server, AM, "login.activation_link")).click()
    page.get_by_role("textbox", name=re.compile(r"^Identifiant")).fill(account.identifier)
    for label, value in ((fr("Last name"), "Martin"), (fr("First name"), "Anne"), (fr("Birth date"), "17/05/1980"),
                         (fr("Email address"), address)):
        field = page.get_by_role("textbox", name=re.compile("^" + re.escape(label)))
        if field.count():
            field.fill(value)
    page.get_by_role("button", name=fr("Continue")).click()
    expect_no_expired_form(page)
    expect(page.get_by_role("status")).to_be_visible()
    page.goto(live_server.url(AM, mail_link(live_server, address, r"/activation/[\w-]+")))
    fill_new_password(page)
    page.get_by_role("button", name=fr("Validate")).click()
    notice(page, "Your account is activated. Sign in with your identifier and your new password.").to_be_visible()


def test_activation_by_pmi_number_and_birth_date(live_server, live_accounts, page: Page) -> None:
    """Eure-et-Loir: the PMI number and birth date, then an address and a password in one page."""
    number = f"{uuid.uuid4().int % 1_000_000:06d}"
    live_accounts.create("eure-et-loir", number, None, email=None, birth_date=date(1975, 3, 14))
    page.goto(live_server.url("eure-et-loir", "/activation"))
    page.get_by_role("textbox", name=re.compile(r"^Identifiant")).fill(number)
    page.get_by_role("textbox", name=re.compile("^" + fr("Birth date"))).fill("14/03/1975")
    page.get_by_role("button", name=fr("Continue")).click()
    expect_no_expired_form(page)
    page.wait_for_url(re.compile(r"/activation/[\w-]+$"))
    page.get_by_role("textbox", name=re.compile("^" + fr("Email address"))).fill(unique_email())
    fill_new_password(page)
    page.get_by_role("button", name=fr("Validate")).click()
    page.wait_for_url(re.compile(r"/connexion\?info="))
    expect(page.get_by_role("status")).to_be_visible()


def test_the_security_code_reloads_and_signs_in(live_server, live_accounts, page: Page) -> None:
    """Eure-et-Loir's cryptogramme: « Recharger » shows a new one; the right one signs in."""
    from assmat.auth.captcha import DEFAULT_LENGTH, derive_answer

    number = f"{uuid.uuid4().int % 1_000_000:06d}"
    account, _ = live_accounts.create("eure-et-loir", number, PASSWORD)
    email_confirmed(live_server, account.id)  # the tenant asks for it before the first sign-in
    page.goto(live_server.url("eure-et-loir", "/connexion"))
    first = page.locator("input[name=captcha_id]").input_value()
    page.get_by_role("button", name=said(live_server, "eure-et-loir", "captcha.reload")).click()
    expect_no_expired_form(page)
    expect(page.locator("input[name=captcha_id]")).not_to_have_value(first)
    captcha_id = page.locator("input[name=captcha_id]").input_value()
    page.get_by_role("textbox", name=re.compile(r"^Identifiant")).fill(number)
    page.get_by_label(re.compile(r"^Mot de passe")).first.fill(PASSWORD)
    answer = derive_answer(live_server.settings.effective_secret_key, "eure-et-loir", captcha_id, DEFAULT_LENGTH)
    page.get_by_role("textbox", name=said(live_server, "eure-et-loir", "captcha.label")).fill(answer)
    page.get_by_role("button", name=said(live_server, "eure-et-loir", "login.submit")).click()
    page.wait_for_url(re.compile(r"/espace$"))


# -- the console ---------------------------------------------------------------------------------------------

GERS = "gers"


def console_sign_in(live_server, page: Page, slug: str = GERS) -> str:
    staff = f"agent-{uuid.uuid4().hex[:8]}@example.org"
    create_console_admin(live_server, slug, staff, CONSOLE_PASSWORD)
    page.goto(live_server.url(slug, "/admin/login"))
    page.get_by_label("Adresse email").fill(staff)
    page.get_by_label("Mot de passe").fill(CONSOLE_PASSWORD)
    page.get_by_role("button", name="Se connecter").click()
    page.wait_for_url(re.compile(r"/admin/vue-d-ensemble$"))
    return staff


def confirm_from_details(live_server, page: Page, identity: str, pk: int, label: str, slug: str = GERS) -> None:
    """On a row's details page, the action's link, then « Confirmer : … » on its confirmation page."""
    page.goto(live_server.url(slug, f"/admin/{identity}/details/{pk}"))
    page.get_by_role("link", name=label, exact=True).click()
    page.get_by_role("button", name=f"Confirmer : {label}").click()
    expect_no_expired_form(page)


def done(page: Page, label: str, count: int = 1):
    return expect(page.get_by_role("status").filter(has_text=f"{label} : {count} élément(s) traité(s)."))


def test_staff_sign_in_and_out_of_the_console(live_server, page: Page) -> None:
    console_sign_in(live_server, page)
    page.get_by_role("button", name="Se déconnecter").click()
    expect_no_expired_form(page)
    page.wait_for_url(re.compile(r"/admin/login$"))
    page.goto(live_server.url(GERS, "/admin/account/list"))
    page.wait_for_url(re.compile(r"/admin/login"))


def test_staff_confirm_each_account_action(live_server, live_accounts, page: Page) -> None:
    console_sign_in(live_server, page)
    from tests.browser.test_console import lock_by_failed_logins

    account, _ = live_accounts.create(GERS, f"AGR-{uuid.uuid4().hex[:8].upper()}", PASSWORD, email=unique_email())
    lock_by_failed_logins(live_server, GERS, account.identifier)
    for label in ("Débloquer", "Envoyer une réinitialisation", "Désactiver", "Réactiver"):
        confirm_from_details(live_server, page, "account", account.id, label)
        done(page, label).to_be_visible()
    assert live_accounts.get(account.id).disabled_at is None and live_accounts.get(account.id).locked_at is None

    waiting, _ = live_accounts.create(GERS, f"AGR-{uuid.uuid4().hex[:8].upper()}", None, email=unique_email())
    confirm_from_details(live_server, page, "account", waiting.id, "Renvoyer l'activation")
    expect(page.get_by_role("status").filter(has_text="Renvoyer l'activation :")).to_be_visible()
    confirm_from_details(live_server, page, "account", waiting.id, "Imprimer le courrier")
    expect(page.get_by_text(waiting.identifier).first).to_be_visible()


def test_staff_import_a_file_dry_run_then_apply(live_server, page: Page, tmp_path) -> None:
    from tests.admin.test_import import csv_bytes, row

    console_sign_in(live_server, page)
    number = f"AGR-{uuid.uuid4().hex[:8].upper()}"
    file = tmp_path / "assistants.csv"
    file.write_bytes(csv_bytes(row(number)))
    page.goto(live_server.url(GERS, "/admin/import"))
    page.get_by_label("Fichier CSV").set_input_files(str(file))
    page.get_by_role("button", name="Simuler l'import").click()
    expect_no_expired_form(page)
    page.get_by_role("button", name="Appliquer").click()
    expect_no_expired_form(page)
    page.wait_for_url(re.compile(r"/admin/import/\d+$"))
    page.goto(live_server.url(GERS, f"/admin/account/list?search={number}"))
    expect(page.locator("tbody tr").filter(has_text=number)).to_have_count(1)


def test_staff_retry_a_mail_and_mark_messages_handled(live_server, live_accounts, page: Page) -> None:
    from assmat.core.mail.models import OutboxMail
    from assmat.portal.contact.models import ContactMessage
    from assmat.portal.space.models import SituationChange

    console_sign_in(live_server, page)
    account, _ = live_accounts.create(GERS, f"AGR-{uuid.uuid4().hex[:8].upper()}", PASSWORD)
    mail, contact, change = store(
        live_server,
        OutboxMail(tenant_id=GERS, template="reset_link", sender="Portail <ne-pas-repondre@example.org>",
                   recipient=unique_email(), subject="Réinitialisation", body_text="Bonjour.", status="failed",
                   attempts=5, last_error="refusé"),
        ContactMessage(tenant_id=GERS, name="Claire Dupont", email=unique_email(), message="Bonjour."),
        SituationChange(tenant_id=GERS, account_id=account.id, message="Déménagement."),
    )
    confirm_from_details(live_server, page, "outbox-mail", mail.id, "Relancer l'envoi")
    done(page, "Relancer l'envoi").to_be_visible()
    confirm_from_details(live_server, page, "contact-message", contact.id, "Marquer comme traité")
    done(page, "Marquer comme traité").to_be_visible()
    confirm_from_details(live_server, page, "changement-situation", change.id, "Marquer comme traité")
    done(page, "Marquer comme traité").to_be_visible()


def test_staff_write_a_message_to_every_assistant(live_server, page: Page) -> None:
    console_sign_in(live_server, page)
    subject = f"Réunion {uuid.uuid4().hex[:6]}"
    page.goto(live_server.url(GERS, "/admin/message/list"))
    page.get_by_role("link", name="Écrire un message").click()
    page.get_by_label(re.compile("^Tous les assistants", re.I)).check()
    page.get_by_label("Expéditeur").fill("Service PMI")
    page.get_by_label("Objet").fill(subject)
    page.get_by_label("Message", exact=True).fill("Une réunion d'information aura lieu le 12 janvier.")
    page.get_by_role("button", name="Envoyer").click()
    expect_no_expired_form(page)
    page.wait_for_url(re.compile(r"envoye=1"))
    expect(page.get_by_text(subject).first).to_be_visible()


def test_a_new_staff_member_sets_the_console_password(live_server, page: Page) -> None:
    from assmat.auth.staff import AdminService
    from assmat.core.security.hashing import make_hasher

    staff = unique_email()
    tenant = live_server.app.state.registry.get(GERS)

    async def create(sessionmaker) -> str:
        async with sessionmaker() as db:
            _admin, token = await AdminService(db, make_hasher(live_server.settings), tenant).create(staff, "admin")
            await db.commit()
            return token

    token = live_server.run_async(create)
    page.goto(live_server.url(GERS, f"/admin/mot-de-passe/{token}"))
    fill_new_password(page, CONSOLE_PASSWORD)
    page.get_by_role("button", name=fr("Save my password")).click()
    expect_no_expired_form(page)
    page.wait_for_url(re.compile(r"/admin/login$"))
    page.get_by_label("Adresse email").fill(staff)
    page.get_by_label("Mot de passe").fill(CONSOLE_PASSWORD)
    page.get_by_role("button", name="Se connecter").click()
    page.wait_for_url(re.compile(r"/admin/vue-d-ensemble$"))


# -- mon-enfant's habilitation request (seed 004) --------------------------------------------------------------

ME = "mon-enfant"
ME_CONSOLE_PASSWORD = "ConsoleSolide2026"  # mon-enfant's policy: letters and digits only


def mail_body(live_server, recipient: str, containing: str) -> str:
    """The text of the newest mail the live server wrote to `recipient` that contains `containing`."""
    import email
    import email.policy
    import time

    deadline = time.monotonic() + 15
    while time.monotonic() < deadline:
        for path in sorted(live_server.settings.mail_dir.glob("*.eml"), key=lambda p: p.stat().st_mtime_ns, reverse=True):
            message = email.message_from_bytes(path.read_bytes(), policy=email.policy.default)
            text = message.get_body(("plain",)).get_content()
            if message["To"] == recipient and containing in text:
                return text
        time.sleep(0.1)
    raise AssertionError(f"no mail to {recipient} with {containing!r}")


def request_habilitation(live_server, page: Page, address: str, last_name: str) -> None:
    """The guide's steps 2 to 5, each by its visible link or button; « Recommencer » on the way."""
    from assmat.auth.captcha import derive_answer

    page.goto(live_server.url(ME, "/connexion"))
    page.get_by_role("link", name="Faites votre demande d'habilitation en ligne").click()
    page.get_by_label(re.compile(r"^Vous êtes assistant\(e\) maternel\(le\) et déjà inscrit\(e\)")).check()
    page.get_by_role("button", name="Poursuivre").click()
    expect_no_expired_form(page)
    page.get_by_label("Mme", exact=True).check()
    page.get_by_role("textbox", name=re.compile(r"^Votre nom")).fill(last_name)
    page.get_by_role("textbox", name=re.compile(r"^Votre prénom")).fill("Nadia")
    page.get_by_role("textbox", name=re.compile(r"^N° de voie")).fill("12")
    page.get_by_role("textbox", name=re.compile(r"^Nom de voie")).fill("rue des Amandiers")
    page.get_by_role("textbox", name=re.compile(r"^Code postal")).fill("66000")
    page.get_by_role("textbox", name=re.compile(r"^Commune")).fill("Perpignan")
    page.get_by_role("textbox", name=re.compile(r"^Téléphone où vous contacter")).fill("04 68 00 00 00")
    page.get_by_role("textbox", name=re.compile(r"^Adresse électronique")).fill(address)
    page.get_by_role("textbox", name=re.compile(r"^Confirmer l'adresse électronique")).fill(address)
    first = page.locator("input[name=captcha_id]").input_value()
    page.get_by_role("button", name="Recommencer").click()
    expect_no_expired_form(page)
    expect(page.locator("input[name=captcha_id]")).not_to_have_value(first)
    expect(page.get_by_role("textbox", name=re.compile(r"^Code postal"))).to_have_value("66000")
    captcha_id = page.locator("input[name=captcha_id]").input_value()
    page.get_by_role("textbox", name="Vérification du texte").fill(
        derive_answer(live_server.settings.effective_secret_key, ME, captcha_id, 4, digits=True))
    page.get_by_role("button", name="Terminer la demande").click()
    expect_no_expired_form(page)
    expect(page.get_by_text("Votre demande a bien été enregistrée. Vous allez recevoir un courriel de confirmation.")
           ).to_be_visible()


def habilitation_request_id(live_server, address: str) -> int:
    from sqlalchemy import select

    from assmat.portal.habilitation.models import HabilitationRequest

    async def find(sessionmaker) -> int:
        async with sessionmaker() as db:
            return await db.scalar(select(HabilitationRequest.id).where(
                HabilitationRequest.tenant_id == ME, HabilitationRequest.email_key == address))

    return live_server.run_async(find)


@pytest.mark.parametrize("width", [1280, 360])
def test_an_assistant_requests_an_habilitation_staff_activate_it_and_she_signs_in(live_server, live_accounts,
                                                                                page: Page, width: int) -> None:
    page.set_viewport_size({"width": width, "height": 800})
    address = unique_email()
    live_accounts.create(ME, address, None, email=address)  # on the monthly file, never signed in
    request_habilitation(live_server, page, address, "Roux")
    assert "a bien été enregistrée" in mail_body(live_server, address, "enregistrée")

    staff = f"caf-{uuid.uuid4().hex[:8]}@example.org"
    create_console_admin(live_server, ME, staff, ME_CONSOLE_PASSWORD)
    page.goto(live_server.url(ME, "/admin/login"))
    page.get_by_label("Adresse email").fill(staff)
    page.get_by_label("Mot de passe").fill(ME_CONSOLE_PASSWORD)
    page.get_by_role("button", name="Se connecter").click()
    page.wait_for_url(re.compile(r"/admin/vue-d-ensemble$"))
    pk = habilitation_request_id(live_server, address)
    for label in ("Demander le consentement", "Consentement reçu (lettre signée)", "Activer l'habilitation"):
        confirm_from_details(live_server, page, "demandes-habilitation", pk, label, slug=ME)
        done(page, label).to_be_visible()
    password = re.search(r'\n"([^"\s]+)"\r?\n', mail_body(live_server, address, "guillemets")).group(1)

    page.goto(live_server.url(ME, "/connexion"))
    page.get_by_role("textbox", name=re.compile(r"adresse électronique", re.I)).fill(address)
    page.get_by_label(re.compile(r"^Votre mot de passe")).first.fill(password)
    page.get_by_role("button", name=said(live_server, ME, "login.submit")).click()
    page.wait_for_url(re.compile(r"/changement-mot-de-passe$"))
    fill_new_password(page, "Canigou66Perpignan")
    page.get_by_role("button", name=re.compile("Valider|Enregistrer")).first.click()
    expect_no_expired_form(page)
    page.wait_for_url(re.compile(r"/espace/disponibilites$"))
    page.goto(live_server.url(ME, "/espace/fiche"))
    expect(page.get_by_text("L'habilitation donne accès uniquement à la mise à jour des disponibilités.")).to_be_visible()


def test_staff_orient_or_refuse_a_request_and_an_assistant_gives_her_consent_online(live_server, live_accounts,
                                                                                   page: Page) -> None:
    from sqlalchemy import update

    from assmat.portal.habilitation.models import HabilitationRequest
    from datetime import timedelta

    from assmat.core.security.tokens import Principal, TokenService
    from assmat.portal.habilitation.service import CONSENT

    page.set_viewport_size({"width": 360, "height": 800})
    nobody, refused, online = unique_email(), unique_email(), unique_email()
    live_accounts.create(ME, refused, None, email=refused)
    account, _ = live_accounts.create(ME, online, None, email=online)
    for address, name in ((nobody, "Inconnue"), (refused, "Refusee"), (online, "Enligne")):
        request_habilitation(live_server, page, address, name)
    staff = f"caf-{uuid.uuid4().hex[:8]}@example.org"
    create_console_admin(live_server, ME, staff, ME_CONSOLE_PASSWORD)
    page.goto(live_server.url(ME, "/admin/login"))
    page.get_by_label("Adresse email").fill(staff)
    page.get_by_label("Mot de passe").fill(ME_CONSOLE_PASSWORD)
    page.get_by_role("button", name="Se connecter").click()
    page.wait_for_url(re.compile(r"/admin/vue-d-ensemble$"))
    confirm_from_details(live_server, page, "demandes-habilitation", habilitation_request_id(live_server, nobody),
                         "Orienter vers le Pôle PMI", slug=ME)
    done(page, "Orienter vers le Pôle PMI").to_be_visible()
    assert "Pôle PMI" in mail_body(live_server, nobody, "orienté")
    page.goto(live_server.url(ME, f"/admin/demandes-habilitation/details/{habilitation_request_id(live_server, refused)}"))
    page.get_by_role("link", name="Refuser la demande", exact=True).click()
    page.get_by_label(re.compile("^Motif du refus")).fill("Vous n'exercez plus dans le département.")
    page.get_by_role("button", name="Confirmer : Refuser la demande").click()
    expect_no_expired_form(page)
    done(page, "Refuser la demande").to_be_visible()
    assert "Vous n'exercez plus dans le département." in mail_body(live_server, refused, "motif")

    # The online consent (a tenant with `consent: online`): the link the mail carries, clicked.
    pk = habilitation_request_id(live_server, online)

    async def consent_requested(sessionmaker):
        async with sessionmaker() as db:
            await db.execute(update(HabilitationRequest).where(HabilitationRequest.tenant_id == ME,
                                                               HabilitationRequest.id == pk)
                             .values(state="consent_requested", account_id=account.id))
            await db.commit()

    live_server.run_async(consent_requested)
    async def consent_link(sessionmaker) -> str:
        async with sessionmaker() as db:
            token = await TokenService(db).issue(CONSENT, Principal("account", account.id, ME), timedelta(days=14),
                                                 {"request": pk})
            await db.commit()
            return token

    token = live_server.run_async(consent_link)
    page.goto(live_server.url(ME, f"/habilitation/consentement/{token}"))
    page.get_by_label(re.compile("^J'autorise la mise en ligne")).check()
    page.get_by_role("button", name="Valider").click()
    expect_no_expired_form(page)
    expect(page.get_by_text("Votre accord a bien été enregistré.")).to_be_visible()
