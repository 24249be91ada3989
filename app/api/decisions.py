"""POST /decisions and /decisions/batch: may this message be sent?"""

from __future__ import annotations

import secrets
from typing import Any

from fastapi import APIRouter, Request
from fastapi.responses import JSONResponse

from app.api.deps import ContextDep, Decider
from app.api.metrics import count_decision
from app.auth.links import Links
from app.auth.principals import ClientPrincipal
from app.consent.context import Context
from app.consent.decisions import Answer, Ask, decide_asks, validate_asks
from app.consent.schemas import BatchBody, DecisionBody
from app.db import read_session, write_session
from app.format import format_instant
from app.models import utcnow

router = APIRouter(prefix="/api/v1", tags=["decisions"])


def _answer(links: Links, ask: Ask, answer: Answer) -> dict[str, Any]:
    decision = answer.decision
    count_decision(decision.outcome, decision.reasons)
    record = answer.customer
    unsubscribe = None
    if record is not None and answer.marketing and ask.request.channel == "email":
        url = links.unsubscribe_url(
            record.id, ask.request.brand, ask.request.topic, ask.request.channel
        )
        unsubscribe = {
            "url": url,
            "headers": {
                "List-Unsubscribe": f"<{url}>",
                "List-Unsubscribe-Post": "List-Unsubscribe=One-Click",
            },
        }
    return {
        "decision": decision.outcome,
        "reasons": list(decision.reasons),
        "next_allowed_at": None
        if decision.next_allowed_at is None
        else format_instant(decision.next_allowed_at),
        "decision_id": "d_" + secrets.token_urlsafe(12),
        "preferences_version": None if record is None else record.version,
        "reserved": answer.reserved,
        "preferences_url": None if record is None else links.preferences_url(record.id),
        "unsubscribe": unsubscribe,
    }


def _decide(
    request: Request, ctx: Context, client: ClientPrincipal, batch: BatchBody, *, in_batch: bool
) -> list[dict[str, Any]]:
    reserving = any(
        (item.reserve if item.reserve is not None else batch.reserve) for item in batch.items
    )
    opener = write_session if reserving else read_session
    with opener(request.app.state.engine) as session:
        catalog = ctx.catalog.get(session)
        asks = validate_asks(catalog, batch, now=utcnow(), brands=client.brands, in_batch=in_batch)
        answers = decide_asks(session, ctx=ctx, client_id=client.client_id, asks=asks)
    links: Links = request.app.state.links
    return [_answer(links, ask, answer) for ask, answer in zip(asks, answers, strict=True)]


@router.post("/decisions")
def post_decision(
    body: DecisionBody, request: Request, ctx: ContextDep, client: Decider
) -> JSONResponse:
    """One decision; with `reserve`, an allowed send is stored atomically with the cap check."""
    batch = BatchBody(items=[body])
    return JSONResponse(_decide(request, ctx, client, batch, in_batch=False)[0])


@router.post("/decisions/batch")
def post_decision_batch(
    body: BatchBody, request: Request, ctx: ContextDep, client: Decider
) -> JSONResponse:
    """Up to 10,000 decisions, validated whole first, decided in order."""
    return JSONResponse({"items": _decide(request, ctx, client, body, in_batch=True)})
