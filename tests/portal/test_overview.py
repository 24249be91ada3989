"""The overview: one card per brand with a sentence that sums up what reaches the customer."""

from __future__ import annotations

import html
import itertools
import re
from typing import Any

from fastapi.testclient import TestClient

from tests.portal.helpers import Portal

EVIDENCE = {"source": "checkout-form", "ip": "203.0.113.7", "user_agent": "Mozilla/5.0 (Test)"}
_numbers = itertools.count(1)
_CARD = re.compile(
    r'<section class="card" aria-labelledby="brand-(?P<key>[a-z0-9_-]+)">(?P<body>.*?)</section>',
    re.S,
)
_SUMMARY = re.compile(r'<p class="summary">(.*?)</p>', re.S)


def cards(client: TestClient) -> dict[str, str]:
    """Each brand's card, by brand key, as the overview shows it (HTML)."""
    response = client.get("/")
    assert response.status_code == 200, response.text
    return {found["key"]: found["body"] for found in _CARD.finditer(response.text)}


def summaries(client: TestClient) -> dict[str, str]:
    """Each brand's summary sentence(s), by brand key."""
    found = {}
    for key, body in cards(client).items():
        summary = _SUMMARY.search(body)
        assert summary, f"the card of {key} has no summary"
        found[key] = html.unescape(summary.group(1))
    return found


def phone() -> str:
    """A number no other test uses: suppressions are per address, for every customer."""
    return f"+4915199{next(_numbers):06d}"


def customer_with(
    portal: Portal, patch: dict[str, Any] | None = None, **fields: Any
) -> tuple[dict[str, Any], TestClient]:
    """A signed-in customer whose preferences were set through the API first."""
    customer, client = portal.signed_in_customer(**fields)
    if patch is not None:
        response = portal.patch(portal.headers, customer["id"], patch)
        assert response.status_code == 200, response.text
    return customer, client


def test_defaults_with_an_email_address(portal: Portal) -> None:
    _, client = customer_with(portal)
    assert summaries(client) == {
        "acme": "Acme Outdoors writes to you by e-mail about orders and deliveries and news, "
        "at most 3 times a week.",
        "globex": "Globex writes to you by e-mail about tips.",
    }
    shown = cards(client)
    assert "Depth: Light." in shown["acme"]
    assert "Depth: Regular." in shown["globex"]
    assert '<a href="/brands/acme">' in shown["acme"]
    assert '<a href="/brands/globex">' in shown["globex"]


def test_defaults_with_a_phone_number_too_name_the_quiet_hours_of_sms(portal: Portal) -> None:
    _, client = customer_with(portal, phone=phone())
    assert summaries(client) == {
        "acme": "Acme Outdoors writes to you by e-mail and SMS about orders and deliveries and "
        "news, at most 3 times a week, never between 21:00 and 08:00 by SMS.",
        "globex": "Globex writes to you by e-mail and SMS about tips, never between 21:00 and "
        "08:00 by SMS.",
    }


def test_a_topic_switched_off_leaves_the_messages_you_need(portal: Portal) -> None:
    _, client = customer_with(portal, {"brands": {"acme": {"topics": {"news": {"choice": "off"}}}}})
    assert summaries(client)["acme"] == (
        "Acme Outdoors only sends you messages you need: orders and deliveries, by e-mail."
    )


def test_a_topic_on_for_some_channels_only(portal: Portal) -> None:
    patch = {"brands": {"acme": {"topics": {"news": {"choice": "on", "channels": ["sms"]}}}}}
    _, client = customer_with(portal, {**patch, "evidence": EVIDENCE}, phone=phone())
    assert summaries(client)["acme"] == (
        "Acme Outdoors writes to you by e-mail and SMS about orders and deliveries and news, "
        "at most 3 times a week, never between 21:00 and 08:00."
    )


def test_a_channel_switched_off(portal: Portal) -> None:
    _, client = customer_with(portal, {"channels": {"email": {"enabled": False}}}, phone=phone())
    assert summaries(client) == {
        "acme": "Acme Outdoors writes to you by SMS about orders and deliveries and news, "
        "at most 3 times a week, never between 21:00 and 08:00.",
        "globex": "Globex writes to you by SMS about tips, never between 21:00 and 08:00.",
    }


def test_the_only_channel_switched_off_means_no_messages_at_all(portal: Portal) -> None:
    _, client = customer_with(portal, {"channels": {"email": {"enabled": False}}})
    assert summaries(client) == {
        "acme": "Acme Outdoors does not write to you.",
        "globex": "Globex does not write to you.",
    }


def test_own_quiet_hours_and_days(portal: Portal) -> None:
    quiet = {"quiet_hours": [{"start": "22:30", "end": "06:00"}], "quiet_days": ["sun", "sat"]}
    _, client = customer_with(portal, {"channels": {"email": quiet}})
    assert summaries(client)["acme"] == (
        "Acme Outdoors writes to you by e-mail about orders and deliveries and news, "
        "at most 3 times a week, never between 22:30 and 06:00 and not on Saturdays or Sundays."
    )


def test_quiet_times_that_differ_per_channel_are_said_per_channel(portal: Portal) -> None:
    _, client = customer_with(
        portal, {"channels": {"email": {"quiet_days": ["sun"]}}}, phone=phone()
    )
    assert summaries(client)["globex"] == (
        "Globex writes to you by e-mail and SMS about tips, never on Sundays by e-mail and "
        "never between 21:00 and 08:00 by SMS."
    )


def test_without_own_quiet_hours_the_legal_ones_still_apply(portal: Portal) -> None:
    patch = {"channels": {"sms": {"quiet_hours": []}, "email": {"enabled": False}}}
    _, client = customer_with(portal, {**patch, "evidence": EVIDENCE}, phone=phone())
    assert summaries(client)["globex"] == (
        "Globex writes to you by SMS about tips, never between 22:00 and 07:00."
    )


def test_the_tightest_cap_is_said(portal: Portal) -> None:
    patch = {
        "global_cap": {"count": 1, "period_days": 1},
        "brands": {"acme": {"cap": {"count": 2, "period_days": 7}}},
    }
    _, client = customer_with(portal, patch)
    assert summaries(client) == {
        "acme": "Acme Outdoors writes to you by e-mail about orders and deliveries and news, "
        "at most twice a week.",
        "globex": "Globex writes to you by e-mail about tips, at most once a day.",
    }


def test_a_brand_pause_is_a_sentence_of_its_own(portal: Portal) -> None:
    # 00:00 on 2 March 2030 in Berlin (the catalog's zone): paused through 1 March.
    patch = {"brands": {"acme": {"paused_until": "2030-03-01T23:00:00Z"}}}
    _, client = customer_with(portal, patch)
    assert summaries(client) == {
        "acme": "Acme Outdoors writes to you by e-mail about orders and deliveries and news, "
        "at most 3 times a week. Marketing from Acme Outdoors is paused until March 1, 2030.",
        "globex": "Globex writes to you by e-mail about tips.",
    }
    client.cookies.set("cmr_lang", "de")
    assert "1. März 2030" in summaries(client)["acme"]


def test_a_pause_of_all_marketing_in_the_customers_zone(portal: Portal) -> None:
    patch = {
        "paused_until": "2030-01-31T23:00:00Z",
        "brands": {"acme": {"paused_until": "2030-01-10T23:00:00Z"}},
    }
    _, client = customer_with(portal, patch, timezone="America/New_York")
    assert summaries(client) == {
        "acme": "Acme Outdoors writes to you by e-mail about orders and deliveries and news, "
        "at most 3 times a week. All marketing is paused until January 31, 2030.",
        "globex": "Globex writes to you by e-mail about tips. "
        "All marketing is paused until January 31, 2030.",
    }


def test_a_brand_pause_longer_than_the_global_one_is_said_too(portal: Portal) -> None:
    patch = {
        "paused_until": "2030-01-10T23:00:00Z",
        "brands": {"acme": {"paused_until": "2030-01-31T23:00:00Z"}},
    }
    _, client = customer_with(portal, patch)
    assert summaries(client)["acme"] == (
        "Acme Outdoors writes to you by e-mail about orders and deliveries and news, "
        "at most 3 times a week. All marketing is paused until January 10, 2030. "
        "Marketing from Acme Outdoors is paused until January 31, 2030."
    )


def test_a_pause_that_has_ended_is_not_mentioned(portal: Portal) -> None:
    _, client = customer_with(portal, {"paused_until": "2026-01-01T00:00:00Z"})
    assert summaries(client)["globex"] == "Globex writes to you by e-mail about tips."


def test_no_marketing_leaves_the_messages_you_need(portal: Portal) -> None:
    _, client = customer_with(portal, phone=phone())
    stopped = portal.submit(client, "/", "/marketing", {"stop": "true"})
    assert (stopped.status_code, stopped.headers["location"]) == (303, "/?saved=stopped")
    assert summaries(client) == {
        "acme": "Acme Outdoors only sends you messages you need: orders and deliveries, "
        "by e-mail and SMS. You have stopped all marketing.",
        "globex": "Globex does not write to you. You have stopped all marketing.",
    }


def test_depth_essentials(portal: Portal) -> None:
    _, client = customer_with(portal, {"brands": {"acme": {"depth": "essentials"}}})
    assert summaries(client)["acme"] == (
        "Acme Outdoors only sends you messages you need: orders and deliveries, by e-mail."
    )
    shown = cards(client)["acme"]
    assert "Depth: Essentials only." in shown
    assert "no marketing" in shown


def test_a_deeper_relationship_needs_consent_for_opt_in_topics(portal: Portal) -> None:
    customer, client = customer_with(
        portal, {"brands": {"acme": {"depth": "close"}}, "evidence": EVIDENCE}
    )
    assert summaries(client)["acme"] == (
        "Acme Outdoors writes to you by e-mail about orders and deliveries, news, and events "
        "near you, at most 3 times a week."
    )
    consent = {"brands": {"acme": {"topics": {"offers": {"choice": "on", "channels": ["email"]}}}}}
    response = portal.patch(portal.headers, customer["id"], {**consent, "evidence": EVIDENCE})
    assert response.status_code == 200, response.text
    assert summaries(client)["acme"] == (
        "Acme Outdoors writes to you by e-mail about orders and deliveries, news, offers and "
        "discounts, and events near you, at most 3 times a week."
    )
    assert cards(client)["acme"].count("Depth: Close.") == 1


def test_the_summary_agrees_with_the_decisions(portal: Portal) -> None:
    customer, client = customer_with(
        portal, {"brands": {"globex": {"topics": {"tips": {"choice": "off"}}}}}
    )
    assert summaries(client)["globex"] == "Globex does not write to you."
    answer = portal.decision(customer, brand="globex", topic="tips", channel="email")
    assert (answer["decision"], answer["reasons"]) == ("deny", ["topic_off"])
    answer = portal.decision(customer, brand="acme", topic="news", channel="email")
    assert answer["decision"] == "allow"


def test_a_complaint_stops_marketing_on_its_channel_only(portal: Portal) -> None:
    customer, client = customer_with(portal, phone=phone())
    complaint = {"channel": "sms", "address": customer["phone"], "reason": "complaint"}
    response = portal.http.post(
        "/api/v1/suppressions", json={"items": [complaint]}, headers=portal.headers
    )
    assert response.status_code == 200, response.text
    assert summaries(client)["acme"] == (
        "Acme Outdoors writes to you by e-mail and SMS about orders and deliveries and news, "
        "at most 3 times a week."
    )
