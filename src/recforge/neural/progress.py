"""A progress bar over an epoch's batches: rich's, shown on a terminal only."""

from __future__ import annotations

import sys
from collections.abc import Iterator
from contextlib import contextmanager
from typing import Protocol

__all__ = ["BatchProgress", "batch_progress"]


class BatchProgress(Protocol):
    active: bool

    def advance(self, loss: float) -> None: ...


class _Quiet:
    active = False

    def advance(self, loss: float) -> None:
        pass


class _Bar:
    active = True

    def __init__(self, progress: object, task: object) -> None:
        self._progress = progress
        self._task = task

    def advance(self, loss: float) -> None:
        self._progress.update(self._task, advance=1, loss=loss)  # type: ignore[attr-defined]


@contextmanager
def batch_progress(enabled: bool, description: str, total: int) -> Iterator[BatchProgress]:
    """Yields an object whose `advance(loss)` moves the bar; silent unless `enabled` and stderr
    is a terminal (logs and CI stay clean)."""
    if not (enabled and sys.stderr.isatty()):
        yield _Quiet()
        return
    from rich.console import Console
    from rich.progress import (
        BarColumn,
        MofNCompleteColumn,
        Progress,
        TextColumn,
        TimeRemainingColumn,
    )

    columns = (
        TextColumn("{task.description}"),
        BarColumn(),
        MofNCompleteColumn(),
        TextColumn("loss {task.fields[loss]:.4f}"),
        TimeRemainingColumn(),
    )
    with Progress(*columns, console=Console(stderr=True), transient=True) as progress:
        task = progress.add_task(description, total=total, loss=float("nan"))
        yield _Bar(progress, task)
