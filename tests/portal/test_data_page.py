"""Your data: what is held, the JSON download, and erasure with a confirmation step."""

from __future__ import annotations

import html
import json
import uuid
from typing import Any

from sqlalchemy import func, select
from sqlalchemy.orm import Session
from sqlmodel import col

from app.models import AuditEvent, Customer, Send, WebSession
from app.portal.deps import SESSION_COOKIE
from tests.portal.helpers import Portal, csrf_of


def _reserve(portal: Portal, customer: dict[str, Any]) -> str:
    message_id = f"m-{uuid.uuid4().hex[:10]}"
    answer = portal.decision(
        customer, brand="acme", topic="orders", channel="email", reserve=True, message_id=message_id
    )
    assert answer["reserved"] is True, answer
    return message_id


def test_the_page_shows_what_is_held(portal: Portal) -> None:
    customer, client = portal.signed_in_customer(phone="+4915112345678", timezone="Europe/Paris")
    response = client.get("/data")
    assert response.status_code == 200
    page = html.unescape(response.text)
    for shown in (customer["email"], "+4915112345678", "Europe/Paris", customer["external_id"]):
        assert shown in page
    assert 'href="/data/export"' in page
    assert 'action="/data/erase"' in page


def test_the_export_is_a_json_download_of_everything_held(portal: Portal) -> None:
    customer, client = portal.signed_in_customer()
    message_id = _reserve(portal, customer)
    portal.submit(client, "/", "/marketing", {"stop": "true"})
    response = client.get("/data/export")
    assert response.status_code == 200
    assert response.headers["content-type"] == "application/json"
    disposition = response.headers["content-disposition"]
    assert disposition.startswith("attachment;")
    assert ".json" in disposition
    assert response.headers["cache-control"] == "no-store"
    exported = json.loads(response.content)
    assert set(exported) == {"customer", "created_at", "preferences", "sends", "history"}
    assert exported["customer"]["id"] == customer["id"]
    assert exported["customer"]["email"] == customer["email"]
    assert exported["preferences"]["no_marketing"] is True
    assert [s["message_id"] for s in exported["sends"]] == [message_id]
    assert exported["sends"][0]["status"] == "reserved"
    actions = [event["action"] for event in exported["history"]]
    assert actions == ["customer.created", "preferences.updated"]
    assert exported["history"][0]["after"]["email"] == customer["email"]  # unsealed
    assert exported["history"][1]["source"] == "portal"
    api = portal.http.get(f"/api/v1/customers/{customer['id']}/export", headers=portal.headers)
    assert api.json() == exported


def test_a_customer_never_sees_another_customers_data(portal: Portal) -> None:
    first, first_client = portal.signed_in_customer()
    second, second_client = portal.signed_in_customer()
    _reserve(portal, second)
    shown = first_client.get("/data").text
    exported = first_client.get("/data/export").text
    for text in (shown, exported):
        assert first["email"] in text
        assert second["email"] not in text
        assert second["id"] not in text
    assert second["email"] in second_client.get("/data/export").text


def test_a_preference_link_session_gets_the_sign_in_page(portal: Portal) -> None:
    customer = portal.new_customer()
    client = portal.visitor()
    url = portal.app.state.links.preferences_url(customer["id"])
    client.get(url.removeprefix(portal.settings.base_url))
    assert client.get("/").status_code == 200
    for path in ("/data", "/data/export"):
        response = client.get(path)
        assert response.status_code == 403
        assert customer["email"] not in response.text
        assert 'href="/login"' in response.text
    token = csrf_of(client.get("/").text)
    erase = client.post("/data/erase/confirm", data={"csrf_token": token})
    assert erase.status_code == 403
    assert portal.http.get(f"/api/v1/customers/{customer['id']}", headers=portal.headers).is_success


def test_erasure_asks_first_then_erases_and_ends_every_session(portal: Portal) -> None:
    customer, client = portal.signed_in_customer()
    other_device = portal.sign_in(customer["email"])
    _reserve(portal, customer)
    old_cookie = client.cookies[SESSION_COOKIE]
    token = csrf_of(client.get("/data").text)
    asked = client.post("/data/erase", data={"csrf_token": token})
    assert asked.status_code == 200
    assert 'action="/data/erase/confirm"' in asked.text
    assert "cannot be undone" in asked.text
    headers = portal.headers
    assert portal.http.get(f"/api/v1/customers/{customer['id']}", headers=headers).is_success
    done = client.post("/data/erase/confirm", data={"csrf_token": csrf_of(asked.text)})
    assert done.status_code == 200
    assert "Your account is erased" in done.text
    assert f"{SESSION_COOKIE}=" in done.headers["set-cookie"]
    assert 'action="/logout"' not in done.text
    assert (
        portal.http.get(f"/api/v1/customers/{customer['id']}", headers=headers).status_code == 404
    )
    stale = portal.visitor()
    stale.cookies.set(SESSION_COOKIE, old_cookie)
    assert stale.get("/", follow_redirects=False).status_code == 303
    assert other_device.get("/", follow_redirects=False).status_code == 303
    assert other_device.get("/data").status_code == 403
    answer = portal.decision(customer, brand="acme", topic="orders", channel="email")
    assert (answer["decision"], answer["reasons"]) == ("deny", ["unknown_customer"])
    with Session(portal.engine) as session:
        row = session.get(Customer, customer["id"])
        assert row is not None
        assert row.erased_at is not None
        assert row.email is None
        sessions = select(func.count()).where(col(WebSession.subject_id) == customer["id"])
        assert session.scalar(sessions) == 0
        sends = select(func.count()).where(col(Send.customer_id) == customer["id"])
        assert session.scalar(sends) == 0
        erased = session.scalars(
            select(AuditEvent).where(
                col(AuditEvent.customer_id) == customer["id"],
                col(AuditEvent.action) == "customer.erased",
            )
        ).one()
        assert (erased.actor_type, erased.actor_id, erased.source) == (
            "customer",
            customer["id"],
            "portal",
        )


def test_erasure_without_the_form_token_changes_nothing(portal: Portal) -> None:
    customer, client = portal.signed_in_customer()
    for data in ({}, {"csrf_token": "0" * 64}):
        for path in ("/data/erase", "/data/erase/confirm"):
            response = client.post(path, data=data)
            assert response.status_code == 403
            assert "Your account is erased" not in response.text
    other, _other_client = portal.signed_in_customer()
    their_token = csrf_of(_other_client.get("/data").text)
    stolen = client.post("/data/erase/confirm", data={"csrf_token": their_token})
    assert stolen.status_code == 403
    headers = portal.headers
    for someone in (customer, other):
        assert portal.http.get(f"/api/v1/customers/{someone['id']}", headers=headers).is_success
    assert client.get("/data").status_code == 200
