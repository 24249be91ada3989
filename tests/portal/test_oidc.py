"""Customer sign-in through OpenID Connect, against oidc-provider-mock in a process of its own."""

from __future__ import annotations

from collections.abc import Iterator
from contextlib import contextmanager
from pathlib import Path

import httpx
import pytest
from fastapi.testclient import TestClient
from pydantic import SecretStr
from sqlalchemy import select
from sqlmodel import col

from app.db import read_session
from app.main import create_app
from app.models import WebSession
from tests.admin.oidc_provider import Provider, Site, free_port, running_mock
from tests.portal.helpers import Portal

CLIENT_ID = "cmr-portal"
NAME = "Example ID"
REFUSED = "could not be confirmed"


@contextmanager
def _site(portal: Portal, provider: Provider, **settings: str) -> Iterator[Site]:
    resolved = portal.settings.model_copy(
        update={
            "portal_oidc_issuer": provider.issuer,
            "portal_oidc_client_id": CLIENT_ID,
            "portal_oidc_client_secret": SecretStr("portal client secret"),
            "portal_oidc_name": NAME,
            **settings,
        }
    )
    app = create_app(resolved)
    with TestClient(app, base_url=resolved.base_url):
        yield Site(app=app, provider=provider, base_url=resolved.base_url, prefix="/login/oidc")


@pytest.fixture(scope="module")
def mock(portal: Portal, tmp_path_factory: pytest.TempPathFactory) -> Iterator[Site]:
    tmp = tmp_path_factory.mktemp("portal-mock")
    with running_mock(tmp) as provider, _site(portal, provider) as site:
        yield site


@pytest.fixture(scope="module")
def expiring(portal: Portal, tmp_path_factory: pytest.TempPathFactory) -> Iterator[Site]:
    """oidc-provider-mock issuing tokens that expired five minutes before they were issued."""
    tmp = tmp_path_factory.mktemp("portal-expiring")
    with running_mock(tmp, token_max_age=-300) as provider, _site(portal, provider) as site:
        yield site


def _sub(site: Site, email: str, *, verified: bool = True) -> str:
    """A user of the provider with `email`: their subject."""
    sub, _ = site.user(email=email, email_verified=verified)
    return sub


def _sessions(portal: Portal, customer_id: str) -> list[WebSession]:
    with read_session(portal.engine) as session:
        return list(
            session.scalars(
                select(WebSession)
                .where(col(WebSession.kind) == "customer")
                .where(col(WebSession.subject_id) == customer_id)
            )
        )


def _assert_no_session(response: httpx.Response) -> None:
    assert "cmr_session" not in response.headers.get("set-cookie", "")


def _assert_refused(response: httpx.Response, status: int, words: str) -> None:
    assert response.status_code == status, response.text
    assert words in response.text
    _assert_no_session(response)


def test_the_login_page_offers_the_provider(mock: Site) -> None:
    page = mock.browser().get("/login")
    assert page.status_code == 200
    assert '<a class="button" href="/login/oidc/start">Sign in with Example ID</a>' in page.text
    assert page.text.index("/login/oidc/start") < page.text.index('action="/login"')
    german = mock.browser().get("/login", headers={"Accept-Language": "de"})
    assert "Anmelden mit Example ID" in german.text


def test_start_asks_for_a_code_with_pkce_state_and_nonce(mock: Site) -> None:
    response = mock.browser().get("/login/oidc/start", follow_redirects=False)
    assert response.status_code == 302
    asked = httpx.URL(response.headers["location"]).params
    assert (asked["client_id"], asked["code_challenge_method"]) == (CLIENT_ID, "S256")
    assert asked["redirect_uri"] == f"{mock.base_url}/login/oidc/callback"
    assert len(asked["state"]) >= 20
    assert len(asked["nonce"]) >= 20
    cookie = response.headers["set-cookie"].lower()
    assert cookie.startswith("cmr_oidc=")
    for flag in ("path=/login/oidc", "httponly", "secure", "samesite=lax"):
        assert flag in cookie


def test_a_verified_address_signs_its_customer_in(portal: Portal, mock: Site) -> None:
    customer = portal.new_customer()
    browser, response = mock.sign_in(_sub(mock, customer["email"]))
    assert (response.status_code, response.headers["location"]) == (303, "/")
    cookies = [c.lower() for c in response.headers.get_list("set-cookie")]
    session_cookie = next(c for c in cookies if c.startswith("cmr_session="))
    for flag in ("path=/", "httponly", "secure", "samesite=lax"):
        assert flag in session_cookie
    assert browser.get("/", follow_redirects=False).status_code == 200
    history = browser.get("/history", follow_redirects=False)
    assert history.status_code == 200  # a full session, as after a magic link
    (row,) = _sessions(portal, customer["id"])
    assert row.limited is False


def test_the_address_is_matched_as_customers_addresses_are(portal: Portal, mock: Site) -> None:
    customer = portal.new_customer()
    browser, response = mock.sign_in(_sub(mock, customer["email"].upper()))
    assert (response.status_code, response.headers["location"]) == (303, "/")
    assert browser.get("/", follow_redirects=False).status_code == 200


def test_an_unverified_address_is_refused(portal: Portal, mock: Site) -> None:
    customer = portal.new_customer()
    browser, response = mock.sign_in(_sub(mock, customer["email"], verified=False))
    _assert_refused(response, 403, "no verified e-mail address")
    assert _sessions(portal, customer["id"]) == []
    assert browser.get("/", follow_redirects=False).status_code == 303


def test_an_address_without_an_account_is_told_so(mock: Site) -> None:
    address = "nobody-here@example.org"
    browser, response = mock.sign_in(_sub(mock, address))
    assert response.status_code == 200
    assert f"There is no account here for {address}." in response.text
    assert 'role="alert"' in response.text
    _assert_no_session(response)
    assert browser.get("/", follow_redirects=False).status_code == 303


def test_a_wrong_state_is_refused(portal: Portal, mock: Site) -> None:
    customer = portal.new_customer()
    browser = mock.browser()
    back = mock.consent(mock.start(browser), _sub(mock, customer["email"]))
    _assert_refused(mock.browser().get(str(back), follow_redirects=False), 401, REFUSED)
    tampered = back.copy_set_param("state", "a-state-this-browser-never-sent")
    _assert_refused(browser.get(str(tampered), follow_redirects=False), 401, REFUSED)
    assert _sessions(portal, customer["id"]) == []


def test_a_callback_is_used_once(portal: Portal, mock: Site) -> None:
    customer = portal.new_customer()
    browser = mock.browser()
    back = mock.consent(mock.start(browser), _sub(mock, customer["email"]))
    assert browser.get(str(back), follow_redirects=False).status_code == 303
    _assert_refused(browser.get(str(back), follow_redirects=False), 401, REFUSED)


def test_an_expired_id_token_is_refused(portal: Portal, expiring: Site) -> None:
    customer = portal.new_customer()
    _, response = expiring.sign_in(_sub(expiring, customer["email"]))
    _assert_refused(response, 401, REFUSED)
    assert _sessions(portal, customer["id"]) == []


def test_an_unreachable_provider_is_a_page_not_a_crash(portal: Portal, tmp_path: Path) -> None:
    gone = Provider(issuer=f"http://127.0.0.1:{free_port()}", log=tmp_path / "none.log")
    with _site(portal, gone) as site:
        browser = site.browser()
        _assert_refused(browser.get("/login/oidc/start"), 503, "cannot be reached")
        back = browser.get("/login/oidc/callback?code=a-code&state=a-state")
        _assert_refused(back, 401, REFUSED)


def test_without_a_name_the_button_says_your_account(portal: Portal, tmp_path: Path) -> None:
    gone = Provider(issuer=f"http://127.0.0.1:{free_port()}", log=tmp_path / "none.log")
    with _site(portal, gone, portal_oidc_name="your account") as site:
        assert "Sign in with your account" in site.browser().get("/login").text
        german = site.browser().get("/login", headers={"Accept-Language": "de"})
        assert "Mit Ihrem Konto anmelden" in german.text


def test_not_set_up_there_is_no_button_and_no_route(portal: Portal) -> None:
    visitor = portal.visitor()
    assert "/login/oidc" not in visitor.get("/login").text
    _assert_refused(visitor.get("/login/oidc/start"), 404, "not set up")
    _assert_refused(visitor.get("/login/oidc/callback?code=c&state=s"), 404, "not set up")
