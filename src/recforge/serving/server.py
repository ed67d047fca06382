"""Running the service with uvicorn: `recforge serve DIR`.

With several workers uvicorn starts each in its own process from an import string, so the model
directory reaches them through the RECFORGE_SERVE_DIR environment variable that `serve` sets.
"""

from __future__ import annotations

import os
import shutil
import tempfile
from pathlib import Path

from fastapi import FastAPI

from recforge.serving.app import create_app
from recforge.serving.metrics import MULTIPROCESS_ENV
from recforge.serving.store import ModelStore

__all__ = ["app_from_env", "serve"]

ENV_DIR = "RECFORGE_SERVE_DIR"
ENV_WATCH = "RECFORGE_SERVE_WATCH"
ENV_DEFAULT = "RECFORGE_SERVE_DEFAULT"
ENV_ADMIN_TOKEN = "RECFORGE_ADMIN_TOKEN"  # also read by `recforge serve` when no --admin-token


def app_from_env() -> FastAPI:
    """The app over the models in $RECFORGE_SERVE_DIR (uvicorn's factory for workers)."""
    store = ModelStore(Path(os.environ[ENV_DIR]), default=os.environ.get(ENV_DEFAULT) or None)
    return create_app(
        store,
        watch=float(os.environ.get(ENV_WATCH, "0")),
        admin_token=os.environ.get(ENV_ADMIN_TOKEN) or None,
    )


def serve(
    store: ModelStore,
    host: str = "127.0.0.1",
    port: int = 8000,
    workers: int = 1,
    watch: float = 2.0,
    admin_token: str | None = None,
) -> None:
    """Serve `store` until interrupted (blocks); with workers > 1 each worker process loads
    the models of `store.root` itself. watch: seconds between looks for re-saved artifacts
    (0: only POST /admin/reload swaps models, and only in the worker that answers it)."""
    import uvicorn

    # Startup and reload messages at "info", but no access log: a line per request would
    # cost more than the recommendation.
    if workers == 1:
        app = create_app(store, watch=watch, admin_token=admin_token)
        uvicorn.run(app, host=host, port=port, log_level="info", access_log=False)
        return
    os.environ[ENV_DIR] = str(store.root.resolve())
    os.environ[ENV_WATCH] = str(watch)
    os.environ[ENV_DEFAULT] = store.default if store.default_chosen else ""
    os.environ[ENV_ADMIN_TOKEN] = admin_token or ""
    shared = None
    if not os.environ.get(MULTIPROCESS_ENV):  # the workers add up their metrics here
        shared = tempfile.mkdtemp(prefix="recforge-metrics-")
        os.environ[MULTIPROCESS_ENV] = shared
    try:
        uvicorn.run(
            "recforge.serving.server:app_from_env",
            factory=True,
            host=host,
            port=port,
            workers=workers,
            log_level="info",
            access_log=False,
        )
    finally:
        if shared is not None:
            del os.environ[MULTIPROCESS_ENV]
            shutil.rmtree(shared, ignore_errors=True)
