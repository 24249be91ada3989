"""Prometheus metrics: decisions by outcome and reason, request latency."""

from __future__ import annotations

import time
from typing import Any

from prometheus_client import Counter, Histogram
from starlette.types import ASGIApp, Receive, Scope, Send

from app.consent import tally

DECISIONS = Counter(
    "cmr_decisions", "Decisions answered, by outcome and reason", ["outcome", "reason"]
)
LATENCY = Histogram(
    "cmr_request_seconds",
    "Time to answer a request, by route",
    ["method", "route"],
    buckets=(0.0005, 0.001, 0.0025, 0.005, 0.01, 0.025, 0.05, 0.1, 0.25, 0.5, 1, 2.5, 5),
)


# The counter of each (outcome, reason), looked up once: `labels` costs more than `inc`.
_decision_counters: dict[tuple[str, str], Any] = {}


def count_decisions(outcome: str, reasons: tuple[str, ...], number: int = 1) -> None:
    """Count `number` decisions once per reason (with reason "" when none is given)."""
    for reason in reasons or ("",):
        counter = _decision_counters.get((outcome, reason))
        if counter is None:
            counter = _decision_counters[(outcome, reason)] = DECISIONS.labels(outcome, reason)
        counter.inc(number)
    tally.count(outcome, reasons, number)


class RequestTimer:
    """ASGI middleware: observe each request's latency under its route template."""

    def __init__(self, app: ASGIApp) -> None:
        self.app = app

    async def __call__(self, scope: Scope, receive: Receive, send: Send) -> None:
        if scope["type"] != "http":
            await self.app(scope, receive, send)
            return
        start = time.perf_counter()
        try:
            await self.app(scope, receive, send)
        finally:
            path = getattr(scope.get("route"), "path", "unmatched")
            LATENCY.labels(scope["method"], path).observe(time.perf_counter() - start)
