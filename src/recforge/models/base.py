"""The `Recommender` protocol that every model, classical or deep, follows.

A model stores its keyword-only hyper-parameters in `__init__` and nothing else. `fit` validates
them, records what it was trained on (id maps, the seen-item matrix) and learns attributes whose
names end in "_". `recommend` is written once here, on top of each model's `_score`.
"""

from __future__ import annotations

import inspect
import math
from abc import ABC, abstractmethod
from collections.abc import Sequence
from pathlib import Path
from typing import Any, ClassVar, Self

import numpy as np
import scipy.sparse as sp

from recforge._topk import topk_padded
from recforge._validation import check_float, check_int
from recforge.data.features import FeatureTable
from recforge.data.idmap import IdMap
from recforge.data.interactions import Interactions
from recforge.errors import DataError, NotFittedError, ParameterError, UnsupportedOperationError

__all__ = ["Recommender"]

HISTORY_SCORE_BYTES = 64 * 2**20  # score rows one pass of recommend_for_histories holds


class Recommender(ABC):
    """Base class of all recommenders.

    Fitted attributes shared by every model:
        user_ids_, item_ids_: IdMap of the training data (indices are rows / columns).
        n_users_, n_items_: int.
        seen_: binary CSR [n_users_, n_items_] of the training interactions.
        explicit_: whether the training values were ratings.
        train_fingerprint_: `Interactions.fingerprint()` of the training data (None for a
            model loaded from a format-1 file).
        min_rating_: the `min_rating` given to fit (None: every interaction was learned from).
        disliked_: binary CSR [n_users_, n_items_] of the training ratings below min_rating_
            (None without one): not learned from, never recommended, never cited by explain.
    Subclasses list their own learned attributes in `_learned` so they can be saved.
    """

    name: ClassVar[str] = ""
    description: ClassVar[str] = ""
    predicts_ratings: ClassVar[bool] = False
    supports_history: ClassVar[bool] = False
    uses_item_features: ClassVar[bool] = False  # fit needs item_features=
    accepts_side_features: ClassVar[bool] = False  # fit uses user/item features when given
    _learned: ClassVar[tuple[str, ...]] = ()
    # parameters added after artifacts of the model were first saved → the behaviour those
    # artifacts were trained with, which loading an artifact without them restores
    legacy_params: ClassVar[dict[str, Any]] = {}

    user_ids_: IdMap
    item_ids_: IdMap
    n_users_: int
    n_items_: int
    seen_: sp.csr_array
    explicit_: bool
    train_fingerprint_: str | None
    min_rating_: float | None = None
    disliked_: sp.csr_array | None = None

    # ------------------------------------------------------------------ parameters
    @classmethod
    def param_names(cls) -> list[str]:
        """Names of the keyword-only hyper-parameters of `__init__`."""
        signature = inspect.signature(cls.__init__)
        return [
            p.name
            for p in signature.parameters.values()
            if p.kind is inspect.Parameter.KEYWORD_ONLY
        ]

    @classmethod
    def param_defaults(cls) -> dict[str, Any]:
        signature = inspect.signature(cls.__init__)
        return {
            p.name: p.default
            for p in signature.parameters.values()
            if p.kind is inspect.Parameter.KEYWORD_ONLY
        }

    def get_params(self) -> dict[str, Any]:
        """Hyper-parameters as given to `__init__`."""
        return {name: getattr(self, name) for name in self.param_names()}

    def __repr__(self) -> str:
        defaults = self.param_defaults()
        changed = [f"{k}={v!r}" for k, v in self.get_params().items() if v != defaults.get(k)]
        return f"{type(self).__name__}({', '.join(changed)})"

    def ranks_by_predicted_rating(self) -> bool:
        """Whether `recommend` orders predicted ratings. On rating data that is a poor top-N
        ranker (it favours rarely rated items whose few ratings are high): for top-N use a
        ranking model (ease, itemknn, ials, bpr, multvae …; benchmarks/README.md, ranking)."""
        return self.predicts_ratings

    def _validate_params(self) -> None:
        """Raise ParameterError for a bad hyper-parameter (called by `fit`)."""

    def _check_training_data(self, train: Interactions) -> None:
        """Raise DataError when the training data does not suit the model (called by `fit`)."""

    # ------------------------------------------------------------------ fitting
    def fit(
        self,
        train: Interactions,
        valid: Interactions | None = None,
        *,
        min_rating: float | None = None,
        item_features: FeatureTable | None = None,
        user_features: FeatureTable | None = None,
    ) -> Self:
        """Learn from `train`; `valid` (same id maps) is used by models that early-stop.

        min_rating: ratings only; learn from the interactions rated at least this (and early
        stop on such valid ones). The lower-rated ones are kept apart in `disliked_`: they
        shape nothing, are never recommended (like seen items) and never explain anything.
        None (the default) learns from every rating: on MovieLens a low rating still says
        what a user chose to watch, which is what top-N predicts (benchmarks/README.md).
        item_features, user_features: FeatureTables of the items / users (any id map: they are
        aligned to train's). Models with `uses_item_features` need item features; models with
        `accepts_side_features` use whichever is given; other models ignore them.
        """
        if not isinstance(train, Interactions):
            raise DataError(
                f"fit expects recforge Interactions, got {type(train).__name__}; build them with "
                "recforge.data.load, read_interactions or Interactions.from_dataframe"
            )
        if train.nnz == 0:
            raise DataError("the training data has no interactions")
        if valid is not None and (
            not isinstance(valid, Interactions)
            or valid.user_ids != train.user_ids
            or valid.item_ids != train.item_ids
        ):
            raise DataError(
                "valid must be Interactions sharing the training id maps (take both from one "
                "split, or use valid.restrict(train.user_ids, train.item_ids))"
            )
        self._validate_params()
        fingerprint = train.fingerprint()
        train, valid, disliked = _split_by_rating(train, valid, min_rating)
        self._check_training_data(train)
        self._item_features: FeatureTable | None = None
        self._user_features: FeatureTable | None = None
        if self.uses_item_features and not isinstance(item_features, FeatureTable):
            raise DataError(
                f"{type(self).__name__} learns from item features: pass "
                "item_features=<FeatureTable> to fit (e.g. load_movielens(...).item_features)"
            )
        if self.uses_item_features or self.accepts_side_features:
            for given, what in ((item_features, "item_features"), (user_features, "user_features")):
                if given is not None and not isinstance(given, FeatureTable):
                    raise DataError(
                        f"{what} must be a recforge FeatureTable, got {type(given).__name__}"
                    )
            if item_features is not None:
                self._item_features = item_features.align(train.item_ids)
            if user_features is not None and self.accepts_side_features:
                self._user_features = user_features.align(train.user_ids)
        self.user_ids_ = train.user_ids
        self.item_ids_ = train.item_ids
        self.n_users_ = train.n_users
        self.n_items_ = train.n_items
        self.seen_ = train.binary()
        self.explicit_ = train.explicit
        self.train_fingerprint_ = fingerprint
        self.min_rating_ = None if min_rating is None else float(min_rating)
        self.disliked_ = disliked
        self._excluded_cache: tuple[sp.csr_array, sp.csr_array] | None = None
        try:
            self._fit(train, valid)
            diverged = self._non_finite_learned()
            if diverged is not None:
                raise ParameterError(
                    f"{type(self).__name__} diverged while fitting: its learned {diverged} "
                    f"holds NaN or infinite values; {self._divergence_advice()}"
                )
        except BaseException:
            del self.seen_  # a failed fit leaves no model to score or save from half a state
            raise
        finally:
            self._item_features = None  # used while fitting only; not kept alive by the model
            self._user_features = None
        return self

    def _non_finite_learned(self) -> str | None:
        """The name of the first learned attribute holding NaN or ±inf, or None."""
        for name, value in self._get_state().items():
            if isinstance(value, np.ndarray) and value.dtype.kind in "fc":
                if not bool(np.isfinite(value).all()):
                    return name
            elif isinstance(value, float) and not math.isfinite(value):
                return name
        return None

    def _divergence_advice(self) -> str:
        """What to change after a diverged fit: the learning rate where the model has one."""
        params = self.get_params()
        for key in ("lr", "learning_rate"):
            if key in params:
                return f"lower {key} (it is {params[key]}) and fit again"
        return "check the parameters (e.g. a larger reg) and fit again"

    @abstractmethod
    def _fit(self, train: Interactions, valid: Interactions | None) -> None:
        """Learn the model's own attributes (names ending in "_")."""

    @abstractmethod
    def _score(self, users: np.ndarray, items: np.ndarray | None) -> np.ndarray:
        """Scores float [B, M] for users int64 [B] and items int64 [M] (None: all items)."""

    def _check_fitted(self, action: str) -> None:
        if not hasattr(self, "seen_"):
            raise NotFittedError(
                f"This {type(self).__name__} instance is not fitted yet. "
                f"Call 'fit' before '{action}'."
            )

    # ------------------------------------------------------------------ index checks
    def _as_users(self, users: Any, action: str) -> np.ndarray:
        return _as_indices(users, self.n_users_, "user", action)

    def _as_items(self, items: Any, action: str) -> np.ndarray:
        return _as_indices(items, self.n_items_, "item", action)

    # ------------------------------------------------------------------ inference
    def score(self, users: Any, items: Any | None = None) -> np.ndarray:
        """Scores float32 [B, n_items_] (or [B, M] for the M given items); higher is better.

        users: user indices [B] (a single int gives one row).
        """
        self._check_fitted("score")
        u = self._as_users(users, "score")
        i = None if items is None else self._as_items(items, "score")
        out = np.asarray(self._score(u, i), dtype=np.float32)
        return out

    def recommend(
        self,
        users: Any,
        k: int = 10,
        exclude_seen: bool = True,
        candidates: Any | None = None,
    ) -> tuple[np.ndarray, np.ndarray]:
        """Top-k item indices and scores per user, best first.

        users: user indices [B] (a single int gives one row).
        candidates: item indices [M] to rank for every user, or [B, M] per user; None ranks all.
        Returns (ids int32 [B, k'], scores float32 [B, k']) with k' = min(k, M), M the items
        ranked (n_items_, or the candidates): a k above the catalogue gives the whole catalogue.
        Where fewer than k' items are eligible (seen items excluded) the row is padded with id -1
        and score -inf. Equal scores rank the lower index first.
        """
        self._check_fitted("recommend")
        k = check_int(k, "k", "recommend", low=1)
        u = self._as_users(users, "recommend")
        if candidates is None:
            scores = self.score(u)
            columns = None
        else:
            cand = np.asarray(candidates)
            if cand.ndim == 1:
                columns = np.broadcast_to(self._as_items(cand, "recommend"), (u.size, cand.size))
                scores = self.score(u, columns[0])
            elif cand.ndim == 2 and cand.shape[0] == u.size:
                columns = self._as_items(cand.reshape(-1), "recommend").reshape(cand.shape)
                scores = np.take_along_axis(self.score(u), columns, axis=1)
            else:
                raise ParameterError(
                    f"The 'candidates' parameter of recommend must have shape [M] or "
                    f"[{u.size}, M]. Got shape {cand.shape} instead."
                )
        scores = np.array(scores, dtype=np.float32, copy=True)
        if exclude_seen:
            self._mask_seen(scores, u, columns)
        cols, values = topk_padded(scores, k)
        if columns is not None:  # candidate positions → item indices
            found = cols >= 0
            cols[found] = np.take_along_axis(columns, np.maximum(cols, 0), axis=1)[found]
        return cols, values

    def excluded(self) -> sp.csr_array:
        """Binary CSR [n_users_, n_items_] of every training interaction: `seen_`, plus the
        `disliked_` ratings when fit was given min_rating. `recommend` never returns them."""
        self._check_fitted("excluded")
        if self.disliked_ is None:
            return self.seen_
        cached = getattr(self, "_excluded_cache", None)
        if cached is None or cached[0] is not self.seen_:
            both = sp.csr_array(self.seen_ + self.disliked_, dtype=np.float32)
            both.data[:] = 1.0
            cached = (self.seen_, both)
            self._excluded_cache = cached
        return cached[1]

    def _mask_seen(self, scores: np.ndarray, users: np.ndarray, columns: np.ndarray | None) -> None:
        """Set the scores of each user's training items to -inf, in place."""
        excluded = self.excluded()
        if columns is None and users.size <= 64:  # a few users: CSR row slices, no copies
            indptr, indices = excluded.indptr, excluded.indices
            for row, user in enumerate(users):
                scores[row, indices[indptr[user] : indptr[user + 1]]] = -np.inf
            return
        seen = excluded[users]
        if columns is None:
            rows = np.repeat(np.arange(users.size), np.diff(seen.indptr))
            scores[rows, seen.indices] = -np.inf
        else:
            dense = seen.toarray().astype(bool)
            scores[np.take_along_axis(dense, columns, axis=1)] = -np.inf

    def predict(self, users: Any, items: Any) -> np.ndarray:
        """Predicted ratings float32 [n] for the pairs (users[j], items[j]).

        An index of -1 stands for a user or item the model never saw; rating models then fall
        back on what they know (the global mean, the known side's bias).
        """
        self._check_fitted("predict")
        if not self.predicts_ratings:
            raise UnsupportedOperationError(
                f"{type(self).__name__} ranks items but does not predict ratings; "
                "use a rating model such as 'bias'"
            )
        u = _as_indices(users, self.n_users_, "user", "predict", allow_unknown=True)
        i = _as_indices(items, self.n_items_, "item", "predict", allow_unknown=True)
        if u.shape != i.shape:
            raise ParameterError(
                f"predict needs as many items as users; got {u.size} users and {i.size} items"
            )
        return np.asarray(self._predict(u, i), dtype=np.float32)

    def _predict(self, users: np.ndarray, items: np.ndarray) -> np.ndarray:
        """Ratings for index pairs (−1 = unknown); rating models override this."""
        raise UnsupportedOperationError(f"{type(self).__name__} does not predict ratings")

    def similar_items(self, items: Any, k: int = 10) -> tuple[np.ndarray, np.ndarray]:
        """Most similar items (ids int32 [B, k'], similarities float32 [B, k'], −1 padded; k' =
        min(k, n_items_)) for item indices [B], the item itself excluded; models say how in
        `_item_similarities`."""
        self._check_fitted("similar_items")
        if type(self)._item_similarities is Recommender._item_similarities:
            raise UnsupportedOperationError(
                f"{type(self).__name__} learns no item representations, so it has no similar items"
            )
        k = check_int(k, "k", "similar_items", low=1)
        idx = self._as_items(items, "similar_items")
        sims = np.array(self._item_similarities(idx), dtype=np.float32)
        sims[np.arange(idx.size), idx] = -np.inf
        return topk_padded(sims, k)

    def _item_similarities(self, items: np.ndarray) -> np.ndarray:
        """float [B, n_items]: similarity of each of `items` to every item (−inf: never)."""
        raise NotImplementedError

    def explain(self, user: int, item: int, n: int = 5) -> tuple[np.ndarray, np.ndarray, str]:
        """Why `item` scores as it does for `user` (indices): the user's training items that
        weigh most, best first.

        Returns (items int32 [m ≤ n], weights float32 [m], how). how is "contribution" when
        the weights are exact additive parts of the score (EASE, implicit item-KNN),
        "similarity" when they are the model's similarity of each history item to `item`
        (embedding and other models with similar items) and "attention" when they are the
        weight the model's attention gives each history item when scoring `item` (DIN; ≥ 0).
        History items with no link to `item` (pruned neighbours, items outside the window a
        sequence model reads) are left out, so the arrays may be empty.
        """
        self._check_fitted("explain")
        n = check_int(n, "n", "explain", low=1)
        u = int(self._as_users([user], "explain")[0])
        i = int(self._as_items([item], "explain")[0])
        history = self.seen_.indices[self.seen_.indptr[u] : self.seen_.indptr[u + 1]]
        if history.size == 0:
            return np.zeros(0, dtype=np.int32), np.zeros(0, dtype=np.float32), "similarity"
        weights, how = self._explain_weights(u, i, history)
        weights = np.asarray(weights, dtype=np.float32)
        linked = np.isfinite(weights)  # −inf: no link to the item at all (pruned neighbours)
        history, weights = history[linked], weights[linked]
        order = np.lexsort((history, -weights))[:n]
        return history[order].astype(np.int32), weights[order], how

    def _explain_weights(self, user: int, item: int, history: np.ndarray) -> tuple[np.ndarray, str]:
        """float [len(history)]: each history item's weight in `item`'s score for `user`, and
        how they were found ("contribution" or "similarity"). The default is the model's item
        similarity; models whose score is a sum over the history override it."""
        if type(self)._item_similarities is Recommender._item_similarities:
            raise UnsupportedOperationError(
                f"{type(self).__name__} learns no item representations, so it cannot say which "
                "past items led to a recommendation; use a model with similar items"
            )
        return np.asarray(self._item_similarities(np.array([item])))[0, history], "similarity"

    def recommend_for_history(self, items: Any, k: int = 10) -> tuple[np.ndarray, np.ndarray]:
        """Top-k for a new user described by item indices they interacted with, oldest first
        (sequence models read the order, the others the set): ids int32 [1, k'] and scores
        float32 [1, k'] (k' = min(k, n_items_), −1 padded), the history excluded; models with
        supports_history score it in `_sequence_scores` / `_history_scores`."""
        return self._recommend_for_histories([items], k, "recommend_for_history")

    def recommend_for_histories(
        self, histories: Sequence[Any], k: int = 10
    ) -> tuple[np.ndarray, np.ndarray]:
        """`recommend_for_history` for B new users (or sessions) at once: ids int32 [B, k'] and
        scores float32 [B, k'], row b from histories[b] (item indices, oldest first) with its
        own items excluded. Sequence models score the histories in batched forward passes."""
        return self._recommend_for_histories(histories, k, "recommend_for_histories")

    def _recommend_for_histories(
        self, histories: Sequence[Any], k: int, action: str
    ) -> tuple[np.ndarray, np.ndarray]:
        self._check_fitted(action)
        if not self.supports_history:
            raise UnsupportedOperationError(
                f"{type(self).__name__} cannot serve a new user from a history; use a model with "
                "supports_history (item-KNN, EASE, autoencoders, sequence models)"
            )
        k = check_int(k, "k", action, low=1)
        sequences = [self._as_items(items, action) for items in histories]
        empty = [b for b, sequence in enumerate(sequences) if sequence.size == 0]
        if empty:
            where = "" if action == "recommend_for_history" else f" (history {empty[0]} is empty)"
            raise DataError(f"{action} needs at least one item of the new user{where}")
        width = min(k, int(self.n_items_))
        ids = np.zeros((0, width), dtype=np.int32)
        values = np.zeros((0, width), dtype=np.float32)
        parts = [(ids, values)]
        chunk = max(1, HISTORY_SCORE_BYTES // (4 * max(1, int(self.n_items_))))
        for start in range(0, len(sequences), chunk):
            batch = sequences[start : start + chunk]
            scores = np.array(self._sequences_scores(batch), dtype=np.float32)
            for row, sequence in enumerate(batch):
                scores[row, sequence] = -np.inf
            parts.append(topk_padded(scores, k))
        return np.concatenate([p[0] for p in parts]), np.concatenate([p[1] for p in parts])

    def _sequences_scores(self, sequences: list[np.ndarray]) -> np.ndarray:
        """float [B, n_items]: `_sequence_scores` of each of B sequences (≥ 1 item each);
        models that can score many sequences in one pass override it."""
        return np.stack([np.asarray(self._sequence_scores(s)) for s in sequences])

    def _sequence_scores(self, sequence: np.ndarray) -> np.ndarray:
        """float [n_items]: scores for a new user whose items, oldest first, are `sequence`
        (≥ 1, repeats kept). Sequence models read the order; the others see the set
        (`_history_scores`)."""
        return self._history_scores(np.unique(sequence))

    def _history_scores(self, history: np.ndarray) -> np.ndarray:
        """float [n_items]: scores for a new user who interacted with `history` (unique
        indices, ≥ 1)."""
        raise NotImplementedError

    # ------------------------------------------------------------------ persistence
    def _get_state(self) -> dict[str, Any]:
        """Learned attributes to save: numpy arrays and JSON scalars, by attribute name."""
        return {name: getattr(self, name) for name in self._learned}

    def _set_state(self, state: dict[str, Any]) -> None:
        for name in self._learned:
            setattr(self, name, state[name])

    def save(
        self,
        path: str | Path,
        *,
        metrics: dict[str, float] | None = None,
        items: FeatureTable | None = None,
        ratings: Interactions | None = None,
    ) -> Path:
        """Write the fitted model as the artifact directory `path` (manifest.json and
        arrays.npz, no pickle; written atomically), recording `metrics` if given. items (item
        features such as titles and genres) and ratings (the training interactions) are kept
        beside it for a service to show and filter by; see `recforge.artifact.save_model`."""
        from recforge.artifact import save_model

        self._check_fitted("save")
        return save_model(self, path, metrics=metrics, items=items, ratings=ratings)


def _split_by_rating(
    train: Interactions, valid: Interactions | None, min_rating: float | None
) -> tuple[Interactions, Interactions | None, sp.csr_array | None]:
    """(the training ratings ≥ min_rating, the valid ones ≥ it, binary CSR of the training
    ratings below it); min_rating None keeps everything."""
    if min_rating is None:
        return train, valid, None
    threshold = check_float(min_rating, "min_rating", "fit")
    if not train.explicit:
        raise ParameterError(
            "The 'min_rating' parameter of fit applies to ratings, but these interactions are "
            "implicit; leave it out"
        )
    liked = train.matrix.data >= threshold
    if not liked.any():
        raise DataError(
            f"no training rating is at least min_rating={threshold:g} (the highest is "
            f"{float(train.matrix.data.max()):g}); lower min_rating"
        )
    disliked = train.subset(~liked).binary()
    if valid is not None:
        valid = valid.subset(valid.matrix.data >= threshold)
    return train.subset(liked), valid, disliked


def _as_indices(
    values: Any, size: int, what: str, action: str, *, allow_unknown: bool = False
) -> np.ndarray:
    arr = np.asarray(values)
    if arr.ndim == 0:
        arr = arr.reshape(1)
    if arr.ndim != 1:
        raise ParameterError(
            f"The {what} indices passed to {action} must be 1-D. Got shape {arr.shape} instead."
        )
    if arr.size and arr.dtype.kind not in "iu":
        if arr.dtype.kind == "f" and bool(np.all(np.mod(arr, 1) == 0)):
            arr = arr.astype(np.int64)
        else:
            raise ParameterError(
                f"The {what} indices passed to {action} must be integers (map raw ids with "
                f"model.{what}_ids_.to_index). Got dtype {arr.dtype} instead."
            )
    arr = arr.astype(np.int64, copy=False)
    low = -1 if allow_unknown else 0
    if arr.size and (int(arr.min()) < low or int(arr.max()) >= size):
        bad = arr[(arr < low) | (arr >= size)][0]
        raise ParameterError(
            f"{what} index {int(bad)} passed to {action} is out of range [0, {size}); map raw "
            f"ids with model.{what}_ids_.to_index"
        )
    return arr
