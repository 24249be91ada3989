"""Only the customer widens: a loosening patch needs `evidence`, a narrowing one does not."""

from __future__ import annotations

from datetime import UTC, datetime, timedelta
from typing import Any

import pytest
from sqlalchemy.orm import Session

from app.models import Preference
from tests.api import Api

H = dict[str, str]
EVIDENCE = {"source": "preference-centre"}
SOON = (datetime.now(UTC) + timedelta(days=10)).isoformat()
LATER = (datetime.now(UTC) + timedelta(days=30)).isoformat()


@pytest.fixture(scope="module")
def headers(api: Api) -> H:
    """One token for the module: making a client hashes its secret, which is slow."""
    return api.token()


def topic(key: str, body: Any, brand: str = "acme") -> dict[str, Any]:
    return {"brands": {brand: {"topics": {key: body}}}}


def channel(key: str, body: Any) -> dict[str, Any]:
    return {"channels": {key: body}}


def window(start: str, end: str) -> dict[str, str]:
    return {"start": start, "end": end}


# (name, settings before, loosening patch, loc named in the 403)
LOOSENING: list[tuple[str, dict[str, Any], dict[str, Any], list[Any]]] = [
    ("topic on", {}, topic("offers", {"choice": "on"}), ["brands", "acme", "topics", "offers"]),
    (
        "off removed",
        topic("news", {"choice": "off"}),
        topic("news", None),
        ["brands", "acme", "topics", "news"],
    ),
    (
        "off to on",
        topic("news", {"choice": "off"}),
        topic("news", {"choice": "on"}),
        ["brands", "acme", "topics", "news"],
    ),
    (
        "channels added",
        topic("offers", {"choice": "on", "channels": ["email"]}),
        topic("offers", {"channels": ["email", "sms"]}),
        ["brands", "acme", "topics", "offers", "channels"],
    ),
    (
        "channels back to all",
        topic("offers", {"choice": "on", "channels": ["email"]}),
        topic("offers", {"channels": None}),
        ["brands", "acme", "topics", "offers", "channels"],
    ),
    (
        "regular topic on within the depth",
        {"brands": {"acme": {"depth": "regular"}}},
        topic("offers", {"choice": "on"}),
        ["brands", "acme", "topics", "offers", "choice"],
    ),
    (
        "light topic on for more channels",
        topic("news", {"choice": "on", "channels": ["email"]}),
        topic("news", {"channels": ["email", "sms"]}),
        ["brands", "acme", "topics", "news", "channels"],
    ),
    ("depth raised", {}, {"brands": {"acme": {"depth": "regular"}}}, ["brands", "acme", "depth"]),
    (
        "depth raised with no topic at it",
        {},
        {"brands": {"globex": {"depth": "close"}}},
        ["brands", "globex", "depth"],
    ),
    (
        "explicit depth removed",
        {"brands": {"globex": {"depth": "light"}}},
        {"brands": {"globex": {"depth": None}}},
        ["brands", "globex", "depth"],
    ),
    ("pause shortened", {"paused_until": LATER}, {"paused_until": SOON}, ["paused_until"]),
    ("pause lifted", {"paused_until": LATER}, {"paused_until": None}, ["paused_until"]),
    (
        "brand pause lifted",
        {"brands": {"acme": {"paused_until": LATER}}},
        {"brands": {"acme": {"paused_until": None}}},
        ["brands", "acme", "paused_until"],
    ),
    (
        "cap raised",
        {"global_cap": {"count": 2, "period_days": 7}},
        {"global_cap": {"count": 3}},
        ["global_cap"],
    ),
    (
        "cap period shortened",
        {"global_cap": {"count": 2, "period_days": 7}},
        {"global_cap": {"period_days": 1}},
        ["global_cap"],
    ),
    (
        "cap removed",
        {"global_cap": {"count": 2, "period_days": 7}},
        {"global_cap": None},
        ["global_cap"],
    ),
    (
        "brand cap removed",
        {"brands": {"acme": {"cap": {"count": 1, "period_days": 7}}}},
        {"brands": {"acme": {"cap": None}}},
        ["brands", "acme", "cap"],
    ),
    (
        "quiet hours shrunk",
        {},
        channel("sms", {"quiet_hours": [window("22:00", "07:00")]}),
        ["channels", "sms"],
    ),
    ("quiet hours none", {}, channel("sms", {"quiet_hours": []}), ["channels", "sms"]),
    (
        "quiet days removed",
        channel("email", {"quiet_days": ["sat", "sun"]}),
        channel("email", {"quiet_days": ["sun"]}),
        ["channels", "email"],
    ),
    (
        "own quiet hours back to the default",
        channel("sms", {"quiet_hours": [window("20:00", "09:00")]}),
        channel("sms", {"quiet_hours": None}),
        ["channels", "sms"],
    ),
    (
        "channel re-enabled",
        channel("email", {"enabled": False}),
        channel("email", {"enabled": True}),
        ["channels", "email", "enabled"],
    ),
    (
        "channel setting removed",
        channel("sms", {"enabled": False}),
        channel("sms", None),
        ["channels", "sms", "enabled"],
    ),
    (
        "unused channel re-enabled",
        channel("voice", {"enabled": False}),
        channel("voice", {"enabled": True}),
        ["channels", "voice", "enabled"],
    ),
    ("no_marketing lifted", {"no_marketing": True}, {"no_marketing": False}, ["no_marketing"]),
    (
        "topic on under no_marketing",
        {"no_marketing": True},
        topic("offers", {"choice": "on"}),
        ["brands", "acme", "topics", "offers"],
    ),
    (
        "topic on while its channel is off",
        channel("email", {"enabled": False}),
        topic("events", {"choice": "on", "channels": ["email"]}),
        ["brands", "acme", "topics", "events"],
    ),
]

# (name, settings before, narrowing patch)
NARROWING: list[tuple[str, dict[str, Any], dict[str, Any]]] = [
    ("topic off", {}, topic("news", {"choice": "off"})),
    ("on to off", topic("offers", {"choice": "on"}), topic("offers", {"choice": "off"})),
    (
        "channels removed",
        topic("offers", {"choice": "on"}),
        topic("offers", {"channels": ["sms"]}),
    ),
    ("on beyond the depth removed", topic("offers", {"choice": "on"}), topic("offers", None)),
    (
        "light topic on for fewer channels",
        {},
        topic("news", {"choice": "on", "channels": ["email"]}),
    ),
    ("depth lowered", {}, {"brands": {"acme": {"depth": "essentials"}}}),
    ("depth lowered from close", {"brands": {"acme": {"depth": "close"}}}, {"brands": None}),
    ("pause added", {}, {"paused_until": SOON}),
    ("pause lengthened", {"paused_until": SOON}, {"paused_until": LATER}),
    ("brand pause added", {}, {"brands": {"globex": {"paused_until": SOON}}}),
    ("cap added", {}, {"global_cap": {"count": 5, "period_days": 7}}),
    (
        "cap lowered",
        {"global_cap": {"count": 5, "period_days": 7}},
        {"global_cap": {"count": 4, "period_days": 8}},
    ),
    ("brand cap added", {}, {"brands": {"acme": {"cap": {"count": 1, "period_days": 30}}}}),
    ("quiet hours widened", {}, channel("sms", {"quiet_hours": [window("20:00", "09:00")]})),
    ("quiet hours added", {}, channel("email", {"quiet_hours": [window("12:00", "13:00")]})),
    ("quiet days added", {}, channel("push", {"quiet_days": ["sun"]})),
    ("channel off", {}, channel("sms", {"enabled": False})),
    ("no_marketing", {}, {"no_marketing": True}),
    ("expired pause lifted", {"paused_until": "2001-01-01T00:00:00Z"}, {"paused_until": None}),
]


def prepare(api: Api, headers: H, before: dict[str, Any]) -> str:
    customer = api.customer(headers, phone="+4915112345678")
    if before:
        response = api.patch(headers, customer["id"], {**before, "evidence": EVIDENCE})
        assert response.status_code == 200, response.text
    return str(customer["id"])


def stored(api: Api, customer_id: str) -> tuple[dict[str, Any], int]:
    with Session(api.engine) as session:
        preference = session.get(Preference, customer_id)
        assert preference is not None
        return preference.document, preference.version


@pytest.mark.parametrize(
    ("before", "patch", "loc"), [pytest.param(*case[1:], id=case[0]) for case in LOOSENING]
)
def test_a_loosening_without_evidence_is_403_customer_only(
    api: Api, headers: H, before: dict[str, Any], patch: dict[str, Any], loc: list[Any]
) -> None:
    customer_id = prepare(api, headers, before)
    document = stored(api, customer_id)

    response = api.patch(headers, customer_id, patch)

    assert response.status_code == 403, response.text
    errors = response.json()["errors"]
    assert {e["type"] for e in errors} == {"customer_only"}
    assert any(e["loc"][: len(loc)] == loc for e in errors), errors
    assert stored(api, customer_id) == document


@pytest.mark.parametrize(
    ("before", "patch"), [pytest.param(*case[1:3], id=case[0]) for case in LOOSENING]
)
def test_the_same_loosening_with_evidence_applies(
    api: Api, headers: H, before: dict[str, Any], patch: dict[str, Any]
) -> None:
    customer_id = prepare(api, headers, before)
    version = stored(api, customer_id)[1]

    response = api.patch(headers, customer_id, {**patch, "evidence": EVIDENCE})

    assert response.status_code == 200, response.text
    assert stored(api, customer_id)[1] == version + 1


@pytest.mark.parametrize(
    ("before", "patch"), [pytest.param(*case[1:], id=case[0]) for case in NARROWING]
)
def test_a_narrowing_needs_no_evidence(
    api: Api, headers: H, before: dict[str, Any], patch: dict[str, Any]
) -> None:
    customer_id = prepare(api, headers, before)
    version = stored(api, customer_id)[1]

    response = api.patch(headers, customer_id, patch)

    assert response.status_code == 200, response.text
    assert stored(api, customer_id)[1] == version + 1
