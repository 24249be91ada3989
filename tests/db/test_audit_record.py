"""Recording audit events: the hash chain, sealed personal data, crypto-shredding."""

from __future__ import annotations

import uuid
from collections.abc import Iterator
from concurrent.futures import ThreadPoolExecutor
from datetime import UTC, datetime
from pathlib import Path
from typing import Any

import pytest
from sqlalchemy import text
from sqlalchemy.orm import Session
from sqlmodel import col, select

from app.audit import (
    CLI,
    ERASED,
    SYSTEM,
    Actor,
    EventFilter,
    Sealer,
    SealError,
    audit_listing,
    event_hash,
    record,
    verify_chain,
)
from app.db import create_db_engine, read_session, write_session
from app.keys import Keys
from app.models import AuditEvent, AuditHead, Customer, CustomerKey
from app.settings import Settings
from tests.databases import migrated_database


@pytest.fixture
def keys(settings: Settings) -> Keys:
    return Keys.from_settings(settings)


@pytest.fixture
def sealer(keys: Keys) -> Sealer:
    return Sealer(keys)


def make_customer(db: Session, *, email: str | None = None) -> Customer:
    suffix = uuid.uuid4().hex[:10]
    customer = Customer(
        id=f"c_{suffix}", external_id=f"crm-{suffix}", email=email or f"ana-{suffix}@example.org"
    )
    db.add(customer)
    db.flush()
    return customer


def document(customer: Customer, *, depth: str = "light") -> dict[str, Any]:
    return {
        "customer": {
            "id": customer.id,
            "external_id": customer.external_id,
            "email": customer.email,
        },
        "no_marketing": False,
        "brands": {"acme": {"depth": depth}},
        "version": 1,
    }


def evidence() -> dict[str, Any]:
    return {
        "source": "checkout-form",
        "captured_at": "2026-11-20T10:00:00Z",
        "notice_version": 1,
        "ip": "203.0.113.77",
        "user_agent": "Mozilla/5.0 (Sekrit Browser)",
        "text": "Yes, send me offers",
    }


def record_preferences(
    db: Session, sealer: Sealer, customer: Customer, *, reason: str | None = None
) -> AuditEvent:
    return record(
        db,
        sealer=sealer,
        actor=Actor("customer", customer.id),
        source="portal",
        action="preferences.updated",
        customer_id=customer.id,
        before=document(customer),
        after=document(customer, depth="regular"),
        reason=reason,
        evidence=evidence(),
    )


def head(db: Session) -> tuple[int, str]:
    row = db.execute(select(col(AuditHead.last_id), col(AuditHead.last_hash))).one_or_none()
    return (0, "0" * 64) if row is None else (row[0], row[1])


def raw_row(db: Session, event_id: int | None) -> dict[str, Any]:
    row = db.execute(text("SELECT * FROM audit_event WHERE id = :id"), {"id": event_id}).one()
    return dict(row._mapping)


def test_events_link_into_a_chain_with_consecutive_ids(db: Session, sealer: Sealer) -> None:
    last_id, last_hash = head(db)
    customer = make_customer(db)

    first = record(db, sealer=sealer, actor=CLI, source="cli", action="catalog.brand_added")
    second = record_preferences(db, sealer, customer)
    third = record(db, sealer=sealer, actor=SYSTEM, source="system", action="client.disabled")

    assert [first.id, second.id, third.id] == [last_id + 1, last_id + 2, last_id + 3]
    assert first.prev_hash == last_hash
    assert second.prev_hash == first.hash
    assert third.prev_hash == second.hash
    assert head(db) == (third.id, third.hash)


def test_hash_is_recomputable_from_the_stored_row(db: Session, sealer: Sealer) -> None:
    event = record_preferences(db, sealer, make_customer(db), reason="asked by phone")
    db.expunge_all()

    stored = db.execute(select(AuditEvent).where(col(AuditEvent.id) == event.id)).scalar_one()

    values = {name: getattr(stored, name) for name in AuditEvent.model_fields}
    assert event_hash(values) == stored.hash == event.hash
    assert len(stored.hash) == 64


def test_record_stores_canonical_json_and_utc_time(db: Session, sealer: Sealer) -> None:
    at = datetime(2026, 11, 20, 11, 30, 0, 123456, tzinfo=UTC)

    event = record(
        db,
        sealer=sealer,
        actor=Actor("admin", "root@example.org"),
        source="admin",
        action="catalog.topic_changed",
        before={"b": 1, "a": "ä"},
        after={"z": [2, 1]},
        reason="new notice",
        evidence={"source": "console"},
        at=at,
    )

    row = raw_row(db, event.id)
    assert row["before"] == '{"a":"ä","b":1}'
    assert row["after"] == '{"z":[2,1]}'
    assert row["reason"] == "new notice"
    assert row["evidence"] == '{"source":"console"}'
    assert row["sealed"] is None
    assert event.at == at


def test_personal_data_is_never_stored_in_plain_text(db: Session, sealer: Sealer) -> None:
    customer = make_customer(db, email="ana.secret@example.org")
    prefs = record_preferences(db, sealer, customer, reason="Ana called about her offers")
    identity = record(
        db,
        sealer=sealer,
        actor=Actor("client", "crm"),
        source="api",
        action="customer.updated",
        customer_id=customer.id,
        before={"id": customer.id, "email": "ana.secret@example.org", "phone": None},
        after={"id": customer.id, "email": "ana.new@example.org", "phone": "+4915112345678"},
    )

    secrets = [
        "ana.secret@example.org",
        "ana.new@example.org",
        "+4915112345678",
        "203.0.113.77",
        "Sekrit Browser",
        "send me offers",
        "Ana called",
        str(customer.external_id),
    ]
    for event in (prefs, identity):
        row = raw_row(db, event.id)
        dump = " ".join(str(value) for value in row.values())
        assert not [secret for secret in secrets if secret in dump]
    stored = raw_row(db, prefs.id)
    assert stored["reason"] is None
    assert '"customer"' not in stored["before"]
    assert stored["evidence"] == (
        '{"captured_at":"2026-11-20T10:00:00Z","notice_version":1,"source":"checkout-form"}'
    )
    assert raw_row(db, identity.id)["after"] == f'{{"id":"{customer.id}"}}'


def test_audit_listing_unseals_personal_data(db: Session, keys: Keys, sealer: Sealer) -> None:
    customer = make_customer(db)
    record_preferences(db, sealer, customer, reason="by phone")
    record(
        db,
        sealer=sealer,
        actor=Actor("client", "crm"),
        source="api",
        action="customer.created",
        customer_id=customer.id,
        after={"id": customer.id, "email": customer.email, "push_tokens": []},
    )

    items, _ = audit_listing(
        db,
        keys=keys,
        sealer=sealer,
        filters=EventFilter(customer_id=customer.id),
        after=None,
        limit=10,
    )

    prefs, created = items
    assert prefs["before"] == document(customer)
    assert prefs["after"] == document(customer, depth="regular")
    assert prefs["reason"] == "by phone"
    assert prefs["evidence"] == evidence()
    assert prefs["customer"] == {"id": customer.id, "external_id": customer.external_id}
    assert created["before"] is None
    assert created["after"] == {"id": customer.id, "email": customer.email, "push_tokens": []}


def test_destroyed_key_shows_erased_and_the_chain_still_verifies(
    db: Session, keys: Keys, sealer: Sealer
) -> None:
    customer = make_customer(db)
    record_preferences(db, sealer, customer, reason="by phone")
    record(
        db,
        sealer=sealer,
        actor=Actor("client", "crm"),
        source="api",
        action="customer.erased",
        customer_id=customer.id,
        before={"id": customer.id, "email": customer.email},
    )

    sealer.destroy(db, customer.id)
    customer.external_id = None
    customer.email = None
    db.flush()
    items, _ = audit_listing(
        db,
        keys=keys,
        sealer=sealer,
        filters=EventFilter(customer_id=customer.id),
        after=None,
        limit=10,
    )

    prefs, erased = items
    assert prefs["customer"] == {"id": customer.id, "external_id": None}
    assert prefs["before"]["customer"] == ERASED
    assert prefs["after"]["brands"] == {"acme": {"depth": "regular"}}
    assert prefs["reason"] == ERASED
    assert prefs["evidence"] == {
        "source": "checkout-form",
        "captured_at": "2026-11-20T10:00:00Z",
        "notice_version": 1,
        "ip": ERASED,
        "user_agent": ERASED,
        "text": ERASED,
    }
    assert erased["before"] == {"id": customer.id, "email": ERASED}
    assert db.get(CustomerKey, customer.id) is None
    assert verify_chain(db).ok


def test_an_event_without_personal_data_seals_nothing(db: Session, sealer: Sealer) -> None:
    customer = make_customer(db)

    event = record(
        db,
        sealer=sealer,
        actor=SYSTEM,
        source="system",
        action="send.cancelled",
        customer_id=customer.id,
        after={"message_id": "cmp-1", "brand": "acme"},
    )

    assert event.sealed is None
    assert sealer.load_keys(db, [customer.id]) == {}


def test_record_leaves_the_transaction_to_the_caller(db: Session, sealer: Sealer) -> None:
    event = record_preferences(db, sealer, make_customer(db))
    event_id = event.id

    db.rollback()

    assert (
        db.execute(text("SELECT id FROM audit_event WHERE id = :id"), {"id": event_id}).all() == []
    )


@pytest.mark.parametrize(
    ("source", "action"),
    [("web", "preferences.updated"), ("api", "preferences.deleted"), ("api", "catalog.")],
)
def test_record_refuses_unknown_sources_and_actions(
    db: Session, sealer: Sealer, source: str, action: str
) -> None:
    with pytest.raises(ValueError, match="unknown"):
        record(db, sealer=sealer, actor=SYSTEM, source=source, action=action)


def test_record_refuses_naive_times(db: Session, sealer: Sealer) -> None:
    naive = datetime(2026, 11, 20, 10, 0)  # noqa: DTZ001 - the point of the test
    with pytest.raises(ValueError, match="naive"):
        record(db, sealer=sealer, actor=SYSTEM, source="system", action="catalog.x", at=naive)


def test_sealed_data_is_bound_to_its_customer(db: Session, sealer: Sealer) -> None:
    ana, bob = make_customer(db), make_customer(db)
    sealed = sealer.seal(db, ana.id, {"email": "ana@example.org"})
    sealer.ensure_key(db, bob.id)

    assert sealer.unseal(db, ana.id, sealed) == {"email": "ana@example.org"}
    with pytest.raises(SealError):
        sealer.unseal(db, bob.id, sealed)


def test_keys_survive_a_secret_rotation(db: Session, keys: Keys) -> None:
    customer = make_customer(db)
    sealed = Sealer(keys).seal(db, customer.id, {"ip": "203.0.113.77"})

    rotated = Sealer(Keys("a-brand-new-secret-0123456789abcdef", previous=(keys.secret,)))

    assert rotated.unseal(db, customer.id, sealed) == {"ip": "203.0.113.77"}
    with pytest.raises(SealError):
        Sealer(Keys("an-unrelated-secret-0123456789abcdef")).unseal(db, customer.id, sealed)


@pytest.fixture(scope="module")
def own_database(tmp_path_factory: pytest.TempPathFactory) -> Iterator[str]:
    """A database of its own: the concurrency test commits."""
    with migrated_database(Path(tmp_path_factory.mktemp("audit-race"))) as url:
        yield url


def test_concurrent_appends_form_one_chain(own_database: str, keys: Keys) -> None:
    engine = create_db_engine(own_database)
    sealer = Sealer(keys)

    def append(worker: int) -> None:
        for n in range(5):
            with write_session(engine) as session:
                record(
                    session,
                    sealer=sealer,
                    actor=SYSTEM,
                    source="system",
                    action="preferences.updated",
                    customer_id="c_shared",  # every worker races to create its key
                    after={"worker": worker, "n": n},
                    reason=f"worker {worker}",
                )

    try:
        with ThreadPoolExecutor(max_workers=4) as pool:
            list(pool.map(append, range(4)))
        with read_session(engine) as session:
            result = verify_chain(session)
            items, _ = audit_listing(
                session, keys=keys, sealer=sealer, filters=EventFilter(), after=None, limit=100
            )
            ids = list(session.scalars(select(col(AuditEvent.id)).order_by(col(AuditEvent.id))))
            key_count = len(session.scalars(select(CustomerKey)).all())
    finally:
        engine.dispose()

    assert result.ok
    assert result.checked == 20
    assert ids == list(range(1, 21))
    assert key_count == 1
    assert sorted(item["reason"] for item in items) == sorted(
        f"worker {worker}" for worker in range(4) for _ in range(5)
    )
