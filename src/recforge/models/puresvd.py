"""PureSVD (Cremonesi et al. 2010): a truncated SVD of the sparse user-item matrix."""

from __future__ import annotations

from typing import Any, ClassVar

import numpy as np
import scipy.sparse.linalg

from recforge._validation import check_int, check_seed
from recforge.data.interactions import Interactions
from recforge.models.base import Recommender
from recforge.models.factors import cosine_rows
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
        # float64 products of the float32 factors are exact, so a batch (gemm) and a single
        # user (gemv) round to the same float32 score and ties break the same way
        return self.user_factors_[users].astype(np.float64) @ V.T.astype(np.float64)

    def _item_similarities(self, items: np.ndarray) -> np.ndarray:
        """The cosine of the right singular vectors (rows of V)."""
        return cosine_rows(self.item_factors_, items)

    def retrieval_vectors(self) -> tuple[np.ndarray, np.ndarray]:
        """(users float32 [n_users, k], items float32 [n_items, k]): UΣ and V, whose inner
        products are the scores, for an ANN index (recforge.retrieval)."""
        self._check_fitted("retrieval_vectors")
        users = self.retrieval_user_vectors(np.arange(self.n_users_))
        return users, np.array(self.item_factors_, dtype=np.float32)

    def retrieval_user_vectors(self, users: Any) -> np.ndarray:
        """float32 [B, k]: rows `users` [B] of `retrieval_vectors()[0]`."""
        self._check_fitted("retrieval_user_vectors")
        u = self._as_users(users, "retrieval_user_vectors")
        return np.asarray(self.user_factors_[u], dtype=np.float32)

    def _history_scores(self, history: np.ndarray) -> np.ndarray:
        """Fold-in: h·V·Vᵀ for the 0/1 history h."""
        V = self.item_factors_
        return V @ V[history].sum(axis=0)
