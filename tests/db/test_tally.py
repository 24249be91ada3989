"""The decision tally: counted from many threads, added up in the database, kept on failure."""

from __future__ import annotations

import asyncio
import logging
import threading
from collections.abc import Iterator
from datetime import UTC, datetime
from pathlib import Path

import pytest
from sqlalchemy import Engine, delete, select
from sqlmodel import col

from app.consent.tally import EVERY, Tally, flushing
from app.db import create_db_engine, write_session
from app.models import DecisionTally

HOUR = datetime(2026, 11, 22, 17, tzinfo=UTC)
THREADS = 8
ROUNDS = 500


@pytest.fixture(scope="module")
def engine(cli_database: str) -> Iterator[Engine]:
    engine = create_db_engine(cli_database)
    yield engine
    engine.dispose()


@pytest.fixture
def tally_engine(engine: Engine) -> Iterator[Engine]:
    """The module's database with an empty decision_tally before and after each test."""
    with write_session(engine) as session:
        session.execute(delete(DecisionTally))
    yield engine
    with write_session(engine) as session:
        session.execute(delete(DecisionTally))


@pytest.fixture
def broken(tmp_path: Path) -> Iterator[Engine]:
    """An engine whose database has no tables: every flush into it fails."""
    engine = create_db_engine(f"sqlite:///{tmp_path / 'empty.db'}")
    yield engine
    engine.dispose()


class Clock:
    def __init__(self, at: datetime) -> None:
        self.at = at

    def __call__(self) -> float:
        return self.at.timestamp()


def stored(engine: Engine) -> dict[tuple[datetime, str, str], int]:
    with engine.connect() as connection:
        rows = connection.execute(
            select(
                col(DecisionTally.hour),
                col(DecisionTally.outcome),
                col(DecisionTally.reason),
                col(DecisionTally.count),
            )
        )
        return {(hour, outcome, reason): count for hour, outcome, reason, count in rows}


def count_in_threads(tally: Tally) -> None:
    def work() -> None:
        for _ in range(ROUNDS):
            tally.add("allow", ())
            tally.add("deny", ("topic_off", "no_consent"))
            tally.add("defer", ("quiet_hours",), 3)

    threads = [threading.Thread(target=work) for _ in range(THREADS)]
    for thread in threads:
        thread.start()
    for thread in threads:
        thread.join()


def test_counts_from_many_threads_add_up_over_two_flushes(tally_engine: Engine) -> None:
    tally = Tally(clock=Clock(HOUR.replace(minute=42, second=7)))
    count_in_threads(tally)
    assert tally.flush(tally_engine) == THREADS * ROUNDS * (2 + 3 + 6)
    assert tally.pending() == {}
    count_in_threads(tally)
    tally.flush(tally_engine)

    n = 2 * THREADS * ROUNDS
    assert stored(tally_engine) == {
        (HOUR, "allow", EVERY): n,
        (HOUR, "allow", ""): n,
        (HOUR, "deny", EVERY): n,
        (HOUR, "deny", "topic_off"): n,
        (HOUR, "deny", "no_consent"): n,
        (HOUR, "defer", EVERY): 3 * n,
        (HOUR, "defer", "quiet_hours"): 3 * n,
    }


def test_the_totals_count_every_decision_since_the_start_flushed_or_not(
    tally_engine: Engine,
) -> None:
    tally = Tally(clock=Clock(HOUR))
    count_in_threads(tally)
    tally.flush(tally_engine)
    count_in_threads(tally)

    n = 2 * THREADS * ROUNDS
    assert tally.totals() == {
        ("allow", ""): n,
        ("deny", "topic_off"): n,
        ("deny", "no_consent"): n,
        ("defer", "quiet_hours"): 3 * n,
    }


def test_each_hour_has_its_own_row_starting_on_the_hour(tally_engine: Engine) -> None:
    clock = Clock(HOUR.replace(minute=59, second=59))
    tally = Tally(clock=clock)
    tally.add("allow", ())
    clock.at = HOUR.replace(hour=18, minute=0, second=0)
    tally.add("allow", (), 2)
    tally.flush(tally_engine)

    assert stored(tally_engine) == {
        (HOUR, "allow", EVERY): 1,
        (HOUR, "allow", ""): 1,
        (HOUR.replace(hour=18), "allow", EVERY): 2,
        (HOUR.replace(hour=18), "allow", ""): 2,
    }


def test_nothing_to_flush_writes_nothing(tally_engine: Engine) -> None:
    assert Tally().flush(tally_engine) == 0
    assert stored(tally_engine) == {}


def test_a_failed_flush_keeps_the_counts_for_the_next_one(
    tally_engine: Engine, broken: Engine
) -> None:
    tally = Tally(clock=Clock(HOUR))
    tally.add("deny", ("objected",), 4)
    with pytest.raises(Exception, match="decision_tally"):
        tally.flush(broken)
    tally.add("deny", ("objected",))
    hour = int(HOUR.timestamp())
    assert tally.pending() == {(hour, "deny", EVERY): 5, (hour, "deny", "objected"): 5}

    tally.flush(tally_engine)

    assert stored(tally_engine) == {(HOUR, "deny", EVERY): 5, (HOUR, "deny", "objected"): 5}


def test_the_background_flush_writes_periodically_and_on_leaving(tally_engine: Engine) -> None:
    tally = Tally(clock=Clock(HOUR))

    async def run() -> dict[tuple[datetime, str, str], int]:
        async with flushing(tally_engine, every=0.05, tally=tally):
            tally.add("allow", ())
            for _ in range(100):
                await asyncio.sleep(0.02)
                if stored(tally_engine):
                    break
            seen = stored(tally_engine)
            tally.add("allow", (), 2)
        return seen

    assert asyncio.run(run()) == {(HOUR, "allow", EVERY): 1, (HOUR, "allow", ""): 1}
    assert stored(tally_engine) == {(HOUR, "allow", EVERY): 3, (HOUR, "allow", ""): 3}
    assert tally.pending() == {}


def test_the_background_flush_logs_failures_and_keeps_counting(
    broken: Engine, caplog: pytest.LogCaptureFixture
) -> None:
    tally = Tally(clock=Clock(HOUR))

    async def run() -> None:
        async with flushing(broken, every=0.05, tally=tally):
            tally.add("allow", ())
            await asyncio.sleep(0.2)

    with caplog.at_level(logging.ERROR, logger="app.consent.tally"):
        asyncio.run(run())

    hour = int(HOUR.timestamp())
    assert tally.pending() == {(hour, "allow", EVERY): 1, (hour, "allow", ""): 1}
    assert "writing decision counts failed; 2 kept for the next try" in caplog.text
