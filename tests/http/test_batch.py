"""POST /api/v1/decisions/batch: defaults, validation of the whole, order, reservations seen."""

from __future__ import annotations

from datetime import UTC, datetime, timedelta
from typing import Any

import httpx
import pytest
from sqlalchemy import select
from sqlalchemy.orm import Session
from sqlmodel import col

from app.models import Send
from tests.api import Api

PHONE = "+4915112345678"


def instant(value: datetime) -> str:
    return value.astimezone(UTC).isoformat().replace("+00:00", "Z")


def tomorrow_noon_utc() -> datetime:
    """A send_at well inside the day in Berlin (no quiet hours), at a whole second."""
    day = (datetime.now(UTC) + timedelta(days=1)).date()
    return datetime(day.year, day.month, day.day, 11, 0, tzinfo=UTC)


def batch(api: Api, headers: dict[str, str], body: dict[str, Any]) -> httpx.Response:
    return api.http.post("/api/v1/decisions/batch", json=body, headers=headers)


def answers(api: Api, headers: dict[str, str], body: dict[str, Any]) -> list[dict[str, Any]]:
    response = batch(api, headers, body)
    assert response.status_code == 200, response.text
    items: list[dict[str, Any]] = response.json()["items"]
    return items


def stored_sends(api: Api, customer_id: str) -> list[tuple[str, str]]:
    """(message_id, status) of the customer's sends, by message_id."""
    with Session(api.engine) as session:
        rows = session.execute(
            select(col(Send.message_id), col(Send.status))
            .where(col(Send.customer_id) == customer_id)
            .order_by(col(Send.message_id))
        ).all()
    return [(m, s) for m, s in rows]


def test_top_level_defaults_apply_and_items_override_them(
    api: Api, headers: dict[str, str]
) -> None:
    customer = api.customer(headers, phone=PHONE, timezone="Europe/Berlin")
    at = tomorrow_noon_utc()
    body = {
        "brand": "acme",
        "topic": "news",
        "channel": "email",
        "send_at": instant(at),
        "items": [
            {"customer": customer["id"]},
            {"customer": customer["id"], "topic": "orders"},
            {"customer": customer["id"], "brand": "globex", "topic": "tips", "channel": "sms"},
            {
                "customer": customer["id"],
                "channel": "sms",
                "send_at": instant(at + timedelta(hours=11)),
            },
            {"customer": customer["id"], "topic": "offers"},
        ],
    }

    items = answers(api, headers, body)

    assert [(i["decision"], i["reasons"]) for i in items] == [
        ("allow", []),
        ("allow", []),
        ("allow", []),
        ("defer", ["quiet_hours"]),
        ("deny", ["beyond_depth", "no_consent"]),
    ]
    assert items[0]["unsubscribe"] is not None
    assert items[1]["unsubscribe"] is None  # essential
    assert items[2]["unsubscribe"] is None  # sms
    assert items[4]["unsubscribe"] is not None
    assert items[3]["next_allowed_at"] is not None
    assert all(i["preferences_version"] == 1 for i in items)
    assert stored_sends(api, customer["id"]) == []


def test_answers_come_in_order_with_unknown_customers_among_them(
    api: Api, headers: dict[str, str]
) -> None:
    known = api.customer(headers)
    other = api.customer(headers, phone=PHONE)
    items = [
        {"customer": known["id"]},
        {"customer": "ext:nobody-in-this-batch"},
        {"customer": f"email:{other['email'].upper()}", "channel": "sms"},
        {"customer": f"ext:{known['external_id']}", "topic": "events"},
    ]

    body = {"brand": "acme", "topic": "news", "channel": "email"}

    found = answers(api, headers, {**body, "send_at": instant(tomorrow_noon_utc()), "items": items})

    assert [(i["decision"], i["reasons"]) for i in found] == [
        ("allow", []),
        ("deny", ["unknown_customer"]),
        ("allow", []),
        ("deny", ["beyond_depth"]),
    ]
    assert found[1]["preferences_url"] is None
    assert found[0]["preferences_url"] != found[2]["preferences_url"]


def test_an_empty_batch_answers_no_items(api: Api, headers: dict[str, str]) -> None:
    assert answers(api, headers, {"items": []}) == []


@pytest.mark.parametrize(
    ("item", "loc"),
    [
        ({"topic": "nope"}, ["items", 2, "topic"]),
        ({"brand": "nope"}, ["items", 2, "brand"]),
        ({"channel": "push"}, ["items", 2, "channel"]),
        ({"customer": "nobody"}, ["items", 2, "customer"]),
        ({"reserve": True, "message_id": None}, ["items", 2, "message_id"]),
        ({"message_id": "has space"}, ["items", 2, "message_id"]),
        ({"send_at": "2099-01-01T00:00:00Z"}, ["items", 2, "send_at"]),
        ({"extra": 1}, ["items", 2, "extra"]),
    ],
)
def test_one_bad_item_is_422_and_nothing_is_decided_or_reserved(
    api: Api, headers: dict[str, str], item: dict[str, Any], loc: list[Any]
) -> None:
    customer = api.customer(headers)
    good = [{"customer": customer["id"], "message_id": f"ok-{n}"} for n in range(4)]
    bad = {**good[2], **item}
    bad = {k: v for k, v in bad.items() if v is not None}
    body = {"brand": "acme", "topic": "news", "channel": "email", "reserve": True}

    response = batch(api, headers, {**body, "items": [*good[:2], bad, good[3]]})

    assert response.status_code == 422, response.text
    assert response.headers["content-type"].startswith("application/problem+json")
    assert [e["loc"] for e in response.json()["errors"]] == [loc]
    assert stored_sends(api, customer["id"]) == []


def test_every_bad_item_is_named(api: Api, headers: dict[str, str]) -> None:
    items = [
        {"customer": "ext:a", "brand": "acme", "topic": "news", "channel": "email"},
        {"customer": "ext:b", "topic": "news", "channel": "email"},
        {"customer": "ext:c", "brand": "acme", "topic": "news", "channel": "email"},
        {"customer": "ext:d", "brand": "acme", "topic": "nope", "channel": "email"},
    ]

    response = batch(api, headers, {"items": items})

    assert response.status_code == 422
    assert [e["loc"] for e in response.json()["errors"]] == [
        ["items", 1, "brand"],
        ["items", 3, "topic"],
    ]


def test_more_than_10000_items_is_422(api: Api, headers: dict[str, str]) -> None:
    item = {"customer": "ext:x", "brand": "acme", "topic": "orders", "channel": "email"}

    response = batch(api, headers, {"items": [item] * 10_001})

    assert response.status_code == 422
    assert response.json()["errors"][0]["loc"] == ["items"]


def test_10000_items_are_all_answered(api: Api, headers: dict[str, str]) -> None:
    customer = api.customer(headers)
    items = [{"customer": customer["id"]}, {"customer": "ext:nobody-10k"}] * 5_000

    found = answers(
        api, headers, {"brand": "acme", "topic": "news", "channel": "email", "items": items}
    )

    assert len(found) == 10_000
    assert {i["decision"] for i in found[0::2]} == {"allow"}
    assert {i["decision"] for i in found[1::2]} == {"deny"}


def test_items_see_the_reservations_of_the_items_before_them(
    api: Api, headers: dict[str, str]
) -> None:
    customer = api.customer(headers)
    at = tomorrow_noon_utc()
    items = [{"customer": customer["id"], "message_id": f"cap-{n}"} for n in range(5)]
    body = {"brand": "acme", "topic": "news", "channel": "email", "send_at": instant(at)}

    found = answers(api, headers, {**body, "reserve": True, "items": items})

    assert [(i["decision"], i["reserved"]) for i in found] == [
        ("allow", True),
        ("allow", True),
        ("allow", True),
        ("defer", False),
        ("defer", False),
    ]
    assert found[3]["reasons"] == found[4]["reasons"] == ["frequency_cap"]
    assert found[3]["next_allowed_at"] == instant(at + timedelta(days=7))
    assert stored_sends(api, customer["id"]) == [(f"cap-{n}", "reserved") for n in range(3)]


def test_an_item_may_opt_out_of_the_batchs_reserve(api: Api, headers: dict[str, str]) -> None:
    customer = api.customer(headers)
    items = [
        {"customer": customer["id"], "message_id": "kept"},
        {"customer": customer["id"], "message_id": "asked-only", "reserve": False},
        {"customer": customer["id"], "message_id": "kept", "reserve": True},
    ]
    body = {"brand": "acme", "topic": "news", "channel": "email", "reserve": True}

    found = answers(api, headers, {**body, "send_at": instant(tomorrow_noon_utc()), "items": items})

    assert [i["reserved"] for i in found] == [True, False, True]
    assert stored_sends(api, customer["id"]) == [("kept", "reserved")]


def test_a_brand_limited_client_cannot_slip_another_brand_into_a_batch(
    api: Api, headers: dict[str, str]
) -> None:
    customer = api.customer(headers)
    limited = api.token(["decisions"], brands=["globex"])
    items = [
        {"customer": customer["id"], "brand": "globex", "topic": "tips", "message_id": "g-1"},
        {"customer": customer["id"], "brand": "acme", "topic": "news", "message_id": "a-1"},
    ]

    response = batch(api, limited, {"channel": "email", "reserve": True, "items": items})

    assert response.status_code == 403
    assert "www-authenticate" in response.headers
    assert stored_sends(api, customer["id"]) == []


def test_one_message_id_for_two_sends_in_a_batch_is_409_and_stores_nothing(
    api: Api, headers: dict[str, str]
) -> None:
    customer = api.customer(headers)
    items = [
        {"customer": customer["id"], "message_id": "first"},
        {"customer": customer["id"], "message_id": "twice"},
        {"customer": customer["id"], "message_id": "twice", "topic": "orders"},
    ]
    body = {"brand": "acme", "topic": "news", "channel": "email", "reserve": True}

    response = batch(api, headers, {**body, "items": items})

    assert response.status_code == 409
    assert response.headers["content-type"].startswith("application/problem+json")
    assert stored_sends(api, customer["id"]) == []
