"""The event loop's kept SQLite connection: rows read again only after another commit."""

from __future__ import annotations

import asyncio
from collections.abc import Iterator
from datetime import UTC, datetime
from pathlib import Path

import pytest
from sqlalchemy import Engine, select
from sqlmodel import col

from app.db import KeptConnection, create_db_engine, write_session
from app.models import Suppression
from app.prepared import Prepared, Row, among
from tests.databases import POSTGRES_URL, migrated_database

pytestmark = pytest.mark.skipif(
    POSTGRES_URL is not None, reason="the kept connection serves SQLite's reads on the event loop"
)
REASONS = Prepared(
    select(col(Suppression.reason)).where(among(col(Suppression.address_hash), "hashes"))
)
AT = datetime(2026, 11, 1, tzinfo=UTC)


@pytest.fixture
def engine(tmp_path: Path) -> Iterator[Engine]:
    with migrated_database(tmp_path) as url:
        engine = create_db_engine(url)
        yield engine
        engine.dispose()


def suppress(engine: Engine, address_hash: str, reason: str) -> None:
    with write_session(engine) as session:
        session.add(
            Suppression(channel="email", address_hash=address_hash, reason=reason, occurred_at=AT)
        )


def test_rows_are_read_once_while_nothing_is_committed(engine: Engine) -> None:
    suppress(engine, "h1", "stop")
    kept = KeptConnection(engine)

    with kept.use() as connection:
        first = REASONS.rows(connection, {"hashes": ["h1"]})
    with kept.use() as connection:
        again = REASONS.rows(connection, {"hashes": ["h1"]})

    assert first == [("stop",)]
    assert again is first  # the same list: not read again
    kept.close()


def test_a_commit_by_another_connection_is_seen_at_the_next_use(engine: Engine) -> None:
    kept = KeptConnection(engine)
    with kept.use() as connection:
        before = REASONS.rows(connection, {"hashes": ["h2"]})

    suppress(engine, "h2", "complaint")
    with kept.use() as connection:
        after = REASONS.rows(connection, {"hashes": ["h2"]})

    assert before == []
    assert after == [("complaint",)]
    kept.close()


def test_a_closed_kept_connection_leaves_no_rows_to_the_pool(engine: Engine) -> None:
    kept = KeptConnection(engine)
    with kept.use() as connection:
        REASONS.rows(connection, {"hashes": ["h3"]})
    kept.close()

    with engine.connect() as connection:
        assert REASONS.rows(connection, {"hashes": ["h3"]}) == []
        suppress(engine, "h3", "bounce")
        assert REASONS.rows(connection, {"hashes": ["h3"]}) == [("bounce",)]


def test_on_an_event_loop_it_asks_once_per_turn(engine: Engine) -> None:
    kept = KeptConnection(engine)

    async def turns() -> tuple[list[Row], list[Row], list[Row]]:
        with kept.use() as connection:
            before = REASONS.rows(connection, {"hashes": ["h4"]})
        suppress(engine, "h4", "stop")  # committed later in the same turn of the loop
        with kept.use() as connection:
            same_turn = REASONS.rows(connection, {"hashes": ["h4"]})
        await asyncio.sleep(0)  # the next turn
        with kept.use() as connection:
            next_turn = REASONS.rows(connection, {"hashes": ["h4"]})
        return before, same_turn, next_turn

    before, same_turn, next_turn = asyncio.run(turns())

    assert before == same_turn == []
    assert next_turn == [("stop",)]
    kept.close()
