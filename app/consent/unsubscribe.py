"""One-click unsubscribe and the wider stops offered beside it (SPEC section 5)."""

from __future__ import annotations

from datetime import datetime
from typing import Any, Literal

from sqlalchemy import select
from sqlalchemy.orm import Session
from sqlmodel import col

from app.audit import Actor
from app.consent.context import Context
from app.consent.customers import withdraw_consents
from app.consent.document import merge_patch
from app.consent.preferences import save_document
from app.models import Brand, Customer, Preference, Topic

Scope = Literal["topic", "brand", "channel", "all"]
SCOPES: tuple[Scope, ...] = ("topic", "brand", "channel", "all")


def stop_patch(scope: Scope, brand: str, topic: str, channel: str) -> dict[str, Any]:
    """The narrowing merge patch for each choice of the unsubscribe page."""
    if scope == "topic":
        return {"brands": {brand: {"topics": {topic: {"choice": "off", "channels": None}}}}}
    if scope == "brand":
        return {"brands": {brand: {"depth": "essentials"}}}
    if scope == "channel":
        return {"channels": {channel: {"enabled": False}}}
    return {"no_marketing": True}


def link_names(session: Session, *, brand: str, topic: str) -> tuple[str, str]:
    """The brand's and the topic's names for the page; their keys when the catalog lacks them."""
    brand_row = session.get(Brand, brand)
    topic_row = session.get(Topic, (brand, topic))
    return (
        brand if brand_row is None else brand_row.name,
        topic if topic_row is None else topic_row.name,
    )


def unsubscribe(
    session: Session,
    *,
    ctx: Context,
    customer_id: str,
    brand: str,
    topic: str,
    channel: str,
    scope: Scope,
    now: datetime,
) -> bool:
    """Apply one stop for the customer a link was made for; False when they are erased.

    No catalog check: a retired topic is still switched off, and stays off if it returns.
    """
    preference = session.scalars(
        select(Preference)
        .join(Customer, col(Customer.id) == col(Preference.customer_id))
        .where(col(Preference.customer_id) == customer_id, col(Customer.erased_at).is_(None))
        .with_for_update(of=col(Customer.id))  # the customer first, as every change does
    ).first()
    if preference is None:
        return False
    after = merge_patch(preference.document, stop_patch(scope, brand, topic, channel))
    if scope == "topic":
        after = withdraw_consents(after, brand=brand, topic=topic)
    elif scope == "all":
        after = withdraw_consents(after)
    save_document(
        session,
        ctx=ctx,
        preference=preference,
        after=after,
        actor=Actor("customer", customer_id),
        source="one_click",
        now=now,
    )
    return True
