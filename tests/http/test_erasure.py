"""DELETE /api/v1/customers/{ref} (erasure, tombstones) and GET …/export."""

from __future__ import annotations

import uuid
from datetime import UTC, datetime, timedelta
from typing import Any

import pytest
from sqlalchemy import func, select
from sqlalchemy.orm import Session
from sqlmodel import col

from app.models import Customer, CustomerKey, Preference, Send
from app.models.send import SENT
from tests.api import Api

H = dict[str, str]
EVIDENCE = {"source": "checkout-form", "ip": "203.0.113.9", "user_agent": "Mozilla/5.0"}


@pytest.fixture(scope="module")
def headers(api: Api) -> H:
    """One token for the module: making a client hashes its secret, which is slow."""
    return api.token()


def record_send(
    api: Api, headers: H, customer_id: str, topic: str = "news", brand: str = "acme"
) -> str:
    message_id = f"m-{uuid.uuid4().hex[:10]}"
    sent_at = (datetime.now(UTC) - timedelta(hours=1)).isoformat()
    item = {
        "customer": customer_id,
        "brand": brand,
        "topic": topic,
        "channel": "email",
        "sent_at": sent_at,
        "message_id": message_id,
    }
    response = api.http.post("/api/v1/sends", json={"items": [item]}, headers=headers)
    assert response.status_code == 201, response.text
    return message_id


def audit_items(api: Api, headers: H, customer_id: str) -> list[dict[str, Any]]:
    response = api.http.get(f"/api/v1/audit?customer={customer_id}&limit=1000", headers=headers)
    assert response.status_code == 200, response.text
    items: list[dict[str, Any]] = response.json()["items"]
    return items


def all_changes(api: Api, headers: H) -> list[dict[str, Any]]:
    items: list[dict[str, Any]] = []
    cursor = None
    while True:
        query = "/api/v1/changes?limit=1000" + (f"&after={cursor}" if cursor else "")
        page = api.http.get(query, headers=headers).json()
        items.extend(page["items"])
        if not page["items"]:
            return items
        cursor = page["next_cursor"]


def test_erasure_removes_identity_sends_and_key_and_keeps_the_audit(api: Api, headers: H) -> None:
    customer = api.customer(headers, phone="+4915112340001", locale="de")
    record_send(api, headers, customer["id"])

    response = api.http.delete(f"/api/v1/customers/{customer['id']}", headers=headers)

    assert response.status_code == 204, response.text
    assert api.http.get(f"/api/v1/customers/{customer['id']}", headers=headers).status_code == 404
    by_email = api.http.get(f"/api/v1/customers/email:{customer['email']}", headers=headers)
    assert by_email.status_code == 404
    with Session(api.engine) as session:
        row = session.get(Customer, customer["id"])
        assert row is not None
        assert row.erased_at is not None
        assert (row.external_id, row.email, row.phone, row.locale) == (None, None, None, None)
        assert session.get(CustomerKey, customer["id"]) is None
        assert session.get(Preference, customer["id"]) is None
        sends = select(func.count()).where(col(Send.customer_id) == customer["id"])
        assert session.scalar(sends) == 0
    events = audit_items(api, headers, customer["id"])
    created = next(e for e in events if e["action"] == "customer.created")
    assert created["after"]["email"] == "erased"
    assert created["after"]["id"] == customer["id"]
    assert events[-1]["action"] == "customer.erased"
    assert again_404(api, headers, customer["id"])


def again_404(api: Api, headers: H, customer_id: str) -> bool:
    return api.http.delete(f"/api/v1/customers/{customer_id}", headers=headers).status_code == 404


def test_erasure_appears_in_the_changes_feed(api: Api, headers: H) -> None:
    customer = api.customer(headers)

    api.http.delete(f"/api/v1/customers/ext:{customer['external_id']}", headers=headers)

    erased = [
        e
        for e in all_changes(api, headers)
        if e["action"] == "customer.erased" and e["customer"]["id"] == customer["id"]
    ]
    assert len(erased) == 1
    assert erased[0]["customer"]["external_id"] is None


def test_a_customer_created_again_after_erasure_starts_with_no_marketing(
    api: Api, headers: H
) -> None:
    first = api.customer(headers, phone="+4915112340002")
    api.http.delete(f"/api/v1/customers/{first['id']}", headers=headers)
    fresh = api.customer(headers)

    by_ext = api.http.put(
        f"/api/v1/customers/ext:{first['external_id']}", json={}, headers=headers
    ).json()
    by_email = api.http.put(
        f"/api/v1/customers/email:{first['email'].upper()}", json={}, headers=headers
    )
    by_phone = api.customer(headers, phone="+49 151 12340002")

    for created in (by_ext, by_email.json(), by_phone):
        document = api.http.get(f"/api/v1/customers/{created['id']}/preferences", headers=headers)
        assert document.json()["no_marketing"] is True, created
    assert by_email.status_code == 201, by_email.text
    fresh_doc = api.http.get(f"/api/v1/customers/{fresh['id']}/preferences", headers=headers)
    assert fresh_doc.json()["no_marketing"] is False


def test_erasure_needs_the_erase_scope(api: Api) -> None:
    writer = api.token(["customers:write", "customers:read"])
    customer = api.customer(writer)

    response = api.http.delete(f"/api/v1/customers/{customer['id']}", headers=writer)

    assert response.status_code == 403, response.text
    assert api.http.get(f"/api/v1/customers/{customer['id']}", headers=writer).status_code == 200


def test_export_holds_identity_preferences_sends_and_history(api: Api, headers: H) -> None:
    customer = api.customer(headers, locale="de")
    message_id = record_send(api, headers, customer["id"])
    patch = {"brands": {"acme": {"topics": {"offers": {"choice": "on"}}}}, "evidence": EVIDENCE}
    assert api.patch(headers, customer["id"], patch).status_code == 200

    response = api.http.get(f"/api/v1/customers/{customer['id']}/export", headers=headers)

    assert response.status_code == 200, response.text
    export = response.json()
    assert export["customer"] == customer
    offers = export["preferences"]["brands"]["acme"]["topics"]["offers"]
    assert offers["choice"] == "on"
    assert set(offers["consents"]) == {"email", "sms"}
    assert export["preferences"]["version"] == 2
    assert export["preferences"]["no_marketing"] is False
    assert [(s["message_id"], s["status"], s["topic"]) for s in export["sends"]] == [
        (message_id, SENT, "news")
    ]
    actions = [e["action"] for e in export["history"]]
    assert actions == ["customer.created", "consent.given"]
    assert export["history"][1]["evidence"]["ip"] == "203.0.113.9"


def test_export_of_an_unknown_customer_is_404(api: Api, headers: H) -> None:
    response = api.http.get(f"/api/v1/customers/ext:{uuid.uuid4().hex}/export", headers=headers)

    assert response.status_code == 404, response.text


def test_a_brand_limited_client_exports_only_its_brands(api: Api, headers: H) -> None:
    customer = api.customer(headers)
    record_send(api, headers, customer["id"], "news")
    record_send(api, headers, customer["id"], "tips", brand="globex")
    narrowing = {"brands": {"acme": {"depth": "essentials"}, "globex": {"depth": "light"}}}
    assert api.patch(headers, customer["id"], narrowing).status_code == 200
    acme = api.token(["customers:read"], brands=["acme"])

    export = api.http.get(f"/api/v1/customers/{customer['id']}/export", headers=acme).json()

    assert export["preferences"]["brands"] == {"acme": {"depth": "essentials"}}
    assert [s["brand"] for s in export["sends"]] == ["acme"]
    updated = next(e for e in export["history"] if e["action"] == "preferences.updated")
    assert updated["after"]["brands"] == {"acme": {"depth": "essentials"}}
