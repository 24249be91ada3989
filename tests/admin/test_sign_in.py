"""Console sign-in with local accounts: passwords, rate limits, sign-out, disabled accounts."""

from __future__ import annotations

from sqlalchemy import select
from sqlmodel import col

from app.audit import Actor
from app.auth.admins import change_admin
from app.consent.context import Context
from app.db import write_session
from app.models import Admin, utcnow
from tests.admin.helpers import PASSWORD, Console
from tests.portal.helpers import csrf_of


def _login(console: Console, email: str, password: str) -> int:
    client = console.visitor()
    form = client.get("/admin/login")
    response = client.post(
        "/admin/login",
        data={"email": email, "password": password, "csrf_token": csrf_of(form.text)},
        follow_redirects=False,
    )
    return response.status_code


def test_signed_out_visitors_are_sent_to_the_sign_in_page(console: Console) -> None:
    response = console.visitor().get("/admin", follow_redirects=False)
    assert (response.status_code, response.headers["location"]) == (303, "/admin/login")


def test_a_local_account_signs_in_and_out(console: Console) -> None:
    client = console.sign_in("auditor")
    page = client.get("/admin")
    assert page.status_code == 200
    assert "auditor" in page.text
    cookie = client.cookies.get("cmr_admin")
    out = client.post(
        "/admin/logout", data={"csrf_token": csrf_of(page.text)}, follow_redirects=False
    )
    assert out.status_code == 303
    stale = console.visitor()
    stale.cookies.set("cmr_admin", cookie or "", domain="cmr.example.test")
    assert stale.get("/admin", follow_redirects=False).status_code == 303


def test_a_portal_session_is_not_a_console_session(console: Console) -> None:
    client = console.sign_in("admin")
    token = client.cookies.get("cmr_admin") or ""
    other = console.visitor()
    other.cookies.set("cmr_session", token, domain="cmr.example.test")
    assert other.get("/", follow_redirects=False).status_code == 303


def test_a_wrong_password_is_refused_and_failures_are_limited(console: Console) -> None:
    email = console.account("support")
    assert [_login(console, email, "wrong password") for _ in range(10)] == [401] * 10
    assert _login(console, email, PASSWORD) == 429


def test_the_sign_in_form_needs_its_csrf_token(console: Console) -> None:
    email = console.account("support")
    client = console.visitor()
    client.get("/admin/login")
    response = client.post("/admin/login", data={"email": email, "password": PASSWORD})
    assert response.status_code == 403


def test_disabling_an_account_ends_its_sessions(console: Console) -> None:
    email = console.account("support")
    client = console.sign_in_as(email)
    assert client.get("/admin").status_code == 200
    ctx = Context.from_settings(console.settings)
    with write_session(console.engine) as session:
        admin = session.scalars(select(Admin).where(col(Admin.email) == email)).first()
        assert admin is not None
        change_admin(
            session, sealer=ctx.sealer, actor=Actor("cli"), source="cli", admin_id=admin.id,
            disable=True, now=utcnow(),
        )  # fmt: skip
    assert client.get("/admin", follow_redirects=False).status_code == 303
