"""Consent given with `evidence`, and withdrawn by topic off, no_marketing or an address change."""

from __future__ import annotations

from datetime import UTC, datetime, timedelta
from typing import Any

import pytest
from sqlalchemy import select
from sqlalchemy.orm import Session
from sqlmodel import col

from app.models import AuditEvent, Preference
from tests.api import Api

H = dict[str, str]
CAPTURED = datetime(2026, 1, 15, 9, 30, tzinfo=UTC)
EVIDENCE = {
    "source": "checkout-form",
    "captured_at": "2026-01-15T09:30:00Z",
    "ip": "203.0.113.7",
    "user_agent": "Mozilla/5.0 (Test)",
    "text": "Yes, send me offers",
}
SEND_AT = "2026-12-01T11:00:00Z"  # a Tuesday, noon in Berlin: no quiet hours


@pytest.fixture(scope="module")
def headers(api: Api) -> H:
    """One token for the module: making a client hashes its secret, which is slow."""
    return api.token()


def offers(body: dict[str, Any] | None) -> dict[str, Any]:
    return {"brands": {"acme": {"topics": {"offers": body}}}}


def new_customer(api: Api, headers: H) -> dict[str, Any]:
    return api.customer(headers, phone="+4915112345678")


def consents(api: Api, customer_id: str) -> dict[str, Any]:
    with Session(api.engine) as session:
        preference = session.get(Preference, customer_id)
        assert preference is not None
        topic = preference.document.get("brands", {}).get("acme", {}).get("topics", {})
        found: dict[str, Any] = topic.get("offers", {}).get("consents", {})
        return found


def actions(api: Api, customer_id: str) -> list[str]:
    with Session(api.engine) as session:
        query = select(col(AuditEvent.action)).where(col(AuditEvent.customer_id) == customer_id)
        return list(session.scalars(query.order_by(col(AuditEvent.id))))


def decide(api: Api, headers: H, customer_id: str, channel: str) -> dict[str, Any]:
    return api.decide(
        headers,
        customer=customer_id,
        brand="acme",
        topic="offers",
        channel=channel,
        send_at=SEND_AT,
    )


def give(api: Api, headers: H, customer_id: str, body: dict[str, Any], **evidence: Any) -> None:
    response = api.patch(
        headers, customer_id, {**offers(body), "evidence": {**EVIDENCE, **evidence}}
    )
    assert response.status_code == 200, response.text


def test_evidence_gives_consent_on_the_topic_channels(api: Api, headers: H) -> None:
    customer = new_customer(api, headers)

    response = api.patch(
        headers, customer["id"], {**offers({"choice": "on"}), "evidence": EVIDENCE}
    )

    assert response.status_code == 200, response.text
    expected = {
        "consented_at": "2026-01-15T09:30:00Z",
        "notice_version": 2,
        "expires_at": (CAPTURED + timedelta(days=730)).isoformat().replace("+00:00", "Z"),
    }
    shown = response.json()["brands"]["acme"]["topics"]["offers"]
    assert shown == {"choice": "on", "consents": {"email": expected, "sms": expected}}
    assert consents(api, customer["id"]) == {"email": expected, "sms": expected}
    assert actions(api, customer["id"]) == ["customer.created", "consent.given"]


def test_consent_is_audited_with_the_evidence_sealed(api: Api, headers: H) -> None:
    customer = new_customer(api, headers)
    give(api, headers, customer["id"], {"choice": "on", "channels": ["email"]})

    audit = api.http.get(
        f"/api/v1/audit?customer={customer['id']}&action=consent.given", headers=headers
    ).json()["items"]
    feed_items = api.http.get("/api/v1/changes?limit=1000", headers=headers).json()["items"]
    with Session(api.engine) as session:
        row = session.scalars(
            select(AuditEvent).where(
                col(AuditEvent.customer_id) == customer["id"],
                col(AuditEvent.action) == "consent.given",
            )
        ).one()

    assert audit[0]["evidence"]["ip"] == "203.0.113.7"
    assert audit[0]["evidence"]["user_agent"] == "Mozilla/5.0 (Test)"
    assert audit[0]["evidence"]["source"] == "checkout-form"
    assert audit[0]["after"]["brands"]["acme"]["topics"]["offers"]["consents"]["email"]
    assert "203.0.113.7" not in (row.evidence or "")
    assert "Mozilla" not in (row.evidence or "")
    assert row.sealed is not None
    fed = next(e for e in feed_items if e["id"] == audit[0]["id"])
    assert fed["evidence"] == {"source": "checkout-form", "captured_at": "2026-01-15T09:30:00Z"}


def test_consent_allows_on_its_channel_only(api: Api, headers: H) -> None:
    customer = new_customer(api, headers)
    give(api, headers, customer["id"], {"choice": "on", "channels": ["email"]})
    widened = {**offers({"channels": ["email", "sms"]}), "evidence": {"source": "form"}}
    assert api.patch(headers, customer["id"], widened).status_code == 200

    email = decide(api, headers, customer["id"], "email")
    sms = decide(api, headers, customer["id"], "sms")

    assert (email["decision"], email["reasons"]) == ("allow", [])
    assert (sms["decision"], sms["reasons"]) == ("deny", ["no_consent"])
    assert set(consents(api, customer["id"])) == {"email"}


def test_without_consent_an_opt_in_topic_is_denied(api: Api, headers: H) -> None:
    customer = new_customer(api, headers)
    patch = {"brands": {"acme": {"depth": "close"}}, "evidence": {"source": "form"}}
    assert api.patch(headers, customer["id"], patch).status_code == 200

    answer = decide(api, headers, customer["id"], "email")

    assert (answer["decision"], answer["reasons"]) == ("deny", ["no_consent"])
    assert consents(api, customer["id"]) == {}


def test_consent_given_long_ago_has_lapsed(api: Api, headers: H) -> None:
    customer = new_customer(api, headers)
    give(api, headers, customer["id"], {"choice": "on"}, captured_at="2024-01-01T00:00:00Z")

    answer = decide(api, headers, customer["id"], "email")

    assert (answer["decision"], answer["reasons"]) == ("deny", ["consent_expired"])
    assert consents(api, customer["id"])["email"]["expires_at"] == "2025-12-31T00:00:00Z"


def test_evidence_again_renews_the_consent(api: Api, headers: H) -> None:
    customer = new_customer(api, headers)
    give(api, headers, customer["id"], {"choice": "on"}, captured_at="2024-01-01T00:00:00Z")

    give(api, headers, customer["id"], {"choice": "on"})

    assert consents(api, customer["id"])["sms"]["consented_at"] == "2026-01-15T09:30:00Z"
    assert actions(api, customer["id"])[-1] == "consent.given"


def test_captured_at_defaults_to_now(api: Api, headers: H) -> None:
    customer = new_customer(api, headers)
    start = datetime.now(UTC).replace(microsecond=0)

    patch = {**offers({"choice": "on"}), "evidence": {"source": "form"}}
    assert api.patch(headers, customer["id"], patch).status_code == 200

    given = datetime.fromisoformat(consents(api, customer["id"])["email"]["consented_at"])
    assert start <= given <= datetime.now(UTC)


def test_evidence_gives_no_consent_to_an_opt_out_topic(api: Api, headers: H) -> None:
    customer = new_customer(api, headers)
    patch = {"brands": {"acme": {"topics": {"news": {"choice": "on"}}}}, "evidence": EVIDENCE}

    response = api.patch(headers, customer["id"], patch)

    assert response.status_code == 200, response.text
    assert response.json()["brands"] == {"acme": {"topics": {"news": {"choice": "on"}}}}
    assert actions(api, customer["id"])[-1] == "preferences.updated"


@pytest.mark.parametrize(
    ("evidence", "loc"),
    [
        ({"notice_version": 1}, ["evidence", "notice_version"]),
        ({"notice_version": 3}, ["evidence", "notice_version"]),
        ({"notice_version": 0}, ["evidence", "notice_version"]),
        ({"captured_at": "2999-01-01T00:00:00Z"}, ["evidence", "captured_at"]),
        ({"captured_at": "2026-01-15T09:30:00"}, ["evidence", "captured_at"]),
    ],
)
def test_invalid_evidence_is_422_and_gives_nothing(
    api: Api, headers: H, evidence: dict[str, Any], loc: list[Any]
) -> None:
    customer = new_customer(api, headers)
    patch = {**offers({"choice": "on"}), "evidence": {**EVIDENCE, **evidence}}

    response = api.patch(headers, customer["id"], patch)

    assert response.status_code == 422, response.text
    assert loc in [e["loc"] for e in response.json()["errors"]]
    assert consents(api, customer["id"]) == {}
    assert actions(api, customer["id"]) == ["customer.created"]


def test_switching_the_topic_off_withdraws_its_consents(api: Api, headers: H) -> None:
    customer = new_customer(api, headers)
    give(api, headers, customer["id"], {"choice": "on"})

    response = api.patch(headers, customer["id"], offers({"choice": "off"}))

    assert response.status_code == 200, response.text
    assert response.json()["brands"]["acme"]["topics"]["offers"] == {"choice": "off"}
    assert consents(api, customer["id"]) == {}
    assert actions(api, customer["id"])[-1] == "consent.withdrawn"
    answer = decide(api, headers, customer["id"], "email")
    assert (answer["decision"], answer["reasons"]) == ("deny", ["topic_off", "no_consent"])


def test_no_marketing_withdraws_every_consent(api: Api, headers: H) -> None:
    customer = new_customer(api, headers)
    give(api, headers, customer["id"], {"choice": "on"})

    response = api.patch(headers, customer["id"], {"no_marketing": True})

    assert response.status_code == 200, response.text
    assert consents(api, customer["id"]) == {}
    assert response.json()["brands"]["acme"]["topics"]["offers"] == {"choice": "on"}
    assert actions(api, customer["id"])[-1] == "consent.withdrawn"


def test_an_email_change_withdraws_email_consents_only(api: Api, headers: H) -> None:
    customer = new_customer(api, headers)
    give(api, headers, customer["id"], {"choice": "on"})

    response = api.http.put(
        f"/api/v1/customers/{customer['id']}",
        json={"email": f"new-{customer['email']}"},
        headers=headers,
    )

    assert response.status_code == 200, response.text
    assert set(consents(api, customer["id"])) == {"sms"}
    assert actions(api, customer["id"])[-2:] == ["customer.updated", "consent.withdrawn"]
    answer = decide(api, headers, customer["id"], "email")
    assert answer["reasons"] == ["no_consent"]
    doc = api.http.get(f"/api/v1/customers/{customer['id']}/preferences", headers=headers)
    assert doc.headers["ETag"] == '"3"'


def test_a_phone_change_withdraws_sms_consent(api: Api, headers: H) -> None:
    customer = new_customer(api, headers)
    give(api, headers, customer["id"], {"choice": "on"})

    api.http.put(
        f"/api/v1/customers/{customer['id']}", json={"phone": "+4915199998888"}, headers=headers
    )

    assert set(consents(api, customer["id"])) == {"email"}


def test_no_consent_is_given_while_all_marketing_is_objected_to(api: Api, headers: H) -> None:
    customer = new_customer(api, headers)
    assert api.patch(headers, customer["id"], {"no_marketing": True}).status_code == 200

    give(api, headers, customer["id"], {"choice": "on"})

    assert consents(api, customer["id"]) == {}
    lifted = {"no_marketing": False, **offers({"choice": "on"}), "evidence": {"source": "form"}}
    assert api.patch(headers, customer["id"], lifted).status_code == 200
    assert set(consents(api, customer["id"])) == {"email", "sms"}


def test_the_audited_evidence_carries_its_capture_time(api: Api, headers: H) -> None:
    customer = new_customer(api, headers)
    patch = {**offers({"choice": "on"}), "evidence": {"source": "form"}}
    assert api.patch(headers, customer["id"], patch).status_code == 200

    audit = api.http.get(
        f"/api/v1/audit?customer={customer['id']}&action=consent.given", headers=headers
    ).json()["items"]

    given = consents(api, customer["id"])["email"]["consented_at"]
    assert audit[0]["evidence"] == {"source": "form", "captured_at": given}
