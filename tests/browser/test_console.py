"""A Gers staff member in the console, in a real Chromium: signs in on the French console page,
finds a locked account in the accounts list, unlocks it with the list's one-click "Débloquer"
button, and the user signs in on the portal again with the temporary password the unlock mails."""

from __future__ import annotations

import email
import email.policy
import re
import time
import uuid
from pathlib import Path

import pytest
from playwright.sync_api import Page, expect

from tests.browser.test_account_flows import FIRST_LOGIN, new_identifier, sign_in

pytestmark = pytest.mark.browser

GOOD = "Lune#Soleil42"
WRONG = "Faux#Passe99"
CONSOLE_PASSWORD = "Console#Solide2026"
UNLOCK_SUBJECT = "Demande de modification de mot de passe"
ACCESS_SUBJECT = "Votre accès à la console"
SHOTS = Path("/tmp/shots19/console")


def create_console_admin(live_server, slug: str, email_address: str, password: str, role: str = "admin") -> None:
    """A console user with a password, in the live server's database (as `assmat create-admin`
    and its set-password link do)."""
    from assmat.auth.staff import AdminService
    from assmat.core.security.hashing import make_hasher

    tenant = live_server.app.state.registry.get(slug) if slug else None

    async def create(sessionmaker) -> None:
        hasher = make_hasher(live_server.settings)
        async with sessionmaker() as db:
            service = AdminService(db, hasher, tenant)
            _, token = await service.create(email_address, role)
            await db.commit()
            await service.set_password_with_token(token, password, password)

    live_server.run_async(create)


def lock_by_failed_logins(live_server, slug: str, identifier: str) -> None:
    """The tenant's threshold of wrong passwords, through the portal's login service."""
    from assmat.auth.errors import AccountLocked, LoginFailed
    from assmat.auth import login
    from assmat.auth.context import auth_context
    from assmat.core.security.hashing import make_hasher

    settings = live_server.settings
    tenant = live_server.app.state.registry.get(slug)

    async def fail(sessionmaker) -> None:
        hasher = make_hasher(settings)  # of this loop
        for _ in range(tenant.config.lockout.max_failures):
            async with sessionmaker() as db:
                with pytest.raises((LoginFailed, AccountLocked)):
                    await login.authenticate(auth_context(db, tenant, hasher, settings), identifier, WRONG, "203.0.113.20")
                await db.commit()

    live_server.run_async(fail)


def wait_for_mail(mail_dir: Path, recipient: str, subject: str, timeout: float = 15.0) -> email.message.EmailMessage:
    """The newest .eml the live server's mail worker wrote to `recipient` with this subject."""
    deadline = time.monotonic() + timeout
    while time.monotonic() < deadline:
        found = []
        for path in mail_dir.glob("*.eml") if mail_dir.is_dir() else []:
            message = email.message_from_bytes(path.read_bytes(), policy=email.policy.default)
            if message["To"] == recipient and message["Subject"] == subject:
                found.append((path.stat().st_mtime_ns, path.name, message))
        if found:
            return max(found, key=lambda item: item[:2])[2]
        time.sleep(0.1)
    raise AssertionError(f"no mail {subject!r} to {recipient} in {mail_dir} within {timeout}s")


def mails_to(mail_dir: Path, recipient: str) -> list[email.message.EmailMessage]:
    """Every .eml the live server's mail worker wrote to `recipient`, oldest first."""
    found = []
    for path in mail_dir.glob("*.eml") if mail_dir.is_dir() else []:
        message = email.message_from_bytes(path.read_bytes(), policy=email.policy.default)
        if message["To"] == recipient:
            found.append((path.stat().st_mtime_ns, path.name, message))
    return [message for *_, message in sorted(found, key=lambda item: item[:2])]


def test_gers_staff_unlock_a_locked_account_from_the_list(live_server, live_accounts, page: Page) -> None:
    staff = f"agent-{uuid.uuid4().hex[:8]}@gers.fr"
    create_console_admin(live_server, "gers", staff, CONSOLE_PASSWORD)
    identifier = new_identifier()
    recipient = f"assmat-{uuid.uuid4().hex[:8]}@example.org"
    account, _ = live_accounts.create("gers", identifier, GOOD, email=recipient)
    lock_by_failed_logins(live_server, "gers", identifier)
    assert live_accounts.get(account.id).locked_at is not None

    # The console's login page: French, with the tenant's name.
    response = page.goto(live_server.url("gers", "/admin/login"))
    assert response is not None and response.status == 200
    expect(page.locator("html")).to_have_attribute("lang", "fr")
    expect(page.get_by_role("heading", level=1)).to_have_text("Console – Département du Gers")
    page.get_by_label("Adresse email").fill(staff)
    page.get_by_label("Mot de passe").fill(CONSOLE_PASSWORD)
    page.get_by_role("button", name="Se connecter").click()
    page.wait_for_url(live_server.url("gers", "/admin/vue-d-ensemble"))
    expect(page.locator(".console-brand-name")).to_have_text("Département du Gers")

    # From the overview, the accounts list filtered on locked accounts, then searched.
    page.get_by_role("link", name="Comptes bloqués").click()
    page.wait_for_url(re.compile(r"/admin/account/list\?locked=true$"))
    page.locator("#search-input").fill(identifier)
    page.locator("#search-input").press("Enter")
    page.wait_for_url(re.compile(r"/admin/account/list\?.*search="))
    row = page.locator("tbody tr").filter(has_text=identifier)
    expect(row).to_have_count(1)
    expect(row).to_contain_text("bloqué")

    # One click: the POST (with its CSRF token) unlocks and comes back to the list.
    row.get_by_role("button", name="Débloquer").click()
    page.wait_for_url(re.compile(r"/admin/account/list\?done=unlock&count=1$"))
    expect(page.get_by_role("status").filter(has_text="Débloquer : 1 élément(s) traité(s).")).to_be_visible()
    page.locator("#search-input").fill(identifier)
    page.locator("#search-input").press("Enter")
    page.wait_for_url(re.compile(r"/admin/account/list\?.*search="))
    row = page.locator("tbody tr").filter(has_text=identifier)
    expect(row).to_have_count(1)
    expect(row).not_to_contain_text("bloqué")
    expect(row.get_by_role("button", name="Débloquer")).to_have_count(0)
    assert live_accounts.get(account.id).locked_at is None

    # Gers mails a temporary password on unlock: with it, the user signs in (and must change it).
    mail = wait_for_mail(live_server.settings.mail_dir, recipient, UNLOCK_SUBJECT)
    temporary = re.search(r"Votre nouveau mot de passe est : (\S+)", mail.get_body(("plain",)).get_content()).group(1)
    portal = page.context.new_page()
    try:
        portal.goto(live_server.url("gers", "/connexion"))
        sign_in(portal, identifier, temporary)
        portal.wait_for_url(live_server.url("gers", "/changement-mot-de-passe"))
        expect(portal.get_by_role("status").filter(has_text=FIRST_LOGIN)).to_be_visible()
    finally:
        portal.close()


def test_a_locked_out_agent_asks_for_a_link_and_a_super_admin_unlocks_another(live_server, page: Page) -> None:
    """The new console forms, each through its visible button: « Mot de passe oublié ? » on the
    console login, the set-password page its link opens, and the platform's « Débloquer »."""
    from sqlalchemy import select

    from assmat.auth.models import Admin

    lockout = live_server.settings.console_lockout_max_failures
    staff = f"agent-{uuid.uuid4().hex[:8]}@gers.fr"
    other = f"agent-{uuid.uuid4().hex[:8]}@gers.fr"
    root = f"root-{uuid.uuid4().hex[:8]}@assmat.example"
    create_console_admin(live_server, "gers", staff, CONSOLE_PASSWORD)
    create_console_admin(live_server, "gers", other, CONSOLE_PASSWORD)
    create_console_admin(live_server, None, root, CONSOLE_PASSWORD, role="super")

    def console_login(address: str, password: str, host: str = "gers") -> None:
        page.goto(live_server.url(host, "/admin/login"))
        page.get_by_label("Adresse email").fill(address)
        page.get_by_label("Mot de passe").fill(password)
        page.get_by_role("button", name="Se connecter").click()
        page.wait_for_load_state()

    for address in (staff, other):
        for _ in range(lockout):
            console_login(address, WRONG)
            expect(page.get_by_role("alert")).to_have_text("Identifiants invalides.")

    # « Mot de passe oublié ? » → the email → the generic answer → the mailed link.
    page.goto(live_server.url("gers", "/admin/login"))
    page.get_by_role("link", name="Mot de passe oublié ?").click()
    expect(page.get_by_role("heading", level=1)).to_contain_text("Mot de passe oublié ?")
    page.get_by_label("Adresse email").fill(staff)
    page.get_by_role("button", name="Recevoir un lien").click()
    expect(page.get_by_role("status")).to_contain_text("un courriel vient d'y être envoyé")
    mail = wait_for_mail(live_server.settings.mail_dir, staff, "Réinitialisation de votre mot de passe")
    path = re.search(r"https?://[^/\s]+(/admin/mot-de-passe/\S+)", mail.get_body(("plain",)).get_content()).group(1)
    page.goto(live_server.url("gers", path))
    chosen = "Nouveau#Console2027"
    page.get_by_label("Mot de passe", exact=True).fill(chosen)
    page.get_by_label("Confirmation du mot de passe", exact=True).fill(chosen)
    page.get_by_role("button", name="Enregistrer mon mot de passe").click()
    page.wait_for_url(live_server.url("gers", "/admin/login"))
    console_login(staff, chosen)
    page.wait_for_url(live_server.url("gers", "/admin/vue-d-ensemble"))

    # The platform: « Débloquer » on the other agent, confirmed by its button.
    async def admin_id(sessionmaker) -> int:
        async with sessionmaker() as db:
            return await db.scalar(select(Admin.id).where(Admin.email == other))

    other_id = live_server.run_async(admin_id)
    console_login(root, CONSOLE_PASSWORD, host="localhost")
    page.wait_for_url(live_server.url("localhost", "/admin/plateforme"))
    page.goto(live_server.url("localhost", f"/admin/tenant-admin/action/unlock?pks={other_id}"))
    expect(page.get_by_role("heading", name="Débloquer : confirmation")).to_be_visible()
    page.get_by_role("button", name="Confirmer : Débloquer").click()
    page.wait_for_url(re.compile(r"/admin/tenant-admin/list\?done=unlock&count=1$"))
    page.get_by_role("button", name="Se déconnecter").click()
    console_login(other, CONSOLE_PASSWORD)
    page.wait_for_url(live_server.url("gers", "/admin/vue-d-ensemble"))


def test_a_super_admin_adds_a_tenant_admin_who_chooses_a_password_then_sends_the_link_again(live_server, page: Page) -> None:
    """« Ajouter un administrateur » on the platform console, its form through its visible
    button, the emailed link, and « Envoyer le lien du mot de passe » confirmed by its button."""
    root = f"root-{uuid.uuid4().hex[:8]}@assmat.example"
    agent = f"agent-{uuid.uuid4().hex[:8]}@cestas.fr"
    create_console_admin(live_server, None, root, CONSOLE_PASSWORD, role="super")
    page.set_viewport_size({"width": 360, "height": 780})
    page.goto(live_server.url("localhost", "/admin/login"))
    page.get_by_label("Adresse email").fill(root)
    page.get_by_label("Mot de passe").fill(CONSOLE_PASSWORD)
    page.get_by_role("button", name="Se connecter").click()
    page.wait_for_url(live_server.url("localhost", "/admin/plateforme"))

    page.get_by_role("link", name="Ajouter un administrateur (Ville de Cestas)").click()
    expect(page.get_by_role("heading", level=1)).to_have_text("Ajouter un administrateur")
    expect(page.get_by_label("Collectivité")).to_have_value("cestas")
    page.get_by_label("Adresse électronique").fill(agent)
    page.get_by_label("Lecture seule").check()
    SHOTS.mkdir(parents=True, exist_ok=True)
    page.screenshot(path=str(SHOTS / "platform-admin-new-360.png"), full_page=True)
    page.get_by_role("button", name="Créer l'accès et envoyer le lien").click()
    expect(page.get_by_role("status")).to_contain_text(f"Accès créé : un lien pour choisir le mot de passe est envoyé à {agent}")
    wait_for_mail(live_server.settings.mail_dir, agent, ACCESS_SUBJECT)

    # The link sent again from the access's page: the first one no longer works.
    page.get_by_role("link", name="Envoyer le lien du mot de passe").click()
    page.get_by_role("button", name="Confirmer : Envoyer le lien du mot de passe").click()
    page.wait_for_url(re.compile(r"/admin/tenant-admin/list\?done=send_link&count=1$"))
    deadline = time.monotonic() + 15
    while len(mails := mails_to(live_server.settings.mail_dir, agent)) < 2 and time.monotonic() < deadline:
        time.sleep(0.1)
    links = [re.search(r"https?://[^/\s]+(/admin/mot-de-passe/\S+)", mail.get_body(("plain",)).get_content()).group(1)
             for mail in mails]
    assert len(set(links)) == 2
    page.get_by_role("button", name="Se déconnecter").click()

    chosen = "Cestas#Console2027"
    for link, ok in ((links[0], False), (links[1], True)):
        page.goto(live_server.url("cestas", link))
        page.get_by_label("Mot de passe", exact=True).fill(chosen)
        page.get_by_label("Confirmation du mot de passe", exact=True).fill(chosen)
        page.get_by_role("button", name="Enregistrer mon mot de passe").click()
        if ok:
            page.wait_for_url(live_server.url("cestas", "/admin/login"))
        else:
            expect(page.get_by_role("heading", level=1)).to_be_visible()
            assert "/admin/login" not in page.url
    page.get_by_label("Adresse email").fill(agent)
    page.get_by_label("Mot de passe").fill(chosen)
    page.get_by_role("button", name="Se connecter").click()
    page.wait_for_url(live_server.url("cestas", "/admin/vue-d-ensemble"))


def test_gers_staff_print_every_letter_due_as_one_document_and_a_letter_opens_the_first_sign_in(
        live_server, live_accounts, page: Page, browser) -> None:
    """« Courriers à imprimer » above the accounts list, confirmed by its button: one document,
    a page per account, dated and worded as seed 000's letter; its password opens the forced change."""
    staff = f"agent-{uuid.uuid4().hex[:8]}@gers.fr"
    create_console_admin(live_server, "gers", staff, CONSOLE_PASSWORD)
    identifiers = [new_identifier() for _ in range(2)]
    for identifier in identifiers:
        live_accounts.create("gers", identifier)  # imported: no password, awaiting its letter
    page.goto(live_server.url("gers", "/admin/login"))
    page.get_by_label("Adresse email").fill(staff)
    page.get_by_label("Mot de passe").fill(CONSOLE_PASSWORD)
    page.get_by_role("button", name="Se connecter").click()
    page.wait_for_url(live_server.url("gers", "/admin/vue-d-ensemble"))
    page.goto(live_server.url("gers", "/admin/account/list"))
    page.get_by_role("link", name="Courriers à imprimer").click()
    expect(page.get_by_role("heading", name="Imprimer le courrier : confirmation")).to_be_visible()
    for identifier in identifiers:
        expect(page.get_by_text(identifier, exact=False)).to_be_visible()
    page.get_by_role("button", name="Confirmer : Imprimer le courrier").click()
    letters = page.locator("article.letter")
    expect(letters.first).to_be_visible()
    ours = [letters.filter(has_text=identifier) for identifier in identifiers]
    for letter in ours:
        expect(letter).to_contain_text("Auch, le ")
        expect(letter).to_contain_text("Objet : site de publication des assistants maternels")
        expect(letter).to_contain_text("Lettre expédiée en recommandé avec A.R.")
    SHOTS.mkdir(parents=True, exist_ok=True)
    page.screenshot(path=str(SHOTS / "letters-1280.png"), full_page=False)
    password = re.search(r"Mot de passe : (\S+)", ours[0].inner_text()).group(1)

    portal = browser.new_page(locale="fr-FR")
    try:
        portal.goto(live_server.url("gers", "/connexion"))
        sign_in(portal, identifiers[0], password)
        portal.wait_for_url(live_server.url("gers", "/changement-mot-de-passe"))
        expect(portal.get_by_role("status").filter(has_text=FIRST_LOGIN)).to_be_visible()
    finally:
        portal.close()


def test_eure_et_loir_staff_create_an_account_through_the_form_at_360_px(live_server, page: Page) -> None:
    """« Créer un compte » above the accounts list, its form through its visible button: a
    missing birth date first (the PMI number's activation needs it), then the account."""
    staff = f"agent-{uuid.uuid4().hex[:8]}@eurelien.fr"
    create_console_admin(live_server, "eure-et-loir", staff, CONSOLE_PASSWORD)
    number = f"{uuid.uuid4().int % 900000 + 100000}"
    page.set_viewport_size({"width": 360, "height": 780})
    page.goto(live_server.url("eure-et-loir", "/admin/login"))
    page.get_by_label("Adresse email").fill(staff)
    page.get_by_label("Mot de passe").fill(CONSOLE_PASSWORD)
    page.get_by_role("button", name="Se connecter").click()
    page.wait_for_url(live_server.url("eure-et-loir", "/admin/vue-d-ensemble"))
    page.goto(live_server.url("eure-et-loir", "/admin/account/list"))
    page.get_by_role("link", name="Créer un compte").click()
    expect(page.get_by_role("heading", level=1)).to_have_text("Créer un compte")
    page.get_by_label("Identifiant").fill(number)
    page.get_by_role("button", name="Créer le compte").click()
    expect(page.get_by_role("alert")).to_contain_text("Indiquez la date de naissance")
    expect(page.get_by_label("Identifiant")).to_have_value(number)
    page.get_by_label("Madame").check()
    page.get_by_label("Nom", exact=True).fill("Lefèvre")
    page.get_by_label("Date de naissance").fill("03/04/1985")
    SHOTS.mkdir(parents=True, exist_ok=True)
    page.screenshot(path=str(SHOTS / "account-new-360.png"), full_page=True)
    page.get_by_role("button", name="Créer le compte").click()
    expect(page.get_by_role("status")).to_contain_text("Compte créé : la personne l'active elle-même sur le portail.")
    expect(page.get_by_text(number).first).to_be_visible()
