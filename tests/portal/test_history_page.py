"""The history page: changes in words and through what, sends, newest first, one page at a time."""

from __future__ import annotations

import html
import re
import uuid
from datetime import UTC, datetime, timedelta
from typing import Any
from zoneinfo import ZoneInfo

from fastapi.testclient import TestClient

from app.format import format_instant
from app.plain.changes import describe_preferences
from app.plain.events import describe_event, describe_send, through
from app.plain.names import Names
from app.web.i18n import speaking
from tests.portal.helpers import Portal

BERLIN = ZoneInfo("Europe/Berlin")
NAMES = Names(
    brands={"acme": "Acme Outdoors"},
    default_depths={"acme": "light"},
    topics={("acme", "offers"): "Offers and discounts"},
    topic_channels={("acme", "offers"): ("email", "sms")},
)


def _lines(page_html: str) -> list[str]:
    """The text of the history's entries, in the order shown."""
    entries = page_html.split('aria-label="Changes and messages"', 1)[1].split("</main>")[0]
    found = re.findall(r"<li>(.*?)</li>|<p class=\"muted\">(.*?)</p>", entries, re.S)
    return [html.unescape(a or b).strip() for a, b in found]


def _history(client: TestClient, page: int | str = 1) -> str:
    response = client.get(f"/history?page={page}")
    assert response.status_code == 200, response.text
    return html.unescape(response.text)


def _reserve(portal: Portal, customer: dict[str, Any], **request: Any) -> str:
    message_id = f"m-{uuid.uuid4().hex[:10]}"
    body = {"brand": "acme", "topic": "orders", "channel": "email", **request}
    answer = portal.decision(customer, reserve=True, message_id=message_id, **body)
    assert answer["decision"] == "allow", answer
    assert answer["reserved"] is True
    return message_id


def test_changes_and_sends_are_listed_in_words_newest_first(portal: Portal) -> None:
    customer, client = portal.signed_in_customer()
    stopped = portal.submit(client, "/", "/marketing", {"stop": "true"})
    assert stopped.status_code == 303
    portal.submit(client, "/", "/marketing", {"stop": "false"})
    _reserve(portal, customer)
    patch = {
        "brands": {"acme": {"topics": {"offers": {"choice": "on", "channels": ["email"]}}}},
        "evidence": {"source": "checkout-form"},
    }
    assert portal.patch(portal.headers, customer["id"], patch).status_code == 200
    lines = _lines(_history(client))
    expected = [
        "Offers and discounts from Acme Outdoors: on by e-mail",
        "Consent given for offers and discounts from Acme Outdoors by e-mail (notice version 2)",
        "By: A marketing system, with your consent given at checkout-form",
        "Message from Acme Outdoors about orders and deliveries by e-mail: reserved",
        "Allowed marketing again",
        "By: You, in the portal",
        "Stopped all marketing",
        "By: You, in the portal",
        "Your account was created",
        "By: A marketing system",
    ]
    assert lines == expected


def test_times_are_shown_in_the_customers_time_zone(portal: Portal) -> None:
    customer, client = portal.signed_in_customer(timezone="America/New_York")
    page = _history(client)
    assert "Times are in the time zone America/New_York." in page
    stamp = re.search(r'<time datetime="([^"]+)">([^<]+)</time>', page)
    assert stamp is not None
    assert stamp.group(1).endswith("Z")
    del customer


def test_the_history_is_paged_25_at_a_time(portal: Portal) -> None:
    customer, client = portal.signed_in_customer()
    headers = portal.headers
    for count in range(30, 0, -1):  # each a narrowing: no evidence needed
        body = {"brands": {"acme": {"cap": {"count": count, "period_days": 30}}}}
        assert portal.patch(headers, customer["id"], body).status_code == 200
    first = _history(client, 1)
    assert first.count('<li class="card">') == 25
    assert "How often Acme Outdoors may write: once a month" in first
    assert "Your account was created" not in first
    assert 'href="/history?page=2" rel="next"' in first
    assert 'rel="prev"' not in first
    second = _history(client, 2)
    assert second.count('<li class="card">') == 6
    assert "Your account was created" in second
    assert "How often Acme Outdoors may write: 30 times a month" in second
    assert 'href="/history?page=1" rel="prev"' in second
    assert 'rel="next"' not in second
    assert "There is nothing older." in _history(client, 3)
    for odd in ("0", "-4", "x"):
        assert _history(client, odd).count('<li class="card">') == 25  # the first page


def test_a_customer_never_sees_another_customers_history(portal: Portal) -> None:
    first, first_client = portal.signed_in_customer()
    second, second_client = portal.signed_in_customer()
    _reserve(portal, second, brand="globex", topic="tips")
    portal.submit(second_client, "/", "/marketing", {"stop": "true"})
    seen = _history(first_client)
    assert "Stopped all marketing" not in seen
    assert "Globex" not in seen
    assert second["email"] not in seen
    assert "Stopped all marketing" in _history(second_client)
    del first


def test_a_preference_link_session_gets_the_sign_in_page(portal: Portal) -> None:
    customer = portal.new_customer()
    links = portal.app.state.links
    client = portal.visitor()
    url = links.preferences_url(customer["id"]).removeprefix(portal.settings.base_url)
    assert client.get(url, follow_redirects=False).status_code == 303
    assert client.get("/").status_code == 200
    response = client.get("/history")
    assert response.status_code == 403
    assert 'href="/login"' in response.text
    assert portal.visitor().get("/history").status_code == 403


def test_cancelled_sends_are_shown_with_the_cancellation(portal: Portal) -> None:
    customer, client = portal.signed_in_customer()
    tomorrow = format_instant(datetime.now(UTC) + timedelta(days=1))
    _reserve(portal, customer, topic="news", send_at=tomorrow)
    portal.submit(client, "/", "/marketing", {"stop": "true"})
    page = _history(client)
    assert "Message from Acme Outdoors about news by e-mail: cancelled" in page
    assert "Cancelled a message from Acme Outdoors about news by e-mail planned for" in page


def test_the_source_of_a_change_in_words() -> None:
    def view(source: str, **members: Any) -> dict[str, Any]:
        return {"source": source, "evidence": None, "reason": None, **members}

    with speaking("en"):
        assert through(view("one_click")) == "You, with one-click unsubscribe"
        assert through(view("preference_link")) == "You, from a link in a message"
        assert through(view("api")) == "A marketing system"
        assert (
            through(view("admin", reason="asked by phone"))
            == "Support on your behalf: asked by phone"
        )
        assert through(view("cli")) == "The service"
        assert through(view("system")) == "The service"


def test_a_change_of_preferences_in_words() -> None:
    before = {
        "brands": {"acme": {"depth": "light", "topics": {"offers": {"choice": "on"}}}},
        "channels": {"sms": {"quiet_hours": []}},
    }
    after = {
        "brands": {
            "acme": {
                "depth": "regular",
                "paused_until": "2026-12-01T23:00:00Z",
                "topics": {"offers": {"choice": "on", "channels": ["email"]}},
            }
        },
        "channels": {
            "sms": {"quiet_hours": [{"start": "21:00", "end": "08:00"}], "quiet_days": ["sun"]},
            "email": {"enabled": False},
        },
        "no_marketing": True,
    }
    with speaking("en"):
        lines = describe_preferences(before, after, names=NAMES, zone=BERLIN)
    assert lines == [
        "Stopped all marketing",
        "Messages by e-mail: off",
        "Quiet hours for SMS: 21:00–08:00",  # noqa: RUF001  (the page's en dash)
        "Quiet days for SMS: Sunday",
        "Depth with Acme Outdoors: Regular",
        "Paused marketing from Acme Outdoors up to and including December 1, 2026",
        "Offers and discounts from Acme Outdoors: off by SMS",
    ]
    with speaking("en"):
        back = describe_preferences(after, before, names=NAMES, zone=BERLIN)
    assert "Depth with Acme Outdoors: Regular" not in back
    assert "Allowed marketing again" in back
    assert "Ended the pause of marketing from Acme Outdoors" in back


def test_identity_and_suppression_events_in_words() -> None:
    def event(action: str, before: Any = None, after: Any = None) -> list[str]:
        view = {"action": action, "before": before, "after": after, "source": "api"}
        with speaking("en"):
            return describe_event(view, names=NAMES, zone=BERLIN)

    assert event(
        "customer.updated",
        {"email": "a@example.org", "phone": None, "locale": "en"},
        {"email": "b@example.org", "phone": "+4915112345678", "locale": "de"},
    ) == ["E-mail address changed", "Phone number added", "Language: German"]
    stop = {"channel": "sms", "reason": "stop", "brand": None}
    assert event("suppression.added", after=stop) == ["Messages by SMS stopped: you replied STOP"]
    assert event("suppression.lifted", before=stop) == ["Messages by SMS allowed again"]
    with speaking("en"):
        sent = describe_send(
            brand="acme", topic="offers", channel="sms", status="released", names=NAMES
        )
    assert sent == (
        "Message from Acme Outdoors about offers and discounts by SMS: not sent, "
        "the sender withdrew it"
    )
