"""OpenID Connect providers for the sign-in tests: oidc-provider-mock, and a forger of ID tokens."""

from __future__ import annotations

import base64
import hashlib
import json
import secrets
import socket
import subprocess
import sys
import time
import uuid
from collections.abc import Iterator
from contextlib import contextmanager
from dataclasses import dataclass
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer
from pathlib import Path
from typing import TYPE_CHECKING, Any
from urllib.parse import parse_qsl, urlencode, urlsplit

import httpx
import pytest
from fastapi.testclient import TestClient
from joserfc import jwt
from joserfc.jwk import KeySet, RSAKey

if TYPE_CHECKING:
    from fastapi import FastAPI

ROOT = Path(__file__).resolve().parents[2]
STARTUP_SECONDS = 30.0


@dataclass
class Provider:
    """A running provider: its issuer URL and its log."""

    issuer: str
    log: Path

    def put_user(self, sub: str, claims: dict[str, Any]) -> None:
        """oidc-provider-mock: the user `sub` signs in with `claims`."""
        httpx.put(f"{self.issuer}/users/{sub}", json=claims).raise_for_status()

    def forge(self, claims: dict[str, Any], *, expires_in: int = 300, key: str = "own") -> None:
        """The forger: the next ID token carries `claims` (None removes one), expires in
        `expires_in` seconds and is signed with `key` ("own", "stranger", or "none": no token)."""
        body = {"claims": claims, "expires_in": expires_in, "key": key}
        httpx.post(f"{self.issuer}/forgery", json=body).raise_for_status()


def free_port() -> int:
    with socket.socket() as sock:
        sock.bind(("127.0.0.1", 0))
        port: int = sock.getsockname()[1]
        return port


@dataclass
class Site:
    """The app configured for one provider, and a browser's way through a sign-in at `prefix`."""

    app: FastAPI
    provider: Provider
    base_url: str
    prefix: str = "/admin/oidc"

    def browser(self) -> TestClient:
        return TestClient(self.app, base_url=self.base_url)

    def start(self, browser: TestClient) -> httpx.URL:
        """Begin a sign-in: the provider's authorization URL the browser is sent to."""
        response = browser.get(f"{self.prefix}/start", follow_redirects=False)
        assert response.status_code == 302, response.text
        url = httpx.URL(response.headers["location"])
        assert str(url).startswith(self.provider.issuer)
        return url

    def consent(self, authorization: httpx.URL, sub: str = "") -> httpx.URL:
        """The provider's answer (oidc-provider-mock's form for `sub`, or the forger's
        redirect): the callback URL the browser is sent back to."""
        response = httpx.post(authorization, data={"sub": sub}) if sub else httpx.get(authorization)
        assert response.status_code == 302, response.text
        back = httpx.URL(response.headers["location"])
        assert str(back).startswith(f"{self.base_url}{self.prefix}/callback?")
        return back

    def sign_in(self, sub: str = "") -> tuple[TestClient, httpx.Response]:
        """A whole sign-in by a new browser: the browser and the callback's answer."""
        browser = self.browser()
        back = self.consent(self.start(browser), sub)
        return browser, browser.get(str(back), follow_redirects=False)

    def user(self, **claims: Any) -> tuple[str, str]:
        """A new user of oidc-provider-mock with a verified address and `claims`: (sub, e-mail)."""
        sub = f"u-{uuid.uuid4().hex[:10]}"
        email = claims.pop("email", f"{sub}@example.org")
        self.provider.put_user(sub, {"email": email, "email_verified": True, **claims})
        return sub, email


@contextmanager
def _running(tmp: Path, name: str, command: list[str], port: int) -> Iterator[Provider]:
    log = tmp / f"{name}.log"
    issuer = f"http://127.0.0.1:{port}"
    with log.open("wb") as out:
        process = subprocess.Popen(command, cwd=ROOT, stdout=out, stderr=subprocess.STDOUT)
    try:
        deadline = time.monotonic() + STARTUP_SECONDS
        while True:
            if process.poll() is not None:
                pytest.fail(f"{name} exited with {process.returncode}:\n{log.read_text()}")
            try:
                if httpx.get(f"{issuer}/.well-known/openid-configuration").status_code == 200:
                    break
            except httpx.TransportError:
                pass
            if time.monotonic() > deadline:
                pytest.fail(f"{name} did not start in {STARTUP_SECONDS}s:\n{log.read_text()}")
            time.sleep(0.1)
        yield Provider(issuer=issuer, log=log)
    finally:
        process.terminate()
        try:
            process.wait(timeout=10)
        except subprocess.TimeoutExpired:
            process.kill()
            process.wait()


@contextmanager
def running_mock(tmp: Path, *, token_max_age: int = 3600) -> Iterator[Provider]:
    """oidc-provider-mock on a free port; its tokens expire after `token_max_age` seconds."""
    port = free_port()
    command = [sys.executable, "-m", "oidc_provider_mock", "--port", str(port)]
    command.append(f"--token-max-age={token_max_age}")
    with _running(tmp, f"oidc-mock-{port}", command, port) as provider:
        yield provider


@contextmanager
def running_forger(tmp: Path) -> Iterator[Provider]:
    """The forger below (`python -m tests.admin.oidc_provider PORT`) on a free port: it signs
    ID tokens no well-behaved provider issues, such as one for another audience."""
    port = free_port()
    command = [sys.executable, "-m", "tests.admin.oidc_provider", str(port)]
    with _running(tmp, f"oidc-forger-{port}", command, port) as provider:
        yield provider


class Forger(BaseHTTPRequestHandler):
    """Discovery, keys, an authorization endpoint that consents at once, and a token endpoint
    that checks the code and its PKCE verifier, then issues the ID token of the forgery."""

    issuer = ""
    key: RSAKey  # the key it publishes
    stranger: RSAKey  # another key under the same key id
    requests: dict[str, dict[str, str]] = {}  # noqa: RUF012  (shared by the handler's threads)
    forgery: dict[str, Any] = {"claims": {}, "expires_in": 300, "key": "own"}  # noqa: RUF012

    def _answer(self, status: int, body: Any = None, headers: dict[str, str] | None = None) -> None:
        data = b"" if body is None else json.dumps(body).encode()
        self.send_response(status)
        for name, value in {"Content-Type": "application/json", **(headers or {})}.items():
            self.send_header(name, value)
        self.send_header("Content-Length", str(len(data)))
        self.end_headers()
        self.wfile.write(data)

    def do_GET(self) -> None:
        url = urlsplit(self.path)
        if url.path == "/.well-known/openid-configuration":
            self._answer(200, {
                "issuer": self.issuer,
                "authorization_endpoint": f"{self.issuer}/authorize",
                "token_endpoint": f"{self.issuer}/token",
                "jwks_uri": f"{self.issuer}/jwks",
                "response_types_supported": ["code"],
                "id_token_signing_alg_values_supported": ["RS256"],
            })  # fmt: skip
        elif url.path == "/jwks":
            self._answer(200, KeySet([self.key]).as_dict(private=False))
        elif url.path == "/authorize":
            asked = dict(parse_qsl(url.query))
            code = secrets.token_urlsafe(16)
            self.requests[code] = asked
            back = urlencode({"code": code, "state": asked.get("state", "")})
            self._answer(302, headers={"Location": f"{asked['redirect_uri']}?{back}"})
        else:
            self._answer(404)

    def do_POST(self) -> None:
        body = self.rfile.read(int(self.headers.get("Content-Length", "0")))
        if self.path == "/forgery":
            type(self).forgery = json.loads(body)
            self._answer(204)
        elif self.path == "/token":
            self._token(dict(parse_qsl(body.decode())))
        else:
            self._answer(404)

    def _token(self, form: dict[str, str]) -> None:
        asked = self.requests.pop(form.get("code", ""), None)
        verifier = form.get("code_verifier", "").encode()
        challenge = base64.urlsafe_b64encode(hashlib.sha256(verifier).digest()).rstrip(b"=")
        if (
            asked is None
            or asked.get("code_challenge_method") != "S256"
            or asked.get("code_challenge", "").encode() != challenge
        ):
            self._answer(400, {"error": "invalid_grant"})
            return
        basic = self.headers.get("Authorization", "").removeprefix("Basic ")
        client_id = base64.b64decode(basic).decode().partition(":")[0]
        forgery, now = self.forgery, int(time.time())
        claims: dict[str, Any] = {
            "iss": self.issuer, "sub": "forged-user", "aud": client_id, "iat": now,
            "exp": now + forgery["expires_in"], "nonce": asked.get("nonce"),
        }  # fmt: skip
        for name, value in forgery["claims"].items():
            if value is None:
                claims.pop(name, None)
            else:
                claims[name] = value
        answer = {"access_token": secrets.token_urlsafe(16), "token_type": "Bearer"}
        if forgery["key"] != "none":
            key = self.stranger if forgery["key"] == "stranger" else self.key
            answer["id_token"] = jwt.encode({"alg": "RS256", "kid": "forger"}, claims, key)
        self._answer(200, answer, {"Cache-Control": "no-store"})


def serve(port: int) -> None:
    """Run the forging provider on `port` until stopped."""
    Forger.issuer = f"http://127.0.0.1:{port}"
    Forger.key = RSAKey.generate_key(2048, parameters={"kid": "forger"})
    Forger.stranger = RSAKey.generate_key(2048, parameters={"kid": "forger"})
    ThreadingHTTPServer(("127.0.0.1", port), Forger).serve_forever()


if __name__ == "__main__":
    serve(int(sys.argv[1]))
