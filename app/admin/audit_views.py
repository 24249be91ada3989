"""Audit events as the console shows them: personal data opened, diffs, actors, short hashes."""

from __future__ import annotations

import json
from collections.abc import Iterable, Sequence
from dataclasses import dataclass
from typing import Any

from sqlalchemy import select
from sqlalchemy.orm import Session
from sqlmodel import col

from app.admin.audit_diff import DiffLine, diff, evidence_lines, shown
from app.audit import Sealer, SealError, event_views
from app.models import Admin, ApiClient, AuditEvent

SHORT_HASH = 12
_CHUNK = 500  # SQLite bounds the number of bind variables


@dataclass(frozen=True)
class EventRow:
    """One event, ready for the page; `readable` is False when its sealed data will not open."""

    id: int
    at: str
    actor_type: str
    actor_id: str | None
    actor_name: str | None
    source: str
    action: str
    customer_id: str | None
    external_id: str | None
    changes: list[DiffLine]
    reason: str | None
    evidence: list[tuple[str, str]]
    hash: str
    prev_hash: str
    readable: bool
    before: str
    after: str

    @property
    def hash_short(self) -> str:
        return self.hash[:SHORT_HASH] + "…"

    @property
    def prev_hash_short(self) -> str:
        return self.prev_hash[:SHORT_HASH] + "…"


def open_events(
    session: Session, sealer: Sealer, events: Sequence[AuditEvent]
) -> tuple[list[dict[str, Any]], set[str]]:
    """The events in the API's shape with personal data opened ("erased" where the key is
    gone), and the ids of events whose sealed data will not open (altered): shown without it."""
    try:
        return event_views(session, sealer, events, unseal=True), set()
    except SealError:
        pass
    views, unreadable = [], set()
    for event in events:
        try:
            views.extend(event_views(session, sealer, [event], unseal=True))
        except SealError:
            views.extend(event_views(session, sealer, [event], unseal=False))
            unreadable.add(str(event.id))
    return views, unreadable


def event_rows(session: Session, sealer: Sealer, events: Sequence[AuditEvent]) -> list[EventRow]:
    """The page's rows for `events`, in their order."""
    views, unreadable = open_events(session, sealer, events)
    names = actor_names(session, views)
    rows = []
    for view in views:
        actor, customer = view["actor"], view["customer"] or {}
        rows.append(
            EventRow(
                id=int(view["id"]),
                at=view["at"],
                actor_type=actor["type"],
                actor_id=actor["id"],
                actor_name=names.get((actor["type"], actor["id"])),
                source=view["source"],
                action=view["action"],
                customer_id=customer.get("id"),
                external_id=customer.get("external_id"),
                changes=diff(view["before"], view["after"]),
                reason=None if view["reason"] is None else shown(view["reason"]),
                evidence=evidence_lines(view["evidence"]),
                hash=view["hash"],
                prev_hash=view["prev_hash"],
                readable=view["id"] not in unreadable,
                before=_pretty(view["before"]),
                after=_pretty(view["after"]),
            )
        )
    return rows


def actor_names(
    session: Session, views: Iterable[dict[str, Any]]
) -> dict[tuple[str, str | None], str]:
    """The e-mail address of each admin and the name of each API client among the actors."""
    wanted: dict[str, set[str]] = {"admin": set(), "client": set()}
    for view in views:
        actor = view["actor"]
        if actor["type"] in wanted and actor["id"]:
            wanted[actor["type"]].add(actor["id"])
    names: dict[tuple[str, str | None], str] = {}
    tables = (
        ("admin", col(Admin.id), col(Admin.email)),
        ("client", col(ApiClient.id), col(ApiClient.name)),
    )
    for kind, id_column, name_column in tables:
        ids = sorted(wanted[kind])
        for start in range(0, len(ids), _CHUNK):
            statement = select(id_column, name_column).where(
                id_column.in_(ids[start : start + _CHUNK])
            )
            names.update({(kind, row[0]): row[1] for row in session.execute(statement)})
    return names


def _pretty(value: Any) -> str:
    return json.dumps(value, ensure_ascii=False, indent=2, sort_keys=True)
