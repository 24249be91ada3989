"""Every portal page in chromium: nothing serious for axe-core, no English in German, 360 px."""

from __future__ import annotations

import uuid
from collections.abc import Callable, Iterator
from contextlib import contextmanager
from dataclasses import dataclass
from datetime import UTC, datetime, timedelta
from typing import Any, Literal

import pytest
from playwright.sync_api import Browser, Page, StorageState, expect

from tests.browser.helpers import check_accessibility, latest_mail, mails, screenshot
from tests.browser.portal import (
    PHONE_SIZE,
    Say,
    ask_for_link,
    browsing,
    english_left,
    mailed_link,
    new_phone,
    say_in,
    send_at,
    shown_text,
    sign_in,
)
from tests.servers import Server

pytestmark = [pytest.mark.browser, pytest.mark.server]

Who = Literal["visitor", "customer", "limited"]
OVERFLOWING = """() => {
    const width = document.documentElement.clientWidth;
    return Array.from(document.querySelectorAll('body *'))
        .filter(el => {
            const box = el.getBoundingClientRect();
            return box.width > 0 && box.right > width + 0.5 && box.left >= 0;
        })
        .map(el => el.outerHTML.slice(0, 160));
}"""


@dataclass
class Tour:
    """One language's visit of the portal: a customer signed in, and a preference link's session."""

    browser: Browser
    server: Server
    headers: dict[str, str]
    locale: str
    say: Say
    customer: dict[str, Any]
    used_link: str
    signed_in: StorageState
    limited: StorageState

    @contextmanager
    def page(self, who: Who) -> Iterator[Page]:
        """A page in a new context of `who`: a visitor without cookies, or a customer's."""
        state = {"visitor": None, "customer": self.signed_in, "limited": self.limited}[who]
        with browsing(self.browser, self.server, locale=self.locale, storage_state=state) as ctx:
            yield ctx.new_page()

    def new_customer(self) -> dict[str, Any]:
        return self.server.api.customer(self.headers, phone=new_phone())

    def unsubscribe_url(self) -> str:
        answer = self.server.api.decide(
            self.headers,
            customer=self.new_customer()["id"],
            brand="acme",
            topic="news",
            channel="email",
            send_at=send_at(),
        )
        url: str = answer["unsubscribe"]["url"]
        return url

    def heading(self, page: Page, text: str) -> None:
        expect(page.get_by_role("heading", level=1)).to_have_text(text)


def _tour(browser: Browser, server: Server, headers: dict[str, str], locale: str) -> Tour:
    """A customer with a history: a change through the API, a send reserved, a sign-in."""
    say = say_in(locale[:2])
    customer = server.api.customer(headers, phone=new_phone())
    changed = server.api.patch(
        headers, customer["id"], {"brands": {"globex": {"topics": {"tips": {"choice": "off"}}}}}
    )
    assert changed.status_code == 200, changed.text
    reserved = server.api.decide(
        headers,
        customer=customer["id"],
        brand="acme",
        topic="news",
        channel="email",
        send_at=send_at(),
        reserve=True,
        message_id=f"tour-{uuid.uuid4().hex}",
    )
    assert reserved["reserved"], reserved
    with browsing(browser, server, locale=locale) as context:
        page = context.new_page()
        used_link = sign_in(page, server, customer["email"], say)
        signed_in = context.storage_state()
    with browsing(browser, server, locale=locale) as context:
        page = context.new_page()
        page.goto(reserved["preferences_url"])
        expect(page).to_have_url(f"{server.base_url}/")
        limited = context.storage_state()
    return Tour(browser, server, headers, locale, say, customer, used_link, signed_in, limited)


@pytest.fixture(scope="module")
def headers(server: Server) -> dict[str, str]:
    return server.api.token()


@pytest.fixture(scope="module")
def english(browser: Browser, server: Server, headers: dict[str, str]) -> Tour:
    return _tour(browser, server, headers, "en-US")


@pytest.fixture(scope="module")
def german(browser: Browser, server: Server, headers: dict[str, str]) -> Tour:
    return _tour(browser, server, headers, "de-DE")


def _login(page: Page, tour: Tour) -> None:
    page.goto("/login")
    tour.heading(page, tour.say("Sign in"))


def _login_invalid(page: Page, tour: Tour) -> None:
    page.goto("/login")
    page.get_by_label(tour.say("E-mail address")).fill("not an address")
    page.get_by_role("button", name=tour.say("Send me a link")).click()
    expect(page.get_by_label(tour.say("E-mail address"))).to_have_attribute("aria-invalid", "true")


def _link_sent(page: Page, tour: Tour) -> None:
    ask_for_link(page, f"nobody-{uuid.uuid4().hex[:8]}@example.org", tour.say)


def _confirm_sign_in(page: Page, tour: Tour) -> None:
    page.goto(mailed_link(page, tour.server, tour.customer["email"], tour.say))
    expect(page.get_by_role("button", name=tour.say("Sign in"), exact=True)).to_be_visible()


def _expired_link(page: Page, tour: Tour) -> None:
    page.goto(tour.used_link)
    tour.heading(page, tour.say("Link no longer valid"))


def _bad_preference_link(page: Page, tour: Tour) -> None:
    page.goto("/p/not-a-token")
    tour.heading(page, tour.say("Not found"))


def _unsubscribe(page: Page, tour: Tour) -> None:
    page.goto(tour.unsubscribe_url())
    tour.heading(page, tour.say("Unsubscribe"))


def _unsubscribed(page: Page, tour: Tour) -> None:
    page.goto(tour.unsubscribe_url())
    name = tour.say("Unsubscribe from “%(topic)s”") % {"topic": "News"}
    page.get_by_role("button", name=name).click()
    tour.heading(page, tour.say("You are unsubscribed"))


def _erased(page: Page, tour: Tour) -> None:
    sign_in(page, tour.server, tour.new_customer()["email"], tour.say)
    _erase_confirm(page, tour)
    page.get_by_role("button", name=tour.say("Yes, erase my account")).click()
    tour.heading(page, tour.say("Your account is erased"))


def _overview(page: Page, tour: Tour) -> None:
    page.goto("/")
    tour.heading(page, tour.say("Your relationships"))


def _brand(page: Page, tour: Tour) -> None:
    page.goto("/brands/acme")
    tour.heading(page, "Acme Outdoors")


def _brand_saved(page: Page, tour: Tour) -> None:
    _brand(page, tour)
    page.get_by_label(tour.say("Regular"), exact=True).check()
    page.get_by_role("button", name=tour.say("Save how close you are")).click()
    expect(page.get_by_role("status")).to_be_visible()


def _brand_invalid(page: Page, tour: Tour) -> None:
    _brand(page, tour)
    label = tour.say("Pause marketing from %(brand)s until the end of this day")
    field = page.get_by_label(label % {"brand": "Acme Outdoors"})
    too_late = datetime.now(UTC).date() + timedelta(days=400)
    field.fill(too_late.isoformat())
    page.get_by_role("button", name=tour.say("Pause"), exact=True).click()
    expect(field).to_have_attribute("aria-invalid", "true")


def _quiet_times(page: Page, tour: Tour, start: str, end: str) -> None:
    page.goto("/channels")
    email = tour.say("e-mail")
    group = page.get_by_role(
        "group", name=tour.say("Quiet times for %(channel)s") % {"channel": email}
    )
    group.get_by_label(tour.say("My own quiet times, as set below")).check()
    group.get_by_label(tour.say("Quiet from")).fill(start)
    group.get_by_label(tour.say("Quiet until")).fill(end)
    save = tour.say("Save quiet times for %(channel)s") % {"channel": email}
    page.get_by_role("button", name=save).click()


def _channels(page: Page, tour: Tour) -> None:
    page.goto("/channels")
    tour.heading(page, tour.say("Channels"))


def _channels_saved(page: Page, tour: Tour) -> None:
    _quiet_times(page, tour, "22:00", "07:00")
    expect(page.get_by_role("status")).to_be_visible()


def _channels_invalid(page: Page, tour: Tour) -> None:
    _quiet_times(page, tour, "09:00", "09:00")
    expect(page.get_by_role("alert")).to_be_visible()


def _history(page: Page, tour: Tour) -> None:
    page.goto("/history")
    tour.heading(page, tour.say("History"))


def _data(page: Page, tour: Tour) -> None:
    page.goto("/data")
    tour.heading(page, tour.say("Your data"))


def _erase_confirm(page: Page, tour: Tour) -> None:
    _data(page, tour)
    page.get_by_role("button", name=tour.say("Erase my account")).click()
    tour.heading(page, tour.say("Erase your account?"))


def _unknown_brand(page: Page, tour: Tour) -> None:
    page.goto("/brands/nope")
    tour.heading(page, tour.say("Not found"))


def _sign_in_needed(page: Page, tour: Tour) -> None:
    page.goto("/history")
    tour.heading(page, tour.say("Sign in to see this page"))


@dataclass(frozen=True)
class Stop:
    """A page of the portal: whose it is and how to get there (and check that it is there)."""

    name: str
    who: Who
    visit: Callable[[Page, Tour], None]


STOPS = [
    Stop("login", "visitor", _login),
    Stop("login-invalid", "visitor", _login_invalid),
    Stop("link-sent", "visitor", _link_sent),
    Stop("confirm-sign-in", "visitor", _confirm_sign_in),
    Stop("expired-link", "visitor", _expired_link),
    Stop("bad-preference-link", "visitor", _bad_preference_link),
    Stop("unsubscribe", "visitor", _unsubscribe),
    Stop("unsubscribed", "visitor", _unsubscribed),
    Stop("erased", "visitor", _erased),
    Stop("overview", "customer", _overview),
    Stop("brand", "customer", _brand),
    Stop("brand-saved", "customer", _brand_saved),
    Stop("brand-invalid", "customer", _brand_invalid),
    Stop("channels", "customer", _channels),
    Stop("channels-saved", "customer", _channels_saved),
    Stop("channels-invalid", "customer", _channels_invalid),
    Stop("history", "customer", _history),
    Stop("data", "customer", _data),
    Stop("erase-confirm", "customer", _erase_confirm),
    Stop("unknown-brand", "customer", _unknown_brand),
    Stop("limited-overview", "limited", _overview),
    Stop("limited-brand", "limited", _brand),
    Stop("limited-brand-saved", "limited", _brand_saved),
    Stop("limited-channels", "limited", _channels),
    Stop("limited-history", "limited", _sign_in_needed),
]


@pytest.mark.parametrize("stop", STOPS, ids=lambda stop: stop.name)
def test_axe_finds_nothing_serious(english: Tour, stop: Stop) -> None:
    with english.page(stop.who) as page:
        stop.visit(page, english)
        check_accessibility(page)


@pytest.mark.parametrize("stop", STOPS, ids=lambda stop: stop.name)
def test_german_pages_show_no_english(german: Tour, stop: Stop) -> None:
    with german.page(stop.who) as page:
        stop.visit(page, german)
        expect(page.locator("html")).to_have_attribute("lang", "de")
        left = english_left(shown_text(page))
    assert left == [], f"{stop.name} ({page.url}) shows English source strings: {left}"


def test_the_language_form_switches_to_german_and_remembers_it(english: Tour) -> None:
    german = say_in("de")
    customer = english.new_customer()
    with english.page("visitor") as page:
        sign_in(page, english.server, customer["email"])
        page.goto("/channels")
        page.get_by_label("Language").select_option(label="Deutsch")
        page.get_by_role("button", name="Change language").click()
        expect(page).to_have_url(f"{english.server.base_url}/channels")
        expect(page.locator("html")).to_have_attribute("lang", "de")
        english.heading(page, german("Channels"))
    with english.page("visitor") as page:
        before = len(mails(english.server.mail_dir))
        ask_for_link(page, customer["email"])
        mail = latest_mail(english.server.mail_dir, after=before)
    assert mail["Subject"] == german("Your sign-in link")


@pytest.mark.parametrize("language", ["en", "de"])
@pytest.mark.parametrize(
    "stop",
    [stop for stop in STOPS if stop.name in ("overview", "brand")],
    ids=lambda stop: stop.name,
)
def test_pages_fit_a_phone(english: Tour, german: Tour, stop: Stop, language: str) -> None:
    tour = english if language == "en" else german
    with tour.page(stop.who) as page:
        stop.visit(page, tour)
        if language == "en":
            screenshot(page, f"portal-{stop.name}-1280")
        page.set_viewport_size(PHONE_SIZE)
        screenshot(page, f"portal-{stop.name}-{language}-360")
        assert page.evaluate("document.documentElement.scrollWidth") <= PHONE_SIZE["width"]
        overflowing: list[str] = page.evaluate(OVERFLOWING)
    assert overflowing == [], f"{stop.name} is wider than 360 px: {overflowing}"
