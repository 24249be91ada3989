"""Customer sign-in through an OpenID Connect provider, when one is set up."""

from __future__ import annotations

from typing import Any

from fastapi import APIRouter, Request
from fastapi.responses import Response
from starlette.concurrency import run_in_threadpool

from app.auth.oidc import OidcProvider
from app.consent.customers import find_customer
from app.consent.identity import InvalidIdentifier, Reference, normalize_email
from app.db import write_session
from app.portal.errors import PageError
from app.portal.pages import page
from app.portal.signin import login_context, signed_in
from app.settings import Settings
from app.web.i18n import gettext as _
from app.web.oidc_pages import confirmed_claims, start_sign_in

PREFIX = "/login/oidc"

router = APIRouter(prefix=PREFIX, include_in_schema=False)


def _provider(request: Request) -> OidcProvider:
    """The customers' provider, as the settings name it."""
    settings: Settings = request.app.state.settings
    provider = OidcProvider.configured(
        "portal",
        settings.portal_oidc_issuer,
        settings.portal_oidc_client_id,
        settings.portal_oidc_client_secret,
    )
    if provider is None:
        raise PageError(404, _("This way of signing in is not set up."))
    return provider


def _unreachable() -> str:
    return _(
        "The sign-in service cannot be reached. Try again later, "
        "or ask for a sign-in link by e-mail."
    )


@router.get("/start")
async def get_oidc_start(request: Request) -> Response:
    """To the provider, with a new state, nonce and PKCE challenge kept in the flow cookie."""
    return await start_sign_in(request, _provider(request), PREFIX, unreachable=_unreachable())


@router.get("/callback")
async def get_oidc_callback(request: Request) -> Response:
    """Exchange the code, check the ID token, and sign the customer of its address in."""
    claims = await confirmed_claims(
        request,
        _provider(request),
        unreachable=_unreachable(),
        refused=_(
            "The sign-in could not be confirmed. Try again, or ask for a sign-in link by e-mail."
        ),
    )
    return await run_in_threadpool(_sign_in, request, _verified_address(claims))


def _verified_address(claims: dict[str, Any]) -> str:
    """The e-mail address the provider vouches for, normalised as customers' addresses are."""
    email = claims.get("email")
    if isinstance(email, str) and claims.get("email_verified") is True:
        try:
            return normalize_email(email)
        except InvalidIdentifier:
            pass
    raise PageError(
        403,
        _(
            "The account you signed in with has no verified e-mail address. "
            "Ask for a sign-in link by e-mail instead."
        ),
    )


def _sign_in(request: Request, address: str) -> Response:
    """A full session for the customer with `address`, else the login page saying so."""
    with write_session(request.app.state.engine) as session:
        customer = find_customer(session, Reference("email", address))
        if customer is not None:
            return signed_in(request, session, customer.id, limited=False)
    refusal = _(
        "There is no account here for %(email)s. "
        "If we know you by another address, ask for a sign-in link for it."
    ) % {"email": address}
    return page(request, "portal/login.html", login_context(request, refusal=refusal))
