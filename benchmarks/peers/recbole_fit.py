"""RecBole's trainer.fit, recorded: each epoch's training seconds, the validation curve and the
best epoch, with a progress line per epoch on stderr (stdout stays the peer's JSON).

Shared by the RecBole peer scripts (run with the peer venv's Python; this folder is on their
sys.path as the script's own directory).
"""

from __future__ import annotations

import sys
import time
from dataclasses import dataclass, field
from typing import Any

import numpy as np


@dataclass
class FitRecord:
    """What one early-stopped fit did. best_epoch is 1-based (None: no validation)."""

    train_seconds: float = 0.0
    epoch_times: list[float] = field(default_factory=list)
    curve: list[float] = field(default_factory=list)
    best_epoch: int | None = None
    best_score: float | None = None

    @property
    def epoch_seconds(self) -> float | None:
        """The mean training part of an epoch (validation passes excluded)."""
        return float(np.mean(self.epoch_times)) if self.epoch_times else None


def recorded_fit(trainer: Any, train_data: Any, valid_data: Any, label: str) -> FitRecord:
    """trainer.fit(train_data, valid_data) quietly, checkpointing the best epoch when
    valid_data is given (RecBole's own early stopping), timing each epoch's training part."""
    record = FitRecord()
    train_epoch = trainer._train_epoch

    def timed_epoch(*a: Any, **kw: Any) -> Any:
        started = time.perf_counter()
        loss = train_epoch(*a, **kw)
        record.epoch_times.append(time.perf_counter() - started)
        return loss

    def on_epoch(epoch_idx: int, valid_score: float) -> None:
        record.curve.append(float(valid_score))
        if trainer.cur_step == 0:  # this epoch's score is the (new) best
            record.best_epoch, record.best_score = epoch_idx + 1, float(valid_score)
        print(
            f"RecBole {label} epoch {epoch_idx + 1}: valid NDCG@10 {float(valid_score):.4f}, "
            f"train {record.epoch_times[-1]:.1f} s",
            file=sys.stderr,
            flush=True,
        )

    trainer._train_epoch = timed_epoch
    started = time.perf_counter()
    trainer.fit(
        train_data,
        valid_data,
        verbose=False,
        saved=valid_data is not None,
        show_progress=False,
        callback_fn=on_epoch,
    )
    record.train_seconds = time.perf_counter() - started
    return record
