"""A customer in chromium: signs in by mail, changes their settings, signs out; decisions follow."""

from __future__ import annotations

import re
from datetime import time, timedelta
from typing import Any

import pytest
from playwright.sync_api import Browser, Page, expect

from tests.browser.portal import (
    Decisions,
    browsing,
    local_instant,
    new_phone,
    send_at,
    send_day,
    sign_in,
)
from tests.servers import Server

pytestmark = [pytest.mark.browser, pytest.mark.server]

ACME = "Acme Outdoors"
FOCUS_STYLE = """el => {
    const style = getComputedStyle(el);
    return {
        element: el.outerHTML.slice(0, 120),
        focusVisible: el.matches(':focus-visible'),
        outlineStyle: style.outlineStyle,
        outlineWidth: parseFloat(style.outlineWidth),
        boxShadow: style.boxShadow,
    };
}"""


@pytest.fixture(scope="module")
def headers(server: Server) -> dict[str, str]:
    """One API client for the module: each new client costs a password hash."""
    return server.api.token()


def _customer(server: Server, headers: dict[str, str]) -> dict[str, Any]:
    return server.api.customer(headers, phone=new_phone())


def _saved(page: Page, text: str) -> None:
    expect(page.get_by_role("status")).to_have_text(text)


def test_each_step_in_the_portal_is_what_decisions_see(
    browser: Browser, server: Server, headers: dict[str, str]
) -> None:
    customer = _customer(server, headers)
    decide = Decisions(server, headers, customer["id"], send_at())
    assert decide("news") == ("allow", [])  # acme's default depth, light, includes news
    assert decide("events") == ("deny", ["beyond_depth"])

    with browsing(browser, server) as context:
        page = context.new_page()

        used_link = sign_in(page, server, customer["email"])
        expect(page.get_by_role("heading", level=1)).to_have_text("Your relationships")
        expect(page.get_by_role("heading", name=ACME)).to_be_visible()
        assert decide("news") == ("allow", [])  # signing in changes nothing

        page.get_by_role("link", name=f"Change what {ACME} sends you").click()
        expect(page).to_have_url(f"{server.base_url}/brands/acme")
        page.get_by_label("Close", exact=True).check()
        page.get_by_role("button", name="Save how close you are").click()
        _saved(page, f"Saved: how close you are with {ACME}.")
        expect(page.get_by_label("Close", exact=True)).to_be_checked()
        assert decide("events") == ("allow", [])
        assert decide("offers") == ("deny", ["no_consent"])  # a depth never gives consent

        news = page.get_by_role("group", name="News", exact=True)
        expect(news.get_by_label("On for SMS")).to_be_checked()
        news.get_by_label("On for SMS").uncheck()
        page.get_by_role("button", name="Save topics and channels").click()
        _saved(page, f"Saved: your topics and channels for {ACME}.")
        expect(news.get_by_label("On for SMS")).not_to_be_checked()
        expect(news.get_by_label("On for e-mail")).to_be_checked()
        assert decide("news", "sms") == ("deny", ["topic_channel_off"])
        assert decide("news", "email") == ("allow", [])

        offers = page.get_by_role("group", name="Offers and discounts", exact=True)
        offers.get_by_label(re.compile(r"^I agree to receive .+ by e-mail\.$")).check()
        page.get_by_role("button", name="Save topics and channels").click()
        _saved(page, f"Saved: your topics and channels for {ACME}.")
        expect(offers.get_by_text(re.compile(r"^You agreed to this by e-mail on "))).to_be_visible()
        assert decide("offers", "email") == ("allow", [])
        assert decide("offers", "sms") == ("deny", ["no_consent"])

        page.get_by_role("navigation", name="Main").get_by_role("link", name="Channels").click()
        email = page.get_by_role("group", name="Quiet times for e-mail")
        email.get_by_label("My own quiet times, as set below").check()
        email.get_by_label("Quiet from").fill("10:00")
        email.get_by_label("Quiet until").fill("14:00")
        page.get_by_role("button", name="Save quiet times for e-mail").click()
        _saved(page, "Saved: your quiet times.")
        expect(page.get_by_text("Your quiet times for e-mail: never between 10:00")).to_be_visible()
        answer = decide.answer("news")
        quiet_ends = local_instant(send_day(), time(14))
        assert (answer["decision"], answer["reasons"], answer["next_allowed_at"]) == (
            "defer",
            ["quiet_hours"],
            quiet_ends,
        )
        assert decide("tips", "sms", brand="globex") == ("allow", [])  # not on e-mail

        page.get_by_role("navigation", name="Main").get_by_role("link", name="Overview").click()
        page.get_by_role("link", name=f"Change what {ACME} sends you").click()
        last_day = send_day(7)
        page.get_by_label(f"Pause marketing from {ACME} until the end of this day").fill(
            last_day.isoformat()
        )
        page.get_by_role("button", name="Pause", exact=True).click()
        _saved(page, f"Saved: marketing from {ACME} is paused.")
        resumes = re.compile(f"^Marketing from {ACME} is paused. It may resume on ")
        expect(page.get_by_text(resumes)).to_be_visible()
        answer = decide.answer("news")
        pause_ends = local_instant(last_day + timedelta(days=1), time(0))
        assert (answer["decision"], answer["reasons"], answer["next_allowed_at"]) == (
            "defer",
            ["paused", "quiet_hours"],
            pause_ends,
        )
        assert decide("tips", "sms", brand="globex") == ("allow", [])  # only acme is paused

        stop = page.get_by_role("complementary", name="Stop all marketing")
        stop.get_by_role("button", name="Stop all marketing").click()
        expect(page).to_have_url(f"{server.base_url}/?saved=stopped")
        _saved(page, "Done: you receive no more marketing from any brand.")
        expect(stop.get_by_role("button", name="Allow marketing again")).to_be_visible()
        assert decide("news") == ("deny", ["objected"])
        assert decide("offers") == ("deny", ["objected", "no_consent"])  # consent withdrawn
        assert decide("tips", "sms", brand="globex") == ("deny", ["objected"])
        assert decide("orders", "sms") == ("allow", [])  # essential messages still reach them

        page.get_by_role("button", name="Sign out").click()
        expect(page).to_have_url(f"{server.base_url}/login?signed_out=true")
        _saved(page, "You are signed out.")
        assert decide("news") == ("deny", ["objected"])  # signing out keeps every choice
        page.goto("/brands/acme")
        expect(page).to_have_url(f"{server.base_url}/login")
        page.goto(used_link)
        expect(page.get_by_role("heading", level=1)).to_have_text("Link no longer valid")


def test_signing_in_and_a_change_need_no_javascript(
    browser: Browser, server: Server, headers: dict[str, str]
) -> None:
    customer = _customer(server, headers)
    decide = Decisions(server, headers, customer["id"], send_at())
    with browsing(browser, server, java_script_enabled=False) as context:
        page = context.new_page()
        sign_in(page, server, customer["email"])
        page.get_by_role("link", name=f"Change what {ACME} sends you").click()
        news = page.get_by_role("group", name="News", exact=True)
        news.get_by_label("On for e-mail").uncheck()
        page.get_by_role("button", name="Save topics and channels").click()
        _saved(page, f"Saved: your topics and channels for {ACME}.")
        assert page.locator("script").count() == 0
    assert decide("news", "email") == ("deny", ["topic_channel_off"])
    assert decide("news", "sms") == ("allow", [])


def _tab_through(page: Page) -> list[dict[str, Any]]:
    """Press Tab from the top of the page until focus comes round again; each element's style.

    Parts of a control that the page cannot see (a date field's picker button) are passed over.
    """
    seen: list[dict[str, Any]] = []
    for _ in range(200):
        page.keyboard.press("Tab")
        focused = page.locator(":focus")
        if focused.count() == 0:
            continue
        style: dict[str, Any] = focused.evaluate(FOCUS_STYLE)
        if seen and style["element"] == seen[0]["element"]:
            break
        seen.append(style)
    return seen


def _visible(style: dict[str, Any]) -> bool:
    outline = style["outlineStyle"] != "none" and style["outlineWidth"] >= 2
    return bool(style["focusVisible"]) and (outline or style["boxShadow"] != "none")


def test_keyboard_focus_is_always_visible(
    browser: Browser, server: Server, headers: dict[str, str]
) -> None:
    customer = _customer(server, headers)
    with browsing(browser, server) as context:
        page = context.new_page()
        sign_in(page, server, customer["email"])
        page.goto("/brands/acme")

        page.keyboard.press("Tab")
        skip = page.get_by_role("link", name="Skip to content")
        expect(skip).to_be_focused()
        expect(skip).to_be_in_viewport()
        page.keyboard.press("Enter")
        for _ in range(20):
            page.keyboard.press("Tab")
            if page.evaluate("document.activeElement.tagName") == "BUTTON":
                break
        button = page.locator(":focus")
        expect(button).to_have_text("Save how close you are")
        style: dict[str, Any] = button.evaluate(FOCUS_STYLE)
        assert style["focusVisible"], style
        assert style["outlineStyle"] == "solid", style
        assert style["outlineWidth"] >= 3, style
        assert style["boxShadow"] != "none", style

        for path in ("/", "/brands/acme", "/channels", "/history", "/data"):
            page.goto(path)
            focused = _tab_through(page)
            assert "Change language" in focused[-1]["element"], path
            assert [style for style in focused if not _visible(style)] == [], path
