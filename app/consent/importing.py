"""Bulk import of customers from CSV: each row as `PUT /customers`, bad rows reported by line."""

from __future__ import annotations

import csv
import json
from collections.abc import Callable, Iterable, Iterator, Sequence
from dataclasses import dataclass, field
from datetime import datetime
from pathlib import Path
from typing import Any

from pydantic import ValidationError
from sqlalchemy import Engine, insert, select, update
from sqlalchemy.exc import IntegrityError
from sqlalchemy.orm import Session
from sqlmodel import col

from app.audit import Actor, Change, record_many
from app.consent.context import Context
from app.consent.customers import (
    ADDRESS_CHANNELS,
    IDENTITY_FIELDS,
    new_customer_id,
    tombstone_hashes,
    withdraw_consents,
)
from app.consent.facts import chunks
from app.consent.reservations import cancel_denied_sends
from app.consent.schemas import CustomerBody
from app.db import write_session
from app.models import Customer, Preference, Send, Tombstone, utcnow
from app.models.send import RESERVED

COLUMNS = IDENTITY_FIELDS
UNIQUE = ("external_id", "email")
BATCH = 1000  # rows per transaction: on SQLite, writers wait for it (about a second)
Record = tuple[int, dict[str, str] | str]  # a line number and its cells, or why it is unusable


@dataclass
class ImportReport:
    """How an import went: counts and each bad row by line number (the header is line 1)."""

    created: int = 0
    updated: int = 0
    unchanged: int = 0
    errors: list[tuple[int, str]] = field(default_factory=list)


@dataclass(frozen=True)
class _Row:
    """A valid row: its line, the identifier it is found by, the fields it names."""

    line: int
    key: tuple[str, str]
    values: dict[str, Any]

    def claims(self) -> set[tuple[str, str]]:
        """The unique identifiers the row finds or sets."""
        return {self.key} | {(n, self.values[n]) for n in UNIQUE if self.values.get(n)}


def _body(row: dict[str, str]) -> CustomerBody:
    values: dict[str, Any] = {}
    for name in COLUMNS:
        cell = (row.get(name) or "").strip()
        if not cell:
            continue
        if name == "push_tokens":
            values[name] = cell.split()
        elif name == "postal_address":
            values[name] = json.loads(cell) if cell.startswith("{") else {"text": cell}
        else:
            values[name] = cell
    return CustomerBody.model_validate(values)


def _parse(line: int, cells: dict[str, str]) -> _Row:
    body = _body(cells)
    if body.external_id:
        key = ("external_id", body.external_id)
    elif body.email:
        key = ("email", body.email)
    else:
        raise ValueError("a row needs an external_id or an email")
    return _Row(line=line, key=key, values=body.identity_changes())


def _records(path: Path) -> Iterator[Record]:
    """Each record with the line it starts on; a bad header: ValueError.

    A file that stops being CSV part of the way through ends with one bad record saying so:
    what came before it is imported and reported as usual.
    """
    with path.open(newline="", encoding="utf-8-sig") as handle:
        reader = csv.reader(handle)
        try:
            yield from _read(reader)
        except csv.Error as error:
            yield reader.line_num, f"{error}; the rest of the file was not read"


def _read(reader: Any) -> Iterator[Record]:
    names = [name.strip() for name in next(reader, [])]
    if unknown := sorted(set(names) - set(COLUMNS)):
        raise ValueError(f"unknown columns: {', '.join(map(repr, unknown))}")
    if repeated := sorted({n for n in names if names.count(n) > 1}):
        raise ValueError(f"repeated columns: {', '.join(repeated)}")
    if not set(UNIQUE) & set(names):
        raise ValueError("a column external_id or email is needed")
    start = reader.line_num + 1
    for cells in reader:
        line, start = start, reader.line_num + 1
        if not cells:
            continue  # a blank line
        if len(cells) > len(names):
            yield line, f"{len(cells)} cells for {len(names)} columns"
        else:
            yield line, dict(zip(names, cells, strict=False))


def count_rows(path: Path) -> int:
    """The number of data rows, for a progress bar (0 when the file cannot be read as CSV)."""
    with path.open(newline="", encoding="utf-8-sig") as handle:
        try:
            return max(sum(1 for cells in csv.reader(handle) if cells) - 1, 0)
        except (csv.Error, ValueError):
            return 0


def import_customers(
    engine: Engine,
    path: Path,
    *,
    ctx: Context,
    actor: Actor,
    source: str,
    progress: Callable[[int], None] = lambda _n: None,
) -> ImportReport:
    """Create or update a customer per row, in transactions of BATCH rows.

    A bad row is reported and skipped; the others are imported. Each created or updated
    customer gets its audit event in the transaction that writes it.
    """
    report = ImportReport()
    batch: list[Record] = []
    for entry in _records(path):
        batch.append(entry)
        if len(batch) == BATCH:
            _import_batch(engine, batch, ctx, actor, source, report)
            progress(len(batch))
            batch = []
    if batch:
        _import_batch(engine, batch, ctx, actor, source, report)
        progress(len(batch))
    return report


def _import_batch(
    engine: Engine,
    batch: list[Record],
    ctx: Context,
    actor: Actor,
    source: str,
    report: ImportReport,
) -> None:
    rows: list[_Row] = []
    errors: list[tuple[int, str]] = []
    for line, cells in batch:
        try:
            if isinstance(cells, str):
                raise ValueError(cells)
            rows.append(_parse(line, cells))
        except ValidationError as error:
            first = error.errors()[0]
            where = ".".join(str(p) for p in first["loc"])
            errors.append((line, f"{where}: {first['msg']}"))
        except ValueError as error:
            errors.append((line, str(error)))
    outcomes: list[tuple[int, str]] = []
    with write_session(engine) as session:
        for part in _independent(rows):
            try:
                with session.begin_nested():
                    outcomes += _apply(session, part, ctx, actor, source)
            except IntegrityError:  # a concurrent writer took an identifier: find the row
                outcomes += _apply_one_by_one(session, part, ctx, actor, source)
    for line, outcome in outcomes:
        if outcome in ("created", "updated", "unchanged"):
            setattr(report, outcome, getattr(report, outcome) + 1)
        else:
            errors.append((line, outcome))
    report.errors += sorted(errors)


def _independent(rows: Iterable[_Row]) -> Iterator[list[_Row]]:
    """Runs of rows that share no identifier, so that each run can be written at once."""
    part: list[_Row] = []
    claimed: set[tuple[str, str]] = set()
    for row in rows:
        claims = row.claims()
        if claims & claimed:
            yield part
            part, claimed = [], set()
        part.append(row)
        claimed |= claims
    if part:
        yield part


def _lookup(session: Session, pairs: Sequence[tuple[str, str]]) -> dict[tuple[str, str], Any]:
    """The customers holding these identifiers (locked), keyed by (field, value)."""
    found: dict[tuple[str, str], Any] = {}
    columns = [col(Customer.id), *(getattr(Customer, name) for name in IDENTITY_FIELDS)]
    for name in UNIQUE:
        values = sorted({value for field_, value in pairs if field_ == name})
        column = getattr(Customer, name)
        for part in chunks(values):
            query = select(*columns).where(column.in_(part)).with_for_update()
            for row in session.execute(query):
                found[(name, getattr(row, name))] = row._asdict()
    return found


def _tombstoned(session: Session, hashes: Sequence[str]) -> set[str]:
    found: set[str] = set()
    for part in chunks(sorted(set(hashes))):
        found.update(
            session.scalars(select(col(Tombstone.hash)).where(col(Tombstone.hash).in_(part)))
        )
    return found


def _view(customer_id: str, values: dict[str, Any]) -> dict[str, Any]:
    """The customer object, as `customer_view` shows it."""
    view = {"id": customer_id, **{name: values.get(name) for name in IDENTITY_FIELDS}}
    view["push_tokens"] = list(view["push_tokens"] or [])
    return view


def _apply(
    session: Session, rows: list[_Row], ctx: Context, actor: Actor, source: str
) -> list[tuple[int, str]]:
    """Write rows that share no identifier with a few statements; audit each, in row order."""
    now = utcnow()
    held = _lookup(session, [claim for row in rows for claim in row.claims()])
    outcomes: list[tuple[int, str]] = []
    created: list[tuple[_Row, dict[str, Any]]] = []  # row, the new customer object
    updated: list[tuple[_Row, dict[str, Any], dict[str, Any]]] = []  # row, before, after
    for row in rows:
        current = held.get(row.key)
        own_id = None if current is None else current["id"]
        holders = {n: held.get((n, row.values[n])) for n in UNIQUE if n in row.values}
        clash = next((n for n, h in holders.items() if h is not None and h["id"] != own_id), None)
        if clash is not None:
            outcomes.append((row.line, f"another customer has this {clash}"))
        elif current is None:
            created.append((row, _view(new_customer_id(), {row.key[0]: row.key[1], **row.values})))
            outcomes.append((row.line, "created"))
        elif any(current[n] != v for n, v in row.values.items()):
            after = _view(current["id"], {**current, **row.values})
            updated.append((row, _view(current["id"], current), after))
            outcomes.append((row.line, "updated"))
        else:
            outcomes.append((row.line, "unchanged"))
    _create(session, ctx, [view for _, view in created], now)
    documents = _update(session, [(before, after) for _, before, after in updated], now)
    events: dict[int, list[Change]] = {}
    for row, view in created:
        events[row.line] = [Change("customer.created", view["id"], None, view)]
    for row, before, after in updated:
        old, new = documents[after["id"]]
        events[row.line] = [Change("customer.updated", after["id"], before, after)]
        if new != old:
            events[row.line].append(Change("consent.withdrawn", after["id"], old, new))
    changes = [change for line, _ in outcomes for change in events.get(line, ())]
    record_many(session, sealer=ctx.sealer, actor=actor, source=source, changes=changes, at=now)
    _cancel_reserved(session, ctx, [after["id"] for _, _, after in updated], now, actor, source)
    return outcomes


def _create(session: Session, ctx: Context, views: list[dict[str, Any]], now: datetime) -> None:
    """Insert the customers and their preferences; erased identifiers mean no marketing."""
    if not views:
        return
    hashes = {view["id"]: tombstone_hashes(ctx, view, every_key=True) for view in views}
    erased = _tombstoned(session, [h for found in hashes.values() for h in found])
    session.execute(insert(Customer), [{**view, "created_at": now} for view in views])
    session.execute(
        insert(Preference),
        [
            {
                "customer_id": view["id"],
                "document": {"no_marketing": True} if erased & set(hashes[view["id"]]) else {},
                "version": 1,
                "updated_at": now,
            }
            for view in views
        ],
    )


def _update(
    session: Session, changes: list[tuple[dict[str, Any], dict[str, Any]]], now: datetime
) -> dict[str, tuple[dict[str, Any], dict[str, Any]]]:
    """Set the identities, bump the versions, withdraw consents of changed addresses."""
    if not changes:
        return {}
    ids = [after["id"] for _, after in changes]
    current: dict[str, tuple[dict[str, Any], int]] = {}
    for part in chunks(ids):
        query = (
            select(col(Preference.customer_id), col(Preference.document), col(Preference.version))
            .where(col(Preference.customer_id).in_(part))
            .with_for_update()
        )
        current.update({r.customer_id: (r.document, r.version) for r in session.execute(query)})
    session.execute(update(Customer), [after for _, after in changes])
    documents: dict[str, tuple[dict[str, Any], dict[str, Any]]] = {}
    for before, after in changes:
        changed = [n for n in IDENTITY_FIELDS if before[n] != after[n]]
        channels = {c for n in changed for c in ADDRESS_CHANNELS.get(n, ())}
        old = current[after["id"]][0]
        documents[after["id"]] = (old, withdraw_consents(old, channels=channels))
    session.execute(
        update(Preference),
        [
            {
                "customer_id": customer_id,
                "document": new,
                "version": current[customer_id][1] + 1,
                "updated_at": now,
            }
            for customer_id, (_, new) in documents.items()
        ],
    )
    return documents


def _cancel_reserved(
    session: Session, ctx: Context, ids: list[str], now: datetime, actor: Actor, source: str
) -> None:
    """Cancel reserved future sends that the changed customers' new addresses would deny."""
    pending: set[str] = set()
    for part in chunks(ids):
        query = select(col(Send.customer_id)).where(
            col(Send.customer_id).in_(part), col(Send.status) == RESERVED, col(Send.send_at) > now
        )
        pending.update(session.scalars(query))
    for customer_id in sorted(pending):
        cancel_denied_sends(
            session, ctx=ctx, customer_id=customer_id, now=now, actor=actor, source=source
        )


def _apply_one_by_one(
    session: Session, rows: list[_Row], ctx: Context, actor: Actor, source: str
) -> list[tuple[int, str]]:
    """The rows one at a time, each in a savepoint: slower, but a bad row spoils only itself."""
    outcomes: list[tuple[int, str]] = []
    for row in rows:
        try:
            with session.begin_nested():
                outcomes += _apply(session, [row], ctx, actor, source)
        except IntegrityError:
            outcomes.append((row.line, "another customer has this external_id or email"))
    return outcomes
