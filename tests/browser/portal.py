"""The portal in chromium: contexts, signing in through the mailed link, decisions, source words."""

from __future__ import annotations

import re
import secrets
import tomllib
from collections.abc import Callable, Iterator
from contextlib import contextmanager
from dataclasses import dataclass
from datetime import UTC, date, datetime, time, timedelta
from functools import lru_cache
from typing import Any
from zoneinfo import ZoneInfo

import pytest
from babel.messages.extract import extract_from_dir
from babel.messages.pofile import read_po
from playwright.sync_api import (
    Browser,
    BrowserContext,
    ConsoleMessage,
    Page,
    StorageState,
    ViewportSize,
    expect,
)

from app.web.i18n import translations
from tests.api import CATALOG
from tests.browser.helpers import ROOT, latest_mail, link_in, mails
from tests.servers import Server

Say = Callable[[str], str]
ZONE = ZoneInfo("Europe/Berlin")  # the test catalog's default_timezone
DESKTOP: ViewportSize = {"width": 1280, "height": 800}
PHONE_SIZE: ViewportSize = {"width": 360, "height": 800}
KEYWORDS = {"_": None, "gettext": None, "ngettext": (1, 2)}
_PLACEHOLDER = re.compile(r"%\(\w+\)[sd]")
_EDGES = re.compile(r"^(?:%\(\w+\)[sd])+|(?:%\(\w+\)[sd])+$")


def new_phone() -> str:
    """A mobile number no other customer has: an erased customer's number starts stopped."""
    return f"+49151{secrets.randbelow(10**8):08d}"


def say_in(locale: str) -> Say:
    """A message as the portal shows it in `locale` (the English source while untranslated)."""
    return translations(locale).ugettext


ENGLISH = say_in("en")


@contextmanager
def browsing(
    browser: Browser,
    server: Server,
    *,
    locale: str = "en-US",
    storage_state: StorageState | None = None,
    java_script_enabled: bool = True,
    viewport: ViewportSize = DESKTOP,
) -> Iterator[BrowserContext]:
    """A context on the server (relative URLs are the server's), closed after the block.

    Like the `page` fixture, the block fails if a script threw or a page broke its
    Content-Security-Policy.
    """
    context = browser.new_context(
        viewport=viewport,
        locale=locale,
        base_url=server.base_url,
        storage_state=storage_state,
        java_script_enabled=java_script_enabled,
    )
    problems: list[str] = []

    def watch(page: Page) -> None:
        def on_console(message: ConsoleMessage) -> None:
            if message.type == "error" and "Content Security Policy" in message.text:
                problems.append(f"{message.location.get('url') or page.url}: {message.text}")

        page.on("console", on_console)
        page.on(
            "pageerror", lambda error: problems.append(f"uncaught {error.name}: {error.message}")
        )

    context.on("page", watch)
    try:
        yield context
    finally:
        context.close()
    if problems:
        pytest.fail("the pages reported:\n" + "\n".join(problems))


def ask_for_link(page: Page, address: str, say: Say = ENGLISH) -> None:
    """Fill in the sign-in form with `address` and send it, as a visitor does."""
    page.goto("/login")
    page.get_by_label(say("E-mail address")).fill(address)
    page.get_by_role("button", name=say("Send me a link")).click()
    expect(page.get_by_role("heading", level=1)).to_have_text(say("Check your inbox"))


def mailed_link(page: Page, server: Server, address: str, say: Say = ENGLISH) -> str:
    """Ask for a sign-in link on /login and read it from the mail the server wrote."""
    before = len(mails(server.mail_dir))
    ask_for_link(page, address, say)
    message = latest_mail(server.mail_dir, after=before)
    assert message["To"] == address
    return link_in(message, f"{server.base_url}/login/")


def sign_in(page: Page, server: Server, address: str, say: Say = ENGLISH) -> str:
    """Sign in through the mailed link and its button; the used link is returned."""
    link = mailed_link(page, server, address, say)
    page.goto(link)
    page.get_by_role("button", name=say("Sign in"), exact=True).click()
    expect(page).to_have_url(f"{server.base_url}/")
    return link


def send_day(days: int = 1) -> date:
    return datetime.now(UTC).date() + timedelta(days=days)


def send_at(days: int = 1) -> str:
    """11:00 UTC `days` ahead: noon in Berlin, outside every quiet time of the test catalog."""
    return f"{send_day(days).isoformat()}T11:00:00Z"


def local_instant(day: date, at: time) -> str:
    """A local time in the catalog's zone as the API writes an instant (UTC, `Z`)."""
    instant = datetime.combine(day, at, ZONE).astimezone(UTC)
    return instant.isoformat().replace("+00:00", "Z")


@dataclass
class Decisions:
    """Decisions through the API about one customer, at one `send_at`."""

    server: Server
    headers: dict[str, str]
    customer_id: str
    at: str

    def answer(self, topic: str, channel: str = "email", *, brand: str = "acme") -> dict[str, Any]:
        return self.server.api.decide(
            self.headers,
            customer=self.customer_id,
            brand=brand,
            topic=topic,
            channel=channel,
            send_at=self.at,
        )

    def __call__(
        self, topic: str, channel: str = "email", *, brand: str = "acme"
    ) -> tuple[str, list[str]]:
        answer = self.answer(topic, channel, brand=brand)
        return answer["decision"], answer["reasons"]


def shown_text(page: Page) -> str:
    """What the page says: its title, its rendered text and the names given by aria-label."""
    text: str = page.evaluate(
        """() => [
            document.title,
            document.body.innerText,
            ...Array.from(document.querySelectorAll('[aria-label]'), e => e.ariaLabel),
        ].join('\\n')"""
    )
    return text


@lru_cache(maxsize=1)
def catalog_words() -> tuple[str, ...]:
    """The company's own words from the test catalog: brand and topic names and notices."""
    with CATALOG.open("rb") as handle:
        catalog = tomllib.load(handle)
    words = set()
    for brand in catalog["brands"]:
        words.add(brand["name"])
        for topic in brand["topics"]:
            words.add(topic["name"])
            if "notice" in topic:
                words.add(topic["notice"])
    return tuple(sorted(words, key=len, reverse=True))


def _pattern(message: str) -> re.Pattern[str] | None:
    """`message` as it may show on a page: any value for an inner placeholder, any white space.

    Placeholders at either end are left out: what fills them is no English of the message.
    """
    core = _EDGES.sub("", message)
    parts = _PLACEHOLDER.split(core)
    if not any(re.search(r"[A-Za-z]{2}", part) for part in parts):
        return None  # placeholders and punctuation only: nothing English to find
    literal = ".+?".join(
        "".join(
            r"\s+" if piece.isspace() else re.escape(piece) for piece in re.split(r"(\s+)", part)
        )
        for part in parts
    )
    before = r"(?<![\w-])" if re.match(r"\w", core) else ""
    after = r"(?![\w-])" if re.search(r"\w$", core) else ""
    return re.compile(before + literal + after)


@lru_cache(maxsize=1)
def english_messages() -> tuple[tuple[str, re.Pattern[str]], ...]:
    """The English source messages whose German translation differs, as patterns to find.

    Taken from the code and templates the way `make messages` extracts them. A message
    translated identically ("SMS") cannot betray a missing translation and is left out;
    a message not translated yet is kept.
    """
    with (ROOT / "locale" / "de" / "LC_MESSAGES" / "messages.po").open("rb") as handle:
        german = read_po(handle, locale="de")
    found: dict[str, re.Pattern[str]] = {}
    for _file, _line, message, _comments, _context in extract_from_dir(
        ROOT,
        method_map=[("app/**.py", "python"), ("templates/**.html", "jinja2")],
        options_map={"templates/**.html": {"extensions": "jinja2.ext.i18n"}},
        keywords=KEYWORDS,
    ):
        forms = (message,) if isinstance(message, str) else tuple(message)
        entry = german.get(forms[0])
        strings: tuple[str, ...] = ()
        if entry is not None and not entry.fuzzy and entry.string:
            strings = (entry.string,) if isinstance(entry.string, str) else tuple(entry.string)
        for index, english in enumerate(forms):
            translated = strings[min(index, len(strings) - 1)] if strings else ""
            if english == translated or english in catalog_words():
                continue
            pattern = _pattern(english)
            if pattern is not None:
                found[english] = pattern
    return tuple(sorted(found.items(), key=lambda item: (-len(item[0]), item[0])))


def english_left(text: str) -> list[str]:
    """The English source messages that `text` shows, the catalog's own words aside."""
    for word in catalog_words():
        text = text.replace(word, " ")
    left = []
    # Longest first, each found one blanked out: "no" inside a sentence found is not told again.
    for message, pattern in english_messages():
        text, found = pattern.subn(" ", text)
        if found:
            left.append(message)
    return sorted(left)
