"""POST /api/v1/decisions: the answer's members, references, catalog errors, quiet hours."""

from __future__ import annotations

from datetime import UTC, date, datetime, time, timedelta
from pathlib import Path
from typing import Any
from zoneinfo import ZoneInfo

import httpx
import pytest
from fastapi.testclient import TestClient
from sqlalchemy import func, select
from sqlalchemy.orm import Session
from sqlmodel import col

from app.auth.tokens import issue_token
from app.keys import Keys
from app.main import create_app
from app.models import Send
from tests.api import Api, api_settings

MEMBERS = {
    "decision",
    "reasons",
    "next_allowed_at",
    "decision_id",
    "preferences_version",
    "reserved",
    "preferences_url",
    "unsubscribe",
}
BASE = "https://cmr.example.test"
PHONE = "+4915112345678"


def ref(customer: dict[str, Any]) -> str:
    return f"ext:{customer['external_id']}"


def post(api: Api, headers: dict[str, str], **body: Any) -> httpx.Response:
    return api.http.post("/api/v1/decisions", json=body, headers=headers)


def local(day: date, hour: int, minute: int, zone: str) -> datetime:
    return datetime.combine(day, time(hour, minute), tzinfo=ZoneInfo(zone))


def instant(value: datetime) -> str:
    return value.astimezone(UTC).isoformat().replace("+00:00", "Z")


def future_day(days: int = 30) -> date:
    return (datetime.now(UTC) + timedelta(days=days)).date()


def send_count(api: Api, customer_id: str | None = None) -> int:
    query = select(func.count()).select_from(Send)
    if customer_id is not None:
        query = query.where(col(Send.customer_id) == customer_id)
    with Session(api.engine) as session:
        return session.execute(query).scalar_one()


def test_the_openapi_document_describes_the_decision_routes(api: Api) -> None:
    document = api.http.get("/openapi.json").json()

    for path, body in (("decisions", "DecisionBody"), ("decisions/batch", "BatchBody")):
        operation = document["paths"][f"/api/v1/{path}"]["post"]
        assert operation["security"] == [{"oauth2": ["decisions"]}]
        schema = operation["requestBody"]["content"]["application/json"]["schema"]
        assert schema == {"$ref": f"#/components/schemas/{body}"}
    required = document["components"]["schemas"]["DecisionBody"]["required"]
    assert required == ["customer", "brand", "topic", "channel"]


def test_an_allowed_essential_answer_has_every_member(api: Api, headers: dict[str, str]) -> None:
    customer = api.customer(headers)

    answer = api.decide(
        headers, customer=ref(customer), brand="acme", topic="orders", channel="email"
    )

    assert set(answer) == MEMBERS
    assert answer["decision"] == "allow"
    assert answer["reasons"] == []
    assert answer["next_allowed_at"] is None
    assert answer["decision_id"].startswith("d_")
    assert answer["preferences_version"] == 1
    assert answer["reserved"] is False
    assert answer["preferences_url"].startswith(f"{BASE}/p/")
    assert answer["unsubscribe"] is None
    assert send_count(api, customer["id"]) == 0


def test_a_decision_asked_again_sees_every_change_committed_since(
    api: Api, headers: dict[str, str]
) -> None:
    customer = api.customer(headers)
    ask = {"customer": ref(customer), "brand": "acme", "topic": "orders", "channel": "email"}

    before = [api.decide(headers, **ask)["decision"] for _ in range(3)]
    stopped = api.http.post(
        "/api/v1/suppressions",
        json={"items": [{"channel": "email", "address": customer["email"], "reason": "stop"}]},
        headers=headers,
    )
    after = [api.decide(headers, **ask) for _ in range(3)]
    erased = api.http.delete(f"/api/v1/customers/{ref(customer)}", headers=headers)
    gone = api.decide(headers, **ask)

    assert before == ["allow"] * 3
    assert stopped.status_code < 300, stopped.text
    assert [(a["decision"], a["reasons"]) for a in after] == [("deny", ["suppressed"])] * 3
    assert erased.status_code < 300, erased.text
    assert (gone["decision"], gone["reasons"]) == ("deny", ["unknown_customer"])


def test_marketing_email_carries_one_click_unsubscribe_and_sms_does_not(
    api: Api, headers: dict[str, str]
) -> None:
    customer = api.customer(headers, phone=PHONE, timezone="Europe/Berlin")
    noon = instant(local(future_day(), 12, 0, "Europe/Berlin"))
    email = api.decide(
        headers, customer=customer["id"], brand="acme", topic="news", channel="email", send_at=noon
    )
    sms = api.decide(
        headers, customer=customer["id"], brand="acme", topic="news", channel="sms", send_at=noon
    )

    assert email["decision"] == sms["decision"] == "allow"
    url = email["unsubscribe"]["url"]
    assert url.startswith(f"{BASE}/u/")
    assert email["unsubscribe"]["headers"] == {
        "List-Unsubscribe": f"<{url}>",
        "List-Unsubscribe-Post": "List-Unsubscribe=One-Click",
    }
    assert sms["unsubscribe"] is None
    assert email["decision_id"] != sms["decision_id"]


@pytest.mark.parametrize(
    "reference",
    ["ext:nobody-at-all", "email:nobody-at-all@example.org", "tel:+4915199999999", "c_nobody"],
)
def test_a_well_formed_reference_to_no_one_is_unknown_customer_alone(
    api: Api, headers: dict[str, str], reference: str
) -> None:
    answer = api.decide(
        headers,
        customer=reference,
        brand="acme",
        topic="offers",
        channel="email",
        reserve=True,
        message_id=f"unknown-{reference[:3]}",
    )

    assert set(answer) == MEMBERS
    assert answer["decision"] == "deny"
    assert answer["reasons"] == ["unknown_customer"]
    for member in ("next_allowed_at", "preferences_version", "preferences_url", "unsubscribe"):
        assert answer[member] is None
    assert answer["reserved"] is False
    with Session(api.engine) as session:
        stored = session.scalars(select(Send).where(col(Send.message_id).like("unknown-%"))).all()
    assert stored == []


def test_an_erased_customer_is_unknown(api: Api, headers: dict[str, str]) -> None:
    customer = api.customer(headers)
    assert (
        api.http.delete(f"/api/v1/customers/{customer['id']}", headers=headers).status_code == 204
    )

    answer = api.decide(
        headers, customer=customer["id"], brand="acme", topic="orders", channel="email"
    )

    assert (answer["decision"], answer["reasons"]) == ("deny", ["unknown_customer"])


@pytest.mark.parametrize(
    "reference", ["nobody", "ext:", "email:not-an-address", "tel:12", "c_no!", "fax:+4930123"]
)
def test_a_malformed_reference_is_422_at_customer(
    api: Api, headers: dict[str, str], reference: str
) -> None:
    response = post(api, headers, customer=reference, brand="acme", topic="orders", channel="email")

    assert response.status_code == 422
    assert response.headers["content-type"].startswith("application/problem+json")
    assert [e["loc"] for e in response.json()["errors"]] == [["customer"]]


@pytest.mark.parametrize(
    ("change", "field"),
    [
        ({"brand": "nope"}, "brand"),
        ({"topic": "nope"}, "topic"),
        ({"brand": "globex", "topic": "offers"}, "topic"),
        ({"channel": "push"}, "channel"),
        ({"channel": "fax"}, "channel"),
        ({"send_at": "2026-01-01T10:00:00"}, "send_at"),
        ({"colour": "red"}, "colour"),
    ],
)
def test_catalog_and_field_errors_are_422_naming_the_field(
    api: Api, headers: dict[str, str], change: dict[str, str], field: str
) -> None:
    customer = api.customer(headers)
    body = {"customer": customer["id"], "brand": "acme", "topic": "news", "channel": "email"}

    response = post(api, headers, **{**body, **change})

    assert response.status_code == 422, response.text
    assert response.headers["content-type"].startswith("application/problem+json")
    problem = response.json()
    assert problem["status"] == 422
    assert [e["loc"] for e in problem["errors"]] == [[field]]


def test_send_at_more_than_366_days_ahead_is_422(api: Api, headers: dict[str, str]) -> None:
    customer = api.customer(headers)
    body = {"customer": customer["id"], "brand": "acme", "topic": "orders", "channel": "email"}
    now = datetime.now(UTC)

    too_far = post(api, headers, **body, send_at=instant(now + timedelta(days=366, hours=1)))
    in_range = post(api, headers, **body, send_at=instant(now + timedelta(days=365)))

    assert too_far.status_code == 422
    assert [e["loc"] for e in too_far.json()["errors"]] == [["send_at"]]
    assert in_range.status_code == 200
    assert in_range.json()["decision"] == "allow"


def test_send_at_in_the_past_is_decided_without_reserve(api: Api, headers: dict[str, str]) -> None:
    customer = api.customer(headers)
    long_ago = instant(datetime.now(UTC) - timedelta(days=400))

    answer = api.decide(
        headers,
        customer=ref(customer),
        brand="acme",
        topic="news",
        channel="email",
        send_at=long_ago,
    )

    assert (answer["decision"], answer["reserved"]) == ("allow", False)
    assert send_count(api, customer["id"]) == 0


@pytest.mark.parametrize(
    ("timezone", "zone"),
    [("Europe/Berlin",) * 2, ("America/New_York",) * 2, (None, "Europe/Berlin")],
)
def test_quiet_hours_defer_to_the_end_of_the_window_in_the_customers_zone(
    api: Api, headers: dict[str, str], timezone: str | None, zone: str
) -> None:
    """Without a zone of their own, the catalog's default_timezone (Europe/Berlin) applies."""
    customer = api.customer(headers, phone=PHONE, timezone=timezone)
    day = future_day()
    body = {"customer": customer["id"], "brand": "acme", "topic": "news", "channel": "sms"}

    evening = api.decide(headers, **body, send_at=instant(local(day, 21, 30, zone)))
    morning = api.decide(headers, **body, send_at=instant(local(day, 7, 59, zone)))
    open_ = api.decide(headers, **body, send_at=instant(local(day, 8, 0, zone)))

    assert evening["decision"] == "defer"
    assert evening["reasons"] == ["quiet_hours"]
    assert evening["next_allowed_at"] == instant(local(day + timedelta(days=1), 8, 0, zone))
    assert evening["preferences_version"] == 1
    assert morning["next_allowed_at"] == instant(local(day, 8, 0, zone))
    assert (open_["decision"], open_["next_allowed_at"]) == ("allow", None)


@pytest.mark.parametrize(
    ("send_at", "next_allowed_at"),
    [
        ("2025-03-29T20:30:00Z", "2025-03-30T06:00:00Z"),  # 08:00 CEST, the night clocks go on
        ("2025-10-25T19:30:00Z", "2025-10-26T07:00:00Z"),  # 08:00 CET, the night they go back
    ],
)
def test_quiet_hours_end_at_the_zones_real_offset(
    api: Api, headers: dict[str, str], send_at: str, next_allowed_at: str
) -> None:
    customer = api.customer(headers, phone=PHONE, timezone="Europe/Berlin")

    answer = api.decide(
        headers, customer=customer["id"], brand="acme", topic="news", channel="sms", send_at=send_at
    )

    assert (answer["decision"], answer["next_allowed_at"]) == ("defer", next_allowed_at)


def test_every_failing_deny_rule_is_reported_in_order(api: Api, headers: dict[str, str]) -> None:
    customer = api.customer(headers)
    body = {
        "channels": {"email": {"enabled": False}},
        "brands": {"acme": {"topics": {"offers": {"choice": "off"}}}},
    }
    patched = api.patch(headers, customer["id"], body)
    assert patched.status_code == 200, patched.text

    no_phone = api.decide(
        headers, customer=customer["id"], brand="acme", topic="offers", channel="sms"
    )
    email = api.decide(
        headers, customer=customer["id"], brand="acme", topic="offers", channel="email"
    )
    essential = api.decide(
        headers, customer=customer["id"], brand="acme", topic="orders", channel="email"
    )

    assert no_phone["reasons"] == ["no_address", "topic_off", "no_consent"]
    assert email["reasons"] == ["channel_off", "topic_off", "no_consent"]
    assert (essential["decision"], essential["reasons"]) == ("deny", ["channel_off"])
    assert email["preferences_version"] == patched.json()["version"] == 2


def test_a_brand_limited_client_gets_403_for_another_brand(
    api: Api, headers: dict[str, str]
) -> None:
    customer = api.customer(headers)
    limited = api.token(["decisions"], brands=["globex"])
    body = {"customer": customer["id"], "topic": "news", "channel": "email"}

    other = post(api, limited, **body, brand="acme", reserve=True, message_id="limited-1")
    own = post(api, limited, customer=customer["id"], brand="globex", topic="tips", channel="email")

    assert other.status_code == 403
    assert other.headers["content-type"].startswith("application/problem+json")
    assert other.headers["www-authenticate"].startswith("Bearer")
    assert own.status_code == 200
    assert own.json()["decision"] == "allow"
    assert send_count(api, customer["id"]) == 0


@pytest.mark.parametrize(
    "url", ["postgresql+psycopg://nobody@127.0.0.1:1/cmr", "sqlite:///{tmp}/missing/dir/cmr.db"]
)
def test_decisions_fail_closed_with_503_when_the_database_is_unreachable(
    tmp_path: Path, url: str
) -> None:
    settings = api_settings(url.format(tmp=tmp_path), tmp_path)
    token = issue_token(
        keys=Keys.from_settings(settings),
        issuer=settings.base_url,
        client_id="cl_unreachable",
        scopes=["decisions"],
        ttl_seconds=600,
    )
    body = {"customer": "ext:x", "brand": "acme", "topic": "orders", "channel": "email"}

    with TestClient(create_app(settings), base_url=BASE) as http:
        one = http.post(
            "/api/v1/decisions", json=body, headers={"Authorization": f"Bearer {token}"}
        )
        batch = http.post(
            "/api/v1/decisions/batch",
            json={"items": [body]},
            headers={"Authorization": f"Bearer {token}"},
        )

    for response in (one, batch):
        assert response.status_code == 503
        assert response.headers["content-type"].startswith("application/problem+json")
        assert response.json()["status"] == 503
        assert "allow" not in response.text
