"""Everything held about one customer, as one JSON document."""

from __future__ import annotations

from typing import Any

from sqlalchemy import select
from sqlalchemy.orm import Session
from sqlmodel import col

from app.audit import EventFilter, audit_listing
from app.consent.context import Context
from app.consent.customers import customer_view
from app.format import format_instant
from app.models import Customer, Preference, Send

PAGE = 1000


def export_customer(session: Session, *, ctx: Context, customer: Customer) -> dict[str, Any]:
    """Identity, preferences, sends and the history of changes, personal data readable."""
    preference = session.get(Preference, customer.id)
    sends = session.scalars(
        select(Send).where(col(Send.customer_id) == customer.id).order_by(col(Send.send_at))
    )
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
    return {
        "customer": customer_view(customer),
        "created_at": format_instant(customer.created_at),
        "preferences": None
        if preference is None
        else {**preference.document, "version": preference.version},
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
