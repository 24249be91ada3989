"""FastAPI dependencies that turn a bearer token into a `ClientPrincipal`."""

from __future__ import annotations

from collections.abc import Callable

from fastapi import Request, Security
from fastapi.openapi.models import OAuthFlowClientCredentials, OAuthFlows
from fastapi.security import OAuth2
from sqlalchemy import Engine, select
from sqlmodel import col

from app.auth.errors import AuthError
from app.auth.principals import ClientPrincipal
from app.auth.scopes import SCOPE_DESCRIPTIONS, Scope
from app.auth.tokens import InvalidTokenError, verify_token
from app.keys import Keys
from app.models.client import ApiClient
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


def authenticate(request: Request) -> ClientPrincipal:
    """The client behind the request's bearer token, whatever its scopes.

    The token's signature, issuer and lifetime are checked, then the client's row (one lookup by
    primary key): a disabled client's tokens stop working at once, and scopes or brands taken
    from it count from the next request.
    """
    state = request.app.state
    keys: Keys = state.keys
    settings: Settings = state.settings
    engine: Engine = state.engine
    try:
        claims = verify_token(bearer_token(request), keys=keys, issuer=settings.base_url)
    except InvalidTokenError as error:
        raise AuthError(401, "The access token is invalid or expired.", "invalid_token") from error
    query = select(col(ApiClient.disabled_at), col(ApiClient.scopes), col(ApiClient.brands)).where(
        col(ApiClient.id) == claims.client_id
    )
    with engine.connect() as connection:
        row = connection.execute(query).one_or_none()
    if row is None or row.disabled_at is not None:
        raise AuthError(401, "The client of this token is disabled.", "invalid_token")
    return ClientPrincipal(
        client_id=claims.client_id,
        scopes=claims.scopes & frozenset(row.scopes),
        brands=frozenset(row.brands) if row.brands is not None else None,
    )


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
        principal = authenticate(request)
        if missing := sorted(needed - principal.scopes):
            raise AuthError(
                403, f"This token lacks the scope {' '.join(missing)}.", "insufficient_scope"
            )
        return principal

    return dependency
