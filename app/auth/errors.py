"""The error raised when a request's bearer token is missing, bad or not enough."""

from __future__ import annotations

from typing import Literal

BearerError = Literal["invalid_request", "invalid_token", "insufficient_scope"]


class AuthError(Exception):
    """401 (no or bad token) or 403 (missing scope or brand), answered as problem+json.

    `error` is the RFC 6750 error code; it is None when the request carried no token at all, in
    which case the challenge names no error (RFC 6750 section 3.1).
    """

    def __init__(self, status: Literal[401, 403], detail: str, error: BearerError | None) -> None:
        super().__init__(detail)
        self.status = status
        self.detail = detail
        self.error = error

    @property
    def www_authenticate(self) -> str:
        """The `WWW-Authenticate` header value for this error."""
        if self.error is None:
            return 'Bearer realm="cmr"'
        return f'Bearer realm="cmr", error="{self.error}"'

    @property
    def headers(self) -> dict[str, str]:
        """The headers to send with the problem document."""
        return {"WWW-Authenticate": self.www_authenticate}
