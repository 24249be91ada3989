"""The console in chromium: accounts, signing in by the form, its forms, audit events, moments."""

from __future__ import annotations

import csv
import io
import re
import time
import uuid
from datetime import UTC, datetime, timedelta
from typing import Any

import pytest
from playwright.sync_api import Page, expect
from sqlalchemy import select
from sqlmodel import col

from app.audit import Actor, event_views
from app.auth.admins import create_admin
from app.consent.context import Context
from app.db import read_session, write_session
from app.models import AuditEvent
from tests.browser.helpers import check_accessibility
from tests.browser.portal import new_phone
from tests.servers import Server

PASSWORD = "console browser password"


def account(server: Server, role: str, password: str = PASSWORD) -> str:
    """A new local account with `role` in the server's database: its e-mail address."""
    email = f"{role}-{uuid.uuid4().hex[:8]}@example.org"
    ctx = Context.from_settings(server.api.settings)
    with write_session(server.api.engine) as session:
        create_admin(
            session,
            sealer=ctx.sealer,
            actor=Actor("cli"),
            source="cli",
            email=email,
            role=role,
            password=password,
        )
    return email


def fill_sign_in(page: Page, email: str, password: str) -> None:
    """Fill in the console's sign-in form and send it, as a member of staff does."""
    page.goto("/admin/login")
    page.get_by_label("E-mail address").fill(email)
    page.get_by_label("Password").fill(password)
    page.get_by_role("button", name="Sign in", exact=True).click()


def sign_in(page: Page, server: Server, email: str) -> None:
    """Sign in with the local account `email`: the dashboard opens."""
    fill_sign_in(page, email, PASSWORD)
    expect(page).to_have_url(f"{server.base_url}/admin")
    expect(page.get_by_role("heading", level=1)).to_have_text("Dashboard")


def sign_in_as(page: Page, server: Server, role: str) -> str:
    """Sign in with a new account of `role`: its e-mail address."""
    email = account(server, role)
    sign_in(page, server, email)
    return email


def go_to(page: Page, name: str) -> None:
    """Follow a link of the console's navigation."""
    page.get_by_role("navigation", name="Console").get_by_role("link", name=name).click()


def look_up(page: Page, reference: str) -> None:
    """Look a customer up on the console's customers page."""
    go_to(page, "Customers")
    page.get_by_label("Customer reference").fill(reference)
    page.get_by_role("button", name="Look up").click()


def show_moment(page: Page, moment: datetime) -> None:
    """On a customer's page, ask for the settings as they were at `moment`."""
    page.get_by_label("Show the settings as they were at (UTC)").fill(field_value(moment))
    page.get_by_role("button", name="Show", exact=True).click()


def create_client(page: Page, name: str, scope: str | None) -> None:
    """Fill in the new client form of the API clients page and send it."""
    go_to(page, "API clients")
    page.get_by_label("Name").fill(name)
    if scope is not None:
        page.get_by_label(re.compile(f"^{re.escape(scope)} ")).check()
    page.get_by_role("button", name="Create the client").click()


def new_customer(server: Server, headers: dict[str, str]) -> dict[str, Any]:
    """A new customer through the API, with an e-mail address and a phone number."""
    return server.api.customer(headers, phone=new_phone())


def set_preferences(
    server: Server, headers: dict[str, str], ref: str, body: dict[str, Any]
) -> None:
    """Change the customer's preferences through the API."""
    response = server.api.patch(headers, ref, body)
    assert response.status_code == 200, response.text


def csv_rows(text: str) -> list[dict[str, str]]:
    return list(csv.DictReader(io.StringIO(text)))


def events_of(server: Server, customer_id: str) -> list[dict[str, Any]]:
    """The customer's audit events, oldest first, personal data opened."""
    ctx = Context.from_settings(server.api.settings)
    with read_session(server.api.engine) as session:
        events = session.scalars(
            select(AuditEvent)
            .where(col(AuditEvent.customer_id) == customer_id)
            .order_by(col(AuditEvent.id))
        ).all()
        return event_views(session, ctx.sealer, events, unseal=True)


def instant(text: str) -> datetime:
    return datetime.fromisoformat(text.replace("Z", "+00:00"))


def after_next_second(moment: datetime) -> datetime:
    """Wait until the whole second after `moment` has passed on this machine's clock (the
    server's); that second, as a datetime."""
    second = moment.replace(microsecond=0) + timedelta(seconds=1)
    while datetime.now(UTC) < second + timedelta(milliseconds=50):
        time.sleep(0.05)
    return second


def field_value(moment: datetime) -> str:
    """A datetime-local value with seconds (the console's `at` field is UTC)."""
    return moment.astimezone(UTC).strftime("%Y-%m-%dT%H:%M:%S")


class Axe:
    """axe-core on each page given; every page is checked before the failures are told."""

    def __init__(self) -> None:
        self.failures: list[str] = []
        self.checked: list[str] = []

    def check(self, page: Page, name: str) -> None:
        self.checked.append(name)
        try:
            check_accessibility(page)
        except pytest.fail.Exception as failure:
            self.failures.append(f"{name}: {failure}")

    def done(self) -> None:
        if self.failures:
            pytest.fail("\n".join(self.failures), pytrace=False)
