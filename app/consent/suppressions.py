"""Suppressions per (channel, address): add, find existing, lift with `resubscribe`."""

from __future__ import annotations

import json
from collections.abc import Sequence
from datetime import datetime
from typing import Any

from sqlalchemy import String, cast, select
from sqlalchemy.orm import Session
from sqlmodel import col

from app.audit import Actor, record
from app.consent.context import Context
from app.consent.errors import ValidationFailed, field_error
from app.consent.identity import (
    PHONE_CHANNELS,
    InvalidIdentifier,
    channel_address,
    postal_text,
)
from app.consent.reservations import cancel_denied_sends
from app.consent.schemas import SuppressionItem
from app.format import format_instant
from app.models import Customer
from app.models import Suppression as SuppressionRow

LIFTED_BY_RESUBSCRIBE = ("stop", "complaint")


def apply_suppressions(
    session: Session,
    *,
    ctx: Context,
    items: Sequence[SuppressionItem],
    actor: Actor,
    source: str,
    now: datetime,
) -> list[str]:
    """Each item's status: `added`, `existing`, `lifted` or `none`."""
    addresses = _addresses(session, ctx, items)
    statuses = []
    touched: set[str] = set()
    postal: dict[str, list[str]] | None = None
    for item, address in zip(items, addresses, strict=True):
        hashes = ctx.keys.identifier_hashes(item.channel, address)
        if item.channel == "postal":
            postal = _postal_index(session) if postal is None else postal
            customers = postal.get(address, [])
        else:
            customers = customers_at(session, item.channel, address)
        if item.reason == "resubscribe":
            status = _lift(session, ctx, item, hashes, customers, actor, source, now)
        else:
            status = _add(session, ctx, item, hashes, customers, actor, source, now)
            if status == "added":
                touched.update(customers)
        statuses.append(status)
    for customer_id in sorted(touched):
        cancel_denied_sends(
            session, ctx=ctx, customer_id=customer_id, now=now, actor=actor, source=source
        )
    return statuses


def _addresses(session: Session, ctx: Context, items: Sequence[SuppressionItem]) -> list[str]:
    """Each item's normalised address; 422 naming every bad address or brand."""
    addresses: list[str] = []
    errors: list[dict[str, Any]] = []
    live_brands = ctx.catalog.get(session).brands
    for index, item in enumerate(items):
        try:
            address = channel_address(item.channel, item.address)
        except InvalidIdentifier as error:
            errors.append(field_error(("items", index, "address"), str(error)))
            address = ""
        else:
            if not address:
                errors.append(field_error(("items", index, "address"), "an empty address"))
        addresses.append(address)
        # Lifting may name a retired brand: its suppressions stay until lifted.
        if item.reason != "resubscribe" and item.brand not in (None, *live_brands):
            errors.append(field_error(("items", index, "brand"), "no such brand"))
    if errors:
        raise ValidationFailed("the request is invalid", errors)
    return addresses


def customers_at(session: Session, channel: str, address: str) -> list[str]:
    """The live customers whose address for `channel` is (or, for push, includes) `address`.

    Postal addresses are not indexed: see `_postal_index`.
    """
    live = col(Customer.erased_at).is_(None)
    if channel == "email":
        where = col(Customer.email) == address
    elif channel in PHONE_CHANNELS:
        where = col(Customer.phone) == address
    elif channel == "push":
        # The JSON text holds the token as a JSON string: a cheap filter, checked exactly below.
        text = cast(col(Customer.push_tokens), String)
        rows = session.execute(
            select(col(Customer.id), col(Customer.push_tokens)).where(
                text.contains(json.dumps(address), autoescape=True), live
            )
        )
        return [customer_id for customer_id, tokens in rows if address in (tokens or ())]
    else:
        return []
    return list(session.scalars(select(col(Customer.id)).where(where, live)))


def _postal_index(session: Session) -> dict[str, list[str]]:
    """Live customers by normalised postal address; read once per request that needs it."""
    index: dict[str, list[str]] = {}
    rows = session.execute(
        select(col(Customer.id), col(Customer.postal_address))
        .where(col(Customer.postal_address).is_not(None), col(Customer.erased_at).is_(None))
        .execution_options(yield_per=1000)
    )
    for customer_id, postal in rows:
        if postal:
            index.setdefault(postal_text(postal), []).append(customer_id)
    return index


def _active(session: Session, channel: str, hashes: Sequence[str]) -> list[SuppressionRow]:
    """The address's suppressions in force, made under the current secret or a retired one."""
    return list(
        session.scalars(
            select(SuppressionRow).where(
                col(SuppressionRow.channel) == channel,
                col(SuppressionRow.address_hash).in_(hashes),
                col(SuppressionRow.lifted_at).is_(None),
            )
        )
    )


def _view(row: SuppressionRow) -> dict[str, Any]:
    return {
        "channel": row.channel,
        "address_hash": row.address_hash,
        "brand": row.brand,
        "reason": row.reason,
        "occurred_at": format_instant(row.occurred_at),
    }


def _audit(
    session: Session,
    ctx: Context,
    action: str,
    customers: list[str],
    actor: Actor,
    source: str,
    now: datetime,
    **change: Any,
) -> None:
    targets: list[str | None] = [*customers] or [None]
    for customer_id in targets:
        record(
            session,
            sealer=ctx.sealer,
            actor=actor,
            source=source,
            action=action,
            customer_id=customer_id,
            at=now,
            **change,
        )


def _add(
    session: Session,
    ctx: Context,
    item: SuppressionItem,
    hashes: Sequence[str],
    customers: list[str],
    actor: Actor,
    source: str,
    now: datetime,
) -> str:
    for row in _active(session, item.channel, hashes):
        # Already suppressed: the same reason for the same brand, or for every brand.
        if row.reason == item.reason and row.brand in (None, item.brand):
            return "existing"
    row = SuppressionRow(
        channel=item.channel,
        address_hash=hashes[0],
        brand=item.brand,
        reason=item.reason,
        occurred_at=item.occurred_at or now,
        created_at=now,
    )
    session.add(row)
    session.flush()
    _audit(session, ctx, "suppression.added", customers, actor, source, now, after=_view(row))
    return "added"


def _lift(
    session: Session,
    ctx: Context,
    item: SuppressionItem,
    hashes: Sequence[str],
    customers: list[str],
    actor: Actor,
    source: str,
    now: datetime,
) -> str:
    lifted = [
        row
        for row in _active(session, item.channel, hashes)
        if row.reason in LIFTED_BY_RESUBSCRIBE and (item.brand is None or row.brand == item.brand)
    ]
    for row in lifted:
        before = _view(row)
        row.lifted_at = now
        session.flush()
        _audit(session, ctx, "suppression.lifted", customers, actor, source, now, before=before)
    return "lifted" if lifted else "none"
