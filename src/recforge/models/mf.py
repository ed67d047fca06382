"""Rating matrix factorisation on the observed entries: biased MF (Funk SVD, "svd"), SVD++
("svdpp") and non-negative MF ("nmf").

r̂(u, i) = μ + b_u + b_i + q_iᵀ·x_u, where x_u is p_u for biased MF and NMF (μ and the biases
are 0 when unbiased) and p_u + |N(u)|^-½ Σ_{j ∈ N(u)} y_j for SVD++ (N(u): the items u rated
in training). The updates are Surprise's (see `sgd_kernels`), compiled with numba.
"""

from __future__ import annotations

from typing import Any, ClassVar

import numpy as np

from recforge._validation import check_bool, check_float, check_int, check_seed
from recforge.data.interactions import Interactions
from recforge.errors import DataError
from recforge.models.base import Recommender
from recforge.models.factors import cosine_rows
from recforge.models.registry import register

__all__ = ["NMF", "BiasedMF", "SVDpp"]


class _RatingFactorModel(Recommender):
    """Shared scoring, prediction and similar items of μ + b_u + b_i + x_uᵀ·q_i models.

    Learned: global_mean_ (float), user_bias_ [U], item_bias_ [I], user_factors_ [U, k] (x_u),
    item_factors_ [I, k], rating_min_ / rating_max_ (predictions are clipped to them),
    rating_mean_ (what an unbiased model predicts for an unknown user or item, as Surprise does).
    """

    predicts_ratings = True
    _learned: ClassVar[tuple[str, ...]] = (
        "global_mean_",
        "user_bias_",
        "item_bias_",
        "user_factors_",
        "item_factors_",
        "rating_min_",
        "rating_max_",
        "rating_mean_",
    )

    global_mean_: float
    user_bias_: np.ndarray
    item_bias_: np.ndarray
    user_factors_: np.ndarray
    item_factors_: np.ndarray
    rating_min_: float
    rating_max_: float
    rating_mean_: float

    def _check_training_data(self, train: Interactions) -> None:
        if not train.explicit:
            raise DataError(
                f"{type(self).__name__} predicts ratings, but these interactions are implicit; "
                "load them with a rating column, or use a ranking model such as 'ials' or 'bpr'"
            )

    def _finish(
        self,
        ratings: np.ndarray,
        mu: float,
        b_user: np.ndarray,
        b_item: np.ndarray,
        X: np.ndarray,
        Q: np.ndarray,
    ) -> None:
        """Store the learned state (float32) from training ratings [n] and float64 factors."""
        self.global_mean_ = float(mu)
        self.user_bias_ = b_user.astype(np.float32)
        self.item_bias_ = b_item.astype(np.float32)
        self.user_factors_ = X.astype(np.float32)
        self.item_factors_ = Q.astype(np.float32)
        self.rating_min_ = float(ratings.min())
        self.rating_max_ = float(ratings.max())
        self.rating_mean_ = float(ratings.mean())

    def _score(self, users: np.ndarray, items: np.ndarray | None) -> np.ndarray:
        Q = self.item_factors_ if items is None else self.item_factors_[items]
        b_i = self.item_bias_ if items is None else self.item_bias_[items]
        scores = self.user_factors_[users] @ Q.T
        scores += b_i[None, :]
        scores += (self.global_mean_ + self.user_bias_[users])[:, None]
        return scores

    def _predict(self, users: np.ndarray, items: np.ndarray) -> np.ndarray:
        known_u, known_i = users >= 0, items >= 0
        u, i = np.maximum(users, 0), np.maximum(items, 0)
        dot = np.einsum("nk,nk->n", self.user_factors_[u], self.item_factors_[i])
        estimate = (
            self.global_mean_
            + np.where(known_u, self.user_bias_[u], 0.0)
            + np.where(known_i, self.item_bias_[i], 0.0)
            + np.where(known_u & known_i, dot, 0.0)
        )
        if not getattr(self, "biased", True):
            estimate = np.where(known_u & known_i, estimate, self.rating_mean_)
        return np.clip(estimate, self.rating_min_, self.rating_max_)

    def _item_similarities(self, items: np.ndarray) -> np.ndarray:
        """The cosine of the item factors."""
        return cosine_rows(self.item_factors_, items)

    def retrieval_vectors(self) -> tuple[np.ndarray, np.ndarray]:
        """(users float32 [n_users, k + 2], items float32 [n_items, k + 2]) whose inner products
        are the scores, for an ANN index (recforge.retrieval): [x_u, 1, μ + b_u]·[q_i, b_i, 1]
        = μ + b_u + b_i + x_uᵀq_i."""
        self._check_fitted("retrieval_vectors")
        items = np.hstack(
            [
                self.item_factors_,
                self.item_bias_[:, None],
                np.ones((self.n_items_, 1), dtype=self.item_factors_.dtype),
            ]
        )
        users = self.retrieval_user_vectors(np.arange(self.n_users_))
        return users, np.asarray(items, dtype=np.float32)

    def retrieval_user_vectors(self, users: Any) -> np.ndarray:
        """float32 [B, k + 2]: rows `users` [B] of `retrieval_vectors()[0]`."""
        self._check_fitted("retrieval_user_vectors")
        u = self._as_users(users, "retrieval_user_vectors")
        constant = self.global_mean_ + self.user_bias_[u].astype(np.float64)
        columns = [self.user_factors_[u], np.ones((u.size, 1)), constant[:, None]]
        return np.hstack(columns).astype(np.float32)


def _normal(rng: np.random.Generator, std: float, rows: int, factors: int) -> np.ndarray:
    """float64 [rows, factors] drawn from N(0, std²), as Surprise initialises its factors."""
    return rng.normal(0.0, float(std), (rows, factors))


@register
class BiasedMF(_RatingFactorModel):
    """Funk SVD with biases (Surprise's SVD), trained by SGD on the observed ratings.

    Per rating, err = r − r̂, then b_u += lr·(err − reg·b_u), b_i likewise,
    p_u += lr·(err·q_i − reg·p_u), q_i += lr·(err·p_u − reg·q_i) (old values on the right).
    factors: k; n_epochs: passes; lr, reg: step and L2 weight; init_std: factors start as
    N(0, init_std²); biased=False drops μ and the biases. shuffle: visit the ratings in a new
    random order each epoch (False: user by user, as Surprise does). seed: the initial factors
    and the order.
    """

    name = "svd"
    description = "Biased matrix factorisation by SGD (Funk SVD; Surprise's SVD)"

    def __init__(
        self,
        *,
        factors: int = 100,
        n_epochs: int = 20,
        lr: float = 0.005,
        reg: float = 0.02,
        init_std: float = 0.1,
        biased: bool = True,
        shuffle: bool = False,
        seed: int | None = None,
    ) -> None:
        self.factors = factors
        self.n_epochs = n_epochs
        self.lr = lr
        self.reg = reg
        self.init_std = init_std
        self.biased = biased
        self.shuffle = shuffle
        self.seed = seed

    def _validate_params(self) -> None:
        owner = type(self).__name__
        check_int(self.factors, "factors", owner, low=1)
        check_int(self.n_epochs, "n_epochs", owner, low=1)
        check_float(self.lr, "lr", owner, low=0.0, low_open=True)
        check_float(self.reg, "reg", owner, low=0.0)
        check_float(self.init_std, "init_std", owner, low=0.0)
        check_bool(self.biased, "biased", owner)
        check_bool(self.shuffle, "shuffle", owner)
        check_seed(self.seed, "seed", owner)

    def _fit(self, train: Interactions, valid: Interactions | None) -> None:
        from recforge.models.sgd_kernels import biased_mf_epoch

        users, items, values = train.coo()
        ratings = values.astype(np.float64)
        rng = np.random.default_rng(self.seed)
        P = _normal(rng, self.init_std, train.n_users, int(self.factors))
        Q = _normal(rng, self.init_std, train.n_items, int(self.factors))
        b_user = np.zeros(train.n_users)
        b_item = np.zeros(train.n_items)
        mu = float(ratings.mean()) if self.biased else 0.0
        order = np.arange(ratings.size, dtype=np.int64)
        for _ in range(int(self.n_epochs)):
            if self.shuffle:
                rng.shuffle(order)
            biased_mf_epoch(
                users, items, ratings, order, mu, b_user, b_item, P, Q,
                float(self.lr), float(self.reg), bool(self.biased),
            )  # fmt: skip
        self._finish(ratings, mu, b_user, b_item, P, Q)


@register
class SVDpp(_RatingFactorModel):
    """SVD++ (Koren 2008): biased MF whose user factor adds the mean implicit factor of the
    items the user rated. Surprise's SVDpp updates, in O(k) per rating (see `svdpp_epoch`).

    factors, n_epochs, lr, reg, init_std, seed as in "svd" (Surprise's SVDpp defaults).
    shuffle: visit the users in a new random order each epoch (a user's ratings stay together).
    """

    name = "svdpp"
    description = "SVD++: biased MF plus implicit feedback from the rated items (SGD)"

    def __init__(
        self,
        *,
        factors: int = 20,
        n_epochs: int = 20,
        lr: float = 0.007,
        reg: float = 0.02,
        init_std: float = 0.1,
        shuffle: bool = False,
        seed: int | None = None,
    ) -> None:
        self.factors = factors
        self.n_epochs = n_epochs
        self.lr = lr
        self.reg = reg
        self.init_std = init_std
        self.shuffle = shuffle
        self.seed = seed

    def _validate_params(self) -> None:
        owner = type(self).__name__
        check_int(self.factors, "factors", owner, low=1)
        check_int(self.n_epochs, "n_epochs", owner, low=1)
        check_float(self.lr, "lr", owner, low=0.0, low_open=True)
        check_float(self.reg, "reg", owner, low=0.0)
        check_float(self.init_std, "init_std", owner, low=0.0)
        check_bool(self.shuffle, "shuffle", owner)
        check_seed(self.seed, "seed", owner)

    def _fit(self, train: Interactions, valid: Interactions | None) -> None:
        from recforge.models.sgd_kernels import implicit_sums, svdpp_epoch

        m = train.matrix
        ratings = m.data.astype(np.float64)
        rng = np.random.default_rng(self.seed)
        k = int(self.factors)
        P = _normal(rng, self.init_std, train.n_users, k)
        Q = _normal(rng, self.init_std, train.n_items, k)
        Y = _normal(rng, self.init_std, train.n_items, k)
        b_user = np.zeros(train.n_users)
        b_item = np.zeros(train.n_items)
        mu = float(ratings.mean())
        order = np.arange(train.n_users, dtype=np.int64)
        for _ in range(int(self.n_epochs)):
            if self.shuffle:
                rng.shuffle(order)
            svdpp_epoch(
                m.indptr, m.indices, ratings, order, mu, b_user, b_item, P, Q, Y,
                float(self.lr), float(self.reg),
            )  # fmt: skip
        implicit = np.empty_like(P)
        implicit_sums(m.indptr, m.indices, Y, implicit)
        self._finish(ratings, mu, b_user, b_item, P + implicit, Q)


@register
class NMF(_RatingFactorModel):
    """Non-negative MF of the observed ratings by multiplicative updates (Luo et al. 2014, as in
    Surprise's NMF): each epoch, p_uf ← p_uf · Σ_i q_if·r_ui / (Σ_i q_if·r̂_ui + |I(u)|·reg_p·p_uf)
    and likewise for q_if, both from the same epoch's factors. Factors start uniform in
    [init_low, init_high] and stay non-negative, so they read as parts (genres, tastes).

    biased=True adds μ + b_u + b_i, the biases stepping by SGD (lr_bias, reg_bias); the factors
    are then no longer the whole prediction.
    """

    name = "nmf"
    description = "Non-negative matrix factorisation of the observed ratings (multiplicative)"

    def __init__(
        self,
        *,
        factors: int = 15,
        n_epochs: int = 50,
        reg_user: float = 0.06,
        reg_item: float = 0.06,
        biased: bool = False,
        lr_bias: float = 0.005,
        reg_bias: float = 0.02,
        init_low: float = 0.0,
        init_high: float = 1.0,
        seed: int | None = None,
    ) -> None:
        self.factors = factors
        self.n_epochs = n_epochs
        self.reg_user = reg_user
        self.reg_item = reg_item
        self.biased = biased
        self.lr_bias = lr_bias
        self.reg_bias = reg_bias
        self.init_low = init_low
        self.init_high = init_high
        self.seed = seed

    def _validate_params(self) -> None:
        owner = type(self).__name__
        check_int(self.factors, "factors", owner, low=1)
        check_int(self.n_epochs, "n_epochs", owner, low=1)
        check_float(self.reg_user, "reg_user", owner, low=0.0)
        check_float(self.reg_item, "reg_item", owner, low=0.0)
        check_bool(self.biased, "biased", owner)
        check_float(self.lr_bias, "lr_bias", owner, low=0.0)
        check_float(self.reg_bias, "reg_bias", owner, low=0.0)
        low = check_float(self.init_low, "init_low", owner, low=0.0)
        check_float(self.init_high, "init_high", owner, low=low, low_open=True)
        check_seed(self.seed, "seed", owner)

    def _fit(self, train: Interactions, valid: Interactions | None) -> None:
        from recforge.models.sgd_kernels import nmf_epoch

        users, items, values = train.coo()
        ratings = values.astype(np.float64)
        rng = np.random.default_rng(self.seed)
        k = int(self.factors)
        low, high = float(self.init_low), float(self.init_high)
        P = rng.uniform(low, high, (train.n_users, k))
        Q = rng.uniform(low, high, (train.n_items, k))
        b_user = np.zeros(train.n_users)
        b_item = np.zeros(train.n_items)
        mu = float(ratings.mean()) if self.biased else 0.0
        for _ in range(int(self.n_epochs)):
            nmf_epoch(
                users, items, ratings, mu, b_user, b_item, P, Q,
                float(self.reg_user), float(self.reg_item),
                float(self.lr_bias), float(self.reg_bias), bool(self.biased),
            )  # fmt: skip
        self._finish(ratings, mu, b_user, b_item, P, Q)
