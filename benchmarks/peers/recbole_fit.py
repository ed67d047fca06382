"""RecBole's trainer.fit, recorded: each epoch's training seconds, the validation curve and the
best epoch, with a progress line per epoch on stderr (stdout stays the peer's JSON).

A fit can also be resumable (recorded_fit's `state`): after every epoch the trainer's whole
state is written to a folder: model, optimizer, early-stopping counters, every random
generator the fit draws from (torch's, numpy's, Python's and the training loader's shuffle
generator) and the record so far. A fit started again on that folder continues after the last
finished epoch exactly as the uninterrupted fit would have gone on, and its record sums the
pieces (an epoch cut short by the kill is lost and not counted). This lets a peer fit that
takes longer than one sitting finish over several.

Shared by the RecBole peer scripts (run with the peer venv's Python; this folder is on their
sys.path as the script's own directory).
"""

from __future__ import annotations

import json
import os
import random
import sys
import time
from dataclasses import asdict, dataclass, field
from pathlib import Path
from typing import Any

import numpy as np
import torch

BEST = "best.pth"  # the best epoch's checkpoint, RecBole's own format
LATEST = "latest.pth"  # the state after the last finished epoch
RECORD = "record.json"


@dataclass
class FitRecord:
    """What one early-stopped fit did. best_epoch is 1-based (None: no validation).
    sittings: how many runs of the process the fit took (1 unless it was resumed);
    finished: the fit ran to its end (early stop or the epoch limit); train_cpu_seconds: the
    process's CPU time over all its threads in the same spans as train_seconds (None when a
    sitting's record did not keep it)."""

    train_seconds: float = 0.0
    train_cpu_seconds: float | None = 0.0
    epoch_times: list[float] = field(default_factory=list)
    curve: list[float] = field(default_factory=list)
    best_epoch: int | None = None
    best_score: float | None = None
    sittings: int = 1
    finished: bool = False

    @property
    def epoch_seconds(self) -> float | None:
        """The mean training part of an epoch (validation passes excluded)."""
        return float(np.mean(self.epoch_times)) if self.epoch_times else None


def _replace(path: Path, write: Any) -> None:
    """write(temporary path), then rename over `path`: a kill mid-write leaves the old file."""
    partial = path.with_name(path.name + ".partial")
    write(partial)
    os.replace(partial, path)


def _save_state(
    trainer: Any, train_data: Any, epoch_idx: int, record: FitRecord, state: Path
) -> None:
    checkpoint = {
        "epoch": epoch_idx,
        "cur_step": trainer.cur_step,
        "best_valid_score": trainer.best_valid_score,
        "state_dict": trainer.model.state_dict(),
        "other_parameter": trainer.model.other_parameter(),
        "optimizer": trainer.optimizer.state_dict(),
        "torch_rng": torch.get_rng_state(),
        "numpy_rng": np.random.get_state(),  # noqa: NPY002 (RecBole seeds the legacy one)
        "python_rng": random.getstate(),
        "loader_rng": train_data.generator.get_state(),
    }
    _replace(state / LATEST, lambda p: torch.save(checkpoint, p))
    _replace(state / RECORD, lambda p: p.write_text(json.dumps(asdict(record))))


def _resume(trainer: Any, train_data: Any, state: Path) -> FitRecord:
    """Restore the trainer after the last finished epoch; the record so far."""
    saved = json.loads((state / RECORD).read_text())
    saved.setdefault("train_cpu_seconds", None)  # a record from before CPU time was kept
    record = FitRecord(**saved)
    record.sittings += 1
    checkpoint = torch.load(state / LATEST, map_location=trainer.device, weights_only=False)
    trainer.start_epoch = checkpoint["epoch"] + 1
    trainer.cur_step = checkpoint["cur_step"]
    trainer.best_valid_score = checkpoint["best_valid_score"]
    trainer.model.load_state_dict(checkpoint["state_dict"])
    trainer.model.load_other_parameter(checkpoint["other_parameter"])
    trainer.optimizer.load_state_dict(checkpoint["optimizer"])
    torch.set_rng_state(checkpoint["torch_rng"])
    np.random.set_state(checkpoint["numpy_rng"])  # noqa: NPY002
    random.setstate(checkpoint["python_rng"])
    train_data.generator.set_state(checkpoint["loader_rng"])
    if len(record.epoch_times) != trainer.start_epoch:
        raise RuntimeError(
            f"{state}: the record has {len(record.epoch_times)} epochs, the checkpoint "
            f"{trainer.start_epoch}; remove the folder to start the fit afresh"
        )
    return record


def recorded_fit(
    trainer: Any,
    train_data: Any,
    valid_data: Any,
    label: str,
    state: Path | None = None,
) -> FitRecord:
    """trainer.fit(train_data, valid_data) quietly, checkpointing the best epoch when
    valid_data is given (RecBole's own early stopping), timing each epoch's training part.
    With `state` (a folder) the fit is resumable, see the module docstring; the best epoch's
    checkpoint is then state/best.pth (trainer.saved_model_file either way)."""
    record = FitRecord()
    if state is not None and valid_data is None:
        raise ValueError("a resumable fit checkpoints after each validation: give valid_data")
    if state is not None:
        state.mkdir(parents=True, exist_ok=True)
        trainer.saved_model_file = str(state / BEST)
        if (state / RECORD).exists():
            record = _resume(trainer, train_data, state)
            print(
                f"RecBole {label}: resumed after epoch {trainer.start_epoch} "
                f"({record.train_seconds:.0f} s so far, sitting {record.sittings})",
                file=sys.stderr,
                flush=True,
            )
    if record.finished:
        return record
    train_epoch = trainer._train_epoch
    before, cpu_before = record.train_seconds, record.train_cpu_seconds

    def stamp() -> None:
        record.train_seconds = before + time.perf_counter() - started
        if cpu_before is not None:
            record.train_cpu_seconds = cpu_before + time.process_time() - cpu_started

    def timed_epoch(*a: Any, **kw: Any) -> Any:
        started = time.perf_counter()
        loss = train_epoch(*a, **kw)
        record.epoch_times.append(time.perf_counter() - started)
        return loss

    def on_epoch(epoch_idx: int, valid_score: float) -> None:
        record.curve.append(float(valid_score))
        if trainer.cur_step == 0:  # this epoch's score is the (new) best
            record.best_epoch, record.best_score = epoch_idx + 1, float(valid_score)
        if state is not None:
            stamp()
            _save_state(trainer, train_data, epoch_idx, record, state)
        print(
            f"RecBole {label} epoch {epoch_idx + 1}: valid NDCG@10 {float(valid_score):.4f}, "
            f"train {record.epoch_times[-1]:.1f} s",
            file=sys.stderr,
            flush=True,
        )

    trainer._train_epoch = timed_epoch
    started, cpu_started = time.perf_counter(), time.process_time()
    trainer.fit(
        train_data,
        valid_data,
        verbose=False,
        saved=valid_data is not None,
        show_progress=False,
        callback_fn=on_epoch,
    )
    stamp()
    record.finished = True
    if state is not None:
        _replace(state / RECORD, lambda p: p.write_text(json.dumps(asdict(record))))
    return record
