"""GET /api/v1/changes and /api/v1/audit: order, cursors, limits, shape, filters, scopes."""

from __future__ import annotations

import json
import uuid
from typing import Any

import httpx
import pytest

from tests.api import Api

EVENT_KEYS = {
    "id",
    "at",
    "actor",
    "source",
    "action",
    "customer",
    "before",
    "after",
    "reason",
    "evidence",
    "hash",
    "prev_hash",
}


def get(api: Api, headers: dict[str, str], path: str, **params: Any) -> httpx.Response:
    return api.http.get(f"/api/v1/{path}", params=params, headers=headers)


def page(api: Api, headers: dict[str, str], path: str, **params: Any) -> dict[str, Any]:
    response = get(api, headers, path, **params)
    assert response.status_code == 200, response.text
    body: dict[str, Any] = response.json()
    assert set(body) == {"items", "next_cursor"}
    return body


def end_cursor(api: Api, headers: dict[str, str]) -> str:
    """The cursor after the last event of the changes feed."""
    body = page(api, headers, "changes", limit=1000)
    while body["items"]:
        body = page(api, headers, "changes", after=body["next_cursor"], limit=1000)
    cursor: str = body["next_cursor"]
    return cursor


def follow(api: Api, headers: dict[str, str], cursor: str, limit: int) -> list[dict[str, Any]]:
    """Every event after `cursor`, `limit` at a time."""
    events: list[dict[str, Any]] = []
    while True:
        body = page(api, headers, "changes", after=cursor, limit=limit)
        if not body["items"]:
            assert body["next_cursor"] == cursor
            return events
        assert len(body["items"]) <= limit
        events.extend(body["items"])
        cursor = body["next_cursor"]


def customer_with_history(api: Api, headers: dict[str, str]) -> dict[str, Any]:
    """A customer created, with a new email and phone, and narrowed preferences."""
    customer = api.customer(headers, phone=f"+49151{uuid.uuid4().int % 10**8:08d}")
    email = f"new-{uuid.uuid4().hex[:10]}@example.org"
    updated = api.http.put(
        f"/api/v1/customers/{customer['id']}", json={"email": email}, headers=headers
    )
    assert updated.status_code == 200, updated.text
    patched = api.patch(headers, customer["id"], {"brands": {"acme": {"depth": "essentials"}}})
    assert patched.status_code == 200, patched.text
    return updated.json()


def test_changes_are_oldest_first_and_paging_returns_every_event_once(
    api: Api, headers: dict[str, str]
) -> None:
    cursor = end_cursor(api, headers)
    customers = [api.customer(headers) for _ in range(9)]

    events = follow(api, headers, cursor, limit=4)

    ids = [int(e["id"]) for e in events]
    assert ids == sorted(set(ids))
    assert [e["customer"]["id"] for e in events] == [c["id"] for c in customers]
    assert {e["action"] for e in events} == {"customer.created"}


def test_next_cursor_is_the_same_when_nothing_is_new(api: Api, headers: dict[str, str]) -> None:
    cursor = end_cursor(api, headers)

    body = page(api, headers, "changes", after=cursor)

    assert body == {"items": [], "next_cursor": cursor}


def test_limit_defaults_to_100_and_is_at_most_1000(api: Api, headers: dict[str, str]) -> None:
    start = end_cursor(api, headers)
    for _ in range(101):
        api.customer(headers)

    assert len(page(api, headers, "changes", after=start)["items"]) == 100
    assert len(page(api, headers, "changes", after=start, limit=1000)["items"]) == 101
    for bad in (0, 1001, "many"):
        response = get(api, headers, "changes", limit=bad)
        assert response.status_code == 422, response.text
        assert response.headers["content-type"] == "application/problem+json"
        assert response.json()["errors"][0]["loc"] == ["limit"]


@pytest.mark.parametrize("path", ["changes", "audit"])
def test_a_cursor_the_service_did_not_issue_is_422(
    api: Api, headers: dict[str, str], path: str
) -> None:
    issued: str = page(api, headers, path, limit=1)["next_cursor"]
    altered = issued[:-1] + ("A" if issued[-1] != "A" else "B")

    for forged in ("1", "not-a-cursor", "A" * 32, altered):
        response = get(api, headers, path, after=forged)
        assert response.status_code == 422, (forged, response.text)
        assert response.json()["errors"][0]["loc"] == ["after"]


def test_changes_events_have_the_spec_shape_and_no_personal_data(
    api: Api, headers: dict[str, str]
) -> None:
    cursor = end_cursor(api, headers)
    customer = customer_with_history(api, headers)

    events = follow(api, headers, cursor, limit=100)

    assert [e["action"] for e in events] == [
        "customer.created",
        "customer.updated",
        "preferences.updated",
    ]
    for event in events:
        assert set(event) == EVENT_KEYS
        assert event["customer"] == {"id": customer["id"], "external_id": customer["external_id"]}
        assert event["actor"]["type"] == "client"
        assert event["source"] == "api"
        assert len(event["hash"]) == 64
    assert [e["prev_hash"] for e in events[1:]] == [e["hash"] for e in events[:-1]]
    text = json.dumps(events)
    assert customer["email"] not in text
    assert customer["phone"] not in text
    preferences = events[-1]
    assert "customer" not in preferences["before"]
    assert "customer" not in preferences["after"]
    assert preferences["after"]["brands"]["acme"]["depth"] == "essentials"


def test_catalog_and_client_events_are_not_in_the_changes_feed(
    api: Api, headers: dict[str, str]
) -> None:
    listed = page(api, headers, "audit", action="catalog.*", limit=1000)["items"]
    assert listed
    assert {e["action"].split(".")[0] for e in listed} == {"catalog"}

    actions = {
        e["action"]
        for e in follow(api, headers, page(api, headers, "changes", limit=1)["next_cursor"], 1000)
    }

    assert not {a for a in actions if a.startswith(("catalog.", "client.", "admin."))}


def test_the_audit_listing_filters_and_unseals(api: Api, headers: dict[str, str]) -> None:
    customer = customer_with_history(api, headers)

    for ref in (
        customer["id"],
        f"ext:{customer['external_id']}",
        f"email:{customer['email'].upper()}",
        f"tel:{customer['phone']}",
    ):
        items = page(api, headers, "audit", customer=ref)["items"]
        assert [e["action"] for e in items] == [
            "customer.created",
            "customer.updated",
            "preferences.updated",
        ], ref
    created = page(api, headers, "audit", customer=customer["id"], action="customer.created")
    assert created["items"][0]["after"]["phone"] == customer["phone"]
    updated = page(api, headers, "audit", customer=customer["id"], action="customer.*")["items"]
    assert [e["after"]["email"] for e in updated][-1] == customer["email"]
    preferences = page(api, headers, "audit", customer=customer["id"], action="preferences.updated")
    assert preferences["items"][0]["after"]["brands"] == {"acme": {"depth": "essentials"}}


def test_the_audit_listing_filters_by_actor_source_and_time(api: Api) -> None:
    client_id, secret = api.client()
    token = api.http.post(
        "/oauth/token", data={"grant_type": "client_credentials"}, auth=(client_id, secret)
    )
    headers = {"Authorization": f"Bearer {token.json()['access_token']}"}
    customer = customer_with_history(api, headers)
    mine = page(api, headers, "audit", actor=f"client:{client_id}")["items"]
    assert [e["action"] for e in mine] == [
        "customer.created",
        "customer.updated",
        "preferences.updated",
    ]
    assert page(api, headers, "audit", customer=customer["id"], source="portal")["items"] == []
    assert len(page(api, headers, "audit", customer=customer["id"], source="api")["items"]) == 3
    assert page(api, headers, "audit", actor="cli", action="catalog.*")["items"]

    second = mine[1]["at"]
    since = page(api, headers, "audit", customer=customer["id"], since=second)["items"]
    until = page(api, headers, "audit", customer=customer["id"], until=second)["items"]

    assert [e["id"] for e in since] == [e["id"] for e in mine[1:]]
    assert [e["id"] for e in until] == [mine[0]["id"]]
    naive = get(api, headers, "audit", since="2026-01-01T00:00:00")
    assert naive.status_code == 422
    assert naive.json()["errors"][0]["loc"] == ["since"]


def test_the_audit_listing_pages_with_cursors(api: Api, headers: dict[str, str]) -> None:
    customer = customer_with_history(api, headers)
    first = page(api, headers, "audit", customer=customer["id"], limit=2)
    second = page(
        api, headers, "audit", customer=customer["id"], limit=2, after=first["next_cursor"]
    )
    last = page(
        api, headers, "audit", customer=customer["id"], limit=2, after=second["next_cursor"]
    )

    assert len(first["items"]) == 2
    assert len(second["items"]) == 1
    assert last == {"items": [], "next_cursor": second["next_cursor"]}


def test_an_unknown_customer_lists_nothing_and_a_malformed_one_is_422(
    api: Api, headers: dict[str, str]
) -> None:
    assert page(api, headers, "audit", customer="ext:nobody-at-all")["items"] == []
    response = get(api, headers, "audit", customer="email:not-an-address")
    assert response.status_code == 422
    assert response.json()["errors"][0]["loc"] == ["customer"]


@pytest.mark.parametrize(("path", "scope"), [("changes", "changes:read"), ("audit", "audit:read")])
def test_each_feed_needs_its_scope(api: Api, path: str, scope: str) -> None:
    other = "audit:read" if scope == "changes:read" else "changes:read"

    refused = get(api, api.token(scopes=[other]), path)
    allowed = get(api, api.token(scopes=[scope]), path)

    assert refused.status_code == 403
    assert refused.headers["content-type"] == "application/problem+json"
    assert 'error="insufficient_scope"' in refused.headers["www-authenticate"]
    assert allowed.status_code == 200


def test_a_brand_limited_client_sees_only_its_brands(api: Api, headers: dict[str, str]) -> None:
    limited = api.token(scopes=["changes:read", "audit:read"], brands=["globex"])
    cursor = end_cursor(api, limited)
    customer = api.customer(headers)
    body = {"brands": {"acme": {"depth": "essentials"}, "globex": {"depth": "light"}}}
    assert api.patch(headers, customer["id"], body).status_code == 200
    item = {"channel": "email", "address": customer["email"], "reason": "stop", "brand": "acme"}
    assert api.http.post("/api/v1/suppressions", json={"items": [item]}, headers=headers).is_success
    listed = page(api, limited, "audit", customer=customer["id"], limit=1)
    listed_rest = page(api, limited, "audit", customer=customer["id"], after=listed["next_cursor"])

    changed = follow(api, limited, cursor, limit=100)

    audited = listed["items"] + listed_rest["items"]
    for events in (changed, audited):
        assert [e["action"] for e in events] == ["customer.created", "preferences.updated"]
        assert events[1]["after"]["brands"] == {"globex": {"depth": "light"}}
    everything = page(api, headers, "audit", customer=customer["id"])["items"]
    assert [e["action"] for e in everything][-1] == "suppression.added"
