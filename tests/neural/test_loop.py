"""The shared training loop: seeds, checkpoints and resuming, metrics, early stopping, optimisers
and schedules, clipping, errors. Through the registered "torchmf" model and through `train`
directly with a one-parameter module whose updates are known by hand."""

from __future__ import annotations

import json
import math
import shutil
from collections.abc import Callable
from pathlib import Path
from typing import Any

import numpy as np
import pytest
import torch
from torch import nn
from torch.optim.optimizer import register_optimizer_step_pre_hook

from recforge.data import Interactions
from recforge.data.idmap import IdMap
from recforge.errors import DataError, ParameterError
from recforge.models.torch_mf import TorchMF
from recforge.neural import loop
from recforge.neural.checkpoint import CHECKPOINT_FILE, METRICS_FILE, read_checkpoint
from recforge.neural.config import TrainingConfig, parse_valid_metric
from recforge.neural.loop import Step, train

CPU = torch.device("cpu")
N_USERS, N_ITEMS = 8, 10
BATCH = 12
PARAMS: dict[str, Any] = {
    "factors": 4,
    "batch_size": BATCH,
    "lr": 0.05,
    "seed": 0,
    "progress": False,
    "patience": 20,
}


def data(seed: int = 0) -> tuple[Interactions, Interactions]:
    """Random implicit train (about half the cells) and one held-out valid item per user."""
    rng = np.random.default_rng(seed)
    cells = rng.random((N_USERS, N_ITEMS)) < 0.5
    cells[:, 0] = True  # every user has a train item …
    cells[:, 1] = False  # … and at least two unseen ones
    held = np.array([rng.choice(np.flatnonzero(~row)) for row in cells])
    users, items = np.nonzero(cells)
    user_ids, item_ids = IdMap(np.arange(N_USERS)), IdMap(np.arange(N_ITEMS))
    train_part = Interactions.from_indices(
        users, items, None, None, user_ids=user_ids, item_ids=item_ids, explicit=False
    )
    valid_part = Interactions.from_indices(
        np.arange(N_USERS), held, None, None, user_ids=user_ids, item_ids=item_ids, explicit=False
    )
    return train_part, valid_part


TRAIN, VALID = data()
ALL_USERS = np.arange(N_USERS)


def weights(model: TorchMF) -> dict[str, torch.Tensor]:
    return {k: v.detach().clone() for k, v in model.module_.state_dict().items()}


def assert_same_weights(a: dict[str, torch.Tensor], b: dict[str, torch.Tensor]) -> None:
    assert a.keys() == b.keys()
    for key in a:
        assert torch.equal(a[key], b[key]), key


def read_metrics(run_dir: Path) -> list[dict[str, Any]]:
    text = (run_dir / METRICS_FILE).read_text()
    return [json.loads(line) for line in text.splitlines()]


def without_timing(records: list[dict[str, Any]]) -> list[dict[str, Any]]:
    return [{k: v for k, v in r.items() if k not in ("seconds", "samples_per_s")} for r in records]


class SimulatedCrashError(Exception):
    """Stands for a crash or Ctrl-C in the middle of training."""


def interrupt_at(model: TorchMF, step_no: int) -> None:
    """Make the model's loss raise at optimiser step `step_no` (as a crash would)."""
    original = model._batch_loss

    def failing(module: nn.Module, batch: tuple[torch.Tensor, ...], step: Step) -> torch.Tensor:
        if step.step == step_no:
            raise SimulatedCrashError
        return original(module, batch, step)  # type: ignore[arg-type]

    model._batch_loss = failing  # type: ignore[method-assign]


def script_validator(model: TorchMF, values: list[float]) -> list[tuple[np.ndarray, Any]]:
    """Replace the model's validation by `values` (one per epoch); returns, per call, the scores
    and weights the module had when validated."""
    seen: list[tuple[np.ndarray, Any]] = []

    def validate() -> float:
        seen.append((model.score(ALL_USERS), weights(model)))
        return values[len(seen) - 1]

    model._validator = lambda train, valid: validate  # type: ignore[method-assign]
    return seen


# ---------------------------------------------------------------------- seeds
def test_same_seed_same_weights() -> None:
    a = TorchMF(epochs=3, **PARAMS).fit(TRAIN)
    b = TorchMF(epochs=3, **PARAMS).fit(TRAIN)
    assert_same_weights(weights(a), weights(b))
    assert without_timing(a.training_history_.epochs) == without_timing(b.training_history_.epochs)
    c = TorchMF(epochs=3, **(PARAMS | {"seed": 1})).fit(TRAIN)
    assert not torch.equal(weights(a)["user_embedding.weight"], weights(c)["user_embedding.weight"])


@pytest.mark.parametrize("seed", [0, None])
def test_training_leaves_the_global_rng_untouched(seed: int | None, tmp_path: Path) -> None:
    torch.manual_seed(1234)
    before = torch.get_rng_state()
    model = TorchMF(epochs=2, **(PARAMS | {"seed": seed}))
    model.fit(TRAIN, VALID, run_dir=tmp_path / "a")
    assert torch.equal(torch.get_rng_state(), before)
    if seed is not None:  # resuming restores the checkpoint's RNG state inside the fork only
        TorchMF(epochs=2, **PARAMS).fit(TRAIN, VALID, run_dir=tmp_path / "a", resume=True)
        assert torch.equal(torch.get_rng_state(), before)


# ---------------------------------------------------------------------- resume
@pytest.mark.parametrize("loss", ["bpr", "sampled_softmax", "softmax"])
def test_resume_after_an_interruption_equals_an_uninterrupted_run(
    loss: str, tmp_path: Path
) -> None:
    params = PARAMS | {"epochs": 6, "loss": loss, "lr_schedule": "cosine"}
    full = TorchMF(**params).fit(TRAIN, VALID)
    per_epoch = math.ceil(TRAIN.nnz / BATCH)
    assert per_epoch > 2
    crashed = TorchMF(**params)
    interrupt_at(crashed, 3 * per_epoch + 2)  # the third batch of epoch 4
    with pytest.raises(SimulatedCrashError):
        crashed.fit(TRAIN, VALID, run_dir=tmp_path)
    assert [r["epoch"] for r in read_metrics(tmp_path)] == [1, 2, 3]
    assert read_checkpoint(tmp_path)["epoch"] == 2  # 0-based: epochs 1-3 are done

    resumed = TorchMF(**params).fit(TRAIN, VALID, run_dir=tmp_path, resume=True)
    assert_same_weights(weights(full), weights(resumed))
    np.testing.assert_array_equal(full.score(ALL_USERS), resumed.score(ALL_USERS))
    expected = without_timing(full.training_history_.epochs)
    assert without_timing(resumed.training_history_.epochs) == expected
    assert without_timing(read_metrics(tmp_path)) == expected  # each epoch once, in order
    assert resumed.training_history_.best_epoch == full.training_history_.best_epoch


def test_resume_drops_metrics_logged_after_the_checkpoint(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    """When metrics.jsonl holds epochs the checkpoint does not (here: an older checkpoint put
    back), resuming rewrites it from the checkpoint, so no epoch appears twice."""
    params = PARAMS | {"epochs": 5}
    full = TorchMF(**params).fit(TRAIN)
    saved = tmp_path / "after-epoch-2.pt"
    real_write = loop.write_checkpoint

    def keep_a_copy(run_dir: Path, state: dict[str, Any]) -> Path:
        target = real_write(run_dir, state)
        if state["epoch"] == 1:
            shutil.copy(target, saved)
        return target

    monkeypatch.setattr(loop, "write_checkpoint", keep_a_copy)
    run_dir = tmp_path / "run"
    crashed = TorchMF(**params)
    interrupt_at(crashed, 4 * math.ceil(TRAIN.nnz / BATCH))  # the first step of epoch 5
    with pytest.raises(SimulatedCrashError):
        crashed.fit(TRAIN, run_dir=run_dir)
    assert [r["epoch"] for r in read_metrics(run_dir)] == [1, 2, 3, 4]
    shutil.copy(saved, run_dir / CHECKPOINT_FILE)

    resumed = TorchMF(**params).fit(TRAIN, run_dir=run_dir, resume=True)
    assert [r["epoch"] for r in read_metrics(run_dir)] == [1, 2, 3, 4, 5]
    assert_same_weights(weights(full), weights(resumed))


def test_resume_of_a_finished_early_stopped_run_trains_no_more(tmp_path: Path) -> None:
    params = PARAMS | {"epochs": 10, "patience": 2}
    first = TorchMF(**params)
    script_validator(first, [0.1, 0.4, 0.3, 0.2, 0.9])
    first.fit(TRAIN, VALID, run_dir=tmp_path)
    assert first.training_history_.stopped_early
    again = TorchMF(**params)
    calls = script_validator(again, [])  # any validation would fail: nothing is left to do
    again.fit(TRAIN, VALID, run_dir=tmp_path, resume=True)
    assert calls == []
    assert_same_weights(weights(first), weights(again))
    assert again.training_history_.best_epoch == 2
    assert [r["epoch"] for r in read_metrics(tmp_path)] == [1, 2, 3, 4]


def test_resume_with_other_parameters_or_data_is_a_data_error(tmp_path: Path) -> None:
    TorchMF(epochs=2, **PARAMS).fit(TRAIN, run_dir=tmp_path)
    before = (tmp_path / CHECKPOINT_FILE).read_bytes()
    with pytest.raises(DataError, match=r"another model, parameters or data \(lr: 0.05 there, 0.1"):
        TorchMF(epochs=2, **(PARAMS | {"lr": 0.1})).fit(TRAIN, run_dir=tmp_path, resume=True)
    with pytest.raises(DataError, match=r"\(loss: 'bpr' there, 'bce' now\)"):
        TorchMF(epochs=2, **(PARAMS | {"loss": "bce"})).fit(TRAIN, run_dir=tmp_path, resume=True)
    other, _ = data(seed=1)
    with pytest.raises(DataError, match=r"parameters or data \(the training data differ\)"):
        TorchMF(epochs=2, **PARAMS).fit(other, run_dir=tmp_path, resume=True)
    assert (tmp_path / CHECKPOINT_FILE).read_bytes() == before  # left as it was
    # the device and the progress bar are not part of the fingerprint
    TorchMF(epochs=2, **(PARAMS | {"progress": True})).fit(TRAIN, run_dir=tmp_path, resume=True)


def test_a_finished_run_resumed_with_more_epochs_continues(tmp_path: Path) -> None:
    """epochs may grow on resume: 3 epochs then 2 more equal 5 at once (constant lr)."""
    longer = TorchMF(epochs=5, **PARAMS).fit(TRAIN, VALID)
    TorchMF(epochs=3, **PARAMS).fit(TRAIN, VALID, run_dir=tmp_path)
    resumed = TorchMF(epochs=5, **PARAMS).fit(TRAIN, VALID, run_dir=tmp_path, resume=True)
    assert_same_weights(weights(longer), weights(resumed))
    assert [r["epoch"] for r in read_metrics(tmp_path)] == [1, 2, 3, 4, 5]
    assert without_timing(read_metrics(tmp_path)) == without_timing(longer.training_history_.epochs)


def test_resume_without_a_checkpoint_is_a_data_error(tmp_path: Path) -> None:
    with pytest.raises(DataError, match=r"checkpoint.pt: no checkpoint to resume from"):
        TorchMF(epochs=2, **PARAMS).fit(TRAIN, run_dir=tmp_path, resume=True)
    with pytest.raises(DataError, match=r"resume=True needs the run_dir"):
        TorchMF(epochs=2, **PARAMS).fit(TRAIN, resume=True)
    (tmp_path / CHECKPOINT_FILE).write_bytes(b"not a checkpoint")
    with pytest.raises(DataError, match=r"not a readable recforge checkpoint"):
        TorchMF(epochs=2, **PARAMS).fit(TRAIN, run_dir=tmp_path, resume=True)


def test_a_killed_writes_temporary_file_is_removed_when_the_run_goes_on(tmp_path: Path) -> None:
    TorchMF(epochs=1, **PARAMS).fit(TRAIN, run_dir=tmp_path)
    half = tmp_path / ".tmp-abc123.pt"  # what a kill -9 inside write_checkpoint leaves
    half.write_bytes(b"\x80\x02half a checkpoint")
    keep = tmp_path / "notes.txt"  # the user's own files stay
    keep.write_text("mine")
    TorchMF(epochs=2, **PARAMS).fit(TRAIN, run_dir=tmp_path, resume=True)
    assert not half.exists()
    assert keep.read_text() == "mine"
    assert read_checkpoint(tmp_path)["epoch"] == 1


# ---------------------------------------------------------------------- checkpoints
def test_checkpoint_is_replaced_atomically(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    params = PARAMS | {"epochs": 4}
    full = TorchMF(**params).fit(TRAIN, run_dir=tmp_path / "full")
    assert sorted(p.name for p in (tmp_path / "full").iterdir()) == [CHECKPOINT_FILE, METRICS_FILE]
    assert read_checkpoint(tmp_path / "full")["epoch"] == 3

    real_save = torch.save
    calls: list[int] = []

    def failing_third_save(obj: Any, f: Any, *args: Any, **kwargs: Any) -> None:
        calls.append(1)
        if len(calls) == 3:
            f.write(b"half a checkpoint")
            raise OSError("disk full")
        real_save(obj, f, *args, **kwargs)

    monkeypatch.setattr(torch, "save", failing_third_save)
    run_dir = tmp_path / "run"
    with pytest.raises(OSError, match="disk full"):
        TorchMF(**params).fit(TRAIN, run_dir=run_dir)
    monkeypatch.undo()
    assert sorted(p.name for p in run_dir.iterdir()) == [CHECKPOINT_FILE, METRICS_FILE]
    assert read_checkpoint(run_dir)["epoch"] == 1  # epoch 2's checkpoint, whole
    assert [r["epoch"] for r in read_metrics(run_dir)] == [1, 2]
    resumed = TorchMF(**params).fit(TRAIN, run_dir=run_dir, resume=True)
    assert_same_weights(weights(full), weights(resumed))


# ---------------------------------------------------------------------- metrics.jsonl
def test_metrics_file_has_one_line_per_epoch(tmp_path: Path) -> None:
    model = TorchMF(epochs=3, **PARAMS).fit(TRAIN, VALID, run_dir=tmp_path / "v")
    records = read_metrics(tmp_path / "v")
    assert [r["epoch"] for r in records] == [1, 2, 3]
    for r in records:
        assert set(r) == {"epoch", "loss", "lr", "seconds", "samples_per_s", "ndcg@10"}
        assert r["loss"] > 0
        assert r["lr"] == pytest.approx(0.05)
        assert r["seconds"] >= 0
        assert r["samples_per_s"] > 0
        assert 0 <= r["ndcg@10"] <= 1
    assert records == model.training_history_.epochs
    # the validation metric is the real one: the restored best weights score the best value
    from recforge.evaluation.evaluator import evaluate

    best = evaluate(model, VALID, train=TRAIN, k=10, metrics=["ndcg"])["ndcg@10"]
    assert model.training_history_.best_value == pytest.approx(float(best))

    TorchMF(epochs=2, **PARAMS).fit(TRAIN, run_dir=tmp_path / "t")
    records = read_metrics(tmp_path / "t")
    assert [set(r) for r in records] == [{"epoch", "loss", "lr", "seconds", "samples_per_s"}] * 2


def test_a_fresh_run_starts_a_new_metrics_file(tmp_path: Path) -> None:
    TorchMF(epochs=3, **PARAMS).fit(TRAIN, run_dir=tmp_path)
    TorchMF(epochs=2, **PARAMS).fit(TRAIN, run_dir=tmp_path)
    assert [r["epoch"] for r in read_metrics(tmp_path)] == [1, 2]


# ---------------------------------------------------------------------- early stopping
@pytest.mark.parametrize(
    ("metric", "values", "best", "stopped_after"),
    [
        ("ndcg@10", [0.1, 0.5, 0.3, 0.4, 0.45, 0.9, 0.95], 2, 5),
        ("rmse", [0.9, 0.5, 0.6, 0.5, 0.7, 0.1, 0.05], 2, 5),  # lower is better; ties are bad
    ],
)
def test_early_stopping_restores_the_best_weights(
    metric: str, values: list[float], best: int, stopped_after: int
) -> None:
    model = TorchMF(epochs=7, **(PARAMS | {"patience": 3, "valid_metric": metric}))
    seen = script_validator(model, values)
    model.fit(TRAIN, VALID)
    history = model.training_history_
    assert len(seen) == stopped_after
    assert [r["epoch"] for r in history.epochs] == list(range(1, stopped_after + 1))
    assert [r[metric] for r in history.epochs] == values[:stopped_after]
    assert history.stopped_early
    assert history.best_epoch == best
    assert history.best_value == values[best - 1]
    scores_at_best, weights_at_best = seen[best - 1]
    assert not np.array_equal(seen[-1][0], scores_at_best)  # training did move on
    np.testing.assert_array_equal(model.score(ALL_USERS), scores_at_best)
    assert_same_weights(weights(model), weights_at_best)


def test_without_running_out_of_patience_the_best_weights_are_still_restored() -> None:
    model = TorchMF(epochs=4, **(PARAMS | {"patience": 5}))
    seen = script_validator(model, [0.2, 0.6, 0.5, 0.4])
    model.fit(TRAIN, VALID)
    assert not model.training_history_.stopped_early
    assert len(model.training_history_.epochs) == 4
    np.testing.assert_array_equal(model.score(ALL_USERS), seen[1][0])


# ---------------------------------------------------------------------- direct: tiny module
class Scalar(nn.Module):
    """A parameter vector w (initial value `start`)."""

    def __init__(self, size: int = 1, start: float = 1.0) -> None:
        super().__init__()
        self.w = nn.Parameter(torch.full((size,), start))


def run_train(
    module: nn.Module,
    batch_loss: Callable[[tuple[torch.Tensor, ...], Step], torch.Tensor],
    *,
    n: int = 2,
    run_dir: Path | None = None,
    resume: bool = False,
    **config: Any,
) -> loop.TrainingHistory:
    settings = {"seed": 0, "progress": False, "batch_size": 1, "lr": 0.1} | config
    examples = (torch.arange(n),)
    return train(
        module,
        examples,
        batch_loss,
        TrainingConfig(**settings),
        CPU,
        run_dir=run_dir,
        resume=resume,
    )


def dropout_run(run_dir: Path | None, crash_at: int = -1, resume: bool = False) -> torch.Tensor:
    """4 epochs of 3 steps whose loss uses the global torch generator (as dropout does)."""
    module = Scalar(size=4)

    def loss(batch: tuple[torch.Tensor, ...], step: Step) -> torch.Tensor:
        if step.step == crash_at:
            raise SimulatedCrashError
        keep = torch.rand(4) > 0.5
        return ((module.w - 2) ** 2 * keep).sum()

    with torch.random.fork_rng():
        torch.manual_seed(7)
        run_train(module, loss, n=3, epochs=4, run_dir=run_dir, resume=resume)
    return module.w.detach().clone()


def test_resume_restores_the_global_generator(tmp_path: Path) -> None:
    """Dropout draws from the global generator: a resumed run continues its stream."""
    full = dropout_run(None)
    with pytest.raises(SimulatedCrashError):
        dropout_run(tmp_path, crash_at=7)  # in epoch 3
    assert read_checkpoint(tmp_path)["epoch"] == 1
    resumed = dropout_run(tmp_path, resume=True)
    assert torch.equal(full, resumed)


@pytest.mark.parametrize(
    ("optimizer", "weight_decay", "expected"),
    [
        # loss = 3w from w = 1, two steps at lr 0.1:
        ("sgd", 0.0, 1 - 0.3 - 0.1 * (0.9 * 3 + 3)),  # momentum 0.9: buffer 3, then 5.7
        ("sgd", 0.5, 0.65 - 0.1 * (0.9 * 3.5 + 3 + 0.5 * 0.65)),  # L2 adds wd·w to the gradient
        ("adam", 0.0, 1 - 0.1 - 0.1),  # Adam's first steps on a constant gradient move by lr
        ("adamw", 0.5, (1 * 0.95 - 0.1) * 0.95 - 0.1),  # decoupled decay: w ← w(1 - lr·wd)
        ("adagrad", 0.0, 1 - 0.1 - 0.1 / math.sqrt(2)),  # step lr·g / sqrt(Σg²)
    ],
)
def test_each_optimizer_known_updates(optimizer: str, weight_decay: float, expected: float) -> None:
    module = Scalar()
    run_train(
        module,
        lambda batch, step: 3 * module.w.sum(),
        epochs=1,
        optimizer=optimizer,
        weight_decay=weight_decay,
    )
    assert float(module.w.detach()) == pytest.approx(expected, abs=1e-6)


COS = [0.5 * (1 + math.cos(math.pi * k / 4)) for k in range(4)]


@pytest.mark.parametrize("optimizer", ["adam", "adamw", "sgd", "adagrad"])
@pytest.mark.parametrize(
    ("schedule", "warmup", "epochs", "factors"),
    [
        ("constant", 0, 3, [1.0, 1.0, 1.0]),
        ("constant", 2, 4, [1 / 3, 2 / 3, 1.0, 1.0]),
        ("cosine", 0, 4, COS),  # reaches 0 after the last epoch
        ("cosine", 1, 5, [0.5, *COS]),
        ("exponential", 0, 4, [1.0, 0.5, 0.25, 0.125]),
        ("exponential", 2, 5, [1 / 3, 2 / 3, 1.0, 0.5, 0.25]),
    ],
)
def test_learning_rate_per_epoch(
    optimizer: str,
    schedule: str,
    warmup: int,
    epochs: int,
    factors: list[float],
    tmp_path: Path,
) -> None:
    module = Scalar()
    history = run_train(
        module,
        lambda batch, step: (module.w**2).sum(),
        run_dir=tmp_path,
        epochs=epochs,
        optimizer=optimizer,
        lr_schedule=schedule,
        lr_decay=0.5,
        warmup_epochs=warmup,
    )
    lrs = [r["lr"] for r in read_metrics(tmp_path)]
    assert lrs == pytest.approx([0.1 * f for f in factors], abs=1e-12)
    assert [r["lr"] for r in history.epochs] == lrs


def linear_loss(module: Scalar, direction: torch.Tensor) -> Callable[..., torch.Tensor]:
    """loss = direction · w: its gradient is `direction` whatever w is."""
    return lambda batch, step: (module.w * direction).sum()


def test_clip_grad_norm_bounds_the_gradient_the_optimizer_sees() -> None:
    norms: list[float] = []

    def record(optimizer: torch.optim.Optimizer, args: Any, kwargs: Any) -> None:
        grads = [p.grad for g in optimizer.param_groups for p in g["params"] if p.grad is not None]
        norms.append(float(torch.linalg.vector_norm(torch.stack([g.norm() for g in grads]))))

    direction = torch.tensor([30.0, -40.0, 0.0, 120.0])  # norm 130
    handle = register_optimizer_step_pre_hook(record)
    try:
        for clip in (None, 0.5, 1000.0):
            module = Scalar(size=4)
            run_train(
                module,
                linear_loss(module, direction),
                epochs=2,
                optimizer="sgd",
                clip_grad_norm=clip,
            )
    finally:
        handle.remove()
    assert norms[:4] == pytest.approx([130.0] * 4)  # 2 epochs × 2 steps, unclipped
    assert norms[4:8] == pytest.approx([0.5] * 4)
    assert norms[8:] == pytest.approx([130.0] * 4)  # a bound above the norm changes nothing
    # clipping rescales: the first SGD step moves along the gradient by lr × 0.5
    module = Scalar(size=4)
    run_train(
        module, linear_loss(module, direction), n=1, epochs=1, optimizer="sgd", clip_grad_norm=0.5
    )
    step = (torch.ones(4) - module.w.detach()).numpy()
    np.testing.assert_allclose(step, 0.1 * 0.5 * direction.numpy() / 130, rtol=1e-5)


@pytest.mark.parametrize(("bad", "epoch"), [(float("nan"), 1), (float("inf"), 2)])
def test_a_non_finite_loss_is_a_divergence_naming_lr(bad: float, epoch: int) -> None:
    module = Scalar()

    def loss(batch: tuple[torch.Tensor, ...], step: Step) -> torch.Tensor:
        value = module.w.sum()
        return value * bad if step.epoch == epoch - 1 else value

    with pytest.raises(
        ParameterError,
        match=rf"diverged while fitting: the training loss became {bad} at epoch {epoch}; "
        r"lower lr \(it is",
    ):
        run_train(module, loss, epochs=3)


def test_no_examples_is_a_data_error() -> None:
    module = Scalar()
    with pytest.raises(DataError, match="has no training examples"):
        run_train(module, lambda batch, step: module.w.sum(), n=0, epochs=1)


def test_batches_cover_every_example_once_per_epoch_in_a_new_order() -> None:
    module = Scalar()
    visited: list[list[int]] = []

    def loss(batch: tuple[torch.Tensor, ...], step: Step) -> torch.Tensor:
        if step.step % 3 == 0:
            visited.append([])
        visited[-1].extend(batch[0].tolist())
        assert step.epoch == step.step // 3
        return module.w.sum()

    history = run_train(module, loss, n=7, batch_size=3, epochs=3)  # steps of 3, 3 and 1 rows
    assert [sorted(v) for v in visited] == [list(range(7))] * 3
    assert len({tuple(v) for v in visited}) > 1
    assert [r["epoch"] for r in history.epochs] == [1, 2, 3]


def test_epoch_loss_is_the_mean_over_examples() -> None:
    """Each batch's mean loss counts once per row: the epoch loss is the mean over examples
    (here a row's loss is its index, so 3.0 for rows 0…6 whatever the batches)."""
    module = Scalar()

    def loss(batch: tuple[torch.Tensor, ...], step: Step) -> torch.Tensor:
        return batch[0].float().mean() + 0 * module.w.sum()

    history = run_train(module, loss, n=7, batch_size=3, epochs=2)
    for record in history.epochs:
        assert record["loss"] == pytest.approx(3.0)
        assert record["samples_per_s"] == pytest.approx(7 / record["seconds"])


# ---------------------------------------------------------------------- devices, progress
@pytest.mark.skipif(torch.cuda.is_available(), reason="this machine has CUDA")
def test_cuda_on_a_cpu_machine_is_a_parameter_error() -> None:
    with pytest.raises(ParameterError, match=r"device='cuda'.*no usable CUDA.*use device='cpu'"):
        TorchMF(epochs=1, **(PARAMS | {"device": "cuda"})).fit(TRAIN)


def test_progress_on_a_non_tty_prints_nothing(capfd: pytest.CaptureFixture[str]) -> None:
    TorchMF(epochs=2, **(PARAMS | {"progress": True})).fit(TRAIN, VALID)
    out, err = capfd.readouterr()
    assert out == ""
    assert err == ""


# ---------------------------------------------------------------------- valid_metric
@pytest.mark.parametrize(
    ("text", "expected"),
    [
        ("ndcg@10", ("ndcg", 10, True)),
        ("recall@20", ("recall", 20, True)),
        ("hit_rate@1", ("hit_rate", 1, True)),
        ("auc", ("auc", None, True)),
        ("rmse", ("rmse", None, False)),
        ("mae", ("mae", None, False)),
    ],
)
def test_valid_metric_parsing(text: str, expected: tuple[str, int | None, bool]) -> None:
    assert parse_valid_metric(text, "TorchMF") == expected


@pytest.mark.parametrize("text", ["ndcg", "ndcg@", "ndcg@ten", "rmse@10", "ndgc@10", "", 10, None])
def test_bad_valid_metric_is_a_parameter_error(text: Any) -> None:
    with pytest.raises(ParameterError, match=r"'valid_metric' parameter of TorchMF .*'ndcg@10'"):
        parse_valid_metric(text, "TorchMF")
    with pytest.raises(ParameterError, match=r"'valid_metric' parameter of TorchMF"):
        TorchMF(epochs=1, **(PARAMS | {"valid_metric": text})).fit(TRAIN)
