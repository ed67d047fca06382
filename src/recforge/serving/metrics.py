"""Prometheus metrics of one app: requests by route and status, latency, the models served.

Each app has its own registry (no process-wide state), so two apps in one process count apart.
With several uvicorn workers (`recforge serve --workers N`) the workers share their counts
through prometheus-client's multiprocess mode: `serve` points PROMETHEUS_MULTIPROC_DIR at a
fresh directory before the workers start, and /metrics, whichever worker answers it, reports
the sum over all of them.
"""

from __future__ import annotations

import os
import time

from fastapi import FastAPI, Response
from prometheus_client import (
    CollectorRegistry,
    Counter,
    Gauge,
    Histogram,
    generate_latest,
    multiprocess,
)
from prometheus_client.exposition import CONTENT_TYPE_LATEST
from starlette.types import ASGIApp, Message, Receive, Scope, Send

__all__ = ["MULTIPROCESS_ENV", "ServiceMetrics"]

MULTIPROCESS_ENV = "PROMETHEUS_MULTIPROC_DIR"

LATENCY_BUCKETS = (0.001, 0.002, 0.005, 0.01, 0.02, 0.05, 0.1, 0.2, 0.5, 1.0, 2.0, 5.0)


class ServiceMetrics:
    """The app's counters; `install(app)` times every request, `render()` is the /metrics body."""

    def __init__(self) -> None:
        self.shared = bool(os.environ.get(MULTIPROCESS_ENV))  # workers write to one directory
        self._served: set[tuple[str, str]] = set()
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
            multiprocess_mode="livemax",  # workers agree; a dead worker's value is dropped
        )

    def set_models(self, versions: dict[str, str]) -> None:
        """Replace the served-model series with `versions` (name → version)."""
        served = set(versions.items())
        if self.shared:  # a series written to the shared files stays: set it to 0 instead
            for name, version in self._served - served:
                self.models.labels(model=name, version=version).set(0)
        else:
            self.models.clear()
        for name, version in served:
            self.models.labels(model=name, version=version).set(1)
        self._served = served

    def install(self, app: FastAPI) -> None:
        """Time and count every HTTP request of `app` (a plain ASGI middleware: no per-request
        task or stream, unlike Starlette's BaseHTTPMiddleware)."""
        app.add_middleware(_TimingMiddleware, metrics=self)

    def render(self) -> Response:
        registry = self.registry
        if self.shared:
            registry = CollectorRegistry()
            multiprocess.MultiProcessCollector(registry)
        return Response(generate_latest(registry), media_type=CONTENT_TYPE_LATEST)

    def close(self) -> None:
        """This process stops serving: drop its live gauge values from the shared files."""
        if self.shared:
            multiprocess.mark_process_dead(os.getpid())


class _TimingMiddleware:
    """ASGI middleware recording each HTTP request's route template, status and duration."""

    def __init__(self, app: ASGIApp, metrics: ServiceMetrics) -> None:
        self.app = app
        self.metrics = metrics

    async def __call__(self, scope: Scope, receive: Receive, send: Send) -> None:
        if scope["type"] != "http":
            await self.app(scope, receive, send)
            return
        start = time.perf_counter()
        status = 500

        async def send_status(message: Message) -> None:
            nonlocal status
            if message["type"] == "http.response.start":
                status = message["status"]
            await send(message)

        try:
            await self.app(scope, receive, send_status)
        finally:
            template = getattr(scope.get("route"), "path_format", "unmatched")  # no ":path"
            self.metrics.latency.labels(route=template).observe(time.perf_counter() - start)
            self.metrics.requests.labels(
                route=template, method=scope["method"], status=str(status)
            ).inc()
