"""Racing reservations for one customer never exceed a cap (row locks / BEGIN IMMEDIATE)."""

from __future__ import annotations

import threading
from collections.abc import Callable
from concurrent.futures import ThreadPoolExecutor
from datetime import UTC, datetime, timedelta
from typing import Any, TypeVar

import httpx
import pytest
from sqlalchemy import func, select
from sqlalchemy.orm import Session
from sqlmodel import col

from app.models import Send
from app.models.send import COUNTING
from tests.server.conftest import Server

pytestmark = [pytest.mark.server, pytest.mark.slow]
CLIENTS = 40
T = TypeVar("T")


def noon_tomorrow() -> str:
    day = (datetime.now(UTC) + timedelta(days=1)).date()
    return f"{day.isoformat()}T12:00:00Z"


def capped_customer(server: Server, headers: dict[str, str], count: int = 2) -> dict[str, Any]:
    """A customer whose global cap allows `count` sends per 7 days."""
    customer = server.api.customer(headers)
    patched = server.api.patch(
        headers,
        customer["id"],
        {"global_cap": {"count": count, "period_days": 7}, "evidence": {"source": "test"}},
    )
    assert patched.status_code == 200, patched.text
    return customer


def counting(server: Server, customer_id: str) -> int:
    with Session(server.api.engine) as session:
        return session.execute(
            select(func.count())
            .select_from(Send)
            .where(col(Send.customer_id) == customer_id, col(Send.status).in_(COUNTING))
        ).scalar_one()


def race(calls: list[Callable[[], T]]) -> list[T]:
    """Run `calls` in parallel threads, released together."""
    barrier = threading.Barrier(len(calls))

    def run(call: Callable[[], T]) -> T:
        barrier.wait()
        return call()

    with ThreadPoolExecutor(max_workers=len(calls)) as pool:
        return list(pool.map(run, calls))


def post(
    server: Server, path: str, headers: dict[str, str], body: dict[str, Any]
) -> Callable[[], httpx.Response]:
    """A call that posts `body` from a client of its own."""

    def call() -> httpx.Response:
        with httpx.Client(base_url=server.base_url, timeout=60) as http:
            return http.post(path, json=body, headers=headers)

    return call


def test_parallel_reservations_never_exceed_the_cap(server: Server) -> None:
    headers = server.api.token()
    customer = capped_customer(server, headers)
    ask = {"customer": customer["id"], "brand": "acme", "topic": "news", "channel": "email"}
    at = noon_tomorrow()
    calls = [
        post(
            server,
            "/api/v1/decisions",
            headers,
            {**ask, "send_at": at, "reserve": True, "message_id": f"race-{n}"},
        )
        for n in range(CLIENTS)
    ]

    responses = race(calls)

    assert [r.status_code for r in responses] == [200] * CLIENTS
    answers = [r.json() for r in responses]
    allowed = [a for a in answers if a["decision"] == "allow"]
    deferred = [a for a in answers if a["decision"] == "defer"]
    assert len(allowed) == 2
    assert all(a["reserved"] for a in allowed)
    assert len(deferred) == CLIENTS - 2
    assert {tuple(a["reasons"]) for a in deferred} == {("frequency_cap",)}
    assert not any(a["reserved"] for a in deferred)
    assert counting(server, customer["id"]) == 2


def test_parallel_repeats_of_one_message_id_store_one_send(server: Server) -> None:
    headers = server.api.token()
    customer = capped_customer(server, headers)
    body = {
        "customer": customer["id"],
        "brand": "acme",
        "topic": "news",
        "channel": "email",
        "send_at": noon_tomorrow(),
        "reserve": True,
        "message_id": "once",
    }

    responses = race([post(server, "/api/v1/decisions", headers, body) for _ in range(20)])

    assert [r.status_code for r in responses] == [200] * 20
    assert {(r.json()["decision"], r.json()["reserved"]) for r in responses} == {("allow", True)}
    assert counting(server, customer["id"]) == 1


def test_parallel_batches_never_exceed_the_cap(server: Server) -> None:
    headers = server.api.token()
    first, second = capped_customer(server, headers), capped_customer(server, headers, count=3)
    at = noon_tomorrow()
    bodies = []
    for n in range(10):
        pair = [first, second] if n % 2 else [second, first]  # both lock orders
        items = [
            {"customer": c["id"], "message_id": f"b{n}-{i}-{c['id']}"}
            for i in range(3)
            for c in pair
        ]
        bodies.append(
            {
                "brand": "acme",
                "topic": "news",
                "channel": "email",
                "send_at": at,
                "reserve": True,
                "items": items,
            }
        )

    responses = race([post(server, "/api/v1/decisions/batch", headers, b) for b in bodies])

    assert [r.status_code for r in responses] == [200] * len(bodies)
    items = [i for r in responses for i in r.json()["items"]]
    assert sum(i["reserved"] for i in items) == 2 + 3
    assert {i["decision"] for i in items if not i["reserved"]} == {"defer"}
    assert counting(server, first["id"]) == 2
    assert counting(server, second["id"]) == 3
