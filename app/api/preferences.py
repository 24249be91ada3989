"""The preferences document: GET with its ETag, PATCH as JSON Merge Patch with If-Match."""

from __future__ import annotations

import json
from typing import Annotated, Any

from fastapi import APIRouter, Depends, Header, Request
from fastapi.responses import JSONResponse

from app.api.deps import (
    ContextDep,
    PreferenceReader,
    PreferenceWriter,
    ReadSession,
    WriteSession,
)
from app.api.problems import media_type_of
from app.audit import Actor
from app.consent.customers import get_customer
from app.consent.errors import (
    MalformedBody,
    PreconditionFailed,
    UnsupportedMediaType,
    ValidationFailed,
)
from app.consent.preferences import patch_preferences, render
from app.models import Preference, utcnow

router = APIRouter(prefix="/api/v1/customers", tags=["preferences"])
PATCH_TYPES = ("application/merge-patch+json", "application/json")


def _etag(version: int) -> str:
    return f'"{version}"'


def _if_match(value: str | None) -> int | None:
    if value is None or value.strip() == "*":
        return None
    text = value.strip().removeprefix("W/").strip('"')
    if not text.isdigit():
        raise PreconditionFailed('If-Match must be a version ETag such as "17"')
    return int(text)


@router.get("/{ref}/preferences")
def get_preferences(ref: str, session: ReadSession, client: PreferenceReader) -> JSONResponse:
    """The document, with `ETag: "version"`."""
    customer = get_customer(session, ref)
    preference = session.get(Preference, customer.id)
    assert preference is not None  # noqa: S101  (every live customer has one)
    return JSONResponse(
        render(customer, preference, client.brands),
        headers={"ETag": _etag(preference.version)},
    )


async def merge_patch_body(request: Request) -> dict[str, Any]:
    """The request's merge patch: 415 for another media type, 400 for malformed JSON."""
    media = media_type_of(request)
    if media not in PATCH_TYPES:
        raise UnsupportedMediaType("Send application/merge-patch+json or application/json.")
    try:
        body: Any = json.loads(await request.body())
    except ValueError as error:
        raise MalformedBody("The body is not valid JSON.") from error
    if not isinstance(body, dict):
        raise ValidationFailed.at((), "a merge patch for this document is a JSON object")
    return body


@router.patch(
    "/{ref}/preferences",
    openapi_extra={
        "requestBody": {
            "required": True,
            "content": {t: {"schema": {"type": "object"}} for t in PATCH_TYPES},
        }
    },
)
def patch_preferences_route(
    ref: str,
    body: Annotated[dict[str, Any], Depends(merge_patch_body)],
    session: WriteSession,
    ctx: ContextDep,
    client: PreferenceWriter,
    if_match: Annotated[str | None, Header()] = None,
) -> JSONResponse:
    """Merge-patch the document; loosening needs `evidence` of the customer's own request."""
    customer = get_customer(session, ref, lock=True)
    preference, _ = patch_preferences(
        session,
        ctx=ctx,
        customer=customer,
        body=body,
        if_match=_if_match(if_match),
        actor=Actor("client", client.client_id),
        source="api",
        now=utcnow(),
        brands=client.brands,
    )
    return JSONResponse(
        render(customer, preference, client.brands),
        headers={"ETag": _etag(preference.version)},
    )
