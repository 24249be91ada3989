"""The token endpoint's logic: OAuth2 client credentials (RFC 6749 section 4.4) on Authlib."""

from __future__ import annotations

import json
from collections.abc import Mapping
from typing import Any, ClassVar

from authlib.oauth2.rfc6749 import (
    AuthorizationServer,
    ClientCredentialsGrant,
    ClientMixin,
    InvalidRequestError,
    InvalidScopeError,
    OAuth2Error,
    OAuth2Request,
    scope_to_list,
)
from authlib.oauth2.rfc6749.requests import BasicOAuth2Payload
from sqlalchemy import Engine
from sqlalchemy.orm import Session
from starlette.datastructures import FormData
from starlette.responses import Response

from app.auth.clients import check_client_secret, secret_tag
from app.auth.scopes import ALL_SCOPES
from app.auth.tokens import issue_token
from app.keys import Keys
from app.models.client import ApiClient
from app.settings import Settings

GRANT_TYPE = "client_credentials"
AUTH_METHODS = ("client_secret_basic", "client_secret_post")


class OAuthClient(ClientMixin):  # type: ignore[misc]
    """Authlib's view of an API client; an unknown id gives a client that no secret opens."""

    def __init__(self, client_id: str, row: ApiClient | None) -> None:
        self.client_id = client_id
        self.row = row

    @property
    def scopes(self) -> frozenset[str]:
        return frozenset(self.row.scopes) if self.row is not None else frozenset()

    @property
    def secret_tag(self) -> str | None:
        return secret_tag(self.row.secret_hash) if self.row is not None else None

    def get_client_id(self) -> str:
        return self.client_id

    def check_client_secret(self, client_secret: str) -> bool:
        # Unknown and disabled clients cost a verification too: the answer's timing tells nothing.
        return check_client_secret(self.row, client_secret)

    def check_endpoint_auth_method(self, method: str, endpoint: str) -> bool:
        return endpoint == "token" and method in AUTH_METHODS

    def check_grant_type(self, grant_type: str) -> bool:
        return grant_type == GRANT_TYPE

    def get_allowed_scope(self, scope: str | None) -> str:
        requested = scope_to_list(scope) or sorted(self.scopes)
        return " ".join(sorted(set(requested) & self.scopes))


class ClientCredentials(ClientCredentialsGrant):  # type: ignore[misc]
    """Client credentials by HTTP Basic or form fields; a scope beyond the client's is refused."""

    TOKEN_ENDPOINT_AUTH_METHODS: ClassVar[list[str]] = list(AUTH_METHODS)

    def validate_requested_scope(self) -> None:
        requested = set(scope_to_list(self.request.payload.scope) or ())
        if unknown := sorted(requested - ALL_SCOPES):
            raise InvalidScopeError(f"Unknown scope: {' '.join(unknown)}.")
        client: OAuthClient = self.request.client
        if refused := sorted(requested - client.scopes):
            raise InvalidScopeError(f"Scope not granted to this client: {' '.join(refused)}.")


class TokenRequest(OAuth2Request):  # type: ignore[misc]
    """A token request whose form body has already been read."""

    def __init__(self, uri: str, headers: Mapping[str, str], form: Mapping[str, str]) -> None:
        # Authlib refuses any URI but https or loopback; here TLS ends at the proxy in front of
        # the service, which the service cannot see, so transport is the deployment's concern.
        super().__init__("POST", "https://localhost/", headers=headers)
        self.uri = uri
        self._form = dict(form)
        self.payload = BasicOAuth2Payload(self._form)

    @property
    def args(self) -> dict[str, str]:
        return {}

    @property
    def form(self) -> dict[str, str]:
        return self._form


class TokenServer(AuthorizationServer):  # type: ignore[misc]
    """Issues our JWT access tokens to API clients; stateless apart from reading the client."""

    def __init__(self, *, engine: Engine, keys: Keys, settings: Settings) -> None:
        super().__init__(scopes_supported=sorted(ALL_SCOPES))
        self.engine = engine
        self.keys = keys
        self.settings = settings
        self.register_grant(ClientCredentials)
        self.register_token_generator("default", self._generate_token)

    def query_client(self, client_id: str) -> OAuthClient:
        with Session(self.engine) as session:
            row = session.get(ApiClient, client_id)
            if row is not None:
                session.expunge(row)
        return OAuthClient(client_id, row)

    def save_token(self, token: dict[str, Any], request: OAuth2Request) -> None:
        """Tokens are self-contained: nothing to store."""

    def send_signal(self, name: str, *args: Any, **kwargs: Any) -> None:
        """No signals are listened to."""

    def create_oauth2_request(self, request: TokenRequest) -> TokenRequest:
        return request

    def handle_response(
        self, status: int, body: Mapping[str, Any], headers: list[tuple[str, str]]
    ) -> Response:
        return Response(json.dumps(body), status_code=status, headers=dict(headers))

    def _generate_token(
        self,
        *,
        grant_type: str,
        client: OAuthClient,
        user: Any = None,
        scope: str | None = None,
        expires_in: int | None = None,
        include_refresh_token: bool = False,
    ) -> dict[str, Any]:
        del grant_type, user, include_refresh_token  # client credentials: no user, no refresh
        ttl = expires_in or self.settings.token_ttl_seconds
        granted = client.get_allowed_scope(scope)
        access_token = issue_token(
            keys=self.keys,
            issuer=self.settings.base_url,
            client_id=client.get_client_id(),
            scopes=granted.split(),
            ttl_seconds=ttl,
            secret_tag=client.secret_tag,
        )
        return {
            "access_token": access_token,
            "token_type": "Bearer",
            "expires_in": ttl,
            "scope": granted,
        }


def _form_problem(headers: Mapping[str, str], form: FormData) -> str | None:
    """What makes the request malformed before Authlib looks at it, if anything."""
    seen: set[str] = set()
    for key, value in form.multi_items():
        if not isinstance(value, str):
            return f"Parameter {key} must be a plain form field."
        if key in seen:
            return f"Parameter {key} is repeated."
        seen.add(key)
    if not form.get("grant_type"):
        return "Missing grant_type parameter."
    basic = headers.get("authorization", "").lower().startswith("basic ")
    if basic and "client_secret" in form:
        return "Use one client authentication method, not both."
    return None


def create_token_response(
    server: TokenServer, *, uri: str, headers: Mapping[str, str], form: FormData
) -> tuple[Response, str | None]:
    """Answer a token request: the response, and the id of the client served (None on error)."""
    fields = {key: value for key, value in form.items() if isinstance(value, str)}
    request = TokenRequest(uri, headers, fields)
    if (problem := _form_problem(headers, form)) is not None:
        error: OAuth2Error = InvalidRequestError(problem)
        return server.handle_error_response(request, error), None
    response: Response = server.create_token_response(request)
    issued = response.status_code == 200 and request.client is not None
    return response, request.client.get_client_id() if issued else None
