"""The changes feed and the audit listing: order, cursors, brand limits and filters."""

from __future__ import annotations

import base64
import uuid
from datetime import UTC, datetime, timedelta
from typing import Any

import pytest
from sqlalchemy.orm import Session

from app.audit import (
    CLI,
    SYSTEM,
    Actor,
    EventFilter,
    InvalidCursor,
    Sealer,
    audit_listing,
    changes,
    decode_cursor,
    encode_cursor,
    record,
)
from app.keys import Keys
from app.models import AuditEvent, Customer
from app.settings import Settings

T0 = datetime(2026, 11, 20, 10, 0, tzinfo=UTC)


@pytest.fixture
def keys(settings: Settings) -> Keys:
    return Keys.from_settings(settings)


@pytest.fixture
def sealer(keys: Keys) -> Sealer:
    return Sealer(keys)


def make_customer(db: Session) -> Customer:
    suffix = uuid.uuid4().hex[:10]
    customer = Customer(
        id=f"c_{suffix}", external_id=f"crm-{suffix}", email=f"ana-{suffix}@example.org"
    )
    db.add(customer)
    db.flush()
    return customer


def document(customer: Customer, brands: dict[str, Any]) -> dict[str, Any]:
    return {"customer": {"id": customer.id, "email": customer.email}, "brands": brands}


def change(
    db: Session,
    sealer: Sealer,
    customer: Customer,
    *,
    depth: str = "regular",
    actor: Actor | None = None,
    source: str = "portal",
    at: datetime | None = None,
) -> AuditEvent:
    return record(
        db,
        sealer=sealer,
        actor=actor or Actor("customer", customer.id),
        source=source,
        action="preferences.updated",
        customer_id=customer.id,
        before=document(customer, {"acme": {"depth": "light"}}),
        after=document(customer, {"acme": {"depth": depth}}),
        reason="by phone",
        evidence={"source": "portal", "ip": "203.0.113.77"},
        at=at,
    )


def catalog_change(db: Session, sealer: Sealer, *, at: datetime | None = None) -> AuditEvent:
    return record(
        db,
        sealer=sealer,
        actor=CLI,
        source="cli",
        action="catalog.topic_added",
        after={"brand": "acme", "key": "offers"},
        at=at,
    )


def ids(items: list[dict[str, Any]]) -> list[str]:
    return [item["id"] for item in items]


def test_changes_lists_customer_events_oldest_first_without_personal_data(
    db: Session, keys: Keys, sealer: Sealer
) -> None:
    customer = make_customer(db)
    first = change(db, sealer, customer, depth="regular")
    catalog = catalog_change(db, sealer)
    second = change(db, sealer, customer, depth="close")

    items, _ = changes(db, keys=keys, after=None, limit=100, brands=None)

    assert ids(items) == [str(first.id), str(second.id)]
    assert str(catalog.id) not in ids(items)
    item = items[0]
    assert item == {
        "id": str(first.id),
        "at": item["at"],
        "actor": {"type": "customer", "id": customer.id},
        "source": "portal",
        "action": "preferences.updated",
        "customer": {"id": customer.id, "external_id": customer.external_id},
        "before": {"brands": {"acme": {"depth": "light"}}},
        "after": {"brands": {"acme": {"depth": "regular"}}},
        "reason": None,
        "evidence": {"source": "portal"},
        "hash": first.hash,
        "prev_hash": first.prev_hash,
    }
    assert item["at"].endswith("Z")


def test_changes_pages_with_cursors(db: Session, keys: Keys, sealer: Sealer) -> None:
    customer = make_customer(db)
    events = [change(db, sealer, customer) for _ in range(5)]

    pages: list[list[str]] = []
    cursor: str | None = None
    for _ in range(3):
        items, cursor = changes(db, keys=keys, after=cursor, limit=2, brands=None)
        pages.append(ids(items))
    items, last = changes(db, keys=keys, after=cursor, limit=2, brands=None)

    assert pages == [[str(e.id) for e in events[i : i + 2]] for i in (0, 2, 4)]
    assert items == []
    assert last == cursor
    assert cursor is not None
    assert decode_cursor(keys, cursor) == events[-1].id


def test_changes_picks_up_events_recorded_after_the_cursor(
    db: Session, keys: Keys, sealer: Sealer
) -> None:
    customer = make_customer(db)
    change(db, sealer, customer)
    _, cursor = changes(db, keys=keys, after=None, limit=100, brands=None)

    later = change(db, sealer, customer)
    items, _ = changes(db, keys=keys, after=cursor, limit=100, brands=None)

    assert ids(items) == [str(later.id)]


def test_nothing_new_without_a_cursor_answers_a_cursor_for_the_start(
    db: Session, keys: Keys
) -> None:
    items, cursor = changes(db, keys=keys, after=None, limit=10, brands=None)

    assert items == []
    assert decode_cursor(keys, cursor) == 0


@pytest.mark.parametrize("limit", [0, -1])
def test_limit_must_be_positive(db: Session, keys: Keys, limit: int) -> None:
    with pytest.raises(ValueError, match="limit"):
        changes(db, keys=keys, after=None, limit=limit, brands=None)


def test_cursors_not_issued_by_us_are_refused(keys: Keys) -> None:
    genuine = encode_cursor(keys, 42)
    raw = bytearray(base64.urlsafe_b64decode(genuine))
    raw[7] ^= 1  # another event id, same signature
    forged_id = base64.urlsafe_b64encode(bytes(raw)).decode()
    foreign = encode_cursor(Keys("somebody-else-entirely-0123456789abcdef"), 42)

    for cursor in ("", "42", "not a cursor", genuine + "A", genuine[:-1], forged_id, foreign):
        with pytest.raises(InvalidCursor):
            decode_cursor(keys, cursor)
    assert decode_cursor(keys, genuine) == 42


def test_cursors_survive_a_secret_rotation(keys: Keys) -> None:
    cursor = encode_cursor(keys, 7)

    rotated = Keys("the-next-secret-0123456789abcdef0123", previous=(keys.secret,))

    assert decode_cursor(rotated, cursor) == 7


def test_a_bad_cursor_is_refused_by_both_feeds(db: Session, keys: Keys, sealer: Sealer) -> None:
    with pytest.raises(InvalidCursor):
        changes(db, keys=keys, after="forged", limit=10, brands=None)
    with pytest.raises(InvalidCursor):
        audit_listing(db, keys=keys, sealer=sealer, filters=EventFilter(), after="x", limit=10)


def test_a_client_limited_to_brands_sees_only_its_brands(
    db: Session, keys: Keys, sealer: Sealer
) -> None:
    customer = make_customer(db)
    both = {"acme": {"depth": "close"}, "beta": {"depth": "light"}}
    prefs = record(
        db,
        sealer=sealer,
        actor=Actor("customer", customer.id),
        source="portal",
        action="preferences.updated",
        customer_id=customer.id,
        before={"brands": {}},
        after=document(customer, both),
    )
    cancelled = {
        brand: record(
            db,
            sealer=sealer,
            actor=SYSTEM,
            source="system",
            action="send.cancelled",
            customer_id=customer.id,
            after={"message_id": f"cmp-{brand}", "brand": brand},
        )
        for brand in ("acme", "beta")
    }

    items, _ = changes(db, keys=keys, after=None, limit=10, brands=frozenset({"acme"}))

    assert ids(items) == [str(prefs.id), str(cancelled["acme"].id)]
    assert items[0]["after"] == {"brands": {"acme": {"depth": "close"}}}
    assert items[0]["before"] == {"brands": {}}
    everything, _ = changes(db, keys=keys, after=None, limit=10, brands=None)
    assert everything[0]["after"]["brands"] == both
    assert len(everything) == 3


def test_a_limited_feed_moves_past_events_it_withholds(
    db: Session, keys: Keys, sealer: Sealer
) -> None:
    customer = make_customer(db)
    withheld = [
        record(
            db,
            sealer=sealer,
            actor=SYSTEM,
            source="system",
            action="send.cancelled",
            customer_id=customer.id,
            after={"message_id": f"cmp-{n}", "brand": "beta"},
        )
        for n in range(3)
    ]

    items, cursor = changes(db, keys=keys, after=None, limit=2, brands=frozenset({"acme"}))

    assert items == []
    assert decode_cursor(keys, cursor) == withheld[-1].id


def test_external_id_comes_from_the_live_customer(db: Session, keys: Keys, sealer: Sealer) -> None:
    customer = make_customer(db)
    change(db, sealer, customer)

    customer.external_id = None  # erased
    db.flush()
    items, _ = changes(db, keys=keys, after=None, limit=10, brands=None)

    assert items[0]["customer"] == {"id": customer.id, "external_id": None}


def test_audit_listing_includes_events_not_about_customers(
    db: Session, keys: Keys, sealer: Sealer
) -> None:
    customer = make_customer(db)
    prefs = change(db, sealer, customer)
    catalog = catalog_change(db, sealer)

    items, cursor = audit_listing(
        db, keys=keys, sealer=sealer, filters=EventFilter(), after=None, limit=10
    )

    assert ids(items) == [str(prefs.id), str(catalog.id)]
    assert items[1]["customer"] is None
    assert items[1]["after"] == {"brand": "acme", "key": "offers"}
    assert items[0]["reason"] == "by phone"
    assert items[0]["evidence"] == {"source": "portal", "ip": "203.0.113.77"}
    assert decode_cursor(keys, cursor) == catalog.id


def test_audit_listing_pages(db: Session, keys: Keys, sealer: Sealer) -> None:
    events = [catalog_change(db, sealer) for _ in range(3)]

    first, cursor = audit_listing(
        db, keys=keys, sealer=sealer, filters=EventFilter(), after=None, limit=2
    )
    second, cursor = audit_listing(
        db, keys=keys, sealer=sealer, filters=EventFilter(), after=cursor, limit=2
    )
    third, last = audit_listing(
        db, keys=keys, sealer=sealer, filters=EventFilter(), after=cursor, limit=2
    )

    assert ids(first) + ids(second) == [str(e.id) for e in events]
    assert third == []
    assert last == cursor


def test_audit_listing_filters(db: Session, keys: Keys, sealer: Sealer) -> None:
    ana, bob = make_customer(db), make_customer(db)
    admin = Actor("admin", "support@example.org")
    by_ana = change(db, sealer, ana, at=T0)
    by_admin = change(db, sealer, bob, actor=admin, source="admin", at=T0 + timedelta(hours=1))
    catalog = catalog_change(db, sealer, at=T0 + timedelta(hours=2))
    client = record(
        db,
        sealer=sealer,
        actor=admin,
        source="admin",
        action="client.created",
        after={"name": "esp"},
        at=T0 + timedelta(hours=3),
    )

    def listed(**filters: Any) -> list[str]:
        items, _ = audit_listing(
            db, keys=keys, sealer=sealer, filters=EventFilter(**filters), after=None, limit=100
        )
        return ids(items)

    assert listed(customer_id=ana.id) == [str(by_ana.id)]
    assert listed(actor="admin") == [str(by_admin.id), str(client.id)]
    assert listed(actor=f"customer:{ana.id}") == [str(by_ana.id)]
    assert listed(actor="customer:c_nobody") == []
    assert listed(action="catalog.topic_added") == [str(catalog.id)]
    assert listed(action="catalog.*") == [str(catalog.id)]
    assert listed(action="c%.*") == []
    assert listed(action="preferences.*") == [str(by_ana.id), str(by_admin.id)]
    assert listed(source="cli") == [str(catalog.id)]
    assert listed(since=T0 + timedelta(hours=1)) == [
        str(by_admin.id),
        str(catalog.id),
        str(client.id),
    ]
    assert listed(until=T0 + timedelta(hours=1)) == [str(by_ana.id)]
    assert listed(
        since=T0 + timedelta(minutes=30), until=T0 + timedelta(hours=3), source="admin"
    ) == [str(by_admin.id)]
