"""The overview (one card per brand), stop all marketing, and the language choice."""

from __future__ import annotations

from typing import Annotated, Literal

from fastapi import APIRouter, Form, Request
from fastapi.responses import HTMLResponse, RedirectResponse, Response

from app.audit import Actor
from app.consent.customers import update_customer
from app.models import Customer, utcnow
from app.plain.relationship import brand_cards
from app.portal.changes import change_preferences
from app.portal.deps import CsrfChecked, CurrentCustomer, MaybeCustomer
from app.portal.pages import chrome, page
from app.web.deps import ContextDep, ReadSession, WriteSession
from app.web.forms import set_cookie
from app.web.i18n import LANGUAGE_COOKIE

router = APIRouter(include_in_schema=False)


@router.get("/", response_class=HTMLResponse)
def get_overview(
    request: Request, session: ReadSession, ctx: ContextDep, principal: CurrentCustomer
) -> Response:
    """One card per brand, each with a sentence that sums up the relationship."""
    cards = brand_cards(session, ctx=ctx, customer_id=principal.customer_id, now=utcnow())
    saved = request.query_params.get("saved")
    return page(
        request,
        "portal/overview.html",
        {"cards": cards, "saved": saved},
        chrome=chrome(session, principal),
    )


@router.post("/marketing", dependencies=[CsrfChecked])
def post_marketing(
    request: Request,
    session: WriteSession,
    ctx: ContextDep,
    principal: CurrentCustomer,
    stop: Annotated[bool, Form()],
) -> Response:
    """Stop all marketing (`no_marketing`), or allow it again: one step either way."""
    patch = {"no_marketing": True} if stop else {"no_marketing": None}
    change_preferences(session, ctx=ctx, principal=principal, patch=patch, request=request)
    return RedirectResponse(f"/?saved={'stopped' if stop else 'resumed'}", status_code=303)


@router.post("/language", dependencies=[CsrfChecked])
def post_language(
    request: Request,
    session: WriteSession,
    ctx: ContextDep,
    principal: MaybeCustomer,
    locale: Annotated[Literal["en", "de"], Form()],
    back: Annotated[str, Form(max_length=2000)] = "/",
) -> Response:
    """The customer's language: kept in a cookie, and saved as their `locale` when signed in."""
    if principal is not None and not principal.limited:
        customer = session.get(Customer, principal.customer_id)
        assert customer is not None  # noqa: S101  (the session's customer is live)
        update_customer(
            session,
            ctx=ctx,
            customer=customer,
            values={"locale": locale},
            actor=Actor("customer", customer.id),
            source="portal",
        )
    # Back to the page the form was on; only a path of this site (no referrer is ever sent).
    target = back if back.startswith("/") and not back.startswith(("//", "/\\")) else "/"
    response = RedirectResponse(target, status_code=303)
    set_cookie(request, response, LANGUAGE_COOKIE, locale, max_age=365 * 86400)
    return response
