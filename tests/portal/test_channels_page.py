"""The channels page: on or off, addresses, quiet times, time zone, pause; seen by decisions."""

from __future__ import annotations

from datetime import date, datetime, time, timedelta
from typing import Any
from zoneinfo import ZoneInfo

import httpx
import pytest
from fastapi.testclient import TestClient
from sqlalchemy import update
from sqlmodel import col

from app.db import write_session
from app.format import format_instant
from app.models import WebSession, utcnow
from tests.portal.helpers import Portal, csrf_of

BERLIN = ZoneInfo("Europe/Berlin")  # the test catalog's default time zone
PHONE = "+4915112345678"


def _local(zone: ZoneInfo, days: int, at: time) -> datetime:
    """`at` on the day `days` ahead in `zone`."""
    day = datetime.now(zone).date() + timedelta(days=days)
    return datetime.combine(day, at, tzinfo=zone)


_HEADERS: dict[int, dict[str, str]] = {}


def _api(portal: Portal) -> dict[str, str]:
    """Headers of one API client for the module's tests: making a client costs a secret hash."""
    if id(portal) not in _HEADERS:
        _HEADERS[id(portal)] = portal.headers
    return _HEADERS[id(portal)]


def _day(days: int) -> date:
    """The day `days` ahead in Berlin."""
    return datetime.now(BERLIN).date() + timedelta(days=days)


def _noon() -> str:
    """Noon in Berlin a few days ahead: outside every quiet time of the test catalog."""
    return _local(BERLIN, 3, time(12, 0)).isoformat()


def _decide(
    portal: Portal,
    customer: dict[str, Any],
    topic: str = "news",
    channel: str = "email",
    **more: Any,
) -> dict[str, Any]:
    more.setdefault("send_at", _noon())
    return portal.decide(
        _api(portal), customer=customer["id"], brand="acme", topic=topic, channel=channel, **more
    )


def _document(portal: Portal, customer: dict[str, Any]) -> dict[str, Any]:
    response = portal.http.get(
        f"/api/v1/customers/{customer['id']}/preferences", headers=_api(portal)
    )
    assert response.status_code == 200, response.text
    document: dict[str, Any] = response.json()
    return document


def _post(portal: Portal, client: TestClient, action: str, data: dict[str, Any]) -> httpx.Response:
    return portal.submit(client, "/channels", action, data)


def _saved(response: httpx.Response, what: str) -> None:
    assert response.status_code == 303, response.text
    assert response.headers["location"] == f"/channels?saved={what}"


def _invalid(response: httpx.Response, field: str, message: str) -> None:
    """A 422 page with `message` beside the field `field`, which points at it."""
    assert response.status_code == 422, response.text
    assert f'<p class="error" id="{field}-error">{message}</p>' in response.text
    assert f'<a href="#{field}">{message}</a>' in response.text  # the summary at the top
    start = response.text.index(f'id="{field}"')
    control = response.text[start : response.text.index(">", start)]
    assert 'aria-invalid="true"' in control
    assert f"{field}-error" in control


def _age_sessions(portal: Portal, customer: dict[str, Any], minutes: int) -> None:
    with write_session(portal.engine) as session:
        session.execute(
            update(WebSession)
            .where(col(WebSession.subject_id) == customer["id"])
            .values(created_at=utcnow() - timedelta(minutes=minutes))
        )


def test_the_page_shows_the_channels_the_topics_use(portal: Portal) -> None:
    customer, client = portal.signed_in_customer(phone=PHONE)
    page = client.get("/channels")
    assert page.status_code == 200
    text = page.text
    for heading in ("E-mail", "SMS", "Push notifications"):
        assert f">{heading}</h2>" in text
    assert "WhatsApp</h2>" not in text  # no topic of the catalog uses it
    assert customer["email"] in text
    assert PHONE in text
    assert "including messages about your orders and your security" in text
    assert "Use the default: never between 21:00 and 08:00" in text
    legal = "The legal quiet times for marketing by SMS always apply, whatever you choose: "
    assert legal + "never between 22:00 and 07:00." in text
    assert '<option value="Europe/Berlin" selected>' in text
    assert 'type="date"' in text


def test_switching_a_channel_off_and_on_again(portal: Portal) -> None:
    customer, client = portal.signed_in_customer()
    off = _post(portal, client, "/channels/email/enabled", {"enabled": "false"})
    _saved(off, "channel_off")
    answer = _decide(portal, customer, topic="orders")
    assert (answer["decision"], answer["reasons"]) == ("deny", ["channel_off"])
    assert _document(portal, customer)["channels"] == {"email": {"enabled": False}}
    page = client.get(off.headers["location"])
    assert '<p class="notice" role="status">Saved: the channel is switched off.</p>' in page.text
    assert "Switch e-mail on" in page.text
    on = _post(portal, client, "/channels/email/enabled", {"enabled": "true"})
    _saved(on, "channel_on")
    assert _decide(portal, customer)["decision"] == "allow"
    assert _document(portal, customer)["channels"] == {}


@pytest.mark.parametrize(("reason", "topic"), [("stop", "orders"), ("complaint", "news")])
def test_switching_a_channel_on_lifts_a_stop_or_a_complaint(
    portal: Portal, reason: str, topic: str
) -> None:
    customer, client = portal.signed_in_customer(phone=PHONE)
    item = {"channel": "sms", "address": PHONE, "reason": reason}
    added = portal.http.post("/api/v1/suppressions", json={"items": [item]}, headers=_api(portal))
    assert added.status_code == 200, added.text
    answer = _decide(portal, customer, topic=topic, channel="sms")
    assert (answer["decision"], answer["reasons"]) == ("deny", ["suppressed"])
    page = client.get("/channels")
    assert "Stopped: after you replied STOP or reported a message as spam" in page.text
    assert "Switch SMS on" in page.text
    _saved(_post(portal, client, "/channels/sms/enabled", {"enabled": "true"}), "channel_on")
    assert _decide(portal, customer, topic=topic, channel="sms")["decision"] == "allow"
    assert "Stopped:" not in client.get("/channels").text


def test_a_hard_bounce_is_not_lifted_by_switching_on(portal: Portal) -> None:
    customer, client = portal.signed_in_customer()
    item = {"channel": "email", "address": customer["email"], "reason": "hard_bounce"}
    added = portal.http.post("/api/v1/suppressions", json={"items": [item]}, headers=_api(portal))
    assert added.status_code == 200, added.text
    assert "Blocked: messages by e-mail could not be delivered" in client.get("/channels").text
    _saved(_post(portal, client, "/channels/email/enabled", {"enabled": "true"}), "channel_on")
    assert _decide(portal, customer)["reasons"] == ["suppressed"]


def test_own_quiet_hours_defer_until_their_end_in_the_customers_zone(portal: Portal) -> None:
    customer, client = portal.signed_in_customer()
    data = {"mode": "own", "start": "12:00", "end": "14:00"}
    _saved(_post(portal, client, "/channels/email/quiet", data), "quiet")
    assert _document(portal, customer)["channels"] == {
        "email": {"quiet_hours": [{"start": "12:00", "end": "14:00"}], "quiet_days": []}
    }
    send_at = _local(BERLIN, 5, time(13, 30))
    answer = _decide(portal, customer, send_at=send_at.isoformat())
    assert (answer["decision"], answer["reasons"]) == ("defer", ["quiet_hours"])
    assert answer["next_allowed_at"] == format_instant(send_at.replace(hour=14, minute=0))
    page = client.get("/channels")
    assert "Your quiet times for e-mail: never between 12:00 and 14:00." in page.text

    tokyo = ZoneInfo("Asia/Tokyo")
    _saved(_post(portal, client, "/channels/timezone", {"timezone": "Asia/Tokyo"}), "timezone")
    assert _decide(portal, customer, send_at=send_at.isoformat())["decision"] == "allow"
    in_tokyo = _local(tokyo, 5, time(12, 15))
    answer = _decide(portal, customer, send_at=in_tokyo.isoformat())
    assert (answer["decision"], answer["reasons"]) == ("defer", ["quiet_hours"])
    assert answer["next_allowed_at"] == format_instant(in_tokyo.replace(hour=14, minute=0))
    assert '<option value="Asia/Tokyo" selected>' in client.get("/channels").text


def test_quiet_days_and_the_default_again(portal: Portal) -> None:
    customer, client = portal.signed_in_customer()
    send_at = _local(BERLIN, 4, time(12, 0))
    day = ("mon", "tue", "wed", "thu", "fri", "sat", "sun")[send_at.weekday()]
    data = {"mode": "own", "start": "", "end": "", "days": [day]}
    _saved(_post(portal, client, "/channels/email/quiet", data), "quiet")
    answer = _decide(portal, customer, send_at=send_at.isoformat())
    assert (answer["decision"], answer["reasons"]) == ("defer", ["quiet_hours"])
    next_day = datetime.combine(send_at.date() + timedelta(days=1), time(0), tzinfo=BERLIN)
    assert answer["next_allowed_at"] == format_instant(next_day)
    assert f'value="{day}" checked' in client.get("/channels").text
    _saved(_post(portal, client, "/channels/email/quiet", {"mode": "default"}), "quiet")
    assert _document(portal, customer)["channels"] == {}
    assert _decide(portal, customer, send_at=send_at.isoformat())["decision"] == "allow"


@pytest.mark.parametrize(
    ("data", "field", "message"),
    [
        (
            {"start": "21:00", "end": "21:00"},
            "quiet-sms-end",
            "The quiet time must end at another time than it starts.",
        ),
        (
            {"start": "25:00", "end": "08:00"},
            "quiet-sms-start",
            "Enter a time such as 21:00, or leave both empty.",
        ),
        (
            {"start": "21:00", "end": ""},
            "quiet-sms-end",
            "Enter a time such as 08:00, or leave both empty.",
        ),
    ],
)
def test_a_quiet_time_that_cannot_be_saved_is_shown_again_with_the_error(
    portal: Portal, data: dict[str, str], field: str, message: str
) -> None:
    customer, client = portal.signed_in_customer(phone=PHONE)
    before = _document(portal, customer)
    response = _post(portal, client, "/channels/sms/quiet", {"mode": "own", **data})
    _invalid(response, field, message)
    assert f'value="{data["start"]}"' in response.text  # what was entered is shown again
    assert _document(portal, customer) == before


def test_pausing_all_marketing_defers_until_the_day_after(portal: Portal) -> None:
    customer, client = portal.signed_in_customer()
    last = _day(3)
    _saved(_post(portal, client, "/channels/pause", {"until": last.isoformat()}), "pause")
    resume_at = datetime.combine(last + timedelta(days=1), time(0), tzinfo=BERLIN)
    assert _document(portal, customer)["paused_until"] == format_instant(resume_at)
    answer = _decide(portal, customer, send_at=format_instant(utcnow() + timedelta(hours=1)))
    assert (answer["decision"], answer["reasons"]) == ("defer", ["paused"])
    assert answer["next_allowed_at"] == format_instant(resume_at)
    assert _decide(portal, customer, topic="orders")["decision"] == "allow"
    page = client.get("/channels")
    assert "All marketing is paused. It may resume on" in page.text
    assert f'value="{last.isoformat()}"' in page.text
    _saved(_post(portal, client, "/channels/pause", {"resume": "true"}), "resumed")
    assert _document(portal, customer)["paused_until"] is None
    assert _decide(portal, customer)["decision"] == "allow"


@pytest.mark.parametrize(
    ("until", "message"),
    [
        (0, "Choose a day after today."),
        (367, "Choose a day at most a year"),
        ("soon", "Choose a date, such as 2026-12-24."),
    ],
)
def test_a_pause_date_that_cannot_be_saved(portal: Portal, until: int | str, message: str) -> None:
    customer, client = portal.signed_in_customer()
    if isinstance(until, int):
        until = _day(until).isoformat()
    response = _post(portal, client, "/channels/pause", {"until": until})
    assert response.status_code == 422
    assert 'aria-invalid="true"' in response.text
    assert f'<p class="error" id="pause-until-error">{message}' in response.text
    assert _document(portal, customer)["paused_until"] is None


def test_a_time_zone_not_in_the_list_is_refused(portal: Portal) -> None:
    customer, client = portal.signed_in_customer()
    response = _post(portal, client, "/channels/timezone", {"timezone": "Mars/Olympus"})
    _invalid(response, "timezone", "Choose a time zone from the list.")
    assert _document(portal, customer)["customer"]["timezone"] is None


def _consent_to_offers(portal: Portal, customer: dict[str, Any]) -> None:
    body = {
        "brands": {"acme": {"topics": {"offers": {"choice": "on"}}}},
        "evidence": {"source": "checkout-form"},
    }
    response = portal.patch(_api(portal), customer["id"], body)
    assert response.status_code == 200, response.text


def test_a_new_email_address_withdraws_the_email_consents(portal: Portal) -> None:
    customer, client = portal.signed_in_customer(phone=PHONE)
    _consent_to_offers(portal, customer)
    assert _decide(portal, customer, topic="offers")["decision"] == "allow"
    new = f"NEW-{customer['email']}"
    response = _post(portal, client, "/channels/address", {"field": "email", "address": new})
    _saved(response, "address")
    document = _document(portal, customer)
    assert document["customer"]["email"] == new.lower()
    consents = document["brands"]["acme"]["topics"]["offers"]["consents"]
    assert list(consents) == ["sms"]  # the phone did not change
    answer = _decide(portal, customer, topic="offers")
    assert (answer["decision"], answer["reasons"]) == ("deny", ["no_consent"])
    assert _decide(portal, customer, topic="offers", channel="sms")["decision"] == "allow"
    assert (
        "Any consent you had given for that channel is withdrawn"
        in client.get(response.headers["location"]).text
    )


def test_a_new_phone_number_withdraws_the_phone_consents(portal: Portal) -> None:
    customer, client = portal.signed_in_customer(phone=PHONE)
    _consent_to_offers(portal, customer)
    data = {"field": "phone", "address": "+49 151 98765432"}
    _saved(_post(portal, client, "/channels/address", data), "address")
    document = _document(portal, customer)
    assert document["customer"]["phone"] == "+4915198765432"
    assert list(document["brands"]["acme"]["topics"]["offers"]["consents"]) == ["email"]


def test_changing_an_address_needs_a_fresh_sign_in(portal: Portal) -> None:
    customer, client = portal.signed_in_customer()
    page = client.get("/channels")
    _age_sessions(portal, customer, minutes=16)
    data = {"field": "email", "address": "fresh@example.org", "csrf_token": csrf_of(page.text)}
    response = client.post("/channels/address", data=data, follow_redirects=False)
    assert response.status_code == 403
    assert "signed in within the last 15 minutes" in response.text
    assert 'href="/login"' in response.text
    assert _document(portal, customer)["customer"]["email"] == customer["email"]
    _age_sessions(portal, customer, minutes=14)
    _saved(_post(portal, client, "/channels/address", data), "address")


@pytest.mark.parametrize(
    ("field", "address", "message"),
    [
        ("email", "not-an-address", "Enter an e-mail address such as name@example.org."),
        ("email", "", "Enter an e-mail address such as name@example.org."),
        ("phone", "0151 12345", "Enter a phone number with its country code"),
    ],
)
def test_an_address_that_is_not_one_is_refused(
    portal: Portal, field: str, address: str, message: str
) -> None:
    customer, client = portal.signed_in_customer(phone=PHONE)
    response = _post(portal, client, "/channels/address", {"field": field, "address": address})
    assert response.status_code == 422
    assert f'<p class="error" id="address-{field}-error">{message}' in response.text
    assert 'aria-invalid="true"' in response.text
    document = _document(portal, customer)
    assert (document["customer"]["email"], document["customer"]["phone"]) == (
        customer["email"],
        PHONE,
    )


def test_another_customers_address_cannot_be_used(portal: Portal) -> None:
    other = portal.new_customer()
    customer, client = portal.signed_in_customer()
    data = {"field": "email", "address": other["email"].upper()}
    response = _post(portal, client, "/channels/address", data)
    _invalid(response, "address-email", "This address cannot be used.")
    assert "another customer" not in response.text.lower()
    assert _document(portal, customer)["customer"]["email"] == customer["email"]


def _limited(portal: Portal, customer: dict[str, Any]) -> TestClient:
    url = _decide(portal, customer)["preferences_url"]
    client = portal.visitor()
    opened = client.get(url.removeprefix(portal.settings.base_url), follow_redirects=False)
    assert opened.status_code == 303
    return client


def test_a_preference_link_changes_channels_but_not_addresses(portal: Portal) -> None:
    customer = portal.new_customer(phone=PHONE)
    client = _limited(portal, customer)
    page = client.get("/channels")
    assert page.status_code == 200
    assert customer["email"] not in page.text
    assert PHONE not in page.text
    assert 'action="/channels/address"' not in page.text
    assert 'href="/login"' in page.text
    data = {"field": "email", "address": "taken-over@example.org"}
    refused = _post(portal, client, "/channels/address", data)
    assert refused.status_code == 403
    assert _document(portal, customer)["customer"]["email"] == customer["email"]
    _saved(_post(portal, client, "/channels/sms/enabled", {"enabled": "false"}), "channel_off")
    assert _decide(portal, customer, topic="orders", channel="sms")["reasons"] == ["channel_off"]
    _saved(_post(portal, client, "/channels/timezone", {"timezone": "Asia/Tokyo"}), "timezone")
    assert _document(portal, customer)["customer"]["timezone"] == "Asia/Tokyo"


@pytest.mark.parametrize("token", [None, "forged"])
def test_a_form_without_its_token_changes_nothing(portal: Portal, token: str | None) -> None:
    customer, client = portal.signed_in_customer()
    client.get("/channels")
    posts: list[tuple[str, dict[str, str]]] = [
        ("/channels/email/enabled", {"enabled": "false"}),
        ("/channels/email/quiet", {"mode": "own", "start": "10:00", "end": "11:00"}),
        ("/channels/timezone", {"timezone": "Asia/Tokyo"}),
        ("/channels/pause", {"until": _day(5).isoformat()}),
        ("/channels/address", {"field": "email", "address": "csrf@example.org"}),
    ]
    before = _document(portal, customer)
    for action, data in posts:
        body = data if token is None else {**data, "csrf_token": token}
        response = client.post(action, data=body, follow_redirects=False)
        assert response.status_code == 403, action
    assert _document(portal, customer) == before


def test_a_channel_no_topic_uses_is_not_found(portal: Portal) -> None:
    _customer, client = portal.signed_in_customer()
    response = _post(portal, client, "/channels/whatsapp/enabled", {"enabled": "false"})
    assert response.status_code == 404


def test_signed_out_visitors_are_sent_to_sign_in(portal: Portal) -> None:
    response = portal.visitor().get("/channels", follow_redirects=False)
    assert (response.status_code, response.headers["location"]) == (303, "/login")
