"""The changes feed and the audit listing, with opaque cursors."""

from __future__ import annotations

from datetime import UTC, datetime
from typing import Annotated, Any

from fastapi import APIRouter, Query
from sqlalchemy.orm import Session

from app.api.deps import AuditReader, ChangesReader, ContextDep, ReadSession
from app.audit import EventFilter, InvalidCursor, audit_listing, changes
from app.consent.context import Context
from app.consent.customers import find_customer, reference_or_422
from app.consent.errors import ValidationFailed

router = APIRouter(prefix="/api/v1", tags=["feeds"])
Limit = Annotated[int, Query(ge=1, le=1000)]
MAX_SCAN_ROUNDS = 10  # pages read to fill one page of a brand-limited listing


@router.get("/changes")
def get_changes(
    session: ReadSession,
    ctx: ContextDep,
    client: ChangesReader,
    after: str | None = None,
    limit: Limit = 100,
) -> dict[str, Any]:
    """Every event about customers, in commit order, without personal data."""
    try:
        items, cursor = changes(
            session, keys=ctx.keys, after=after, limit=limit, brands=client.brands
        )
    except InvalidCursor as error:
        raise ValidationFailed.at(("after",), "not a cursor this service issued") from error
    return {"items": items, "next_cursor": cursor}


@router.get("/audit")
def get_audit(
    session: ReadSession,
    ctx: ContextDep,
    client: AuditReader,
    customer: str | None = None,
    actor: str | None = None,
    action: str | None = None,
    source: str | None = None,
    since: datetime | None = None,
    until: datetime | None = None,
    after: str | None = None,
    limit: Limit = 100,
) -> dict[str, Any]:
    """Audit events matching the filters, oldest first, personal data decrypted.

    A client limited to brands sees only those brands in documents, and no event about a
    single other brand.
    """
    customer_id = None
    if customer is not None:
        found = find_customer(session, reference_or_422(customer, ("customer",)))
        customer_id = found.id if found else customer
    for name, value in (("since", since), ("until", until)):
        if value is None:
            continue
        if value.tzinfo is None:
            raise ValidationFailed.at((name,), "an instant needs its UTC offset")
        try:
            value.astimezone(UTC)
        except OverflowError as error:
            raise ValidationFailed.at((name,), "an instant out of range") from error
    filters = EventFilter(
        customer_id=customer_id,
        actor=actor,
        action=action,
        source=source,
        since=since,
        until=until,
    )
    try:
        return _listing(session, ctx, filters, after, limit, client.brands)
    except InvalidCursor as error:
        raise ValidationFailed.at(("after",), "not a cursor this service issued") from error


def _listing(
    session: Session,
    ctx: Context,
    filters: EventFilter,
    after: str | None,
    limit: int,
    brands: frozenset[str] | None,
) -> dict[str, Any]:
    # A brand-limited client's events are filtered after reading, so read on until the page is
    # full or the trail ends: an empty page must mean "nothing more", never "all withheld".
    items: list[dict[str, Any]] = []
    cursor = after
    for _ in range(MAX_SCAN_ROUNDS):
        wanted = limit - len(items)
        events, next_cursor = audit_listing(
            session, keys=ctx.keys, sealer=ctx.sealer, filters=filters, after=cursor, limit=wanted
        )
        cursor = next_cursor
        for event in events:
            view = event if brands is None else _for_brands(event, brands)
            if view is not None:
                items.append(view)
        if len(events) < wanted or len(items) == limit:
            break
    assert cursor is not None  # noqa: S101  (audit_listing always answers one)
    return {"items": items, "next_cursor": cursor}


def _event_brand(event: dict[str, Any]) -> str | None:
    """The one brand an event is about, if any: a send's, a brand suppression's, a catalog brand."""
    for name in ("after", "before"):
        document = event[name]
        if not isinstance(document, dict):
            continue
        if isinstance(document.get("brand"), str):
            return str(document["brand"])
        if event["action"].startswith("catalog.brand_") and isinstance(document.get("key"), str):
            return str(document["key"])
    return None


def _for_brands(event: dict[str, Any], brands: frozenset[str]) -> dict[str, Any] | None:
    """The event as a client limited to `brands` sees it, or None when it is about another."""
    brand = _event_brand(event)
    if brand is not None and brand not in brands:
        return None
    view = dict(event)
    for name in ("before", "after"):
        document = view[name]
        if isinstance(document, dict) and isinstance(document.get("brands"), dict):
            view[name] = {
                **document,
                "brands": {k: v for k, v in document["brands"].items() if k in brands},
            }
    return view
