"""The unsubscribe page (`GET /u/{token}`) in chromium: accessible, legible, its button works."""

from __future__ import annotations

import re
from typing import Any

import pytest
from playwright.sync_api import Page, expect

from tests.browser.helpers import check_accessibility, screenshot
from tests.servers import Server

pytestmark = [pytest.mark.browser, pytest.mark.server]

SEND_AT = "2026-12-01T11:00:00Z"


def decide(server: Server, headers: dict[str, str], customer_id: str) -> dict[str, Any]:
    return server.api.decide(
        headers, customer=customer_id, brand="acme", topic="news", channel="email", send_at=SEND_AT
    )


def test_the_one_click_button_switches_the_topic_off(server: Server, page: Page) -> None:
    headers = server.api.token()
    customer = server.api.customer(headers)
    url: str = decide(server, headers, customer["id"])["unsubscribe"]["url"]
    assert url.startswith(f"{server.base_url}/u/")

    page.goto(url)

    expect(page).to_have_title(re.compile(r"^Unsubscribe\b"))
    expect(page.get_by_role("heading", level=1)).to_have_text("Unsubscribe")
    expect(page.get_by_text("Stop “News” messages from Acme Outdoors?")).to_be_visible()
    check_accessibility(page)
    screenshot(page, "unsubscribe-1280")
    page.set_viewport_size({"width": 360, "height": 800})
    screenshot(page, "unsubscribe-360")

    page.get_by_role("button", name=re.compile(r"^Unsubscribe from “News”$")).click()

    expect(page.get_by_role("heading", level=1)).to_have_text("You are unsubscribed")
    expect(page.get_by_text("You will no longer receive “News” messages")).to_be_visible()
    check_accessibility(page)
    screenshot(page, "unsubscribe-done-360")
    answer = decide(server, headers, customer["id"])
    assert (answer["decision"], answer["reasons"]) == ("deny", ["topic_off"])
