"""Content-based recommendation: item profiles from features, user profiles from liked items.

Item vector v_i: each feature block (genres and other categories or sets, z-scored numbers,
TF-IDF of each text feature) is L2-normalised, weighted, and the blocks are put side by side;
the whole row is then L2-normalised. User profile p_u = Σ_{i liked by u} w_ui·v_i, where
w_ui = r_ui − r̄_u for ratings above the user's mean (explicit) or the interaction weight
(implicit). score(u, i) = p_u·v_i, so items nobody has interacted with yet (cold start) are
ranked like any other, from their features alone.
"""

from __future__ import annotations

from typing import ClassVar

import numpy as np
import scipy.sparse as sp

from recforge._validation import check_float, check_int, check_seed
from recforge.data.features import FeatureTable
from recforge.data.interactions import Interactions
from recforge.data.text import tfidf
from recforge.errors import DataError
from recforge.models.base import Recommender
from recforge.models.registry import register

__all__ = ["ContentBased", "item_vectors"]


def item_vectors(
    features: FeatureTable, *, text_weight: float = 1.0, min_df: int = 2
) -> sp.csr_array:
    """float32 CSR [n_items, d] of L2-normalised item vectors (see the module docstring)."""
    blocks = []
    for name in features:
        feature = features[name]
        if feature.kind == "text":
            block, _ = tfidf(np.asarray(feature.values), min_df=min_df)
            weight = text_weight
        else:
            block, weight = feature.encode(), 1.0
        blocks.append(_unit_rows(sp.csr_array(block, dtype=np.float64)) * weight)
    if not blocks:
        raise DataError("the item feature table has no features")
    return sp.csr_array(_unit_rows(sp.csr_array(sp.hstack(blocks, format="csr"))), dtype=np.float32)


def _unit_rows(m: sp.csr_array) -> sp.csr_array:
    norms = np.sqrt(np.asarray(m.multiply(m).sum(axis=1)).ravel())
    norms[norms == 0] = 1.0
    return sp.csr_array(sp.diags_array(1.0 / norms) @ m)


@register
class ContentBased(Recommender):
    """Recommends items whose features resemble those of the items a user liked.

    Needs `fit(train, item_features=FeatureTable)`. text_weight: weight of each text block
    against a categorical block (1 = equal); min_df: words in fewer items are ignored.
    seed: accepted for uniformity; fitting is deterministic.
    """

    name = "content"
    description = "Content-based: TF-IDF / genre item profiles, user profiles from liked items"
    supports_history = True
    uses_item_features = True
    _learned: ClassVar[tuple[str, ...]] = (
        "item_data_",
        "item_indices_",
        "item_indptr_",
        "profile_data_",
        "profile_indices_",
        "profile_indptr_",
        "dims_",
    )

    item_data_: np.ndarray
    item_indices_: np.ndarray
    item_indptr_: np.ndarray
    profile_data_: np.ndarray
    profile_indices_: np.ndarray
    profile_indptr_: np.ndarray
    dims_: int

    def __init__(
        self, *, text_weight: float = 1.0, min_df: int = 2, seed: int | None = None
    ) -> None:
        self.text_weight = text_weight
        self.min_df = min_df
        self.seed = seed

    def _validate_params(self) -> None:
        check_float(self.text_weight, "text_weight", "ContentBased", low=0.0)
        check_int(self.min_df, "min_df", "ContentBased", low=1)
        check_seed(self.seed, "seed", "ContentBased")

    def _fit(self, train: Interactions, valid: Interactions | None) -> None:
        assert self._item_features is not None  # checked by Recommender.fit
        V = item_vectors(
            self._item_features, text_weight=float(self.text_weight), min_df=int(self.min_df)
        )
        P = sp.csr_array(self._liking(train) @ V, dtype=np.float32)
        self.item_data_, self.item_indices_, self.item_indptr_ = V.data, V.indices, V.indptr
        self.profile_data_, self.profile_indices_ = P.data, P.indices
        self.profile_indptr_ = P.indptr
        self.dims_ = int(V.shape[1])

    @staticmethod
    def _liking(train: Interactions) -> sp.csr_array:
        """w [U, I]: above-mean ratings minus the user's mean, or the implicit weights."""
        m = train.matrix
        if not train.explicit:
            return sp.csr_array(m, dtype=np.float64)
        counts = np.diff(m.indptr)
        rows = np.repeat(np.arange(m.shape[0]), counts)
        means = np.bincount(rows, weights=m.data, minlength=m.shape[0]) / np.maximum(counts, 1)
        weights = np.maximum(m.data - means[rows], 0.0)
        # A user who gave every item the same rating likes them all equally.
        likes_some = np.bincount(rows, weights=weights > 0, minlength=m.shape[0]) > 0
        weights[~likes_some[rows]] = 1.0
        return sp.csr_array((weights, m.indices, m.indptr), shape=m.shape)

    def _items(self) -> sp.csr_array:
        return sp.csr_array(
            (self.item_data_, self.item_indices_, self.item_indptr_),
            shape=(self.item_indptr_.size - 1, int(self.dims_)),
        )

    def _profiles(self) -> sp.csr_array:
        return sp.csr_array(
            (self.profile_data_, self.profile_indices_, self.profile_indptr_),
            shape=(self.profile_indptr_.size - 1, int(self.dims_)),
        )

    def _score(self, users: np.ndarray, items: np.ndarray | None) -> np.ndarray:
        V = self._items() if items is None else self._items()[items]
        return np.asarray((self._profiles()[users] @ V.T).toarray(), dtype=np.float32)

    def _item_similarities(self, items: np.ndarray) -> np.ndarray:
        """The cosine of the (unit) item vectors: items with the most similar features."""
        V = self._items()
        return (V[items] @ V.T).toarray()

    def _history_scores(self, history: np.ndarray) -> np.ndarray:
        """The history's summed item vectors as the profile of a new user who liked them."""
        V = self._items()
        return V @ np.asarray(V[history].sum(axis=0)).ravel()
