"""Decision counts kept in memory per (hour, outcome, reason), flushed into decision_tally."""

from __future__ import annotations

import asyncio
import contextlib
import logging
import threading
import time
from collections.abc import AsyncIterator, Callable, Mapping
from contextlib import asynccontextmanager
from datetime import UTC, datetime
from typing import Any

from anyio import to_thread
from sqlalchemy import Engine
from sqlalchemy.dialects import postgresql, sqlite

from app.db import writer
from app.models import DecisionTally

logger = logging.getLogger(__name__)

HOUR_SECONDS = 3600
EVERY = "*"  # the reason under which each decision counts once, whatever its reasons
Key = tuple[int, str, str]  # (start of the hour in seconds since the epoch, outcome, reason)
TABLE = DecisionTally.__table__  # type: ignore[attr-defined]
KEY_COLUMNS = ("hour", "outcome", "reason")
DIALECT_INSERTS: Mapping[str, Callable[[Any], Any]] = {
    "sqlite": sqlite.insert,
    "postgresql": postgresql.insert,
}


class Tally:
    """Counts not yet written, and every count since the process started (what Prometheus
    reads, `app.api.metrics`); safe across threads: adding one is dict increments under one
    lock."""

    def __init__(self, clock: Callable[[], float] = time.time) -> None:
        self._clock = clock
        self._lock = threading.Lock()
        self._counts: dict[Key, int] = {}
        self._totals: dict[tuple[str, str], int] = {}

    def add(self, outcome: str, reasons: tuple[str, ...], number: int = 1) -> None:
        """Count `number` decisions in the current hour: once under EVERY, and once per reason
        (reason "" when none); in the totals, once per reason."""
        hour = int(self._clock()) // HOUR_SECONDS * HOUR_SECONDS
        with self._lock:
            counts, totals = self._counts, self._totals
            key: Key = (hour, outcome, EVERY)
            counts[key] = counts.get(key, 0) + number
            for reason in reasons or ("",):
                key = (hour, outcome, reason)
                counts[key] = counts.get(key, 0) + number
                total = (outcome, reason)
                totals[total] = totals.get(total, 0) + number

    def totals(self) -> dict[tuple[str, str], int]:
        """Decisions counted since the process started, per (outcome, reason); never flushed."""
        with self._lock:
            return dict(self._totals)

    def pending(self) -> dict[Key, int]:
        """A copy of the counts not yet written."""
        with self._lock:
            return dict(self._counts)

    def flush(self, engine: Engine) -> int:
        """Add the counts to decision_tally in one transaction: how many were written.

        When writing fails the counts are put back for the next try, and the error raised.
        """
        with self._lock:
            taken, self._counts = self._counts, {}
        if not taken:
            return 0
        try:
            with writer(engine).begin() as connection:
                statement = upsert(connection.dialect.name)
                # Sorted, so two processes flushing at once lock rows in the same order.
                rows = [
                    {"hour": _instant(hour), "outcome": outcome, "reason": reason, "count": n}
                    for (hour, outcome, reason), n in sorted(taken.items())
                ]
                connection.execute(statement, rows)
        except BaseException:
            self._put_back(taken)
            raise
        return sum(taken.values())

    def _put_back(self, counts: Mapping[Key, int]) -> None:
        with self._lock:
            for key, number in counts.items():
                self._counts[key] = self._counts.get(key, 0) + number


def upsert(dialect: str) -> Any:
    """INSERT … ON CONFLICT (hour, outcome, reason) DO UPDATE adding the new count."""
    try:
        insert = DIALECT_INSERTS[dialect]
    except KeyError:
        raise NotImplementedError(f"no upsert for the {dialect} dialect") from None
    statement = insert(TABLE)
    return statement.on_conflict_do_update(
        index_elements=list(KEY_COLUMNS),
        set_={"count": TABLE.c["count"] + statement.excluded["count"]},
    )


def _instant(hour: int) -> datetime:
    return datetime.fromtimestamp(hour, UTC)


TALLY = Tally()


def count(outcome: str, reasons: tuple[str, ...], number: int = 1) -> None:
    """Count decisions in the process's tally (see `Tally.add`)."""
    TALLY.add(outcome, reasons, number)


async def flush_logged(engine: Engine, tally: Tally = TALLY) -> None:
    """Flush in a worker thread; a failure is logged and the counts wait for the next try."""
    try:
        await to_thread.run_sync(tally.flush, engine)
    except Exception:
        # Never the server's end. The engine hides bound values, and counts hold no personal data.
        logger.exception(
            "writing decision counts failed; %d kept for the next try",
            sum(tally.pending().values()),
        )


@asynccontextmanager
async def flushing(engine: Engine, *, every: float, tally: Tally = TALLY) -> AsyncIterator[None]:
    """While open, flush every `every` seconds; once more on leaving."""

    async def repeat() -> None:
        while True:
            await asyncio.sleep(every)
            await flush_logged(engine, tally)

    task = asyncio.create_task(repeat())
    try:
        yield
    finally:
        task.cancel()
        with contextlib.suppress(asyncio.CancelledError):
            await task
        await flush_logged(engine, tally)
