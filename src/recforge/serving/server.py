"""Running the service with uvicorn: `recforge serve DIR`.

With several workers uvicorn starts each in its own process from an import string, so the model
directory reaches them through the RECFORGE_SERVE_DIR environment variable that `serve` sets.
"""

from __future__ import annotations

import os
from pathlib import Path

from fastapi import FastAPI

from recforge.serving.app import create_app
from recforge.serving.store import ModelStore

__all__ = ["app_from_env", "serve"]

ENV_DIR = "RECFORGE_SERVE_DIR"


def app_from_env() -> FastAPI:
    """The app over the models in $RECFORGE_SERVE_DIR (uvicorn's factory for workers)."""
    return create_app(ModelStore(Path(os.environ[ENV_DIR])))


def serve(store: ModelStore, host: str = "127.0.0.1", port: int = 8000, workers: int = 1) -> None:
    """Serve `store` until interrupted (blocks); with workers > 1 each worker process loads
    the models of `store.root` itself."""
    import uvicorn

    if workers == 1:
        uvicorn.run(create_app(store), host=host, port=port, log_level="warning")
        return
    os.environ[ENV_DIR] = str(store.root.resolve())
    uvicorn.run(
        "recforge.serving.server:app_from_env",
        factory=True,
        host=host,
        port=port,
        workers=workers,
        log_level="warning",
    )
