"""The decision path over real HTTP: token, customer, decision, reservation, release."""

from __future__ import annotations

from datetime import UTC, datetime, timedelta

import pytest
from sqlalchemy import select
from sqlalchemy.orm import Session
from sqlmodel import col

from app.models import Send
from tests.server.conftest import Server

pytestmark = pytest.mark.server


def noon_tomorrow() -> str:
    day = (datetime.now(UTC) + timedelta(days=1)).date()
    return f"{day.isoformat()}T12:00:00Z"


def statuses(server: Server, customer_id: str) -> dict[str, str]:
    with Session(server.api.engine) as session:
        rows = session.execute(
            select(col(Send.message_id), col(Send.status)).where(
                col(Send.customer_id) == customer_id
            )
        ).all()
    return {row[0]: row[1] for row in rows}


def test_a_client_decides_reserves_and_releases_over_http(server: Server) -> None:
    api = server.api
    headers = api.token()
    customer = api.customer(headers, phone="+4915112345678", timezone="Europe/Berlin")
    ref = f"ext:{customer['external_id']}"
    ask = {"customer": ref, "brand": "acme", "topic": "news", "channel": "email"}

    decision = api.decide(headers, **ask)
    reservation = api.decide(
        headers, **ask, send_at=noon_tomorrow(), reserve=True, message_id="http-1"
    )
    repeat = api.decide(headers, **ask, send_at=noon_tomorrow(), reserve=True, message_id="http-1")
    stored = statuses(server, customer["id"])
    released = api.http.delete("/api/v1/sends/http-1", headers=headers)

    assert (decision["decision"], decision["reserved"]) == ("allow", False)
    assert decision["preferences_url"].startswith(f"{server.base_url}/p/")
    assert decision["unsubscribe"]["url"].startswith(f"{server.base_url}/u/")
    assert (reservation["decision"], reservation["reserved"]) == ("allow", True)
    assert (repeat["decision"], repeat["reserved"]) == ("allow", True)
    assert stored == {"http-1": "reserved"}
    assert released.status_code == 204
    assert statuses(server, customer["id"]) == {"http-1": "released"}


def test_a_batch_over_http_answers_in_order(server: Server) -> None:
    api = server.api
    headers = api.token()
    customer = api.customer(headers)
    items = [{"customer": customer["id"], "message_id": f"hb-{n}"} for n in range(5)]
    body = {"brand": "acme", "topic": "news", "channel": "email", "send_at": noon_tomorrow()}

    response = api.http.post(
        "/api/v1/decisions/batch", json={**body, "reserve": True, "items": items}, headers=headers
    )

    assert response.status_code == 200, response.text
    assert [i["decision"] for i in response.json()["items"]] == ["allow"] * 3 + ["defer"] * 2
    assert statuses(server, customer["id"]) == {f"hb-{n}": "reserved" for n in range(3)}


def test_errors_over_http_are_problem_documents(server: Server) -> None:
    api = server.api
    headers = api.token()
    ask = {"customer": "ext:x", "brand": "acme", "topic": "news", "channel": "email"}

    anonymous = api.http.post("/api/v1/decisions", json=ask)
    malformed = api.http.post(
        "/api/v1/decisions",
        content=b"{not json",
        headers={**headers, "Content-Type": "application/json"},
    )
    unknown_brand = api.http.post(
        "/api/v1/decisions", json={**ask, "brand": "nope"}, headers=headers
    )

    assert anonymous.status_code == 401
    assert anonymous.headers["www-authenticate"].startswith("Bearer")
    assert malformed.status_code == 400
    assert unknown_brand.status_code == 422
    for response in (anonymous, malformed, unknown_brand):
        assert response.headers["content-type"].startswith("application/problem+json")
