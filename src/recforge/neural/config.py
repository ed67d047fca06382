"""The training hyper-parameters every neural model shares, as one frozen dataclass.

A neural model's parameters are its own (factors, layers …) plus these fields; `get_params`
returns them flat, so the CLI's `--param lr=0.01` and saved artifacts treat them alike.
"""

from __future__ import annotations

from dataclasses import dataclass, fields
from typing import Any

from recforge._validation import (
    check_bool,
    check_choice,
    check_float,
    check_int,
    check_seed,
)
from recforge.errors import ParameterError

__all__ = ["LR_SCHEDULES", "OPTIMIZERS", "TrainingConfig"]

OPTIMIZERS = ("adam", "adamw", "sgd", "adagrad")
LR_SCHEDULES = ("constant", "cosine", "exponential")


@dataclass(frozen=True)
class TrainingConfig:
    """How a neural model is optimised.

    epochs: passes over the training data (the most, with early stopping).
    batch_size: training examples per step.
    optimizer: adam | adamw | sgd (momentum 0.9) | adagrad; lr, weight_decay as torch's.
    lr_schedule: constant | cosine (annealed towards 0 over the epochs) | exponential (× lr_decay
        per epoch);
        warmup_epochs of linear warm-up come first.
    clip_grad_norm: the largest global gradient norm (None: no clipping).
    valid_metric: what early stopping watches on `valid`: "ndcg@10"-style ranking metrics
        (higher is better) or "rmse"/"mae" (lower is better); patience: epochs without a
        better value before stopping (the best weights are restored).
    device: cpu | cuda | cuda:N | mps | auto; amp: mixed precision (float16) on CUDA.
    seed: the start, the shuffles and the samples; progress: a bar on a TTY.
    """

    epochs: int = 20
    batch_size: int = 1024
    optimizer: str = "adam"
    lr: float = 1e-3
    weight_decay: float = 0.0
    lr_schedule: str = "constant"
    lr_decay: float = 0.95
    warmup_epochs: int = 0
    clip_grad_norm: float | None = None
    valid_metric: str = "ndcg@10"
    patience: int = 5
    device: str = "cpu"
    amp: bool = True
    seed: int | None = None
    progress: bool = True

    @classmethod
    def names(cls) -> list[str]:
        return [f.name for f in fields(cls)]

    def validate(self, owner: str) -> None:
        """Raise ParameterError naming the first bad field."""
        check_int(self.epochs, "epochs", owner, low=1)
        check_int(self.batch_size, "batch_size", owner, low=1)
        check_choice(self.optimizer, "optimizer", OPTIMIZERS, owner)
        check_float(self.lr, "lr", owner, low=0.0, low_open=True)
        check_float(self.weight_decay, "weight_decay", owner, low=0.0)
        check_choice(self.lr_schedule, "lr_schedule", LR_SCHEDULES, owner)
        check_float(self.lr_decay, "lr_decay", owner, low=0.0, high=1.0, low_open=True)
        check_int(self.warmup_epochs, "warmup_epochs", owner, low=0)
        if self.clip_grad_norm is not None:
            check_float(self.clip_grad_norm, "clip_grad_norm", owner, low=0.0, low_open=True)
        parse_valid_metric(self.valid_metric, owner)
        check_int(self.patience, "patience", owner, low=1)
        check_bool(self.amp, "amp", owner)
        check_seed(self.seed, "seed", owner)
        check_bool(self.progress, "progress", owner)
        from recforge.neural.device import resolve_device

        resolve_device(self.device, owner)


def parse_valid_metric(text: Any, owner: str) -> tuple[str, int | None, bool]:
    """("ndcg", 10, True) for "ndcg@10"; ("rmse", None, False) for "rmse": name, cut-off and
    whether higher is better."""
    from recforge.evaluation.metrics import RANKING_METRICS

    if isinstance(text, str):
        name, _, cut = text.partition("@")
        if name in ("rmse", "mae") and not cut:
            return name, None, False
        if name in (*RANKING_METRICS, "auc") and (name == "auc" or cut.isdigit()):
            return name, (int(cut) if cut else None), True
    raise ParameterError(
        f"The 'valid_metric' parameter of {owner} must be a ranking metric with a cut-off "
        f"(e.g. 'ndcg@10', 'recall@20'), 'auc', 'rmse' or 'mae'. Got {text!r} instead."
    )
