"""A client limited to brands narrows anything but loosens only what belongs to its brands."""

from __future__ import annotations

import pytest

from tests.api import Api

H = dict[str, str]
EVIDENCE = {"source": "checkout-form"}


@pytest.fixture(scope="module")
def headers(api: Api) -> H:
    return api.token()


@pytest.fixture(scope="module")
def acme(api: Api) -> H:
    return api.token(brands=["acme"])


def test_lifting_no_marketing_is_refused_even_with_evidence(api: Api, headers: H, acme: H) -> None:
    customer = api.customer(headers)
    ref = customer["id"]
    assert api.patch(acme, ref, {"no_marketing": True}).status_code == 200

    response = api.patch(acme, ref, {"no_marketing": False, "evidence": EVIDENCE})

    assert response.status_code == 403
    assert 'error="insufficient_scope"' in response.headers["WWW-Authenticate"]
    assert api.http.get(f"/api/v1/customers/{ref}/preferences", headers=headers).json()[
        "no_marketing"
    ]


def test_loosening_its_own_brand_with_evidence_is_allowed(api: Api, headers: H, acme: H) -> None:
    customer = api.customer(headers)

    response = api.patch(
        acme, customer["id"], {"brands": {"acme": {"depth": "close"}}, "evidence": EVIDENCE}
    )

    assert response.status_code == 200, response.text
    assert response.json()["brands"]["acme"]["depth"] == "close"


def test_another_brand_is_403_with_a_challenge(api: Api, headers: H, acme: H) -> None:
    customer = api.customer(headers)

    response = api.patch(acme, customer["id"], {"brands": {"globex": {"depth": "essentials"}}})

    assert response.status_code == 403
    assert 'error="insufficient_scope"' in response.headers["WWW-Authenticate"]


def test_a_resubscribe_for_every_brand_is_refused_but_a_suppression_is_not(
    api: Api, headers: H, acme: H
) -> None:
    customer = api.customer(headers, phone="+4915112345679")
    stop = {"channel": "sms", "address": customer["phone"], "reason": "stop"}
    lift = {**stop, "reason": "resubscribe"}

    added = api.http.post("/api/v1/suppressions", json={"items": [stop]}, headers=acme)
    refused = api.http.post("/api/v1/suppressions", json={"items": [lift]}, headers=acme)
    decision = api.decide(
        headers, customer=customer["id"], brand="globex", topic="tips", channel="sms"
    )

    assert added.json()["items"] == [{"index": 0, "status": "added"}]
    assert refused.status_code == 403
    assert 'error="insufficient_scope"' in refused.headers["WWW-Authenticate"]
    assert "suppressed" in decision["reasons"]
