"""Mult-VAE and Mult-DAE (Liang et al. 2018): autoencoders of each user's whole row of
interactions with a multinomial likelihood.

A user's binary row x [n_items] (values and ratings are ignored) is L2-normalised and dropped
out, encoded, decoded to logits z [n_items], and the loss is −Σ_i x_i log softmax(z)_i:

    Mult-VAE:  + β · KL(q(z|x) ‖ N(0, I)),  β = min(anneal_cap, step / anneal_steps)
    Mult-DAE:  + reg · Σ ‖W‖² over the four weight matrices

Scores are the logits of the mean code (no sampling, no dropout); a new user's history is
encoded as a row of its own.

Mult-VAE's defaults (600 hidden and 200 latent units, dropout 0.3, β annealed to 0.8 over
1,500 steps, Adam at lr 1e-3 on a cosine schedule over 100 epochs of 128 users a batch) were
chosen on a validation split inside the training part of MovieLens 100K
(`bench_neural.py --tune multvae`: each user's latest 20% of the training part); Mult-DAE keeps
dropout 0.5, lr 2e-3 and 50 epochs, not re-chosen. Measured figures, beside RecBole's MultiVAE
and the classical ranking models: benchmarks/README.md (neural, ranking).
"""

from __future__ import annotations

from abc import abstractmethod
from typing import TYPE_CHECKING, Any, ClassVar

import numpy as np

from recforge._validation import check_float, check_int
from recforge.data.interactions import Interactions
from recforge.models.neural_base import NeuralRecommender
from recforge.models.registry import register

if TYPE_CHECKING:
    import torch
    from torch import nn

    from recforge.neural.autoencoders import MultVAE as MultVAEModule
    from recforge.neural.autoencoders import SparseRows
    from recforge.neural.loop import Step

__all__ = ["MultDAE", "MultVAE"]


class _MultAutoencoder(NeuralRecommender):
    """The shared fitting and scoring of Mult-VAE and Mult-DAE (`_variational` says which)."""

    _variational: ClassVar[bool]
    supports_history = True
    training_defaults: ClassVar[dict[str, Any]] = {
        "epochs": 50,
        "batch_size": 128,
        "lr": 2e-3,
        "lr_schedule": "cosine",
    }

    module_: MultVAEModule
    hidden: int
    latent: int
    dropout: float

    def _validate_model_params(self) -> None:
        owner = type(self).__name__
        check_int(self.hidden, "hidden", owner, low=1)
        check_int(self.latent, "latent", owner, low=1)
        check_float(self.dropout, "dropout", owner, low=0.0, high=1.0, high_open=True)

    def _build_module(self, train: Interactions | None) -> nn.Module:
        from recforge.neural.autoencoders import MultVAE

        return MultVAE(
            self.n_items_,
            int(self.hidden),
            int(self.latent),
            float(self.dropout),
            self._variational,
        )

    def _rows(self, device: torch.device) -> SparseRows:
        """The binary training rows on `device`, built once per fit, load or device."""
        from recforge.neural.autoencoders import SparseRows

        cached = getattr(self, "_rows_cache", None)
        if cached is None or cached[0] is not self.seen_ or cached[1] != device:
            cached = (self.seen_, device, SparseRows(self.seen_, device))
            self._rows_cache = cached
        return cached[2]

    def _examples(self, train: Interactions) -> tuple[torch.Tensor, ...]:
        import torch

        users = np.flatnonzero(np.diff(self.seen_.indptr) > 0).astype(np.int64)
        return (torch.from_numpy(users),)

    def _batch_loss(
        self, module: MultVAEModule, batch: tuple[torch.Tensor, ...], step: Step
    ) -> torch.Tensor:
        from recforge.neural.losses import multinomial_loss

        (users,) = batch
        x, _ = self._rows(users.device).dense(users)
        logits, mu, logvar = module(x, step.generator)
        return multinomial_loss(logits, x) + self._regulariser(module, mu, logvar, step)

    @abstractmethod
    def _regulariser(
        self, module: MultVAEModule, mu: torch.Tensor, logvar: torch.Tensor | None, step: Step
    ) -> torch.Tensor:
        """The term added to the multinomial loss of a batch (KL or L2)."""

    def _score_batch(
        self, module: MultVAEModule, users: torch.Tensor, items: torch.Tensor | None
    ) -> torch.Tensor:
        mu, _ = module.encode(self._rows(users.device).sparse(users, l2_normalise=True))
        return module.decode(mu, items)

    def _history_scores(self, history: np.ndarray) -> np.ndarray:
        """The logits [n_items] of the new user's binary row."""
        import torch

        from recforge.neural.autoencoders import inference

        module, device = self.module_, self.device_
        x = torch.zeros(1, self.n_items_, device=device)
        x[0, torch.as_tensor(history, device=device)] = 1.0
        with inference(module):
            mu, _ = module.encode(x)
            scores = module.decode(mu)[0]
        return scores.float().cpu().numpy()


@register
class MultVAE(_MultAutoencoder):
    """Mult-VAE: a variational autoencoder of user rows with a multinomial likelihood.

    hidden, latent: the layer sizes [n_items → hidden → latent → hidden → n_items];
    dropout: the rate on the normalised input while training; anneal_cap, anneal_steps: the KL
    weight β grows linearly by 1/anneal_steps per optimiser step up to anneal_cap
    (anneal_steps=0: β = anneal_cap from the start).
    """

    name = "multvae"
    description = "Mult-VAE: variational autoencoder with a multinomial likelihood (Liang 2018)"
    _variational = True
    training_defaults: ClassVar[dict[str, Any]] = {
        **_MultAutoencoder.training_defaults,
        "epochs": 100,
        "lr": 1e-3,
    }

    def __init__(
        self,
        *,
        hidden: int = 600,
        latent: int = 200,
        dropout: float = 0.3,
        anneal_cap: float = 0.8,
        anneal_steps: int = 1500,
        **training: Any,
    ) -> None:
        super().__init__(**training)
        self.hidden = hidden
        self.latent = latent
        self.dropout = dropout
        self.anneal_cap = anneal_cap
        self.anneal_steps = anneal_steps

    def _validate_model_params(self) -> None:
        super()._validate_model_params()
        check_float(self.anneal_cap, "anneal_cap", "MultVAE", low=0.0)
        check_int(self.anneal_steps, "anneal_steps", "MultVAE", low=0)

    def kl_weight(self, step: int) -> float:
        """β at optimiser step `step` (from 0): min(anneal_cap, step / anneal_steps)."""
        cap = float(self.anneal_cap)
        if self.anneal_steps == 0:
            return cap
        return min(cap, step / int(self.anneal_steps))

    def _regulariser(
        self, module: MultVAEModule, mu: torch.Tensor, logvar: torch.Tensor | None, step: Step
    ) -> torch.Tensor:
        assert logvar is not None
        return self.kl_weight(step.step) * module.kl(mu.float(), logvar.float()).mean()


@register
class MultDAE(_MultAutoencoder):
    """Mult-DAE: a denoising autoencoder of user rows with a multinomial likelihood.

    hidden, latent, dropout: as Mult-VAE (the dropout is the denoising noise); reg: the weight
    of the sum of squared weights added to each batch's mean loss.
    """

    name = "multdae"
    description = "Mult-DAE: denoising autoencoder with a multinomial likelihood (Liang 2018)"
    _variational = False

    def __init__(
        self,
        *,
        hidden: int = 600,
        latent: int = 200,
        dropout: float = 0.5,
        reg: float = 1e-5,
        **training: Any,
    ) -> None:
        super().__init__(**training)
        self.hidden = hidden
        self.latent = latent
        self.dropout = dropout
        self.reg = reg

    def _validate_model_params(self) -> None:
        super()._validate_model_params()
        check_float(self.reg, "reg", "MultDAE", low=0.0)

    def _regulariser(
        self, module: MultVAEModule, mu: torch.Tensor, logvar: torch.Tensor | None, step: Step
    ) -> torch.Tensor:
        return float(self.reg) * module.penalty()
