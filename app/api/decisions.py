"""POST /decisions and /decisions/batch: may this message be sent?

The hot path: the token is checked on the event loop (cached per token), then one trip to a
worker thread reads the client, the catalog and the customers in one transaction and decides.
"""

from __future__ import annotations

import itertools
import secrets
from collections import Counter
from collections.abc import Sequence
from typing import Annotated, Any

from fastapi import APIRouter, Depends, Request
from starlette.concurrency import run_in_threadpool
from starlette.datastructures import State

from app.api.metrics import count_decisions
from app.api.responses import JsonResponse
from app.auth.deps import Bearer, require_bearer
from app.auth.links import Links
from app.consent.context import Context
from app.consent.decisions import Answer, Ask, decide_asks, validate_asks
from app.consent.schemas import BatchBody, DecisionBody
from app.db import read_session, write_session
from app.format import format_instant
from app.models import utcnow

router = APIRouter(prefix="/api/v1", tags=["decisions"])
DecisionsBearer = Annotated[Bearer, Depends(require_bearer("decisions"))]

# Decision ids: unique per process by a random prefix, cheap by a counter.
_ID_PREFIX = "d_" + secrets.token_urlsafe(6)
_ids = itertools.count(1)


def _answer(links: Links, ask: Ask, answer: Answer) -> dict[str, Any]:
    decision = answer.decision
    record = answer.customer
    unsubscribe = None
    if record is not None and answer.marketing and ask.request.channel == "email":
        request = ask.request
        unsubscribe = links.unsubscribe_member(
            record.id, request.brand, request.topic, request.channel
        )
    return {
        "decision": decision.outcome,
        "reasons": list(decision.reasons),
        "next_allowed_at": None
        if decision.next_allowed_at is None
        else format_instant(decision.next_allowed_at),
        "decision_id": f"{_ID_PREFIX}{next(_ids):x}",
        "preferences_version": None if record is None else record.version,
        "reserved": answer.reserved,
        "preferences_url": None if record is None else links.preferences_url(record.id),
        "unsubscribe": unsubscribe,
    }


def _decide(state: State, bearer: Bearer, batch: BatchBody, in_batch: bool) -> list[dict[str, Any]]:
    """Everything that touches the database, in one transaction on a worker thread."""
    ctx: Context = state.context
    reserving = any(
        (item.reserve if item.reserve is not None else batch.reserve) for item in batch.items
    )
    opener = write_session if reserving else read_session
    with opener(state.engine) as session:
        client = bearer.principal(session.connection())
        catalog = ctx.catalog.get(session)
        asks = validate_asks(catalog, batch, now=utcnow(), brands=client.brands, in_batch=in_batch)
        answers = decide_asks(
            session, ctx=ctx, catalog=catalog, client_id=client.client_id, asks=asks
        )
    _count(answers)
    links: Links = state.links
    return [_answer(links, ask, answer) for ask, answer in zip(asks, answers, strict=True)]


def _count(answers: Sequence[Answer]) -> None:
    counts = Counter((a.decision.outcome, a.decision.reasons) for a in answers)
    for (outcome, reasons), number in counts.items():
        count_decisions(outcome, reasons, number)


@router.post("/decisions")
async def post_decision(
    body: DecisionBody, request: Request, bearer: DecisionsBearer
) -> JsonResponse:
    """One decision; with `reserve`, an allowed send is stored atomically with the cap check."""
    batch = BatchBody(items=[body])
    items = await run_in_threadpool(_decide, request.app.state, bearer, batch, False)
    return JsonResponse(items[0])


@router.post("/decisions/batch")
async def post_decision_batch(
    body: BatchBody, request: Request, bearer: DecisionsBearer
) -> JsonResponse:
    """Up to 10,000 decisions, validated whole first, decided in order."""
    items = await run_in_threadpool(_decide, request.app.state, bearer, body, True)
    return JsonResponse({"items": items})
