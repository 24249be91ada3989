"""Console sign-in through the company's OpenID Connect provider: code flow, PKCE, state, nonce."""

from __future__ import annotations

from typing import Any

from fastapi import APIRouter, Request
from fastapi.responses import Response
from starlette.concurrency import run_in_threadpool

from app.admin.signin import start_admin_session
from app.audit import Actor
from app.auth.admins import ROLES, AdminError, change_admin, create_admin, find_admin
from app.auth.oidc import OidcProvider
from app.consent.context import Context
from app.db import write_session
from app.models import utcnow
from app.settings import Settings
from app.web.errors import PageError
from app.web.i18n import gettext as _
from app.web.oidc_pages import confirmed_claims, start_sign_in

PREFIX = "/admin/oidc"
SYSTEM = Actor("system")

router = APIRouter(prefix=PREFIX, include_in_schema=False)


def _provider(request: Request) -> OidcProvider:
    """The company's provider, as the settings name it."""
    settings: Settings = request.app.state.settings
    provider = OidcProvider.configured(
        "company", settings.oidc_issuer, settings.oidc_client_id, settings.oidc_client_secret
    )
    if provider is None:
        raise PageError(404, _("Sign-in with a company account is not set up."))
    return provider


def _unreachable() -> str:
    return _("The company sign-in service cannot be reached. Try again later.")


@router.get("/start")
async def get_oidc_start(request: Request) -> Response:
    """To the provider, with a new state, nonce and PKCE challenge kept in the flow cookie."""
    return await start_sign_in(request, _provider(request), PREFIX, unreachable=_unreachable())


@router.get("/callback")
async def get_oidc_callback(request: Request) -> Response:
    """Exchange the code, check the ID token, and sign the account in (or refuse)."""
    claims = await confirmed_claims(
        request,
        _provider(request),
        unreachable=_unreachable(),
        refused=_("The sign-in with your company account could not be confirmed."),
    )
    return await run_in_threadpool(_sign_in, request, claims)


def _verified_email(claims: dict[str, Any]) -> str:
    email = claims.get("email")
    if not isinstance(email, str) or not email.strip():
        raise PageError(403, _("Your company account has no e-mail address."))
    if claims.get("email_verified") is not True:  # else anyone could claim an admin's address
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
