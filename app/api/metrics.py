"""Prometheus metrics: decisions by outcome and reason, request latency."""

from __future__ import annotations

import time
from collections.abc import Awaitable, Callable

from fastapi import Request, Response
from prometheus_client import Counter, Histogram

DECISIONS = Counter(
    "cmr_decisions", "Decisions answered, by outcome and reason", ["outcome", "reason"]
)
LATENCY = Histogram(
    "cmr_request_seconds",
    "Time to answer a request, by route",
    ["method", "route"],
    buckets=(0.0005, 0.001, 0.0025, 0.005, 0.01, 0.025, 0.05, 0.1, 0.25, 0.5, 1, 2.5, 5),
)


def count_decision(outcome: str, reasons: tuple[str, ...]) -> None:
    """Count one decision once per reason (once with reason "" when allowed)."""
    for reason in reasons or ("",):
        DECISIONS.labels(outcome, reason).inc()


async def time_requests(
    request: Request, call_next: Callable[[Request], Awaitable[Response]]
) -> Response:
    """Middleware: observe each request's latency under its route template."""
    start = time.perf_counter()
    response = await call_next(request)
    route = request.scope.get("route")
    path = getattr(route, "path", "unmatched")
    LATENCY.labels(request.method, path).observe(time.perf_counter() - start)
    return response
