"""Helpers for browser tests: the axe-core check, screenshots, and the mail the server wrote."""

from __future__ import annotations

import re
import time
from email.message import EmailMessage
from email.parser import BytesParser
from email.policy import default
from pathlib import Path
from typing import Any, cast

import pytest
from playwright.sync_api import Page

ROOT = Path(__file__).resolve().parents[2]
AXE = ROOT / "node_modules" / "axe-core" / "axe.min.js"
ARTIFACTS = ROOT / "tests" / "artifacts"
FAILING_IMPACTS = ("serious", "critical")
MAIL_WAIT_SECONDS = 5.0
_URL = re.compile(r"https?://[^\s<>\"']+")


def check_accessibility(page: Page) -> list[dict[str, Any]]:
    """Run axe-core on the page; fail on serious or critical violations, return all of them."""
    if not AXE.is_file():
        pytest.fail(f"{AXE.relative_to(ROOT)} is missing: run `make browser-tools`")
    if not page.evaluate("typeof window.axe !== 'undefined'"):
        # Evaluated, not added as a <script>: the page's Content-Security-Policy refuses inline
        # scripts, and the pages are tested under their real policy.
        page.evaluate(AXE.read_text(encoding="utf-8"))
    results = cast(dict[str, Any], page.evaluate("() => axe.run()"))
    violations = cast(list[dict[str, Any]], results["violations"])
    failing = [v for v in violations if v["impact"] in FAILING_IMPACTS]
    if failing:
        pytest.fail(f"axe found on {page.url}:\n{describe_violations(failing)}", pytrace=False)
    return violations


def describe_violations(violations: list[dict[str, Any]]) -> str:
    """One paragraph per violation: impact, rule id, what it asks, the offending elements."""
    lines = []
    for violation in violations:
        lines.append(f"- [{violation['impact']}] {violation['id']}: {violation['help']}")
        lines.append(f"  {violation['helpUrl']}")
        lines.extend(f"    {', '.join(map(str, node['target']))}" for node in violation["nodes"])
    return "\n".join(lines)


def screenshot(page: Page, name: str) -> Path:
    """Save the whole page as tests/artifacts/<name>.png."""
    ARTIFACTS.mkdir(parents=True, exist_ok=True)
    path = ARTIFACTS / f"{name}.png"
    page.screenshot(path=path, full_page=True)
    return path


def mails(mail_dir: Path) -> list[EmailMessage]:
    """Every mail the server's file backend wrote to `mail_dir`, oldest first."""
    if not mail_dir.is_dir():
        return []
    parser = BytesParser(policy=default)
    return [
        cast(EmailMessage, parser.parsebytes(path.read_bytes()))
        for path in sorted(mail_dir.glob("*.eml"))
    ]


def latest_mail(mail_dir: Path, *, after: int = 0) -> EmailMessage:
    """The newest mail once more than `after` were written (the server may send after replying)."""
    deadline = time.monotonic() + MAIL_WAIT_SECONDS
    while True:
        written = mails(mail_dir)
        if len(written) > after:
            return written[-1]
        if time.monotonic() > deadline:
            pytest.fail(f"no new mail in {mail_dir} after {MAIL_WAIT_SECONDS}s ({after} before)")
        time.sleep(0.05)


def link_in(message: EmailMessage, prefix: str) -> str:
    """The first URL in the text body that starts with `prefix`."""
    body = message.get_body(preferencelist=("plain",))
    assert body is not None, f"no text/plain part in {message['Subject']!r}"
    text = cast(EmailMessage, body).get_content()
    urls = [url.rstrip(".,;:!?)]") for url in _URL.findall(text)]
    for url in urls:
        if url.startswith(prefix):
            return url
    pytest.fail(f"no link starting with {prefix!r} in {message['Subject']!r}; found {urls}")
