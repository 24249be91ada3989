"""The page of one brand relationship and its forms: depth, topics, how often, pause."""

from __future__ import annotations

from collections.abc import Callable, Collection, Mapping
from typing import Annotated, Any

from fastapi import APIRouter, Form, Request
from fastapi.responses import HTMLResponse, RedirectResponse, Response
from sqlalchemy.orm import Session

from app.auth.principals import CustomerPrincipal
from app.consent.context import Context
from app.consent.errors import ValidationFailed
from app.models import utcnow
from app.plain.relationship import brand_cards
from app.portal.brand_forms import (
    FormError,
    cap_patch,
    depth_patch,
    pause_patch,
    resume_patch,
    topics_patch,
)
from app.portal.brand_state import BrandState, load_brand
from app.portal.brand_view import brand_page
from app.portal.changes import change_preferences
from app.portal.deps import CsrfChecked, CurrentCustomer
from app.portal.pages import chrome, page
from app.web.deps import ContextDep, ReadSession, WriteSession
from app.web.i18n import gettext as _

router = APIRouter(include_in_schema=False)
Values = Annotated[list[str], Form(default_factory=list)]
Consents = Collection[tuple[str, str, str]]
Change = Callable[[BrandState], tuple[dict[str, Any], Consents]]


def _render(
    request: Request,
    session: Session,
    ctx: Context,
    principal: CustomerPrincipal,
    state: BrandState,
    *,
    status: int = 200,
    errors: Mapping[str, str] | None = None,
    entered: Mapping[str, str] | None = None,
) -> Response:
    now = utcnow()
    view = brand_page(
        state, now=now, saved=request.query_params.get("saved"), errors=errors, entered=entered
    )
    cards = brand_cards(session, ctx=ctx, customer_id=principal.customer_id, now=now)
    summary = next((card.summary for card in cards if card.key == state.key), None)
    return page(
        request,
        "portal/brand.html",
        {"brand": view, "summary": summary},
        chrome=chrome(session, principal),
        status=status,
    )


def _field_of(error: ValidationFailed, fallback: str) -> str:
    """The page's field for the first location the domain refused."""
    fields = {"depth": "depth", "topics": "topics", "cap": "cap", "paused_until": "until"}
    for item in error.errors:
        loc = item.get("loc", [])
        if len(loc) > 2 and loc[0] == "brands" and loc[2] in fields:
            return fields[loc[2]]
    return fallback


def _save(
    request: Request,
    session: Session,
    ctx: Context,
    principal: CustomerPrincipal,
    key: str,
    change: Change,
    *,
    section: str,
    field: str,
    entered: Mapping[str, str] | None = None,
) -> Response:
    """Apply one form's change as the customer's request and go back to the page.

    Input that cannot be saved shows the page again (422) with the error beside `field`.
    """
    state = load_brand(session, customer_id=principal.customer_id, key=key, lock=True)
    try:
        patch, consent_to = change(state)
        if patch:
            change_preferences(
                session,
                ctx=ctx,
                principal=principal,
                patch=patch,
                request=request,
                consent_to=consent_to,
            )
    except FormError as error:
        errors = {error.field: error.message}
    except ValidationFailed as error:
        message = _("This could not be saved. Please check your choice and try again.")
        errors = {_field_of(error, field): message}
    else:
        return RedirectResponse(f"/brands/{key}?saved={section}", status_code=303)
    return _render(
        request, session, ctx, principal, state, status=422, errors=errors, entered=entered
    )


def _only(patch: Callable[[BrandState], dict[str, Any]]) -> Change:
    """A change that gives no consent."""
    return lambda state: (patch(state), ())


@router.get("/brands/{key}", response_class=HTMLResponse)
def get_brand(
    request: Request, key: str, session: ReadSession, ctx: ContextDep, principal: CurrentCustomer
) -> Response:
    """The relationship with one brand: depth, topics, consent, how often, pause."""
    state = load_brand(session, customer_id=principal.customer_id, key=key)
    return _render(request, session, ctx, principal, state)


@router.post("/brands/{key}/depth", dependencies=[CsrfChecked])
def post_depth(
    request: Request,
    key: str,
    session: WriteSession,
    ctx: ContextDep,
    principal: CurrentCustomer,
    depth: Annotated[str, Form(max_length=20)] = "",
) -> Response:
    """Choose the depth; it never gives consent to an opt_in topic."""
    change = _only(lambda state: depth_patch(state.key, depth))
    return _save(request, session, ctx, principal, key, change, section="depth", field="depth")


@router.post("/brands/{key}/topics", dependencies=[CsrfChecked])
def post_topics(
    request: Request,
    key: str,
    session: WriteSession,
    ctx: ContextDep,
    principal: CurrentCustomer,
    shown: Values,
    on: Values,
    consent: Values,
) -> Response:
    """Switch topics on or off per channel; a ticked consent box records that consent."""

    def change(state: BrandState) -> tuple[dict[str, Any], Consents]:
        return topics_patch(
            state.key,
            topics=state.brand["topics"],
            choices=state.choices,
            depth=state.depth,
            shown=shown,
            on=on,
            consent=consent,
        )

    return _save(request, session, ctx, principal, key, change, section="topics", field="topics")


@router.post("/brands/{key}/cap", dependencies=[CsrfChecked])
def post_cap(
    request: Request,
    key: str,
    session: WriteSession,
    ctx: ContextDep,
    principal: CurrentCustomer,
    cap: Annotated[str, Form(max_length=20)] = "",
) -> Response:
    """How often the brand may write: never looser than its policy."""
    change = _only(lambda state: cap_patch(state.key, cap, policy=state.policy, current=state.cap))
    return _save(request, session, ctx, principal, key, change, section="cap", field="cap")


@router.post("/brands/{key}/pause", dependencies=[CsrfChecked])
def post_pause(
    request: Request,
    key: str,
    session: WriteSession,
    ctx: ContextDep,
    principal: CurrentCustomer,
    until: Annotated[str, Form(max_length=40)] = "",
    resume: Annotated[bool, Form()] = False,
) -> Response:
    """Pause the brand's marketing until the end of a date, or resume it now."""
    if resume:
        change = _only(lambda state: resume_patch(state.key))
        return _save(
            request, session, ctx, principal, key, change, section="resumed", field="until"
        )
    change = _only(lambda state: pause_patch(state.key, until, zone=state.zone, now=utcnow()))
    entered = {"until": until}
    return _save(
        request,
        session,
        ctx,
        principal,
        key,
        change,
        section="pause",
        field="until",
        entered=entered,
    )
