"""Bulk import of customers from CSV: each row as `PUT /customers`, bad rows reported by line."""

from __future__ import annotations

import csv
import json
from collections.abc import Callable, Iterator
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

from pydantic import ValidationError
from sqlalchemy import Engine

from app.audit import Actor
from app.consent.context import Context
from app.consent.customers import put_customer
from app.consent.errors import DomainError
from app.consent.schemas import CustomerBody
from app.db import write_session

COLUMNS = ("external_id", "email", "phone", "push_tokens", "postal_address", "timezone", "locale")
BATCH = 500


@dataclass
class ImportReport:
    """How an import went: counts and each bad row by line number (the header is line 1)."""

    created: int = 0
    updated: int = 0
    errors: list[tuple[int, str]] = field(default_factory=list)


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


def _reference(body: CustomerBody) -> str:
    if body.external_id:
        return f"ext:{body.external_id}"
    if body.email:
        return f"email:{body.email}"
    raise ValueError("a row needs an external_id or an email")


def _rows(path: Path) -> Iterator[tuple[int, dict[str, str]]]:
    with path.open(newline="", encoding="utf-8-sig") as handle:
        reader = csv.DictReader(handle)
        unknown = set(reader.fieldnames or ()) - set(COLUMNS)
        if unknown:
            raise ValueError(f"unknown columns: {', '.join(sorted(unknown))}")
        for row in reader:
            yield reader.line_num, row


def count_rows(path: Path) -> int:
    """The number of data rows, for a progress bar."""
    with path.open(newline="", encoding="utf-8-sig") as handle:
        return max(sum(1 for _ in csv.reader(handle)) - 1, 0)


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

    A bad row is reported and skipped; the others are imported.
    """
    report = ImportReport()
    batch: list[tuple[int, dict[str, str]]] = []
    for line, row in _rows(path):
        batch.append((line, row))
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
    batch: list[tuple[int, dict[str, str]]],
    ctx: Context,
    actor: Actor,
    source: str,
    report: ImportReport,
) -> None:
    with write_session(engine) as session:
        for line, row in batch:
            try:
                body = _body(row)
                with session.begin_nested():
                    _, created = put_customer(
                        session,
                        ctx=ctx,
                        ref=_reference(body),
                        body=body,
                        actor=actor,
                        source=source,
                    )
            except ValidationError as error:
                first = error.errors()[0]
                where = ".".join(str(p) for p in first["loc"])
                report.errors.append((line, f"{where}: {first['msg']}"))
            except (DomainError, ValueError) as error:
                report.errors.append((line, str(error)))
            else:
                if created:
                    report.created += 1
                else:
                    report.updated += 1
