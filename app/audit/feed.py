"""The changes feed and the audit listing: events shaped as the SPEC says, paged by cursor."""

from __future__ import annotations

import json
from collections.abc import Iterable, Sequence
from dataclasses import dataclass
from datetime import datetime
from typing import Any

from sqlalchemy import ColumnElement, select
from sqlalchemy.orm import Session
from sqlmodel import col

from app.audit.cursor import InvalidCursor, decode_cursor, encode_cursor
from app.audit.record import ERASED, restore_personal, unpack_sealed
from app.audit.seal import Sealer
from app.format import format_instant
from app.keys import Keys
from app.models import AuditEvent, Customer

__all__ = [
    "EventFilter",
    "InvalidCursor",
    "audit_listing",
    "changes",
    "decode_cursor",
    "encode_cursor",
    "event_views",
]

_CHUNK = 500  # SQLite bounds the number of bind variables
_MAX_SCAN_ROUNDS = 10  # pages read to fill one page of a brand-limited feed


@dataclass(frozen=True)
class EventFilter:
    """Audit listing filters; `actor` is "type" or "type:id", `action` exact or "prefix.*".

    `since` is inclusive, `until` exclusive.
    """

    customer_id: str | None = None
    actor: str | None = None
    action: str | None = None
    source: str | None = None
    since: datetime | None = None
    until: datetime | None = None


def changes(
    session: Session, *, keys: Keys, after: str | None, limit: int, brands: frozenset[str] | None
) -> tuple[list[dict[str, Any]], str]:
    """Events about customers after the cursor, oldest first, without personal data.

    A client limited to `brands` sees only those brands in documents, and no event about a
    single other brand (a cancelled send, a brand's suppression). The next cursor moves past
    events read but withheld, so a limited client's feed never stalls.
    """
    _check_limit(limit)
    last_id = start = decode_cursor(keys, after) if after is not None else 0
    items: list[dict[str, Any]] = []
    sealer = Sealer(keys)
    for _ in range(_MAX_SCAN_ROUNDS):
        events = _page(
            session, [col(AuditEvent.customer_id).is_not(None)], last_id, limit - len(items)
        )
        if not events:
            break
        last_id = int(events[-1].id or 0)
        views = event_views(session, sealer, events, unseal=False)
        items.extend(views if brands is None else for_brands(views, brands))
        if len(items) == limit:
            break
    return items, _next_cursor(keys, after, start, last_id)


def audit_listing(
    session: Session,
    *,
    keys: Keys,
    sealer: Sealer,
    filters: EventFilter,
    after: str | None,
    limit: int,
    brands: frozenset[str] | None = None,
) -> tuple[list[dict[str, Any]], str]:
    """Every event matching `filters` after the cursor, oldest first, personal data unsealed.

    Where a customer's key is gone (erased), the string "erased" stands for their data. A
    client limited to `brands` sees them as in `changes`.
    """
    _check_limit(limit)
    last_id = start = decode_cursor(keys, after) if after is not None else 0
    conditions = _conditions(filters)
    items: list[dict[str, Any]] = []
    for _ in range(_MAX_SCAN_ROUNDS):
        events = _page(session, conditions, last_id, limit - len(items))
        if not events:
            break
        last_id = int(events[-1].id or 0)
        views = event_views(session, sealer, events, unseal=True)
        items.extend(views if brands is None else for_brands(views, brands))
        if len(items) == limit or brands is None:
            break
    return items, _next_cursor(keys, after, start, last_id)


def event_views(
    session: Session, sealer: Sealer, events: Sequence[AuditEvent], *, unseal: bool
) -> list[dict[str, Any]]:
    """Events in the SPEC's shape, loading customers and keys with a few queries."""
    customer_ids = {e.customer_id for e in events if e.customer_id is not None}
    external_ids = _external_ids(session, customer_ids)
    sealed_for = {e.customer_id for e in events if e.customer_id is not None and e.sealed}
    keys = sealer.load_keys(session, sealed_for) if unseal else {}
    views = []
    for event in events:
        parts: dict[str, Any] = {
            "before": _parse(event.before),
            "after": _parse(event.after),
            "reason": event.reason,
            "evidence": _parse(event.evidence),
        }
        customer = None
        if event.customer_id is not None:
            customer = {"id": event.customer_id, "external_id": external_ids.get(event.customer_id)}
            if unseal and event.sealed is not None:
                fields, data = unpack_sealed(event.sealed)
                key = keys.get(event.customer_id)
                removed = (
                    dict.fromkeys(fields, ERASED)
                    if key is None
                    else sealer.open(event.customer_id, key, data)
                )
                restore_personal(parts, removed)
        views.append(
            {
                "id": str(event.id),
                "at": format_instant(event.at),
                "actor": {"type": event.actor_type, "id": event.actor_id},
                "source": event.source,
                "action": event.action,
                "customer": customer,
                **parts,
                "hash": event.hash,
                "prev_hash": event.prev_hash,
            }
        )
    return views


def _check_limit(limit: int) -> None:
    if limit < 1:
        raise ValueError("limit must be at least 1")


def _page(
    session: Session, conditions: list[ColumnElement[bool]], after_id: int, limit: int
) -> list[AuditEvent]:
    statement = (
        select(AuditEvent)
        .where(col(AuditEvent.id) > after_id, *conditions)
        .order_by(col(AuditEvent.id))
        .limit(limit)
    )
    return list(session.scalars(statement))


def _conditions(filters: EventFilter) -> list[ColumnElement[bool]]:
    conditions: list[ColumnElement[bool]] = []
    if filters.customer_id is not None:
        conditions.append(col(AuditEvent.customer_id) == filters.customer_id)
    if filters.actor is not None:
        actor_type, colon, actor_id = filters.actor.partition(":")
        conditions.append(col(AuditEvent.actor_type) == actor_type)
        if colon:
            conditions.append(col(AuditEvent.actor_id) == actor_id)
    if filters.action is not None:
        if filters.action.endswith(".*"):
            prefix = filters.action[:-1]
            conditions.append(col(AuditEvent.action).startswith(prefix, autoescape=True))
        else:
            conditions.append(col(AuditEvent.action) == filters.action)
    if filters.source is not None:
        conditions.append(col(AuditEvent.source) == filters.source)
    if filters.since is not None:
        conditions.append(col(AuditEvent.at) >= filters.since)
    if filters.until is not None:
        conditions.append(col(AuditEvent.at) < filters.until)
    return conditions


def _next_cursor(keys: Keys, after: str | None, start: int, last_id: int) -> str:
    if last_id == start:
        return after if after is not None else encode_cursor(keys, start)
    return encode_cursor(keys, last_id)


def _external_ids(session: Session, customer_ids: Iterable[str]) -> dict[str, str | None]:
    ids = sorted(customer_ids)
    found: dict[str, str | None] = {}
    for begin in range(0, len(ids), _CHUNK):
        statement = select(col(Customer.id), col(Customer.external_id)).where(
            col(Customer.id).in_(ids[begin : begin + _CHUNK])
        )
        found.update({row.id: row.external_id for row in session.execute(statement)})
    return found


def _parse(text: str | None) -> Any:
    return None if text is None else json.loads(text)


def _event_brand(view: dict[str, Any]) -> str | None:
    """The one brand an event is about, if any: a send's, a brand suppression's, a catalog
    brand's."""
    for name in ("after", "before"):
        document = view[name]
        if not isinstance(document, dict):
            continue
        if isinstance(document.get("brand"), str):
            return str(document["brand"])
        if view["action"].startswith("catalog.brand_") and isinstance(document.get("key"), str):
            return str(document["key"])
    return None


def for_brands(views: Iterable[dict[str, Any]], brands: frozenset[str]) -> list[dict[str, Any]]:
    """The events a client limited to `brands` may see, showing only those brands' settings."""
    shown = []
    for view in views:
        brand = _event_brand(view)
        if brand is not None and brand not in brands:
            continue
        for name in ("before", "after"):
            document = view[name]
            if isinstance(document, dict) and isinstance(document.get("brands"), dict):
                allowed = {k: v for k, v in document["brands"].items() if k in brands}
                view[name] = {**document, "brands": allowed}
        shown.append(view)
    return shown
