"""`NeuralRecommender`: the Recommender protocol on top of a torch module and the shared loop.

A neural model writes four things:
    _build_module(train)  the nn.Module (train is None when a saved model is rebuilt: buffers
                          then come from the saved state);
    _examples(train)      the training examples as tensors sharing their first dimension;
    _batch_loss(...)      the mean loss of a mini-batch;
    _score_batch(...)     scores [B, M] for users [B] and items [M] (None: all items).
Everything else (devices, seeding, the loop, early stopping, checkpoints, saving) is here or in
`recforge.neural`. Its parameters are its own plus the `TrainingConfig` fields (lr, epochs …).
"""

from __future__ import annotations

import dataclasses
from pathlib import Path
from typing import TYPE_CHECKING, Any, ClassVar, Self

import numpy as np

from recforge.data.features import FeatureTable
from recforge.data.interactions import Interactions
from recforge.errors import ParameterError
from recforge.models.base import Recommender

if TYPE_CHECKING:
    import torch
    from torch import nn

    from recforge.neural.loop import Step, TrainingHistory

__all__ = ["NeuralRecommender"]

SCORE_PAIRS = 1 << 22  # user-item pairs scored at once by _score


class NeuralRecommender(Recommender):
    """Base of the PyTorch models.

    Fitted: module_ (the trained nn.Module, on the training device until `to` moves it) and
    training_history_ (per-epoch loss, validation metric, speed; not saved).
    """

    training_defaults: ClassVar[dict[str, Any]] = {}  # this model's own TrainingConfig defaults

    module_: nn.Module
    training_history_: TrainingHistory

    def __init__(self, **training: Any) -> None:
        from recforge.neural.config import TrainingConfig

        names = TrainingConfig.names()
        unknown = [k for k in training if k not in names]
        if unknown:
            raise ParameterError(
                f"{type(self).__name__} has no parameter {unknown[0]!r}; its parameters are: "
                f"{', '.join(self.param_names())}"
            )
        defaults = self._training_defaults()
        for name in names:
            setattr(self, name, training.get(name, defaults[name]))

    # ------------------------------------------------------------------ parameters
    @classmethod
    def _training_defaults(cls) -> dict[str, Any]:
        from recforge.neural.config import TrainingConfig

        base = {f.name: f.default for f in dataclasses.fields(TrainingConfig)}
        return base | cls.training_defaults

    @classmethod
    def param_names(cls) -> list[str]:
        own = [n for n in super().param_names() if n not in cls._training_defaults()]
        return own + list(cls._training_defaults())

    @classmethod
    def param_defaults(cls) -> dict[str, Any]:
        return super().param_defaults() | cls._training_defaults()

    @property
    def training_config(self) -> Any:
        """The TrainingConfig of this model's parameters."""
        from recforge.neural.config import TrainingConfig

        return TrainingConfig(**{n: getattr(self, n) for n in TrainingConfig.names()})

    def _validate_params(self) -> None:
        self.training_config.validate(type(self).__name__)
        self._validate_model_params()

    def _validate_model_params(self) -> None:
        """Check the model's own parameters (raise ParameterError)."""

    # ------------------------------------------------------------------ fitting
    def fit(
        self,
        train: Interactions,
        valid: Interactions | None = None,
        *,
        min_rating: float | None = None,
        item_features: FeatureTable | None = None,
        user_features: FeatureTable | None = None,
        run_dir: str | Path | None = None,
        resume: bool = False,
    ) -> Self:
        """Learn from `train`, early-stopping on `valid` when given (see TrainingConfig);
        min_rating, item_features, user_features as in `Recommender.fit`.

        run_dir: a directory for checkpoint.pt (rewritten every epoch) and metrics.jsonl (one
        line per epoch); resume=True continues the interrupted run saved there.
        """
        self._run_dir = None if run_dir is None else Path(run_dir)
        self._resume = bool(resume)
        return super().fit(
            train,
            valid,
            min_rating=min_rating,
            item_features=item_features,
            user_features=user_features,
        )

    def _fit(self, train: Interactions, valid: Interactions | None) -> None:
        import torch

        from recforge.neural.device import resolve_device
        from recforge.neural.loop import train as train_loop

        config = self.training_config
        owner = type(self).__name__
        device = resolve_device(config.device, owner)
        seed = config.seed
        if seed is None:
            seed = int(np.random.SeedSequence().generate_state(1)[0] >> 1)
        config = dataclasses.replace(config, seed=seed)
        devices = [device.index or 0] if device.type == "cuda" else []
        with torch.random.fork_rng(devices=devices, device_type=device.type):
            torch.manual_seed(seed)
            module = self._build_module(train).to(device)
            self.module_ = module
            self._device = device
            examples = tuple(t.to(device) for t in self._examples(train))
            validate = None if valid is None else self._validator(train, valid)
            self.training_history_ = train_loop(
                module,
                examples,
                lambda batch, step: self._batch_loss(module, batch, step),
                config,
                device,
                validate=validate,
                run_dir=self._run_dir,
                resume=self._resume,
                fingerprint=self._fingerprint(train),
                owner=owner,
            )

    def _validator(self, train: Interactions, valid: Interactions) -> Any:
        from recforge.evaluation.evaluator import evaluate
        from recforge.neural.config import parse_valid_metric

        name, cut, _ = parse_valid_metric(self.valid_metric, type(self).__name__)  # type: ignore[attr-defined]
        key = name if cut is None else f"{name}@{cut}"

        def validate() -> float:
            result = evaluate(self, valid, train=train, k=cut or 10, metrics=[name])
            return float(result[key])

        return validate

    def _fingerprint(self, train: Interactions) -> dict[str, Any]:
        """What a resumed run must share with its checkpoint: the model, its parameters (but
        epochs, which may grow, and device and progress) and the data (a digest)."""
        free = ("epochs", "progress", "device")
        params = {k: repr(v) for k, v in self.get_params().items() if k not in free}
        return {"model": self.name, "data": train.fingerprint(), **params}

    # ------------------------------------------------------------------ hooks
    def _build_module(self, train: Interactions | None) -> nn.Module:
        raise NotImplementedError

    def _examples(self, train: Interactions) -> tuple[torch.Tensor, ...]:
        raise NotImplementedError

    # `module` is the model's own nn.Module class (typed Any so subclasses can name theirs).
    def _batch_loss(self, module: Any, batch: tuple[torch.Tensor, ...], step: Step) -> torch.Tensor:
        raise NotImplementedError

    def _score_batch(
        self, module: Any, users: torch.Tensor, items: torch.Tensor | None
    ) -> torch.Tensor:
        raise NotImplementedError

    # ------------------------------------------------------------------ inference
    @property
    def device_(self) -> torch.device:
        """Where the module is (scoring happens there)."""
        return next(self.module_.parameters()).device

    def to(self, device: str) -> Self:
        """Move the fitted module to `device` (e.g. "cpu" after loading a GPU-trained model
        elsewhere, or "cuda" to score there)."""
        from recforge.neural.device import resolve_device

        self._check_fitted("to")
        self.module_.to(resolve_device(device, type(self).__name__))
        return self

    def _inference(self, fn: Any) -> np.ndarray:
        """fn(module) → tensor, run in eval mode without gradients, as float32 numpy."""
        import torch

        was_training = self.module_.training
        if was_training:  # eval() walks every submodule: skip it when already there
            self.module_.eval()
        try:
            with torch.no_grad():
                out = fn(self.module_)
        finally:
            if was_training:
                self.module_.train()
        return np.ascontiguousarray(out.detach().float().cpu().numpy())

    def _score_pairs(self) -> int:
        """User-item pairs `_score` hands to `_score_batch` at once (users are chunked so that
        users × items stays under it); models with large per-pair activations lower it."""
        return SCORE_PAIRS

    def _score(self, users: np.ndarray, items: np.ndarray | None) -> np.ndarray:
        import torch

        device = self.device_
        width = self.n_items_ if items is None else items.size
        chunk = max(1, self._score_pairs() // max(width, 1))
        item_t = (
            None
            if items is None
            else torch.as_tensor(np.array(items, dtype=np.int64), device=device)
        )
        out = np.empty((users.size, width), dtype=np.float32)
        was_training = self.module_.training
        self.module_.eval()
        try:
            with torch.no_grad():
                for start in range(0, users.size, chunk):
                    u = torch.as_tensor(
                        np.array(users[start : start + chunk], dtype=np.int64), device=device
                    )
                    scores = self._score_batch(self.module_, u, item_t)
                    out[start : start + chunk] = scores.float().cpu().numpy()
        finally:
            self.module_.train(was_training)
        return out

    # ------------------------------------------------------------------ persistence
    def _get_state(self) -> dict[str, Any]:
        state = super()._get_state()
        for key, value in self.module_.state_dict().items():
            state[f"module.{key}"] = value.detach().cpu().numpy()
        return state

    def _set_state(self, state: dict[str, Any]) -> None:
        import torch

        super()._set_state(state)
        module = self._build_module(None)
        weights = {
            key.removeprefix("module."): torch.from_numpy(np.asarray(value))
            for key, value in state.items()
            if key.startswith("module.")
        }
        module.load_state_dict(weights)
        module.eval()
        self.module_ = module
