"""Dependencies of the portal's routes: the signed-in customer, the CSRF check, cookies."""

from __future__ import annotations

from typing import Annotated

from fastapi import Depends, Request

from app.auth.principals import CustomerPrincipal
from app.auth.sessions import Lifetimes, find_session, mark_seen
from app.models import Customer, utcnow
from app.portal.errors import SignInRequired
from app.settings import Settings
from app.web.deps import ReadSession
from app.web.forms import FormGuard

SESSION_COOKIE = "cmr_session"


def optional_customer(request: Request, session: ReadSession) -> CustomerPrincipal | None:
    """The customer whose live session the request carries, else None."""
    token = request.cookies.get(SESSION_COOKIE)
    if not token:
        return None
    settings: Settings = request.app.state.settings
    lifetimes, now = Lifetimes.from_settings(settings), utcnow()
    row = find_session(session, kind="customer", token=token, lifetimes=lifetimes, now=now)
    if row is None:
        return None
    customer = session.get(Customer, row.subject_id)
    if customer is None or customer.erased_at is not None:
        return None
    mark_seen(request.app.state.engine, row, lifetimes=lifetimes, now=now)
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


_forms = FormGuard(SESSION_COOKIE)


def csrf_token(request: Request) -> str:
    """The token the forms of this page carry."""
    return _forms.token(request)


CsrfChecked = Depends(_forms.check)
