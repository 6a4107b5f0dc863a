"""A real OpenID Connect provider shaped like FranceConnect v2 for the tests: `oidc-provider`
(npm, pinned in package.json) run by tests/support/oidc/provider.mjs on a free loopback port,
mounted under /api/v2, signing with ES256, answering userinfo as a signed JWT, requiring eidas1,
with a page to pick one of its test identities and the logout endpoint.

Missing node or the npm modules fail the tests that need it in CI and skip them elsewhere (the
rule of tests/support/addok.py)."""

from __future__ import annotations

import os
import shutil
import subprocess
import time
import urllib.request
from dataclasses import dataclass, field
from pathlib import Path

import pytest

from tests.support.postgres import free_port

REPO = Path(__file__).resolve().parent.parent.parent
SCRIPT = REPO / "tests" / "support" / "oidc" / "provider.mjs"
MODULE = REPO / "node_modules" / "oidc-provider" / "package.json"
STARTUP_TIMEOUT = 30.0
CLIENT_ID = "assmat-test-client"
CLIENT_SECRET = "assmat-test-secret-0123456789-abcdefghijklmnop"
SECRET_ENV = "ASSMAT_TEST_FRANCECONNECT_SECRET"
# The identities of the provider's picker page are provider.mjs's: « fc-camille-demo » matches
# the demo's Eure-et-Loir assistant to activate and the tests' (Camille Démo, 12/04/1985).


def require_node(in_ci: bool) -> str:
    node = shutil.which("node")
    missing = []
    if node is None:
        missing.append("node (apt-get install nodejs)")
    if not MODULE.exists():
        missing.append("the npm modules (npm ci)")
    if missing:
        message = "The FranceConnect tests need " + " and ".join(missing)
        if in_ci:
            pytest.fail(message + ": required in CI")
        pytest.skip(message + " (required and present in CI)")
    assert node is not None
    return node


@dataclass
class OidcProvider:
    issuer: str
    client_id: str = CLIENT_ID
    client_secret: str = CLIENT_SECRET
    _process: subprocess.Popen | None = field(default=None, repr=False)

    @classmethod
    def start(cls, node: str, log: Path, redirect_uris: list[str], post_logout_uris: list[str]) -> "OidcProvider":
        port = free_port()
        env = {
            **os.environ,
            "OIDC_CLIENT_ID": CLIENT_ID, "OIDC_CLIENT_SECRET": CLIENT_SECRET,
            "OIDC_REDIRECT_URIS": " ".join(redirect_uris), "OIDC_POST_LOGOUT_REDIRECT_URIS": " ".join(post_logout_uris),
        }
        server = cls(issuer=f"http://127.0.0.1:{port}/api/v2")
        with log.open("wb") as out:
            server._process = subprocess.Popen([node, str(SCRIPT), str(port)], stdout=out, stderr=subprocess.STDOUT,
                                               cwd=REPO, env=env)
        deadline = time.monotonic() + STARTUP_TIMEOUT
        while True:
            if server._process.poll() is not None:
                raise RuntimeError(f"the OpenID provider exited:\n{log.read_text(errors='replace')}")
            try:
                with urllib.request.urlopen(f"{server.issuer}/.well-known/openid-configuration", timeout=1) as response:
                    if response.status == 200:
                        return server
            except OSError:
                pass
            if time.monotonic() > deadline:
                server.stop()
                raise RuntimeError(f"the OpenID provider did not answer on {server.issuer}")
            time.sleep(0.05)

    def stop(self) -> None:
        if self._process is not None:
            self._process.terminate()
            try:
                self._process.wait(timeout=10)
            except subprocess.TimeoutExpired:
                self._process.kill()
                self._process.wait()
            self._process = None


def tenant_configs_with_franceconnect(target: Path, provider: OidcProvider, slugs: tuple[str, ...] = ("eure-et-loir",)) -> Path:
    """A copy of tenant_configs/ where these tenants sign in with FranceConnect at this provider
    (Eure-et-Loir's franceconnect section, off, is replaced; others get one)."""
    shutil.copytree(REPO / "tenant_configs", target, dirs_exist_ok=True)
    section = f"""
franceconnect:
  enabled: true
  environment: {provider.issuer}
  client_id: {provider.client_id}
  client_secret_env: {SECRET_ENV}
"""
    for slug in slugs:
        path = target / f"{slug}.yaml"
        text = path.read_text(encoding="utf-8")
        if "\nfranceconnect:" in text:
            start = text.index("\nfranceconnect:")
            end = text.index("\n\n", start + 1)
            text = text[:start] + section.rstrip("\n") + text[end:]
        else:
            text = text.rstrip("\n") + "\n" + section
        path.write_text(text, encoding="utf-8")
    return target


def at_provider(location: str, sub: str | None, *, cancel: bool = False) -> str:
    """A person at the provider: picks the identity `sub` (or cancels); the URL the provider
    sends the browser back to (the first one off the provider)."""
    import re

    import httpx2

    issuer = location.split("/api/v2/")[0]

    def follow(response):
        while response.status_code in (302, 303) and str(response.url.join(response.headers["location"])).startswith(issuer):
            response = browser.get(str(response.url.join(response.headers["location"])))
        return response

    with httpx2.Client(follow_redirects=False, timeout=10) as browser:
        response = follow(browser.get(location))
        assert response.status_code == 200, response.text
        assert "choisissez une identité" in response.text
        action = re.search(r'action="(/api/v2/interaction/[\w-]+)"', response.text).group(1)
        response = follow(browser.post(str(response.url.join(action)), data={"cancel": "1"} if cancel else {"sub": sub}))
        assert response.status_code in (302, 303), response.text
        return response.headers["location"]
