"""GET /admin: charts of decisions, topic reach, depth mix and unsubscribes, with their numbers."""

from __future__ import annotations

import functools
import re
import time
from collections.abc import Iterator
from datetime import UTC, datetime
from html.parser import HTMLParser
from typing import Any

import pytest
from fastapi.testclient import TestClient

from app.consent import tally
from tests.admin.helpers import Console
from tests.apps import app_on_own_database

H = dict[str, str]
Rows = list[dict[str, str]]
Table = dict[str, dict[str, str]]
EVIDENCE = {"source": "signup-form"}


@pytest.fixture(scope="module")
def board(tmp_path_factory: pytest.TempPathFactory) -> Iterator[Console]:
    """A console on a database of this module's own, flushing a tally of its own every 0.1 s.

    Every decision in the process is counted in that tally while the module runs, and only this
    app writes it, so the numbers are exact.
    """
    tmp = tmp_path_factory.mktemp("dashboard")
    private = tally.Tally()
    with pytest.MonkeyPatch.context() as patch:
        patch.setattr(tally, "TALLY", private)
        patch.setattr(tally, "flushing", functools.partial(tally.flushing, tally=private))
        with app_on_own_database(tmp, tally_flush_seconds=0.1) as running:
            yield Console(
                app=running.app,
                http=running.http,
                engine=running.engine,
                settings=running.settings,
            )


@pytest.fixture(scope="module")
def headers(board: Console) -> H:
    return board.token()


@pytest.fixture(scope="module")
def auditor(board: Console) -> TestClient:
    return board.sign_in("auditor")


class Tables(HTMLParser):
    """The page's tables by id: a {column heading: cell} per row that has a row heading."""

    def __init__(self) -> None:
        super().__init__()
        self.tables: dict[str, Rows] = {}
        self._table: str | None = None
        self._head: list[str] = []
        self._row: list[str] = []
        self._cell: list[str] | None = None
        self._in_head = False
        self._row_heading = False

    def handle_starttag(self, tag: str, attrs: list[tuple[str, str | None]]) -> None:
        if tag == "table":
            self._table = dict(attrs).get("id") or ""
            self.tables[self._table] = []
            self._head = []
        elif tag == "thead":
            self._in_head = True
        elif tag == "tr":
            self._row = []
            self._row_heading = False
        elif tag in ("th", "td") and self._table is not None:
            self._cell = []
            if tag == "th" and not self._row and not self._in_head:
                self._row_heading = True

    def handle_data(self, data: str) -> None:
        if self._cell is not None:
            self._cell.append(data)

    def handle_endtag(self, tag: str) -> None:
        if tag in ("th", "td") and self._cell is not None:
            (self._head if self._in_head else self._row).append("".join(self._cell).strip())
            self._cell = None
        elif tag == "thead":
            self._in_head = False
        elif tag == "tr" and self._table is not None and self._row_heading:
            self.tables[self._table].append(dict(zip(self._head, self._row, strict=True)))
        elif tag == "table":
            self._table = None


def dashboard(client: TestClient) -> tuple[str, dict[str, Table]]:
    """The page, and its tables keyed by their rows' headings."""
    response = client.get("/admin")
    assert response.status_code == 200, response.text
    parser = Tables()
    parser.feed(response.text)
    tables = {
        ident: {next(iter(row.values())): row for row in rows}
        for ident, rows in parser.tables.items()
    }
    tables["reasons"] = {
        f"{row['Outcome']} {row['Reason']}": row
        for row in parser.tables.get("decisions-per-reason-table", [])
    }
    return response.text, tables


def number(table: Table, row: str, column: str) -> int:
    return int(table.get(row, {}).get(column, "0") or 0)


def today() -> str:
    return datetime.now(UTC).date().isoformat()


def reasons_table(tables: dict[str, Table]) -> dict[tuple[str, str], int]:
    """The reasons table as {(outcome, reason): decisions}."""
    return {(r["Outcome"], r["Reason"]): int(r["Decisions"]) for r in tables["reasons"].values()}


def test_the_dashboard_needs_a_signed_in_account(board: Console) -> None:
    response = board.visitor().get("/admin", follow_redirects=False)

    assert response.status_code == 303
    assert response.headers["location"] == "/admin/login"


@pytest.mark.parametrize("role", ["auditor", "support", "admin"])
def test_every_role_sees_four_accessible_charts(board: Console, role: str) -> None:
    page, tables = dashboard(board.sign_in(role))

    assert page.count('<svg xmlns="http://www.w3.org/2000/svg" class="chart" role="img"') == 5
    for ident in ("decisions-per-day", "decisions-per-reason", "topic-reach", "depth-mix"):
        assert f'aria-labelledby="{ident}-title {ident}-desc"' in page
        assert f'<title id="{ident}-title">' in page
        assert f"{ident}-table" in tables
    assert "unsubscribes-table" in tables
    assert "<script" not in page
    assert "http://" not in page.replace("http://www.w3.org/2000/svg", "")


def wait_for(client: TestClient, done: Any) -> dict[str, Table]:
    """The page's tables once `done(tables)` holds (the background flush runs every 0.1 s)."""
    deadline = time.monotonic() + 10
    while True:
        _page, tables = dashboard(client)
        if done(tables) or time.monotonic() > deadline:
            return tables
        time.sleep(0.05)


def test_decisions_are_charted_by_outcome_and_reason(
    board: Console, headers: H, auditor: TestClient
) -> None:
    _page, before = dashboard(auditor)
    customer = board.customer(headers)
    for topic in ("news", "orders", "offers"):
        board.decide(headers, customer=customer["id"], brand="acme", topic=topic, channel="email")
    board.decide(headers, customer="ext:nobody", brand="acme", topic="news", channel="email")
    # allow: news, orders; offers: beyond_depth and no_consent; unknown_customer.
    expected = {
        ("allow", "(no reason)"): 2,
        ("deny", "beyond_depth"): 1,
        ("deny", "no_consent"): 1,
        ("deny", "unknown_customer"): 1,
    }

    def changed(tables: dict[str, Table]) -> dict[tuple[str, str], int]:
        now, then = reasons_table(tables), reasons_table(before)
        return {key: now[key] - then.get(key, 0) for key in now if now[key] != then.get(key, 0)}

    after = wait_for(auditor, lambda tables: changed(tables) == expected)

    assert changed(after) == expected
    per_day, earlier = after["decisions-per-day-table"], before["decisions-per-day-table"]
    assert len(per_day) == 14
    assert list(per_day)[-1] == today()
    # Per day, each decision counts once: the one denied for two reasons too.
    for column, more in (("allow", 2), ("deny", 2), ("Total", 4)):
        assert number(per_day, today(), column) - number(earlier, today(), column) == more


def test_opt_in_rates_and_depth_mix_follow_the_customers(
    board: Console, headers: H, auditor: TestClient
) -> None:
    _page, before = dashboard(auditor)
    board.customer(headers)  # the defaults: acme light, globex regular
    close = board.customer(headers)
    assert board.patch(
        headers, close["id"], {"brands": {"acme": {"depth": "close"}}, "evidence": EVIDENCE}
    ).is_success
    consented = board.customer(headers)
    offers_on = {"brands": {"acme": {"topics": {"offers": {"choice": "on"}}}}, "evidence": EVIDENCE}
    assert board.patch(headers, consented["id"], offers_on).is_success
    objected = board.customer(headers)
    assert board.patch(headers, objected["id"], {"no_marketing": True}).is_success
    stopped = board.customer(headers)
    stop = {
        "brands": {
            "acme": {"topics": {"news": {"choice": "off"}}},
            "globex": {"depth": "essentials"},
        }
    }
    assert board.patch(headers, stopped["id"], stop).is_success

    _page, after = dashboard(auditor)

    reach, was = after["topic-reach-table"], before["topic-reach-table"]
    added = {
        row: number(reach, row, "Customers reached") - number(was, row, "Customers reached")
        for row in reach
    }
    assert added == {
        "Acme Outdoors: News": 3,
        "Acme Outdoors: Offers and discounts": 1,
        "Acme Outdoors: Events near you": 1,
        "Globex: Tips": 3,
    }
    assert reach["Acme Outdoors: Offers and discounts"]["Basis"] == "opt-in"
    for row, cells in reach.items():
        assert number(reach, row, "Live customers") - number(was, row, "Live customers") == 5
        rate = int(cells["Customers reached"]) / int(cells["Live customers"])
        assert cells["Rate"] == f"{rate:.1%}"

    depths, had = after["depth-mix-table"], before["depth-mix-table"]

    def grown(brand: str) -> dict[str, int]:
        columns = ("essentials", "light", "regular", "close", "Chosen by the customer")
        return {c: number(depths, brand, c) - number(had, brand, c) for c in columns}

    assert grown("Acme Outdoors") == {
        "essentials": 0,
        "light": 4,
        "regular": 0,
        "close": 1,
        "Chosen by the customer": 1,
    }
    assert grown("Globex") == {
        "essentials": 1,
        "light": 0,
        "regular": 4,
        "close": 0,
        "Chosen by the customer": 1,
    }
    assert depths["Globex"]["Default depth"] == "regular"


def test_unsubscribes_are_counted_per_day_by_source(
    board: Console, headers: H, auditor: TestClient
) -> None:
    _page, before = dashboard(auditor)
    clicked = board.customer(headers)
    answer = board.decide(
        headers, customer=clicked["id"], brand="acme", topic="news", channel="email"
    )
    path = re.sub(r"^https://[^/]+", "", answer["unsubscribe"]["url"])
    board.http.cookies.clear()
    assert board.http.post(path, content="List-Unsubscribe=One-Click").status_code == 200
    texted = board.customer(headers, phone="+4915112345678")
    items = [
        {"channel": "sms", "address": "+4915112345678", "reason": "stop"},
        {"channel": "email", "address": texted["email"], "reason": "hard_bounce"},
    ]
    response = board.http.post("/api/v1/suppressions", json={"items": items}, headers=headers)
    assert response.status_code == 200, response.text
    narrowed = board.customer(headers)
    quiet = {"channels": {"email": {"quiet_days": ["sun"]}}}
    assert board.patch(headers, narrowed["id"], quiet).is_success  # switches nothing off
    assert board.patch(
        headers, narrowed["id"], {"channels": {"sms": {"enabled": False}}}
    ).is_success

    _page, after = dashboard(auditor)

    per_day, was = after["unsubscribes-table"], before["unsubscribes-table"]
    assert len(per_day) == 30
    assert list(per_day)[-1] == today()
    grown = {
        column: number(per_day, today(), column) - number(was, today(), column)
        for column in ("one_click", "api", "portal", "Total")
    }
    # one_click: the topic; api: the STOP and the channel switched off, not the bounce.
    assert grown == {"one_click": 1, "api": 2, "portal": 0, "Total": 3}
