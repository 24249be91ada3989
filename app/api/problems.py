"""RFC 9457 problem details for every error the service answers."""

from __future__ import annotations

import logging
from collections.abc import Mapping, Sequence
from typing import Any

from fastapi import FastAPI, Request
from fastapi.exceptions import RequestValidationError
from fastapi.responses import JSONResponse
from sqlalchemy.exc import DBAPIError, OperationalError
from starlette.exceptions import HTTPException

from app.auth.errors import AuthError
from app.consent.errors import DomainError

PROBLEM = "application/problem+json"
log = logging.getLogger("cmr.api")

TITLES = {
    400: "Bad request",
    401: "Unauthorized",
    403: "Forbidden",
    404: "Not found",
    405: "Method not allowed",
    409: "Conflict",
    412: "Precondition failed",
    415: "Unsupported media type",
    422: "Unprocessable content",
    429: "Too many requests",
    503: "Service unavailable",
}


def problem(
    status: int,
    detail: str,
    *,
    errors: Sequence[Mapping[str, Any]] = (),
    title: str | None = None,
    headers: Mapping[str, str] | None = None,
) -> JSONResponse:
    """A problem+json response."""
    body: dict[str, Any] = {
        "type": "about:blank",
        "title": title or TITLES.get(status, "Error"),
        "status": status,
        "detail": detail,
    }
    if errors:
        body["errors"] = list(errors)
    return JSONResponse(body, status_code=status, media_type=PROBLEM, headers=headers)


def _validation_errors(error: RequestValidationError) -> list[dict[str, Any]]:
    found = []
    for entry in error.errors():
        loc = list(entry.get("loc", ()))
        if loc and loc[0] == "body":
            loc = loc[1:]
        found.append({"loc": loc, "msg": entry.get("msg", ""), "type": entry.get("type", "")})
    return found


async def on_validation(_request: Request, error: Exception) -> JSONResponse:
    assert isinstance(error, RequestValidationError)  # noqa: S101  (registered for it)
    errors = _validation_errors(error)
    if any(e["type"] == "json_invalid" for e in errors):
        return problem(400, "The body is not valid JSON.", errors=errors)
    return problem(422, "The request is invalid.", errors=errors)


async def on_domain(_request: Request, error: Exception) -> JSONResponse:
    assert isinstance(error, DomainError)  # noqa: S101
    return problem(error.status, error.detail, errors=error.errors, title=error.title)


async def on_auth(_request: Request, error: Exception) -> JSONResponse:
    assert isinstance(error, AuthError)  # noqa: S101
    return problem(error.status, error.detail, headers=error.headers)


async def on_http(_request: Request, error: Exception) -> JSONResponse:
    assert isinstance(error, HTTPException)  # noqa: S101
    return problem(error.status_code, str(error.detail), headers=error.headers)


async def on_database(_request: Request, error: Exception) -> JSONResponse:
    """Decisions fail closed: an unreachable database is a 503, never an answer."""
    log.error("database unavailable: %s", type(error).__name__)
    return problem(503, "The database is unavailable.", headers={"Retry-After": "5"})


def install(app: FastAPI) -> None:
    """Register the handlers on `app`."""
    app.add_exception_handler(RequestValidationError, on_validation)
    app.add_exception_handler(DomainError, on_domain)
    app.add_exception_handler(AuthError, on_auth)
    app.add_exception_handler(HTTPException, on_http)
    app.add_exception_handler(OperationalError, on_database)
    app.add_exception_handler(DBAPIError, on_database)
