"""PureSVD (Cremonesi et al. 2010): a truncated SVD of the sparse user-item matrix."""

from __future__ import annotations

from typing import Any, ClassVar

import numpy as np
import scipy.sparse.linalg

from recforge._topk import topk_padded
from recforge._validation import check_int, check_seed
from recforge.data.interactions import Interactions
from recforge.errors import DataError
from recforge.models.base import Recommender
from recforge.models.factors import cosine_neighbours
from recforge.models.registry import register

__all__ = ["PureSVD"]


@register
class PureSVD(Recommender):
    """X ≈ U·Σ·Vᵀ with the k largest singular triplets of the sparse matrix X (missing = 0),
    by ARPACK's Lanczos iteration (scipy.sparse.linalg.svds): no dense matrix is ever formed.

    score(u) = (UΣ)_u·Vᵀ, the rank-k reconstruction of u's row; a new user's history h (0/1)
    folds in as h·V·Vᵀ. factors: k; when k ≥ min(users, items) the decomposition is complete
    (min(users, items) factors, the exact matrix) and is computed densely. seed: ARPACK's start.
    """

    name = "puresvd"
    description = "PureSVD: truncated sparse SVD (Lanczos), fold-in for new users"
    supports_history = True
    _learned: ClassVar[tuple[str, ...]] = ("user_factors_", "item_factors_")

    user_factors_: np.ndarray  # UΣ [n_users, k]
    item_factors_: np.ndarray  # V [n_items, k]

    def __init__(self, *, factors: int = 50, seed: int | None = None) -> None:
        self.factors = factors
        self.seed = seed

    def _validate_params(self) -> None:
        check_int(self.factors, "factors", "PureSVD", low=1)
        check_seed(self.seed, "seed", "PureSVD")

    def _fit(self, train: Interactions, valid: Interactions | None) -> None:
        X = train.matrix.astype(np.float64)
        if int(self.factors) >= min(X.shape):  # the complete decomposition
            U, s, Vt = np.linalg.svd(X.toarray(), full_matrices=False)
        else:
            rng = np.random.default_rng(self.seed)
            start = rng.uniform(-1.0, 1.0, min(X.shape))
            U, s, Vt = scipy.sparse.linalg.svds(X, k=int(self.factors), v0=start)
        order = np.argsort(-s, kind="stable")
        U, s, Vt = U[:, order], s[order], Vt[order]
        signs = np.sign(Vt[np.arange(Vt.shape[0]), np.abs(Vt).argmax(axis=1)])  # fix ± freedom
        signs[signs == 0] = 1.0
        self.user_factors_ = ((U * s) * signs).astype(np.float32)
        self.item_factors_ = (Vt.T * signs).astype(np.float32)

    def _score(self, users: np.ndarray, items: np.ndarray | None) -> np.ndarray:
        V = self.item_factors_ if items is None else self.item_factors_[items]
        return self.user_factors_[users] @ V.T

    def similar_items(self, items: Any, k: int = 10) -> tuple[np.ndarray, np.ndarray]:
        """Items closest by the cosine of their right singular vectors (scaled rows of V)."""
        self._check_fitted("similar_items")
        k = check_int(k, "k", "similar_items", low=1)
        return cosine_neighbours(self.item_factors_, self._as_items(items, "similar_items"), k)

    def recommend_for_history(self, items: Any, k: int = 10) -> tuple[np.ndarray, np.ndarray]:
        """Top-k for a new user who interacted with `items` (indices), by fold-in h·V·Vᵀ.

        Returns (ids int32 [1, k], scores float32 [1, k]); the history is excluded.
        """
        self._check_fitted("recommend_for_history")
        k = check_int(k, "k", "recommend_for_history", low=1)
        history = np.unique(self._as_items(items, "recommend_for_history"))
        if history.size == 0:
            raise DataError("recommend_for_history needs at least one item of the new user")
        V = self.item_factors_
        scores = (V @ V[history].sum(axis=0))[None, :].astype(np.float32)
        scores[0, history] = -np.inf
        return topk_padded(scores, k)
