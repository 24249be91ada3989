"""/u/{token}: RFC 8058 one-click unsubscribe (POST) and the page of wider stops (GET)."""

from __future__ import annotations

from typing import Any

import httpx
import pytest
from sqlalchemy import select
from sqlalchemy.orm import Session
from sqlmodel import col

from app.auth.links import Links
from app.consent.context import Context
from app.models import AuditEvent, Preference
from tests.api import Api

H = dict[str, str]
SEND_AT = "2026-12-01T11:00:00Z"  # a Tuesday, noon in Berlin
ONE_CLICK = "List-Unsubscribe=One-Click"


@pytest.fixture(scope="module")
def headers(api: Api) -> H:
    """One token for the module: making a client hashes its secret, which is slow."""
    return api.token()


def decide(api: Api, headers: H, customer_id: str, topic: str = "news") -> dict[str, Any]:
    return api.decide(
        headers, customer=customer_id, brand="acme", topic=topic, channel="email", send_at=SEND_AT
    )


def link(api: Api, headers: H, customer_id: str, topic: str = "news") -> str:
    """The path of the unsubscribe link a decision hands out."""
    url: str = decide(api, headers, customer_id, topic)["unsubscribe"]["url"]
    assert url.startswith("https://cmr.example.test/u/")
    return url.removeprefix("https://cmr.example.test")


def stored(api: Api, customer_id: str) -> tuple[dict[str, Any], int] | None:
    with Session(api.engine) as session:
        preference = session.get(Preference, customer_id)
        return None if preference is None else (preference.document, preference.version)


def one_click_events(api: Api, customer_id: str) -> list[AuditEvent]:
    with Session(api.engine) as session:
        query = select(AuditEvent).where(
            col(AuditEvent.customer_id) == customer_id, col(AuditEvent.source) == "one_click"
        )
        return list(session.scalars(query))


def post(api: Api, path: str, **kwargs: Any) -> httpx.Response:
    """POST as a mail client would: no cookie, no token, redirects not followed."""
    api.http.cookies.clear()
    return api.http.post(path, follow_redirects=False, **kwargs)


BODIES: list[tuple[str, dict[str, Any]]] = [
    (
        "urlencoded",
        {"content": ONE_CLICK, "headers": {"Content-Type": "application/x-www-form-urlencoded"}},
    ),
    ("multipart", {"files": {"List-Unsubscribe": (None, "One-Click")}}),
    ("empty", {}),
    ("garbage", {"content": b"\x00\xff{not json", "headers": {"Content-Type": "application/json"}}),
    (
        "broken multipart",
        {"content": b"--x\r\n", "headers": {"Content-Type": "multipart/form-data"}},
    ),
    ("unknown scope", {"data": {"scope": "everything"}}),
]


@pytest.mark.parametrize("body", [pytest.param(b, id=name) for name, b in BODIES])
def test_one_click_switches_the_topic_off(api: Api, headers: H, body: dict[str, Any]) -> None:
    customer = api.customer(headers)
    path = link(api, headers, customer["id"])

    response = post(api, path, **body)

    assert response.status_code == 200, response.text
    assert response.headers["content-type"].startswith("text/html")
    assert "set-cookie" not in response.headers
    assert stored(api, customer["id"]) == (
        {"brands": {"acme": {"topics": {"news": {"choice": "off"}}}}},
        2,
    )
    answer = decide(api, headers, customer["id"])
    assert (answer["decision"], answer["reasons"]) == ("deny", ["topic_off"])
    events = one_click_events(api, customer["id"])
    assert [(e.action, e.actor_type, e.actor_id) for e in events] == [
        ("preferences.updated", "customer", customer["id"])
    ]


def test_one_click_is_idempotent(api: Api, headers: H) -> None:
    customer = api.customer(headers)
    path = link(api, headers, customer["id"])

    first = post(api, path, content=ONE_CLICK)
    second = post(api, path, content=ONE_CLICK)

    assert (first.status_code, second.status_code) == (200, 200)
    assert stored(api, customer["id"]) == (
        {"brands": {"acme": {"topics": {"news": {"choice": "off"}}}}},
        2,
    )
    assert len(one_click_events(api, customer["id"])) == 1


def test_one_click_withdraws_the_topic_consents(api: Api, headers: H) -> None:
    customer = api.customer(headers)
    on = {"brands": {"acme": {"topics": {"offers": {"choice": "on", "channels": ["email"]}}}}}
    assert api.patch(headers, customer["id"], {**on, "evidence": {"source": "form"}}).is_success
    assert decide(api, headers, customer["id"], "offers")["decision"] == "allow"
    path = link(api, headers, customer["id"], "offers")

    response = post(api, path, content=ONE_CLICK)

    assert response.status_code == 200, response.text
    document = stored(api, customer["id"])
    assert document == ({"brands": {"acme": {"topics": {"offers": {"choice": "off"}}}}}, 3)
    assert [e.action for e in one_click_events(api, customer["id"])] == ["consent.withdrawn"]
    assert decide(api, headers, customer["id"], "offers")["reasons"] == ["topic_off", "no_consent"]


def altered(path: str) -> list[str]:
    token = path.removeprefix("/u/")
    head, _, mac = token.partition(".")
    flipped = mac[:-2] + ("A" if mac[-2] != "A" else "B") + mac[-1]
    return [
        f"/u/{head}.{flipped}",
        f"/u/{head[:-2]}{'x' if head[-2] != 'x' else 'y'}{head[-1]}.{mac}",
        f"/u/{head}",
        f"/u/{head}.{mac}x",
        "/u/not-a-token",
        "/u/%E2%9C%93.%E2%9C%93",
    ]


def test_a_forged_or_altered_token_is_404_and_changes_nothing(api: Api, headers: H) -> None:
    customer = api.customer(headers)
    path = link(api, headers, customer["id"])

    for bad in altered(path):
        posted = post(api, bad, content=ONE_CLICK)
        shown = api.http.get(bad)
        assert (posted.status_code, shown.status_code) == (404, 404), bad
    assert stored(api, customer["id"]) == ({}, 1)


def test_a_token_signed_with_another_key_is_404(api: Api, headers: H) -> None:
    customer = api.customer(headers)
    other = Context.from_settings(
        api.settings.model_copy(update={"secret_key": api.settings.secret_key.__class__("x" * 48)})
    )
    forged = Links(other.keys, "https://cmr.example.test").unsubscribe_url(
        customer["id"], "acme", "news", "email"
    )

    response = post(api, forged.removeprefix("https://cmr.example.test"), content=ONE_CLICK)

    assert response.status_code == 404, response.text
    assert stored(api, customer["id"]) == ({}, 1)


def test_one_click_for_an_erased_customer_changes_nothing(api: Api, headers: H) -> None:
    customer = api.customer(headers)
    path = link(api, headers, customer["id"])
    assert api.http.delete(f"/api/v1/customers/{customer['id']}", headers=headers).is_success

    response = post(api, path, content=ONE_CLICK)

    assert response.status_code == 200, response.text
    assert stored(api, customer["id"]) is None
    assert one_click_events(api, customer["id"]) == []


def test_a_retired_topic_is_still_switched_off(api: Api, headers: H) -> None:
    customer = api.customer(headers)
    ctx = Context.from_settings(api.settings)
    url = Links(ctx.keys, "https://cmr.example.test").unsubscribe_url(
        customer["id"], "acme", "retired-deals", "email"
    )

    response = post(api, url.removeprefix("https://cmr.example.test"), content=ONE_CLICK)

    assert response.status_code == 200, response.text
    assert stored(api, customer["id"]) == (
        {"brands": {"acme": {"topics": {"retired-deals": {"choice": "off"}}}}},
        2,
    )
    document = api.http.get(f"/api/v1/customers/{customer['id']}/preferences", headers=headers)
    assert document.status_code == 200, document.text
    narrowing = api.patch(headers, customer["id"], {"brands": {"acme": {"depth": "essentials"}}})
    assert narrowing.status_code == 200, narrowing.text


def test_the_page_changes_nothing_and_offers_four_choices(api: Api, headers: H) -> None:
    customer = api.customer(headers)
    path = link(api, headers, customer["id"])

    response = api.http.get(path)

    assert response.status_code == 200, response.text
    assert response.headers["content-type"].startswith("text/html")
    page = response.text
    for scope in ("topic", "brand", "channel", "all"):
        assert f'name="scope" value="{scope}"' in page
    assert f'action="{path}"' in page
    assert "News" in page
    assert "Acme Outdoors" in page
    assert "order and security messages" in page
    assert stored(api, customer["id"]) == ({}, 1)
    assert one_click_events(api, customer["id"]) == []


@pytest.mark.parametrize(
    ("scope", "document", "reasons"),
    [
        ("topic", {"brands": {"acme": {"topics": {"news": {"choice": "off"}}}}}, ["topic_off"]),
        ("brand", {"brands": {"acme": {"depth": "essentials"}}}, ["beyond_depth"]),
        ("channel", {"channels": {"email": {"enabled": False}}}, ["channel_off"]),
        ("all", {"no_marketing": True}, ["objected"]),
    ],
)
def test_each_choice_of_the_page_works(
    api: Api, headers: H, scope: str, document: dict[str, Any], reasons: list[str]
) -> None:
    customer = api.customer(headers)
    path = link(api, headers, customer["id"])

    response = post(api, path, data={"scope": scope})

    assert response.status_code == 200, response.text
    assert stored(api, customer["id"]) == (document, 2)
    assert decide(api, headers, customer["id"])["reasons"] == reasons
    assert len(one_click_events(api, customer["id"])) == 1


def test_the_channel_choice_stops_essential_messages_too(api: Api, headers: H) -> None:
    customer = api.customer(headers)
    path = link(api, headers, customer["id"])

    post(api, path, data={"scope": "channel"})

    answer = decide(api, headers, customer["id"], "orders")
    assert (answer["decision"], answer["reasons"]) == ("deny", ["channel_off"])


def test_a_retired_topic_stays_off_unless_the_customer_asks(api: Api, headers: H) -> None:
    customer = api.customer(headers)
    ctx = Context.from_settings(api.settings)
    url = Links(ctx.keys, "https://cmr.example.test").unsubscribe_url(
        customer["id"], "acme", "old-deals", "email"
    )
    post(api, url.removeprefix("https://cmr.example.test"), content=ONE_CLICK)
    removal = {"brands": {"acme": {"topics": {"old-deals": None}}}}

    refused = api.patch(headers, customer["id"], removal)
    asked = api.patch(headers, customer["id"], {**removal, "evidence": {"source": "phone"}})

    assert refused.status_code == 403, refused.text
    assert asked.status_code == 200, asked.text
    assert stored(api, customer["id"]) == ({}, 3)


@pytest.mark.parametrize(
    "alter",
    [
        lambda head, tail: f"{head[:4]}!~*!{head[4:]}.{tail}",
        lambda head, tail: f"{head}.{tail}!!!!",
        lambda head, tail: f"{head} .{tail}",
    ],
    ids=["junk-in-payload", "junk-after-signature", "space"],
)
def test_characters_the_decoder_would_skip_make_a_token_forged(
    api: Api, headers: H, alter: Any
) -> None:
    customer = api.customer(headers)
    head, _, tail = link(api, headers, customer["id"]).removeprefix("/u/").partition(".")
    before = stored(api, customer["id"])

    response = post(api, f"/u/{alter(head, tail)}", data={"List-Unsubscribe": "One-Click"})

    assert response.status_code == 404
    assert stored(api, customer["id"]) == before
