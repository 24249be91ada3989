"""Checking the hash chain: every event's hash, every link, and the head."""

from __future__ import annotations

from collections.abc import Mapping
from dataclasses import dataclass
from typing import Any

from sqlalchemy import select
from sqlalchemy.orm import Session
from sqlmodel import col

from app.audit.record import GENESIS_HASH, HASHED_FIELDS, HEAD_ID, event_hash
from app.models import AuditEvent, AuditHead


@dataclass(frozen=True)
class VerifyResult:
    """The outcome: `checked` events found intact, else the first broken one and why."""

    ok: bool
    checked: int
    broken_id: int | None
    problem: str | None


@dataclass
class _Walk:
    last_id: int = 0
    last_hash: str = GENESIS_HASH
    checked: int = 0

    def broken(self, event_id: int | None, problem: str) -> VerifyResult:
        return VerifyResult(ok=False, checked=self.checked, broken_id=event_id, problem=problem)


def verify_chain(session: Session, *, batch: int = 5000) -> VerifyResult:
    """Recompute the chain in id order, `batch` events at a time, and compare with the head.

    Events appended while it runs are checked too: it reads on until it meets the head.
    """
    walk = _Walk()
    while True:
        before = walk.checked
        broken = _check_events(session, walk, batch)
        if broken is not None:
            return broken
        head = session.execute(
            select(col(AuditHead.last_id), col(AuditHead.last_hash)).where(
                col(AuditHead.id) == HEAD_ID
            )
        ).one_or_none()
        if head is None:
            if walk.last_id == 0:
                return VerifyResult(ok=True, checked=0, broken_id=None, problem=None)
            return walk.broken(walk.last_id, "the chain head is missing")
        if head.last_id == walk.last_id:
            if head.last_hash != walk.last_hash:
                return walk.broken(walk.last_id, "the chain head's hash differs from this event's")
            return VerifyResult(ok=True, checked=walk.checked, broken_id=None, problem=None)
        if head.last_id < walk.last_id:
            return walk.broken(
                head.last_id + 1, f"the event lies beyond the chain head (event {head.last_id})"
            )
        if walk.checked == before:  # the head is ahead and nothing new arrived: the tail is gone
            return walk.broken(
                walk.last_id + 1,
                f"events {walk.last_id + 1} to {head.last_id} (the chain head) are missing",
            )


def _check_events(session: Session, walk: _Walk, batch: int) -> VerifyResult | None:
    columns = [col(getattr(AuditEvent, name)) for name in (*HASHED_FIELDS, "hash")]
    while True:
        rows = session.execute(
            select(*columns)
            .where(col(AuditEvent.id) > walk.last_id)
            .order_by(col(AuditEvent.id))
            .limit(batch)
        ).all()
        if not rows:
            return None
        for row in rows:
            values = dict(row._mapping)
            problem = _problem(values, walk)
            if problem is not None:
                return walk.broken(int(values["id"]), problem)
            walk.last_id, walk.last_hash = int(values["id"]), str(values["hash"])
            walk.checked += 1


def _problem(values: Mapping[str, Any], walk: _Walk) -> str | None:
    event_id = int(values["id"])
    if event_id != walk.last_id + 1:
        missing = (
            f"event {walk.last_id + 1} is"
            if event_id == walk.last_id + 2
            else f"events {walk.last_id + 1} to {event_id - 1} are"
        )
        return f"{missing} missing before this one"
    if values["prev_hash"] != walk.last_hash:
        previous = f"event {walk.last_id}" if walk.last_id else "the chain's start"
        return f"prev_hash does not match the hash of {previous}"
    if event_hash(values) != values["hash"]:
        return "the stored content does not match its hash (altered)"
    return None
