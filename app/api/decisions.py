"""POST /decisions and /decisions/batch: may this message be sent?

The hot path (measured by `make bench`): served by a `DirectRoute`; the token is checked on the
event loop (cached per token); the client, the catalog and the customers are read on one
connection with prepared statements, and the asks decided in memory. A single decision that
only reads from SQLite is answered on the event loop: its reads take microseconds from a file
that no writer locks (WAL), less than the hand-off to a worker thread. Batches, reservations and
PostgreSQL, whose queries wait on a lock or the network, go to a worker thread.
"""

from __future__ import annotations

import itertools
import secrets
from collections.abc import Sequence
from contextlib import AbstractContextManager
from functools import partial
from typing import Annotated, Any

from fastapi import Depends, FastAPI, Request
from sqlalchemy import Connection, Engine
from sqlalchemy.orm import Session
from starlette.concurrency import run_in_threadpool
from starlette.datastructures import State

from app.api.direct import DirectRoute
from app.api.responses import JsonResponse
from app.auth.deps import Bearer, require_bearer
from app.auth.links import Links
from app.consent import tally
from app.consent.context import Context
from app.consent.decisions import Answer, Ask, decide_asks, validate_asks
from app.consent.schemas import BatchBody, DecisionBody
from app.db import KeptConnection, connection_of, write_session
from app.format import format_instant
from app.models import utcnow

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
        "reasons": decision.reasons,  # a tuple: encoded as an array
        "next_allowed_at": None
        if decision.next_allowed_at is None
        else format_instant(decision.next_allowed_at),
        "decision_id": f"{_ID_PREFIX}{next(_ids):x}",
        "preferences_version": None if record is None else record.version,
        "reserved": answer.reserved,
        "preferences_url": None if record is None else links.preferences_url(record.id),
        "unsubscribe": unsubscribe,
    }


def _reserving(batch: BatchBody) -> bool:
    return any(
        (item.reserve if item.reserve is not None else batch.reserve) for item in batch.items
    )


def _unit(
    state: State, reserving: bool, kept: KeptConnection | None
) -> AbstractContextManager[Session | Connection]:
    """A write session when a reservation is stored; else a connection, which reads enough:
    `kept` (the event loop's own) or one from the pool."""
    if reserving:
        return write_session(state.engine)
    if kept is not None:
        return kept.use()
    engine: Engine = state.engine
    return engine.connect()


def _decide(
    state: State,
    bearer: Bearer,
    batch: BatchBody,
    *,
    in_batch: bool,
    kept: KeptConnection | None = None,
) -> list[dict[str, Any]]:
    """Everything that touches the database, on one connection (one transaction to reserve)."""
    ctx: Context = state.context
    with _unit(state, _reserving(batch), kept) as db:
        client = bearer.principal(connection_of(db))
        catalog = ctx.catalog.get(db)
        asks = validate_asks(catalog, batch, now=utcnow(), brands=client.brands, in_batch=in_batch)
        answers = decide_asks(db, ctx=ctx, catalog=catalog, client_id=client.client_id, asks=asks)
    _count(answers)
    links: Links = state.links
    return [_answer(links, ask, answer) for ask, answer in zip(asks, answers, strict=True)]


def _count(answers: Sequence[Answer]) -> None:
    counts: dict[tuple[str, tuple[str, ...]], int] = {}
    for answer in answers:
        key = (answer.decision.outcome, answer.decision.reasons)
        counts[key] = counts.get(key, 0) + 1
    for (outcome, reasons), number in counts.items():
        tally.count(outcome, reasons, number)


async def post_decision(
    request: Request, bearer: DecisionsBearer, body: DecisionBody
) -> JsonResponse:
    """One decision; with `reserve`, an allowed send is stored atomically with the cap check."""
    state = request.app.state
    batch = BatchBody(items=[body])  # cheaper than model_construct
    kept: KeptConnection | None = state.loop_reads  # on SQLite only
    if kept is not None and not _reserving(batch):
        return JsonResponse(_decide(state, bearer, batch, in_batch=False, kept=kept)[0])
    items = await run_in_threadpool(partial(_decide, state, bearer, batch, in_batch=False))
    return JsonResponse(items[0])


async def post_decision_batch(
    request: Request, bearer: DecisionsBearer, body: BatchBody
) -> JsonResponse:
    """Up to 10,000 decisions, validated whole first, decided in order."""
    items = await run_in_threadpool(
        partial(_decide, request.app.state, bearer, body, in_batch=True)
    )
    return JsonResponse({"items": items})


def install(app: FastAPI) -> None:
    """The decision routes first on the application's own router: ahead of its documentation
    routes and of the routers it includes, each a match tried on every request."""
    for path, endpoint in (
        ("/api/v1/decisions/batch", post_decision_batch),
        ("/api/v1/decisions", post_decision),
    ):
        app.router.add_api_route(
            path, endpoint, methods=["POST"], tags=["decisions"], route_class_override=DirectRoute
        )
        app.router.routes.insert(0, app.router.routes.pop())
