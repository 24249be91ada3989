"""The channels page: each channel on or off, addresses, quiet times, time zone, pause all."""

from __future__ import annotations

from collections.abc import Mapping
from datetime import timedelta
from typing import Annotated, Any

from fastapi import APIRouter, Form, Request
from fastapi.responses import HTMLResponse, RedirectResponse, Response
from sqlalchemy.orm import Session

from app.audit import Actor
from app.auth.principals import CustomerPrincipal
from app.auth.sessions import token_hash
from app.consent.context import Context
from app.consent.customers import update_customer
from app.consent.errors import Conflict, ValidationFailed
from app.consent.schemas import SuppressionItem
from app.consent.suppressions import apply_suppressions
from app.models import WebSession, utcnow
from app.portal.changes import change_preferences, source_of
from app.portal.channel_forms import (
    AddressField,
    FormInvalid,
    address_values,
    paused_until,
    quiet_entry,
    quiet_field,
    quiet_patch,
    timezone_value,
)
from app.portal.channel_state import ChannelsState, addresses_of, read_state
from app.portal.channel_view import channels_page
from app.portal.deps import CsrfChecked, CurrentCustomer, SignedInCustomer
from app.portal.errors import PageError
from app.portal.pages import chrome, page
from app.web.deps import ContextDep, ReadSession, WriteSession
from app.web.i18n import gettext as _

router = APIRouter(include_in_schema=False)

# Changing an address needs a sign-in this recent: a session left open is not enough.
FRESH_SIGN_IN = timedelta(minutes=15)


def _render(
    request: Request,
    session: Session,
    ctx: Context,
    principal: CustomerPrincipal,
    *,
    error: FormInvalid | None = None,
    entered: Mapping[str, Any] | None = None,
) -> Response:
    """The page; with `error`, shown again (422) with the error beside its field."""
    view = channels_page(
        read_state(session, ctx=ctx, customer_id=principal.customer_id),
        now=utcnow(),
        limited=principal.limited,
        saved=None if error else request.query_params.get("saved"),
        errors=None if error is None else {error.field: error.message},
        entered=entered,
    )
    return page(
        request,
        "portal/channels.html",
        {"view": view},
        chrome=chrome(session, principal),
        status=200 if error is None else 422,
    )


def _saved(what: str) -> Response:
    return RedirectResponse(f"/channels?saved={what}", status_code=303)


def _state(
    session: Session, ctx: Context, principal: CustomerPrincipal, channel: str | None = None
) -> ChannelsState:
    """The page's state; 404 for a `channel` no live topic uses."""
    state = read_state(session, ctx=ctx, customer_id=principal.customer_id)
    if channel is not None and channel not in state.channels:
        raise PageError(404, _("No message here uses this channel."))
    return state


def _patch(
    session: Session,
    ctx: Context,
    principal: CustomerPrincipal,
    request: Request,
    patch: Mapping[str, Any],
    field: str,
) -> None:
    """Apply `patch`; a part the document refuses is an error beside `field`."""
    try:
        change_preferences(session, ctx=ctx, principal=principal, patch=patch, request=request)
    except ValidationFailed as error:
        raise FormInvalid(field, _("This value cannot be saved. Please check it.")) from error


@router.get("/channels", response_class=HTMLResponse)
def get_channels(
    request: Request, session: ReadSession, ctx: ContextDep, principal: CurrentCustomer
) -> Response:
    """Every channel the brands use, with its state, address and quiet times."""
    return _render(request, session, ctx, principal)


@router.post("/channels/{channel}/enabled", dependencies=[CsrfChecked])
def post_enabled(
    channel: str,
    request: Request,
    session: WriteSession,
    ctx: ContextDep,
    principal: CurrentCustomer,
    enabled: Annotated[bool, Form()],
) -> Response:
    """Switch a channel off, or on again: that also lifts a STOP or complaint of its address."""
    state = _state(session, ctx, principal, channel)
    value = None if enabled else False  # on is the default: the member goes
    patch = {"channels": {channel: {"enabled": value}}}
    change_preferences(session, ctx=ctx, principal=principal, patch=patch, request=request)
    if enabled:
        items = [
            SuppressionItem.model_validate(
                {"channel": channel, "address": address, "reason": "resubscribe"}
            )
            for address in addresses_of(state.customer, channel)
        ]
        if items:
            apply_suppressions(
                session,
                ctx=ctx,
                items=items,
                actor=Actor("customer", principal.customer_id),
                source=source_of(principal),
                now=utcnow(),
            )
    return _saved("channel_on" if enabled else "channel_off")


@router.post("/channels/address", dependencies=[CsrfChecked])
def post_address(
    request: Request,
    session: WriteSession,
    ctx: ContextDep,
    principal: SignedInCustomer,
    field: Annotated[AddressField, Form()],
    address: Annotated[str, Form(max_length=320)] = "",
) -> Response:
    """A new e-mail address or phone number: needs a fresh sign-in; withdraws its consents."""
    row = session.get(WebSession, token_hash(principal.session_token))
    if row is None or utcnow() - row.created_at > FRESH_SIGN_IN:
        context = {
            "title": _("Please sign in again"),
            "message": _(
                "To change an address, you need to have signed in within the last 15 minutes. "
                "Nothing was changed."
            ),
            "next_url": "/login",
            "next_label": _("Get a sign-in link"),
        }
        return page(
            request, "errors/page.html", context, chrome=chrome(session, principal), status=403
        )
    entered: dict[str, Any] = {field: address}
    state = _state(session, ctx, principal)
    try:
        values = address_values(field, address)
        update_customer(
            session,
            ctx=ctx,
            customer=state.customer,
            values=values,
            actor=Actor("customer", principal.customer_id),
            source="portal",
        )
    except FormInvalid as error:
        return _render(request, session, ctx, principal, error=error, entered=entered)
    except Conflict:
        session.expire(state.customer)  # nothing of the refused change is kept
        refused = FormInvalid(f"address-{field}", _("This address cannot be used."))
        return _render(request, session, ctx, principal, error=refused, entered=entered)
    return _saved("address")


@router.post("/channels/timezone", dependencies=[CsrfChecked])
def post_timezone(
    request: Request,
    session: WriteSession,
    ctx: ContextDep,
    principal: CurrentCustomer,
    timezone: Annotated[str, Form(max_length=64)] = "",
) -> Response:
    """The customer's time zone, in which their quiet times and pauses count."""
    state = _state(session, ctx, principal)
    try:
        zone = timezone_value(timezone)
    except FormInvalid as error:
        return _render(
            request, session, ctx, principal, error=error, entered={"timezone": timezone}
        )
    update_customer(
        session,
        ctx=ctx,
        customer=state.customer,
        values={"timezone": zone},
        actor=Actor("customer", principal.customer_id),
        source=source_of(principal),
    )
    return _saved("timezone")


@router.post("/channels/pause", dependencies=[CsrfChecked])
def post_pause(
    request: Request,
    session: WriteSession,
    ctx: ContextDep,
    principal: CurrentCustomer,
    until: Annotated[str, Form(max_length=40)] = "",
    resume: Annotated[bool, Form()] = False,
) -> Response:
    """Pause all marketing up to and including a day, or resume it now."""
    if resume:
        patch: dict[str, Any] = {"paused_until": None}
        change_preferences(session, ctx=ctx, principal=principal, patch=patch, request=request)
        return _saved("resumed")
    state = _state(session, ctx, principal)
    try:
        end = paused_until(until, zone=state.zone, now=utcnow())
        _patch(session, ctx, principal, request, {"paused_until": end}, "pause-until")
    except FormInvalid as error:
        return _render(request, session, ctx, principal, error=error, entered={"until": until})
    return _saved("pause")


@router.post("/channels/{channel}/quiet", dependencies=[CsrfChecked])
def post_quiet(
    channel: str,
    request: Request,
    session: WriteSession,
    ctx: ContextDep,
    principal: CurrentCustomer,
    mode: Annotated[str, Form(max_length=10)] = "default",
    start: Annotated[str, Form(max_length=20)] = "",
    end: Annotated[str, Form(max_length=20)] = "",
    days: Annotated[list[str] | None, Form()] = None,
) -> Response:
    """The channel's quiet hours and days: one window or none, whole days, or the default."""
    _state(session, ctx, principal, channel)
    sent_days = days or []
    entry = quiet_entry(mode, start, end, sent_days)
    try:
        body = quiet_patch(channel, entry, sent_days)
        patch = {"channels": {channel: body}}
        _patch(session, ctx, principal, request, patch, quiet_field(channel, "start"))
    except FormInvalid as error:
        return _render(
            request, session, ctx, principal, error=error, entered={"quiet": (channel, entry)}
        )
    return _saved("quiet")
