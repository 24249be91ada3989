"""Prepared selects give what `connection.execute` gives, on SQLite and PostgreSQL alike."""

from __future__ import annotations

from datetime import UTC, datetime, timedelta

import pytest
from sqlalchemy import bindparam, column, select, table
from sqlalchemy.exc import DBAPIError
from sqlalchemy.orm import Session
from sqlmodel import col

from app.models import Suppression
from app.prepared import Prepared, among

AT = datetime(2026, 3, 29, 0, 30, tzinfo=UTC)
COLUMNS = (
    col(Suppression.address_hash),
    col(Suppression.reason),
    col(Suppression.occurred_at),
    col(Suppression.lifted_at),
)
BY_HASH = select(*COLUMNS).where(among(col(Suppression.address_hash), "hashes"))


@pytest.fixture
def stored(db: Session) -> list[str]:
    """Five suppressions, the last one lifted; their hashes in order."""
    hashes = [f"hash-{n}" for n in range(5)]
    for n, address_hash in enumerate(hashes):
        db.add(
            Suppression(
                channel="email",
                address_hash=address_hash,
                reason="bounce" if n % 2 else "stop",
                occurred_at=AT + timedelta(hours=n),
                lifted_at=AT + timedelta(days=1) if n == 4 else None,
            )
        )
    db.flush()
    return hashes


def by_hash(rows: list[tuple[object, ...]]) -> list[tuple[object, ...]]:
    return sorted(tuple(row) for row in rows)


def test_a_list_bound_as_one_parameter_finds_what_execute_finds(
    db: Session, stored: list[str]
) -> None:
    wanted = [*stored[1:4], "no-such-hash"]
    connection = db.connection()

    prepared = Prepared(BY_HASH).rows(connection, {"hashes": wanted})

    expected = connection.execute(BY_HASH, {"hashes": wanted}).all()
    assert by_hash(prepared) == by_hash(expected)
    assert [row[0] for row in by_hash(prepared)] == stored[1:4]


def test_one_value_and_none_give_the_same_as_execute(db: Session, stored: list[str]) -> None:
    connection = db.connection()
    statement = Prepared(BY_HASH)

    assert statement.rows(connection, {"hashes": [stored[2]]}) == [
        (stored[2], "stop", AT + timedelta(hours=2), None)
    ]
    assert statement.rows(connection, {"hashes": []}) == []


def test_instants_are_converted_both_ways(db: Session, stored: list[str]) -> None:
    since = Prepared(
        select(col(Suppression.address_hash), col(Suppression.occurred_at)).where(
            col(Suppression.occurred_at) >= bindparam("since"),
            among(col(Suppression.address_hash), "hashes"),
        )
    )

    rows = since.rows(db.connection(), {"since": AT + timedelta(hours=3), "hashes": stored})

    assert by_hash(rows) == [
        (stored[3], AT + timedelta(hours=3)),
        (stored[4], AT + timedelta(hours=4)),
    ]
    assert all(row[1].tzinfo is not None for row in rows)


def test_values_the_statement_holds_are_written_out(db: Session, stored: list[str]) -> None:
    statement = Prepared(
        select(col(Suppression.address_hash)).where(
            among(col(Suppression.reason), values=("bounce",)),
            among(col(Suppression.address_hash), "hashes"),
            col(Suppression.lifted_at).is_(None),
        )
    )

    assert sorted(statement.rows(db.connection(), {"hashes": stored})) == [
        (stored[1],),
        (stored[3],),
    ]


def test_a_value_named_twice_finds_its_row_once(db: Session, stored: list[str]) -> None:
    # The list's values are rows joined to the column: one value twice must not be two rows.
    rows = Prepared(BY_HASH).rows(db.connection(), {"hashes": [stored[0], stored[2], stored[0]]})

    assert [row[0] for row in by_hash(rows)] == [stored[0], stored[2]]


def test_a_list_filters_text_columns_only() -> None:
    with pytest.raises(TypeError, match="strings"):
        among(col(Suppression.occurred_at), "instants")


def test_a_list_in_in_is_refused_with_a_pointer_to_among(db: Session) -> None:
    statement = Prepared(select(col(Suppression.id)).where(col(Suppression.reason).in_(["stop"])))

    with pytest.raises(ValueError, match="among"):
        statement.rows(db.connection())


def test_a_driver_error_is_raised_as_sqlalchemys(db: Session) -> None:
    statement = Prepared(select(column("id")).select_from(table("no_such_table")))

    with pytest.raises(DBAPIError) as raised, db.begin_nested():
        statement.rows(db.connection())

    assert "no_such_table" in str(raised.value)
