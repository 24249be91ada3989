"""The two steps of an OpenID Connect sign-in as pages answer them: the portal's and the
console's differ only in their words and in whom they sign in."""

from __future__ import annotations

from typing import Any

from fastapi import Request
from fastapi.responses import Response

from app.auth.oidc import (
    OidcProvider,
    ProviderUnreachable,
    SignInRefused,
    redirect_to_provider,
    verified_claims,
)
from app.settings import Settings
from app.web.errors import PageError


async def start_sign_in(
    request: Request, provider: OidcProvider, prefix: str, *, unreachable: str
) -> Response:
    """To the provider, with a new state, nonce and PKCE challenge kept in the flow cookie;
    back at `prefix`/callback. A 503 page saying `unreachable` when the provider is."""
    settings: Settings = request.app.state.settings
    callback = settings.base_url.rstrip("/") + prefix + "/callback"
    try:
        return await redirect_to_provider(request, provider, callback)
    except ProviderUnreachable:
        raise PageError(503, unreachable) from None


async def confirmed_claims(
    request: Request, provider: OidcProvider, *, unreachable: str, refused: str
) -> dict[str, Any]:
    """The claims of the ID token the callback's code is exchanged for, checked; a 503 page
    saying `unreachable`, or a 401 page saying `refused`, otherwise."""
    try:
        return await verified_claims(request, provider)
    except ProviderUnreachable:
        raise PageError(503, unreachable) from None
    except SignInRefused:
        raise PageError(401, refused) from None
