"""The customer's history: changes and sends merged newest first, one page at a time."""

from __future__ import annotations

from dataclasses import dataclass
from datetime import datetime, tzinfo
from zoneinfo import ZoneInfo

from sqlalchemy import Integer, literal_column, select, union_all
from sqlalchemy.orm import Session
from sqlmodel import col

from app.audit import event_views
from app.consent.context import Context
from app.format import format_instant
from app.models import AuditEvent, Customer, Send
from app.plain.events import describe_event, describe_send, through
from app.plain.names import load_names
from app.plain.words import moment_phrase

PAGE_SIZE = 25
EVENT, SEND = 0, 1


@dataclass(frozen=True)
class HistoryEntry:
    """One change or one send: when (ISO and in words), what, and through whom or what."""

    at: str
    when: str
    lines: tuple[str, ...]
    through: str | None


@dataclass(frozen=True)
class HistoryPage:
    """A page of entries and whether newer or older ones exist."""

    entries: tuple[HistoryEntry, ...]
    number: int
    newer: bool
    older: bool
    zone: str


def customer_zone(session: Session, ctx: Context, customer: Customer) -> tzinfo:
    """The customer's time zone, else the catalog's default."""
    if customer.timezone:
        return ZoneInfo(customer.timezone)
    return ctx.catalog.get(session).default_timezone


def _page_keys(session: Session, customer_id: str, number: int) -> list[tuple[int, int]]:
    """(kind, id) of the page's entries and one more: events by time, sends by `send_at`."""
    merged = union_all(
        select(
            col(AuditEvent.at).label("at"),
            literal_column(str(EVENT), Integer).label("kind"),
            col(AuditEvent.id).label("id"),
        ).where(col(AuditEvent.customer_id) == customer_id),
        select(
            col(Send.send_at).label("at"),
            literal_column(str(SEND), Integer).label("kind"),
            col(Send.id).label("id"),
        ).where(col(Send.customer_id) == customer_id),
    ).subquery()
    statement = (
        select(merged.c.kind, merged.c.id)
        .order_by(merged.c.at.desc(), merged.c.kind.desc(), merged.c.id.desc())
        .offset((number - 1) * PAGE_SIZE)
        .limit(PAGE_SIZE + 1)
    )
    return [(int(kind), int(id_)) for kind, id_ in session.execute(statement)]


def _entry(at: datetime, zone: tzinfo, lines: tuple[str, ...], by: str | None) -> HistoryEntry:
    return HistoryEntry(
        at=format_instant(at), when=moment_phrase(at, zone), lines=lines, through=by
    )


def history_page(session: Session, *, ctx: Context, customer: Customer, number: int) -> HistoryPage:
    """Page `number` (from 1) of the customer's history, personal data unsealed."""
    keys = _page_keys(session, customer.id, number)
    shown = keys[:PAGE_SIZE]
    event_ids = [id_ for kind, id_ in shown if kind == EVENT]
    send_ids = [id_ for kind, id_ in shown if kind == SEND]
    events = (
        list(session.scalars(select(AuditEvent).where(col(AuditEvent.id).in_(event_ids))))
        if event_ids
        else []
    )
    sends = (
        {s.id: s for s in session.scalars(select(Send).where(col(Send.id).in_(send_ids)))}
        if send_ids
        else {}
    )
    views = {int(v["id"]): v for v in event_views(session, ctx.sealer, events, unseal=True)}
    at_of = {int(e.id or 0): e.at for e in events}
    names = load_names(session)
    zone = customer_zone(session, ctx, customer)
    entries = []
    for kind, id_ in shown:
        if kind == EVENT:
            view, at = views[id_], at_of[id_]
            lines = tuple(describe_event(view, names=names, zone=zone))
            entries.append(_entry(at, zone, lines, through(view)))
        else:
            send = sends[id_]
            line = describe_send(
                brand=send.brand,
                topic=send.topic,
                channel=send.channel,
                status=send.status,
                names=names,
            )
            entries.append(_entry(send.send_at, zone, (line,), None))
    return HistoryPage(
        entries=tuple(entries),
        number=number,
        newer=number > 1,
        older=len(keys) > PAGE_SIZE,
        zone=str(zone),
    )
