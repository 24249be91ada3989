"""Appending events to the hash chain, with personal data sealed under the customer's key."""

from __future__ import annotations

import hashlib
import json
from collections.abc import Mapping, Sequence
from dataclasses import dataclass
from datetime import UTC, date, datetime
from typing import Any

from sqlalchemy import insert, select, update
from sqlalchemy.exc import IntegrityError
from sqlalchemy.orm import Session
from sqlmodel import col

from app.audit.actors import ACTOR_TYPES, Actor
from app.audit.seal import Sealer
from app.format import format_instant
from app.models import AuditEvent, AuditHead
from app.models.base import utcnow

GENESIS_HASH = "0" * 64
HEAD_ID = 1
ERASED = "erased"

SOURCES = frozenset({"portal", "preference_link", "one_click", "api", "admin", "cli", "system"})
ACTIONS = frozenset(
    {
        "preferences.updated",
        "consent.given",
        "consent.withdrawn",
        "customer.created",
        "customer.updated",
        "customer.erased",
        "suppression.added",
        "suppression.lifted",
        "send.cancelled",
    }
)
ACTION_FAMILIES = ("catalog.", "client.", "admin.")

# What the hash covers, in the stored form: JSON columns as their canonical texts.
HASHED_FIELDS = (
    "id",
    "at",
    "actor_type",
    "actor_id",
    "source",
    "action",
    "customer_id",
    "before",
    "after",
    "reason",
    "evidence",
    "sealed",
    "prev_hash",
)
KEPT_EVIDENCE = frozenset({"source", "captured_at", "notice_version"})


def canonical_json(value: Any) -> str:
    """The one JSON text of `value`: sorted keys, no spaces, UTF-8 kept."""
    return json.dumps(
        value, sort_keys=True, separators=(",", ":"), ensure_ascii=False, default=_json_default
    )


def hash_instant(value: datetime) -> str:
    """An instant as the hash sees it: ISO 8601 UTC, always microseconds, `Z`."""
    if value.tzinfo is None:
        raise ValueError("naive datetime")
    return value.astimezone(UTC).strftime("%Y-%m-%dT%H:%M:%S.%fZ")


def event_hash(values: Mapping[str, Any]) -> str:
    """The SHA-256 of an event's stored fields (`HASHED_FIELDS`), as record and verify see them."""
    payload = {name: values[name] for name in HASHED_FIELDS}
    payload["at"] = hash_instant(payload["at"])
    return hashlib.sha256(canonical_json(payload).encode()).hexdigest()


@dataclass(frozen=True)
class Change:
    """One event to append: what `record` takes, for `record_many`."""

    action: str
    customer_id: str | None = None
    before: Any = None
    after: Any = None
    reason: str | None = None
    evidence: dict[str, Any] | None = None


def record(
    session: Session,
    *,
    sealer: Sealer,
    actor: Actor,
    source: str,
    action: str,
    customer_id: str | None = None,
    before: Any = None,
    after: Any = None,
    reason: str | None = None,
    evidence: dict[str, Any] | None = None,
    at: datetime | None = None,
) -> AuditEvent:
    """Append one event to the chain; adds and flushes, never commits.

    When the event is about a customer, its personal data is stored only sealed with the
    customer's key. Appends are serialised by a lock on the chain's head row, so ids follow
    commit order.
    """
    change = Change(action, customer_id, before, after, reason, evidence)
    return record_many(session, sealer=sealer, actor=actor, source=source, changes=[change], at=at)[
        0
    ]


def record_many(
    session: Session,
    *,
    sealer: Sealer,
    actor: Actor,
    source: str,
    changes: Sequence[Change],
    at: datetime | None = None,
) -> list[AuditEvent]:
    """Append several events in order, with one lock of the head and one insert: for bulk work."""
    if at is not None and at.tzinfo is None:
        raise ValueError("naive datetime")
    when = utcnow() if at is None else at.astimezone(UTC)
    prepared = []
    personal: dict[int, tuple[str, dict[str, Any]]] = {}
    for index, change in enumerate(changes):
        _check(actor, change.action, source)
        parts: dict[str, Any] = {
            "before": _plain(change.before),
            "after": _plain(change.after),
            "reason": change.reason,
            "evidence": _plain(change.evidence),
        }
        if change.customer_id is not None:
            removed = split_personal(change.action, parts)
            if removed:
                personal[index] = (change.customer_id, removed)
        prepared.append(parts)
    sealed = iter(sealer.seal_many(session, list(personal.values())))
    last_id, last_hash = _lock_head(session)
    events = []
    for index, (change, parts) in enumerate(zip(changes, prepared, strict=True)):
        event = AuditEvent(
            id=last_id + 1,
            at=when,
            actor_type=actor.type,
            actor_id=actor.id,
            source=source,
            action=change.action,
            customer_id=change.customer_id,
            before=_text(parts["before"]),
            after=_text(parts["after"]),
            reason=parts["reason"],
            evidence=_text(parts["evidence"]),
            sealed=None if index not in personal else pack_sealed(personal[index][1], next(sealed)),
            prev_hash=last_hash,
            hash="",
        )
        event.hash = event_hash({name: getattr(event, name) for name in HASHED_FIELDS})
        last_id, last_hash = int(event.id or 0), event.hash
        events.append(event)
    session.add_all(events)
    session.execute(
        update(AuditHead)
        .where(col(AuditHead.id) == HEAD_ID)
        .values(last_id=last_id, last_hash=last_hash)
    )
    session.flush()
    return events


def split_personal(action: str, parts: dict[str, Any]) -> dict[str, Any]:
    """Remove personal data from `parts` in place; answer it keyed by path ("after.customer").

    Personal: a document's `customer` member; for `customer.*` actions every member of the
    objects but `id`; the reason; evidence other than its source, capture time, notice version.
    """
    removed: dict[str, Any] = {}
    for name in ("before", "after"):
        value = parts[name]
        if value is None:
            continue
        if action.startswith("customer."):
            if isinstance(value, dict):
                removed.update({f"{name}.{k}": v for k, v in value.items() if k != "id"})
                parts[name] = {k: v for k, v in value.items() if k == "id"}
            else:
                removed[name] = value
                parts[name] = None
        elif isinstance(value, dict) and "customer" in value:
            removed[f"{name}.customer"] = value["customer"]
            parts[name] = {k: v for k, v in value.items() if k != "customer"}
    if parts["reason"] is not None:
        removed["reason"] = parts["reason"]
        parts["reason"] = None
    evidence = parts["evidence"]
    if isinstance(evidence, dict):
        removed.update({f"evidence.{k}": v for k, v in evidence.items() if k not in KEPT_EVIDENCE})
        parts["evidence"] = {k: v for k, v in evidence.items() if k in KEPT_EVIDENCE}
    return removed


def restore_personal(parts: dict[str, Any], removed: Mapping[str, Any]) -> None:
    """Put personal data back into `parts`, in place: the inverse of `split_personal`."""
    for path, value in removed.items():
        name, _, member = path.partition(".")
        if not member:
            parts[name] = value
            continue
        container = parts.get(name)
        if not isinstance(container, dict):
            container = parts[name] = {}
        container[member] = value


def pack_sealed(removed: Mapping[str, Any], data: str) -> str:
    """The `sealed` column: the sealed data and, in the clear, the paths it was taken from.

    The paths (never values) say where to show "erased" once the customer's key is gone.
    """
    return canonical_json({"data": data, "fields": sorted(removed)})


def unpack_sealed(sealed: str) -> tuple[list[str], str]:
    """The paths and the sealed data of a `sealed` column."""
    packed = json.loads(sealed)
    return list(packed["fields"]), str(packed["data"])


def _check(actor: Actor, action: str, source: str) -> None:
    if actor.type not in ACTOR_TYPES:
        raise ValueError(f"unknown actor type {actor.type!r}")
    if source not in SOURCES:
        raise ValueError(f"unknown source {source!r}")
    family = action.partition(".")[0] + "."
    if action not in ACTIONS and not (family in ACTION_FAMILIES and len(action) > len(family)):
        raise ValueError(f"unknown action {action!r}")


def _lock_head(session: Session) -> tuple[int, str]:
    """Lock the chain's head row (creating it on first use) and answer its last id and hash."""
    statement = (
        select(col(AuditHead.last_id), col(AuditHead.last_hash))
        .where(col(AuditHead.id) == HEAD_ID)
        .with_for_update()
    )
    row = session.execute(statement).one_or_none()
    if row is None:
        try:
            with session.begin_nested():
                session.execute(
                    insert(AuditHead).values(id=HEAD_ID, last_id=0, last_hash=GENESIS_HASH)
                )
        except IntegrityError:
            pass  # a concurrent first append created it; the select below waits for its lock
        row = session.execute(statement).one()
    return int(row.last_id), str(row.last_hash)


def _plain(value: Any) -> Any:
    # Round-trip through JSON so stored texts, sealed data and hashes see the same values.
    return None if value is None else json.loads(canonical_json(value))


def _text(value: Any) -> str | None:
    return None if value is None else canonical_json(value)


def _json_default(value: object) -> str:
    if isinstance(value, datetime):
        if value.tzinfo is None:
            raise TypeError("naive datetime")
        return format_instant(value)
    if isinstance(value, date):
        return value.isoformat()
    raise TypeError(f"{type(value).__name__} is not JSON serialisable")
