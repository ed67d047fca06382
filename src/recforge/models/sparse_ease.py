"""Sparse EASE: EASE's item-item weights with each item's column restricted to its k
most co-occurring items, for catalogues where a dense I × I inverse does not fit.

EASE's column j is the ridge regression of item j's column of X on all other items. Here it
is the same regression on j's `neighbours` items of largest co-occurrence count XᵀX only:

    B[N_j, j] = (G[N_j, N_j] + λI)⁻¹ G[N_j, j],   G = XᵀX,   score(u) = x_u·B
(the neighbourhood restriction of SLIM's fsSLIM, Ning & Karypis 2012, with EASE's closed
form). Fitting takes G as a sparse matrix and I small solves of k × k, in parallel; B is
sparse CSR [I, I] with at most k entries per column (12·k·I bytes; the fit peaks near
30·k·I bytes besides the sparse G).
"""

from __future__ import annotations

from typing import Any, ClassVar

import numpy as np
import scipy.sparse as sp
from threadpoolctl import threadpool_limits

from recforge._validation import check_float, check_int, check_seed
from recforge.data.interactions import Interactions
from recforge.models.base import Recommender
from recforge.models.registry import register

__all__ = ["SparseEASE"]


@register
class SparseEASE(Recommender):
    """EASE with each item's weights restricted to its k most co-occurring items.

    reg: λ, the L2 weight on B (as EASE's).
    neighbours: k, the items each item's column may weigh (more: closer to EASE, slower; the
        default was chosen on validation, benchmarks/bench_ease.py).
    seed: accepted for uniformity; the fit is exact and deterministic.
    """

    name = "sparseease"
    description = "EASE restricted to each item's k most co-occurring items (sparse B)"
    supports_history = True
    _learned: ClassVar[tuple[str, ...]] = ("weights_indptr_", "weights_indices_", "weights_data_")

    weights_indptr_: np.ndarray  # CSR of B [n_items, n_items]: row i = the weights of item i
    weights_indices_: np.ndarray
    weights_data_: np.ndarray  # float32

    def __init__(
        self, *, reg: float = 250.0, neighbours: int = 400, seed: int | None = None
    ) -> None:
        self.reg = reg
        self.neighbours = neighbours
        self.seed = seed

    def _validate_params(self) -> None:
        check_float(self.reg, "reg", "SparseEASE", low=0.0, low_open=True)
        check_int(self.neighbours, "neighbours", "SparseEASE", low=1)
        check_seed(self.seed, "seed", "SparseEASE")

    def _fit(self, train: Interactions, valid: Interactions | None) -> None:
        from recforge.models.ease_kernels import restricted_ridge

        X = train.binary()
        gram = sp.csr_array(X.T @ X, dtype=np.float64)  # co-occurrence counts [I, I]
        gram.sort_indices()
        n, k = gram.shape[0], int(min(self.neighbours, max(gram.shape[0] - 1, 1)))
        rows = np.full((n, k), -1, dtype=np.int32)
        weights = np.zeros((n, k), dtype=np.float32)
        reg = float(self.reg)
        with threadpool_limits(limits=1, user_api="blas"):  # numba's threads solve in parallel
            restricted_ridge(gram.indptr, gram.indices, gram.data, k, reg, rows, weights)
        kept = rows >= 0
        targets = np.broadcast_to(np.arange(n, dtype=np.int32)[:, None], rows.shape)[kept]
        B = sp.csr_array(
            (weights[kept], (rows[kept], targets)), shape=(n, n)
        )  # B[i, j]: how much having seen item i adds to item j's score
        B.sort_indices()
        self._set_weights(B)

    def _set_weights(self, B: sp.csr_array) -> None:
        self.weights_indptr_ = B.indptr.astype(np.int64)
        self.weights_indices_ = B.indices.astype(np.int32)
        self.weights_data_ = B.data.astype(np.float32)
        self._weights: sp.csr_array | None = B

    @property
    def weights(self) -> sp.csr_array:
        """B, sparse float32 [n_items, n_items], zero diagonal."""
        cached = getattr(self, "_weights", None)
        if cached is None:
            n = self.weights_indptr_.size - 1
            triplet = (self.weights_data_, self.weights_indices_, self.weights_indptr_)
            cached = self._weights = sp.csr_array(triplet, shape=(n, n))
        return cached

    def _set_state(self, state: dict[str, Any]) -> None:
        super()._set_state(state)
        self._weights = None

    def _score(self, users: np.ndarray, items: np.ndarray | None) -> np.ndarray:
        B = self.weights if items is None else self.weights[:, items]
        return np.asarray((self.seen_[users] @ B).toarray(), dtype=np.float32)

    def _item_similarities(self, items: np.ndarray) -> np.ndarray:
        """Rows B[j, ·]: what the model would score for a user who has seen only item j."""
        return np.asarray(self.weights[items].toarray(), dtype=np.float32)

    def _explain_weights(self, user: int, item: int, history: np.ndarray) -> tuple[np.ndarray, str]:
        """B[j, item] for each history item j: the score is exactly their sum."""
        column = self.weights[history][:, [item]].toarray().ravel()
        return column.astype(np.float32), "contribution"

    def _history_scores(self, history: np.ndarray) -> np.ndarray:
        """x·B for the new user's 0/1 history x."""
        return np.asarray(self.weights[history].sum(axis=0), dtype=np.float32).ravel()
