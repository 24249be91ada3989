"""The console's audit trail: search, pages, diffs, personal data, exports, the chain check."""

from __future__ import annotations

import csv
import html
import io
import json
import re
import uuid
from collections.abc import Iterator
from datetime import UTC, datetime
from typing import Any

import pytest
from fastapi.testclient import TestClient
from sqlalchemy import ColumnElement, select, text
from sqlmodel import col
from typer.testing import CliRunner

from app.admin import audit_export, audit_query
from app.admin.audit_query import AuditQuery
from app.audit import Actor, record
from app.auth.admins import change_admin, find_admin
from app.cli.main import cli
from app.consent.context import Context
from app.consent.preferences import save_document
from app.db import read_session, write_session
from app.models import AuditEvent, Preference, utcnow
from tests.admin.helpers import Console
from tests.api import SECRET_KEY
from tests.apps import app_on_own_database
from tests.cli import cli_environment
from tests.portal.helpers import csrf_of

_ROW = re.compile(r'<tr id="event-(\d+)"')
_NEXT = re.compile(r'<a href="([^"]+)" rel="next">')


@pytest.fixture(scope="module")
def auditor(console: Console) -> TestClient:
    """One auditor for the module: signing in hashes a password, which takes a while."""
    return console.sign_in("auditor")


def page_ids(page: str) -> list[int]:
    return [int(found) for found in _ROW.findall(page)]


def expected_ids(console: Console, *where: ColumnElement[bool]) -> list[int]:
    """The ids of the events matching `where`, newest first, read straight from the table."""
    with read_session(console.engine) as session:
        statement = select(col(AuditEvent.id)).where(*where).order_by(col(AuditEvent.id).desc())
        return [int(found) for found in session.scalars(statement)]


def search(client: TestClient, **params: str) -> str:
    response = client.get("/admin/audit", params=params)
    assert response.status_code == 200, response.text
    return response.text


def client_headers(console: Console) -> tuple[str, dict[str, str]]:
    """A new API client's id and its bearer headers."""
    client_id, secret = console.client()
    token = console.http.post(
        "/oauth/token", data={"grant_type": "client_credentials"}, auth=(client_id, secret)
    ).json()["access_token"]
    return client_id, {"Authorization": f"Bearer {token}"}


def unique_phone() -> str:
    return "+49151" + str(uuid.uuid4().int)[:8]


def console_change(console: Console, admin_email: str, customer_id: str, reason: str) -> None:
    """What a support change in the console records: the admin, source admin, a reason."""
    ctx = Context.from_settings(console.settings)
    with write_session(console.engine) as session:
        admin = find_admin(session, admin_email)
        preference = session.get(Preference, customer_id)
        assert admin is not None
        assert preference is not None
        save_document(
            session, ctx=ctx, preference=preference, after={"no_marketing": True},
            actor=Actor("admin", admin.id), source="admin", now=utcnow(), reason=reason,
        )  # fmt: skip


def test_every_role_reads_the_audit_trail(console: Console) -> None:
    for role in ("auditor", "support", "admin"):
        assert console.sign_in(role).get("/admin/audit").status_code == 200
    visitor = console.visitor()
    for path in ("/admin/audit", "/admin/audit/export.csv", "/admin/audit/export.jsonl"):
        assert visitor.get(path, follow_redirects=False).status_code == 303


def test_search_by_every_kind_of_customer_reference(console: Console, auditor: TestClient) -> None:
    headers = console.token()
    customer = console.customer(headers, phone=unique_phone())
    console.customer(headers)
    console.patch(headers, customer["id"], {"global_cap": {"count": 5, "period_days": 7}})
    wanted = expected_ids(console, col(AuditEvent.customer_id) == customer["id"])
    assert len(wanted) == 2

    for ref in (
        customer["id"],
        f"ext:{customer['external_id']}",
        f"email:{customer['email'].upper()}",
        f"tel:{customer['phone']}",
    ):
        assert page_ids(search(auditor, customer=ref)) == wanted, ref

    for ref in ("ext:nobody-at-all", "not a reference", "c_unknown0000"):
        response = auditor.get("/admin/audit", params={"customer": ref})
        assert response.status_code == 422
        assert 'id="customer-error"' in response.text
        assert page_ids(response.text) == []


def test_search_by_actor_action_and_source(console: Console, auditor: TestClient) -> None:
    client_id, headers = client_headers(console)
    customer = console.customer(headers)
    address = f"bounce-{uuid.uuid4().hex[:8]}@example.org"
    suppressed = console.http.post(
        "/api/v1/suppressions",
        json={"items": [{"channel": "email", "address": address, "reason": "hard_bounce"}]},
        headers=headers,
    )
    assert suppressed.status_code == 200, suppressed.text
    by_client = expected_ids(
        console, col(AuditEvent.actor_type) == "client", col(AuditEvent.actor_id) == client_id
    )
    assert len(by_client) == 2

    assert page_ids(search(auditor, actor_type="client", actor_id=client_id)) == by_client
    assert page_ids(search(auditor, actor_id=f"client:{client_id}")) == by_client
    assert page_ids(
        search(auditor, actor_id=f"client:{client_id}", action="suppression.added", source="api")
    ) == [max(by_client)]
    assert page_ids(search(auditor, actor_id=f"client:{client_id}", source="portal")) == []
    assert page_ids(search(auditor, customer=customer["id"], action="customer.*")) == [
        min(by_client)
    ]
    newest = expected_ids(console, col(AuditEvent.source) == "api")[:50]
    assert page_ids(search(auditor, source="api")) == newest
    refused = auditor.get("/admin/audit", params={"source": "carrier-pigeon"})
    assert refused.status_code == 422
    assert 'id="source-error"' in refused.text


def test_search_by_the_admin_behind_a_console_action(console: Console, auditor: TestClient) -> None:
    acting = console.account("support", password=None)
    customer = console.customer(console.token())
    console_change(console, acting, customer["id"], "asked by phone on 3 March")
    target = console.account("auditor", password=None)
    ctx = Context.from_settings(console.settings)
    with write_session(console.engine) as session:
        admin, other = find_admin(session, acting), find_admin(session, target)
        assert admin is not None
        assert other is not None
        change_admin(
            session, sealer=ctx.sealer, actor=Actor("admin", admin.id), source="admin",
            admin_id=other.id, disable=True, now=utcnow(),
        )  # fmt: skip
    wanted = expected_ids(console, col(AuditEvent.actor_id) == admin.id)

    page = search(auditor, actor_id=acting, source="admin")

    assert page_ids(page) == wanted
    assert len(wanted) == 2
    assert "asked by phone on 3 March" in page
    assert acting in page
    assert page_ids(search(auditor, actor_type="admin", actor_id=admin.id, action="admin.*")) == [
        max(wanted)
    ]


def test_search_by_time_range_in_utc(console: Console, auditor: TestClient) -> None:
    ctx = Context.from_settings(console.settings)
    with write_session(console.engine) as session:
        ids = [
            record(
                session, sealer=ctx.sealer, actor=Actor("cli"), source="cli",
                action="catalog.topic_changed", after={"n": second},
                at=datetime(2001, 2, 3, 4, 5, second, tzinfo=UTC),
            ).id
            for second in (0, 1, 2)
        ]  # fmt: skip

    window = search(auditor, since="2001-02-03T04:05:00", until="2001-02-03T04:05:02")
    minutes = search(auditor, since="2001-02-03T04:05", until="2001-02-03T04:06")

    assert page_ids(window) == [ids[1], ids[0]]
    assert page_ids(minutes) == [ids[2], ids[1], ids[0]]
    backwards = auditor.get(
        "/admin/audit", params={"since": "2001-02-04T00:00", "until": "2001-02-03T00:00"}
    )
    assert backwards.status_code == 422
    assert 'id="until-error"' in backwards.text


def test_pages_follow_the_cursor_newest_first(console: Console, auditor: TestClient) -> None:
    headers = console.token()
    customer = console.customer(headers)
    for count in range(60, 0, -1):
        patched = console.patch(
            headers, customer["id"], {"global_cap": {"count": count, "period_days": 7}}
        )
        assert patched.status_code == 200, patched.text
    wanted = expected_ids(console, col(AuditEvent.customer_id) == customer["id"])
    assert len(wanted) == 61

    first = search(auditor, customer=customer["id"])
    link = _NEXT.search(first)
    assert link is not None
    second = auditor.get(html.unescape(link.group(1)))

    assert second.status_code == 200
    assert page_ids(first) == wanted[:50]
    assert page_ids(second.text) == wanted[50:]
    assert _NEXT.search(second.text) is None
    forged = auditor.get("/admin/audit", params={"cursor": "A" * 32})
    assert forged.status_code == 422


def test_a_change_shows_as_paths_with_old_and_new_values(
    console: Console, auditor: TestClient
) -> None:
    headers = console.token()
    customer = console.customer(headers)
    topic = {"brands": {"acme": {"topics": {"news": {"choice": "off"}}}}}
    assert console.patch(headers, customer["id"], topic).status_code == 200
    topic["brands"]["acme"]["topics"]["news"]["choice"] = "on"
    turned_on = {**topic, "evidence": {"source": "checkout-form", "ip": "192.0.2.7"}}
    assert console.patch(headers, customer["id"], turned_on).status_code == 200

    page = search(auditor, customer=customer["id"])

    path = "<code>brands.acme.topics.news.choice</code>: "
    assert f'{path}<span class="muted">(not set)</span> → <ins>off</ins>' in page
    assert f"{path}<del>off</del> → <ins>on</ins>" in page
    assert "192.0.2.7" in page  # the evidence's address, opened for the viewer


def test_personal_data_is_shown_until_erasure(console: Console, auditor: TestClient) -> None:
    headers = console.token()
    customer = console.customer(headers)
    old, new = customer["email"], f"new-{uuid.uuid4().hex[:8]}@example.org"
    moved = console.http.put(
        f"/api/v1/customers/{customer['id']}", json={"email": new}, headers=headers
    )
    assert moved.status_code == 200
    support = console.account("support", password=None)
    console_change(console, support, customer["id"], "the customer asked by phone")

    before = search(auditor, customer=customer["id"])
    erased = console.http.delete(f"/api/v1/customers/{customer['id']}", headers=headers)
    assert erased.status_code == 204
    after = search(auditor, customer=customer["id"])

    assert f"<code>email</code>: <del>{old}</del> → <ins>{new}</ins>" in before
    assert "the customer asked by phone" in before
    assert old not in after
    assert new not in after
    assert "the customer asked by phone" not in after
    assert '<code>email</code>: <span class="muted">erased</span>' in after
    assert "<p>erased</p>" in after  # the reason
    assert "customer.erased" in after


def _parsed_csv(body: str) -> list[dict[str, str]]:
    return list(csv.DictReader(io.StringIO(body)))


def test_exports_hold_the_filtered_events_streamed(console: Console, auditor: TestClient) -> None:
    headers = console.token()
    customer = console.customer(headers)
    for count in (9, 8, 7):
        console.patch(headers, customer["id"], {"global_cap": {"count": count, "period_days": 7}})
    wanted = sorted(expected_ids(console, col(AuditEvent.customer_id) == customer["id"]))
    params = {"customer": f"ext:{customer['external_id']}"}

    as_csv = auditor.get("/admin/audit/export.csv", params=params)
    as_jsonl = auditor.get("/admin/audit/export.jsonl", params=params)

    for response, suffix in ((as_csv, ".csv"), (as_jsonl, ".jsonl")):
        assert response.status_code == 200
        assert "content-length" not in response.headers  # streamed, not built whole
        disposition = response.headers["content-disposition"]
        assert disposition.startswith("attachment; filename=")
        assert disposition.endswith(f'{suffix}"')
    rows = _parsed_csv(as_csv.text)
    assert list(rows[0]) == list(audit_export.CSV_COLUMNS)
    assert [int(row["id"]) for row in rows] == wanted
    assert {row["external_id"] for row in rows} == {customer["external_id"]}
    assert json.loads(rows[0]["after"])["email"] == customer["email"]
    assert json.loads(rows[-1]["after"])["global_cap"] == {"count": 7, "period_days": 7}
    lines = [json.loads(line) for line in as_jsonl.text.splitlines()]
    assert [int(line["id"]) for line in lines] == wanted
    assert lines[0]["customer"] == {"id": customer["id"], "external_id": customer["external_id"]}
    assert lines[0]["hash"] == rows[0]["hash"]
    bad = auditor.get("/admin/audit/export.csv", params={"since": "yesterday"})
    assert bad.status_code == 422


def test_exports_read_the_events_in_batches(
    console: Console, auditor: TestClient, monkeypatch: pytest.MonkeyPatch
) -> None:
    headers = console.token()
    customer = console.customer(headers)
    for count in range(7, 0, -1):
        console.patch(headers, customer["id"], {"global_cap": {"count": count, "period_days": 7}})
    sizes: list[int] = []
    real = audit_query.read_batch

    def counted(*args: Any, **kwargs: Any) -> list[AuditEvent]:
        found = real(*args, **kwargs)
        sizes.append(len(found))
        return found

    monkeypatch.setattr(audit_export, "EXPORT_BATCH", 3)
    monkeypatch.setattr(audit_query, "read_batch", counted)

    response = auditor.get("/admin/audit/export.jsonl", params={"customer": customer["id"]})
    assert len(response.text.splitlines()) == 8
    assert sizes == [3, 3, 2, 0]

    sizes.clear()
    ctx = Context.from_settings(console.settings)
    batches = audit_export.export_batches(
        console.engine, ctx.sealer, AuditQuery(customer_id=customer["id"])
    )
    assert len(next(batches)) == 3
    assert sizes == [3]  # nothing is read before it is asked for
    batches.close()


def test_an_intact_chain_is_reported(auditor: TestClient) -> None:
    page = auditor.get("/admin/audit")

    checked = auditor.post("/admin/audit/verify", data={"csrf_token": csrf_of(page.text)})

    assert checked.status_code == 200
    assert "The audit trail is intact" in checked.text
    assert auditor.post("/admin/audit/verify", data={}).status_code == 403


@pytest.fixture(scope="module")
def own_console(tmp_path_factory: pytest.TempPathFactory) -> Iterator[Console]:
    """A console on a database of this module's own: tampering must not break other tests."""
    tmp = tmp_path_factory.mktemp("tampered")
    with app_on_own_database(tmp) as running:
        yield Console(
            app=running.app, http=running.http, engine=running.engine, settings=running.settings
        )


def _tamper(console: Console, sql: str, **params: object) -> None:
    with write_session(console.engine) as session:
        if session.get_bind().dialect.name == "postgresql":
            # The append-only trigger guards against the application, not the database's owner.
            session.execute(text("SET LOCAL session_replication_role = replica"))
        session.execute(text(sql), params)


def test_tampering_is_named_by_the_console_and_the_cli(
    own_console: Console, monkeypatch: pytest.MonkeyPatch
) -> None:
    console = own_console
    headers = console.token()
    customer = console.customer(headers)
    for count in (5, 4, 3):
        console.patch(headers, customer["id"], {"global_cap": {"count": count, "period_days": 7}})
    resealed, altered = expected_ids(console, col(AuditEvent.customer_id) == customer["id"])[1:3]
    _tamper(
        console, "UPDATE audit_event SET after = :after WHERE id = :id", after='{"x":1}', id=altered
    )
    _tamper(
        console,
        "UPDATE audit_event SET sealed = :s WHERE id = :id",
        s='{"data":"v1:AAAA","fields":["after.customer"]}',
        id=resealed,
    )

    auditor = console.sign_in("auditor")
    page = auditor.get("/admin/audit")
    checked = auditor.post("/admin/audit/verify", data={"csrf_token": csrf_of(page.text)})
    with cli_environment(monkeypatch, str(console.settings.database_url), SECRET_KEY):
        result = CliRunner().invoke(cli, ["audit", "verify"], env={"COLUMNS": "200"})

    assert f"The audit trail is broken at event {resealed}:" not in checked.text
    assert f"The audit trail is broken at event {altered}:" in checked.text
    assert f'href="/admin/audit/{altered}"' in checked.text
    assert result.exit_code == 1
    assert f"broken at event {altered}:" in result.output
    assert "cannot be opened: it was altered" in page.text
    detail = auditor.get(f"/admin/audit/{altered}")
    assert detail.status_code == 200
    assert "<code>x</code>" in detail.text
    assert auditor.get("/admin/audit/999999").status_code == 404
