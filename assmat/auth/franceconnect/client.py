"""The relying party's half of FranceConnect v2's OpenID Connect, with no web and no database:
discovery, the authorization URL (acr_values=eidas1), the token call (client_secret_post), the
ID token and the userinfo answer (a signed JWT, `application/jwt`) verified against the
provider's JWKS (fetched again once on an unknown key id), and the logout URL.

JOSE by joserfc (Authlib's): ES256 or RS256 only, then iss, aud, exp, nonce and acr checked."""

from __future__ import annotations

import time
from dataclasses import dataclass
from typing import Any
from urllib.parse import urlencode

import httpx2
from joserfc import jws, jwt
from joserfc.errors import JoseError
from joserfc.jwk import KeySet

from assmat.core import clock
from assmat.core.errors import DomainError

ALGORITHMS = ["ES256", "RS256"]
ACR = "eidas1"
TIMEOUT = 10.0
DISCOVERY_TTL = 3600.0


class FranceConnectFailed(DomainError):
    """The provider's answer cannot be trusted or used (`reason` is for the audit trail and
    the logs, never shown): a bad signature, an unknown key, a wrong issuer, audience, nonce
    or acr, an expired token, an unreachable provider."""

    def __init__(self, reason: str):
        super().__init__(reason)
        self.reason = reason


@dataclass
class _Provider:
    metadata: dict[str, Any]
    keys: KeySet
    fetched: float


_cache: dict[str, _Provider] = {}


@dataclass(frozen=True)
class Identity:
    """What FranceConnect says of the person: `sub` (per service) and the pivot claims."""

    sub: str
    claims: dict[str, Any]
    id_token: str  # for the logout's id_token_hint


class FranceConnectClient:
    def __init__(self, issuer: str, client_id: str, client_secret: str, scopes: str):
        self.issuer = issuer.rstrip("/")
        self.client_id = client_id
        self.client_secret = client_secret
        self.scopes = scopes

    async def _get(self, url: str, **kwargs: Any) -> httpx2.Response:
        try:
            async with httpx2.AsyncClient(timeout=TIMEOUT) as http:
                response = await http.get(url, **kwargs)
        except httpx2.HTTPError as exc:
            raise FranceConnectFailed(f"unreachable: {type(exc).__name__}") from None
        if response.status_code != 200:
            raise FranceConnectFailed(f"http {response.status_code} from {url}")
        return response

    async def _provider(self, refresh_keys: bool = False) -> _Provider:
        cached = _cache.get(self.issuer)
        if cached is None or time.monotonic() - cached.fetched > DISCOVERY_TTL:
            metadata = (await self._get(f"{self.issuer}/.well-known/openid-configuration")).json()
            if metadata.get("issuer") != self.issuer:
                raise FranceConnectFailed("discovery names another issuer")
            cached = _Provider(metadata, await self._keys(metadata), time.monotonic())
            _cache[self.issuer] = cached
        elif refresh_keys:
            cached.keys = await self._keys(cached.metadata)
        return cached

    async def _keys(self, metadata: dict[str, Any]) -> KeySet:
        try:
            return KeySet.import_key_set((await self._get(metadata["jwks_uri"])).json())
        except (KeyError, ValueError, JoseError) as exc:
            raise FranceConnectFailed(f"bad jwks: {type(exc).__name__}") from None

    async def authorization_url(self, redirect_uri: str, state: str, nonce: str) -> str:
        metadata = (await self._provider()).metadata
        query = urlencode({
            "response_type": "code", "client_id": self.client_id, "redirect_uri": redirect_uri, "scope": self.scopes,
            "state": state, "nonce": nonce, "acr_values": ACR, "prompt": "login",
        })
        return f"{metadata['authorization_endpoint']}?{query}"

    async def end_session_url(self, id_token: str, state: str, post_logout_redirect_uri: str) -> str:
        metadata = (await self._provider()).metadata
        query = urlencode({"id_token_hint": id_token, "state": state, "post_logout_redirect_uri": post_logout_redirect_uri})
        return f"{metadata['end_session_endpoint']}?{query}"

    async def identity(self, code: str, redirect_uri: str, nonce: str) -> Identity:
        """The token call, the ID token and the userinfo JWT verified; the identity."""
        metadata = (await self._provider()).metadata
        try:
            async with httpx2.AsyncClient(timeout=TIMEOUT) as http:
                response = await http.post(metadata["token_endpoint"], data={
                    "grant_type": "authorization_code", "code": code, "redirect_uri": redirect_uri,
                    "client_id": self.client_id, "client_secret": self.client_secret,
                })
        except httpx2.HTTPError as exc:
            raise FranceConnectFailed(f"unreachable: {type(exc).__name__}") from None
        if response.status_code != 200:
            raise FranceConnectFailed(f"token endpoint answered {response.status_code}")
        tokens = response.json()
        id_token, access_token = tokens.get("id_token"), tokens.get("access_token")
        if not isinstance(id_token, str) or not isinstance(access_token, str):
            raise FranceConnectFailed("no id_token or access_token")
        claims = await self.verify(id_token, nonce=nonce)
        info = await self._get(metadata["userinfo_endpoint"], headers={"authorization": f"Bearer {access_token}"})
        if info.headers.get("content-type", "").split(";")[0].strip() != "application/jwt":
            raise FranceConnectFailed("userinfo is not a signed JWT")
        userinfo = await self.verify(info.text.strip(), userinfo=True)
        if userinfo.get("sub") != claims["sub"]:
            raise FranceConnectFailed("userinfo names another sub")
        return Identity(claims["sub"], userinfo, id_token)

    async def verify(self, token: str, *, nonce: str | None = None, userinfo: bool = False) -> dict[str, Any]:
        """A JWT of this provider: signed by one of its keys (ES256 or RS256), for this client;
        an ID token also fresh, with this nonce and acr eidas1."""
        provider = await self._provider()
        try:
            kid = jws.extract_compact(token.encode()).headers().get("kid")
        except (JoseError, ValueError, UnicodeError):
            raise FranceConnectFailed("malformed token") from None
        if kid is not None and not any(key.kid == kid for key in provider.keys.keys):
            provider = await self._provider(refresh_keys=True)  # the provider may have rotated its keys
            if not any(key.kid == kid for key in provider.keys.keys):
                raise FranceConnectFailed("unknown key id")
        try:
            decoded = jwt.decode(token, provider.keys, algorithms=ALGORITHMS)
        except (JoseError, ValueError) as exc:
            raise FranceConnectFailed(f"bad signature: {type(exc).__name__}") from None
        options: dict[str, Any] = {
            "iss": {"essential": True, "value": self.issuer},
            "aud": {"essential": True, "value": self.client_id},
            "sub": {"essential": True},
        }
        if not userinfo:
            options |= {"exp": {"essential": True}, "iat": {"essential": True}, "nonce": {"essential": True, "value": nonce},
                        "acr": {"essential": True, "value": ACR}}
        registry = jwt.JWTClaimsRegistry(now=lambda: int(clock.now().timestamp()), leeway=30, **options)
        try:
            registry.validate(decoded.claims)
        except JoseError as exc:
            raise FranceConnectFailed(f"bad claims: {type(exc).__name__} {exc}") from None
        return dict(decoded.claims)


def forget_providers() -> None:
    """Drop the cached discovery documents and keys (tests that restart a provider)."""
    _cache.clear()
