"""Rendering a portal page: the layout's view (who is signed in), the CSRF token, cookies."""

from __future__ import annotations

from dataclasses import dataclass
from typing import Any

from fastapi import Request
from fastapi.responses import HTMLResponse
from sqlalchemy.orm import Session

from app.auth.principals import CustomerPrincipal
from app.models import Preference
from app.portal.deps import csrf_token
from app.web.forms import set_cookies
from app.web.templates import templates


@dataclass(frozen=True)
class Chrome:
    """What the layout around every page needs to know."""

    signed_in: bool = False
    limited: bool = False
    no_marketing: bool = False


def chrome(session: Session, principal: CustomerPrincipal | None) -> Chrome:
    if principal is None:
        return Chrome()
    preference = session.get(Preference, principal.customer_id)
    stopped = bool(preference is not None and preference.document.get("no_marketing"))
    return Chrome(signed_in=True, limited=principal.limited, no_marketing=stopped)


def page(
    request: Request,
    name: str,
    context: dict[str, Any],
    *,
    chrome: Chrome | None = None,
    status: int = 200,
    cookieless: bool = False,
) -> HTMLResponse:
    """The template `name` with the layout's members and the form token added.

    `cookieless`: a page that must set no cookie (one-click unsubscribe) has no token and
    leaves out the layout's forms.
    """
    token = None if cookieless else csrf_token(request)
    full = {"chrome": chrome or Chrome(), "csrf_token": token, **context}
    response = templates().TemplateResponse(request, name, full, status_code=status)
    set_cookies(request, response)
    return response
