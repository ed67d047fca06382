"""BPR-MF (Rendle et al. 2009): pairwise ranking by SGD with sampled negatives."""

from __future__ import annotations

from typing import Any, ClassVar

import numpy as np

from recforge._validation import check_float, check_int, check_seed
from recforge.data.interactions import Interactions
from recforge.models.base import Recommender
from recforge.models.factors import cosine_rows
from recforge.models.registry import register

__all__ = ["BPR"]

MIN_GROUP = 64  # users and items a stratum must hold at least (`strata` is lowered to keep it)


@register
class BPR(Recommender):
    """Matrix factorisation trained for ranking: score(u, i) = x_uᵀy_i + b_i.

    Each epoch takes as many SGD steps as there are training interactions (see `bpr_epoch`).
    factors: k; epochs; lr: step size; reg: L2 weight; init_std: factors start as
    N(0, init_std²), item biases at 0; seed: the start and the samples (a fit is reproducible).
    strata: above 1, each epoch is stratified SGD over strata × strata random blocks of users
    and items, strata of them at a time in parallel on numba's threads
    (`bpr_epoch_stratified`); negatives then come from the step's item group. The groups are
    drawn afresh each epoch but balanced by popularity (each holds about as many interactions
    as the others), so an item is drawn as a negative about as often as in serial SGD. The result
    depends on strata, never on the number of threads. 1: plain serial SGD. It is lowered to
    keep at least MIN_GROUP users and items in a group (so small data is fitted serially); the
    default was chosen on validation (benchmarks/README.md, `bench_ranking.py --bpr-strata`).
    """

    name = "bpr"
    description = "BPR-MF: pairwise ranking by SGD with uniformly sampled negatives"
    _learned: ClassVar[tuple[str, ...]] = ("user_factors_", "item_factors_", "item_bias_")

    user_factors_: np.ndarray
    item_factors_: np.ndarray
    item_bias_: np.ndarray

    def __init__(
        self,
        *,
        factors: int = 64,
        epochs: int = 100,
        lr: float = 0.05,
        reg: float = 0.01,
        init_std: float = 0.1,
        strata: int = 2,
        seed: int | None = None,
    ) -> None:
        self.factors = factors
        self.epochs = epochs
        self.lr = lr
        self.reg = reg
        self.init_std = init_std
        self.strata = strata
        self.seed = seed

    def _validate_params(self) -> None:
        check_int(self.factors, "factors", "BPR", low=1)
        check_int(self.epochs, "epochs", "BPR", low=1)
        check_float(self.lr, "lr", "BPR", low=0.0, low_open=True)
        check_float(self.reg, "reg", "BPR", low=0.0)
        check_float(self.init_std, "init_std", "BPR", low=0.0)
        check_int(self.strata, "strata", "BPR", low=1)
        check_seed(self.seed, "seed", "BPR")

    def _fit(self, train: Interactions, valid: Interactions | None) -> None:
        from recforge.models.bpr_kernels import bpr_epoch, bpr_epoch_stratified, seen_bitmap

        rng = np.random.default_rng(self.seed)
        k = int(self.factors)
        X = rng.normal(0.0, float(self.init_std), (train.n_users, k)).astype(np.float32)
        Y = rng.normal(0.0, float(self.init_std), (train.n_items, k)).astype(np.float32)
        bias = np.zeros(train.n_items, dtype=np.float32)
        m = train.matrix
        owners, _, _ = train.coo()
        seen = seen_bitmap(m.indptr, m.indices, train.n_items)
        strata = min(int(self.strata), train.n_users // MIN_GROUP, train.n_items // MIN_GROUP)
        lr, reg = float(self.lr), float(self.reg)
        # busiest first: each epoch's groups are dealt along these, so groups balance
        user_order = np.argsort(-train.user_counts(), kind="stable")
        item_order = np.argsort(-train.item_counts(), kind="stable")
        for _ in range(int(self.epochs)):
            seed = int(rng.integers(2**31 - 1))
            if strata > 1:
                bpr_epoch_stratified(
                    m.indptr, m.indices, owners, X, Y, bias, lr, reg, seed, seen, strata,
                    user_order, item_order,
                )  # fmt: skip
            else:
                bpr_epoch(m.indptr, m.indices, owners, X, Y, bias, lr, reg, m.nnz, seed, seen)
        self.user_factors_, self.item_factors_, self.item_bias_ = X, Y, bias

    def _score(self, users: np.ndarray, items: np.ndarray | None) -> np.ndarray:
        Y = self.item_factors_ if items is None else self.item_factors_[items]
        b = self.item_bias_ if items is None else self.item_bias_[items]
        return self.user_factors_[users] @ Y.T + b[None, :]

    def _item_similarities(self, items: np.ndarray) -> np.ndarray:
        """The cosine of the item factors."""
        return cosine_rows(self.item_factors_, items)

    def retrieval_vectors(self) -> tuple[np.ndarray, np.ndarray]:
        """(users float32 [n_users, k + 1], items float32 [n_items, k + 1]) whose inner products
        are the scores, for an ANN index (recforge.retrieval): [x_u, 1]·[y_i, b_i]."""
        self._check_fitted("retrieval_vectors")
        items = np.hstack([self.item_factors_, self.item_bias_[:, None]])
        users = self.retrieval_user_vectors(np.arange(self.n_users_))
        return users, np.asarray(items, dtype=np.float32)

    def retrieval_user_vectors(self, users: Any) -> np.ndarray:
        """float32 [B, k + 1]: rows `users` [B] of `retrieval_vectors()[0]`."""
        self._check_fitted("retrieval_user_vectors")
        u = self._as_users(users, "retrieval_user_vectors")
        ones = np.ones((u.size, 1), dtype=np.float32)
        return np.hstack([self.user_factors_[u], ones]).astype(np.float32)
