"""The brand page: depth, topics and consent, how often, pause; each change seen by decisions."""

from __future__ import annotations

import copy
import re
from dataclasses import dataclass
from datetime import UTC, date, datetime, time, timedelta
from typing import Any
from zoneinfo import ZoneInfo

import httpx
import pytest
from fastapi.testclient import TestClient

from app.db import write_session
from app.models import Preference
from tests.portal.helpers import Portal, csrf_of

MARKETING = ["events", "news", "offers"]
BROWSER = "Mozilla/5.0 (test) brand-page"
ADDRESS = "203.0.113.7"


@dataclass
class Check:
    """What the API says about a customer: decisions, the document, the audit trail."""

    portal: Portal
    headers: dict[str, str]

    def decide(
        self, customer: dict[str, Any], topic: str, channel: str = "email", **more: Any
    ) -> dict[str, Any]:
        more.setdefault("send_at", _send_at())
        more.setdefault("brand", "acme")
        return self.portal.decide(
            self.headers, customer=customer["id"], topic=topic, channel=channel, **more
        )

    def reasons(
        self, customer: dict[str, Any], topic: str, channel: str = "email", **more: Any
    ) -> tuple[str, list[str]]:
        answer = self.decide(customer, topic, channel, **more)
        return answer["decision"], answer["reasons"]

    def signed_in_customer(self, **fields: Any) -> tuple[dict[str, Any], TestClient]:
        """A new customer, signed in by e-mail link (one API token serves the module)."""
        customer = self.portal.customer(self.headers, **fields)
        return customer, self.portal.sign_in(customer["email"])

    def document(self, customer: dict[str, Any]) -> dict[str, Any]:
        response = self.portal.http.get(
            f"/api/v1/customers/{customer['id']}/preferences", headers=self.headers
        )
        assert response.status_code == 200, response.text
        document: dict[str, Any] = response.json()
        return document

    def acme(self, customer: dict[str, Any]) -> dict[str, Any]:
        brand: dict[str, Any] = self.document(customer)["brands"].get("acme", {})
        return brand

    def events(self, customer: dict[str, Any]) -> list[dict[str, Any]]:
        response = self.portal.http.get(
            "/api/v1/audit", params={"customer": customer["id"]}, headers=self.headers
        )
        assert response.status_code == 200, response.text
        items: list[dict[str, Any]] = response.json()["items"]
        return items


@pytest.fixture(scope="module")
def check(portal: Portal) -> Check:
    return Check(portal, portal.headers)


def _send_at(days: int = 3) -> str:
    """Noon UTC a few days ahead: outside every quiet time of the test catalog."""
    day = datetime.now(UTC).date() + timedelta(days=days)
    return datetime.combine(day, time(12, 0), tzinfo=UTC).isoformat()


def _post(
    portal: Portal,
    client: TestClient,
    action: str,
    data: dict[str, Any],
    page: str = "/brands/acme",
) -> httpx.Response:
    return portal.submit(client, page, action, data)


def _saved(response: httpx.Response, section: str, brand: str = "acme") -> None:
    assert response.status_code == 303, response.text
    assert response.headers["location"] == f"/brands/{brand}?saved={section}"


def _topics(
    portal: Portal, client: TestClient, on: list[str], consent: list[str] | None = None
) -> httpx.Response:
    data = {"shown": MARKETING, "on": on, "consent": consent or []}
    return _post(portal, client, "/brands/acme/topics", data)


def _checked(html: str, box_id: str) -> bool:
    found = re.search(rf'<input [^>]*id="{re.escape(box_id)}"[^>]*>', html)
    assert found, f"no control {box_id}"
    return " checked" in found.group(0)


def test_the_page_shows_depths_topics_consent_boxes_and_the_policy(check: Check) -> None:
    _customer, client = check.signed_in_customer()
    html = client.get("/brands/acme").text
    for depth in ("essentials", "light", "regular", "close"):
        assert f'<label for="depth-{depth}">' in html
    assert _checked(html, "depth-light")
    assert not _checked(html, "depth-close")
    hints = dict(re.findall(r'<p class="hint" id="depth-(\w+)-hint">([^<]+)</p>', html))
    assert "Orders and deliveries" in hints["essentials"]
    assert "News" not in hints["essentials"]
    assert "News" in hints["light"]
    assert "Offers" not in hints["light"]
    assert "Offers and discounts (only with your consent)" in hints["regular"]
    assert "Events near you" in hints["close"]
    assert "Orders and deliveries: always on, by e-mail, SMS, and push notifications." in html
    assert 'value="orders:' not in html
    assert _checked(html, "on-news-email")
    assert _checked(html, "on-news-sms")
    assert not _checked(html, "on-offers-email")
    assert not _checked(html, "on-events-push")
    assert "Offers picked for you, at most as often as you say." in html
    assert not _checked(html, "consent-offers-email")
    assert not _checked(html, "consent-offers-sms")
    assert "Acme Outdoors never writes more than 3 times a week." in html
    caps = re.findall(r'name="cap" value="([^"]+)"', html)
    assert caps == ["none", "2/7", "1/7", "1/30"]
    assert "As often as the policy of Acme Outdoors allows" in html
    for control in re.findall(r'<input [^>]*id="([^"]+)"', html):
        assert f'<label for="{control}">' in html, control


def test_a_brand_without_a_policy_offers_every_option(check: Check) -> None:
    _customer, client = check.signed_in_customer()
    html = client.get("/brands/globex").text
    assert re.findall(r'name="cap" value="([^"]+)"', html) == ["none", "1/1", "2/7", "1/7", "1/30"]
    assert "No limit of my own" in html
    assert "Globex sets no limit of its own on how often it writes." in html


def test_raising_and_lowering_the_depth_is_what_decisions_follow(
    portal: Portal, check: Check
) -> None:
    customer, client = check.signed_in_customer()
    assert check.reasons(customer, "events") == ("deny", ["beyond_depth"])
    _saved(_post(portal, client, "/brands/acme/depth", {"depth": "close"}), "depth")
    assert check.reasons(customer, "events") == ("allow", [])
    page = client.get("/brands/acme?saved=depth").text
    assert (
        '<p class="notice" role="status">Saved: how close you are with Acme Outdoors.</p>' in page
    )
    assert _checked(page, "depth-close")
    assert _checked(page, "on-events-push")
    _saved(_post(portal, client, "/brands/acme/depth", {"depth": "essentials"}), "depth")
    assert check.reasons(customer, "news") == ("deny", ["beyond_depth"])
    assert check.reasons(customer, "orders") == ("allow", [])
    assert check.acme(customer) == {"depth": "essentials"}


def test_a_depth_never_gives_consent(portal: Portal, check: Check) -> None:
    customer, client = check.signed_in_customer()
    _saved(_post(portal, client, "/brands/acme/depth", {"depth": "close"}), "depth")
    assert check.reasons(customer, "offers") == ("deny", ["no_consent"])
    assert check.acme(customer) == {"depth": "close"}
    page = client.get("/brands/acme").text
    assert _checked(page, "on-offers-email")
    assert not _checked(page, "consent-offers-email")
    assert "Nothing about this topic is sent on a channel until you agree to it there." in page


def test_an_unknown_depth_is_refused_beside_the_field(portal: Portal, check: Check) -> None:
    customer, client = check.signed_in_customer()
    response = _post(portal, client, "/brands/acme/depth", {"depth": "deepest"})
    assert response.status_code == 422
    assert '<p class="error" id="depth-error">' in response.text
    assert 'aria-invalid="true"' in response.text
    assert check.acme(customer) == {}


def test_a_topic_switched_off_on_one_channel_stays_on_for_the_other(
    portal: Portal, check: Check
) -> None:
    customer, client = check.signed_in_customer(phone="+4915112345678")
    assert check.reasons(customer, "news", "sms") == ("allow", [])
    _saved(_topics(portal, client, on=["news:email"]), "topics")
    assert check.reasons(customer, "news", "sms") == ("deny", ["topic_channel_off"])
    assert check.reasons(customer, "news", "email") == ("allow", [])
    # only what changed is written: the other topics keep following the depth
    assert check.acme(customer) == {"topics": {"news": {"choice": "on", "channels": ["email"]}}}
    page = client.get("/brands/acme?saved=topics").text
    assert _checked(page, "on-news-email")
    assert not _checked(page, "on-news-sms")
    _saved(_topics(portal, client, on=[]), "topics")
    assert check.reasons(customer, "news", "email") == ("deny", ["topic_off"])
    assert check.acme(customer) == {"topics": {"news": {"choice": "off"}}}
    _saved(_topics(portal, client, on=["news:email", "news:sms", "events:push"]), "topics")
    assert check.acme(customer) == {
        "topics": {
            "news": {"choice": "on"},
            "events": {"choice": "on", "channels": ["push"]},
        }
    }


def test_saving_the_topics_unchanged_writes_nothing(portal: Portal, check: Check) -> None:
    customer, client = check.signed_in_customer()
    before = check.document(customer)["version"]
    _saved(_topics(portal, client, on=["news:email", "news:sms"]), "topics")
    assert check.document(customer)["version"] == before


def _browser(portal: Portal, signed_in: TestClient) -> TestClient:
    """The signed-in customer's browser as seen from a known address and user agent."""
    return TestClient(
        portal.app,
        base_url=portal.settings.base_url,
        cookies=signed_in.cookies,
        headers={"User-Agent": BROWSER},
        client=(ADDRESS, 50000),
    )


def test_ticking_a_consent_box_records_consent_for_that_channel(
    portal: Portal, check: Check
) -> None:
    customer, signed_in = check.signed_in_customer(phone="+4915112345678")
    client = _browser(portal, signed_in)
    _saved(
        _topics(portal, client, on=["news:email", "news:sms"], consent=["offers:email"]), "topics"
    )
    assert check.reasons(customer, "offers", "email") == ("allow", [])
    assert check.reasons(customer, "offers", "sms") == (
        "deny",
        ["topic_channel_off", "no_consent"],
    )
    offers = check.acme(customer)["topics"]["offers"]
    assert (offers["choice"], offers["channels"]) == ("on", ["email"])
    assert list(offers["consents"]) == ["email"]
    consent = offers["consents"]["email"]
    assert consent["notice_version"] == 2
    given = datetime.fromisoformat(consent["consented_at"])
    assert abs(given - datetime.now(UTC)) < timedelta(minutes=5)
    assert datetime.fromisoformat(consent["expires_at"]) == given + timedelta(days=730)
    event = check.events(customer)[-1]
    assert event["action"] == "consent.given"
    assert event["source"] == "portal"
    assert event["evidence"]["source"] == "portal"
    assert event["evidence"]["ip"] == ADDRESS
    assert event["evidence"]["user_agent"] == BROWSER
    page = client.get("/brands/acme").text
    assert "You agreed to this by e-mail on" in page
    assert 'id="consent-offers-email"' not in page
    assert not _checked(page, "consent-offers-sms")


def test_a_lapsed_consent_no_longer_counts_and_its_box_is_back(
    portal: Portal, check: Check
) -> None:
    customer, client = check.signed_in_customer()
    body = {
        "brands": {"acme": {"topics": {"offers": {"choice": "on", "channels": ["email"]}}}},
        "evidence": {"source": "checkout-form"},
    }
    assert portal.patch(check.headers, customer["id"], body).status_code == 200
    assert not re.search(r'id="consent-offers-email"', client.get("/brands/acme").text)
    with write_session(portal.engine) as session:
        preference = session.get(Preference, customer["id"])
        assert preference is not None
        document = copy.deepcopy(preference.document)
        document["brands"]["acme"]["topics"]["offers"]["consents"]["email"]["expires_at"] = (
            "2020-01-01T00:00:00Z"
        )
        preference.document = document
        preference.version += 1  # decisions cache documents by version
    assert check.reasons(customer, "offers") == ("deny", ["consent_expired"])
    page = client.get("/brands/acme").text
    assert "Your earlier consent by e-mail no longer counts." in page
    assert not _checked(page, "consent-offers-email")


def test_how_often_is_saved_and_capped_by_decisions(portal: Portal, check: Check) -> None:
    customer, client = check.signed_in_customer()
    _saved(_post(portal, client, "/brands/acme/cap", {"cap": "1/7"}), "cap")
    assert check.acme(customer) == {"cap": {"count": 1, "period_days": 7}}
    assert _checked(client.get("/brands/acme").text, "cap-1-7")
    send_at = datetime.fromisoformat(_send_at())
    first = check.decide(
        customer,
        "news",
        send_at=send_at.isoformat(),
        reserve=True,
        message_id=f"cap-{customer['id']}",
    )
    assert (first["decision"], first["reserved"]) == ("allow", True)
    later = (send_at + timedelta(hours=1)).isoformat()
    assert check.reasons(customer, "news", send_at=later) == ("defer", ["frequency_cap"])
    _saved(_post(portal, client, "/brands/acme/cap", {"cap": "none"}), "cap")
    assert check.acme(customer) == {}


TOO_OFTEN = "That is more often than the brand allows. Choose one of the options shown."
NOT_SHOWN = "Choose one of the options shown."


@pytest.mark.parametrize(
    ("value", "message"),
    [("1/1", TOO_OFTEN), ("5/7", TOO_OFTEN), ("1/0", TOO_OFTEN), ("often", NOT_SHOWN)],
)
def test_how_often_looser_than_the_policy_is_refused(
    portal: Portal, check: Check, value: str, message: str
) -> None:
    customer, client = check.signed_in_customer()
    response = _post(portal, client, "/brands/acme/cap", {"cap": value})
    assert response.status_code == 422
    assert f'<p class="error" id="cap-error">{message}</p>' in response.text
    assert 'aria-invalid="true" aria-describedby="cap-error"' in response.text
    assert check.acme(customer) == {}


def _midnight_after(chosen: date, zone: ZoneInfo) -> datetime:
    return datetime.combine(chosen + timedelta(days=1), time(0), tzinfo=zone).astimezone(UTC)


@pytest.mark.parametrize("timezone", [None, "America/New_York"])
def test_a_pause_lasts_until_the_next_local_midnight(
    portal: Portal, check: Check, timezone: str | None
) -> None:
    fields = {} if timezone is None else {"timezone": timezone}
    customer, client = check.signed_in_customer(**fields)
    zone = ZoneInfo(timezone or "Europe/Berlin")
    chosen = datetime.now(zone).date() + timedelta(days=10)
    _saved(_post(portal, client, "/brands/acme/pause", {"until": chosen.isoformat()}), "pause")
    ends = _midnight_after(chosen, zone)
    stored = check.acme(customer)["paused_until"]
    assert datetime.fromisoformat(stored) == ends
    assert stored.endswith("Z")
    answer = check.decide(customer, "news", send_at=_send_at(days=1))
    assert (answer["decision"], answer["reasons"]) == ("defer", ["paused"])
    assert datetime.fromisoformat(answer["next_allowed_at"]) == ends
    assert check.reasons(customer, "orders", send_at=_send_at(days=1)) == ("allow", [])
    page = client.get("/brands/acme?saved=pause").text
    assert "Saved: marketing from Acme Outdoors is paused." in page
    assert "Marketing from Acme Outdoors is paused. It may resume on" in page
    assert f'value="{chosen.isoformat()}"' in page
    assert "Resume now" in page
    _saved(_post(portal, client, "/brands/acme/pause", {"resume": "true"}), "resumed")
    assert check.acme(customer) == {}
    assert check.reasons(customer, "news", send_at=_send_at(days=1)) == ("allow", [])
    assert "Resume now" not in client.get("/brands/acme").text


@pytest.mark.parametrize(
    "days", [0, -3, 367, None], ids=["today", "past", "beyond-a-year", "not-a-date"]
)
def test_a_pause_needs_a_future_date_within_a_year(
    portal: Portal, check: Check, days: int | None
) -> None:
    customer, client = check.signed_in_customer()
    today = datetime.now(ZoneInfo("Europe/Berlin")).date()
    value = "someday" if days is None else (today + timedelta(days=days)).isoformat()
    response = _post(portal, client, "/brands/acme/pause", {"until": value})
    assert response.status_code == 422
    assert '<p class="error" id="until-error">' in response.text
    assert 'aria-describedby="until-hint until-error" aria-invalid="true"' in response.text
    assert f'value="{value}"' in response.text
    assert check.acme(customer) == {}


def test_a_pause_may_last_a_whole_year(portal: Portal, check: Check) -> None:
    customer, client = check.signed_in_customer()
    last = datetime.now(ZoneInfo("Europe/Berlin")).date() + timedelta(days=366)
    _saved(_post(portal, client, "/brands/acme/pause", {"until": last.isoformat()}), "pause")
    assert "paused_until" in check.acme(customer)


def test_an_unknown_brand_is_not_found(portal: Portal, check: Check) -> None:
    _customer, client = check.signed_in_customer()
    assert client.get("/brands/initech").status_code == 404
    response = _post(portal, client, "/brands/initech/depth", {"depth": "close"}, page="/")
    assert response.status_code == 404


@pytest.mark.parametrize("token", [None, "0" * 64])
def test_a_form_without_its_token_changes_nothing(check: Check, token: str | None) -> None:
    customer, client = check.signed_in_customer()
    forms: list[tuple[str, dict[str, Any]]] = [
        ("depth", {"depth": "close"}),
        ("topics", {"shown": MARKETING, "on": [], "consent": ["offers:email"]}),
        ("cap", {"cap": "1/7"}),
        ("pause", {"resume": "true"}),
    ]
    for action, data in forms:
        body = data if token is None else {**data, "csrf_token": token}
        response = client.post(f"/brands/acme/{action}", data=body, follow_redirects=False)
        assert response.status_code == 403, action
    assert check.acme(customer) == {}
    assert [e["action"] for e in check.events(customer)] == ["customer.created"]


def test_the_session_decides_whose_settings_change(portal: Portal, check: Check) -> None:
    ana, ana_client = check.signed_in_customer()
    ben, ben_client = check.signed_in_customer()
    _saved(_post(portal, ben_client, "/brands/acme/depth", {"depth": "close"}), "depth")
    assert check.acme(ben) == {"depth": "close"}
    assert check.acme(ana) == {}
    ana_token = csrf_of(ana_client.get("/brands/acme").text)
    response = ben_client.post(
        "/brands/acme/cap", data={"cap": "1/30", "csrf_token": ana_token}, follow_redirects=False
    )
    assert response.status_code == 403
    assert check.acme(ana) == {}
    assert check.acme(ben) == {"depth": "close"}
    assert _checked(ana_client.get("/brands/acme").text, "depth-light")


def test_a_preference_link_may_change_the_brand_settings(portal: Portal, check: Check) -> None:
    customer = check.portal.customer(check.headers)
    link = check.decide(customer, "news")["preferences_url"]
    client = portal.visitor()
    opened = client.get(link.removeprefix(portal.settings.base_url), follow_redirects=False)
    assert opened.status_code == 303
    _saved(_post(portal, client, "/brands/acme/depth", {"depth": "regular"}), "depth")
    assert check.acme(customer) == {"depth": "regular"}
    assert check.events(customer)[-1]["source"] == "preference_link"


def test_signed_out_visitors_are_sent_to_sign_in(portal: Portal) -> None:
    response = portal.visitor().get("/brands/acme", follow_redirects=False)
    assert (response.status_code, response.headers["location"]) == (303, "/login")


def test_the_page_speaks_german(check: Check) -> None:
    _customer, client = check.signed_in_customer()
    chosen = datetime.now(ZoneInfo("Europe/Berlin")).date() + timedelta(days=5)
    _saved(
        _post(check.portal, client, "/brands/acme/pause", {"until": chosen.isoformat()}), "pause"
    )
    page = client.get("/brands/acme", headers={"Accept-Language": "de"})
    assert page.status_code == 200
    assert '<html lang="de">' in page.text
    assert "SMS und" in page.text  # lists joined the German way
