"""Changing a customer's preferences from the portal: the customer's own request."""

from __future__ import annotations

from collections.abc import Collection, Mapping
from ipaddress import ip_address
from typing import Any

from fastapi import Request
from sqlalchemy.orm import Session

from app.audit import Actor
from app.auth.principals import CustomerPrincipal
from app.consent.context import Context
from app.consent.preferences import patch_preferences
from app.models import Customer, utcnow


def source_of(principal: CustomerPrincipal) -> str:
    """`preference_link` for a session opened by a link from a message, else `portal`."""
    return "preference_link" if principal.limited else "portal"


def _ip(request: Request) -> str | None:
    host = request.client.host if request.client else None
    try:
        return None if host is None else str(ip_address(host))
    except ValueError:
        return None  # not an address (a test client, a Unix socket)


def change_preferences(
    session: Session,
    *,
    ctx: Context,
    principal: CustomerPrincipal,
    patch: Mapping[str, Any],
    request: Request,
    consent_to: Collection[tuple[str, str, str]] = (),
) -> bool:
    """Merge-patch the customer's document; True when something changed.

    Ticked consent boxes (`consent_to`: brand, topic, channel) are recorded with the portal as
    source and the request's address and browser as evidence. Raises ValidationFailed for a
    patch that does not fit the document or the catalog.
    """
    customer = session.get(Customer, principal.customer_id)
    assert customer is not None  # noqa: S101  (the session's customer is live)
    body = dict(patch)
    if consent_to:
        body["evidence"] = {
            "source": source_of(principal),
            "ip": _ip(request),
            "user_agent": request.headers.get("user-agent", "")[:500] or None,
        }
    _, changed = patch_preferences(
        session,
        ctx=ctx,
        customer=customer,
        body=body,
        if_match=None,
        actor=Actor("customer", customer.id),
        source=source_of(principal),
        now=utcnow(),
        by_customer=True,
        consent_to=set(consent_to) if consent_to else None,
    )
    return changed
