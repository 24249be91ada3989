"""The console's accounts: list, create, change a role, disable; admins only, never themselves."""

from __future__ import annotations

import uuid

import pytest
from fastapi.testclient import TestClient
from sqlalchemy import select
from sqlmodel import col

from app.db import read_session
from app.models import Admin, AuditEvent
from tests.admin.helpers import PASSWORD, Console
from tests.portal.helpers import csrf_of

PAGE = "/admin/accounts"


def _account(console: Console, email: str) -> Admin:
    with read_session(console.engine) as session:
        admin = session.scalars(select(Admin).where(col(Admin.email) == email)).one()
        return admin


def _state(console: Console) -> list[tuple[object, ...]]:
    """Every account's role and disabled time."""
    with read_session(console.engine) as session:
        rows = session.execute(
            select(col(Admin.email), col(Admin.role), col(Admin.disabled_at)).order_by(
                col(Admin.email)
            )
        ).all()
    return [tuple(row) for row in rows]


def _last_admin_event(console: Console) -> AuditEvent:
    with read_session(console.engine) as session:
        return (
            session.scalars(
                select(AuditEvent)
                .where(col(AuditEvent.action).startswith("admin."))
                .order_by(col(AuditEvent.id).desc())
            ).first()
            or AuditEvent()
        )


def _signed_in_admin(console: Console) -> tuple[TestClient, Admin]:
    email = console.account("admin")
    return console.sign_in_as(email), _account(console, email)


def _new_email() -> str:
    return f"new-{uuid.uuid4().hex[:8]}@example.org"


def test_the_list_shows_every_account(console: Console) -> None:
    sso = console.account("auditor", password=None)
    client, me = _signed_in_admin(console)

    page = client.get(PAGE)

    assert page.status_code == 200
    row = page.text.split(f'id="account-{_account(console, sso).id}"')[1].split("</tr>")[0]
    assert "auditor" in row
    assert "SSO only" in row
    assert "never" in row
    mine = page.text.split(f'id="account-{me.id}"')[1].split("</tr>")[0]
    assert "local password" in mine
    assert "(you)" in mine
    assert "UTC" in mine  # signed in: the last sign-in is known


def test_a_local_account_is_created_and_signs_in(console: Console) -> None:
    client, me = _signed_in_admin(console)
    email = _new_email()

    answer = console.submit(
        client, PAGE, PAGE, {"email": email.upper(), "role": "support", "password": PASSWORD}
    )

    assert (answer.status_code, answer.headers["location"]) == (303, f"{PAGE}?done=created")
    created = _account(console, email)
    assert (created.role, created.password_hash is not None) == ("support", True)
    event = _last_admin_event(console)
    assert (event.action, event.actor_type, event.actor_id, event.source) == (
        "admin.created",
        "admin",
        me.id,
        "admin",
    )
    assert console.sign_in_as(email).get("/admin/catalog").status_code == 200


def test_an_sso_only_account_has_no_password(console: Console) -> None:
    client, _ = _signed_in_admin(console)
    email = _new_email()

    answer = console.submit(
        client, PAGE, PAGE, {"email": email, "role": "auditor", "sso_only": "true"}
    )

    assert answer.status_code == 303
    assert _account(console, email).password_hash is None


@pytest.mark.parametrize(
    ("form", "field"),
    [
        ({"password": "short"}, "password"),
        ({"password": PASSWORD, "sso_only": "true"}, "password"),
        ({"role": "root"}, "role"),
        ({"email": "not-an-address"}, "email"),
        ({"email": "existing"}, "email"),
    ],
)
def test_a_bad_create_form_is_shown_again_with_422(
    console: Console, form: dict[str, str], field: str
) -> None:
    client, me = _signed_in_admin(console)
    data = {"email": _new_email(), "role": "auditor", "password": PASSWORD, **form}
    if data["email"] == "existing":
        data["email"] = me.email
    before = _state(console)

    answer = console.submit(client, PAGE, PAGE, data)

    assert answer.status_code == 422
    assert f'id="{field}-error"' in answer.text
    assert _state(console) == before


def test_a_role_change_counts_at_once(console: Console) -> None:
    client, me = _signed_in_admin(console)
    email = console.account("admin")
    other = console.sign_in_as(email)
    assert other.get(PAGE).status_code == 200
    target = _account(console, email)

    answer = console.submit(client, PAGE, f"{PAGE}/{target.id}/role", {"role": "auditor"})

    assert (answer.status_code, answer.headers["location"]) == (303, f"{PAGE}?done=role")
    assert _account(console, email).role == "auditor"
    assert other.get(PAGE).status_code == 403
    assert other.get("/admin/catalog").status_code == 200
    event = _last_admin_event(console)
    assert (event.action, event.actor_id, event.source) == ("admin.role_changed", me.id, "admin")


def test_disabling_ends_the_account_sessions(console: Console) -> None:
    client, _ = _signed_in_admin(console)
    email = console.account("support")
    victim = console.sign_in_as(email)
    target = _account(console, email)

    answer = console.submit(client, PAGE, f"{PAGE}/{target.id}/disable", {})

    assert (answer.status_code, answer.headers["location"]) == (303, f"{PAGE}?done=disabled")
    assert _account(console, email).disabled_at is not None
    gone = victim.get("/admin/catalog", follow_redirects=False)
    assert (gone.status_code, gone.headers["location"]) == (303, "/admin/login")
    assert _last_admin_event(console).action == "admin.disabled"
    form = console.visitor()
    login = form.get("/admin/login")
    refused = form.post(
        "/admin/login",
        data={"email": email, "password": PASSWORD, "csrf_token": csrf_of(login.text)},
    )
    assert refused.status_code == 401


@pytest.mark.parametrize(
    ("action", "data", "message"),
    [
        ("disable", {}, "You cannot disable your own account"),
        ("role", {"role": "auditor"}, "You cannot change your own role"),
    ],
)
def test_nobody_disables_or_demotes_themselves(
    console: Console, action: str, data: dict[str, str], message: str
) -> None:
    client, me = _signed_in_admin(console)
    before = _state(console)

    answer = console.submit(client, PAGE, f"{PAGE}/{me.id}/{action}", data)

    assert answer.status_code == 422
    assert message in answer.text
    assert _state(console) == before
    assert client.get(PAGE).status_code == 200


@pytest.mark.parametrize("role", ["auditor", "support"])
def test_other_roles_see_and_change_nothing(console: Console, role: str) -> None:
    target = _account(console, console.account("support"))
    visitor = console.sign_in(role)
    before = _state(console)

    assert visitor.get(PAGE).status_code == 403
    csrf = csrf_of(visitor.get("/admin/catalog").text)
    for url, data in _posts(target.id):
        assert visitor.post(url, data={**data, "csrf_token": csrf}).status_code == 403, url
    assert _state(console) == before


def _posts(admin_id: str) -> list[tuple[str, dict[str, str]]]:
    return [
        (PAGE, {"email": _new_email(), "role": "admin", "password": PASSWORD}),
        (f"{PAGE}/{admin_id}/role", {"role": "admin"}),
        (f"{PAGE}/{admin_id}/disable", {}),
    ]


@pytest.mark.parametrize("token", [None, "forged"])
def test_a_missing_or_wrong_csrf_token_changes_nothing(console: Console, token: str | None) -> None:
    target = _account(console, console.account("support"))
    client, _ = _signed_in_admin(console)
    client.get(PAGE)
    before = _state(console)

    for url, data in _posts(target.id):
        sent = data if token is None else {**data, "csrf_token": token}
        assert client.post(url, data=sent).status_code == 403, url
    assert _state(console) == before
