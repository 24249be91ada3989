"""POST /oauth/token: access tokens for API clients (OAuth2 client credentials)."""

from __future__ import annotations

import base64
from typing import Annotated
from urllib.parse import unquote

from fastapi import APIRouter, Depends, Request
from sqlalchemy import Engine
from starlette.datastructures import FormData
from starlette.responses import Response

from app.api.problems import problem
from app.auth.clients import mark_client_used
from app.auth.limits import AttemptLimiter
from app.auth.oauth import TokenServer, create_token_response
from app.db import write_session

router = APIRouter(tags=["oauth"])

_FORM_SCHEMA = {
    "type": "object",
    "required": ["grant_type"],
    "properties": {
        "grant_type": {"type": "string", "enum": ["client_credentials"]},
        "scope": {"type": "string", "description": "space-separated; default: all the client's"},
        "client_id": {"type": "string", "description": "unless sent by HTTP Basic"},
        "client_secret": {"type": "string", "description": "unless sent by HTTP Basic"},
    },
}
_TOKEN_SCHEMA = {
    "type": "object",
    "required": ["access_token", "token_type", "expires_in", "scope"],
    "properties": {
        "access_token": {"type": "string"},
        "token_type": {"type": "string", "enum": ["Bearer"]},
        "expires_in": {"type": "integer"},
        "scope": {"type": "string"},
    },
}
_ERROR_SCHEMA = {
    "type": "object",
    "required": ["error"],
    "properties": {"error": {"type": "string"}, "error_description": {"type": "string"}},
}


async def read_form(request: Request) -> FormData:
    """The request's form body, read on the event loop so that the endpoint can be synchronous."""
    return await request.form()


@router.post(
    "/oauth/token",
    summary="Get an access token",
    response_class=Response,
    openapi_extra={
        "requestBody": {
            "required": True,
            "content": {"application/x-www-form-urlencoded": {"schema": _FORM_SCHEMA}},
        },
        "responses": {
            "200": {"content": {"application/json": {"schema": _TOKEN_SCHEMA}}},
            "400": {"content": {"application/json": {"schema": _ERROR_SCHEMA}}},
            "401": {"content": {"application/json": {"schema": _ERROR_SCHEMA}}},
        },
    },
)
def issue_token(request: Request, form: Annotated[FormData, Depends(read_form)]) -> Response:
    """Client credentials grant (RFC 6749 section 4.4); the secret by HTTP Basic or form fields.

    Failed attempts are limited per address and per client id: past the limit, 429 with
    `Retry-After` (and no secret is checked).
    """
    limiter: AttemptLimiter = request.app.state.token_attempts
    who = _attempt_keys(request, form)
    if wait := limiter.retry_after(*who):
        return problem(429, "Too many failed attempts.", headers={"Retry-After": str(wait)})
    engine: Engine = request.app.state.engine
    server = TokenServer(
        engine=engine, keys=request.app.state.keys, settings=request.app.state.settings
    )
    uri = request.app.state.settings.base_url.rstrip("/") + request.url.path
    response, client_id = create_token_response(server, uri=uri, headers=request.headers, form=form)
    if client_id is not None:
        with write_session(engine) as session:
            mark_client_used(session, client_id)
    elif response.status_code == 401:
        limiter.fail(*who)
    return response


def _attempt_keys(request: Request, form: FormData) -> tuple[str, ...]:
    """What failed attempts are counted under: the client's address and the client id given."""
    keys = [f"ip:{request.client.host if request.client else '-'}"]
    client_id = form.get("client_id")
    authorization = request.headers.get("authorization", "")
    if authorization.lower().startswith("basic "):
        try:
            decoded = base64.b64decode(authorization[6:], validate=True).decode()
            client_id = unquote(decoded.partition(":")[0])
        except (ValueError, UnicodeDecodeError):
            client_id = None
    if isinstance(client_id, str) and client_id:
        keys.append(f"client:{client_id[:100]}")
    return tuple(keys)
