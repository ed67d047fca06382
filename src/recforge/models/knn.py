"""Neighbourhood collaborative filtering: item-KNN and user-KNN.

Both keep sparse top-k similarities (see `similarity`), built in blocks, and use them two
ways:
- rating prediction (`predict`, explicit ratings): KNNBaseline (Koren 2010; Surprise's
  KNNBaseline),
      r̂(u, i) = b_ui + Σ_{j ∈ N^k(i; u)} s_ij·(r_uj − b_uj) / Σ s_ij,
  b_ui = μ + b_u + b_i from the ALS baseline ("bias"), N^k(i; u) the k most similar neighbours
  of i that u rated (user-KNN swaps the roles), among the `predict_neighbors` most similar.
- ranking (`score`, `recommend`): summed similarity, score(u, i) = Σ_{j ∈ I(u)} w_uj·s_ji
  (item-KNN, as implicit's ItemItemRecommender) or Σ_{v} s_uv·w_vi (user-KNN), w the training
  values (ratings or weights). On ratings the ranking similarity is the cosine of the rating
  vectors, kept apart from the prediction's (a residual similarity such as pearson_baseline
  predicts ratings well but ranks poorly). ranking="predicted" orders the KNNBaseline
  predictions instead, which favours rarely rated items and is a poor top-N ranker.
"""

from __future__ import annotations

from typing import Any, ClassVar

import numpy as np
import scipy.sparse as sp

from recforge._validation import check_choice, check_float, check_int, check_seed
from recforge.data.interactions import Interactions
from recforge.errors import ParameterError, UnsupportedOperationError
from recforge.models.base import Recommender
from recforge.models.baseline import BiasBaseline
from recforge.models.knn_neighbors import choose_neighbors
from recforge.models.registry import register
from recforge.models.similarity import topk_similarity

__all__ = ["ItemKNN", "UserKNN"]

SIMILARITIES = ("auto", "cosine", "pearson", "pearson_baseline", "adjusted_cosine", "jaccard")
RANKINGS = ("sum", "predicted")
# similarities kept per row for rating prediction by default: every positive one on catalogues
# up to this size, as Surprise's KNNBaseline (a 200-neighbour pool left too few of a user's
# rated items among an item's neighbours on larger catalogues)
PREDICT_NEIGHBORS = 2000
_RATING_ONLY = ("pearson", "pearson_baseline", "adjusted_cosine")


class _NeighbourhoodModel(Recommender):
    """Shared fitting and inference; subclasses say which side is compared (`_side`).

    Learned: sim_indptr_ / sim_indices_ / sim_data_ (the similarity CSR), rank_indptr_ /
    rank_indices_ / rank_data_ (the ranking similarity CSR: the same as sim_* except on ratings
    with a similarity other than cosine), train_values_ [nnz] (training values in `seen_`
    order), global_mean_, user_bias_, item_bias_ (zeros for implicit data), rating_min_ /
    rating_max_, similarity_ (the kind used), neighbors_ (the ranking's neighbour count: the
    parameter, or the one neighbors="auto" chose), neighbor_candidates_ / neighbor_scores_ (the
    counts "auto" tried and the held-out NDCG@10 of each; empty for a fixed count).
    """

    _side: ClassVar[str] = "item"
    predicts_ratings = True
    # artifacts saved before `ranking` existed ordered rating predictions on explicit data
    legacy_params: ClassVar[dict[str, Any]] = {"ranking": "predicted"}
    _learned: ClassVar[tuple[str, ...]] = (
        "sim_indptr_",
        "sim_indices_",
        "sim_data_",
        "rank_indptr_",
        "rank_indices_",
        "rank_data_",
        "train_values_",
        "global_mean_",
        "user_bias_",
        "item_bias_",
        "rating_min_",
        "rating_max_",
        "similarity_",
        "neighbors_",
        "neighbor_candidates_",
        "neighbor_scores_",
    )

    sim_indptr_: np.ndarray
    sim_indices_: np.ndarray
    sim_data_: np.ndarray
    rank_indptr_: np.ndarray
    rank_indices_: np.ndarray
    rank_data_: np.ndarray
    train_values_: np.ndarray
    global_mean_: float
    user_bias_: np.ndarray
    item_bias_: np.ndarray
    rating_min_: float
    rating_max_: float
    similarity_: str
    neighbors_: int
    neighbor_candidates_: np.ndarray
    neighbor_scores_: np.ndarray

    def __init__(
        self,
        *,
        similarity: str = "auto",
        neighbors: int | str = "auto",
        predict_neighbors: int | None = None,
        k: int = 40,
        min_k: int = 1,
        shrinkage: float | None = None,
        min_support: int = 1,
        ranking: str = "sum",
        seed: int | None = None,
    ) -> None:
        self.similarity = similarity
        self.neighbors = neighbors
        self.predict_neighbors = predict_neighbors
        self.k = k
        self.min_k = min_k
        self.shrinkage = shrinkage
        self.min_support = min_support
        self.ranking = ranking
        self.seed = seed

    def _validate_params(self) -> None:
        owner = type(self).__name__
        check_choice(self.similarity, "similarity", SIMILARITIES, owner)
        if self.neighbors != "auto":
            if isinstance(self.neighbors, str):
                raise ParameterError(
                    f"The 'neighbors' parameter of {owner} must be \"auto\" or an int >= 1. "
                    f"Got {self.neighbors!r} instead."
                )
            check_int(self.neighbors, "neighbors", owner, low=1)
        if self.predict_neighbors is not None:
            check_int(self.predict_neighbors, "predict_neighbors", owner, low=1)
        check_int(self.k, "k", owner, low=1)
        check_int(self.min_k, "min_k", owner, low=0)
        if self.shrinkage is not None:
            check_float(self.shrinkage, "shrinkage", owner, low=0.0)
        check_int(self.min_support, "min_support", owner, low=1)
        check_choice(self.ranking, "ranking", RANKINGS, owner)
        check_seed(self.seed, "seed", owner)

    def _check_training_data(self, train: Interactions) -> None:
        if not train.explicit and self.similarity in _RATING_ONLY:
            raise ParameterError(
                f"The 'similarity' parameter of {type(self).__name__} is {self.similarity!r}, "
                "which needs ratings, but these interactions are implicit; use 'cosine' or "
                "'jaccard'."
            )

    # ------------------------------------------------------------------ fitting
    def _fit(self, train: Interactions, valid: Interactions | None) -> None:
        kind = self.similarity
        if kind == "auto":
            kind = "pearson_baseline" if train.explicit else "cosine"
        shrinkage = self.shrinkage
        if shrinkage is None:
            shrinkage = 100.0 if kind == "pearson_baseline" else 0.0
        values = train.matrix.data.astype(np.float64)
        if train.explicit:
            base = BiasBaseline().fit(train)
            self.global_mean_ = base.global_mean_
            self.user_bias_, self.item_bias_ = base.user_bias_, base.item_bias_
        else:
            self.global_mean_ = 0.0
            self.user_bias_ = np.zeros(train.n_users, dtype=np.float32)
            self.item_bias_ = np.zeros(train.n_items, dtype=np.float32)
        users, items, _ = train.coo()
        compared = values
        if kind == "pearson_baseline":
            compared = values - self._baseline(users, items)
        elif kind == "adjusted_cosine":  # centred on the mean of the other side
            other = users if self._side == "item" else items
            size = train.n_users if self._side == "item" else train.n_items
            sums = np.bincount(other, weights=values, minlength=size)
            counts = np.maximum(np.bincount(other, minlength=size), 1)
            compared = values - (sums / counts)[other]

        def compared_rows(matrix: sp.csr_array) -> sp.csr_array:
            """A [n_users, n_items] matrix as the rows this side compares."""
            return sp.csr_array(matrix.T) if self._side == "item" else matrix

        def ranking_similarity(matrix: sp.csr_array, neighbors: int) -> sp.csr_array:
            """Ranking similarity from training values [n_users, n_items]: on ratings the
            cosine of the rating vectors, on implicit data the chosen similarity."""
            return topk_similarity(
                compared_rows(matrix),
                "cosine" if train.explicit else kind,
                neighbors=neighbors,
                shrinkage=0.0 if train.explicit else float(shrinkage),
                min_support=int(self.min_support),
            )

        if self.neighbors == "auto":
            seed = 0 if self.seed is None else int(self.seed)
            self.neighbors_, scores = choose_neighbors(
                train.matrix, train.timestamps, self._side, ranking_similarity, seed
            )
        else:
            self.neighbors_, scores = int(self.neighbors), {}
        self.neighbor_candidates_ = np.array(list(scores), dtype=np.int64)
        self.neighbor_scores_ = np.array(list(scores.values()), dtype=np.float64)
        if train.explicit:  # KNNBaseline picks its k among the user's rated ones of these
            pool = int(self.predict_neighbors or PREDICT_NEIGHBORS)
            rated = train.matrix
            X = compared_rows(sp.csr_array((compared, rated.indices, rated.indptr), rated.shape))
            similar = topk_similarity(
                X,
                "common_cosine" if kind in ("pearson_baseline", "adjusted_cosine") else kind,
                neighbors=pool,
                shrinkage=float(shrinkage),
                min_support=int(self.min_support),
            )
            ranked = similar
            if kind != "cosine" or pool != self.neighbors_:
                ranked = ranking_similarity(train.matrix, self.neighbors_)
        else:
            similar = ranked = ranking_similarity(train.matrix, self.neighbors_)
        self.sim_indptr_ = similar.indptr.astype(np.int64)
        self.sim_indices_ = similar.indices.astype(np.int32)
        self.sim_data_ = similar.data.astype(np.float32)
        self.rank_indptr_ = ranked.indptr.astype(np.int64)
        self.rank_indices_ = ranked.indices.astype(np.int32)
        self.rank_data_ = ranked.data.astype(np.float32)
        self.train_values_ = train.matrix.data.astype(np.float32)
        self.rating_min_ = float(values.min())
        self.rating_max_ = float(values.max())
        self.similarity_ = kind

    def _baseline(self, users: np.ndarray, items: np.ndarray) -> np.ndarray:
        """b_ui = μ + b_u + b_i (float64 [n]); a −1 index contributes no bias."""
        b_u = np.where(users >= 0, self.user_bias_[np.maximum(users, 0)], 0.0)
        b_i = np.where(items >= 0, self.item_bias_[np.maximum(items, 0)], 0.0)
        return self.global_mean_ + b_u + b_i

    def _set_state(self, state: dict[str, Any]) -> None:
        """Artifacts saved before `ranking` existed have no ranking similarity: they ranked
        with the prediction's (legacy ranking="predicted", or summed on implicit data)."""
        for name in ("indptr", "indices", "data"):
            state.setdefault(f"rank_{name}_", state[f"sim_{name}_"])
        state.setdefault("neighbors_", self.neighbors)
        state.setdefault("neighbor_candidates_", np.zeros(0, dtype=np.int64))
        state.setdefault("neighbor_scores_", np.zeros(0))
        super()._set_state(state)

    # ------------------------------------------------------------------ shared pieces
    def _similarity(self) -> sp.csr_array:
        """The prediction's similarity CSR [n, n]."""
        n = self.sim_indptr_.size - 1
        return sp.csr_array((self.sim_data_, self.sim_indices_, self.sim_indptr_), shape=(n, n))

    def _ranking_similarity(self) -> sp.csr_array:
        """The similarity CSR [n, n] that summed-similarity ranking reads."""
        n = self.rank_indptr_.size - 1
        return sp.csr_array((self.rank_data_, self.rank_indices_, self.rank_indptr_), shape=(n, n))

    def ranks_by_predicted_rating(self) -> bool:
        """Only with ranking="predicted" (on ratings); the default sums similarities."""
        return self.ranking == "predicted"

    def _ranks_by_prediction(self) -> bool:
        return bool(self.explicit_) and self.ranking == "predicted"

    def _train(self) -> sp.csr_array:
        """Training values as CSR [n_users, n_items]."""
        seen = self.seen_
        return sp.csr_array((self.train_values_, seen.indices, seen.indptr), shape=seen.shape)

    def _residuals(self) -> sp.csr_array:
        """Training residuals r − b_ui as the CSR the neighbourhood term reads: owner rows
        (users for item-KNN, items for user-KNN), columns ascending. Built once per fit or load:
        every scored batch reads it."""
        cached = getattr(self, "_residual_cache", None)
        if cached is not None and cached[0] is self.train_values_:
            return cached[1]
        train = self._train()
        users_, items_ = np.repeat(np.arange(self.n_users_), np.diff(train.indptr)), train.indices
        residual = train.data - self._baseline(users_, items_)
        if self._side == "item":
            rated = sp.csr_array((residual, train.indices, train.indptr), shape=train.shape)
        else:
            rated = sp.csr_array((residual, (items_, users_)), shape=train.shape[::-1])
        rated.sort_indices()
        self._residual_cache = (self.train_values_, rated)
        return rated

    def _adjustments(self, users: np.ndarray, items: np.ndarray) -> np.ndarray:
        """The neighbourhood term of the prediction for index pairs (float64 [n])."""
        from recforge.models.knn_kernels import neighbourhood_estimates

        rated = self._residuals()
        # item-KNN: the user's rated items among the item's neighbours; user-KNN: the users
        # who rated the item among the user's neighbours.
        owners, targets = (users, items) if self._side == "item" else (items, users)
        S = self._similarity()
        out = np.zeros(owners.size)
        neighbourhood_estimates(
            rated.indptr, rated.indices, rated.data, S.indptr, S.indices, S.data,
            owners.astype(np.int64), targets.astype(np.int64), int(self.k), int(self.min_k), out,
        )  # fmt: skip
        return out

    # ------------------------------------------------------------------ inference
    def _score(self, users: np.ndarray, items: np.ndarray | None) -> np.ndarray:
        columns = np.arange(self.n_items_) if items is None else items
        if self._ranks_by_prediction():
            pairs_u = np.repeat(users, columns.size)
            pairs_i = np.tile(columns, users.size)
            estimate = self._baseline(pairs_u, pairs_i) + self._adjustments(pairs_u, pairs_i)
            return estimate.reshape(users.size, columns.size)
        train = self._train()
        S = self._ranking_similarity()
        scores = train[users] @ S if self._side == "item" else S[users] @ train
        return np.asarray(scores[:, columns].toarray(), dtype=np.float32)

    def _predict(self, users: np.ndarray, items: np.ndarray) -> np.ndarray:
        if not self.explicit_:
            raise UnsupportedOperationError(
                f"this {type(self).__name__} was trained on implicit feedback, so it ranks items "
                "but does not predict ratings"
            )
        estimate = self._baseline(users, items)
        known = (users >= 0) & (items >= 0)
        if known.any():
            estimate[known] += self._adjustments(users[known], items[known])
        return np.clip(estimate, self.rating_min_, self.rating_max_)


@register
class ItemKNN(_NeighbourhoodModel):
    """Item-based neighbourhood model: summed-similarity ranking, KNNBaseline rating prediction.

    similarity: "auto" (pearson_baseline for ratings, cosine for implicit), "cosine", "pearson",
        "pearson_baseline", "adjusted_cosine" (ratings centred on each user's mean) or "jaccard".
    neighbors: similarities kept per item for ranking (sparse top-k, built in blocks), or
        "auto": the count among 10, 20, 50, 100 and 200 that ranks best a held-out item of up to
        2,000 training users (each one's newest with timestamps; `knn_neighbors`), fitted
        again on all the data; neighbors_ keeps the choice.
    predict_neighbors: similarities kept per item for rating prediction (ratings only), among
        which KNNBaseline takes the k most similar the user rated; None: 2,000, which keeps
        every positive similarity on catalogues of up to 2,001 items (as Surprise).
    k, min_k: at most k neighbours enter a rating prediction; fewer than min_k leave the
        baseline alone (Surprise's KNNBaseline defaults 40 and 1).
    shrinkage: multiplies a similarity by (n − 1)/(n − 1 + shrinkage), n = common users;
        None: 100 for pearson_baseline (as Surprise), 0 otherwise.
    min_support: pairs with fewer common users get no similarity.
    ranking: "sum" ranks by Σ_j r_uj·s_ji over the user's items j (on ratings with the cosine of
        the items' rating vectors, whatever `similarity` predicts with); "predicted" orders
        the KNNBaseline predictions, a poor top-N ranker (rarely rated items with a few high
        ratings come first). Implicit data always ranks by the sum.
    seed: draws neighbors="auto"'s held-out users and (without timestamps) items; None: 0, so
        a fit repeats.
    """

    name = "itemknn"
    description = "Item-KNN: summed-similarity ranking, KNNBaseline rating prediction, sparse top-k"
    supports_history = True
    _side = "item"

    def _item_similarities(self, items: np.ndarray) -> np.ndarray:
        """The kept neighbours' similarities (the ranking's, unless ranking="predicted");
        items outside them never come up (−inf)."""
        S = self._similarity() if self._ranks_by_prediction() else self._ranking_similarity()
        rows = S[items].toarray()
        rows[rows <= 0] = -np.inf
        return rows

    def _explain_weights(self, user: int, item: int, history: np.ndarray) -> tuple[np.ndarray, str]:
        """Summed ranking: value(user, j) · S[j, item] per history item j, whose sum is the
        score; ranking="predicted" on ratings: the similarity of each history item to `item`."""
        if self._ranks_by_prediction():
            return super()._explain_weights(user, item, history)
        values = self._train()[[user]].toarray()[0, history]
        column = self._ranking_similarity()[:, [item]].toarray()[history, 0]
        return values * column, "contribution"

    def _history_scores(self, history: np.ndarray) -> np.ndarray:
        """Summed (ranking) similarity to the new user's items."""
        weights = np.zeros(self.n_items_, dtype=np.float32)
        weights[history] = 1.0
        return self._ranking_similarity().T @ weights


@register
class UserKNN(_NeighbourhoodModel):
    """User-based neighbourhood model; the parameters of "itemknn" with users compared
    (adjusted_cosine centres on each item's mean; min_support counts common items)."""

    name = "userknn"
    description = "User-KNN: summed-similarity ranking, KNNBaseline rating prediction, sparse top-k"
    _side = "user"
