"""Verifying the hash chain: intact, altered, relinked, and cut."""

from __future__ import annotations

import pytest
from rich.console import Console
from sqlalchemy import text
from sqlalchemy.exc import DBAPIError
from sqlalchemy.orm import Session

from app.audit import Actor, Sealer, VerifyResult, event_hash, record, verify_chain
from app.cli.audit import report
from app.keys import Keys
from app.models import AuditEvent
from app.settings import Settings


@pytest.fixture
def sealer(settings: Settings) -> Sealer:
    return Sealer(Keys.from_settings(settings))


def make_chain(db: Session, sealer: Sealer, length: int) -> list[AuditEvent]:
    return [
        record(
            db,
            sealer=sealer,
            actor=Actor("admin", "root@example.org"),
            source="admin",
            action="catalog.topic_changed",
            after={"n": n},
            reason=f"change {n}",
        )
        for n in range(length)
    ]


def execute(db: Session, sql: str, **params: object) -> None:
    """Tamper with the stored trail, as someone with the database's own powers could."""
    if db.get_bind().dialect.name == "postgresql":
        # The append-only trigger guards against the application, not the database's owner.
        db.execute(text("SET LOCAL session_replication_role = replica"))
    db.execute(text(sql), params)


def test_an_empty_chain_is_intact(db: Session) -> None:
    assert verify_chain(db) == VerifyResult(ok=True, checked=0, broken_id=None, problem=None)


@pytest.mark.parametrize("batch", [1, 2, 5000])
def test_an_intact_chain_verifies_in_any_batch_size(
    db: Session, sealer: Sealer, batch: int
) -> None:
    make_chain(db, sealer, 5)

    result = verify_chain(db, batch=batch)

    assert result == VerifyResult(ok=True, checked=5, broken_id=None, problem=None)


def test_an_altered_event_is_named(db: Session, sealer: Sealer) -> None:
    events = make_chain(db, sealer, 5)

    execute(
        db,
        "UPDATE audit_event SET after = :after WHERE id = :id",
        after='{"n":99}',
        id=events[2].id,
    )
    result = verify_chain(db, batch=2)

    assert not result.ok
    assert result.broken_id == events[2].id
    assert result.checked == 2
    assert "altered" in (result.problem or "")


def test_an_altered_actor_is_named(db: Session, sealer: Sealer) -> None:
    events = make_chain(db, sealer, 3)

    execute(
        db,
        "UPDATE audit_event SET actor_id = :actor WHERE id = :id",
        actor="someone-else",
        id=events[1].id,
    )

    assert verify_chain(db).broken_id == events[1].id


def test_a_relinked_event_is_named(db: Session, sealer: Sealer) -> None:
    events = make_chain(db, sealer, 4)

    execute(db, "UPDATE audit_event SET prev_hash = :h WHERE id = :id", h="f" * 64, id=events[2].id)
    result = verify_chain(db)

    assert result.broken_id == events[2].id
    assert "prev_hash" in (result.problem or "")


def test_a_deleted_event_names_the_next_one(db: Session, sealer: Sealer) -> None:
    events = make_chain(db, sealer, 5)

    execute(db, "DELETE FROM audit_event WHERE id = :id", id=events[2].id)
    result = verify_chain(db)

    assert result.broken_id == events[3].id
    assert result.problem == f"event {events[2].id} is missing before this one"


def test_a_deleted_first_event_is_found(db: Session, sealer: Sealer) -> None:
    events = make_chain(db, sealer, 3)

    execute(db, "DELETE FROM audit_event WHERE id = :id", id=events[0].id)

    assert verify_chain(db).broken_id == events[1].id


def test_a_deleted_last_event_is_found_through_the_head(db: Session, sealer: Sealer) -> None:
    events = make_chain(db, sealer, 3)

    execute(db, "DELETE FROM audit_event WHERE id = :id", id=events[-1].id)
    result = verify_chain(db)

    assert result.broken_id == events[-1].id
    assert "missing" in (result.problem or "")


def test_a_rewritten_last_event_is_found_through_the_head(db: Session, sealer: Sealer) -> None:
    events = make_chain(db, sealer, 3)
    last = events[-1]
    # Rewrite the last event consistently, its hash included: only the head still knows.
    values = {name: getattr(last, name) for name in AuditEvent.model_fields}
    values["action"] = "catalog.forged"
    execute(
        db,
        "UPDATE audit_event SET action = :action, hash = :hash WHERE id = :id",
        action="catalog.forged",
        hash=event_hash(values),
        id=last.id,
    )

    result = verify_chain(db)

    assert result.broken_id == last.id
    assert "head" in (result.problem or "")


def test_the_report_names_the_broken_event() -> None:
    console = Console(record=True, width=200)

    code = report(VerifyResult(ok=False, checked=2, broken_id=3, problem="altered"), console)

    assert code == 1
    assert "broken at event 3: altered" in console.export_text()


def test_the_report_says_intact_with_the_count() -> None:
    console = Console(record=True, width=200)

    code = report(VerifyResult(ok=True, checked=5, broken_id=None, problem=None), console)

    assert code == 0
    assert console.export_text().strip() == "intact: 5 events checked"


def test_postgresql_refuses_to_rewrite_or_delete_events(db: Session, sealer: Sealer) -> None:
    if db.get_bind().dialect.name != "postgresql":
        pytest.skip("the append-only trigger is PostgreSQL's")
    event = make_chain(db, sealer, 1)[0]
    for sql in (
        "UPDATE audit_event SET reason = 'rewritten' WHERE id = :id",
        "DELETE FROM audit_event WHERE id = :id",
        "TRUNCATE audit_event",
    ):
        with pytest.raises(DBAPIError, match="append-only"), db.begin_nested():
            db.execute(text(sql), {"id": event.id})
    assert verify_chain(db).ok
