"""FastAPI dependencies that turn a bearer token into a `ClientPrincipal`."""

from __future__ import annotations

import hmac
import json
import time
from collections.abc import Awaitable, Callable
from dataclasses import dataclass
from functools import lru_cache

from fastapi import Request, Security
from fastapi.openapi.models import OAuthFlowClientCredentials, OAuthFlows
from fastapi.security import OAuth2
from sqlalchemy import Connection, Engine, Text, bindparam, select
from sqlalchemy import cast as sql_cast
from sqlmodel import col

from app.auth.clients import secret_tag
from app.auth.errors import AuthError
from app.auth.principals import ClientPrincipal
from app.auth.scopes import SCOPE_DESCRIPTIONS, Scope
from app.auth.tokens import LEEWAY_SECONDS, InvalidTokenError, TokenClaims, verify_token
from app.models.client import ApiClient
from app.prepared import Prepared
from app.settings import Settings

# Declares the scheme and each route's scopes in the OpenAPI document; the checks are below.
oauth2_scheme = OAuth2(
    flows=OAuthFlows(
        clientCredentials=OAuthFlowClientCredentials(
            tokenUrl="/oauth/token", scopes=SCOPE_DESCRIPTIONS
        )
    ),
    scheme_name="oauth2",
    description="OAuth2 client credentials; send the token as `Authorization: Bearer TOKEN`.",
    auto_error=False,
)


def bearer_token(request: Request) -> str:
    """The token of the `Authorization: Bearer` header; a 401 `AuthError` when there is none."""
    header = request.headers.get("authorization")
    if not header:
        raise AuthError(401, "A bearer token is required.", None)
    scheme, _, token = header.partition(" ")
    token = token.strip()
    if scheme.lower() != "bearer" or not token:
        raise AuthError(401, "The Authorization header must be 'Bearer TOKEN'.", "invalid_request")
    return token


class TokenCache:
    """Tokens whose signature was checked, with their claims: a token is checked once, not per
    request (its lifetime still is). Bounded; one per application, since keys differ."""

    def __init__(self, size: int = 10_000) -> None:
        self._size = size
        self._claims: dict[str, tuple[TokenClaims, float]] = {}

    def get(self, token: str) -> TokenClaims | None:
        """The claims of a token checked before, unless it has expired since (None)."""
        entry = self._claims.get(token)
        if entry is None or entry[1] <= time.time():
            return None
        return entry[0]

    def keep(self, token: str, claims: TokenClaims) -> None:
        if len(self._claims) >= self._size:
            self._claims.clear()
        self._claims[token] = (claims, claims.expires_at.timestamp() + LEEWAY_SECONDS)


def token_claims(request: Request) -> TokenClaims:
    """The checked claims of the request's bearer token (no I/O); a 401 `AuthError` otherwise."""
    state = request.app.state
    token = bearer_token(request)
    cache: TokenCache | None = getattr(state, "tokens", None)
    claims = None if cache is None else cache.get(token)
    if claims is None:  # not checked yet, or expired: `verify_token` says which
        settings: Settings = state.settings
        try:
            claims = verify_token(token, keys=state.keys, issuer=settings.base_url)
        except InvalidTokenError as error:
            raise AuthError(
                401, "The access token is invalid or expired.", "invalid_token"
            ) from error
        if cache is not None:
            cache.keep(token, claims)
    return claims


# Built once, run on the driver's cursor: read on every request of the decision path.
CLIENT = Prepared(
    select(
        col(ApiClient.disabled_at),
        # JSON as text: parsed once per distinct row and token (`_principal`).
        sql_cast(col(ApiClient.scopes), Text),
        sql_cast(col(ApiClient.brands), Text),
        col(ApiClient.secret_hash),
    ).where(col(ApiClient.id) == bindparam("client_id"))
)


def client_principal(
    connection: Connection, claims: TokenClaims, needed: frozenset[str] = frozenset()
) -> ClientPrincipal:
    """The client of `claims`, read now: a disabled client's tokens stop working at once, as do
    those issued before its secret was rotated, and scopes or brands taken from it count from
    the next request. 403 without a `needed` scope."""
    rows = CLIENT.rows(connection, {"client_id": claims.client_id})
    if not rows or rows[0][0] is not None:
        raise AuthError(401, "The client of this token is disabled.", "invalid_token")
    scopes, brands, secret_hash = rows[0][1:]
    return _principal(
        scopes, brands, secret_hash, claims.client_id, claims.scopes, claims.secret_tag, needed
    )


@lru_cache(maxsize=1024)
def _principal(
    scopes_granted: str,
    brands: str | None,
    secret_hash: str,
    client_id: str,
    scopes: frozenset[str],
    token_tag: str | None,
    needed: frozenset[str],
) -> ClientPrincipal:
    """The principal of a live client's row and a token's claims (made once per distinct pair;
    an error is raised each time, as nothing raised is remembered)."""
    if token_tag is None or not hmac.compare_digest(token_tag, secret_tag(secret_hash)):
        raise AuthError(
            401, "The client's secret has changed since this token was issued.", "invalid_token"
        )
    limit = json.loads(brands) if brands else None
    principal = ClientPrincipal(
        client_id=client_id,
        scopes=scopes & frozenset(json.loads(scopes_granted)),
        brands=None if limit is None else frozenset(limit),
    )
    if missing := sorted(needed - principal.scopes):
        raise AuthError(
            403, f"This token lacks the scope {' '.join(missing)}.", "insufficient_scope"
        )
    return principal


def authenticate(request: Request, needed: frozenset[str] = frozenset()) -> ClientPrincipal:
    """The client behind the request's bearer token, holding every `needed` scope."""
    claims = token_claims(request)
    engine: Engine = request.app.state.engine
    with engine.connect() as connection:
        return client_principal(connection, claims, needed)


@dataclass(frozen=True)
class Bearer:
    """A checked token whose client is still to be read, in the route's own transaction."""

    claims: TokenClaims
    needed: frozenset[str]

    def principal(self, connection: Connection) -> ClientPrincipal:
        return client_principal(connection, self.claims, self.needed)


def require_scope(*scopes: Scope) -> Callable[..., ClientPrincipal]:
    """A dependency: the calling client, which must hold every one of `scopes` (none: any token).

    401 without a valid token, 403 without a scope; both raise `AuthError`.
    """
    needed = frozenset(scopes)

    def dependency(
        request: Request,
        # A default, not Annotated: the scopes are local, which a string annotation cannot see.
        _header: str | None = Security(oauth2_scheme, scopes=sorted(needed)),
    ) -> ClientPrincipal:
        return authenticate(request, needed)

    return dependency


def require_bearer(*scopes: Scope) -> Callable[..., Awaitable[Bearer]]:
    """Like `require_scope`, but the client is read by the route in its own transaction: for the
    decision path, where one trip to a worker thread and one connection per request count."""
    needed = frozenset(scopes)

    async def dependency(
        request: Request,
        _header: str | None = Security(oauth2_scheme, scopes=sorted(needed)),
    ) -> Bearer:
        return Bearer(token_claims(request), needed)

    return dependency
