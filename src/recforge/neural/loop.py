"""The one training loop of every neural model.

A model hands over its `nn.Module`, the training examples as tensors (first dimension N) and a
function giving the loss of a mini-batch; the loop owns everything else: shuffling, the
optimiser and its schedule, gradient clipping, mixed precision, validation with early stopping,
checkpoints, resuming, metrics and the progress bar. A model that needs more adds a hook here.
"""

from __future__ import annotations

import json
import math
import time
from collections.abc import Callable
from contextlib import nullcontext
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

import torch
from torch import nn

from recforge.errors import DataError, ParameterError
from recforge.neural.checkpoint import (
    CHECKPOINT_FILE,
    METRICS_FILE,
    read_checkpoint,
    remove_partial_writes,
    write_checkpoint,
)
from recforge.neural.config import TrainingConfig, parse_valid_metric
from recforge.neural.progress import batch_progress

__all__ = ["Step", "TrainingHistory", "train"]

Batch = tuple[torch.Tensor, ...]


@dataclass
class Step:
    """Where training stands, for losses that depend on it (e.g. KL annealing).

    epoch: from 0; step: optimiser steps taken so far; generator: the training device's
    generator, for sampling negatives or masks reproducibly.
    """

    epoch: int
    step: int
    generator: torch.Generator


@dataclass
class TrainingHistory:
    """Per-epoch records (the lines of metrics.jsonl) and the outcome of early stopping."""

    epochs: list[dict[str, Any]] = field(default_factory=list)
    best_epoch: int | None = None
    best_value: float | None = None
    stopped_early: bool = False


def train(
    module: nn.Module,
    examples: Batch,
    batch_loss: Callable[[Batch, Step], torch.Tensor],
    config: TrainingConfig,
    device: torch.device,
    *,
    validate: Callable[[], float] | None = None,
    run_dir: Path | None = None,
    resume: bool = False,
    fingerprint: dict[str, Any] | None = None,
    owner: str = "model",
) -> TrainingHistory:
    """Optimise `module` in place; returns the history.

    examples: tensors on `device` sharing their first dimension N; each epoch visits them in a
        new random order, `config.batch_size` at a time (no per-example Python).
    batch_loss: the mean loss of a mini-batch (the examples' rows) at a step.
    validate: the validation metric of the module as it stands (`config.valid_metric`); with it,
        training stops after `config.patience` epochs without improvement and the best weights
        are restored.
    run_dir: where checkpoint.pt (every epoch) and metrics.jsonl go; resume=True continues
        from its checkpoint, which must come from the same model, parameters and data
        (`fingerprint`).
    """
    n = examples[0].shape[0]
    if n == 0:
        raise DataError(f"{owner} has no training examples")
    _, _, higher_is_better = parse_valid_metric(config.valid_metric, owner)
    optimizer = _optimizer(module, config)
    scheduler = torch.optim.lr_scheduler.LambdaLR(optimizer, _lr_factor(config))
    use_amp = config.amp and device.type == "cuda"
    scaler = torch.amp.GradScaler("cuda", enabled=use_amp)
    generator = torch.Generator(device=device)
    generator.manual_seed(_seed(config) + 1)
    history = TrainingHistory()
    best_state: dict[str, torch.Tensor] | None = None
    bad_epochs, start_epoch, steps = 0, 0, 0
    fingerprint = dict(fingerprint or {})
    if run_dir is not None:
        remove_partial_writes(run_dir)
    if resume:
        if run_dir is None:
            raise DataError(f"resume=True needs the run_dir of the run to continue ({owner})")
        saved = read_checkpoint(run_dir)
        if saved.get("fingerprint") != fingerprint:
            raise DataError(
                f"{run_dir / CHECKPOINT_FILE}: the checkpoint comes from another model, "
                f"parameters or data ({_difference(saved.get('fingerprint'), fingerprint)}); "
                "resume with the same ones or use a new run_dir"
            )
        module.load_state_dict(saved["module"])
        optimizer.load_state_dict(saved["optimizer"])
        scheduler.load_state_dict(saved["scheduler"])
        scaler.load_state_dict(saved["scaler"])
        generator.set_state(saved["generator"])
        torch.set_rng_state(saved["cpu_rng"])
        if device.type == "cuda" and saved.get("cuda_rng") is not None:
            torch.cuda.set_rng_state(saved["cuda_rng"], device)
        best_state = saved["best_state"]
        bad_epochs, start_epoch, steps = saved["bad_epochs"], saved["epoch"] + 1, saved["steps"]
        history = TrainingHistory(
            epochs=json.loads(saved["history"]),
            best_epoch=saved["best_epoch"],
            best_value=saved["best_value"],
            stopped_early=saved["stopped_early"],
        )
        _rewrite_metrics(run_dir, history.epochs)
        if history.stopped_early:
            start_epoch = config.epochs  # the run had finished
    elif run_dir is not None:
        run_dir.mkdir(parents=True, exist_ok=True)
        (run_dir / METRICS_FILE).write_text("")

    batches = math.ceil(n / config.batch_size)
    for epoch in range(start_epoch, config.epochs):
        module.train()
        started = time.perf_counter()
        order = torch.randperm(n, generator=generator, device=device)
        total = torch.zeros((), device=device)
        label = f"{owner} epoch {epoch + 1}/{config.epochs}"
        with batch_progress(config.progress, label, batches) as bar:
            for b in range(batches):
                rows = order[b * config.batch_size : (b + 1) * config.batch_size]
                batch = tuple(t[rows] for t in examples)
                autocast = torch.autocast("cuda", dtype=torch.float16) if use_amp else nullcontext()
                with autocast:
                    loss = batch_loss(batch, Step(epoch, steps, generator))
                if not torch.isfinite(loss):
                    raise ParameterError(
                        f"{owner} diverged while fitting: the training loss became "
                        f"{loss.item()} at epoch {epoch + 1}; lower lr (it is {config.lr}), "
                        "add clip_grad_norm, or check the data for extreme values"
                    )
                optimizer.zero_grad(set_to_none=True)
                scaler.scale(loss).backward()
                if config.clip_grad_norm is not None:
                    scaler.unscale_(optimizer)
                    nn.utils.clip_grad_norm_(module.parameters(), config.clip_grad_norm)
                scaler.step(optimizer)
                scaler.update()
                steps += 1
                total += loss.detach() * rows.numel()
                if bar.active:  # reading the loss syncs a GPU: only for a visible bar
                    bar.advance(float(loss.detach()))
        lr = optimizer.param_groups[0]["lr"]
        scheduler.step()
        record: dict[str, Any] = {
            "epoch": epoch + 1,
            "loss": float(total) / n,
            "lr": lr,
            "seconds": time.perf_counter() - started,
        }
        record["samples_per_s"] = n / max(record["seconds"], 1e-9)
        if validate is not None:
            module.eval()
            with torch.no_grad():
                value = float(validate())
            record[config.valid_metric] = value
            better = history.best_value is None or (
                value > history.best_value if higher_is_better else value < history.best_value
            )
            if better:
                history.best_value, history.best_epoch, bad_epochs = value, epoch + 1, 0
                best_state = {
                    k: v.detach().to("cpu", copy=True) for k, v in module.state_dict().items()
                }
            else:
                bad_epochs += 1
            history.stopped_early = bad_epochs >= config.patience
        history.epochs.append(record)
        if run_dir is not None:
            write_checkpoint(
                run_dir,
                {
                    "epoch": epoch,
                    "steps": steps,
                    "module": module.state_dict(),
                    "optimizer": optimizer.state_dict(),
                    "scheduler": scheduler.state_dict(),
                    "scaler": scaler.state_dict(),
                    "generator": generator.get_state(),
                    "cpu_rng": torch.get_rng_state(),
                    "cuda_rng": torch.cuda.get_rng_state(device) if device.type == "cuda" else None,
                    "best_state": best_state,
                    "best_epoch": history.best_epoch,
                    "best_value": history.best_value,
                    "bad_epochs": bad_epochs,
                    "stopped_early": history.stopped_early,
                    "history": json.dumps(history.epochs),
                    "fingerprint": fingerprint,
                },
            )
            with (run_dir / METRICS_FILE).open("a") as fh:
                fh.write(json.dumps(record) + "\n")
        if history.stopped_early:
            break
    if best_state is not None:
        module.load_state_dict(best_state)
    module.eval()
    return history


def _seed(config: TrainingConfig) -> int:
    """The run's seed (one is drawn when config.seed is None)."""
    if config.seed is not None:
        return int(config.seed)
    return int(torch.randint(2**31 - 2, (1,)).item())


def _optimizer(module: nn.Module, config: TrainingConfig) -> torch.optim.Optimizer:
    params = [p for p in module.parameters() if p.requires_grad]
    wd = config.weight_decay
    if config.optimizer == "adam":
        return torch.optim.Adam(params, lr=config.lr, weight_decay=wd)
    if config.optimizer == "adamw":
        return torch.optim.AdamW(params, lr=config.lr, weight_decay=wd)
    if config.optimizer == "sgd":
        return torch.optim.SGD(params, lr=config.lr, momentum=0.9, weight_decay=wd)
    return torch.optim.Adagrad(params, lr=config.lr, weight_decay=wd)


def _lr_factor(config: TrainingConfig) -> Callable[[int], float]:
    """Multiplier of the base learning rate at each epoch (LambdaLR)."""
    warm, epochs = config.warmup_epochs, config.epochs

    def factor(epoch: int) -> float:
        if epoch < warm:
            return (epoch + 1) / (warm + 1)
        after = epoch - warm
        if config.lr_schedule == "cosine":
            span = max(epochs - warm, 1)
            return 0.5 * (1.0 + math.cos(math.pi * min(after, span) / span))
        if config.lr_schedule == "exponential":
            return float(config.lr_decay**after)
        return 1.0

    return factor


def _rewrite_metrics(run_dir: Path, records: list[dict[str, Any]]) -> None:
    """metrics.jsonl as of the checkpoint (drops epochs logged after it)."""
    text = "".join(json.dumps(r) + "\n" for r in records)
    (run_dir / METRICS_FILE).write_text(text)


def _difference(saved: Any, current: dict[str, Any]) -> str:
    if not isinstance(saved, dict):
        return "it has no fingerprint"
    for key in sorted(set(saved) | set(current)):
        if saved.get(key) != current.get(key):
            if key == "data":
                return "the training data differ"
            return f"{key}: {saved.get(key)} there, {current.get(key)} now"
    return "unknown difference"
