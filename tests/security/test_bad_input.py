"""Bad input gets a clear 400 in French and changes nothing; a database fault denies cleanly."""

from __future__ import annotations

import pytest
from sqlalchemy import func, select
from sqlalchemy.exc import OperationalError

from assmat.core.security.models import AuditEvent
from tests.support.portal import text_of

# Bad input (NUL, overflow, over-long text) reaches the database: PostgreSQL enforces types and
# lengths, SQLite does not.
pytestmark = pytest.mark.both_backends

GOOD = "Lune2Soleil"


def audit_count(portal) -> int:
    return portal.query(select(func.count()).select_from(AuditEvent))[0][0]


def test_a_one_megabyte_password_is_refused_and_changes_nothing(portal_for):
    portal = portal_for("cestas")
    account, _ = portal.create_account("famille.big", GOOD)
    before = audit_count(portal)
    response = portal.login("famille.big", "x" * 1_000_000)
    assert response.status_code == 400 and "trop volumineux" in text_of(response)
    assert audit_count(portal) == before and portal.account(account.id).failed_logins == 0


@pytest.mark.parametrize("path", ["/connexion", "/mot-de-passe-oublie", "/activation", "/contact"])
def test_array_valued_fields_are_refused(portal_for, path):
    portal = portal_for("alpes-maritimes")
    token = portal.csrf("/connexion")
    before = audit_count(portal)
    response = portal.client.post(path, data={"csrf_token": token, "identifiant": ["a", "b"], "email": ["a@x.fr", "b@x.fr"]})
    assert response.status_code == 400 and "chaque champ doit être envoyé une seule fois" in text_of(response)
    assert audit_count(portal) == before


def test_json_is_not_a_form(portal_for):
    response = portal_for("cestas").client.post("/connexion", json={"identifiant": "a"})
    assert response.status_code == 400 and "ne sont pas un formulaire" in text_of(response)


@pytest.mark.parametrize("value", ["32/13/2020", "abc", "2020-02-30", "01/01/0001", ""])
def test_malformed_dates_are_refused_with_a_french_message(portal_for, value):
    portal = portal_for("eure-et-loir")
    response = portal.post("/activation", {"identifiant": "280001", "date_naissance": value})
    assert response.status_code == 400 and "JJ/MM/AAAA" in text_of(response)


def test_a_database_error_mid_login_denies_without_a_trace(portal_for, monkeypatch):
    portal = portal_for("cestas")
    portal.create_account("famille.panne", GOOD)
    hasher = portal.app.state.hasher

    async def broken(*args, **kwargs):
        raise OperationalError("SELECT 1", {}, Exception("connection lost"))

    monkeypatch.setattr(hasher, "verify", broken)
    response = portal.login("famille.panne", GOOD)
    assert response.status_code == 503
    assert "Traceback" not in response.text and "OperationalError" not in response.text
    assert "session=" not in response.headers.get("set-cookie", "")
    assert portal.client.get("/espace").status_code == 303


# -- the inputs of issue 9: each a French 400 or a 404, nothing written ------------------------------------


def table_counts(portal) -> dict[str, int]:
    from assmat.core.mail.models import OutboxMail
    from assmat.portal.children.models import Child
    from assmat.portal.contact.models import ContactMessage
    from assmat.portal.messages.models import MessageState

    return {model.__name__: portal.query(select(func.count()).select_from(model))[0][0]
            for model in (AuditEvent, Child, ContactMessage, MessageState, OutboxMail)}


def sign_in_an_assistant(portal_for):
    portal = portal_for("alpes-maritimes")
    portal.create_account("AGR-ENTREE", GOOD, email="entree@example.org")
    assert portal.login("AGR-ENTREE", GOOD).headers["location"] == "/espace"
    return portal


@pytest.fixture
def assistant(portal_for):
    return sign_in_an_assistant(portal_for)


@pytest.fixture(scope="module")
def module_assistant(module_portal_for):
    return sign_in_an_assistant(module_portal_for)


@pytest.fixture
def shared_assistant(module_assistant):
    """One signed-in assistant for the module's many refused inputs, instead of one per input:
    each test must leave the tables as they were and the assistant signed in."""
    before = table_counts(module_assistant)
    yield module_assistant
    assert table_counts(module_assistant) == before, "a test changed the shared assistant's tables"
    assert module_assistant.client.get("/espace").status_code == 200, "a test signed the shared assistant out"


@pytest.mark.parametrize("message_id", ["99999999999999999999", "2147483648", "0", "-1", "1.5", "abc"])
@pytest.mark.parametrize("suffix", ["", "/archiver", "/desarchiver"])
def test_a_message_id_past_the_integer_range_is_a_404(shared_assistant, message_id, suffix):
    before = table_counts(shared_assistant)
    path = f"/espace/messages/{message_id}{suffix}"
    response = shared_assistant.post(path, {}, form_path="/espace/messages") if suffix else shared_assistant.client.get(path)
    assert response.status_code == 404 and "Page introuvable" in text_of(response)
    assert table_counts(shared_assistant) == before


def test_a_malformed_period_field_name_is_ignored_not_a_500(assistant):
    before = table_counts(assistant)
    response = assistant.post("/espace/enfants/nouveau", {"periode-²-type": "standard", "periode-٣-debut": "01/01/2026"})
    assert response.status_code == 400 and "Veuillez renseigner ce champ" in text_of(response)
    assert table_counts(assistant) == before


@pytest.mark.parametrize("field", ["enfant-nom", "periode-0-commentaire", "nom\x00"])
def test_a_nul_byte_in_a_form_is_a_french_400(shared_assistant, field):
    before = table_counts(shared_assistant)
    response = shared_assistant.post("/espace/enfants/nouveau", {field: "Pe\x00tit"})
    assert response.status_code == 400 and "contient un caractère non autorisé" in text_of(response)
    assert table_counts(shared_assistant) == before


@pytest.mark.parametrize("path", ["/espace/messages", "/connexion", "/mentions-legales", "/admin/login"])
def test_a_nul_byte_in_the_query_is_a_french_400(shared_assistant, path):
    response = shared_assistant.client.get(path, params={"q": "météo\x00", "next": "/espace"})
    assert response.status_code == 400 and "L'adresse demandée contient un caractère non autorisé." in text_of(response)


@pytest.mark.parametrize("address", ["a<b>@example.org", "<bad@example.org>", "a,b@example.org", "a b@example.org"])
def test_an_undeliverable_contact_address_is_a_french_400(portal_for, address):
    gers = portal_for("gers")
    before = table_counts(gers)
    response = gers.post("/contact", {"nom": "Anne", "email": address, "message": "Bonjour.", "accuse_reception": "1"})
    assert response.status_code == 400 and "Veuillez saisir une adresse email valide." in text_of(response)
    assert table_counts(gers) == before


@pytest.mark.parametrize("key", ["abc", "1.5", "99999999999999999999", "2147483648", "-1", "0"])
def test_a_malformed_console_key_is_a_404_on_every_view(app, client_for, key):
    from assmat.app import CONSOLE_VIEWS as VIEWS
    from tests.admin.conftest import ADMIN_PASSWORD, Console, create_admin

    staff = Console(client_for("alpes-maritimes"), app)
    create_admin(app, staff.client, "alpes-maritimes", "staff.cle@example.org", ADMIN_PASSWORD)
    assert staff.login("staff.cle@example.org", ADMIN_PASSWORD).status_code == 302
    identities = [view.identity for view in VIEWS if hasattr(view, "model") and view.__name__ not in (
        "PlatformTenantsView", "TenantAdminView", "PlatformAuditView")]
    assert len(identities) >= 7
    for identity in identities:
        for path in (f"/admin/{identity}/details/{key}", f"/admin/{identity}/edit/{key}"):
            assert staff.client.get(path).status_code in (403, 404), path
    assert staff.client.get(f"/admin/account/action/unlock?pks={key}").status_code == 404
    assert staff.client.get(f"/admin/import/{key}").status_code == 404
