"""Errors are RFC 9457 problem details: 400, 401, 403, 404, 405, 415, 422; never a 500."""

from __future__ import annotations

from typing import Any

import httpx
import pytest

from tests.api import Api

H = dict[str, str]
JSON = {"Content-Type": "application/json"}
DECISION = {"customer": "ext:nobody", "brand": "acme", "topic": "news", "channel": "email"}


def assert_problem(response: httpx.Response, status: int) -> dict[str, Any]:
    """The problem document of `response`, after checking its status, type and members."""
    assert response.status_code == status, response.text
    assert response.headers["content-type"] == "application/problem+json"
    body: dict[str, Any] = response.json()
    assert {"type", "title", "status", "detail"} <= set(body)
    assert body["status"] == status
    assert isinstance(body["title"], str)
    assert isinstance(body["detail"], str)
    for entry in body.get("errors", []):
        assert set(entry) == {"loc", "msg", "type"}
        assert isinstance(entry["loc"], list)
    return body


def locs(body: dict[str, Any]) -> list[list[Any]]:
    return [entry["loc"] for entry in body["errors"]]


@pytest.mark.parametrize(
    ("method", "path"),
    [
        ("POST", "/api/v1/decisions"),
        ("POST", "/api/v1/decisions/batch"),
        ("POST", "/api/v1/suppressions"),
        ("POST", "/api/v1/sends"),
        ("PUT", "/api/v1/customers/ext:someone"),
    ],
)
@pytest.mark.parametrize("body", [b"{bad", b'{"customer": "ext:x",}', b"\xff\xfe", b"{"])
def test_malformed_json_is_400(api: Api, headers: H, method: str, path: str, body: bytes) -> None:
    response = api.http.request(method, path, content=body, headers={**headers, **JSON})

    problem = assert_problem(response, 400)
    assert [(e["loc"], e["type"]) for e in problem["errors"]] == [([], "json_invalid")]


@pytest.mark.parametrize(
    ("path", "body", "expected"),
    [
        ("/api/v1/decisions", {**DECISION, "colour": "red"}, [["colour"]]),
        ("/api/v1/decisions/batch", {"items": [{**DECISION, "x": 1}]}, [["items", 0, "x"]]),
        (
            "/api/v1/suppressions",
            {"items": [{"channel": "email", "address": "a@b.org", "reason": "stop", "why": 1}]},
            [["items", 0, "why"]],
        ),
    ],
)
def test_unknown_fields_are_422_naming_them(
    api: Api, headers: H, path: str, body: dict[str, Any], expected: list[list[Any]]
) -> None:
    response = api.http.post(path, json=body, headers=headers)

    problem = assert_problem(response, 422)
    assert locs(problem) == expected
    assert problem["errors"][0]["type"] == "extra_forbidden"


def test_missing_fields_are_422_naming_each(api: Api, headers: H) -> None:
    response = api.http.post("/api/v1/decisions", json={"customer": "ext:x"}, headers=headers)

    problem = assert_problem(response, 422)
    assert locs(problem) == [["brand"], ["topic"], ["channel"]]
    assert {e["type"] for e in problem["errors"]} == {"missing"}


@pytest.mark.parametrize(
    ("path", "body", "loc"),
    [
        ("/api/v1/decisions", {**DECISION, "reserve": "maybe"}, ["reserve"]),
        ("/api/v1/decisions", {**DECISION, "send_at": "tomorrow"}, ["send_at"]),
        ("/api/v1/decisions", {**DECISION, "send_at": "2026-01-01T10:00:00"}, ["send_at"]),
        ("/api/v1/decisions", {**DECISION, "channel": "fax"}, ["channel"]),
        ("/api/v1/decisions", {**DECISION, "customer": 42}, ["customer"]),
        ("/api/v1/suppressions", {"items": "all"}, ["items"]),
        ("/api/v1/suppressions", {"items": []}, ["items"]),
    ],
)
def test_wrong_types_are_422_naming_the_field(
    api: Api, headers: H, path: str, body: dict[str, Any], loc: list[Any]
) -> None:
    problem = assert_problem(api.http.post(path, json=body, headers=headers), 422)

    assert locs(problem) == [loc]


@pytest.mark.parametrize("body", [b"[]", b"null", b'"text"', b"17", b""])
def test_a_body_that_is_not_an_object_is_422(api: Api, headers: H, body: bytes) -> None:
    response = api.http.post("/api/v1/decisions", content=body, headers={**headers, **JSON})

    assert_problem(response, 422)


def test_a_body_that_is_not_json_is_415(api: Api, headers: H) -> None:
    response = api.http.post("/api/v1/decisions", data={"customer": "ext:x"}, headers=headers)

    assert_problem(response, 415)


@pytest.mark.parametrize(
    ("query", "loc"),
    [
        ({"limit": "lots"}, ["limit"]),
        ({"since": "yesterday"}, ["since"]),
        ({"since": "2026-01-01T00:00:00"}, ["since"]),
        ({"since": "0001-01-01T00:00:00+01:00"}, ["since"]),
        ({"until": "9999-12-31T23:59:59-05:00"}, ["until"]),
        ({"customer": "nobody"}, ["customer"]),
    ],
)
def test_bad_query_parameters_are_422(
    api: Api, headers: H, query: dict[str, str], loc: list[Any]
) -> None:
    problem = assert_problem(api.http.get("/api/v1/audit", params=query, headers=headers), 422)

    assert locs(problem) == [loc]


def test_no_token_is_401_with_a_challenge(api: Api) -> None:
    response = api.http.get("/api/v1/changes")

    assert_problem(response, 401)
    assert response.headers["www-authenticate"] == 'Bearer realm="cmr"'


@pytest.mark.parametrize(
    ("authorization", "error"),
    [
        ("Bearer not.a.token", "invalid_token"),
        ("Basic abc", "invalid_request"),
        ("Bearer", "invalid_request"),
    ],
)
def test_a_bad_token_is_401_with_a_challenge(api: Api, authorization: str, error: str) -> None:
    response = api.http.get("/api/v1/changes", headers={"Authorization": authorization})

    assert_problem(response, 401)
    assert f'error="{error}"' in response.headers["www-authenticate"]


def test_a_missing_scope_is_403_with_a_challenge(api: Api) -> None:
    headers = api.token(scopes=["changes:read"])

    response = api.http.post("/api/v1/decisions", json=DECISION, headers=headers)

    assert_problem(response, 403)
    assert 'error="insufficient_scope"' in response.headers["www-authenticate"]


@pytest.mark.parametrize("path", ["/api/v1/nothing", "/nothing/at/all", "/api/v2/decisions"])
def test_an_unknown_route_is_404(api: Api, headers: H, path: str) -> None:
    assert_problem(api.http.get(path, headers=headers), 404)


@pytest.mark.parametrize(
    ("method", "path", "allowed"),
    [
        ("GET", "/api/v1/decisions", "POST"),
        ("DELETE", "/api/v1/suppressions", "POST"),
        ("POST", "/api/v1/changes", "GET"),
    ],
)
def test_a_wrong_method_is_405_with_allow(
    api: Api, headers: H, method: str, path: str, allowed: str
) -> None:
    response = api.http.request(method, path, headers=headers)

    assert_problem(response, 405)
    assert allowed in response.headers["allow"]


def test_a_nul_character_is_never_a_server_error(api: Api, headers: H) -> None:
    """PostgreSQL cannot store NUL: the caller's mistake, not an unavailable database."""
    decision = api.http.post(
        "/api/v1/decisions", json={**DECISION, "customer": "ext:a\u0000b"}, headers=headers
    )
    listing = api.http.get("/api/v1/audit", params={"action": "a\u0000b"}, headers=headers)

    for response in (decision, listing):
        assert response.status_code in (200, 422), response.text
        if response.status_code == 422:
            assert_problem(response, 422)


@pytest.mark.parametrize(
    ("method", "path", "body", "loc"),
    [
        (
            "POST",
            "/api/v1/decisions",
            {**DECISION, "send_at": "0001-01-01T00:00:00+01:00"},
            ["send_at"],
        ),
        (
            "POST",
            "/api/v1/sends",
            {"items": [{**DECISION, "sent_at": "0001-01-01T00:00:00+01:00", "message_id": "m-y1"}]},
            ["items", 0, "sent_at"],
        ),
    ],
)
def test_an_instant_that_cannot_be_told_in_utc_is_422(
    api: Api, headers: H, method: str, path: str, body: dict[str, Any], loc: list[Any]
) -> None:
    """Year 1 at +01:00 lies before 0001-01-01 UTC, which Python cannot represent."""
    customer = api.customer(headers)
    request = {**body, "customer": customer["id"]} if "customer" in body else body
    if "items" in body:
        request = {"items": [{**body["items"][0], "customer": customer["id"]}]}

    response = api.http.request(method, path, json=request, headers=headers)

    assert locs(assert_problem(response, 422)) == [loc]
