"""Console sign-in through the company's OpenID Connect provider: code flow, PKCE, state, nonce."""

from __future__ import annotations

import logging
from typing import Any

import httpx
from authlib.integrations.starlette_client import OAuth
from fastapi import APIRouter, Request
from fastapi.responses import Response
from starlette.concurrency import run_in_threadpool
from starlette.middleware.sessions import SessionMiddleware
from starlette.types import ASGIApp, Receive, Scope, Send

from app.admin.signin import start_admin_session
from app.audit import Actor
from app.auth.admins import ROLES, AdminError, change_admin, create_admin, find_admin
from app.consent.context import Context
from app.db import write_session
from app.keys import Keys
from app.models import utcnow
from app.settings import Settings
from app.web.errors import PageError
from app.web.i18n import gettext as _

PREFIX = "/admin/oidc"
FLOW_COOKIE = "cmr_oidc"  # Authlib's state, nonce and PKCE verifier between start and callback
FLOW_SECONDS = 600
LEEWAY_SECONDS = 60  # clock skew allowed on the ID token's exp and iat
SYSTEM = Actor("system")

log = logging.getLogger("cmr.admin.oidc")
router = APIRouter(prefix=PREFIX, include_in_schema=False)


class OidcSessions:
    """Starlette's signed-cookie session on the sign-in routes only, keyed from the secret key.

    The key is derived at the first request, once the lifespan has put the keys on the app.
    """

    def __init__(self, app: ASGIApp) -> None:
        self.app = app
        self.sessions: SessionMiddleware | None = None

    async def __call__(self, scope: Scope, receive: Receive, send: Send) -> None:
        if scope["type"] != "http" or not scope["path"].startswith(PREFIX + "/"):
            await self.app(scope, receive, send)
            return
        if self.sessions is None:
            state = scope["app"].state
            keys: Keys = state.keys
            settings: Settings = state.settings
            self.sessions = SessionMiddleware(
                self.app,
                secret_key=keys.derive("oidc-session").hex(),
                session_cookie=FLOW_COOKIE,
                max_age=FLOW_SECONDS,
                path=PREFIX,
                same_site="lax",
                https_only=settings.base_url.startswith("https://"),
            )
        await self.sessions(scope, receive, send)


def _provider(request: Request) -> Any:
    """The app's Authlib client for the configured provider (its metadata and keys cached)."""
    settings: Settings = request.app.state.settings
    if not settings.oidc_issuer or not settings.oidc_client_id:
        raise PageError(404, _("Sign-in with a company account is not set up."))
    provider = getattr(request.app.state, "oidc_provider", None)
    if provider is None:
        secret = settings.oidc_client_secret
        provider = OAuth().register(
            "company",
            client_id=settings.oidc_client_id,
            client_secret=None if secret is None else secret.get_secret_value(),
            server_metadata_url=(
                settings.oidc_issuer.rstrip("/") + "/.well-known/openid-configuration"
            ),
            client_kwargs={
                "scope": "openid email profile",
                "code_challenge_method": "S256",
                "timeout": 10,
            },
        )
        request.app.state.oidc_provider = provider
    return provider


def _unreachable() -> PageError:
    return PageError(503, _("The company sign-in service cannot be reached. Try again later."))


@router.get("/start")
async def get_oidc_start(request: Request) -> Response:
    """To the provider, with a new state, nonce and PKCE challenge kept in the flow cookie."""
    provider = _provider(request)
    settings: Settings = request.app.state.settings
    request.session.clear()  # one sign-in in flight per browser
    try:
        response: Response = await provider.authorize_redirect(
            request, settings.base_url.rstrip("/") + PREFIX + "/callback"
        )
    except Exception as error:  # the provider's discovery document could not be had
        log.warning("OpenID Connect provider unusable: %r", error)
        raise _unreachable() from None
    return response


def _claims_options(settings: Settings) -> dict[str, Any]:
    """What the ID token must say besides the nonce (Authlib checks iss and aud only if told)."""
    return {
        "iss": {"essential": True, "value": settings.oidc_issuer},
        "aud": {"essential": True, "value": settings.oidc_client_id},
        "exp": {"essential": True},
        "nonce": {"essential": True},
    }


@router.get("/callback")
async def get_oidc_callback(request: Request) -> Response:
    """Exchange the code, check the ID token, and sign the account in (or refuse)."""
    provider = _provider(request)
    settings: Settings = request.app.state.settings
    refused = PageError(401, _("The sign-in with your company account could not be confirmed."))
    try:
        token = await provider.authorize_access_token(
            request, claims_options=_claims_options(settings), leeway=LEEWAY_SECONDS
        )
    except httpx.HTTPError:
        raise _unreachable() from None
    except Exception as error:  # any answer Authlib refuses: a wrong state, code or token
        log.warning("OpenID Connect sign-in refused: %r", error)
        raise refused from None
    finally:
        request.session.clear()
    claims = token.get("userinfo")
    if not isinstance(claims, dict):  # no ID token, so nothing was checked
        raise refused
    return await run_in_threadpool(_sign_in, request, claims)


def _verified_email(claims: dict[str, Any]) -> str:
    email = claims.get("email")
    if not isinstance(email, str) or not email.strip():
        raise PageError(403, _("Your company account has no e-mail address."))
    if "email_verified" in claims and claims["email_verified"] is not True:
        raise PageError(403, _("The e-mail address of your company account is not verified."))
    return email


def _claimed_role(value: object) -> str | None:
    """The role the provider grants: a role name, or the highest one in a list of them."""
    names = [value] if isinstance(value, str) else value if isinstance(value, list) else []
    granted = [role for role in ROLES if role in names]
    return granted[-1] if granted else None


def _sign_in(request: Request, claims: dict[str, Any]) -> Response:
    """The account of the verified e-mail address, its role kept in step with the claim."""
    settings: Settings = request.app.state.settings
    context: Context = request.app.state.context
    email = _verified_email(claims)
    role = _claimed_role(claims.get(settings.oidc_role_claim))
    now = utcnow()
    with write_session(request.app.state.engine) as session:
        admin = find_admin(session, email)
        if admin is not None and admin.disabled_at is not None:
            raise PageError(403, _("This console account is disabled."))
        try:
            if admin is None:
                if role is None:
                    raise PageError(403, _("Your company account has no console access."))
                admin = create_admin(
                    session, sealer=context.sealer, actor=SYSTEM, source="admin",
                    email=email, role=role, password=None,
                )  # fmt: skip
            elif role is not None and role != admin.role:
                admin = change_admin(
                    session, sealer=context.sealer, actor=SYSTEM, source="admin",
                    admin_id=admin.id, role=role, now=now,
                )  # fmt: skip
        except AdminError:
            raise PageError(403, _("Your company account has no usable e-mail address.")) from None
        admin.last_sign_in_at = now
        session.flush()
        return start_admin_session(request, session, admin.id)
