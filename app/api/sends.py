"""Sends: record ones that already happened, release reservations."""

from __future__ import annotations

from typing import Any

from fastapi import APIRouter, Response
from fastapi.responses import JSONResponse

from app.api.deps import ContextDep, Decider, WriteSession
from app.consent.reservations import record_sends, release_send
from app.consent.schemas import MessageId, SendsBody

router = APIRouter(prefix="/api/v1/sends", tags=["sends"])


@router.post("")
def post_sends(
    body: SendsBody, session: WriteSession, ctx: ContextDep, client: Decider
) -> JSONResponse:
    """Stored whatever the rules say and counted against caps: 201, or 200 when all were known."""
    new = record_sends(
        session, ctx=ctx, client_id=client.client_id, items=body.items, brands=client.brands
    )
    content: dict[str, Any] = {"items": [{"index": i} for i in range(len(body.items))]}
    return JSONResponse(content, status_code=201 if new else 200)


@router.delete("/{message_id}", status_code=204)
def delete_send(message_id: MessageId, session: WriteSession, client: Decider) -> Response:
    """Release a reservation (204 also when already released; 404 if never made)."""
    release_send(session, client_id=client.client_id, message_id=message_id)
    return Response(status_code=204)
