"""Dependencies of the portal's routes: the signed-in customer, the CSRF check, cookies."""

from __future__ import annotations

import secrets
from datetime import timedelta
from typing import Annotated

from fastapi import Depends, Request
from fastapi.responses import Response

from app.auth.csrf import CsrfSigner
from app.auth.principals import CustomerPrincipal
from app.auth.sessions import Lifetimes, find_session
from app.models import Customer, utcnow
from app.portal.errors import PageError, SignInRequired
from app.settings import Settings
from app.web.deps import WriteSession
from app.web.i18n import gettext as _

SESSION_COOKIE = "cmr_session"
VISITOR_COOKIE = "cmr_visitor"  # anchors the CSRF token of forms shown before sign-in
CSRF_FIELD = "csrf_token"


def lifetimes(settings: Settings) -> Lifetimes:
    return Lifetimes(
        idle=timedelta(minutes=settings.session_idle_minutes),
        absolute=timedelta(hours=settings.session_absolute_hours),
    )


def optional_customer(request: Request, session: WriteSession) -> CustomerPrincipal | None:
    """The customer whose live session the request carries, else None."""
    token = request.cookies.get(SESSION_COOKIE)
    if not token:
        return None
    settings: Settings = request.app.state.settings
    row = find_session(
        session, kind="customer", token=token, lifetimes=lifetimes(settings), now=utcnow()
    )
    if row is None:
        return None
    customer = session.get(Customer, row.subject_id)
    if customer is None or customer.erased_at is not None:
        return None
    return CustomerPrincipal(customer_id=row.subject_id, limited=row.limited, session_token=token)


MaybeCustomer = Annotated[CustomerPrincipal | None, Depends(optional_customer)]


def current_customer(principal: MaybeCustomer) -> CustomerPrincipal:
    """The signed-in customer (a preference link's limited session will do)."""
    if principal is None:
        raise SignInRequired
    return principal


def signed_in_customer(principal: MaybeCustomer) -> CustomerPrincipal:
    """A customer signed in by magic link: history, addresses, export and erasure need it."""
    if principal is None or principal.limited:
        raise SignInRequired(full=True)
    return principal


CurrentCustomer = Annotated[CustomerPrincipal, Depends(current_customer)]
SignedInCustomer = Annotated[CustomerPrincipal, Depends(signed_in_customer)]


def csrf_anchor(request: Request) -> str:
    """What the request's CSRF token is bound to: the session, else the visitor cookie.

    A visitor without either gets a new cookie with the page (`set_cookies`).
    """
    anchor: str | None = getattr(request.state, "csrf_anchor", None)
    if anchor is None:
        anchor = request.cookies.get(SESSION_COOKIE) or request.cookies.get(VISITOR_COOKIE)
        if not anchor:
            anchor = secrets.token_urlsafe(32)
            request.state.new_visitor = anchor
        request.state.csrf_anchor = anchor
    return anchor


def csrf_token(request: Request) -> str:
    signer: CsrfSigner = request.app.state.csrf
    return signer.token(csrf_anchor(request))


async def check_csrf(request: Request) -> None:
    """Every form posts the token of its page; a missing or wrong one changes nothing (403)."""
    form = await request.form()
    given = form.get(CSRF_FIELD)
    signer: CsrfSigner = request.app.state.csrf
    anchor = request.cookies.get(SESSION_COOKIE) or request.cookies.get(VISITOR_COOKIE) or ""
    if not signer.check(anchor, given if isinstance(given, str) else None):
        raise PageError(
            403, _("This form has expired. Please go back, reload the page and try again.")
        )


CsrfChecked = Depends(check_csrf)


def secure_cookies(request: Request) -> bool:
    settings: Settings = request.app.state.settings
    return settings.base_url.startswith("https://")


def set_cookie(request: Request, response: Response, name: str, value: str, max_age: int) -> None:
    """A cookie as every portal cookie is: HttpOnly, SameSite=Lax, Secure over https."""
    response.set_cookie(
        name,
        value,
        max_age=max_age,
        path="/",
        httponly=True,
        samesite="lax",
        secure=secure_cookies(request),
    )


def set_cookies(request: Request, response: Response) -> None:
    """The visitor cookie a page's CSRF token was bound to, when it was made for this page."""
    new_visitor = getattr(request.state, "new_visitor", None)
    if new_visitor:
        set_cookie(request, response, VISITOR_COOKIE, new_visitor, max_age=24 * 3600)
