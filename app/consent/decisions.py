"""Deciding many requests at once: validate all, load facts in a few queries, decide in order."""

from __future__ import annotations

from collections.abc import Iterable, Sequence
from datetime import UTC, datetime, timedelta
from typing import Any, NamedTuple

from sqlalchemy import Connection, bindparam, select
from sqlalchemy.exc import IntegrityError
from sqlalchemy.orm import Session
from sqlmodel import col

from app.consent.context import Context
from app.consent.engine import (
    CatalogFacts,
    CustomerFacts,
    Decision,
    DecisionRequest,
    SendFacts,
    decide,
)
from app.consent.errors import Conflict, Forbidden, ValidationFailed, field_error
from app.consent.facts import (
    CustomerRecord,
    chunks,
    customer_facts,
    find_customers,
    load_customers,
    load_sends,
    load_suppressions,
    longest_cap,
)
from app.consent.identity import InvalidIdentifier, Reference, parse_reference
from app.consent.schemas import BatchBody, DecisionItem
from app.db import connection_of
from app.models import Send
from app.models.send import CANCELLED, RELEASED, RESERVED
from app.prepared import Prepared, among, remembered

MAX_AHEAD = timedelta(days=366)
RESERVE_PAST = timedelta(minutes=5)
EARLIEST = datetime(1, 1, 1, tzinfo=UTC)
# Time zones' rules before then are local mean times: no message was ever asked about so early.
EARLIEST_SEND = datetime(1970, 1, 1, tzinfo=UTC)
UNKNOWN = Decision("deny", ("unknown_customer",), None)
ALLOW = Decision("allow", (), None)


class Ask(NamedTuple):
    """One validated decision request (a tuple: one is made per item)."""

    ref: Reference
    request: DecisionRequest
    reserve: bool
    message_id: str | None
    # False when send_at defaulted to now: a repeated reservation then names no other time.
    timed: bool = True


class Answer(NamedTuple):
    """A decision with what the response needs besides it (a tuple: one made per item)."""

    decision: Decision
    customer: CustomerRecord | None
    reserved: bool
    marketing: bool


def validate_asks(
    catalog: CatalogFacts,
    batch: BatchBody,
    *,
    now: datetime,
    brands: frozenset[str] | None,
    in_batch: bool = True,
) -> list[Ask]:
    """Every item checked before anything is decided: one 422 naming each bad item's fields."""
    asks: list[Ask] = []
    errors: list[dict[str, Any]] = []
    forbidden: set[str] = set()
    window = _Window(now)
    for index, item in enumerate(batch.items):
        prefix: tuple[str | int, ...] = ("items", index) if in_batch else ()
        ask = _validate(catalog, batch, item, window, prefix, errors)
        if ask is not None:
            if brands is not None and ask.request.brand not in brands:
                forbidden.add(ask.request.brand)
            asks.append(ask)
    if errors:
        raise ValidationFailed("the request is invalid", errors)
    if forbidden:
        raise Forbidden(f"this client may not act for brand {', '.join(sorted(forbidden))}")
    return asks


# What an item names, its defaults applied: brand, topic, channel, send_at.
_Named = tuple[str | None, str | None, str | None, datetime]


class _Window:
    """The instants a batch's items are checked against, and the requests already checked:
    the items of a batch mostly share brand, topic, channel and time."""

    def __init__(self, now: datetime) -> None:
        self.now = now
        self.latest = now + MAX_AHEAD
        self.earliest_reservation = now - RESERVE_PAST
        self.requests: dict[_Named, DecisionRequest] = {}

    def request(
        self,
        catalog: CatalogFacts,
        named: _Named,
        prefix: tuple[str | int, ...],
        errors: list[dict[str, Any]],
    ) -> DecisionRequest | None:
        """The request of (brand, topic, channel, send_at), once they are found valid; None,
        with the errors added, when they are not."""
        found = self.requests.get(named)
        if found is not None:
            return found
        brand, topic, channel, send_at = named
        count = len(errors)
        for name, value in (("brand", brand), ("topic", topic), ("channel", channel)):
            if value is None:
                errors.append(field_error((*prefix, name), "Field required", "missing"))
        errors.extend(catalog_errors(catalog, prefix, brand, topic, channel))
        if send_at < EARLIEST_SEND:
            errors.append(field_error((*prefix, "send_at"), "at the earliest 1970-01-01T00:00:00Z"))
        if send_at > self.latest:
            errors.append(field_error((*prefix, "send_at"), "at most 366 days ahead"))
        if len(errors) > count or brand is None or topic is None or channel is None:
            return None
        found = self.requests[named] = DecisionRequest(brand, topic, channel, send_at)
        return found


def _validate(
    catalog: CatalogFacts,
    batch: BatchBody,
    item: DecisionItem,
    window: _Window,
    prefix: tuple[str | int, ...],
    errors: list[dict[str, Any]],
) -> Ask | None:
    count = len(errors)
    send_at = item.send_at or batch.send_at or window.now
    named = (item.brand or batch.brand, item.topic or batch.topic, item.channel or batch.channel)
    reserve = item.reserve if item.reserve is not None else bool(batch.reserve)
    ref: Reference | None = None
    try:
        ref = parse_reference(item.customer)
    except InvalidIdentifier as error:
        errors.append(field_error((*prefix, "customer"), str(error)))
    request = window.request(catalog, (*named, send_at), prefix, errors)
    if reserve:
        if item.message_id is None:
            errors.append(field_error((*prefix, "message_id"), "a reservation needs a message_id"))
        if send_at < window.earliest_reservation:
            errors.append(
                field_error(
                    (*prefix, "send_at"),
                    "a reservation lies at most 5 minutes in the past; record older sends with "
                    "POST /sends",
                )
            )
    if len(errors) > count or ref is None or request is None:
        return None
    timed = item.send_at is not None or batch.send_at is not None
    return Ask(ref, request, reserve, item.message_id, timed)


def catalog_errors(
    catalog: CatalogFacts,
    prefix: tuple[str | int, ...],
    brand: str | None,
    topic: str | None,
    channel: str | None,
) -> list[dict[str, Any]]:
    """A catalog error (SPEC section 2: the caller's bug, a 422) for the first field that has
    one: a brand or topic unknown or retired, a channel the topic does not use."""
    if brand is None:
        return []
    if brand not in catalog.brands:
        return [field_error((*prefix, "brand"), "unknown brand", "catalog")]
    facts = catalog.topics.get((brand, topic)) if topic is not None else None
    if topic is not None and facts is None:
        return [field_error((*prefix, "topic"), "unknown topic", "catalog")]
    if facts is not None and channel is not None and channel not in facts.channels:
        return [field_error((*prefix, "channel"), "the topic does not use this channel", "catalog")]
    return []


def resolve(connection: Connection, refs: Sequence[Reference]) -> dict[Reference, str]:
    """The live customer id of each reference that names exactly one customer."""
    return {ref: record.id for ref, record in find_customers(connection, refs).items()}


def decide_asks(
    db: Session | Connection,
    *,
    ctx: Context,
    catalog: CatalogFacts,
    client_id: str,
    asks: Sequence[Ask],
) -> list[Answer]:
    """Decide in order, against the catalog the asks were validated with; each reservation is
    stored and seen by the asks after it.

    `db`: a Session when an ask reserves (its sends are stored through it); a Connection is
    enough, and cheaper, to decide only.
    """
    reserving = any(a.reserve for a in asks)
    session = db if isinstance(db, Session) else None
    if reserving and session is None:
        raise TypeError("reservations are stored through a Session")
    connection = connection_of(db)
    refs = tuple(a.ref for a in asks)
    channels = frozenset(ask.request.channel for ask in asks)  # only these can be suppressed
    found, facts = remembered(
        connection,
        ("customers", refs, channels),
        lambda: _customers(connection, ctx, refs, channels, lock=reserving),
    )
    asked = [found.get(ask.ref) for ask in asks]
    sends = load_sends(connection, _cap_horizons(catalog, asks, asked))
    reserved_ids = (a.message_id for a in asks if a.reserve and a.message_id)
    stored = stored_sends(session, client_id, reserved_ids) if session and reserving else {}
    answers: list[Answer] = []
    for ask, record in zip(asks, asked, strict=True):
        topic = catalog.topics[(ask.request.brand, ask.request.topic)]
        marketing = topic.kind == "marketing"
        earlier = stored.get(ask.message_id) if ask.reserve and ask.message_id else None
        if record is None:
            if earlier is not None:  # the message_id names a send to a live customer
                raise Conflict(f"message_id {earlier.message_id!r} was used for another send")
            answers.append(Answer(UNKNOWN, None, False, marketing))
            continue
        if earlier is not None:
            _check_same(earlier, ask, record.id)
            if earlier.status not in (RELEASED, CANCELLED):
                answers.append(Answer(ALLOW, record, True, marketing))
                continue
        own = sends.get(record.id, [])
        decision = decide(catalog, facts[record.id], own, ask.request)
        reserved = ask.reserve and decision.outcome == "allow"
        if reserved:
            assert ask.message_id is not None  # noqa: S101  (validated)
            assert session is not None  # noqa: S101  (checked above)
            if earlier is not None:
                earlier.status = RESERVED
                earlier.send_at = ask.request.send_at
            else:
                stored[ask.message_id] = _reserve(session, client_id, record.id, ask, marketing)
            if marketing:
                own.append(SendFacts(ask.request.brand, ask.request.send_at))
        answers.append(Answer(decision, record, reserved, marketing))
    if session is not None and reserving:
        try:
            session.flush()  # the new sends in one go: inserts batch
        except IntegrityError as error:
            # Another transaction stored one of these message_ids for another customer (the
            # customer lock serialises only the same customer's reservations).
            raise Conflict("a message_id was used for another send") from error
    return answers


def _customers(
    connection: Connection,
    ctx: Context,
    refs: Sequence[Reference],
    channels: frozenset[str],
    *,
    lock: bool,
) -> tuple[dict[Reference, CustomerRecord], dict[str, CustomerFacts]]:
    """The live customer each reference names, and each one's engine facts (with the
    suppressions of `channels`). `lock`: for reservations, read under the customers' locks."""
    found = find_customers(connection, refs, ctx.customers)
    if lock and connection.dialect.name != "sqlite":
        # Read again under the customers' row locks, so the cap check holds. (SQLite's write
        # transaction took the whole database's lock at BEGIN, before the first read.)
        ids = [r.id for r in found.values()]
        fresh = load_customers(connection, ids, ctx.customers, lock=True)
        found = {ref: fresh[r.id] for ref, r in found.items() if r.id in fresh}
    records = {record.id: record for record in found.values()}
    suppressions = load_suppressions(
        connection, ctx.keys, records.values(), ctx.customers, channels
    )
    facts = {
        customer_id: customer_facts(record, suppressions.get(customer_id, {}), ctx.customers)
        for customer_id, record in records.items()
    }
    return found, facts


def _cap_horizons(
    catalog: CatalogFacts, asks: Sequence[Ask], asked: Sequence[CustomerRecord | None]
) -> dict[str, datetime]:
    """Per customer, the earliest send that can matter to a cap of theirs (`asked`: each
    ask's customer)."""
    horizons: dict[str, datetime] = {}
    for ask, record in zip(asks, asked, strict=True):
        request = ask.request
        if record is None or catalog.topics[(request.brand, request.topic)].kind != "marketing":
            continue  # caps count and limit marketing only
        period = longest_cap(record, catalog.brands[request.brand].cap)
        if period is None:
            continue
        send_at = request.send_at
        since = send_at - period if send_at - EARLIEST > period else EARLIEST
        if record.id not in horizons or since < horizons[record.id]:
            horizons[record.id] = since
    return horizons


KNOWN_IDS = Prepared(
    select(col(Send.message_id)).where(
        col(Send.client_id) == bindparam("client_id"), among(col(Send.message_id), "values")
    )
)


def stored_sends(session: Session, client_id: str, message_ids: Iterable[str]) -> dict[str, Send]:
    """The client's sends already stored under these message ids (repeats: rare)."""
    params = {"client_id": client_id, "values": sorted(set(message_ids))}
    known = [row[0] for row in KNOWN_IDS.rows(session.connection(), params)]
    found: dict[str, Send] = {}
    for part in chunks(sorted(known)):
        for send in session.scalars(
            select(Send).where(col(Send.client_id) == client_id, col(Send.message_id).in_(part))
        ):
            found[send.message_id] = send
    return found


def _check_same(send: Send, ask: Ask, customer_id: str) -> None:
    """A message_id names one send: the same customer, brand, topic, channel and send_at.

    A repeat without send_at (now, by default) is a retry of the same request, not another time.
    """
    request = ask.request
    same = (send.customer_id, send.brand, send.topic, send.channel) == (
        customer_id,
        request.brand,
        request.topic,
        request.channel,
    ) and (send.send_at == request.send_at or not ask.timed)
    if not same:
        raise Conflict(f"message_id {send.message_id!r} was used for another send")


def _reserve(session: Session, client_id: str, customer_id: str, ask: Ask, marketing: bool) -> Send:
    assert ask.message_id is not None  # noqa: S101  (validated)
    send = Send(
        client_id=client_id,
        message_id=ask.message_id,
        customer_id=customer_id,
        brand=ask.request.brand,
        topic=ask.request.topic,
        channel=ask.request.channel,
        marketing=marketing,
        send_at=ask.request.send_at,
        status=RESERVED,
    )
    session.add(send)
    return send
