"""Global mean plus regularised user and item biases (Surprise's BaselineOnly, fitted by ALS)."""

from __future__ import annotations

import numpy as np

from recforge._validation import check_float, check_int, check_seed
from recforge.data.interactions import Interactions
from recforge.errors import DataError
from recforge.models.base import Recommender
from recforge.models.registry import register

__all__ = ["BiasBaseline"]


@register
class BiasBaseline(Recommender):
    """r̂(u, i) = μ + b_u + b_i, clipped to the training rating range.

    Each epoch solves the item biases with the user biases fixed, then the user biases:
        b_i = Σ_{u∈U(i)} (r_ui − μ − b_u) / (reg_items + |U(i)|)
        b_u = Σ_{i∈I(u)} (r_ui − μ − b_i) / (reg_users + |I(u)|)
    exactly as Surprise's BaselineOnly with method="als" (same defaults).
    An unknown user or item (index −1 in `predict`) has bias 0.
    seed: accepted for protocol uniformity; the fit is deterministic.
    """

    name = "bias"
    description = "Global mean + regularised user and item biases (ALS, as Surprise BaselineOnly)"
    predicts_ratings = True
    _learned = ("global_mean_", "user_bias_", "item_bias_", "rating_min_", "rating_max_")

    global_mean_: float
    user_bias_: np.ndarray
    item_bias_: np.ndarray
    rating_min_: float
    rating_max_: float

    def __init__(
        self,
        *,
        reg_items: float = 10.0,
        reg_users: float = 15.0,
        n_epochs: int = 10,
        seed: int | None = None,
    ) -> None:
        self.reg_items = reg_items
        self.reg_users = reg_users
        self.n_epochs = n_epochs
        self.seed = seed

    def _validate_params(self) -> None:
        check_float(self.reg_items, "reg_items", "BiasBaseline", low=0.0)
        check_float(self.reg_users, "reg_users", "BiasBaseline", low=0.0)
        check_int(self.n_epochs, "n_epochs", "BiasBaseline", low=1)
        check_seed(self.seed, "seed", "BiasBaseline")

    def _check_training_data(self, train: Interactions) -> None:
        if not train.explicit:
            raise DataError(
                "BiasBaseline needs explicit ratings, but these interactions are implicit; "
                "load them with a rating column or use 'popularity'"
            )

    def _fit(self, train: Interactions, valid: Interactions | None) -> None:
        users, items, values = train.coo()
        r = values.astype(np.float64)
        mu = float(r.mean())
        n_users, n_items = train.n_users, train.n_items
        user_den = np.bincount(users, minlength=n_users) + float(self.reg_users)
        item_den = np.bincount(items, minlength=n_items) + float(self.reg_items)
        residual = r - mu
        b_u = np.zeros(n_users)
        b_i = np.zeros(n_items)
        for _ in range(int(self.n_epochs)):
            b_i = np.bincount(items, weights=residual - b_u[users], minlength=n_items) / item_den
            b_u = np.bincount(users, weights=residual - b_i[items], minlength=n_users) / user_den
        # A zero denominator (reg 0 and no ratings) cannot occur: every index has ≥1 rating.
        self.global_mean_ = mu
        self.user_bias_ = b_u.astype(np.float32)
        self.item_bias_ = b_i.astype(np.float32)
        self.rating_min_ = float(r.min())
        self.rating_max_ = float(r.max())

    def _score(self, users: np.ndarray, items: np.ndarray | None) -> np.ndarray:
        b_i = self.item_bias_ if items is None else self.item_bias_[items]
        return (self.global_mean_ + self.user_bias_[users][:, None] + b_i[None, :]).astype(
            np.float32
        )

    def _predict(self, users: np.ndarray, items: np.ndarray) -> np.ndarray:
        b_u = np.where(users >= 0, self.user_bias_[np.maximum(users, 0)], 0.0)
        b_i = np.where(items >= 0, self.item_bias_[np.maximum(items, 0)], 0.0)
        estimate = self.global_mean_ + b_u + b_i
        return np.clip(estimate, self.rating_min_, self.rating_max_)
