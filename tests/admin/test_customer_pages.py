"""The console's customer pages: look-up, the customer now and at a moment, support's changes."""

from __future__ import annotations

import html
import json
import re
import uuid
from datetime import datetime, time, timedelta
from typing import Any
from zoneinfo import ZoneInfo

import pytest
from fastapi.testclient import TestClient
from sqlalchemy import select
from sqlmodel import col

from app.audit import event_views
from app.auth.admins import find_admin
from app.consent.context import Context
from app.db import read_session
from app.format import format_instant
from app.models import AuditEvent, Preference, utcnow
from app.plain.relationship import brand_cards
from tests.admin.helpers import Console
from tests.portal.helpers import Portal, csrf_of

PAGE = "/admin/customers"
REASON = "Customer called on 2026-11-20, ticket 4711"
_PAST_JSON = re.compile(r'<pre id="past-json">(.*?)</pre>', re.S)


@pytest.fixture(scope="module")
def auditor(console: Console) -> TestClient:
    return console.sign_in("auditor")


@pytest.fixture(scope="module")
def support_email(console: Console) -> str:
    return console.account("support")


@pytest.fixture(scope="module")
def support(console: Console, support_email: str) -> TestClient:
    return console.sign_in_as(support_email)


@pytest.fixture(scope="module")
def headers(console: Console) -> dict[str, str]:
    return console.token()


def unique_phone() -> str:
    return "+49151" + str(uuid.uuid4().int)[:8]


def page_of(client: TestClient, customer_id: str, **params: str) -> str:
    response = client.get(f"{PAGE}/{customer_id}", params=params)
    assert response.status_code == 200, response.text
    return html.unescape(response.text)


def change(console: Console, client: TestClient, customer_id: str, **data: str) -> Any:
    """Post a change form of the customer's page."""
    page = f"{PAGE}/{customer_id}"
    return console.submit(client, page, f"{page}/preferences", data)


def document(console: Console, customer_id: str) -> tuple[dict[str, Any], int]:
    with read_session(console.engine) as session:
        preference = session.get(Preference, customer_id)
        assert preference is not None
        return dict(preference.document), preference.version


def last_event(console: Console, customer_id: str) -> dict[str, Any]:
    """The customer's newest event, personal data unsealed."""
    ctx = Context.from_settings(console.settings)
    with read_session(console.engine) as session:
        event = session.scalars(
            select(AuditEvent)
            .where(col(AuditEvent.customer_id) == customer_id)
            .order_by(col(AuditEvent.id).desc())
            .limit(1)
        ).one()
        return event_views(session, ctx.sealer, [event], unseal=True)[0]


def test_lookup_by_every_kind_of_reference_opens_the_customer(
    console: Console, auditor: TestClient, headers: dict[str, str]
) -> None:
    customer = console.customer(headers, phone=unique_phone())
    for ref in (
        customer["id"],
        f"ext:{customer['external_id']}",
        f"email:{customer['email'].upper()}",
        f"tel:{customer['phone']}",
    ):
        found = auditor.get(PAGE, params={"ref": ref}, follow_redirects=False)
        assert found.status_code == 303, ref
        assert found.headers["location"] == f"{PAGE}/{customer['id']}"
    shown = page_of(auditor, customer["id"])
    assert customer["email"] in shown
    assert customer["phone"] in shown
    assert f'href="/admin/audit?customer={customer["id"]}"' in shown


def test_a_phone_number_of_several_customers_lists_them(
    console: Console, auditor: TestClient, headers: dict[str, str]
) -> None:
    phone = unique_phone()
    first = console.customer(headers, phone=phone)
    second = console.customer(headers, phone=phone)
    listed = auditor.get(PAGE, params={"ref": f"tel:{phone}"})
    assert listed.status_code == 200
    assert f'href="{PAGE}/{first["id"]}"' in listed.text
    assert f'href="{PAGE}/{second["id"]}"' in listed.text


def test_unknown_and_malformed_references(auditor: TestClient) -> None:
    assert auditor.get(PAGE).status_code == 200
    for ref in ("ext:nobody-at-all", "email:nobody@example.org", "c_unknown0000"):
        response = auditor.get(PAGE, params={"ref": ref})
        assert response.status_code == 404, ref
        assert 'id="ref-error"' in response.text
    malformed = auditor.get(PAGE, params={"ref": "not a reference"})
    assert malformed.status_code == 422
    assert 'id="ref-error"' in malformed.text
    assert auditor.get(f"{PAGE}/c_unknown0000").status_code == 404


def test_an_erased_customer_is_found_by_id_only_and_shows_erased(
    console: Console, auditor: TestClient, headers: dict[str, str]
) -> None:
    customer = console.customer(headers)
    console.patch(headers, customer["id"], {"no_marketing": True})
    erased = console.http.delete(f"/api/v1/customers/{customer['id']}", headers=headers)
    assert erased.status_code == 204
    assert auditor.get(PAGE, params={"ref": f"ext:{customer['external_id']}"}).status_code == 404
    found = auditor.get(PAGE, params={"ref": customer["id"]})
    assert found.status_code == 200  # followed to the page
    assert 'id="erased"' in found.text
    assert customer["email"] not in found.text
    # The settings before erasure are still told; the identity is "erased" (the key is gone).
    past = page_of(auditor, customer["id"], at=format_instant(utcnow()).removesuffix("Z"))
    assert 'id="past-erased"' in past
    before = _events(console, customer["id"])[-2]["at"]
    shown = page_of(auditor, customer["id"], at=before.removesuffix("Z"))
    rebuilt = json.loads(_PAST_JSON.findall(shown)[0])
    assert rebuilt["no_marketing"] is True
    assert rebuilt["customer"]["email"] == "erased"


def _events(console: Console, customer_id: str) -> list[dict[str, Any]]:
    ctx = Context.from_settings(console.settings)
    with read_session(console.engine) as session:
        events = session.scalars(
            select(AuditEvent)
            .where(col(AuditEvent.customer_id) == customer_id)
            .order_by(col(AuditEvent.id))
        ).all()
        return event_views(session, ctx.sealer, events, unseal=True)


def test_the_page_says_the_preferences_as_the_portal_does_and_lists_sends(
    console: Console, auditor: TestClient, headers: dict[str, str]
) -> None:
    customer = console.customer(headers, phone=unique_phone())
    console.patch(headers, customer["id"], {"channels": {"sms": {"enabled": False}}})
    sent = console.http.post(
        "/api/v1/sends",
        json={
            "items": [
                {
                    "customer": customer["id"],
                    "brand": "acme",
                    "topic": "news",
                    "channel": "email",
                    "sent_at": "2026-01-05T09:30:00Z",
                    "message_id": f"m-{uuid.uuid4().hex[:10]}",
                }
            ]
        },
        headers=headers,
    )
    assert sent.status_code == 201, sent.text
    ctx = Context.from_settings(console.settings)
    with read_session(console.engine) as session:
        cards = brand_cards(session, ctx=ctx, customer_id=customer["id"], now=utcnow())
    shown = page_of(auditor, customer["id"])
    for card in cards:
        assert card.summary in shown
    assert "Messages by SMS: off" in shown
    sends = shown.split('id="sends"', 1)[1].split("</table>", 1)[0]
    assert "2026-01-05T09:30:00Z" in sends
    assert "Acme Outdoors" in sends
    assert "News" in sends
    assert "sent" in sends


def test_an_auditor_sees_no_change_form_and_is_refused(
    console: Console, auditor: TestClient, headers: dict[str, str]
) -> None:
    customer = console.customer(headers)
    shown = page_of(auditor, customer["id"])
    assert f'action="{PAGE}/{customer["id"]}/preferences"' not in shown
    assert 'id="change"' not in shown
    before = document(console, customer["id"])
    refused = auditor.post(
        f"{PAGE}/{customer['id']}/preferences",
        data={
            "csrf_token": csrf_of(shown),
            "kind": "stop",
            "reason": REASON,
        },
    )
    assert refused.status_code == 403
    assert document(console, customer["id"]) == before


def test_a_support_change_records_the_admin_the_source_and_the_reason(
    console: Console, support: TestClient, support_email: str, headers: dict[str, str]
) -> None:
    customer = console.customer(headers)
    done = change(
        console, support, customer["id"], kind="topic", topic="acme/news", choice="off",
        reason=REASON,
    )  # fmt: skip
    assert done.status_code == 303, done.text
    assert done.headers["location"] == f"{PAGE}/{customer['id']}?saved=changed"
    stored, _version = document(console, customer["id"])
    assert stored["brands"]["acme"]["topics"]["news"]["choice"] == "off"
    event = last_event(console, customer["id"])
    with read_session(console.engine) as session:
        admin = find_admin(session, support_email)
        assert admin is not None
        admin_id = admin.id
    assert event["actor"] == {"type": "admin", "id": admin_id}
    assert event["source"] == "admin"
    assert event["reason"] == REASON
    assert event["evidence"] is None  # narrowing needs none


def test_the_structured_forms_set_depth_pause_and_topic_choices(
    console: Console, support: TestClient, headers: dict[str, str]
) -> None:
    ref = console.customer(headers, timezone="America/New_York")["id"]
    assert 'id="change"' in page_of(support, ref)

    def ok(**data: str) -> None:
        response = change(console, support, ref, reason=REASON, **data)
        assert response.status_code == 303, response.text

    last_day = (utcnow() + timedelta(days=30)).date()
    ok(kind="depth", brand="acme", depth="essentials")
    ok(kind="pause", until=last_day.isoformat())
    ok(kind="topic", topic="acme/news", choice="off")
    stored, _version = document(console, ref)
    assert stored["brands"]["acme"]["depth"] == "essentials"
    assert stored["brands"]["acme"]["topics"]["news"] == {"choice": "off"}
    new_york_midnight = datetime.combine(
        last_day + timedelta(days=1), time(), tzinfo=ZoneInfo("America/New_York")
    )
    assert stored["paused_until"] == format_instant(new_york_midnight)

    # Back to the standard depth: loosening, so recorded as the customer's request.
    ok(kind="depth", brand="acme", depth="standard")
    assert last_event(console, ref)["evidence"]["source"] == "support"
    ok(kind="topic", topic="acme/news", choice="depth")
    ok(kind="pause", until="")
    assert document(console, ref)[0] == {}

    for data, field in (
        ({"kind": "topic", "topic": "acme/orders", "choice": "off"}, "topic"),  # essential
        ({"kind": "topic", "topic": "acme/news", "choice": "maybe"}, "topic-choice"),
        ({"kind": "depth", "brand": "nope", "depth": "close"}, "depth-brand"),
        ({"kind": "depth", "brand": "acme", "depth": "deep"}, "depth"),
        ({"kind": "pause", "until": "2000-01-01"}, "pause-until"),
        ({"kind": "pause", "until": "soon"}, "pause-until"),
    ):
        refused = change(console, support, ref, reason=REASON, **data)
        assert refused.status_code == 422, data
        assert f'id="{field}-error"' in refused.text
    assert document(console, ref)[0] == {}


def test_a_loosening_change_is_the_customers_request_seen_in_their_history(
    console: Console, support: TestClient, headers: dict[str, str]
) -> None:
    customer = console.customer(headers)
    done = change(
        console, support, customer["id"], kind="topic", topic="acme/offers", choice="on",
        reason=REASON,
    )  # fmt: skip
    assert done.status_code == 303, done.text
    event = last_event(console, customer["id"])
    assert event["action"] == "preferences.updated"
    assert event["evidence"]["source"] == "support"
    assert event["evidence"]["text"] == REASON
    assert event["reason"] == REASON
    stored, _version = document(console, customer["id"])
    offers = stored["brands"]["acme"]["topics"]["offers"]
    assert offers["choice"] == "on"
    assert "consents" not in offers  # consent stays the customer's own tick

    portal = Portal(
        app=console.app, http=console.http, engine=console.engine, settings=console.settings
    )
    history = portal.sign_in(customer["email"]).get("/history")
    assert history.status_code == 200
    assert f"Support on your behalf: {REASON}" in html.unescape(history.text)


def test_a_change_without_a_reason_is_shown_again_with_422(
    console: Console, support: TestClient, headers: dict[str, str]
) -> None:
    customer = console.customer(headers)
    before = document(console, customer["id"])
    for kind, data in (
        ("stop", {}),
        ("patch", {"patch": '{"global_cap": {"count": 2, "period_days": 7}}'}),
        ("depth", {"brand": "acme", "depth": "essentials"}),
    ):
        refused = change(console, support, customer["id"], kind=kind, reason="  ", **data)
        assert refused.status_code == 422, kind
        assert f'id="{kind}-reason-error"' in refused.text
    assert document(console, customer["id"]) == before


def test_bad_patches_are_listed_with_422_and_change_nothing(
    console: Console, support: TestClient, headers: dict[str, str]
) -> None:
    customer = console.customer(headers)
    before = document(console, customer["id"])
    not_json = change(console, support, customer["id"], kind="patch", patch="{", reason=REASON)
    assert not_json.status_code == 422
    assert 'id="patch-error"' in not_json.text
    unknown = change(
        console, support, customer["id"], kind="patch", reason=REASON,
        patch='{"brands": {"nope": {"depth": "close"}}, "version": 3}',
    )  # fmt: skip
    assert unknown.status_code == 422
    problems = html.unescape(unknown.text).split('id="change-problems"', 1)[1]
    assert "version: read-only" in problems
    evidence = change(
        console, support, customer["id"], kind="patch", reason=REASON,
        patch='{"no_marketing": true, "evidence": {"source": "me"}}',
    )  # fmt: skip
    assert evidence.status_code == 422
    assert document(console, customer["id"]) == before


def test_the_customers_objection_is_never_lifted_by_support(
    console: Console, support: TestClient, headers: dict[str, str]
) -> None:
    customer = console.customer(headers)
    stopped = change(console, support, customer["id"], kind="stop", reason=REASON)
    assert stopped.status_code == 303
    before = document(console, customer["id"])
    assert before[0]["no_marketing"] is True
    for patch in ('{"no_marketing": false}', '{"no_marketing": null}'):
        refused = change(console, support, customer["id"], kind="patch", patch=patch, reason=REASON)
        assert refused.status_code == 403, patch
        assert "only they can allow it again" in html.unescape(refused.text)
    assert document(console, customer["id"]) == before


def test_a_post_without_the_right_form_token_changes_nothing(
    console: Console, support: TestClient, headers: dict[str, str]
) -> None:
    customer = console.customer(headers)
    before = document(console, customer["id"])
    url = f"{PAGE}/{customer['id']}/preferences"
    for token in ({}, {"csrf_token": "forged"}):
        refused = support.post(url, data={"kind": "stop", "reason": REASON, **token})
        assert refused.status_code == 403
    assert document(console, customer["id"]) == before


def test_a_stale_page_changes_nothing(
    console: Console, support: TestClient, headers: dict[str, str]
) -> None:
    customer = console.customer(headers)
    _doc, version = document(console, customer["id"])
    console.patch(headers, customer["id"], {"global_cap": {"count": 5, "period_days": 7}})
    stale = change(
        console, support, customer["id"], kind="stop", reason=REASON, version=str(version)
    )
    assert stale.status_code == 409
    assert document(console, customer["id"])[0].get("no_marketing") is None


def _moment(first: str, second: str) -> str:
    """A datetime-local value (UTC) halfway between two instants of events."""
    a, b = (datetime.fromisoformat(value.replace("Z", "+00:00")) for value in (first, second))
    assert a < b
    return format_instant(a + (b - a) / 2).removesuffix("Z")


def _rebuilt(page: str) -> dict[str, Any]:
    found: dict[str, Any] = json.loads(_PAST_JSON.findall(page)[0])
    return found


def test_the_settings_at_a_moment_are_rebuilt_from_the_audit_trail(
    console: Console, auditor: TestClient, support: TestClient, headers: dict[str, str]
) -> None:
    customer = console.customer(headers, phone=unique_phone())
    ref, old_email = customer["id"], customer["email"]
    created = _events(console, ref)[-1]["at"]
    console.patch(headers, ref, {"global_cap": {"count": 2, "period_days": 7}})
    at_first = document(console, ref)[0]
    first = _events(console, ref)[-1]["at"]
    new_email = f"new-{uuid.uuid4().hex[:8]}@example.org"
    moved = console.http.put(f"/api/v1/customers/{ref}", json={"email": new_email}, headers=headers)
    assert moved.status_code == 200, moved.text
    email_changed = _events(console, ref)[-1]["at"]
    done = change(console, support, ref, kind="stop", reason=REASON)
    assert done.status_code == 303
    second = _events(console, ref)[-1]["at"]

    for start, end, email in (
        (first, email_changed, old_email),
        (email_changed, second, new_email),
    ):
        between = page_of(auditor, ref, at=_moment(start, end))
        rebuilt = _rebuilt(between)
        assert rebuilt.pop("customer")["email"] == email
        assert rebuilt == at_first  # exactly the state the first change left
        assert "How often all brands together may write: twice a week" in between
        assert "All marketing: allowed" in between
        assert 'id="past-preferences"' in between

    start = _rebuilt(page_of(auditor, ref, at=_moment(created, first)))
    assert start.pop("customer")["email"] == old_email
    assert start == {}

    later = page_of(auditor, ref, at=format_instant(utcnow()).removesuffix("Z"))
    assert _rebuilt(later)["no_marketing"] is True
    assert "All marketing: stopped by the customer" in later

    assert 'id="past-absent"' in page_of(auditor, ref, at="2000-01-01T00:00")
    bad = auditor.get(f"{PAGE}/{ref}", params={"at": "yesterday"})
    assert bad.status_code == 422
    assert 'id="at-error"' in bad.text
