"""Browser tests: Debian's chromium driven by Playwright against a real server per module."""

from __future__ import annotations

from collections.abc import Iterator
from pathlib import Path

import pytest
from playwright.sync_api import (
    Browser,
    ConsoleMessage,
    Page,
    Playwright,
    ViewportSize,
    sync_playwright,
)

from tests.servers import Server, failing_on_server_errors, running_server

CHROMIUM = Path("/usr/bin/chromium")
VIEWPORT: ViewportSize = {"width": 1280, "height": 800}


@pytest.fixture(scope="module")
def server(tmp_path_factory: pytest.TempPathFactory) -> Iterator[Server]:
    """A server on its own database with the test catalog; stopped after the module."""
    with running_server(tmp_path_factory.mktemp("browser")) as running:
        yield running


@pytest.fixture(autouse=True)
def no_server_errors(request: pytest.FixtureRequest) -> Iterator[None]:
    """Fail a test during which the server printed a traceback (an unhandled error, a 500)."""
    if "server" not in request.fixturenames:
        yield
        return
    with failing_on_server_errors(request.getfixturevalue("server")):
        yield


@pytest.fixture(scope="module")
def playwright() -> Iterator[Playwright]:
    """Per module: while Playwright runs, asyncio believes a loop is running in this thread, so
    it must stop before the tests of other folders (which may use asyncio.run) begin."""
    with sync_playwright() as running:
        yield running


@pytest.fixture(scope="module")
def browser(playwright: Playwright) -> Iterator[Browser]:
    """Debian's chromium, headless; Playwright's own browsers are never downloaded."""
    if not CHROMIUM.exists():
        pytest.fail(f"{CHROMIUM} is missing: run `make browser-tools`")
    browser = playwright.chromium.launch(
        executable_path=CHROMIUM, headless=True, chromium_sandbox=False
    )
    yield browser
    browser.close()


@pytest.fixture
def page(browser: Browser, server: Server) -> Iterator[Page]:
    """A page in a fresh context (no cookies) on the server; relative URLs are the server's.

    The test fails if a script on the page threw or the page broke its Content-Security-Policy.
    """
    context = browser.new_context(
        viewport=VIEWPORT,
        locale="en-US",
        base_url=server.base_url,
    )
    problems: list[str] = []

    def on_console(message: ConsoleMessage) -> None:
        if message.type == "error" and "Content Security Policy" in message.text:
            problems.append(f"{message.location.get('url') or page.url}: {message.text}")

    page = context.new_page()
    page.on("console", on_console)
    page.on("pageerror", lambda error: problems.append(f"uncaught {error.name}: {error.message}"))
    try:
        yield page
    finally:
        context.close()
    if problems:
        pytest.fail("the page reported:\n" + "\n".join(problems))
