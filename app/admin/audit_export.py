"""Exports of the audit trail as CSV and JSON Lines, streamed: read in batches by id."""

from __future__ import annotations

import csv
import io
import json
from collections.abc import Iterator
from typing import Any

from sqlalchemy import Engine

from app.admin import audit_query
from app.admin.audit_query import AuditQuery
from app.admin.audit_views import open_events
from app.audit import Sealer
from app.db import read_session

EXPORT_BATCH = 1000
CSV_COLUMNS = (
    "id",
    "at",
    "actor_type",
    "actor_id",
    "source",
    "action",
    "customer_id",
    "external_id",
    "reason",
    "evidence",
    "before",
    "after",
    "hash",
    "prev_hash",
)
_FORMULA = ("=", "+", "-", "@", "\t", "\r")


def export_batches(
    engine: Engine, sealer: Sealer, query: AuditQuery
) -> Iterator[list[dict[str, Any]]]:
    """The matching events oldest first, `EXPORT_BATCH` at a time, personal data opened.

    One read session lives as long as the export; each batch is a fresh keyset query, and
    nothing of an earlier batch is kept, so memory stays flat however many events match.
    """
    with read_session(engine) as session:
        last_id = 0
        while True:
            events = audit_query.read_batch(session, query, after_id=last_id, size=EXPORT_BATCH)
            if not events:
                return
            last_id = int(events[-1].id or 0)
            views, _unreadable = open_events(session, sealer, events)
            session.expunge_all()
            yield views


def csv_chunks(batches: Iterator[list[dict[str, Any]]]) -> Iterator[str]:
    """The header, then one chunk of CSV rows per batch."""
    buffer = io.StringIO()
    writer = csv.writer(buffer, lineterminator="\r\n")
    writer.writerow(CSV_COLUMNS)
    yield _drain(buffer)
    for views in batches:
        writer.writerows(csv_row(view) for view in views)
        yield _drain(buffer)


def csv_row(view: dict[str, Any]) -> list[str]:
    """An event as a CSV row; cells a spreadsheet would run as a formula get a leading "'"."""
    actor, customer = view["actor"], view["customer"] or {}
    cells = [
        view["id"],
        view["at"],
        actor["type"],
        actor["id"],
        view["source"],
        view["action"],
        customer.get("id"),
        customer.get("external_id"),
        view["reason"],
        _json(view["evidence"]),
        _json(view["before"]),
        _json(view["after"]),
        view["hash"],
        view["prev_hash"],
    ]
    return [_cell(cell) for cell in cells]


def jsonl_chunks(batches: Iterator[list[dict[str, Any]]]) -> Iterator[str]:
    """One JSON object a line, each an event in the API's shape; one chunk per batch."""
    for views in batches:
        yield "".join(_json(view) + "\n" for view in views)


def _json(value: Any) -> str:
    return json.dumps(value, ensure_ascii=False, separators=(",", ":"))


def _cell(value: Any) -> str:
    text = "" if value is None else str(value)
    return "'" + text if text.startswith(_FORMULA) else text


def _drain(buffer: io.StringIO) -> str:
    text = buffer.getvalue()
    buffer.seek(0)
    buffer.truncate()
    return text
