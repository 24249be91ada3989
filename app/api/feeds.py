"""The changes feed and the audit listing, with opaque cursors."""

from __future__ import annotations

from datetime import UTC, datetime
from typing import Annotated, Any

from fastapi import APIRouter, Query

from app.api.deps import AuditReader, ChangesReader, ContextDep, ReadSession
from app.audit import EventFilter, InvalidCursor, audit_listing, changes
from app.consent.customers import find_customer, reference_or_422
from app.consent.errors import ValidationFailed

router = APIRouter(prefix="/api/v1", tags=["feeds"])
Limit = Annotated[int, Query(ge=1, le=1000)]


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
        items, cursor = audit_listing(
            session,
            keys=ctx.keys,
            sealer=ctx.sealer,
            filters=filters,
            after=after,
            limit=limit,
            brands=client.brands,
        )
    except InvalidCursor as error:
        raise ValidationFailed.at(("after",), "not a cursor this service issued") from error
    return {"items": items, "next_cursor": cursor}
