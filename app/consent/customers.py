"""Customers: resolving references, creating and updating identities, erasure."""

from __future__ import annotations

import secrets
from collections.abc import Mapping
from typing import Any

from sqlalchemy import delete, func, select
from sqlalchemy.exc import IntegrityError
from sqlalchemy.orm import Session
from sqlmodel import col

from app.audit import Actor, record
from app.consent.context import Context
from app.consent.errors import Conflict, NotFound, ValidationFailed
from app.consent.identity import PHONE_CHANNELS, InvalidIdentifier, Reference, parse_reference
from app.consent.schemas import CustomerBody
from app.models import Customer, Preference, Send, Tombstone, utcnow

IDENTITY_FIELDS = (
    "external_id",
    "email",
    "phone",
    "push_tokens",
    "postal_address",
    "timezone",
    "locale",
)
# Which channels' consents an address change withdraws.
ADDRESS_CHANNELS: Mapping[str, tuple[str, ...]] = {
    "email": ("email",),
    "phone": PHONE_CHANNELS,
    "push_tokens": ("push",),
    "postal_address": ("postal",),
}


def new_customer_id() -> str:
    return "c_" + secrets.token_urlsafe(12)


def reference_or_422(ref: str, loc: tuple[str | int, ...] = ("ref",)) -> Reference:
    """Parse a reference; a malformed one is a 422 naming `loc`."""
    try:
        return parse_reference(ref)
    except InvalidIdentifier as error:
        raise ValidationFailed.at(loc, str(error)) from error


def reference_filter(ref: Reference) -> Any:
    """The WHERE clause that finds live customers by `ref`."""
    column = {
        "id": col(Customer.id),
        "ext": col(Customer.external_id),
        "email": col(Customer.email),
        "tel": col(Customer.phone),
    }[ref.kind]
    return (column == ref.value) & col(Customer.erased_at).is_(None)


def find_customer(session: Session, ref: Reference, *, lock: bool = False) -> Customer | None:
    """The live customer `ref` names; 409 when a phone number names several."""
    query = select(Customer).where(reference_filter(ref)).limit(2)
    if lock:
        query = query.with_for_update()
    found = session.scalars(query).all()
    if len(found) > 1:
        raise Conflict("this phone number belongs to more than one customer")
    return found[0] if found else None


def get_customer(session: Session, ref: str, *, lock: bool = False) -> Customer:
    """The live customer `ref` names, else 404."""
    customer = find_customer(session, reference_or_422(ref), lock=lock)
    if customer is None:
        raise NotFound("no customer matches this reference")
    return customer


def customer_view(customer: Customer) -> dict[str, Any]:
    """The document's `customer` block."""
    return {
        "id": customer.id,
        "external_id": customer.external_id,
        "email": customer.email,
        "phone": customer.phone,
        "push_tokens": list(customer.push_tokens),
        "postal_address": customer.postal_address,
        "timezone": customer.timezone,
        "locale": customer.locale,
    }


def tombstone_hashes(
    ctx: Context, values: Mapping[str, Any], *, every_key: bool = False
) -> list[str]:
    """Keyed hashes of the identifiers that mark an erased customer (to look up: `every_key`)."""
    return [
        found
        for field in ("external_id", "email", "phone")
        if values.get(field)
        for found in ctx.keys.identifier_hashes(f"tombstone-{field}", str(values[field]))[
            : None if every_key else 1
        ]
    ]


def _check_unique(session: Session, values: Mapping[str, Any], customer_id: str | None) -> None:
    for field in ("external_id", "email"):
        value = values.get(field)
        if value is None:
            continue
        column = getattr(Customer, field)
        query = select(func.count()).where(column == value, col(Customer.id) != customer_id)
        if session.scalar(query):
            raise Conflict(
                f"another customer has this {field}",
                [{"loc": [field], "msg": "already in use", "type": "conflict"}],
            )


def _flush_identity(session: Session) -> None:
    """Flush identity changes; an identifier a concurrent request took meanwhile is a 409."""
    try:
        with session.begin_nested():
            session.flush()
    except IntegrityError as error:
        raise Conflict("another customer has this external_id or email") from error


def put_customer(
    session: Session,
    *,
    ctx: Context,
    ref: str,
    body: CustomerBody,
    actor: Actor,
    source: str,
) -> tuple[Customer, bool]:
    """Create (True) or update (False) the customer `ref` names, with named fields only."""
    parsed = reference_or_422(ref)
    customer = find_customer(session, parsed, lock=True)
    changes = body.identity_changes()
    if customer is None:
        if parsed.kind not in ("ext", "email"):
            raise NotFound("no customer matches this reference")
        field = "external_id" if parsed.kind == "ext" else "email"
        if field in changes and changes[field] != parsed.value:
            raise ValidationFailed.at((field,), f"differs from the reference's {field}")
        seeded = {field: parsed.value}
        return create_customer(
            session, ctx=ctx, values={**seeded, **changes}, actor=actor, source=source
        ), True
    update_customer(session, ctx=ctx, customer=customer, values=changes, actor=actor, source=source)
    return customer, False


def create_customer(
    session: Session, *, ctx: Context, values: Mapping[str, Any], actor: Actor, source: str
) -> Customer:
    """A new customer; one whose identifiers match a tombstone starts with no marketing."""
    _check_unique(session, values, None)
    customer = Customer(id=new_customer_id(), **{k: v for k, v in values.items() if v is not None})
    hashes = tombstone_hashes(ctx, values, every_key=True)
    erased_before = bool(hashes) and bool(
        session.scalar(select(func.count()).where(col(Tombstone.hash).in_(hashes)))
    )
    session.add(customer)
    _flush_identity(session)
    session.add(
        Preference(
            customer_id=customer.id, document={"no_marketing": True} if erased_before else {}
        )
    )
    session.flush()
    record(
        session,
        sealer=ctx.sealer,
        actor=actor,
        source=source,
        action="customer.created",
        customer_id=customer.id,
        after=customer_view(customer),
    )
    return customer


def update_customer(
    session: Session,
    *,
    ctx: Context,
    customer: Customer,
    values: Mapping[str, Any],
    actor: Actor,
    source: str,
) -> None:
    """Set the named identity fields; a changed address withdraws that channel's consents."""
    before = customer_view(customer)
    changed = {
        k: v
        for k, v in values.items()
        if before[k] != (v if v is not None or k != "push_tokens" else [])
    }
    if not changed:
        return
    _check_unique(session, changed, customer.id)
    for field, value in changed.items():
        setattr(customer, field, [] if field == "push_tokens" and value is None else value)
    _flush_identity(session)
    preference = session.get(Preference, customer.id, with_for_update=True)
    assert preference is not None  # noqa: S101  (created with the customer)
    withdrawn = [c for f in changed for c in ADDRESS_CHANNELS.get(f, ())]
    document = withdraw_consents(preference.document, channels=set(withdrawn))
    preference.version += 1
    preference.updated_at = utcnow()
    session.flush()
    record(
        session,
        sealer=ctx.sealer,
        actor=actor,
        source=source,
        action="customer.updated",
        customer_id=customer.id,
        before=before,
        after=customer_view(customer),
    )
    if document != preference.document:
        record(
            session,
            sealer=ctx.sealer,
            actor=actor,
            source=source,
            action="consent.withdrawn",
            customer_id=customer.id,
            before=preference.document,
            after=document,
        )
        preference.document = document
        session.flush()


def withdraw_consents(
    document: Mapping[str, Any],
    *,
    channels: set[str] | None = None,
    brand: str | None = None,
    topic: str | None = None,
) -> dict[str, Any]:
    """A copy of `document` without the consents selected (None selects every one)."""
    result: dict[str, Any] = {**document, "brands": {}}
    for brand_key, brand_body in document.get("brands", {}).items():
        topics: dict[str, Any] = {}
        for topic_key, topic_body in brand_body.get("topics", {}).items():
            hit = (brand in (None, brand_key)) and (topic in (None, topic_key))
            consents = {
                ch: c
                for ch, c in topic_body.get("consents", {}).items()
                if not (hit and (channels is None or ch in channels))
            }
            body = {k: v for k, v in topic_body.items() if k != "consents"}
            if consents:
                body["consents"] = consents
            if body:
                topics[topic_key] = body
        brand_copy = {k: v for k, v in brand_body.items() if k != "topics"}
        if topics:
            brand_copy["topics"] = topics
        if brand_copy:
            result["brands"][brand_key] = brand_copy
    if not result["brands"]:
        del result["brands"]
    return result


def erase_customer(
    session: Session, *, ctx: Context, customer: Customer, actor: Actor, source: str
) -> None:
    """Erase: identity and addresses removed, sends deleted, audit key destroyed, tombstone kept."""
    for value in tombstone_hashes(ctx, customer_view(customer)):
        if session.get(Tombstone, value) is None:
            session.add(Tombstone(hash=value))
    session.execute(delete(Send).where(col(Send.customer_id) == customer.id))
    preference = session.get(Preference, customer.id)
    if preference is not None:
        session.delete(preference)
    for field in IDENTITY_FIELDS:
        setattr(customer, field, [] if field == "push_tokens" else None)
    customer.erased_at = utcnow()
    session.flush()
    ctx.sealer.destroy(session, customer.id)
    record(
        session,
        sealer=ctx.sealer,
        actor=actor,
        source=source,
        action="customer.erased",
        customer_id=customer.id,
    )
