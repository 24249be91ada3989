"""POST /suppressions: bounces, complaints, STOP replies and resubscriptions."""

from __future__ import annotations

from typing import Any

from fastapi import APIRouter

from app.api.deps import ContextDep, SuppressionWriter, WriteSession
from app.audit import Actor
from app.auth.errors import AuthError
from app.consent.schemas import SuppressionsBody
from app.consent.suppressions import apply_suppressions
from app.models import utcnow

router = APIRouter(prefix="/api/v1", tags=["suppressions"])


@router.post("/suppressions")
def post_suppressions(
    body: SuppressionsBody, session: WriteSession, ctx: ContextDep, client: SuppressionWriter
) -> dict[str, Any]:
    """Each item's status: `added`, `existing`, `lifted` or `none`."""
    for item in body.items:
        if item.brand is not None:
            client.require_brand(item.brand)
        elif item.reason == "resubscribe" and client.brands is not None:
            # Suppressing for every brand only narrows; lifting for every brand is not theirs.
            raise AuthError(
                403,
                "A client limited to brands lifts suppressions of its brands only: name one.",
                "insufficient_scope",
            )
    statuses = apply_suppressions(
        session,
        ctx=ctx,
        items=body.items,
        actor=Actor("client", client.client_id),
        source="api",
        now=utcnow(),
    )
    return {"items": [{"index": i, "status": s} for i, s in enumerate(statuses)]}
