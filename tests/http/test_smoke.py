"""The decision path end to end, in process."""

from __future__ import annotations

from tests.api import Api


def test_an_essential_topic_is_allowed_and_a_marketing_one_follows_the_depth(
    api: Api, headers: dict[str, str]
) -> None:
    customer = api.customer(headers)
    ref = f"ext:{customer['external_id']}"
    orders = api.decide(headers, customer=ref, brand="acme", topic="orders", channel="email")
    offers = api.decide(headers, customer=ref, brand="acme", topic="offers", channel="email")

    assert orders["decision"] == "allow"
    assert orders["unsubscribe"] is None
    assert offers["decision"] == "deny"
    assert offers["reasons"] == ["beyond_depth", "no_consent"]
    assert offers["unsubscribe"]["headers"]["List-Unsubscribe-Post"] == "List-Unsubscribe=One-Click"
