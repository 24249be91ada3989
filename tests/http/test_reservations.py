"""Reservations through decisions, their release, recorded sends and cancellation by a change."""

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

NEWS = {"brand": "acme", "topic": "news", "channel": "email"}


def instant(value: datetime) -> str:
    return value.astimezone(UTC).isoformat().replace("+00:00", "Z")


def noon(days: int = 1) -> datetime:
    """12:00 UTC `days` from today: daytime in Berlin, at a whole second."""
    day = (datetime.now(UTC) + timedelta(days=days)).date()
    return datetime(day.year, day.month, day.day, 12, 0, tzinfo=UTC)


def reserve(
    api: Api,
    headers: dict[str, str],
    customer: str,
    message_id: str,
    at: datetime | None,
    **over: Any,
) -> httpx.Response:
    """A reservation; `at` None leaves send_at out (now)."""
    body = {**NEWS, "customer": customer, "reserve": True, "message_id": message_id, **over}
    if at is not None:
        body["send_at"] = instant(at)
    return api.http.post("/api/v1/decisions", json=body, headers=headers)


def reserved(
    api: Api,
    headers: dict[str, str],
    customer: str,
    message_id: str,
    at: datetime | None,
    **over: Any,
) -> dict[str, Any]:
    response = reserve(api, headers, customer, message_id, at, **over)
    assert response.status_code == 200, response.text
    answer: dict[str, Any] = response.json()
    return answer


def record(api: Api, headers: dict[str, str], *items: dict[str, Any]) -> httpx.Response:
    return api.http.post("/api/v1/sends", json={"items": list(items)}, headers=headers)


def sent(customer: str, message_id: str, at: datetime, **over: Any) -> dict[str, Any]:
    return {**NEWS, "customer": customer, "message_id": message_id, "sent_at": instant(at), **over}


def stored(api: Api, customer_id: str) -> dict[str, tuple[str, datetime]]:
    """message_id → (status, send_at) of the customer's sends."""
    with Session(api.engine) as session:
        sends = session.scalars(select(Send).where(col(Send.customer_id) == customer_id)).all()
    return {s.message_id: (s.status, s.send_at.astimezone(UTC)) for s in sends}


def statuses(api: Api, customer_id: str) -> dict[str, str]:
    return {m: status for m, (status, _) in stored(api, customer_id).items()}


def test_an_allowed_reservation_stores_the_send(api: Api, headers: dict[str, str]) -> None:
    customer = api.customer(headers)
    at = noon()

    answer = reserved(api, headers, customer["id"], "r-1", at)

    assert (answer["decision"], answer["reserved"]) == ("allow", True)
    with Session(api.engine) as session:
        send = session.scalars(select(Send).where(col(Send.customer_id) == customer["id"])).one()
    assert (send.message_id, send.topic, send.channel) == ("r-1", "news", "email")
    assert (send.status, send.marketing, send.send_at.astimezone(UTC)) == ("reserved", True, at)


@pytest.mark.parametrize(
    ("over", "outcome"),
    [({"topic": "offers"}, "deny"), ({"channel": "sms"}, "deny"), ({}, "defer")],
)
def test_deny_and_defer_store_nothing(
    api: Api, headers: dict[str, str], over: dict[str, str], outcome: str
) -> None:
    customer = api.customer(headers)
    pause = api.patch(headers, customer["id"], {"paused_until": instant(noon(3))})
    assert pause.status_code == 200, pause.text

    response = reserve(api, headers, customer["id"], "nope-1", noon(), **over)

    assert response.status_code == 200, response.text
    assert (response.json()["decision"], response.json()["reserved"]) == (outcome, False)
    assert stored(api, customer["id"]) == {}


@pytest.mark.parametrize(
    ("body", "loc"),
    [
        ({"reserve": True}, ["message_id"]),
        ({"reserve": True, "message_id": "m", "send_at": "past"}, ["send_at"]),
        ({"reserve": True, "message_id": "x" * 129}, ["message_id"]),
    ],
)
def test_a_reservation_needs_a_message_id_and_a_recent_send_at(
    api: Api, headers: dict[str, str], body: dict[str, Any], loc: list[str]
) -> None:
    customer = api.customer(headers)
    if body.get("send_at") == "past":
        body = {**body, "send_at": instant(datetime.now(UTC) - timedelta(minutes=6))}

    response = api.http.post(
        "/api/v1/decisions", json={**NEWS, "customer": customer["id"], **body}, headers=headers
    )

    assert response.status_code == 422
    assert [e["loc"] for e in response.json()["errors"]] == [loc]
    assert stored(api, customer["id"]) == {}


def test_a_reservation_a_minute_in_the_past_is_fine(api: Api, headers: dict[str, str]) -> None:
    customer = api.customer(headers)
    at = datetime.now(UTC).replace(microsecond=0) - timedelta(minutes=1)

    assert reserved(api, headers, customer["id"], "late-1", at)["reserved"] is True
    assert stored(api, customer["id"]) == {"late-1": ("reserved", at)}


def test_the_same_message_id_again_answers_the_same_and_counts_once(
    api: Api, headers: dict[str, str]
) -> None:
    customer = api.customer(headers)
    at = noon()

    first = [reserved(api, headers, customer["id"], "same", at) for _ in range(3)]
    others = [reserved(api, headers, customer["id"], f"other-{n}", at) for n in range(3)]
    again = reserved(api, headers, customer["id"], "same", at)
    retries = [reserved(api, headers, customer["id"], "retry", None) for _ in range(2)]

    assert {(a["decision"], a["reserved"]) for a in first} == {("allow", True)}
    assert [a["decision"] for a in others] == ["allow", "allow", "defer"]
    assert (again["decision"], again["reserved"]) == ("allow", True)
    # Without send_at (now), a repeat is the same request; now the cap is full.
    assert [a["decision"] for a in retries] == ["defer", "defer"]
    assert sorted(stored(api, customer["id"])) == ["other-0", "other-1", "same"]


@pytest.mark.parametrize(
    "over",
    [
        {"customer": "other"},
        {"customer": "ext:nobody-with-this-message"},
        {"brand": "globex", "topic": "tips"},
        {"topic": "orders"},
        {"channel": "sms"},
        {"send_at": "later"},
    ],
)
def test_the_same_message_id_for_another_send_is_409(
    api: Api, headers: dict[str, str], over: dict[str, str]
) -> None:
    customer, other = api.customer(headers), api.customer(headers)
    at = noon()
    reserved(api, headers, customer["id"], "taken", at)
    if over.get("customer") == "other":
        over = {"customer": other["id"]}
    send_at = at + timedelta(hours=1) if over.pop("send_at", None) else at
    body = {"customer": customer["id"], **over}

    response = reserve(api, headers, body.pop("customer"), "taken", send_at, **body)

    assert response.status_code == 409, response.text
    assert response.headers["content-type"].startswith("application/problem+json")
    assert stored(api, customer["id"]) == {"taken": ("reserved", at)}
    assert stored(api, other["id"]) == {}


def test_reservations_out_of_order_respect_the_rolling_window(
    api: Api, headers: dict[str, str]
) -> None:
    customer = api.customer(headers)
    later, first = noon(4), noon(1)

    ahead = [reserved(api, headers, customer["id"], f"wk-{n}", later) for n in range(3)]
    before = reserved(api, headers, customer["id"], "early", first)
    after = reserved(api, headers, customer["id"], "after", later + timedelta(days=7))

    assert [a["reserved"] for a in ahead] == [True, True, True]
    assert (before["decision"], before["reasons"]) == ("defer", ["frequency_cap"])
    assert before["next_allowed_at"] == instant(later + timedelta(days=7))
    assert (after["decision"], after["reserved"]) == ("allow", True)
    assert sorted(stored(api, customer["id"])) == ["after", "wk-0", "wk-1", "wk-2"]


def test_release_is_204_twice_404_for_others_and_frees_the_cap(
    api: Api, headers: dict[str, str]
) -> None:
    customer = api.customer(headers)
    at = noon()
    for n in range(3):
        reserved(api, headers, customer["id"], f"rel-{n}", at)
    assert reserved(api, headers, customer["id"], "rel-3", at)["decision"] == "defer"

    theirs = api.http.delete("/api/v1/sends/rel-0", headers=api.token(["decisions"]))
    unknown = api.http.delete("/api/v1/sends/never-made", headers=headers)
    first = api.http.delete("/api/v1/sends/rel-0", headers=headers)
    second = api.http.delete("/api/v1/sends/rel-0", headers=headers)
    fourth = reserved(api, headers, customer["id"], "rel-3", at)

    assert (theirs.status_code, unknown.status_code) == (404, 404)
    assert unknown.headers["content-type"].startswith("application/problem+json")
    assert (first.status_code, second.status_code) == (204, 204)
    assert fourth["reserved"] is True
    assert stored(api, customer["id"])["rel-0"] == ("released", at)
    assert reserved(api, headers, customer["id"], "rel-0", at)["decision"] == "defer"


def test_recorded_sends_are_stored_once_and_count_against_caps(
    api: Api, headers: dict[str, str]
) -> None:
    customer = api.customer(headers)
    now = datetime.now(UTC).replace(microsecond=0)
    items = [sent(customer["id"], f"s-{n}", now - timedelta(hours=n + 1)) for n in range(3)]

    created = record(api, headers, *items)
    again = record(api, headers, *items)
    answer = api.decide(headers, **NEWS, customer=customer["id"])

    assert created.status_code == 201, created.text
    assert again.status_code == 200
    assert stored(api, customer["id"]) == {
        f"s-{n}": ("sent", now - timedelta(hours=n + 1)) for n in range(3)
    }
    assert (answer["decision"], answer["reasons"]) == ("defer", ["frequency_cap"])
    assert answer["next_allowed_at"] == instant(now - timedelta(hours=3) + timedelta(days=7))


@pytest.mark.parametrize(
    ("over", "status", "loc"),
    [
        ({"topic": "orders"}, 409, None),
        ({"sent_at": "other"}, 409, None),
        ({"sent_at": "future"}, 422, ["items", 1, "sent_at"]),
        ({"brand": "nope"}, 422, ["items", 1, "brand"]),
        ({"topic": "nope"}, 422, ["items", 1, "topic"]),
        ({"channel": "push"}, 422, ["items", 1, "channel"]),
        ({"customer": "ext:nobody-sent"}, 422, ["items", 1, "customer"]),
    ],
)
def test_bad_recorded_sends_store_nothing(
    api: Api, headers: dict[str, str], over: dict[str, str], status: int, loc: list[Any] | None
) -> None:
    customer = api.customer(headers)
    past = datetime.now(UTC) - timedelta(hours=1)
    assert record(api, headers, sent(customer["id"], "dup", past)).status_code == 201
    if over.get("sent_at") == "future":
        over = {"sent_at": instant(datetime.now(UTC) + timedelta(hours=1))}
    elif over.get("sent_at") == "other":
        over = {"sent_at": instant(past - timedelta(minutes=1))}

    response = record(
        api,
        headers,
        sent(customer["id"], "fresh", past),
        {**sent(customer["id"], "dup", past), **over},
    )

    assert response.status_code == status, response.text
    if loc is not None:
        assert [e["loc"] for e in response.json()["errors"]] == [loc]
    assert sorted(stored(api, customer["id"])) == ["dup"]


def test_a_recorded_send_confirms_a_reservation_even_a_released_one(
    api: Api, headers: dict[str, str]
) -> None:
    customer = api.customer(headers)
    reserved(api, headers, customer["id"], "went-out", None)
    assert api.http.delete("/api/v1/sends/went-out", headers=headers).status_code == 204
    at = datetime.now(UTC).replace(microsecond=0)

    response = record(api, headers, sent(customer["id"], "went-out", at))
    release = api.http.delete("/api/v1/sends/went-out", headers=headers)

    assert response.status_code == 200, response.text
    assert release.status_code == 204
    assert stored(api, customer["id"]) == {"went-out": ("sent", at)}


def test_a_brand_limited_client_records_only_its_brands(api: Api, headers: dict[str, str]) -> None:
    customer = api.customer(headers)
    limited = api.token(["decisions"], brands=["globex"])
    past = datetime.now(UTC) - timedelta(hours=1)

    response = record(api, limited, sent(customer["id"], "not-mine", past))

    assert response.status_code == 403
    assert response.headers["www-authenticate"].startswith("Bearer")
    assert stored(api, customer["id"]) == {}


def test_a_preferences_change_cancels_reserved_sends_it_now_denies(
    api: Api, headers: dict[str, str]
) -> None:
    customer, at = api.customer(headers), noon()
    capped = api.patch(headers, customer["id"], {"global_cap": {"count": 3, "period_days": 7}})
    assert capped.status_code == 200, capped.text
    order = reserved(api, headers, customer["id"], "order", at, topic="orders")
    news = [reserved(api, headers, customer["id"], f"news-{n}", at) for n in range(3)]
    tips = {"brand": "globex", "topic": "tips"}
    assert reserved(api, headers, customer["id"], "tip", at, **tips)["decision"] == "defer"

    off = {"brands": {"acme": {"topics": {"news": {"choice": "off"}}}}}
    patched = api.patch(headers, customer["id"], off)
    tip = reserved(api, headers, customer["id"], "tip", at, **tips)

    assert patched.status_code == 200, patched.text
    assert [a["reserved"] for a in [order, *news]] == [True] * 4
    assert (tip["decision"], tip["reserved"]) == ("allow", True)
    assert statuses(api, customer["id"]) == {
        **{f"news-{n}": "cancelled" for n in range(3)},
        "order": "reserved",
        "tip": "reserved",
    }
    cancelled = [
        e["after"]["message_id"]
        for e in changes(api, headers)
        if e["action"] == "send.cancelled" and e["customer"]["id"] == customer["id"]
    ]
    assert sorted(cancelled) == ["news-0", "news-1", "news-2"]


def changes(api: Api, headers: dict[str, str]) -> list[dict[str, Any]]:
    """Every event of the changes feed."""
    events: list[dict[str, Any]] = []
    cursor = None
    while True:
        params = {"limit": 1000} if cursor is None else {"limit": 1000, "after": cursor}
        page = api.http.get("/api/v1/changes", params=params, headers=headers).json()
        if not page["items"]:
            return events
        events.extend(page["items"])
        cursor = page["next_cursor"]
