"""POST /api/v1/suppressions: kinds, brands, statuses, normalisation, hashing, erasure, audit."""

from __future__ import annotations

import uuid
from datetime import UTC, datetime, timedelta
from typing import Any

import httpx
import pytest
from sqlalchemy import select
from sqlalchemy.orm import Session
from sqlmodel import col

from app.keys import Keys
from app.models import Send, Suppression
from tests.api import Api

H = dict[str, str]


def item(customer: dict[str, Any], reason: str, **fields: Any) -> dict[str, Any]:
    """A suppression of the customer's email address."""
    return {"channel": "email", "address": customer["email"], "reason": reason, **fields}


def suppress(api: Api, headers: H, *items: dict[str, Any]) -> httpx.Response:
    return api.http.post("/api/v1/suppressions", json={"items": list(items)}, headers=headers)


def statuses(response: httpx.Response) -> list[str]:
    assert response.status_code == 200, response.text
    return [entry["status"] for entry in response.json()["items"]]


def reasons(
    api: Api, headers: H, customer: dict[str, Any], brand: str, topic: str, channel: str = "email"
) -> list[str]:
    answer = api.decide(headers, customer=customer["id"], brand=brand, topic=topic, channel=channel)
    found: list[str] = answer["reasons"]
    return found


def rows_for(api: Api, channel: str, address: str) -> list[Suppression]:
    """The stored suppressions of an (already normalised) address."""
    address_hash = Keys.from_settings(api.settings).identifier_hash(channel, address)
    with Session(api.engine) as session:
        query = select(Suppression).where(
            col(Suppression.channel) == channel, col(Suppression.address_hash) == address_hash
        )
        return list(session.scalars(query))


def audited(api: Api, headers: H, customer: dict[str, Any]) -> list[dict[str, Any]]:
    params = {"customer": customer["id"], "action": "suppression.*"}
    response = api.http.get("/api/v1/audit", params=params, headers=headers)
    assert response.status_code == 200, response.text
    events: list[dict[str, Any]] = response.json()["items"]
    return events


def reserve(api: Api, headers: H, customer: dict[str, Any], topic: str, channel: str) -> str:
    """A reserved send two days ahead: its message id."""
    message_id = f"m-{uuid.uuid4().hex}"
    send_at = (datetime.now(UTC) + timedelta(days=2)).replace(hour=12, microsecond=0)
    answer = api.decide(
        headers,
        customer=customer["id"],
        brand="acme",
        topic=topic,
        channel=channel,
        send_at=send_at.isoformat(),
        reserve=True,
        message_id=message_id,
    )
    assert answer["reserved"] is True, answer
    return message_id


def send_status(api: Api, message_id: str) -> str:
    with Session(api.engine) as session:
        query = select(col(Send.status)).where(col(Send.message_id) == message_id)
        return str(session.scalars(query).one())


def cancellations(api: Api, headers: H) -> list[str]:
    """The message ids of every `send.cancelled` in the changes feed."""
    found: list[str] = []
    params = {"limit": "1000"}
    while True:
        page = api.http.get("/api/v1/changes", params=params, headers=headers).json()
        if not page["items"]:
            return found
        found += [
            e["after"]["message_id"] for e in page["items"] if e["action"] == "send.cancelled"
        ]
        params["after"] = page["next_cursor"]


def unique_phone() -> str:
    return f"+49151{uuid.uuid4().int % 10**8:08d}"


@pytest.mark.parametrize("kind", ["hard_bounce", "stop", "manual"])
def test_hard_bounce_stop_and_manual_block_every_topic(api: Api, headers: H, kind: str) -> None:
    customer = api.customer(headers)
    assert reasons(api, headers, customer, "acme", "orders") == []

    response = suppress(api, headers, item(customer, kind))

    assert response.json() == {"items": [{"index": 0, "status": "added"}]}
    assert reasons(api, headers, customer, "acme", "orders") == ["suppressed"]
    assert reasons(api, headers, customer, "acme", "news") == ["suppressed"]
    assert reasons(api, headers, customer, "globex", "tips") == ["suppressed"]
    [row] = rows_for(api, "email", customer["email"])
    assert (row.reason, row.brand, row.lifted_at) == (kind, None, None)


def test_a_complaint_blocks_marketing_only(api: Api, headers: H) -> None:
    customer = api.customer(headers)

    assert statuses(suppress(api, headers, item(customer, "complaint"))) == ["added"]

    assert reasons(api, headers, customer, "acme", "orders") == []
    assert reasons(api, headers, customer, "acme", "news") == ["suppressed"]


def test_a_suppression_for_one_brand_leaves_the_others(api: Api, headers: H) -> None:
    customer = api.customer(headers)

    assert statuses(suppress(api, headers, item(customer, "stop", brand="acme"))) == ["added"]

    assert reasons(api, headers, customer, "acme", "news") == ["suppressed"]
    assert reasons(api, headers, customer, "globex", "tips") == []
    assert [r.brand for r in rows_for(api, "email", customer["email"])] == ["acme"]


def test_statuses_added_existing_lifted_none(api: Api, headers: H) -> None:
    customer = api.customer(headers)
    stop, start = item(customer, "stop"), item(customer, "resubscribe")

    assert statuses(suppress(api, headers, stop, stop)) == ["added", "existing"]
    assert statuses(suppress(api, headers, stop, item(customer, "stop", brand="acme"))) == [
        "existing",
        "existing",
    ]
    assert statuses(suppress(api, headers, start)) == ["lifted"]
    assert reasons(api, headers, customer, "acme", "news") == []
    assert statuses(suppress(api, headers, start)) == ["none"]
    [row] = rows_for(api, "email", customer["email"])
    assert row.lifted_at is not None


@pytest.mark.parametrize(
    ("kind", "lifted"),
    [("stop", True), ("complaint", True), ("hard_bounce", False), ("manual", False)],
)
def test_resubscribe_lifts_stop_and_complaint_only(
    api: Api, headers: H, kind: str, lifted: bool
) -> None:
    customer = api.customer(headers)
    suppress(api, headers, item(customer, kind))

    response = suppress(api, headers, item(customer, "resubscribe"))

    assert statuses(response) == ["lifted" if lifted else "none"]
    assert reasons(api, headers, customer, "acme", "news") == ([] if lifted else ["suppressed"])


def test_addresses_are_normalised(api: Api, headers: H) -> None:
    phone = unique_phone()
    customer = api.customer(headers, phone=phone)
    national = f"{phone[:3]} ({phone[3:6]}) {phone[6:9]}-{phone[9:]}"
    email = item(customer, "manual", address=customer["email"].upper())

    response = suppress(
        api, headers, email, {"channel": "sms", "address": national, "reason": "stop"}
    )

    assert statuses(response) == ["added", "added"]
    assert reasons(api, headers, customer, "acme", "orders") == ["suppressed"]
    assert reasons(api, headers, customer, "acme", "orders", "sms") == ["suppressed"]
    assert len(rows_for(api, "sms", phone)) == 1


@pytest.mark.parametrize(
    ("bad", "field"),
    [
        ({"address": "not-an-email"}, "address"),
        ({"channel": "sms", "address": "12345"}, "address"),
        ({"channel": "sms", "address": "0151 1234567"}, "address"),
        ({"channel": "in_app", "address": "x"}, "address"),
        ({"channel": "postal", "address": "   "}, "address"),
        ({"brand": "nosuch"}, "brand"),
        ({"occurred_at": "0001-01-01T00:00:00+01:00"}, "occurred_at"),
    ],
)
def test_an_invalid_item_is_422_and_nothing_is_stored(
    api: Api, headers: H, bad: dict[str, Any], field: str
) -> None:
    good = {"channel": "email", "address": f"{uuid.uuid4().hex}@example.org", "reason": "stop"}

    response = suppress(api, headers, good, {**good, **bad})

    assert response.status_code == 422, response.text
    assert response.headers["content-type"] == "application/problem+json"
    assert [e["loc"] for e in response.json()["errors"]] == [["items", 1, field]]
    assert rows_for(api, "email", good["address"]) == []


def test_the_table_holds_only_a_keyed_hash(api: Api, headers: H) -> None:
    address = f"Plain.{uuid.uuid4().hex}@Example.org"
    suppress(api, headers, {"channel": "email", "address": address, "reason": "hard_bounce"})

    with api.engine.connect() as connection:
        rows = connection.execute(select(Suppression.__table__)).all()  # type: ignore[attr-defined]

    assert len(rows_for(api, "email", address.lower())) == 1
    stored = repr([tuple(row) for row in rows]).lower()
    assert address.split("@")[0].lower() not in stored


def test_a_suppression_survives_erasure(api: Api, headers: H) -> None:
    customer = api.customer(headers)
    suppress(api, headers, item(customer, "stop"))

    erased = api.http.delete(f"/api/v1/customers/{customer['id']}", headers=headers)
    assert erased.status_code == 204, erased.text
    again = api.customer(headers, email=customer["email"])

    assert again["id"] != customer["id"]
    assert reasons(api, headers, again, "acme", "orders") == ["suppressed"]
    assert len(rows_for(api, "email", customer["email"])) == 1


def test_adding_and_lifting_are_audited_for_the_customer(api: Api, headers: H) -> None:
    customer = api.customer(headers)
    suppress(api, headers, item(customer, "complaint"))
    suppress(api, headers, item(customer, "resubscribe"))

    events = audited(api, headers, customer)

    assert [e["action"] for e in events] == ["suppression.added", "suppression.lifted"]
    assert events[0]["after"]["reason"] == events[1]["before"]["reason"] == "complaint"
    assert all(e["customer"]["id"] == customer["id"] for e in events)
    assert customer["email"] not in str(events)


def test_a_suppression_cancels_reserved_future_sends(api: Api, headers: H) -> None:
    customer = api.customer(headers)
    news = reserve(api, headers, customer, "news", "email")
    orders = reserve(api, headers, customer, "orders", "email")

    suppress(api, headers, item(customer, "complaint"))

    assert (send_status(api, news), send_status(api, orders)) == ("cancelled", "reserved")
    assert news in cancellations(api, headers)
    assert orders not in cancellations(api, headers)


def test_a_push_token_is_found_audited_and_its_sends_cancelled(api: Api, headers: H) -> None:
    token = f"tok-{uuid.uuid4().hex}"
    customer = api.customer(headers, push_tokens=[token])
    orders = reserve(api, headers, customer, "orders", "push")

    response = suppress(
        api, headers, {"channel": "push", "address": token, "reason": "hard_bounce"}
    )

    assert statuses(response) == ["added"]
    assert reasons(api, headers, customer, "acme", "orders", "push") == ["suppressed"]
    assert send_status(api, orders) == "cancelled"
    assert [e["action"] for e in audited(api, headers, customer)] == ["suppression.added"]


def test_a_postal_address_is_found_and_audited(api: Api, headers: H) -> None:
    street = f"Hauptweg {uuid.uuid4().int % 10**6}"
    customer = api.customer(headers, postal_address={"street": street, "city": "Berlin"})
    address = f"  {street.upper()}   berlin "

    response = suppress(api, headers, {"channel": "postal", "address": address, "reason": "manual"})

    assert statuses(response) == ["added"]
    assert [e["action"] for e in audited(api, headers, customer)] == ["suppression.added"]


def test_a_brand_limited_client_cannot_suppress_for_another_brand(api: Api) -> None:
    limited = api.token(scopes=["suppressions:write"], brands=["acme"])
    address = f"{uuid.uuid4().hex}@example.org"
    stop = {"channel": "email", "address": address, "reason": "stop"}

    other = suppress(api, limited, {**stop, "brand": "globex"})
    own = suppress(api, limited, {**stop, "brand": "acme"})

    assert other.status_code == 403, other.text
    assert other.headers["content-type"] == "application/problem+json"
    assert statuses(own) == ["added"]
    assert [r.brand for r in rows_for(api, "email", address)] == ["acme"]


def test_suppressing_needs_the_scope(api: Api) -> None:
    reader = api.token(scopes=["changes:read"])
    address = f"{uuid.uuid4().hex}@example.org"

    response = suppress(api, reader, {"channel": "email", "address": address, "reason": "stop"})

    assert response.status_code == 403
    assert 'error="insufficient_scope"' in response.headers["www-authenticate"]
    assert rows_for(api, "email", address) == []
