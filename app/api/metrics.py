"""Prometheus metrics: decisions by outcome and reason, request latency."""

from __future__ import annotations

import time
from collections.abc import Iterator

from prometheus_client import REGISTRY, Histogram, Metric
from prometheus_client.core import CounterMetricFamily
from prometheus_client.registry import Collector
from starlette.types import ASGIApp, Receive, Scope, Send

from app.consent import tally

LATENCY = Histogram(
    "cmr_request_seconds",
    "Time to answer a request, by route",
    ["method", "route"],
    buckets=(0.0005, 0.001, 0.0025, 0.005, 0.01, 0.025, 0.05, 0.1, 0.25, 0.5, 1, 2.5, 5),
)


class DecisionCounts(Collector):
    """`cmr_decisions_total`, by outcome and reason: read from the tally's totals when scraped,
    so a decision is counted once, under one lock."""

    def collect(self) -> Iterator[Metric]:
        family = CounterMetricFamily(
            "cmr_decisions",
            "Decisions answered, by outcome and reason",
            labels=("outcome", "reason"),
        )
        for labels, number in sorted(tally.TALLY.totals().items()):
            family.add_metric(labels, number)
        yield family


REGISTRY.register(DecisionCounts())


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
