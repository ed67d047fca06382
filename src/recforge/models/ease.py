"""EASE (Steck 2019): a closed-form item-item linear autoencoder with a zero diagonal.

    P = (XᵀX + λI)⁻¹,   B = I − P·diag(1/diag(P))   (so B_jj = 0),   score(u) = x_u·B
X: the binary user-item matrix [U, I].
B is dense: 8·I² bytes while fitting (float64), 4·I² kept (float32) — 11 GB at 27k items.
"""

from __future__ import annotations

from typing import ClassVar

import numpy as np
import scipy.linalg

from recforge._validation import check_float, check_seed
from recforge.data.interactions import Interactions
from recforge.models.base import Recommender
from recforge.models.registry import register

__all__ = ["EASE"]


@register
class EASE(Recommender):
    """Embarrassingly shallow autoencoder: item-item weights from one regularised inverse.

    reg: λ, the L2 weight on B (RecBole's default 250; Steck used 500 on ML-20M).
    seed: accepted for uniformity; the fit is exact and deterministic.
    """

    name = "ease"
    description = "EASE: closed-form item-item linear autoencoder (Steck 2019)"
    supports_history = True
    _learned: ClassVar[tuple[str, ...]] = ("weights_",)

    weights_: np.ndarray  # B, float32 [n_items, n_items], zero diagonal

    def __init__(self, *, reg: float = 250.0, seed: int | None = None) -> None:
        self.reg = reg
        self.seed = seed

    def _validate_params(self) -> None:
        check_float(self.reg, "reg", "EASE", low=0.0, low_open=True)
        check_seed(self.seed, "seed", "EASE")

    def _fit(self, train: Interactions, valid: Interactions | None) -> None:
        X = train.binary()
        gram = (X.T @ X).toarray().astype(np.float64)
        gram[np.diag_indices_from(gram)] += float(self.reg)
        factor = scipy.linalg.cho_factor(gram, overwrite_a=True, check_finite=False)
        P = scipy.linalg.cho_solve(factor, np.eye(gram.shape[0]), check_finite=False)
        del gram, factor
        B = P / -np.diag(P)[None, :]
        B[np.diag_indices_from(B)] = 0.0
        self.weights_ = B.astype(np.float32)

    def _score(self, users: np.ndarray, items: np.ndarray | None) -> np.ndarray:
        B = self.weights_ if items is None else self.weights_[:, items]
        return np.asarray(self.seen_[users] @ B, dtype=np.float32)

    def _item_similarities(self, items: np.ndarray) -> np.ndarray:
        """Rows B[j, ·]: what EASE would score for a user who has seen only item j."""
        return self.weights_[items]

    def _explain_weights(self, user: int, item: int, history: np.ndarray) -> tuple[np.ndarray, str]:
        """B[j, item] for each history item j: the score is exactly their sum."""
        return self.weights_[history, item], "contribution"

    def _history_scores(self, history: np.ndarray) -> np.ndarray:
        """x·B for the new user's 0/1 history x."""
        return self.weights_[history].sum(axis=0, dtype=np.float32)
