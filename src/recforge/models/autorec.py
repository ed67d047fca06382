"""AutoRec (Sedhain et al. 2015): an autoencoder of partially observed rating vectors.

I-AutoRec ("iautorec") reconstructs each item's vector of user ratings (n_users inputs),
U-AutoRec ("uautorec") each user's vector of item ratings (n_items inputs):

    h = f(V·r + μ),   r̂ = g(W·h + b),   f = sigmoid, g = identity (the paper's choice)

and r̂(u, i) is the reconstruction of item i's vector at user u (I-AutoRec) or of user u's vector
at item i (U-AutoRec). Unobserved entries are 0 in the input and count nowhere in the loss: the
paper's objective is Σ_rows ‖(r − r̂) ⊙ observed‖² + reg/2 · (‖W‖² + ‖V‖²). A batch of B of the
N rows (those with a rating) has the loss

    N / (B · nnz) · Σ_batch ‖(r − r̂) ⊙ observed‖² + reg / (2 · nnz) · (‖W‖² + ‖V‖²),

an unbiased estimate of that objective divided by nnz (the training ratings): it reads as the
training MSE plus the penalty whatever the batch size.

reg=None (the default) scales λ to the data: λ = reg_density · N / nnz, inversely to the mean
number of ratings a reconstructed row has, so a catalogue of sparsely rated rows is not
overfitted (a fixed λ that suits MovieLens 100K, whose items average about 48 training ratings,
lets I-AutoRec memorise items with a handful). reg_density is 9,700 for I-AutoRec and 8,500 for
U-AutoRec: λ = 200 and 100 on MovieLens 100K's training folds. The defaults (hidden 300, Adam
at lr 3e-3 on a cosine schedule over 50 epochs, 64 vectors a batch, λ as above) were chosen for
I-AutoRec on a validation split of MovieLens 100K's training folds (`bench_deep_ratings.py
--tune iautorec`). U-AutoRec does worse than I-AutoRec, as in the paper. Measured figures:
benchmarks/README.md (deep_ratings).
"""

from __future__ import annotations

from typing import TYPE_CHECKING, Any, ClassVar

import numpy as np
import scipy.sparse as sp

from recforge._validation import check_choice, check_float, check_int
from recforge.data.interactions import Interactions
from recforge.errors import DataError
from recforge.models.factors import cosine_rows
from recforge.models.neural_base import SCORE_PAIRS, NeuralRecommender
from recforge.models.registry import register

if TYPE_CHECKING:
    import torch
    from torch import nn

    from recforge.neural.autoencoders import AutoRec, SparseRows
    from recforge.neural.loop import Step

__all__ = ["IAutoRec", "UAutoRec"]

ACTIVATION_NAMES = ("sigmoid", "tanh", "relu", "elu", "identity")


class _AutoRecModel(NeuralRecommender):
    """The shared fitting, scoring and prediction of I- and U-AutoRec (`_by_item` says which).

    Learned: train_values_ (the training ratings float32 [nnz] in `seen_` order), global_mean_,
    user_mean_ [U] and item_mean_ [I] (mean training ratings; the global mean where there are
    none), rating_min_ / rating_max_ (predictions are clipped to them).

    predict uses the reconstruction where both the user and the item have training ratings.
    Otherwise (an unknown id −1, or an id without training ratings, which the paper gives a
    default rating) it falls back on the item's mean rating, else the user's, else the global
    mean.
    """

    _by_item: ClassVar[bool]
    reg_density: ClassVar[float]  # λ · nnz / N when reg is None (see the module docstring)
    predicts_ratings = True
    supports_history = True
    training_defaults: ClassVar[dict[str, Any]] = {
        "valid_metric": "rmse",
        "epochs": 50,
        "batch_size": 64,
        "lr": 3e-3,
        "lr_schedule": "cosine",
    }
    _learned: ClassVar[tuple[str, ...]] = (
        "train_values_",
        "global_mean_",
        "user_mean_",
        "item_mean_",
        "rating_min_",
        "rating_max_",
    )

    module_: AutoRec
    train_values_: np.ndarray
    global_mean_: float
    user_mean_: np.ndarray
    item_mean_: np.ndarray
    rating_min_: float
    rating_max_: float
    _item_codes: torch.Tensor | None = None  # I-AutoRec's, during one `_score` call

    def __init__(
        self,
        *,
        hidden: int = 300,
        activation: str = "sigmoid",
        output_activation: str = "identity",
        reg: float | None = None,
        **training: Any,
    ) -> None:
        super().__init__(**training)
        self.hidden = hidden
        self.activation = activation
        self.output_activation = output_activation
        self.reg = reg

    def _validate_model_params(self) -> None:
        owner = type(self).__name__
        check_int(self.hidden, "hidden", owner, low=1)
        check_choice(self.activation, "activation", ACTIVATION_NAMES, owner)
        check_choice(self.output_activation, "output_activation", ACTIVATION_NAMES, owner)
        if self.reg is not None:
            check_float(self.reg, "reg", owner, low=0.0)

    def _check_training_data(self, train: Interactions) -> None:
        if not train.explicit:
            raise DataError(
                f"{type(self).__name__} reconstructs ratings, but these interactions are "
                "implicit; load them with a rating column, or use 'multvae' or 'multdae'"
            )

    # ------------------------------------------------------------------ fitting
    def _fit(self, train: Interactions, valid: Interactions | None) -> None:
        users, items, values = train.coo()
        ratings = values.astype(np.float64)
        self.train_values_ = values.astype(np.float32)
        self.global_mean_ = float(ratings.mean())
        self.user_mean_ = _means(users, ratings, train.n_users, self.global_mean_)
        self.item_mean_ = _means(items, ratings, train.n_items, self.global_mean_)
        self.rating_min_ = float(ratings.min())
        self.rating_max_ = float(ratings.max())
        super()._fit(train, valid)

    def _build_module(self, train: Interactions | None) -> nn.Module:
        from recforge.neural.autoencoders import AutoRec

        n_inputs = self.n_users_ if self._by_item else self.n_items_
        return AutoRec(n_inputs, int(self.hidden), self.activation, self.output_activation)

    def _row_matrix(self) -> sp.csr_array:
        """The training ratings with one row per reconstructed vector: [I, U] or [U, I]."""
        seen = self.seen_
        ratings = sp.csr_array((self.train_values_, seen.indices, seen.indptr), shape=seen.shape)
        if not self._by_item:
            return ratings
        rows = sp.csr_array(ratings.T)
        rows.sort_indices()
        return rows

    def _rows(self, device: torch.device) -> SparseRows:
        """The row matrix on `device`, built once per fit, load or device."""
        from recforge.neural.autoencoders import SparseRows

        cached = getattr(self, "_rows_cache", None)
        if cached is None or cached[0] is not self.train_values_ or cached[1] != device:
            cached = (self.train_values_, device, SparseRows(self._row_matrix(), device))
            self._rows_cache = cached
        return cached[2]

    def _row_counts(self) -> np.ndarray:
        """Training ratings per reconstructed vector (items or users) [N]."""
        if self._by_item:
            return np.bincount(self.seen_.indices, minlength=self.n_items_)
        return np.diff(self.seen_.indptr)

    def _examples(self, train: Interactions) -> tuple[torch.Tensor, ...]:
        import torch

        rows = np.flatnonzero(self._row_counts() > 0).astype(np.int64)
        self._loss_scale = rows.size / train.nnz  # N / nnz
        self._reg_scale = self.penalty_weight(rows.size, train.nnz) / (2.0 * train.nnz)
        return (torch.from_numpy(rows),)

    def penalty_weight(self, rows: int, nnz: int) -> float:
        """λ for `rows` reconstructed rows holding `nnz` training ratings: `reg`, or when it is
        None reg_density · rows / nnz."""
        if self.reg is not None:
            return float(self.reg)
        return self.reg_density * rows / max(nnz, 1)

    def _batch_loss(
        self, module: AutoRec, batch: tuple[torch.Tensor, ...], step: Step
    ) -> torch.Tensor:
        (rows,) = batch
        target, observed = self._rows(rows.device).dense(rows)
        error = (module(target).float() - target) * observed
        squared = error.pow(2).sum() * (self._loss_scale / rows.numel())
        return squared + self._reg_scale * module.penalty()

    # ------------------------------------------------------------------ inference
    def _codes(self, module: AutoRec, rows: torch.Tensor) -> torch.Tensor:
        """Hidden codes [R, k] of the reconstructed vectors `rows` [R] (items or users)."""
        return module.encode(self._rows(rows.device).sparse(rows))

    def _score(self, users: np.ndarray, items: np.ndarray | None) -> np.ndarray:
        self._item_codes = None  # I-AutoRec encodes the items once per call, for every batch
        try:
            return super()._score(users, items)
        finally:
            self._item_codes = None

    def _score_batch(
        self, module: AutoRec, users: torch.Tensor, items: torch.Tensor | None
    ) -> torch.Tensor:
        import torch

        if not self._by_item:
            return module.decode(self._codes(module, users), items)
        if self._item_codes is None:
            every = torch.arange(self.n_items_, device=users.device)
            self._item_codes = self._codes(module, every if items is None else items)
        return module.decode(self._item_codes, users).T

    def _predict(self, users: np.ndarray, items: np.ndarray) -> np.ndarray:
        import torch

        from recforge.neural.autoencoders import inference

        u, i = np.maximum(users, 0), np.maximum(items, 0)
        user_rated = (users >= 0) & (np.diff(self.seen_.indptr)[u] > 0)
        item_rated = (items >= 0) & (
            np.bincount(self.seen_.indices, minlength=self.n_items_)[i] > 0
        )
        out = np.where(
            item_rated,
            self.item_mean_[i],
            np.where(user_rated, self.user_mean_[u], self.global_mean_),
        ).astype(np.float32)
        both = np.flatnonzero(user_rated & item_rated)
        if both.size:
            rows, outputs = (i, u) if self._by_item else (u, i)
            unique, inverse = np.unique(rows[both], return_inverse=True)
            module, device = self.module_, self.device_
            chunk = max(1, SCORE_PAIRS // int(self.hidden))
            with inference(module):
                codes = self._codes(module, torch.as_tensor(unique.astype(np.int64), device=device))
                for start in range(0, both.size, chunk):
                    part = slice(start, start + chunk)
                    h = codes[torch.as_tensor(inverse[part], device=device)]
                    at = torch.as_tensor(outputs[both[part]].astype(np.int64), device=device)
                    out[both[part]] = module.decode_pairs(h, at).float().cpu().numpy()
        return np.clip(out, self.rating_min_, self.rating_max_)


def _means(index: np.ndarray, ratings: np.ndarray, size: int, default: float) -> np.ndarray:
    """Mean rating per index float32 [size]; `default` where there is none."""
    counts = np.bincount(index, minlength=size)
    sums = np.bincount(index, weights=ratings, minlength=size)
    return np.where(counts > 0, sums / np.maximum(counts, 1), default).astype(np.float32)


@register
class IAutoRec(_AutoRecModel):
    """I-AutoRec: an autoencoder of each item's vector of user ratings (n_users inputs).

    hidden: k, the hidden units; activation f and output_activation g: sigmoid | tanh | relu |
    elu | identity; reg: the paper's λ, the L2 weight on V and W; None scales it to the data
    (see the module docstring).

    recommend_for_history: a new user has no output unit in I-AutoRec, so their history is
    scored through the item codes instead: items are represented by h_i − h(0), their hidden
    code minus that of an item nobody rated (what the item's ratings contribute), and each
    candidate scores the mean cosine of its representation to those of the history items.
    similar_items uses the same cosine.
    """

    name = "iautorec"
    description = "I-AutoRec: item-based autoencoder of partially observed ratings (Sedhain 2015)"
    _by_item = True
    reg_density = 9700.0

    def _item_representations(self) -> np.ndarray:
        """float32 [n_items, k]: h_i − h(0); zero for an item without training ratings."""
        import torch

        from recforge.neural.autoencoders import inference

        module, device = self.module_, self.device_
        with inference(module):
            codes = self._codes(module, torch.arange(self.n_items_, device=device))
            empty = module.encode(torch.zeros(1, self.n_users_, device=device))
            out = (codes - empty).float().cpu().numpy()
        out[self._row_counts() == 0] = 0.0
        return out

    def _item_similarities(self, items: np.ndarray) -> np.ndarray:
        """The cosine of the item representations h_i − h(0)."""
        return cosine_rows(self._item_representations(), items)

    def _history_scores(self, history: np.ndarray) -> np.ndarray:
        """The mean cosine of each item's representation to the history items'."""
        return cosine_rows(self._item_representations(), history).mean(axis=0)


@register
class UAutoRec(_AutoRecModel):
    """U-AutoRec: an autoencoder of each user's vector of item ratings (n_items inputs).

    hidden, activation, output_activation, reg: as I-AutoRec (reg None scales λ to 100 on
    MovieLens 100K, which suits U-AutoRec better).
    history_rating: the rating a new user given by recommend_for_history is taken to have
    given each history item (None: that item's mean training rating); the user's vector is
    encoded and decoded like a training user's and the items ranked by predicted rating.
    """

    name = "uautorec"
    description = "U-AutoRec: user-based autoencoder of partially observed ratings (Sedhain 2015)"
    _by_item = False
    reg_density = 8500.0

    def __init__(
        self,
        *,
        hidden: int = 300,
        activation: str = "sigmoid",
        output_activation: str = "identity",
        reg: float | None = None,
        history_rating: float | None = None,
        **training: Any,
    ) -> None:
        super().__init__(
            hidden=hidden,
            activation=activation,
            output_activation=output_activation,
            reg=reg,
            **training,
        )
        self.history_rating = history_rating

    def _validate_model_params(self) -> None:
        super()._validate_model_params()
        if self.history_rating is not None:
            check_float(self.history_rating, "history_rating", "UAutoRec")

    def _history_scores(self, history: np.ndarray) -> np.ndarray:
        """Predicted ratings [n_items] for the vector with the history items rated."""
        import torch

        from recforge.neural.autoencoders import inference

        x = np.zeros((1, self.n_items_), dtype=np.float32)
        if self.history_rating is None:
            x[0, history] = self.item_mean_[history]
        else:
            x[0, history] = float(self.history_rating)
        with inference(self.module_):
            scores = self.module_(torch.from_numpy(x).to(self.device_))[0]
        return scores.float().cpu().numpy()
