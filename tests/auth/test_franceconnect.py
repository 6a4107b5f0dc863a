"""FranceConnect against a real OpenID provider (tests/support/oidc.py: oidc-provider shaped
like FranceConnect v2): the activation's second step links the identity when it matches, signing
in with the button opens the space, the logout goes through the provider; and every refusal:
wrong or replayed state, another browser, the error callback, a mismatching identity, an unlinked
one, MAM accounts, locked and disabled accounts; the ID token's checks (nonce, expiry, signature,
unknown key id)."""

from __future__ import annotations

import asyncio
import re
from datetime import UTC, date, datetime, timedelta
from urllib.parse import parse_qs, urlsplit

import httpx2
import pytest
from joserfc import jwt
from joserfc.jwk import ECKey
from sqlalchemy import select

from assmat.auth.franceconnect.client import FranceConnectClient, FranceConnectFailed, forget_providers
from assmat.auth.franceconnect.models import FranceConnectLink, FranceConnectRequest
from assmat.auth.models import UserSession
from assmat.core.security.models import AuditEvent as AuditLog
from tests.conftest import app_for, clients_of, make_settings
from tests.support.oidc import CLIENT_SECRET, SECRET_ENV, at_provider, tenant_configs_with_franceconnect
from tests.support.portal import CSRF, Portal, text_of

SLUG = "eure-et-loir"
BASE = f"http://{SLUG}.localhost"
CALLBACK = f"{BASE}/franceconnect/retour"
PMI_NUMBER = "280002"
BIRTH_DATE = date(1985, 4, 12)  # the provider's « Camille DEMO » (tests/support/oidc.py)
CAMILLE = "fc-camille-demo"
SOPHIE = "fc-sophie-martin"


@pytest.fixture
def portal(tmp_path, database_url, oidc_provider, tenant_registry, monkeypatch):
    monkeypatch.setenv(SECRET_ENV, CLIENT_SECRET)
    forget_providers()
    configs = tenant_configs_with_franceconnect(tmp_path / "tenants", oidc_provider)
    settings = make_settings(tmp_path, database_url, tenant_configs=configs, public_url_template="http://{slug}.localhost")
    app = app_for(settings, tenant_registry)
    with clients_of(app) as make:
        portal = Portal(make(SLUG), app, SLUG)
        portal.new_browser = lambda: make(SLUG)  # another cookie jar on the same app
        yield portal


def path_of(url: str) -> str:
    parts = urlsplit(url)
    assert f"{parts.scheme}://{parts.netloc}" == BASE, url
    return f"{parts.path}?{parts.query}"


def start_login(portal: Portal):
    response = portal.post("/franceconnect/connexion", {}, form_path="/connexion")
    assert response.status_code == 303
    assert response.headers["location"].startswith("http://127.0.0.1:")
    query = parse_qs(urlsplit(response.headers["location"]).query)
    assert query["acr_values"] == ["eidas1"] and len(query["state"][0]) >= 32 and len(query["nonce"][0]) >= 32
    return response.headers["location"]


def step_two(portal: Portal) -> str:
    """Step 1 of the activation (PMI number + birth date): the step-2 page's path."""
    response = portal.post("/activation", {"identifiant": PMI_NUMBER, "date_naissance": "12/04/1985"})
    assert response.status_code == 303, text_of(response)
    return response.headers["location"]


def pmi_account(portal: Portal, **fields):
    account, _ = portal.create_account(PMI_NUMBER, email=None, first_name="Camille", last_name=fields.pop("last_name", "Démo"),
                                       birth_date=fields.pop("birth_date", BIRTH_DATE), **fields)
    return account


def events(portal: Portal, account_id: int | None = None) -> list[tuple[str, dict]]:
    query = select(AuditLog.type, AuditLog.detail).where(AuditLog.tenant_id == SLUG).order_by(AuditLog.id)
    if account_id is not None:
        query = query.where(AuditLog.account_id == account_id)
    return [(row.type, row.detail or {}) for row in portal.query(query)]


def link_by_activation(portal: Portal) -> None:
    step2 = step_two(portal)
    page = portal.client.get(step2)
    assert "Identifiez-vous via France Connect" in text_of(page)
    response = portal.post(f"{step2}/franceconnect", {}, form_path=step2)
    assert response.status_code == 303
    back = at_provider(response.headers["location"], CAMILLE)
    response = portal.client.get(path_of(back))
    assert response.status_code == 303 and response.headers["location"] == "/espace", text_of(response)


def test_the_login_page_offers_franceconnect_first_where_the_tenant_enables_it(portal, client_for):
    page = text_of(portal.client.get("/connexion"))
    button, what, local = page.index("S'identifier avec"), page.index("Qu'est-ce que FranceConnect ?"), page.index('name="identifiant"')
    assert button < what < page.index(">ou<") < local
    assert "FranceConnect" not in text_of(client_for("gers").get("/connexion"))
    # Its forms may lead to the provider (the button, the sign-out that ends there); elsewhere only here.
    issuer = urlsplit(portal.app.state.registry.get(SLUG).config.franceconnect.issuer)
    csp = portal.client.get("/connexion").headers["content-security-policy"]
    assert f"form-action 'self' {issuer.scheme}://{issuer.netloc};" in csp
    assert "form-action 'self';" in client_for("gers").get("/connexion").headers["content-security-policy"]


@pytest.mark.both_backends
def test_activation_by_franceconnect_then_sign_in_with_the_button_and_out_through_the_provider(portal):
    account = pmi_account(portal)
    link_by_activation(portal)
    assert portal.client.get("/espace").status_code == 200
    links = portal.query(select(FranceConnectLink.sub, FranceConnectLink.account_id).where(FranceConnectLink.tenant_id == SLUG))
    assert [tuple(row) for row in links] == [(CAMILLE, account.id)]
    stored = portal.account(account.id)
    assert stored.activated_at is not None and stored.password_hash is None and stored.email is None
    kinds = [kind for kind, _ in events(portal, account.id)]
    assert "franceconnect.linked" in kinds and "activation.completed" in kinds
    # Activated, without a password: the PMI number and birth date no longer open the first step.
    from assmat.auth import activation
    from assmat.auth.context import auth_context

    async def step_one():
        async with portal.app.state.sessionmaker() as db:
            ctx = auth_context(db, portal.tenant, portal.app.state.hasher, portal.app.state.settings)
            return await activation.activation_by_pmi_number(ctx, account.identifier, account.birth_date, "192.0.2.9")
    assert portal.run(step_one) is None

    # Sign out: the local session ends, its ID token with it, then FranceConnect's logout.
    response = portal.post("/deconnexion", {}, form_path="/espace")
    assert response.status_code == 303
    end = urlsplit(response.headers["location"])
    assert end.path.endswith("/api/v2/session/end")
    assert set(parse_qs(end.query)) == {"id_token_hint", "state", "post_logout_redirect_uri"}
    assert portal.query(select(UserSession.id).where(UserSession.tenant_id == SLUG)) == []
    assert portal.client.get("/espace").status_code == 303
    with httpx2.Client(timeout=10) as browser:
        confirm = browser.get(response.headers["location"])
        action = re.search(r'action="([^"]+)"', confirm.text).group(1)
        xsrf = re.search(r'name="xsrf" value="([^"]+)"', confirm.text).group(1)
        done = browser.post(str(confirm.url.join(action)), data={"xsrf": xsrf, "logout": "yes"}, follow_redirects=False)
    assert done.status_code == 303 and done.headers["location"].startswith(f"{BASE}/franceconnect/deconnecte?state=")
    back = portal.client.get(path_of(done.headers["location"]))
    assert back.status_code == 303 and back.headers["location"] == "/connexion?info=logged_out"

    # Signing in again with the button opens the space directly.
    location = start_login(portal)
    response = portal.client.get(path_of(at_provider(location, CAMILLE)))
    assert response.status_code == 303 and response.headers["location"] == "/espace"
    assert "Camille" in text_of(portal.client.get("/espace"))


def test_a_mismatching_identity_is_refused_and_audited(portal):
    account = pmi_account(portal, last_name="Durand")
    step2 = step_two(portal)
    response = portal.post(f"{step2}/franceconnect", {}, form_path=step2)
    back = portal.client.get(path_of(at_provider(response.headers["location"], CAMILLE)))
    assert back.status_code == 400
    assert "ne correspond pas à ce compte" in text_of(back)
    assert portal.query(select(FranceConnectLink.id).where(FranceConnectLink.tenant_id == SLUG)) == []
    assert ("franceconnect.refused", {"reason": "identity_mismatch"}) in events(portal, account.id)
    assert portal.account(account.id).activated_at is None
    assert portal.client.get("/espace").status_code == 303


def test_usage_names_accents_and_hyphens_match():
    from assmat.auth.franceconnect.service import identity_matches
    from assmat.auth.models import Account

    born = {"birthdate": "1985-04-12"}
    assert identity_matches(Account(last_name="Dupont-Démo épouse Martin", birth_date=BIRTH_DATE),
                            {**born, "family_name": "DUPONT DEMO"})
    assert identity_matches(Account(last_name="Martin", birth_date=BIRTH_DATE),
                            {**born, "family_name": "DUPONT", "preferred_username": "MARTIN"})
    assert not identity_matches(Account(last_name="Martin", birth_date=BIRTH_DATE), {**born, "family_name": "MARTINEZ"})
    assert not identity_matches(Account(last_name="Démo", birth_date=date(1985, 4, 13)), {**born, "family_name": "DEMO"})


def test_an_unlinked_identity_is_told_how_to_activate(portal):
    location = start_login(portal)
    response = portal.client.get(path_of(at_provider(location, SOPHIE)))
    assert response.status_code == 400
    page = text_of(response)
    assert "Aucun compte de ce site n'est encore relié à cette identité FranceConnect" in page
    assert 'href="/activation"' in page
    assert portal.client.get("/espace").status_code == 303


@pytest.mark.both_backends
def test_a_replayed_state_and_another_browser_are_refused(portal):
    pmi_account(portal)
    link_by_activation(portal)
    portal.client.cookies.delete("session")
    location = start_login(portal)
    back = path_of(at_provider(location, CAMILLE))
    other = portal.new_browser()  # another browser: no fc_navigateur cookie, then one of its own
    refused = other.get(back)
    assert refused.status_code == 400 and "a expiré, a déjà été utilisée" in text_of(refused)
    other.cookies.set("fc_navigateur", "y" * 43, domain=f"{SLUG}.localhost", path="/franceconnect")
    assert other.get(back).status_code == 400
    assert other.get("/espace").status_code == 303
    # The browser that left gets in, once.
    assert portal.client.get(back).headers["location"] == "/espace"
    portal.client.cookies.delete("session")
    replay = portal.client.get(back)
    assert replay.status_code == 400 and "a expiré, a déjà été utilisée" in text_of(replay)
    assert portal.client.get("/espace").status_code == 303


def test_a_state_of_another_tenant_or_made_up_is_refused(portal):
    response = portal.client.get("/franceconnect/retour?code=abc&state=" + "x" * 43)
    assert response.status_code == 400 and "Veuillez recommencer" in text_of(response)


def test_the_error_callback_is_a_french_page_with_a_way_back(portal):
    location = start_login(portal)
    response = portal.client.get(path_of(at_provider(location, None, cancel=True)))
    assert response.status_code == 400
    page = text_of(response)
    assert "Vous avez annulé la connexion avec FranceConnect." in page and 'href="/connexion"' in page


def test_mam_accounts_are_never_offered_franceconnect(portal):
    pmi_account(portal, kind="mam")
    step2 = step_two(portal)
    assert "France Connect" not in text_of(portal.client.get(step2))
    response = portal.post(f"{step2}/franceconnect", {}, form_path=step2)
    assert response.status_code == 400 and "MAM" in text_of(response)


@pytest.mark.parametrize("state", ["locked", "disabled"])
def test_lockout_and_disable_apply_to_franceconnect_sign_ins(portal, state):
    account = pmi_account(portal)
    link_by_activation(portal)
    portal.client.cookies.delete("session")
    now = datetime.now(UTC)
    portal.update_account(account.id, **({"locked_at": now} if state == "locked" else {"disabled_at": now}))
    response = portal.client.get(path_of(at_provider(start_login(portal), CAMILLE)))
    assert response.status_code == 400 and "bloqué ou désactivé" in text_of(response)
    assert portal.client.get("/espace").status_code == 303


# -- the relying party's checks, against the provider's own tokens ---------------------------------


def fc_client(oidc_provider) -> FranceConnectClient:
    return FranceConnectClient(oidc_provider.issuer, oidc_provider.client_id, CLIENT_SECRET, "openid given_name family_name birthdate")


def code_for(oidc_provider, nonce: str) -> str:
    url = asyncio.run(fc_client(oidc_provider).authorization_url(CALLBACK, "s" * 43, nonce))
    return parse_qs(urlsplit(at_provider(url, CAMILLE)).query)["code"][0]


def test_the_id_token_must_carry_the_nonce_sent(oidc_provider):
    forget_providers()
    code = code_for(oidc_provider, "n" * 43)
    with pytest.raises(FranceConnectFailed, match="nonce"):
        asyncio.run(fc_client(oidc_provider).identity(code, CALLBACK, "m" * 43))


def test_a_good_answer_gives_the_pivot_identity(oidc_provider):
    forget_providers()
    identity = asyncio.run(fc_client(oidc_provider).identity(code_for(oidc_provider, "n" * 43), CALLBACK, "n" * 43))
    assert identity.sub == CAMILLE
    assert identity.claims["family_name"] == "DEMO" and identity.claims["birthdate"] == "1985-04-12"


def test_an_expired_id_token_is_refused(oidc_provider, frozen_clock):
    forget_providers()
    client = fc_client(oidc_provider)
    frozen_clock.now = datetime.now(UTC)
    code = code_for(oidc_provider, "n" * 43)
    frozen_clock.advance(hours=2)
    with pytest.raises(FranceConnectFailed, match="ExpiredTokenError"):
        asyncio.run(client.identity(code, CALLBACK, "n" * 43))


def forged(oidc_provider, kid: str) -> str:
    key = ECKey.generate_key("P-256", parameters={"kid": kid})
    now = int(datetime.now(UTC).timestamp())
    claims = {"iss": oidc_provider.issuer, "aud": oidc_provider.client_id, "sub": CAMILLE, "nonce": "n" * 43,
              "acr": "eidas1", "iat": now, "exp": now + 60}
    return jwt.encode({"alg": "ES256", "kid": kid}, claims, key)


def test_a_token_signed_by_another_key_under_the_providers_key_id_is_refused(oidc_provider):
    forget_providers()
    client = fc_client(oidc_provider)
    with httpx2.Client() as http:
        kid = http.get(f"{oidc_provider.issuer}/jwks").json()["keys"][0]["kid"]
    with pytest.raises(FranceConnectFailed, match="bad signature"):
        asyncio.run(client.verify(forged(oidc_provider, kid), nonce="n" * 43))


def test_an_unknown_key_id_fetches_the_keys_again_then_is_refused(oidc_provider, monkeypatch):
    forget_providers()
    client = fc_client(oidc_provider)
    fetched = []
    original = FranceConnectClient._keys

    async def counting(self, metadata):
        fetched.append(1)
        return await original(self, metadata)

    monkeypatch.setattr(FranceConnectClient, "_keys", counting)
    with pytest.raises(FranceConnectFailed, match="unknown key id"):
        asyncio.run(client.verify(forged(oidc_provider, "not-a-key-of-the-provider"), nonce="n" * 43))
    assert len(fetched) == 2  # at discovery, then once more for the unknown key id


def test_staff_see_the_link_and_unlink_it(portal):
    from tests.admin.conftest import ADMIN_PASSWORD, Console, create_admin

    account = pmi_account(portal)
    link_by_activation(portal)
    console = Console(portal.new_browser(), portal.app)
    create_admin(portal.app, console.client, SLUG, "agent@eurelien.fr", ADMIN_PASSWORD)
    assert console.login("agent@eurelien.fr", ADMIN_PASSWORD).status_code == 302
    details = text_of(console.client.get(f"/admin/account/details/{account.id}"))
    assert "FranceConnect : relié à une identité FranceConnect" in " ".join(re.sub(r"<[^>]+>", " ", details).split())
    assert "Délier FranceConnect" in details
    assert console.run_action("unlink_franceconnect", str(account.id)).status_code == 303
    assert portal.query(select(FranceConnectLink.id).where(FranceConnectLink.tenant_id == SLUG)) == []
    assert ("franceconnect.unlinked", {"by": "agent@eurelien.fr"}) in events(portal, account.id)
    details = text_of(console.client.get(f"/admin/account/details/{account.id}"))
    assert "FranceConnect : non relié" in " ".join(re.sub(r"<[^>]+>", " ", details).split())
    # Signing in with FranceConnect no longer opens the account.
    portal.client.cookies.delete("session")
    response = portal.client.get(path_of(at_provider(start_login(portal), CAMILLE)))
    assert response.status_code == 400 and "Aucun compte de ce site" in text_of(response)


def test_an_unreachable_provider_is_a_french_page_and_nothing_else(tmp_path, database_url, tenant_registry, monkeypatch):
    from tests.support.oidc import OidcProvider
    from tests.support.postgres import free_port

    monkeypatch.setenv(SECRET_ENV, CLIENT_SECRET)
    forget_providers()
    nobody = OidcProvider(issuer=f"http://127.0.0.1:{free_port()}/api/v2")  # nothing listens there
    configs = tenant_configs_with_franceconnect(tmp_path / "tenants", nobody)
    app = app_for(make_settings(tmp_path, database_url, tenant_configs=configs, public_url_template="http://{slug}.localhost"),
                  tenant_registry)
    with clients_of(app) as make:
        portal = Portal(make(SLUG), app, SLUG)
        response = portal.post("/franceconnect/connexion", {}, form_path="/connexion")
        assert response.status_code == 503
        assert "FranceConnect n'est pas disponible pour le moment" in text_of(response)
        assert portal.query(select(FranceConnectRequest.id).where(FranceConnectRequest.tenant_id == SLUG)) == []


def test_the_state_of_a_logout_opens_no_session(portal):
    pmi_account(portal)
    link_by_activation(portal)
    away = portal.post("/deconnexion", {}, form_path="/espace").headers["location"]
    state = parse_qs(urlsplit(away).query)["state"][0]
    response = portal.client.get(f"/franceconnect/retour?code=whatever&state={state}")
    assert response.status_code == 400 and "Veuillez recommencer" in text_of(response)
    assert portal.client.get("/espace").status_code == 303
