"""A customer's identity and preferences document as they were at a moment, from the audit trail."""

from __future__ import annotations

from collections.abc import Mapping, Sequence
from dataclasses import dataclass
from datetime import datetime
from typing import Any

from sqlalchemy import select
from sqlalchemy.orm import Session
from sqlmodel import col

from app.admin.audit_views import open_events
from app.audit import Sealer
from app.format import format_instant
from app.models import AuditEvent, Customer, Preference

# The events whose before and after are the whole preferences document (without `customer`).
DOCUMENT_ACTIONS = ("preferences.updated", "consent.given", "consent.withdrawn")
# The events whose after is the whole `customer` block.
IDENTITY_ACTIONS = ("customer.created", "customer.updated")


@dataclass(frozen=True)
class Source:
    """The audit event a part of the rebuilt state comes from."""

    id: int
    at: str
    action: str
    actor_type: str
    actor_id: str | None
    source: str
    side: str  # "after": the state it left; "before": the state the first later change found


@dataclass(frozen=True)
class PastState:
    """What the audit trail says about the customer at `moment`.

    `identity` is the `customer` block, with "erased" for each value sealed under a key that
    is gone; None when the trail holds no identity event. `document` is the preferences
    document without its `customer` block.
    """

    moment: datetime
    existed: bool
    erased: bool
    identity: Mapping[str, Any] | None
    document: Mapping[str, Any]
    document_source: Source | None
    identity_source: Source | None

    def full_document(self) -> dict[str, Any]:
        """The document as the API shapes it: the `customer` block first, then the settings."""
        customer = {"customer": dict(self.identity)} if self.identity is not None else {}
        return {**customer, **self.document}


def past_state(session: Session, sealer: Sealer, customer: Customer, moment: datetime) -> PastState:
    """The customer's state at `moment` (inclusive): each part is the `after` of the last event
    at or before it that carries that part; before the first change of the document, the
    `before` of that change (what the customer started with)."""
    erased = _last(session, customer.id, ("customer.erased",), moment) is not None
    created = _last(session, customer.id, ("customer.created",), moment)
    existed = created is not None or (
        _first_after(session, customer.id, ("customer.created",), moment) is None
        and customer.created_at <= moment
    )
    document: Mapping[str, Any] = {}
    document_source = identity_source = None
    identity = None
    if existed and not erased:
        document, document_source = _document(session, sealer, customer.id, moment)
        event = _last(session, customer.id, IDENTITY_ACTIONS, moment)
        if event is not None:
            view = _views(session, sealer, [event])[0]
            identity = view["after"] if isinstance(view["after"], Mapping) else None
            identity_source = _source(event, "after")
    return PastState(
        moment=moment,
        existed=existed,
        erased=erased,
        identity=identity,
        document=document,
        document_source=document_source,
        identity_source=identity_source,
    )


def _document(
    session: Session, sealer: Sealer, customer_id: str, moment: datetime
) -> tuple[Mapping[str, Any], Source | None]:
    event = _last(session, customer_id, DOCUMENT_ACTIONS, moment)
    side = "after"
    if event is None:
        event = _first_after(session, customer_id, DOCUMENT_ACTIONS, moment)
        side = "before"
    if event is None:
        # Never changed since it was created: the document is still what it was then.
        preference = session.get(Preference, customer_id)
        return ({} if preference is None else dict(preference.document)), None
    found = _views(session, sealer, [event])[0][side]
    document = found if isinstance(found, Mapping) else {}
    return {k: v for k, v in document.items() if k != "customer"}, _source(event, side)


def _views(session: Session, sealer: Sealer, events: Sequence[AuditEvent]) -> list[dict[str, Any]]:
    views, _unreadable = open_events(session, sealer, events)
    return views


def _source(event: AuditEvent, side: str) -> Source:
    return Source(
        id=int(event.id or 0),
        at=format_instant(event.at),
        action=event.action,
        actor_type=event.actor_type,
        actor_id=event.actor_id,
        source=event.source,
        side=side,
    )


def _last(
    session: Session, customer_id: str, actions: Sequence[str], moment: datetime
) -> AuditEvent | None:
    """The customer's last event (in chain order) of `actions` at or before `moment`."""
    statement = (
        select(AuditEvent)
        .where(
            col(AuditEvent.customer_id) == customer_id,
            col(AuditEvent.action).in_(actions),
            col(AuditEvent.at) <= moment,
        )
        .order_by(col(AuditEvent.id).desc())
        .limit(1)
    )
    return session.scalars(statement).first()


def _first_after(
    session: Session, customer_id: str, actions: Sequence[str], moment: datetime
) -> AuditEvent | None:
    """The customer's first event (in chain order) of `actions` after `moment`."""
    statement = (
        select(AuditEvent)
        .where(
            col(AuditEvent.customer_id) == customer_id,
            col(AuditEvent.action).in_(actions),
            col(AuditEvent.at) > moment,
        )
        .order_by(col(AuditEvent.id))
        .limit(1)
    )
    return session.scalars(statement).first()
