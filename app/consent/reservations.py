"""Sends after the decision: release, record past sends, cancel what a change now denies."""

from __future__ import annotations

from collections.abc import Sequence
from datetime import datetime

from sqlalchemy import select
from sqlalchemy.exc import IntegrityError
from sqlalchemy.orm import Session
from sqlmodel import col

from app.audit import Actor, record
from app.consent.context import Context
from app.consent.decisions import catalog_errors, resolve, stored_sends
from app.consent.engine import CatalogFacts, DecisionRequest, decide
from app.consent.errors import Conflict, Forbidden, NotFound, ValidationFailed, field_error
from app.consent.facts import customer_facts, load_customers, load_suppressions
from app.consent.identity import InvalidIdentifier, Reference, parse_reference
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
    """Store sends that already happened, whatever the rules say; True when any was new.

    A known message_id is the same send again: nothing new, unless it was a reservation, which
    the record confirms (sent at `sent_at`, counting again if it had been released). The same
    message_id for another customer, brand, topic or channel, or another time of a recorded
    send, is a Conflict.
    """
    catalog = ctx.catalog.get(session)
    refs = _validate_sends(catalog, items, brands)
    ids = resolve(session.connection(), refs)
    # Locked as reservations are; a customer erased meanwhile is gone from the locked read.
    live = load_customers(session.connection(), list(ids.values()), lock=True)
    missing = [
        field_error(("items", index, "customer"), "no customer matches this reference")
        for index, ref in enumerate(refs)
        if ids.get(ref) not in live
    ]
    if missing:
        raise ValidationFailed("the request is invalid", missing)
    known = stored_sends(session, client_id, [item.message_id for item in items])
    new = False
    for item, ref in zip(items, refs, strict=True):
        customer_id = ids[ref]
        send = known.get(item.message_id)
        if send is not None:
            _confirm(send, item, customer_id)
            continue
        known[item.message_id] = send = Send(
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
        session.add(send)
        new = True
    try:
        session.flush()
    except IntegrityError as error:
        raise Conflict("a message_id was used for another send at the same time") from error
    return new


def _validate_sends(
    catalog: CatalogFacts, items: Sequence[SendItem], brands: frozenset[str] | None
) -> list[Reference]:
    """Each item's parsed reference; one 422 naming every bad field, then 403 for a brand."""
    errors = []
    refs = []
    for index, item in enumerate(items):
        try:
            refs.append(parse_reference(item.customer))
        except InvalidIdentifier as error:
            errors.append(field_error(("items", index, "customer"), str(error)))
        errors.extend(
            catalog_errors(catalog, ("items", index), item.brand, item.topic, item.channel)
        )
    if errors:
        raise ValidationFailed("the request is invalid", errors)
    forbidden = sorted({item.brand for item in items} - brands) if brands is not None else []
    if forbidden:
        raise Forbidden(f"this client may not act for brand {', '.join(forbidden)}")
    return refs


def _confirm(send: Send, item: SendItem, customer_id: str) -> None:
    """A known message_id recorded again: the same send, or a Conflict."""
    same = (send.customer_id, send.brand, send.topic, send.channel) == (
        customer_id,
        item.brand,
        item.topic,
        item.channel,
    )
    if not same or (send.status == SENT and send.send_at != item.sent_at):
        raise Conflict(f"message_id {item.message_id!r} was used for another send")
    if send.status != SENT:  # a reservation that went out
        send.status = SENT
        send.send_at = item.sent_at


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
    records = load_customers(session.connection(), [customer_id])
    found = records.get(customer_id)
    customer = (
        None
        if found is None
        else customer_facts(
            found, load_suppressions(session.connection(), ctx.keys, [found]).get(customer_id, {})
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
