"""RFC 9457 problem details for every error the service answers."""

from __future__ import annotations

import logging
from collections.abc import Mapping, Sequence
from typing import Any

from fastapi import FastAPI, Request
from fastapi.exceptions import RequestValidationError
from fastapi.responses import JSONResponse
from sqlalchemy.exc import DataError, DBAPIError, IntegrityError, OperationalError
from sqlalchemy.exc import TimeoutError as PoolTimeout
from starlette.exceptions import HTTPException

from app.auth.errors import AuthError
from app.consent.errors import DomainError, Forbidden

PROBLEM = "application/problem+json"
log = logging.getLogger("cmr.api")
LOCATIONS = frozenset({"body", "query", "path", "header", "cookie"})

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
    500: "Internal server error",
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
        # Named like the domain's own errors: ["items", 7, "topic"], ["limit"], ["ref"].
        if loc and loc[0] in LOCATIONS:
            loc = loc[1:]
        msg = entry.get("msg", "")
        if entry.get("type") == "json_invalid":  # the loc is a character offset, not a member
            msg, loc = f"{msg} at character {loc[0]}" if loc else msg, []
        found.append({"loc": loc, "msg": msg, "type": entry.get("type", "")})
    return found


def media_type_of(request: Request) -> str:
    """The request's media type, without parameters, in lower case ("" when none is named)."""
    return request.headers.get("content-type", "").split(";")[0].strip().lower()


def is_json(media_type: str) -> bool:
    """`application/json` or a `+json` type."""
    return media_type == "application/json" or media_type.endswith("+json")


async def on_validation(request: Request, error: Exception) -> JSONResponse:
    assert isinstance(error, RequestValidationError)  # noqa: S101  (registered for it)
    errors = _validation_errors(error)
    if any(e["type"] == "json_invalid" for e in errors):
        return problem(400, "The body is not valid JSON.", errors=errors)
    media_type = media_type_of(request)
    if media_type and not is_json(media_type) and any(e["loc"] == [] for e in errors):
        # A body sent as something else than JSON was never parsed: say so, not "invalid".
        return problem(415, "The body must be application/json.")
    return problem(422, "The request is invalid.", errors=errors)


async def on_domain(_request: Request, error: Exception) -> JSONResponse:
    assert isinstance(error, DomainError)  # noqa: S101
    # A brand the client may not use is an authorisation failure: a challenge comes with it.
    headers = (
        AuthError(403, error.detail, "insufficient_scope").headers
        if isinstance(error, Forbidden)
        else None
    )
    return problem(
        error.status, error.detail, errors=error.errors, title=error.title, headers=headers
    )


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


async def on_data(_request: Request, error: Exception) -> JSONResponse:
    """A value the database refuses to store (a NUL character on PostgreSQL): the caller's."""
    log.info("value refused by the database: %s", type(error).__name__)
    return problem(422, "The request holds a value the database cannot store.")


async def on_integrity(_request: Request, error: Exception) -> JSONResponse:
    """A unique constraint lost to a concurrent request: the same clash as a checked one."""
    log.info("integrity error: %s", type(error).__name__)
    return problem(409, "The request conflicts with the current state; it may be retried.")


async def on_unexpected(_request: Request, error: Exception) -> JSONResponse:
    """A bug: still answered as problem details (Starlette logs and re-raises it)."""
    del error
    return problem(500, "An unexpected error occurred.")


def install(app: FastAPI) -> None:
    """Register the handlers on `app` (the most specific exception class wins)."""
    app.add_exception_handler(RequestValidationError, on_validation)
    app.add_exception_handler(DomainError, on_domain)
    app.add_exception_handler(AuthError, on_auth)
    app.add_exception_handler(HTTPException, on_http)
    app.add_exception_handler(OperationalError, on_database)
    app.add_exception_handler(PoolTimeout, on_database)
    app.add_exception_handler(DBAPIError, on_database)
    app.add_exception_handler(DataError, on_data)
    app.add_exception_handler(IntegrityError, on_integrity)
    app.add_exception_handler(Exception, on_unexpected)
