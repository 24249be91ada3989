"""Everything held about one customer, as one JSON document."""

from __future__ import annotations

from typing import Any

from sqlalchemy import select
from sqlalchemy.orm import Session
from sqlmodel import col

from app.audit import EventFilter, audit_listing
from app.audit.feed import for_brands
from app.consent.context import Context
from app.consent.customers import customer_view
from app.consent.preferences import render
from app.format import format_instant
from app.models import Customer, Preference, Send

PAGE = 1000


def export_customer(
    session: Session, *, ctx: Context, customer: Customer, brands: frozenset[str] | None = None
) -> dict[str, Any]:
    """Identity, preferences, sends and the history of changes, personal data readable.

    A client limited to `brands` sees only those brands, as in documents and feeds.
    """
    preference = session.get(Preference, customer.id)
    query = select(Send).where(col(Send.customer_id) == customer.id)
    if brands is not None:
        query = query.where(col(Send.brand).in_(sorted(brands)))
    sends = session.scalars(query.order_by(col(Send.send_at), col(Send.id)))
    history: list[dict[str, Any]] = []
    cursor = None
    while True:
        page, cursor = audit_listing(
            session,
            keys=ctx.keys,
            sealer=ctx.sealer,
            filters=EventFilter(customer_id=customer.id),
            after=cursor,
            limit=PAGE,
        )
        history.extend(page)
        if len(page) < PAGE:
            break
    if brands is not None:
        history = for_brands(history, brands)
    return {
        "customer": customer_view(customer),
        "created_at": format_instant(customer.created_at),
        "preferences": None
        if preference is None
        else {k: v for k, v in render(customer, preference, brands).items() if k != "customer"},
        "sends": [
            {
                "message_id": s.message_id,
                "brand": s.brand,
                "topic": s.topic,
                "channel": s.channel,
                "send_at": format_instant(s.send_at),
                "status": s.status,
            }
            for s in sends
        ],
        "history": history,
    }
