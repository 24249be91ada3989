"""Suppressions per (channel, address): add, find existing, lift with `resubscribe`."""

from __future__ import annotations

from collections.abc import Sequence
from datetime import datetime
from typing import Any

from sqlalchemy import select
from sqlalchemy.orm import Session
from sqlmodel import col

from app.audit import Actor, record
from app.consent.context import Context
from app.consent.errors import ValidationFailed, field_error
from app.consent.identity import PHONE_CHANNELS, InvalidIdentifier, channel_address
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
    addresses: list[str] = []
    errors: list[dict[str, Any]] = []
    for index, item in enumerate(items):
        try:
            addresses.append(channel_address(item.channel, item.address))
        except InvalidIdentifier as error:
            errors.append(field_error(("items", index, "address"), str(error)))
    if errors:
        raise ValidationFailed("the request is invalid", errors)
    statuses = []
    touched: set[str] = set()
    for item, address in zip(items, addresses, strict=True):
        address_hash = ctx.keys.identifier_hash(item.channel, address)
        customers = customers_at(session, item.channel, address)
        if item.reason == "resubscribe":
            status = _lift(session, ctx, item, address_hash, customers, actor, source, now)
        else:
            status = _add(session, ctx, item, address_hash, customers, actor, source, now)
            if status == "added":
                touched.update(customers)
        statuses.append(status)
    for customer_id in sorted(touched):
        cancel_denied_sends(
            session, ctx=ctx, customer_id=customer_id, now=now, actor=actor, source=source
        )
    return statuses


def customers_at(session: Session, channel: str, address: str) -> list[str]:
    """The live customers whose address for `channel` is `address`."""
    if channel == "email":
        where = col(Customer.email) == address
    elif channel in PHONE_CHANNELS:
        where = col(Customer.phone) == address
    else:  # push tokens and postal addresses are not indexed; nobody is found by them
        return []
    return list(
        session.scalars(select(col(Customer.id)).where(where, col(Customer.erased_at).is_(None)))
    )


def _active(session: Session, channel: str, address_hash: str) -> list[SuppressionRow]:
    return list(
        session.scalars(
            select(SuppressionRow).where(
                col(SuppressionRow.channel) == channel,
                col(SuppressionRow.address_hash) == address_hash,
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
    address_hash: str,
    customers: list[str],
    actor: Actor,
    source: str,
    now: datetime,
) -> str:
    for row in _active(session, item.channel, address_hash):
        if row.reason == item.reason and row.brand == item.brand:
            return "existing"
    row = SuppressionRow(
        channel=item.channel,
        address_hash=address_hash,
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
    address_hash: str,
    customers: list[str],
    actor: Actor,
    source: str,
    now: datetime,
) -> str:
    lifted = [
        row
        for row in _active(session, item.channel, address_hash)
        if row.reason in LIFTED_BY_RESUBSCRIBE and (item.brand is None or row.brand == item.brand)
    ]
    for row in lifted:
        before = _view(row)
        row.lifted_at = now
        session.flush()
        _audit(session, ctx, "suppression.lifted", customers, actor, source, now, before=before)
    return "lifted" if lifted else "none"
