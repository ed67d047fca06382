"""A switching hybrid: collaborative filtering where there is history, content where there is
not, popularity where there is neither.

Per user, both models' scores over all items are standardised (z-scores), then:
- a user with ≥ min_user_interactions training interactions gets
  weight·z_cf + (1 − weight)·z_content, except on items with fewer than
  min_item_interactions interactions, where CF knows nothing and z_content alone counts;
- a user with fewer (but some) interactions gets z_content: "content";
- a user with none gets the standardised item popularity: "popularity".
`sources(users)` and `recommend_explained` say which rule served each user.
"""

from __future__ import annotations

from typing import Any, ClassVar, NamedTuple

import numpy as np

from recforge._validation import check_float, check_int, check_seed
from recforge.data.interactions import Interactions
from recforge.errors import ParameterError
from recforge.models.base import Recommender
from recforge.models.content import ContentBased
from recforge.models.registry import get, register

__all__ = ["Hybrid", "HybridRecommendations"]


class HybridRecommendations(NamedTuple):
    """ids int32 [B, k], scores float32 [B, k], source [B] ("blend" | "content" |
    "popularity"): the rule that produced each user's list."""

    ids: np.ndarray
    scores: np.ndarray
    source: np.ndarray


def _standardise(scores: np.ndarray) -> np.ndarray:
    """Row-wise z-scores of float [B, N] (a constant row becomes zeros)."""
    scores = scores.astype(np.float64)
    mean = scores.mean(axis=1, keepdims=True)
    std = scores.std(axis=1, keepdims=True)
    std[std == 0] = 1.0
    return (scores - mean) / std


@register
class Hybrid(Recommender):
    """CF and content blended for known users, content for cold users, popularity for users
    with no history; needs `fit(train, item_features=...)`.

    cf: the registered CF model's name; cf_params: its hyper-parameters (a dict);
    weight: the CF share of the blend; min_user_interactions / min_item_interactions: below
    these counts a user / an item is cold; seed: passed to the CF model.
    """

    name = "hybrid"
    description = "Switching hybrid: CF + content blend, content for cold users, popularity"
    uses_item_features = True
    supports_history = True
    _learned: ClassVar[tuple[str, ...]] = ("item_counts_",)

    item_counts_: np.ndarray

    def __init__(
        self,
        *,
        cf: str = "ials",
        cf_params: dict[str, Any] | None = None,
        weight: float = 0.8,
        min_user_interactions: int = 5,
        min_item_interactions: int = 1,
        seed: int | None = None,
    ) -> None:
        self.cf = cf
        self.cf_params = cf_params
        self.weight = weight
        self.min_user_interactions = min_user_interactions
        self.min_item_interactions = min_item_interactions
        self.seed = seed

    def _validate_params(self) -> None:
        if not isinstance(self.cf, str) or self.cf in ("hybrid", "content"):
            raise ParameterError(
                f"The 'cf' parameter of Hybrid must name a collaborative model such as 'ials', "
                f"'ease' or 'itemknn'. Got {self.cf!r} instead."
            )
        if self.cf_params is not None and not isinstance(self.cf_params, dict):
            raise ParameterError(
                f"The 'cf_params' parameter of Hybrid must be a dict of the CF model's "
                f"hyper-parameters. Got {self.cf_params!r} instead."
            )
        check_float(self.weight, "weight", "Hybrid", low=0.0, high=1.0)
        check_int(self.min_user_interactions, "min_user_interactions", "Hybrid", low=0)
        check_int(self.min_item_interactions, "min_item_interactions", "Hybrid", low=0)
        check_seed(self.seed, "seed", "Hybrid")
        try:
            self._new_cf()  # an unknown model or parameter fails before any fitting
        except ParameterError as exc:
            raise ParameterError(f"Hybrid's CF model (cf={self.cf!r}): {exc}") from None

    def _new_cf(self) -> Recommender:
        return get(self.cf, **{"seed": self.seed, **(self.cf_params or {})})

    def _fit(self, train: Interactions, valid: Interactions | None) -> None:
        self._cf = self._new_cf().fit(train, valid)
        self._content = ContentBased().fit(train, item_features=self._item_features)
        self.item_counts_ = train.item_counts()

    # ------------------------------------------------------------------ persistence
    def _get_state(self) -> dict[str, Any]:
        state: dict[str, Any] = {"item_counts_": self.item_counts_}
        for prefix, part in (("cf", self._cf), ("content", self._content)):
            state.update({f"{prefix}.{k}": v for k, v in part._get_state().items()})
        return state

    def _set_state(self, state: dict[str, Any]) -> None:
        self.item_counts_ = state["item_counts_"]
        self._cf, self._content = self._new_cf(), ContentBased()
        for prefix, part in (("cf", self._cf), ("content", self._content)):
            for shared in ("user_ids_", "item_ids_", "n_users_", "n_items_", "seen_", "explicit_"):
                setattr(part, shared, getattr(self, shared))
            part._set_state(
                {k.removeprefix(f"{prefix}."): v for k, v in state.items() if k.startswith(prefix)}
            )

    # ------------------------------------------------------------------ inference
    def sources(self, users: Any) -> np.ndarray:
        """The rule serving each user (str [B]): "blend", "content" or "popularity"."""
        self._check_fitted("sources")
        u = self._as_users(users, "sources")
        counts = np.diff(self.seen_.indptr)[u]
        out = np.full(u.size, "blend", dtype=object)
        out[counts < int(self.min_user_interactions)] = "content"
        out[counts == 0] = "popularity"
        return out.astype(str)

    def _score(self, users: np.ndarray, items: np.ndarray | None) -> np.ndarray:
        content = _standardise(self._content._score(users, None))
        blend = float(self.weight) * _standardise(self._cf._score(users, None))
        blend += (1.0 - float(self.weight)) * content
        cold_items = self.item_counts_ < int(self.min_item_interactions)
        blend[:, cold_items] = content[:, cold_items]
        source = self.sources(users)
        blend[source == "content"] = content[source == "content"]
        if (source == "popularity").any():
            popular = _standardise(self.item_counts_[None, :].astype(np.float64))
            blend[source == "popularity"] = popular
        out = blend if items is None else blend[:, items]
        return out.astype(np.float32)

    def recommend_explained(self, users: Any, k: int = 10) -> HybridRecommendations:
        """`recommend` plus the rule that served each user."""
        ids, scores = self.recommend(users, k=k)
        return HybridRecommendations(ids, scores, self.sources(users))

    def _history_scores(self, history: np.ndarray) -> np.ndarray:
        """A new user is cold: the content model's scores for the history."""
        return self._content._history_scores(history)
