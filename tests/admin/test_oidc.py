"""Console sign-in through OpenID Connect, end to end against provider processes of their own."""

from __future__ import annotations

import uuid
from collections.abc import Iterator
from contextlib import contextmanager
from pathlib import Path
from typing import Any

import httpx
import pytest
from fastapi.testclient import TestClient
from pydantic import SecretStr
from sqlalchemy import select
from sqlmodel import col

from app.audit import Actor
from app.auth.admins import change_admin, find_admin
from app.consent.context import Context
from app.db import read_session, write_session
from app.main import create_app
from app.models import Admin, AuditEvent, utcnow
from tests.admin.helpers import Console
from tests.admin.oidc_provider import Provider, Site, free_port, running_forger, running_mock

CLIENT_ID = "cmr-console"
REFUSED = "could not be confirmed"


@contextmanager
def _site(console: Console, provider: Provider) -> Iterator[Site]:
    settings = console.settings.model_copy(
        update={
            "oidc_issuer": provider.issuer,
            "oidc_client_id": CLIENT_ID,
            "oidc_client_secret": SecretStr("console client secret"),
        }
    )
    app = create_app(settings)
    with TestClient(app, base_url=settings.base_url):
        yield Site(app=app, provider=provider, base_url=settings.base_url)


@pytest.fixture(scope="module")
def mock(console: Console, tmp_path_factory: pytest.TempPathFactory) -> Iterator[Site]:
    tmp = tmp_path_factory.mktemp("mock")
    with running_mock(tmp) as provider, _site(console, provider) as site:
        yield site


@pytest.fixture(scope="module")
def expiring(console: Console, tmp_path_factory: pytest.TempPathFactory) -> Iterator[Site]:
    """oidc-provider-mock issuing tokens that expired five minutes before they were issued."""
    tmp = tmp_path_factory.mktemp("expiring")
    with running_mock(tmp, token_max_age=-300) as provider, _site(console, provider) as site:
        yield site


@pytest.fixture(scope="module")
def forger(console: Console, tmp_path_factory: pytest.TempPathFactory) -> Iterator[Site]:
    tmp = tmp_path_factory.mktemp("forger")
    with running_forger(tmp) as provider, _site(console, provider) as site:
        yield site


def _admin(console: Console, email: str) -> Admin | None:
    with read_session(console.engine) as session:
        return find_admin(session, email)


def _assert_signed_in(browser: TestClient, response: httpx.Response, role: str) -> None:
    assert (response.status_code, response.headers["location"]) == (303, "/admin")
    page = browser.get("/admin", follow_redirects=False)
    assert page.status_code == 200
    assert role in page.text


def _assert_refused(response: httpx.Response, status: int, words: str) -> None:
    assert response.status_code == status, response.text
    assert words in response.text
    assert "cmr_admin" not in response.headers.get("set-cookie", "")


def test_start_asks_for_a_code_with_pkce_state_and_nonce(mock: Site) -> None:
    browser = mock.browser()
    response = browser.get("/admin/oidc/start", follow_redirects=False)
    asked = httpx.URL(response.headers["location"]).params
    assert asked["response_type"] == "code"
    assert asked["client_id"] == CLIENT_ID
    assert asked["redirect_uri"] == f"{mock.base_url}/admin/oidc/callback"
    assert set(asked["scope"].split()) == {"openid", "email", "profile"}
    assert asked["code_challenge_method"] == "S256"
    assert len(asked["code_challenge"]) == 43
    assert len(asked["state"]) >= 20
    assert len(asked["nonce"]) >= 20
    cookie = response.headers["set-cookie"].lower()
    assert cookie.startswith("cmr_oidc=")
    for flag in ("path=/admin/oidc", "httponly", "secure", "samesite=lax"):
        assert flag in cookie


def test_the_role_claim_makes_an_account_and_keeps_its_role(console: Console, mock: Site) -> None:
    sub, email = mock.user(cmr_role="support")
    browser, response = mock.sign_in(sub)
    _assert_signed_in(browser, response, "support")
    admin = _admin(console, email)
    assert admin is not None
    assert (admin.role, admin.password_hash) == ("support", None)
    assert admin.last_sign_in_at is not None

    mock.provider.put_user(sub, {"email": email, "email_verified": True, "cmr_role": "admin"})
    browser, response = mock.sign_in(sub)
    _assert_signed_in(browser, response, "admin")
    with read_session(console.engine) as session:
        events = session.scalars(
            select(AuditEvent)
            .where(col(AuditEvent.action).in_(["admin.created", "admin.role_changed"]))
            .where(col(AuditEvent.after).contains(admin.id))
            .order_by(col(AuditEvent.id))
        ).all()
    assert [(e.action, e.actor_type, e.source) for e in events] == [
        ("admin.created", "system", "admin"),
        ("admin.role_changed", "system", "admin"),
    ]


def test_without_a_claim_the_local_account_of_the_address_gives_the_role(
    console: Console, mock: Site
) -> None:
    email = console.account("auditor")
    sub, _ = mock.user(email=email)
    browser, response = mock.sign_in(sub)
    _assert_signed_in(browser, response, "auditor")


def test_without_a_claim_or_an_account_there_is_no_access(console: Console, mock: Site) -> None:
    sub, email = mock.user(cmr_role="superuser")
    _, response = mock.sign_in(sub)
    _assert_refused(response, 403, "no console access")
    assert _admin(console, email) is None


def test_an_unverified_address_is_refused(console: Console, mock: Site) -> None:
    email = console.account("auditor")
    sub, _ = mock.user(email=email, email_verified=False, cmr_role="admin")
    _, response = mock.sign_in(sub)
    _assert_refused(response, 403, "not verified")
    admin = _admin(console, email)
    assert admin is not None
    assert admin.role == "auditor"


def test_a_disabled_account_is_refused_even_when_the_provider_vouches(
    console: Console, mock: Site
) -> None:
    email = console.account("support")
    admin = _admin(console, email)
    assert admin is not None
    with write_session(console.engine) as session:
        change_admin(
            session, sealer=Context.from_settings(console.settings).sealer, actor=Actor("cli"),
            source="cli", admin_id=admin.id, disable=True, now=utcnow(),
        )  # fmt: skip
    sub, _ = mock.user(email=email, cmr_role="admin")
    _, response = mock.sign_in(sub)
    _assert_refused(response, 403, "disabled")
    admin = _admin(console, email)
    assert admin is not None
    assert admin.role == "support"


def test_a_wrong_state_is_refused(mock: Site) -> None:
    sub, _ = mock.user(cmr_role="admin")
    browser = mock.browser()
    back = mock.consent(mock.start(browser), sub)
    elsewhere = mock.browser().get(str(back), follow_redirects=False)
    _assert_refused(elsewhere, 401, REFUSED)
    tampered = back.copy_set_param("state", "a-state-this-browser-never-sent")
    _assert_refused(browser.get(str(tampered), follow_redirects=False), 401, REFUSED)
    assert browser.get("/admin", follow_redirects=False).headers["location"] == "/admin/login"


def test_a_callback_is_used_once(mock: Site) -> None:
    sub, _ = mock.user(cmr_role="auditor")
    browser = mock.browser()
    back = mock.consent(mock.start(browser), sub)
    _assert_signed_in(browser, browser.get(str(back), follow_redirects=False), "auditor")
    _assert_refused(browser.get(str(back), follow_redirects=False), 401, REFUSED)


def test_an_id_token_with_another_nonce_is_refused(mock: Site) -> None:
    sub, _ = mock.user(cmr_role="admin")
    browser = mock.browser()
    authorization = mock.start(browser).copy_set_param("nonce", "a-nonce-of-another-sign-in")
    back = mock.consent(authorization, sub)
    _assert_refused(browser.get(str(back), follow_redirects=False), 401, REFUSED)


def test_an_expired_id_token_is_refused(expiring: Site) -> None:
    sub, _ = expiring.user(cmr_role="admin")
    _, response = expiring.sign_in(sub)
    _assert_refused(response, 401, REFUSED)


def test_the_forger_s_honest_token_signs_in(forger: Site) -> None:
    email = f"forged-{uuid.uuid4().hex[:8]}@example.org"
    forger.provider.forge({"email": email, "email_verified": True, "cmr_role": "auditor"})
    browser, response = forger.sign_in()
    _assert_signed_in(browser, response, "auditor")


@pytest.mark.parametrize(
    ("claims", "expires_in", "key"),
    [
        pytest.param({"aud": "another-app"}, 300, "own", id="another audience"),
        pytest.param(
            {"aud": ["another-app"], "azp": CLIENT_ID}, 300, "own",
            id="another audience naming us as authorized party",
        ),
        pytest.param({"nonce": "a-nonce-of-another-sign-in"}, 300, "own", id="another nonce"),
        pytest.param({"nonce": None}, 300, "own", id="no nonce"),
        pytest.param({"iss": "https://elsewhere.example"}, 300, "own", id="another issuer"),
        pytest.param({}, -300, "own", id="expired"),
        pytest.param({}, 300, "stranger", id="signed with another key"),
        pytest.param({}, 300, "none", id="no id token"),
    ],
)  # fmt: skip
def test_a_forged_id_token_is_refused(
    console: Console, forger: Site, claims: dict[str, Any], expires_in: int, key: str
) -> None:
    email = f"forged-{uuid.uuid4().hex[:8]}@example.org"
    claims = {"email": email, "email_verified": True, "cmr_role": "admin", **claims}
    forger.provider.forge(claims, expires_in=expires_in, key=key)
    _, response = forger.sign_in()
    _assert_refused(response, 401, REFUSED)
    assert _admin(console, email) is None


def test_an_unreachable_provider_is_a_page_not_a_crash(console: Console, tmp_path: Path) -> None:
    gone = Provider(issuer=f"http://127.0.0.1:{free_port()}", log=tmp_path / "none.log")
    with _site(console, gone) as site:
        browser = site.browser()
        started = browser.get("/admin/oidc/start", follow_redirects=False)
        _assert_refused(started, 503, "cannot be reached")
        back = browser.get("/admin/oidc/callback?code=a-code&state=a-state")
        _assert_refused(back, 401, REFUSED)


def test_without_a_provider_the_routes_are_not_there(console: Console) -> None:
    browser = console.visitor()
    assert "/admin/oidc/start" not in browser.get("/admin/login").text
    _assert_refused(browser.get("/admin/oidc/start"), 404, "not set up")
