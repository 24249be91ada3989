"""`cmr demo`: a fresh database gets the demo catalog, customers and a client; runs again safely."""

from __future__ import annotations

import re
from collections.abc import Callable, Iterator
from pathlib import Path

import pytest
from click.testing import Result
from fastapi.testclient import TestClient
from sqlalchemy import create_engine, func, select
from sqlalchemy.orm import Session
from sqlmodel import col
from typer.testing import CliRunner

from app.cli.main import cli
from app.main import create_app
from app.models import ApiClient, Customer
from app.settings import Settings
from tests.cli import clear_cli_caches

SECRET = "demo-test-secret-0123456789abcdef0123456789"
Demo = Callable[..., Result]


@pytest.fixture(scope="module")
def url(tmp_path_factory: pytest.TempPathFactory) -> str:
    """A fresh SQLite database, not even created yet: the demo makes it."""
    return f"sqlite:///{tmp_path_factory.mktemp('demo') / 'demo.db'}"


@pytest.fixture
def demo(url: str, monkeypatch: pytest.MonkeyPatch) -> Demo:
    monkeypatch.setenv("CMR_DATABASE_URL", url)
    monkeypatch.setenv("CMR_SECRET_KEY", SECRET)

    def invoke(*args: str) -> Result:
        clear_cli_caches()
        try:
            return CliRunner().invoke(cli, ["demo", *args], env={"COLUMNS": "60"})
        finally:
            clear_cli_caches()

    return invoke


@pytest.fixture
def http(url: str, tmp_path: Path) -> Iterator[TestClient]:
    """The app on the demo's database."""
    settings = Settings(
        database_url=url,
        secret_key=SECRET,  # type: ignore[arg-type]
        base_url="https://cmr.example.test",
        mail_backend="file",
        mail_dir=tmp_path / "mail",
    )
    with TestClient(create_app(settings), base_url="https://cmr.example.test") as client:
        yield client


def credentials(result: Result) -> tuple[str, str]:
    client_id = re.search(r'"client_id": "(cl_[\w-]+)"', result.stdout)
    secret = re.search(r'"client_secret": "([\w-]+)"', result.stdout)
    assert client_id is not None
    assert secret is not None
    return client_id.group(1), secret.group(1)


def counts(url: str) -> tuple[int, int, int]:
    """Live demo customers, distinct external ids, API clients."""
    engine = create_engine(url)
    try:
        with Session(engine) as session:
            live = col(Customer.erased_at).is_(None)
            customers = session.scalar(select(func.count()).where(live)) or 0
            distinct = select(func.count(func.distinct(Customer.external_id))).where(live)
            clients = session.scalar(select(func.count()).select_from(ApiClient)) or 0
            return customers, session.scalar(distinct) or 0, clients
    finally:
        engine.dispose()


def token(http: TestClient, client_id: str, secret: str) -> dict[str, str]:
    response = http.post(
        "/oauth/token", data={"grant_type": "client_credentials"}, auth=(client_id, secret)
    )
    assert response.status_code == 200, response.text
    return {"Authorization": f"Bearer {response.json()['access_token']}"}


def test_the_demo_makes_a_database_and_a_client_that_gets_a_token(
    demo: Demo, url: str, http: TestClient
) -> None:
    result = demo("--customers", "50")

    assert result.exit_code == 0, result.output
    assert "/api/v1" in result.stdout
    assert "ext:demo-50" in result.stdout
    assert counts(url) == (50, 50, 1)
    client_id, secret = credentials(result)
    curl = next(line for line in result.stdout.splitlines() if line.startswith("Token:"))
    assert f"-u {client_id}:{secret} " in curl
    headers = token(http, client_id, secret)
    catalog = http.get("/api/v1/catalog", headers=headers)
    assert catalog.status_code == 200
    assert {b["key"] for b in catalog.json()["brands"]} >= {"acme", "northwind"}
    found = http.get("/api/v1/customers/ext:demo-7", headers=headers)
    assert found.status_code == 200
    assert found.json()["email"] == "customer7@example.org"


def test_the_demo_runs_again_without_duplicating_customers(
    demo: Demo, url: str, http: TestClient
) -> None:
    first = demo("--customers", "50")
    headers = token(http, *credentials(first))
    erased = http.delete("/api/v1/customers/ext:demo-3", headers=headers)
    assert erased.status_code == 204

    again = demo("--customers", "50")
    more = demo("--customers", "60")

    assert again.exit_code == 0, again.output
    assert more.exit_code == 0, more.output
    customers, distinct, clients = counts(url)
    assert (customers, distinct) == (60, 60)
    assert clients >= 3
    assert http.get("/api/v1/customers/ext:demo-3", headers=headers).status_code == 200
    assert http.get("/api/v1/customers/ext:demo-60", headers=headers).status_code == 200


def test_the_demo_prints_a_console_account_that_signs_in(demo: Demo, http: TestClient) -> None:
    result = demo("--customers", "5")

    assert result.exit_code == 0, result.output
    found = re.search(r"sign in as (\S+), password (\S+);", result.stdout)
    assert found, result.stdout
    email, password = found.groups()
    form = http.get("/admin/login")
    token = re.search(r'name="csrf_token" value="([^"]+)"', form.text)
    assert token
    signed_in = http.post(
        "/admin/login",
        data={"email": email, "password": password, "csrf_token": token.group(1)},
        follow_redirects=False,
    )
    assert (signed_in.status_code, signed_in.headers["location"]) == (303, "/admin")
    assert "/login" in result.stdout
