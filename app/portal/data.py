"""Your data: what is held about the customer, its export as JSON, and erasure of the account."""

from __future__ import annotations

import json
from dataclasses import dataclass

from fastapi import APIRouter, Request
from fastapi.responses import HTMLResponse, Response
from sqlalchemy import func, select
from sqlalchemy.orm import Session
from sqlmodel import col

from app.audit import Actor
from app.auth.principals import CustomerPrincipal
from app.auth.sessions import end_sessions_of
from app.consent.context import Context
from app.consent.customers import erase_customer, find_customer
from app.consent.export import export_customer
from app.consent.identity import Reference
from app.models import AuditEvent, Customer, Send
from app.plain.events import language_name
from app.plain.words import date_phrase
from app.portal.deps import SESSION_COOKIE, CsrfChecked, SignedInCustomer
from app.portal.history_entries import customer_zone
from app.portal.pages import chrome, page
from app.web.deps import ContextDep, ReadSession, WriteSession
from app.web.i18n import gettext as _
from app.web.i18n import ngettext

router = APIRouter(include_in_schema=False)


@dataclass(frozen=True)
class Held:
    """One thing held about the customer, as shown: its label and its value."""

    label: str
    value: str


def held_items(session: Session, ctx: Context, customer: Customer) -> list[Held]:
    """The customer's identity and addresses, and how much history is kept, in words."""
    missing = _("Not given")
    postal = customer.postal_address
    tokens = len(customer.push_tokens)
    zone = customer_zone(session, ctx, customer)
    events = session.scalar(select(func.count()).where(col(AuditEvent.customer_id) == customer.id))
    sends = session.scalar(select(func.count()).where(col(Send.customer_id) == customer.id))
    return [
        Held(_("E-mail address"), customer.email or missing),
        Held(_("Phone number"), customer.phone or missing),
        Held(
            _("Devices for push notifications"),
            ngettext("%(count)d device", "%(count)d devices", tokens) % {"count": tokens}
            if tokens
            else missing,
        ),
        Held(
            _("Postal address"),
            ", ".join(str(v) for v in postal.values() if v) if postal else missing,
        ),
        Held(
            _("Time zone"),
            customer.timezone or _("Not set: times are shown in %(zone)s") % {"zone": str(zone)},
        ),
        Held(_("Language"), language_name(customer.locale) if customer.locale else missing),
        Held(
            _("Your customer reference in the company's systems"), customer.external_id or missing
        ),
        Held(_("Customer since"), date_phrase(customer.created_at, zone)),
        Held(
            _("Changes to your settings"),
            ngettext("%(count)d change recorded", "%(count)d changes recorded", events or 0)
            % {"count": events or 0},
        ),
        Held(
            _("Messages reserved or sent"),
            ngettext("%(count)d message", "%(count)d messages", sends or 0) % {"count": sends or 0},
        ),
    ]


def _customer(session: Session, principal: CustomerPrincipal, *, lock: bool = False) -> Customer:
    customer = find_customer(session, Reference("id", principal.customer_id), lock=lock)
    assert customer is not None  # noqa: S101  (the session's customer is live)
    return customer


@router.get("/data", response_class=HTMLResponse)
def get_data(
    request: Request, session: ReadSession, ctx: ContextDep, principal: SignedInCustomer
) -> Response:
    """What is held, the download, and the way to erase the account."""
    items = held_items(session, ctx, _customer(session, principal))
    return page(request, "portal/data.html", {"held": items}, chrome=chrome(session, principal))


@router.get("/data/export")
def get_data_export(session: ReadSession, ctx: ContextDep, principal: SignedInCustomer) -> Response:
    """Everything held about the customer as a JSON download."""
    customer = _customer(session, principal)
    body = json.dumps(
        export_customer(session, ctx=ctx, customer=customer), ensure_ascii=False, indent=2
    )
    return Response(
        body.encode(),
        media_type="application/json",
        headers={
            "Content-Disposition": f'attachment; filename="your-data-{customer.id}.json"',
            "Cache-Control": "no-store",
        },
    )


@router.post("/data/erase", response_class=HTMLResponse, dependencies=[CsrfChecked])
def post_data_erase(
    request: Request, session: WriteSession, principal: SignedInCustomer
) -> Response:
    """The confirmation step: what erasure does, and the button that does it."""
    return page(
        request, "portal/erase_confirm.html", {"erased": False}, chrome=chrome(session, principal)
    )


@router.post("/data/erase/confirm", response_class=HTMLResponse, dependencies=[CsrfChecked])
def post_data_erase_confirm(
    request: Request, session: WriteSession, ctx: ContextDep, principal: SignedInCustomer
) -> Response:
    """Erase the account, end every session of the customer, and say so."""
    customer = _customer(session, principal, lock=True)
    erase_customer(
        session, ctx=ctx, customer=customer, actor=Actor("customer", customer.id), source="portal"
    )
    end_sessions_of(session, kind="customer", subject_id=customer.id)
    response = page(request, "portal/erase_confirm.html", {"erased": True}, cookieless=True)
    response.delete_cookie(SESSION_COOKIE, path="/")
    return response
