"""Prometheus metrics of one app: requests by route and status, latency, the models served.

Each app has its own registry (no process-wide state), so two apps in one process count apart.
With several uvicorn workers each worker reports its own requests.
"""

from __future__ import annotations

import time
from collections.abc import Awaitable, Callable

from fastapi import FastAPI, Request, Response
from prometheus_client import CollectorRegistry, Counter, Gauge, Histogram, generate_latest
from prometheus_client.exposition import CONTENT_TYPE_LATEST

__all__ = ["ServiceMetrics"]

LATENCY_BUCKETS = (0.001, 0.002, 0.005, 0.01, 0.02, 0.05, 0.1, 0.2, 0.5, 1.0, 2.0, 5.0)


class ServiceMetrics:
    """The app's counters; `install(app)` times every request, `render()` is the /metrics body."""

    def __init__(self) -> None:
        self.registry = CollectorRegistry()
        self.requests = Counter(
            "recforge_requests",
            "HTTP requests answered, by route template, method and status code",
            ["route", "method", "status"],
            registry=self.registry,
        )
        self.latency = Histogram(
            "recforge_request_seconds",
            "Time to answer a request, by route template",
            ["route"],
            buckets=LATENCY_BUCKETS,
            registry=self.registry,
        )
        self.models = Gauge(
            "recforge_model_info",
            "1 for each model served, labelled with its name and version (content hash prefix)",
            ["model", "version"],
            registry=self.registry,
        )

    def set_models(self, versions: dict[str, str]) -> None:
        """Replace the served-model series with `versions` (name → version)."""
        self.models.clear()
        for name, version in versions.items():
            self.models.labels(model=name, version=version).set(1)

    def install(self, app: FastAPI) -> None:
        @app.middleware("http")
        async def timed(
            request: Request, call_next: Callable[[Request], Awaitable[Response]]
        ) -> Response:
            start = time.perf_counter()
            response = await call_next(request)
            route = request.scope.get("route")
            template = getattr(route, "path", "unmatched")
            self.latency.labels(route=template).observe(time.perf_counter() - start)
            self.requests.labels(
                route=template, method=request.method, status=str(response.status_code)
            ).inc()
            return response

    def render(self) -> Response:
        return Response(generate_latest(self.registry), media_type=CONTENT_TYPE_LATEST)
