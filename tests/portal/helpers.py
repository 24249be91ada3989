"""A portal under test: customers made through the API, signed in through the e-mailed link."""

from __future__ import annotations

import email
import email.policy
import re
from dataclasses import dataclass, field
from email.message import EmailMessage
from functools import cached_property
from pathlib import Path
from typing import Any

import httpx
from fastapi import FastAPI
from fastapi.testclient import TestClient

from tests.api import Api

_TOKEN = re.compile(r'name="csrf_token" value="([^"]+)"')


def csrf_of(html: str) -> str:
    """The CSRF token of the first form on a page."""
    found = _TOKEN.search(html)
    assert found, "the page has no form with a CSRF token"
    return found.group(1)


def mails(directory: Path) -> list[EmailMessage]:
    """The mails the file backend wrote, oldest first."""
    return [
        email.message_from_bytes(path.read_bytes(), policy=email.policy.default)  # type: ignore[misc]
        for path in sorted(directory.glob("*.eml"))
    ]


def mails_to(directory: Path, address: str) -> list[EmailMessage]:
    return [m for m in mails(directory) if m["To"] == address]


def link_in(message: EmailMessage, prefix: str) -> str:
    body = message.get_body(("plain",))
    assert body is not None
    found = re.search(re.escape(prefix) + r"\S+", body.get_content())
    assert found, f"no link starting with {prefix} in the mail"
    return found.group(0)


@dataclass
class Portal(Api):
    """The API helper plus browsers-without-a-browser: one cookie jar per customer."""

    app: FastAPI = field(kw_only=True)

    @property
    def mail_dir(self) -> Path:
        return self.settings.mail_dir

    def visitor(self) -> TestClient:
        """A new visitor with an empty cookie jar (the app is already started)."""
        return TestClient(self.app, base_url=self.settings.base_url)

    @cached_property
    def headers(self) -> dict[str, str]:
        """A token with every scope, made once (each new client costs a password hash)."""
        return self.token()

    def new_customer(self, **fields: Any) -> dict[str, Any]:
        """A customer made through the API: the customer object."""
        return self.customer(self.headers, **fields)

    def sign_in(self, address: str) -> TestClient:
        """A visitor signed in as the customer with `address`, through the e-mailed link."""
        client = self.visitor()
        form = client.get("/login")
        before = len(mails_to(self.mail_dir, address))
        sent = client.post("/login", data={"email": address, "csrf_token": csrf_of(form.text)})
        assert sent.status_code == 200, sent.text
        received = mails_to(self.mail_dir, address)
        assert len(received) == before + 1, "no sign-in mail was sent"
        path = link_in(received[-1], self.settings.base_url + "/login/")
        path = path.removeprefix(self.settings.base_url)
        confirm = client.get(path)
        assert confirm.status_code == 200, confirm.text
        done = client.post(path, data={"csrf_token": csrf_of(confirm.text)}, follow_redirects=False)
        assert done.status_code == 303, done.text
        return client

    def signed_in_customer(self, **fields: Any) -> tuple[dict[str, Any], TestClient]:
        customer = self.new_customer(**fields)
        return customer, self.sign_in(customer["email"])

    def submit(
        self, client: TestClient, page: str, action: str, data: dict[str, Any]
    ) -> httpx.Response:
        """Post a form of `page` to `action` with its CSRF token; redirects are not followed."""
        shown = client.get(page)
        assert shown.status_code == 200, shown.text
        return client.post(
            action, data={**data, "csrf_token": csrf_of(shown.text)}, follow_redirects=False
        )

    def decision(self, customer: dict[str, Any], **request: Any) -> dict[str, Any]:
        return self.decide(self.headers, customer=customer["id"], **request)
