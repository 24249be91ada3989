"""Staff in chromium: signing in, audit search and export, support's changes, moments, clients."""

from __future__ import annotations

import json
import re
import time
from collections.abc import Iterator
from datetime import UTC, datetime

import pytest
from playwright.sync_api import Browser, Page, expect

from tests.browser import console, portal
from tests.browser.helpers import screenshot
from tests.servers import Server, running_server

pytestmark = [pytest.mark.browser, pytest.mark.server]

REASON = "Asked by phone on 2026-11-20, ticket 4711"
WEEKLY_TWO = {"global_cap": {"count": 2, "period_days": 7}}
WEEKLY_FIVE = {"global_cap": {"count": 5, "period_days": 7}}
TALLY_FLUSH_SECONDS = 0.2


@pytest.fixture(scope="module")
def server(tmp_path_factory: pytest.TempPathFactory) -> Iterator[Server]:
    """The browser tests' server, adding its decision counts to the database five times a
    second, so that the dashboard shows the decisions made just before."""
    env = {"CMR_TALLY_FLUSH_SECONDS": str(TALLY_FLUSH_SECONDS)}
    with running_server(tmp_path_factory.mktemp("console"), env=env) as running:
        yield running


@pytest.fixture(scope="module")
def headers(server: Server) -> dict[str, str]:
    """One API client for the module: each new client costs a password hash."""
    return server.api.token()


def test_signing_in_with_a_local_account_and_out(page: Page, server: Server) -> None:
    email = console.account(server, "auditor")
    page.goto("/admin")
    expect(page).to_have_url(f"{server.base_url}/admin/login")

    console.fill_sign_in(page, email, "not the password")
    expect(page.get_by_role("alert")).to_have_text("The e-mail address or the password is wrong.")
    expect(page.get_by_label("E-mail address")).to_have_value(email)
    expect(page.get_by_label("E-mail address")).to_have_attribute("aria-describedby", "login-error")
    expect(page.get_by_role("navigation", name="Console")).to_have_count(0)

    console.sign_in(page, server, email)
    expect(page.get_by_text(f"Signed in as {email}, role auditor.")).to_be_visible()
    nav = page.get_by_role("navigation", name="Console")
    for name in ("Dashboard", "Audit trail", "Customers", "Catalog"):
        expect(nav.get_by_role("link", name=name, exact=True)).to_be_visible()
    expect(nav.get_by_role("link", name="API clients")).to_have_count(0)  # admins only
    page.goto("/admin/login")
    expect(page).to_have_url(f"{server.base_url}/admin")  # already signed in

    page.get_by_role("button", name="Sign out").click()
    expect(page).to_have_url(f"{server.base_url}/admin/login")
    expect(page.get_by_role("heading", level=1)).to_have_text("Sign in to the console")
    page.goto("/admin/audit")
    expect(page).to_have_url(f"{server.base_url}/admin/login")


def test_audit_search_shows_the_diff_and_exports_the_filter(
    page: Page, server: Server, headers: dict[str, str]
) -> None:
    customer = console.new_customer(server, headers)
    other = console.new_customer(server, headers)
    console.set_preferences(server, headers, customer["id"], WEEKLY_TWO)
    console.set_preferences(server, headers, other["id"], WEEKLY_FIVE)
    events = console.events_of(server, customer["id"])
    assert [event["action"] for event in events] == ["customer.created", "preferences.updated"]
    created, patched = events
    external = patched["customer"]["external_id"]

    console.sign_in_as(page, server, "auditor")
    console.go_to(page, "Audit trail")
    page.get_by_label("Customer", exact=True).fill(f"ext:{external}")
    page.get_by_role("button", name="Search", exact=True).click()
    expect(page).to_have_url(re.compile(r"/admin/audit\?customer=ext%3A"))
    rows = page.locator("table tbody tr")
    expect(rows).to_have_count(2)  # the other customer's change is not among them
    expect(rows.nth(0)).to_have_id(f"event-{patched['id']}")  # newest first
    expect(rows.nth(1)).to_have_id(f"event-{created['id']}")
    row = page.locator(f"#event-{patched['id']}")
    expect(row).to_contain_text("preferences.updated")
    expect(row).to_contain_text("via api")
    expect(row).to_contain_text(customer["id"])
    expect(row.locator("li", has_text="global_cap.count")).to_have_text(
        "global_cap.count: (not set) → 2"
    )
    expect(row.locator("ins").first).to_have_text("2")

    with page.expect_download() as csv_download:
        page.get_by_role("link", name="CSV", exact=True).click()
    assert re.fullmatch(r"cmr-audit-\d{8}T\d{6}Z\.csv", csv_download.value.suggested_filename)
    exported = console.csv_rows(csv_download.value.path().read_text(encoding="utf-8"))
    assert [row["id"] for row in exported] == [str(created["id"]), str(patched["id"])]
    assert [row["action"] for row in exported] == ["customer.created", "preferences.updated"]
    assert {row["customer_id"] for row in exported} == {customer["id"]}
    assert {row["external_id"] for row in exported} == {external}
    assert json.loads(exported[1]["after"])["global_cap"] == WEEKLY_TWO["global_cap"]
    assert json.loads(exported[0]["after"])["email"] == customer["email"]  # opened for staff
    assert exported[1]["hash"] == patched["hash"]
    assert exported[1]["prev_hash"] == patched["prev_hash"]

    with page.expect_download() as jsonl_download:
        page.get_by_role("link", name="JSON Lines", exact=True).click()
    assert jsonl_download.value.suggested_filename.endswith(".jsonl")
    lines = jsonl_download.value.path().read_text(encoding="utf-8").splitlines()
    assert [json.loads(line) for line in lines] == events  # the API's shape, exactly

    page.get_by_role("link", name=str(patched["id"]), exact=True).click()
    expect(page.get_by_role("heading", level=1)).to_have_text(f"Audit event {patched['id']}")
    expect(page.get_by_role("row", name=re.compile("^Changes"))).to_contain_text(
        "global_cap.period_days: (not set) → 7"
    )
    expect(page.get_by_role("row", name=re.compile("^Hash"))).to_contain_text(patched["hash"])

    console.go_to(page, "Audit trail")
    page.get_by_role("button", name="Verify integrity").click()
    expect(page.get_by_role("status")).to_have_text(
        re.compile(r"^The audit trail is intact: \d+ events checked\.$")
    )


def test_a_support_change_with_its_reason_is_in_the_customers_history(
    browser: Browser, page: Page, server: Server, headers: dict[str, str]
) -> None:
    customer = console.new_customer(server, headers)
    decide = portal.Decisions(server, headers, customer["id"], portal.send_at())
    assert decide("events") == ("deny", ["beyond_depth"])
    support = console.sign_in_as(page, server, "support")

    console.look_up(page, f"email:{customer['email']}")
    expect(page).to_have_url(f"{server.base_url}/admin/customers/{customer['id']}")

    form = page.get_by_role("group", name="A topic on or off")
    form.get_by_label("Topic").select_option(label="Acme Outdoors: Events near you")
    form.get_by_label("Choice").select_option(label="On")
    reason = form.get_by_label("Reason (the customer sees it in their history)")
    form.get_by_role("button", name="Change the topic").click()
    assert reason.evaluate("field => field.validity.valueMissing")  # the browser asks first
    reason.fill("   ")
    form.get_by_role("button", name="Change the topic").click()
    expect(page.get_by_role("alert")).to_have_text(
        "Nothing was changed: please check the form below."
    )
    expect(reason).to_have_attribute("aria-invalid", "true")
    reason.fill(REASON)
    form.get_by_role("button", name="Change the topic").click()
    expect(page.get_by_role("status")).to_have_text(
        "Saved: the change is recorded in the audit trail with your reason."
    )
    assert decide("events") == ("allow", [])
    assert decide("offers") == ("deny", ["beyond_depth", "no_consent"])  # support gives no consent

    change = console.events_of(server, customer["id"])[-1]
    assert change["actor"] == {"type": "admin", "id": change["actor"]["id"]}
    assert (change["source"], change["reason"]) == ("admin", REASON)
    assert change["evidence"]["source"] == "support"  # loosening: the customer's request
    page.get_by_role("link", name="Every change to this customer in the audit trail").click()
    row = page.locator(f"#event-{change['id']}")
    expect(row).to_contain_text(support)
    expect(row).to_contain_text(REASON)

    with portal.browsing(browser, server) as context:
        visitor = context.new_page()
        portal.sign_in(visitor, server, customer["email"])
        visitor.get_by_role("navigation", name="Main").get_by_role("link", name="History").click()
        entry = (
            visitor.get_by_role("list", name="Changes and messages").get_by_role("listitem").first
        )
        expect(entry).to_contain_text(f"By: Support on your behalf: {REASON}")


def test_the_settings_at_a_moment_between_two_changes(
    page: Page, server: Server, headers: dict[str, str]
) -> None:
    customer = console.new_customer(server, headers)
    console.set_preferences(server, headers, customer["id"], WEEKLY_FIVE)
    first = console.events_of(server, customer["id"])[-1]
    moment = console.after_next_second(console.instant(first["at"]))
    console.set_preferences(
        server, headers, customer["id"], WEEKLY_TWO
    )  # tighter: no evidence needed
    second = console.events_of(server, customer["id"])[-1]
    assert console.instant(first["at"]) <= moment < console.instant(second["at"])

    console.sign_in_as(page, server, "auditor")
    page.goto(f"/admin/customers/{customer['id']}")
    cap = "How often all brands together may write: "
    expect(page.locator("#preferences")).to_contain_text(cap + "twice a week")
    console.show_moment(page, moment)

    expect(page).to_have_url(re.compile(r"\?at=\d{4}-\d\d-\d\dT\d\d%3A\d\d%3A\d\d$"))
    past = page.get_by_role("region", name=re.compile(r"^As it was at "))
    expect(past.get_by_role("heading", level=2)).to_have_text(
        f"As it was at {moment:%Y-%m-%dT%H:%M:%S}Z (UTC)"
    )
    expect(past.locator("#past-preferences")).to_contain_text(cap + "5 times a week")
    expect(past.locator("#past-preferences")).not_to_contain_text("twice a week")
    expect(past.get_by_role("link", name=f"event {first['id']}")).to_be_visible()
    rebuilt = json.loads(past.locator("#past-json").text_content() or "")
    assert rebuilt["global_cap"] == WEEKLY_FIVE["global_cap"]
    assert rebuilt["customer"]["email"] == customer["email"]
    expect(page.locator("#change")).to_have_count(0)  # an auditor changes nothing

    page.get_by_role("link", name="Back to now").click()
    expect(page.locator("#preferences")).to_contain_text(cap + "twice a week")


def test_an_admin_creates_a_client_and_sees_its_secret_once(page: Page, server: Server) -> None:
    console.sign_in_as(page, server, "admin")
    console.create_client(page, "Browser test CRM", "customers:read")

    expect(page.get_by_role("heading", level=1)).to_have_text("API client created")
    client_id = page.locator("#client-id").inner_text()
    secret = page.locator("#client-secret").inner_text()
    assert client_id.startswith("cl_")
    assert len(secret) >= 32

    http = server.api.http
    answer = http.post(
        "/oauth/token", data={"grant_type": "client_credentials"}, auth=(client_id, secret)
    )
    assert answer.status_code == 200, answer.text
    assert answer.json()["scope"] == "customers:read"
    token = {"Authorization": f"Bearer {answer.json()['access_token']}"}
    assert http.get("/api/v1/customers/ext:nobody-here", headers=token).status_code == 404
    refused = server.api.patch(token, "ext:nobody-here", {"no_marketing": True})
    assert refused.status_code == 403  # preferences:write was not given

    page.get_by_role("link", name="Done").click()
    expect(page.get_by_role("heading", level=1)).to_have_text("Browser test CRM")
    expect(page.get_by_role("row", name=re.compile("^Last used"))).not_to_contain_text("never")
    console.go_to(page, "API clients")
    expect(page.get_by_role("link", name="Browser test CRM")).to_be_visible()
    for _ in range(2):
        assert client_id in page.content()
        assert secret not in page.content()
        page.reload()


def test_reloading_the_secret_page_creates_no_second_client(page: Page, server: Server) -> None:
    console.sign_in_as(page, server, "admin")
    console.create_client(page, "Reloaded CRM", "decisions")
    expect(page.get_by_role("heading", level=1)).to_have_text("API client created")
    expect(page.locator("#client-secret")).to_have_count(1)
    page.reload()
    expect(page.locator("#client-secret")).to_have_count(0)
    page.goto("/admin/clients")
    assert page.get_by_role("link", name="Reloaded CRM", exact=True).count() == 1


def test_every_console_page_passes_axe(page: Page, server: Server, headers: dict[str, str]) -> None:
    customer = console.new_customer(server, headers)
    console.set_preferences(server, headers, customer["id"], WEEKLY_TWO)
    decide = portal.Decisions(server, headers, customer["id"], portal.send_at())
    outcomes = [decide(topic) for topic in ("news", "events", "offers")]
    assert outcomes == [
        ("allow", []),
        ("deny", ["beyond_depth"]),
        ("deny", ["beyond_depth", "no_consent"]),
    ]
    time.sleep(TALLY_FLUSH_SECONDS * 3)
    axe = console.Axe()

    page.goto("/admin/login")
    axe.check(page, "login")
    console.fill_sign_in(page, "nobody@example.org", console.PASSWORD)
    expect(page.get_by_role("alert")).to_be_visible()
    axe.check(page, "login with an error")

    console.sign_in_as(page, server, "admin")
    page.get_by_text("The numbers: Decisions by outcome and reason").click()
    reasons = page.get_by_role("table", name="Decisions by outcome and reason")
    expect(reasons.get_by_role("row", name=re.compile(r"^deny beyond_depth \d+$"))).to_be_visible()
    expect(page.get_by_role("img", name=re.compile("^Depth mix per brand"))).to_be_visible()
    axe.check(page, "dashboard")
    screenshot(page, "console-dashboard-1280")

    console.go_to(page, "Audit trail")
    axe.check(page, "audit trail")
    screenshot(page, "console-audit-1280")
    page.get_by_role("button", name="Verify integrity").click()
    axe.check(page, "audit trail, verified")
    page.get_by_label("Since (UTC)").fill("2000-01-01T00:00:00")
    page.get_by_label("Until (UTC)").fill("1999-01-01T00:00:00")
    page.get_by_label("Source").select_option("admin")
    page.get_by_role("button", name="Search", exact=True).click()
    axe.check(page, "audit trail, filtered")
    page.goto("/admin/audit?customer=nonsense")
    expect(page.locator("#customer-error")).to_be_visible()
    axe.check(page, "audit trail, a field in error")
    page.goto(f"/admin/audit/{console.events_of(server, customer['id'])[-1]['id']}")
    axe.check(page, "audit event")

    console.go_to(page, "Customers")
    axe.check(page, "customer look-up")
    console.look_up(page, "email:nobody@example.org")
    expect(page.locator("#ref-error")).to_be_visible()
    axe.check(page, "customer look-up, nobody found")
    console.look_up(page, f"tel:{customer['phone']}")
    expect(page.locator("#preferences")).to_be_visible()
    axe.check(page, "customer page")
    stop = page.get_by_role("group", name="Stop all marketing")
    stop.get_by_label("Reason (the customer sees it in their history)").fill("   ")
    stop.get_by_role("button", name="Stop all marketing").click()
    expect(page.locator("#stop-reason-error")).to_be_visible()
    axe.check(page, "customer page, a change without a reason")
    console.show_moment(page, console.after_next_second(datetime.now(UTC)))
    expect(page.locator("#past-preferences")).to_contain_text("twice a week")
    axe.check(page, "customer page, at a moment")

    console.go_to(page, "Catalog")
    expect(page.get_by_role("heading", name="Edit the catalog")).to_be_visible()
    axe.check(page, "catalog")
    console.go_to(page, "API clients")
    axe.check(page, "API clients")
    console.create_client(page, "Axe checked client", None)
    expect(page.locator("#scopes-error")).to_have_text("Choose at least one scope.")
    axe.check(page, "API clients, a form in error")
    console.create_client(page, "Axe checked client", "decisions")
    axe.check(page, "API client secret")
    page.get_by_role("link", name="Done").click()
    axe.check(page, "API client")
    console.go_to(page, "Accounts")
    axe.check(page, "accounts")
    page.goto("/admin/customers/c_nobody")
    expect(page.get_by_role("heading", level=1)).to_have_text("Not found")
    axe.check(page, "error page")
    axe.done()
