"""OpenID Connect sign-in for any provider: the flow cookie, the client, the checked ID token."""

from __future__ import annotations

import logging
from collections.abc import Sequence
from dataclasses import dataclass
from typing import Any

import httpx2
from authlib.integrations.starlette_client import OAuth
from pydantic import SecretStr
from starlette.middleware.sessions import SessionMiddleware
from starlette.requests import Request
from starlette.responses import Response
from starlette.types import ASGIApp, Receive, Scope, Send

from app.keys import Keys
from app.settings import Settings

FLOW_COOKIE = "cmr_oidc"  # Authlib's state, nonce and PKCE verifier between start and callback
FLOW_SECONDS = 600
LEEWAY_SECONDS = 60  # clock skew allowed on the ID token's exp and iat

log = logging.getLogger("cmr.auth.oidc")


class OidcError(Exception):
    """A sign-in through the provider that did not succeed."""


class ProviderUnreachable(OidcError):
    """The provider's discovery document, keys or token endpoint could not be had."""


class SignInRefused(OidcError):
    """The provider's answer was refused: a wrong state, code or ID token, or no ID token."""


class OidcSessions:
    """Starlette's signed-cookie session on the sign-in routes under `prefixes` only.

    Each prefix has its own cookie, on its own path. The key is derived at the first request,
    once the lifespan has put the keys on the app.
    """

    def __init__(self, app: ASGIApp, prefixes: Sequence[str]) -> None:
        self.app = app
        self.prefixes = tuple(prefixes)
        self.sessions: dict[str, SessionMiddleware] = {}

    async def __call__(self, scope: Scope, receive: Receive, send: Send) -> None:
        path = scope["path"] if scope["type"] == "http" else ""
        prefix = next((p for p in self.prefixes if path.startswith(p + "/")), None)
        if prefix is None:
            await self.app(scope, receive, send)
            return
        sessions = self.sessions.get(prefix)
        if sessions is None:
            state = scope["app"].state
            keys: Keys = state.keys
            settings: Settings = state.settings
            sessions = SessionMiddleware(
                self.app,
                secret_key=keys.derive("oidc-session").hex(),
                session_cookie=FLOW_COOKIE,
                max_age=FLOW_SECONDS,
                path=prefix,
                same_site="lax",
                https_only=settings.base_url.startswith("https://"),
            )
            self.sessions[prefix] = sessions
        await sessions(scope, receive, send)


@dataclass(frozen=True)
class OidcProvider:
    """A provider the app is registered with as a client; `name` tells the app's clients apart."""

    name: str
    issuer: str
    client_id: str
    client_secret: str | None

    @classmethod
    def configured(
        cls, name: str, issuer: str | None, client_id: str | None, secret: SecretStr | None
    ) -> OidcProvider | None:
        """The provider the settings name, or None when they name no issuer or client."""
        if not issuer or not client_id:
            return None
        return cls(
            name=name,
            issuer=issuer,
            client_id=client_id,
            client_secret=None if secret is None else secret.get_secret_value(),
        )

    def claims_options(self) -> dict[str, Any]:
        """What the ID token must say (Authlib checks iss and aud only when told to)."""
        return {
            "iss": {"essential": True, "value": self.issuer},
            "aud": {"essential": True, "value": self.client_id},
            "exp": {"essential": True},
            "nonce": {"essential": True},
        }


def _client(request: Request, provider: OidcProvider) -> Any:
    """The app's Authlib client for `provider`, made once (its metadata and keys cached)."""
    clients: dict[OidcProvider, Any] | None = getattr(request.app.state, "oidc_clients", None)
    if clients is None:
        clients = request.app.state.oidc_clients = {}
    client = clients.get(provider)
    if client is None:
        client = OAuth().register(
            provider.name,
            client_id=provider.client_id,
            client_secret=provider.client_secret,
            server_metadata_url=(provider.issuer.rstrip("/") + "/.well-known/openid-configuration"),
            client_kwargs={
                "scope": "openid email profile",
                "code_challenge_method": "S256",
                "timeout": 10,
            },
        )
        clients[provider] = client
    return client


async def redirect_to_provider(
    request: Request, provider: OidcProvider, redirect_uri: str
) -> Response:
    """To the provider, with a new state, nonce and PKCE challenge kept in the flow cookie."""
    client = _client(request, provider)
    request.session.clear()  # one sign-in in flight per browser
    try:
        response: Response = await client.authorize_redirect(request, redirect_uri)
    except Exception as error:  # the provider's discovery document could not be had
        log.warning("OpenID Connect provider %s unusable: %r", provider.name, error)
        raise ProviderUnreachable from None
    return response


async def verified_claims(request: Request, provider: OidcProvider) -> dict[str, Any]:
    """Exchange the callback's code; the ID token's claims once its signature, issuer,
    audience, expiry and nonce are checked. The flow cookie is emptied either way."""
    client = _client(request, provider)
    try:
        token = await client.authorize_access_token(
            request, claims_options=provider.claims_options(), leeway=LEEWAY_SECONDS
        )
    except httpx2.HTTPError:
        raise ProviderUnreachable from None
    except Exception as error:  # any answer Authlib refuses: a wrong state, code or token
        log.warning("OpenID Connect sign-in with %s refused: %r", provider.name, error)
        raise SignInRefused from None
    finally:
        request.session.clear()
    claims = token.get("userinfo")
    if not isinstance(claims, dict):  # no ID token, so nothing was checked
        raise SignInRefused
    return claims
