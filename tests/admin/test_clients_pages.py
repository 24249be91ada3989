"""The console's API clients: create (secret once), rotate, change scopes, disable; admins only."""

from __future__ import annotations

import re

import httpx
import pytest
from sqlalchemy import select
from sqlmodel import col

from app.db import read_session
from app.models import ApiClient, AuditEvent
from tests.admin.helpers import Console
from tests.portal.helpers import csrf_of

PAGE = "/admin/clients"
_ID = re.compile(r'<code id="client-id">([^<]+)</code>')
_SECRET = re.compile(r'<code id="client-secret">([^<]+)</code>')


def _credentials(answer: httpx.Response) -> tuple[str, str]:
    client_id, secret = _ID.search(answer.text), _SECRET.search(answer.text)
    assert client_id, answer.text
    assert secret, answer.text
    return client_id.group(1), secret.group(1)


def _token(console: Console, client_id: str, secret: str) -> httpx.Response:
    return console.http.post(
        "/oauth/token", data={"grant_type": "client_credentials"}, auth=(client_id, secret)
    )


def _bearer(response: httpx.Response) -> dict[str, str]:
    assert response.status_code == 200, response.text
    return {"Authorization": f"Bearer {response.json()['access_token']}"}


def _lookup(console: Console, headers: dict[str, str]) -> int:
    """A call needing `customers:read` (404: no such customer, but allowed)."""
    return console.http.get("/api/v1/customers/ext:nobody-here", headers=headers).status_code


def _client(console: Console, client_id: str) -> ApiClient:
    with read_session(console.engine) as session:
        row = session.get(ApiClient, client_id)
        assert row is not None
        return row


def _state(console: Console, client_id: str) -> tuple[object, ...]:
    """What the console may change about a client, and how many clients there are."""
    row = _client(console, client_id)
    with read_session(console.engine) as session:
        count = len(session.scalars(select(col(ApiClient.id))).all())
    return row.secret_hash, row.scopes, row.brands, row.disabled_at, count


def _events(console: Console, client_id: str) -> list[AuditEvent]:
    with read_session(console.engine) as session:
        events = session.scalars(select(AuditEvent).order_by(col(AuditEvent.id))).all()
    return [event for event in events if event.after and client_id in event.after]


def _shown(admin: httpx.Client, answer: httpx.Response) -> httpx.Response:
    """The page the secret is shown on, once: after the redirect, and never on a reload."""
    assert answer.status_code == 303, answer.text
    assert answer.headers["location"].endswith("/secret")
    shown = admin.get(answer.headers["location"])
    assert shown.status_code == 200, shown.text
    assert shown.headers["cache-control"] == "no-store"
    again = admin.get(answer.headers["location"])
    assert again.status_code == 200
    assert 'id="client-secret"' not in again.text
    return shown


def _create(console: Console, admin: httpx.Client, **form: object) -> tuple[str, str]:
    data = {"name": "Acme ESP", "scopes": ["customers:read", "decisions"], **form}
    return _credentials(_shown(admin, console.submit(admin, PAGE, PAGE, data)))


def test_the_list_shows_every_client(console: Console) -> None:
    client_id, secret = console.client(["decisions"], ["acme"])
    _bearer(_token(console, client_id, secret))

    page = console.sign_in("admin").get(PAGE)

    assert page.status_code == 200
    row = page.text.split(f"<code>{client_id}</code>")[1].split("</tr>")[0]
    assert "decisions" in row
    assert "acme" in row
    assert "UTC" in row
    assert "never" not in row  # it got a token: last used is known


def test_a_new_client_shows_its_secret_once_and_it_works(console: Console) -> None:
    admin = console.sign_in("admin")

    client_id, secret = _create(console, admin, brands=["acme"])

    row = _client(console, client_id)
    assert (row.name, row.scopes, row.brands) == (
        "Acme ESP",
        ["customers:read", "decisions"],
        ["acme"],
    )
    assert secret not in row.secret_hash
    assert _lookup(console, _bearer(_token(console, client_id, secret))) == 404
    for page in (admin.get(PAGE), admin.get(f"{PAGE}/{client_id}")):
        assert client_id in page.text
        assert secret not in page.text
    [event] = _events(console, client_id)
    assert (event.action, event.actor_type, event.source) == ("client.created", "admin", "admin")


def test_a_client_without_a_brand_acts_for_all(console: Console) -> None:
    client_id, _ = _create(console, console.sign_in("admin"))
    assert _client(console, client_id).brands is None


@pytest.mark.parametrize(
    ("form", "field"),
    [
        ({"name": "  "}, "name"),
        ({"scopes": []}, "scopes"),
        ({"scopes": ["decisions", "root"]}, "scopes"),
        ({"brands": ["nosuchbrand"]}, "brands"),
    ],
)
def test_a_bad_create_form_is_shown_again_with_422(
    console: Console, form: dict[str, object], field: str
) -> None:
    admin = console.sign_in("admin")
    with read_session(console.engine) as session:
        count = len(session.scalars(select(ApiClient)).all())

    answer = console.submit(admin, PAGE, PAGE, {"name": "X", "scopes": ["decisions"], **form})

    assert answer.status_code == 422
    assert f'id="{field}-error"' in answer.text
    with read_session(console.engine) as session:
        assert len(session.scalars(select(ApiClient)).all()) == count


def test_rotating_refuses_the_old_secret_and_its_tokens(console: Console) -> None:
    admin = console.sign_in("admin")
    client_id, old = _create(console, admin)
    old_token = _bearer(_token(console, client_id, old))
    assert _lookup(console, old_token) == 404

    answer = console.submit(admin, f"{PAGE}/{client_id}", f"{PAGE}/{client_id}/rotate", {})

    same_id, new = _credentials(_shown(admin, answer))
    assert (same_id, new != old) == (client_id, True)
    assert _token(console, client_id, old).status_code == 401
    assert _lookup(console, old_token) == 401
    assert _lookup(console, _bearer(_token(console, client_id, new))) == 404
    assert new not in admin.get(f"{PAGE}/{client_id}").text
    assert [event.action for event in _events(console, client_id)] == [
        "client.created",
        "client.secret_rotated",
    ]


def test_a_scope_added_counts_in_the_next_token_and_one_taken_away_stops_at_once(
    console: Console,
) -> None:
    admin = console.sign_in("admin")
    client_id, secret = _create(console, admin, scopes=["decisions"])
    before = _bearer(_token(console, client_id, secret))
    page = f"{PAGE}/{client_id}"

    widened = console.submit(
        admin, page, f"{page}/scopes", {"scopes": ["customers:read", "decisions"]}
    )

    assert (widened.status_code, widened.headers["location"]) == (303, f"{page}?done=scopes")
    assert _client(console, client_id).scopes == ["customers:read", "decisions"]
    assert _lookup(console, before) == 403  # issued without it
    after = _bearer(_token(console, client_id, secret))
    assert _lookup(console, after) == 404

    narrowed = console.submit(admin, page, f"{page}/scopes", {"scopes": ["decisions"]})

    assert narrowed.status_code == 303
    assert _lookup(console, after) == 403
    events = _events(console, client_id)
    assert [event.action for event in events][-2:] == ["client.scopes_changed"] * 2
    assert (events[-1].actor_type, events[-1].source) == ("admin", "admin")
    unchanged = console.submit(admin, page, f"{page}/scopes", {"scopes": ["decisions"]})
    assert unchanged.headers["location"] == f"{page}?done=unchanged"
    assert len(_events(console, client_id)) == len(events)


def test_no_scope_at_all_is_refused(console: Console) -> None:
    admin = console.sign_in("admin")
    client_id, _ = _create(console, admin)

    answer = console.submit(admin, f"{PAGE}/{client_id}", f"{PAGE}/{client_id}/scopes", {})

    assert answer.status_code == 422
    assert 'id="scopes-error"' in answer.text
    assert _client(console, client_id).scopes == ["customers:read", "decisions"]


def test_disabling_refuses_the_tokens_at_once(console: Console) -> None:
    admin = console.sign_in("admin")
    client_id, secret = _create(console, admin)
    token = _bearer(_token(console, client_id, secret))
    page = f"{PAGE}/{client_id}"

    answer = console.submit(admin, page, f"{page}/disable", {})

    assert (answer.status_code, answer.headers["location"]) == (303, f"{page}?done=disabled")
    assert _lookup(console, token) == 401
    assert _token(console, client_id, secret).status_code == 401
    assert _client(console, client_id).disabled_at is not None
    assert _events(console, client_id)[-1].action == "client.disabled"
    shown = admin.get(page).text
    assert f'action="{page}/rotate"' not in shown
    csrf = csrf_of(shown)
    rotated = admin.post(f"{page}/rotate", data={"csrf_token": csrf})
    assert rotated.status_code == 422


def test_an_unknown_client_is_404(console: Console) -> None:
    admin = console.sign_in("admin")
    assert admin.get(f"{PAGE}/cl_nobody").status_code == 404
    assert console.submit(admin, PAGE, f"{PAGE}/cl_nobody/rotate", {}).status_code == 404


ACTIONS = ["", "/rotate", "/scopes", "/disable"]


@pytest.mark.parametrize("role", ["auditor", "support"])
def test_other_roles_see_and_change_nothing(console: Console, role: str) -> None:
    client_id, secret = console.client(["decisions"])
    before = _state(console, client_id)
    visitor = console.sign_in(role)

    assert visitor.get(PAGE).status_code == 403
    assert visitor.get(f"{PAGE}/{client_id}").status_code == 403
    csrf = csrf_of(visitor.get("/admin/catalog").text)
    for action in ACTIONS:
        url = PAGE if not action else f"{PAGE}/{client_id}{action}"
        data = {"csrf_token": csrf, "name": "Mine", "scopes": ["audit:read"]}
        assert visitor.post(url, data=data).status_code == 403, url
    assert _state(console, client_id) == before
    assert _token(console, client_id, secret).status_code == 200


@pytest.mark.parametrize("token", [None, "forged"])
def test_a_missing_or_wrong_csrf_token_changes_nothing(console: Console, token: str | None) -> None:
    client_id, secret = console.client(["decisions"])
    before = _state(console, client_id)
    admin = console.sign_in("admin")
    admin.get(PAGE)
    for action in ACTIONS:
        url = PAGE if not action else f"{PAGE}/{client_id}{action}"
        data: dict[str, object] = {"name": "Mine", "scopes": ["audit:read"]}
        if token is not None:
            data["csrf_token"] = token
        assert admin.post(url, data=data).status_code == 403, url
    assert _state(console, client_id) == before
    assert _token(console, client_id, secret).status_code == 200
