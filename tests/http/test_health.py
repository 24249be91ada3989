"""/healthz, /readyz (also with the database out of reach), /metrics and security headers."""

from __future__ import annotations

import re
from collections.abc import Iterator
from pathlib import Path

import httpx
import pytest
from fastapi.testclient import TestClient

from app.main import create_app
from app.web.headers import HEADERS
from tests.api import Api, api_settings

H = dict[str, str]


def sample(metrics: str, name: str, **labels: str) -> float:
    """The value of one sample in Prometheus text format (0 when absent)."""
    for line in metrics.splitlines():
        match = re.fullmatch(rf"{re.escape(name)}\{{(.*)\}} (\S+)", line)
        if match is None:
            continue
        found = dict(re.findall(r'(\w+)="([^"]*)"', match.group(1)))
        if all(found.get(k) == v for k, v in labels.items()):
            return float(match.group(2))
    return 0.0


def metrics_text(api: Api) -> str:
    response = api.http.get("/metrics")
    assert response.status_code == 200
    assert response.headers["content-type"].startswith("text/plain")
    return response.text


@pytest.fixture(
    params=["sqlite-in-missing-directory", "postgresql-closed-port"],
)
def unreachable(request: pytest.FixtureRequest, tmp_path: Path) -> Iterator[httpx.Client]:
    """An app whose database cannot be reached."""
    url = {
        "sqlite-in-missing-directory": f"sqlite:///{tmp_path / 'missing' / 'dir' / 'cmr.db'}",
        "postgresql-closed-port": "postgresql+psycopg://cmr@127.0.0.1:9/cmr?connect_timeout=2",
    }[request.param]
    settings = api_settings(url, tmp_path)
    with TestClient(create_app(settings), base_url="https://cmr.example.test") as client:
        yield client  # type: ignore[misc]


def test_healthz_says_the_process_is_up(api: Api) -> None:
    response = api.http.get("/healthz")

    assert response.status_code == 200
    assert response.json() == {"status": "ok"}


def test_readyz_says_the_database_is_reachable(api: Api) -> None:
    response = api.http.get("/readyz")

    assert response.status_code == 200
    assert response.json() == {"status": "ok"}


def test_readyz_is_503_when_the_database_is_out_of_reach(unreachable: httpx.Client) -> None:
    ready = unreachable.get("/readyz")
    alive = unreachable.get("/healthz")

    assert ready.status_code == 503
    assert ready.json()["status"] == "unavailable"
    assert alive.status_code == 200


def test_decisions_fail_closed_without_a_database(headers: H, unreachable: httpx.Client) -> None:
    request = {"customer": "ext:x", "brand": "acme", "topic": "news", "channel": "email"}

    response = unreachable.post("/api/v1/decisions", json=request, headers=headers)

    assert response.status_code == 503
    assert response.headers["content-type"] == "application/problem+json"
    assert response.headers["retry-after"]
    assert response.json()["status"] == 503
    assert "allow" not in response.text


def test_metrics_count_decisions_by_outcome_and_reason(api: Api, headers: H) -> None:
    customer = api.customer(headers)
    before = metrics_text(api)
    for topic in ("orders", "orders", "offers"):
        api.decide(headers, customer=customer["id"], brand="acme", topic=topic, channel="email")
    api.decide(headers, customer="ext:nobody-here", brand="acme", topic="news", channel="email")

    after = metrics_text(api)

    def delta(**labels: str) -> float:
        return sample(after, "cmr_decisions_total", **labels) - sample(
            before, "cmr_decisions_total", **labels
        )

    assert delta(outcome="allow", reason="") == 2
    assert delta(outcome="deny", reason="beyond_depth") == 1
    assert delta(outcome="deny", reason="no_consent") == 1
    assert delta(outcome="deny", reason="unknown_customer") == 1
    assert "# TYPE cmr_decisions_total counter" in after


def test_metrics_have_the_request_latency_histogram(api: Api, headers: H) -> None:
    api.decide(headers, customer="ext:nobody", brand="acme", topic="news", channel="email")

    text = metrics_text(api)

    assert "# TYPE cmr_request_seconds histogram" in text
    labels = {"method": "POST", "route": "/api/v1/decisions"}
    count = sample(text, "cmr_request_seconds_count", **labels)
    assert count >= 1
    assert sample(text, "cmr_request_seconds_bucket", le="+Inf", **labels) == count
    assert sample(text, "cmr_request_seconds_sum", **labels) > 0


@pytest.mark.parametrize(
    ("method", "path"),
    [("GET", "/healthz"), ("GET", "/api/v1/catalog"), ("GET", "/nowhere"), ("GET", "/metrics")],
)
def test_every_response_carries_the_security_headers(
    api: Api, headers: H, method: str, path: str
) -> None:
    response = api.http.request(method, path, headers=headers)

    for name, value in HEADERS.items():
        assert response.headers[name] == value, name
    assert response.headers["x-content-type-options"] == "nosniff"


def test_an_error_without_a_database_carries_the_security_headers(
    unreachable: httpx.Client,
) -> None:
    response = unreachable.get("/readyz")

    assert response.headers["x-frame-options"] == "DENY"
