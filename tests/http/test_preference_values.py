"""PATCH …/preferences with invalid values: 422 naming the member, nothing stored."""

from __future__ import annotations

from typing import Any

import pytest
from sqlalchemy.orm import Session

from app.models import Preference
from tests.api import Api

H = dict[str, str]
ACME = ("brands", "acme")
NEWS = (*ACME, "topics", "news")


@pytest.fixture(scope="module")
def headers(api: Api) -> H:
    """One token for the module: making a client hashes its secret, which is slow."""
    return api.token()


def topic(brand: str, key: str, body: Any) -> dict[str, Any]:
    return {"brands": {brand: {"topics": {key: body}}}}


def sms(body: dict[str, Any]) -> dict[str, Any]:
    return {"channels": {"sms": body}}


INVALID: list[tuple[str, dict[str, Any], tuple[Any, ...]]] = [
    ("unknown brand", {"brands": {"initech": {"depth": "light"}}}, ("brands", "initech")),
    ("unknown topic", topic("acme", "gossip", {"choice": "off"}), (*ACME, "topics", "gossip")),
    ("topic of another brand", topic("globex", "news", {"choice": "off"}), ("brands", "globex")),
    (
        "essential choice",
        topic("acme", "orders", {"choice": "off"}),
        (*ACME, "topics", "orders", "choice"),
    ),
    ("unknown choice", topic("acme", "news", {"choice": "maybe"}), (*NEWS, "choice")),
    (
        "channels beyond the topic",
        topic("acme", "news", {"choice": "on", "channels": ["email", "push"]}),
        (*NEWS, "channels"),
    ),
    ("no channels", topic("acme", "news", {"choice": "on", "channels": []}), (*NEWS, "channels")),
    ("channels while off", topic("acme", "news", {"channels": ["email"]}), (*NEWS, "channels")),
    ("unknown channel", topic("acme", "news", {"choice": "on", "channels": ["fax"]}), NEWS),
    ("topic not an object", topic("acme", "news", "off"), NEWS),
    ("topics not an object", {"brands": {"acme": {"topics": ["news"]}}}, (*ACME, "topics")),
    ("brand not an object", {"brands": {"acme": "essentials"}}, ACME),
    ("brands not an object", {"brands": ["acme"]}, ("brands",)),
    ("unknown depth", {"brands": {"acme": {"depth": "deep"}}}, (*ACME, "depth")),
    (
        "start equals end",
        sms({"quiet_hours": [{"start": "10:00", "end": "10:00"}]}),
        ("channels", "sms", "quiet_hours", 0),
    ),
    (
        "hour 24",
        sms({"quiet_hours": [{"start": "24:00", "end": "08:00"}]}),
        ("channels", "sms", "quiet_hours", 0, "start"),
    ),
    (
        "no leading zero",
        sms({"quiet_hours": [{"start": "21:00", "end": "8:00"}]}),
        ("channels", "sms", "quiet_hours", 0, "end"),
    ),
    (
        "seconds",
        sms({"quiet_hours": [{"start": "21:00:00", "end": "08:00"}]}),
        ("channels", "sms", "quiet_hours", 0, "start"),
    ),
    (
        "missing end",
        sms({"quiet_hours": [{"start": "21:00"}]}),
        ("channels", "sms", "quiet_hours", 0, "end"),
    ),
    ("unknown day", sms({"quiet_days": ["sun", "funday"]}), ("channels", "sms", "quiet_days", 1)),
    ("enabled not a bool", sms({"enabled": "no"}), ("channels", "sms", "enabled")),
    ("unknown channel member", sms({"loud": True}), ("channels", "sms", "loud")),
    ("unknown channel key", {"channels": {"fax": {"enabled": False}}}, ("channels", "fax")),
    ("cap count 0", {"global_cap": {"count": 0, "period_days": 7}}, ("global_cap", "count")),
    (
        "cap period 367",
        {"global_cap": {"count": 1, "period_days": 367}},
        ("global_cap", "period_days"),
    ),
    ("cap period 0", {"global_cap": {"count": 1, "period_days": 0}}, ("global_cap", "period_days")),
    ("cap count text", {"global_cap": {"count": "2", "period_days": 7}}, ("global_cap", "count")),
    (
        "brand cap count 0",
        {"brands": {"acme": {"cap": {"count": 0, "period_days": 7}}}},
        (*ACME, "cap", "count"),
    ),
    ("pause without offset", {"paused_until": "2030-01-01T00:00:00"}, ("paused_until",)),
    ("pause not an instant", {"paused_until": "tomorrow"}, ("paused_until",)),
    (
        "brand pause without offset",
        {"brands": {"acme": {"paused_until": "2030-01-01T00:00"}}},
        (*ACME, "paused_until"),
    ),
    (
        "pause before year 1 in UTC",
        {"paused_until": "0001-01-01T00:00:00+01:00"},
        ("paused_until",),
    ),
    ("pause after 9999 in UTC", {"paused_until": "9999-12-31T23:59:59-01:00"}, ("paused_until",)),
    (
        "brand pause before year 1 in UTC",
        {"brands": {"acme": {"paused_until": "0001-01-01T00:00:00+01:00"}}},
        (*ACME, "paused_until"),
    ),
    (
        "evidence before year 1 in UTC",
        {
            "no_marketing": True,
            "evidence": {"source": "x", "captured_at": "0001-01-01T00:00:00+01:00"},
        },
        ("evidence", "captured_at"),
    ),
    ("no_marketing not a bool", {"no_marketing": "yes"}, ("no_marketing",)),
    ("unknown member", {"marketing": False}, ("marketing",)),
    ("evidence without source", {"evidence": {"ip": "203.0.113.1"}}, ("evidence", "source")),
    ("evidence bad ip", {"evidence": {"source": "x", "ip": "999.1.1.1"}}, ("evidence", "ip")),
    ("evidence unknown member", {"evidence": {"source": "x", "by": "me"}}, ("evidence", "by")),
    ("evidence not an object", {"evidence": "checkout"}, ("evidence",)),
]


@pytest.mark.parametrize(
    ("patch", "loc"), [pytest.param(p, loc, id=name) for name, p, loc in INVALID]
)
def test_an_invalid_value_is_422_naming_it_and_nothing_is_stored(
    api: Api, headers: H, patch: dict[str, Any], loc: tuple[Any, ...]
) -> None:
    customer = api.customer(headers)

    response = api.patch(headers, customer["id"], patch)

    assert response.status_code == 422, response.text
    assert response.headers["content-type"] == "application/problem+json"
    locs = [e["loc"] for e in response.json()["errors"]]
    assert any(found[: len(loc)] == list(loc) for found in locs), locs
    with Session(api.engine) as session:
        preference = session.get(Preference, customer["id"])
        assert preference is not None
        assert (preference.document, preference.version) == ({}, 1)


def test_an_invalid_value_beside_a_valid_one_stores_neither(api: Api, headers: H) -> None:
    customer = api.customer(headers)
    patch = {"no_marketing": True, "global_cap": {"count": 0, "period_days": 7}}

    response = api.patch(headers, customer["id"], patch)

    assert response.status_code == 422, response.text
    got = api.http.get(f"/api/v1/customers/{customer['id']}/preferences", headers=headers)
    assert got.json()["no_marketing"] is False
    assert got.headers["ETag"] == '"1"'
