"""Sends after the decision: release, record past sends, cancel what a change now denies."""

from __future__ import annotations

from collections.abc import Sequence
from datetime import datetime

from sqlalchemy import select
from sqlalchemy.orm import Session
from sqlmodel import col

from app.audit import Actor, record
from app.consent.context import Context
from app.consent.decisions import resolve
from app.consent.engine import DecisionRequest, decide
from app.consent.errors import Conflict, Forbidden, NotFound, ValidationFailed, field_error
from app.consent.facts import customer_facts, load_customers, load_suppressions
from app.consent.identity import InvalidIdentifier, parse_reference
from app.consent.schemas import SendItem
from app.format import format_instant
from app.models import Send
from app.models.send import CANCELLED, RELEASED, RESERVED, SENT


def release_send(session: Session, *, client_id: str, message_id: str) -> None:
    """Release a reservation; releasing twice is fine, another client's is 404."""
    send = session.scalars(
        select(Send).where(col(Send.client_id) == client_id, col(Send.message_id) == message_id)
    ).first()
    if send is None:
        raise NotFound("this client made no reservation with this message_id")
    if send.status == RESERVED:
        send.status = RELEASED
        session.flush()


def record_sends(
    session: Session,
    *,
    ctx: Context,
    client_id: str,
    items: Sequence[SendItem],
    brands: frozenset[str] | None,
) -> bool:
    """Store sends that already happened, whatever the rules say; True when any was new."""
    catalog = ctx.catalog.get(session)
    errors = []
    refs = []
    for index, item in enumerate(items):
        try:
            refs.append(parse_reference(item.customer))
        except InvalidIdentifier as error:
            errors.append(field_error(("items", index, "customer"), str(error)))
            continue
        topic = catalog.topics.get((item.brand, item.topic))
        if topic is None:
            errors.append(
                field_error(("items", index, "topic"), "unknown brand or topic", "catalog")
            )
        elif item.channel not in topic.channels:
            errors.append(
                field_error(
                    ("items", index, "channel"), "the topic does not use this channel", "catalog"
                )
            )
        if brands is not None and item.brand not in brands:
            raise Forbidden(f"this client may not act for brand {item.brand!r}")
    if errors:
        raise ValidationFailed("the request is invalid", errors)
    ids = resolve(session, refs)
    new = False
    for index, (item, ref) in enumerate(zip(items, refs, strict=True)):
        customer_id = ids.get(ref)
        if customer_id is None:
            raise ValidationFailed.at(
                ("items", index, "customer"), "no customer matches this reference"
            )
        known = session.scalars(
            select(Send).where(
                col(Send.client_id) == client_id, col(Send.message_id) == item.message_id
            )
        ).first()
        if known is not None:
            same = (known.customer_id, known.brand, known.topic, known.channel) == (
                customer_id,
                item.brand,
                item.topic,
                item.channel,
            )
            if not same:
                raise Conflict(f"message_id {item.message_id!r} was used for another send")
            continue
        session.add(
            Send(
                client_id=client_id,
                message_id=item.message_id,
                customer_id=customer_id,
                brand=item.brand,
                topic=item.topic,
                channel=item.channel,
                marketing=catalog.topics[(item.brand, item.topic)].kind == "marketing",
                send_at=item.sent_at,
                status=SENT,
            )
        )
        session.flush()
        new = True
    return new


def cancel_denied_sends(
    session: Session, *, ctx: Context, customer_id: str, now: datetime, actor: Actor, source: str
) -> list[Send]:
    """Cancel the customer's reserved future sends that a decision would now deny."""
    pending = session.scalars(
        select(Send).where(
            col(Send.customer_id) == customer_id,
            col(Send.status) == RESERVED,
            col(Send.send_at) > now,
        )
    ).all()
    if not pending:
        return []
    catalog = ctx.catalog.get(session)
    records = load_customers(session, [customer_id])
    found = records.get(customer_id)
    customer = (
        None
        if found is None
        else customer_facts(
            found, load_suppressions(session, ctx.keys, [found]).get(customer_id, {})
        )
    )
    cancelled = []
    for send in pending:
        if (send.brand, send.topic) not in catalog.topics:
            continue
        request = DecisionRequest(send.brand, send.topic, send.channel, send.send_at)
        if decide(catalog, customer, (), request).outcome != "deny":
            continue
        send.status = CANCELLED
        cancelled.append(send)
        record(
            session,
            sealer=ctx.sealer,
            actor=actor,
            source=source,
            action="send.cancelled",
            customer_id=customer_id,
            after={
                "message_id": send.message_id,
                "brand": send.brand,
                "topic": send.topic,
                "channel": send.channel,
                "send_at": format_instant(send.send_at),
            },
            at=now,
        )
    session.flush()
    return cancelled
