"""Domain errors that the API turns into problem details."""

from __future__ import annotations

from collections.abc import Sequence
from typing import Any

Loc = tuple[str | int, ...]


class DomainError(Exception):
    """A request the domain refuses; `status` is the HTTP status the SPEC gives it."""

    status = 422
    title = "Unprocessable content"

    def __init__(self, detail: str, errors: Sequence[dict[str, Any]] = ()) -> None:
        super().__init__(detail)
        self.detail = detail
        self.errors = list(errors)


class ValidationFailed(DomainError):
    """Invalid fields, each named by its location."""

    @classmethod
    def at(cls, loc: Loc, msg: str, kind: str = "value_error") -> ValidationFailed:
        return cls(msg, [field_error(loc, msg, kind)])


class NotFound(DomainError):
    status = 404
    title = "Not found"


class Conflict(DomainError):
    status = 409
    title = "Conflict"


class PreconditionFailed(DomainError):
    status = 412
    title = "Precondition failed"


class CustomerOnly(DomainError):
    """A loosening change without the customer's own request as evidence."""

    status = 403
    title = "Only the customer widens"


def field_error(loc: Loc, msg: str, kind: str = "value_error") -> dict[str, Any]:
    """One entry of a problem's `errors`."""
    return {"loc": list(loc), "msg": msg, "type": kind}


class Forbidden(DomainError):
    status = 403
    title = "Forbidden"


class MalformedBody(DomainError):
    status = 400
    title = "Bad request"


class UnsupportedMediaType(DomainError):
    status = 415
    title = "Unsupported media type"
