"""Most-popular baseline: the same ranking for everyone, seen items removed."""

from __future__ import annotations

import numpy as np

from recforge._validation import check_bool, check_seed
from recforge.data.interactions import Interactions
from recforge.models.base import Recommender
from recforge.models.registry import register

__all__ = ["Popularity"]


@register
class Popularity(Recommender):
    """Scores each item by its number of training interactions (or the sum of their values).

    weighted: sum the interaction values (e.g. play counts) instead of counting interactions.
    seed: accepted for protocol uniformity; the model is deterministic.
    """

    name = "popularity"
    description = "Most popular items first (interaction counts or summed weights)"
    _learned = ("item_scores_",)

    item_scores_: np.ndarray

    def __init__(self, *, weighted: bool = False, seed: int | None = None) -> None:
        self.weighted = weighted
        self.seed = seed

    def _validate_params(self) -> None:
        check_bool(self.weighted, "weighted", "Popularity")
        check_seed(self.seed, "seed", "Popularity")

    def _fit(self, train: Interactions, valid: Interactions | None) -> None:
        m = train.matrix
        weights = m.data.astype(np.float64) if self.weighted else None
        self.item_scores_ = np.bincount(m.indices, weights=weights, minlength=train.n_items).astype(
            np.float32
        )

    def _score(self, users: np.ndarray, items: np.ndarray | None) -> np.ndarray:
        row = self.item_scores_ if items is None else self.item_scores_[items]
        return np.broadcast_to(row, (users.size, row.size))
