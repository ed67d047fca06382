"""Training checkpoints: one file per run directory, replaced atomically every epoch.

Read back with `torch.load(weights_only=True)`, which refuses anything but tensors and plain
containers, so a checkpoint cannot run code.
"""

from __future__ import annotations

import os
import tempfile
from pathlib import Path
from typing import Any

import torch

from recforge.errors import DataError

__all__ = [
    "CHECKPOINT_FILE",
    "METRICS_FILE",
    "read_checkpoint",
    "remove_partial_writes",
    "write_checkpoint",
]

CHECKPOINT_FILE = "checkpoint.pt"
METRICS_FILE = "metrics.jsonl"


def write_checkpoint(run_dir: Path, state: dict[str, Any]) -> Path:
    """Write `state` to run_dir/checkpoint.pt through a temporary file and a rename, so an
    interruption leaves the previous checkpoint whole."""
    run_dir.mkdir(parents=True, exist_ok=True)
    target = run_dir / CHECKPOINT_FILE
    fd, tmp = tempfile.mkstemp(prefix=".tmp-", suffix=".pt", dir=run_dir)
    try:
        with os.fdopen(fd, "wb") as fh:
            torch.save(state, fh)
            fh.flush()
            os.fsync(fh.fileno())
        os.replace(tmp, target)
    except BaseException:
        Path(tmp).unlink(missing_ok=True)
        raise
    return target


def remove_partial_writes(run_dir: Path) -> int:
    """Delete the temporary files of checkpoint writes that a killed run left in `run_dir`
    (a run directory has one run at a time, so none is in progress); returns how many."""
    stale = list(run_dir.glob(".tmp-*.pt")) if run_dir.is_dir() else []
    for path in stale:
        path.unlink(missing_ok=True)
    return len(stale)


def read_checkpoint(run_dir: Path) -> dict[str, Any]:
    """The state saved in run_dir/checkpoint.pt; a clear DataError when there is none."""
    source = run_dir / CHECKPOINT_FILE
    if not source.is_file():
        raise DataError(
            f"{source}: no checkpoint to resume from; fit once with this run_dir (or drop "
            "resume=True to start afresh)"
        )
    try:
        state = torch.load(source, map_location="cpu", weights_only=True)
    except Exception as exc:  # a truncated or foreign file: say which
        raise DataError(f"{source}: not a readable recforge checkpoint ({exc})") from None
    if not isinstance(state, dict) or "epoch" not in state:
        raise DataError(f"{source}: not a recforge checkpoint")
    return state
