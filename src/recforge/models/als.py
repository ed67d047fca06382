"""Alternating least squares: iALS for implicit feedback, ALS with biases for ratings, and
probabilistic MF (its MAP estimate under Gaussian priors).

Each half-step solves every user (then every item) exactly or by conjugate gradient with the
other side fixed, in parallel (see `als_kernels`).
"""

from __future__ import annotations

from typing import Any, ClassVar

import numpy as np
from threadpoolctl import threadpool_limits

from recforge._validation import check_bool, check_float, check_int, check_seed
from recforge.data.interactions import Interactions
from recforge.errors import DataError
from recforge.models.base import Recommender
from recforge.models.factors import cosine_rows
from recforge.models.mf import _RatingFactorModel
from recforge.models.registry import register

__all__ = ["ALS", "IALS", "PMF"]


def _item_major(train: Interactions, values: np.ndarray) -> tuple[Any, Any, Any]:
    """The training matrix as CSR [n_items, n_users] (indptr int64, indices int32 ascending,
    values float32), its values from `_values(train, …)`: a single shared value stays one."""
    from recforge.models.als_kernels import transpose_csr

    m = train.matrix
    return transpose_csr(m.indptr, m.indices, values, train.n_items)


def _values(train: Interactions, shared: bool) -> np.ndarray:
    """The training values as float32 [nnz]; [1] when `shared` and every entry holds it."""
    values = train.matrix.data.astype(np.float32, copy=False)
    if shared and values.size and bool((values == values[0]).all()):
        return values[:1]
    return values


@register
class IALS(Recommender):
    """Implicit ALS (Hu, Koren & Volinsky 2008) solved by conjugate gradient.

    Every (user, item) cell is fitted, 1 where observed and 0 elsewhere, with confidence
    c_ui = 1 + alpha·r_ui on observed cells and 1 elsewhere; reg weighs ‖x_u‖² and ‖y_i‖².
    score(u, i) = x_uᵀ y_i. A new user is folded in from a history by one exact solve.

    factors: k; iterations: user-then-item sweeps; cg_steps: CG steps per row and sweep
    (warm-started, so 3 suffice); init_std: factors start as N(0, init_std²); seed: the start.
    """

    name = "ials"
    description = "Implicit ALS (Hu et al. 2008), conjugate-gradient solver, parallel"
    supports_history = True
    _learned: ClassVar[tuple[str, ...]] = ("user_factors_", "item_factors_")

    user_factors_: np.ndarray
    item_factors_: np.ndarray

    def __init__(
        self,
        *,
        factors: int = 64,
        iterations: int = 15,
        reg: float = 0.01,
        alpha: float = 1.0,
        cg_steps: int = 3,
        init_std: float = 0.01,
        seed: int | None = None,
    ) -> None:
        self.factors = factors
        self.iterations = iterations
        self.reg = reg
        self.alpha = alpha
        self.cg_steps = cg_steps
        self.init_std = init_std
        self.seed = seed

    def _validate_params(self) -> None:
        check_int(self.factors, "factors", "IALS", low=1)
        check_int(self.iterations, "iterations", "IALS", low=1)
        check_float(self.reg, "reg", "IALS", low=0.0)
        check_float(self.alpha, "alpha", "IALS", low=0.0)
        check_int(self.cg_steps, "cg_steps", "IALS", low=1)
        check_float(self.init_std, "init_std", "IALS", low=0.0, low_open=True)
        check_seed(self.seed, "seed", "IALS")

    def _check_training_data(self, train: Interactions) -> None:
        if bool((train.matrix.data < 0).any()):
            raise DataError(
                "IALS needs non-negative interaction values (counts or weights); binarize "
                "ratings first (Interactions.binarize) or use a rating model"
            )

    def _fit(self, train: Interactions, valid: Interactions | None) -> None:
        from recforge.models.als_kernels import implicit_cg_half_step

        rng = np.random.default_rng(self.seed)
        k = int(self.factors)
        X = rng.normal(0.0, float(self.init_std), (train.n_users, k)).astype(np.float32)
        Y = rng.normal(0.0, float(self.init_std), (train.n_items, k)).astype(np.float32)
        by_user = train.matrix
        values_user = _values(train, shared=True)  # c = 1 + alpha·value, never stored
        item_indptr, item_indices, values_item = _item_major(train, values_user)
        alpha, reg, steps = float(self.alpha), float(self.reg), int(self.cg_steps)
        # The kernel's rows run in parallel and each calls BLAS: a BLAS pool of its own per
        # call would oversubscribe the cores, so BLAS runs single-threaded for the fit.
        with threadpool_limits(limits=1, user_api="blas"):
            for _ in range(int(self.iterations)):
                implicit_cg_half_step(
                    by_user.indptr, by_user.indices, values_user, alpha, X, Y, Y.T @ Y, reg, steps
                )
                implicit_cg_half_step(
                    item_indptr, item_indices, values_item, alpha, Y, X, X.T @ X, reg, steps
                )
        self.user_factors_ = X
        self.item_factors_ = Y

    def _score(self, users: np.ndarray, items: np.ndarray | None) -> np.ndarray:
        Y = self.item_factors_ if items is None else self.item_factors_[items]
        return self.user_factors_[users] @ Y.T

    def _item_similarities(self, items: np.ndarray) -> np.ndarray:
        """The cosine of the item factors."""
        return cosine_rows(self.item_factors_, items)

    def retrieval_vectors(self) -> tuple[np.ndarray, np.ndarray]:
        """(users float32 [n_users, k], items float32 [n_items, k]): the factors, whose inner
        products are the scores, for an ANN index (recforge.retrieval)."""
        self._check_fitted("retrieval_vectors")
        users = self.retrieval_user_vectors(np.arange(self.n_users_))
        return users, np.asarray(self.item_factors_, dtype=np.float32).copy()

    def retrieval_user_vectors(self, users: Any) -> np.ndarray:
        """float32 [B, k]: rows `users` [B] of `retrieval_vectors()[0]`."""
        self._check_fitted("retrieval_user_vectors")
        u = self._as_users(users, "retrieval_user_vectors")
        return np.asarray(self.user_factors_[u], dtype=np.float32)

    def _history_scores(self, history: np.ndarray) -> np.ndarray:
        """Fold-in: the new user's factors solved exactly with the item factors fixed, each
        history item observed once."""
        Y = self.item_factors_.astype(np.float64)
        Yh = Y[history]
        c = 1.0 + float(self.alpha)
        A = Y.T @ Y + (c - 1.0) * (Yh.T @ Yh) + float(self.reg) * np.eye(Y.shape[1])
        x = np.linalg.solve(A, c * Yh.sum(axis=0))
        return self.item_factors_ @ x.astype(np.float32)


class _ExplicitALSBase(_RatingFactorModel):
    """Ratings fitted by exact alternating ridge regressions (optionally with biases)."""

    def _solve(
        self,
        train: Interactions,
        *,
        factors: int,
        iterations: int,
        reg_user: float,
        reg_item: float,
        reg_bias: float,
        biased: bool,
        weighted: bool,
        init_std: float,
        seed: int | None,
    ) -> None:
        from recforge.models.als_kernels import explicit_half_step

        by_user = train.matrix
        item_indptr, item_indices, item_values = _item_major(train, _values(train, shared=False))
        ratings = by_user.data.astype(np.float64)
        mu = float(ratings.mean())
        rng = np.random.default_rng(seed)
        P = rng.normal(0.0, init_std, (train.n_users, factors))
        Q = rng.normal(0.0, init_std, (train.n_items, factors))
        b_user, b_item = np.zeros(train.n_users), np.zeros(train.n_items)
        t_user = ratings - mu
        t_item = item_values.astype(np.float64) - mu
        for _ in range(iterations):
            explicit_half_step(
                by_user.indptr, by_user.indices, t_user, P, b_user, Q, b_item,
                reg_user, reg_bias, biased, weighted,
            )  # fmt: skip
            explicit_half_step(
                item_indptr, item_indices, t_item, Q, b_item, P, b_user,
                reg_item, reg_bias, biased, weighted,
            )  # fmt: skip
        self._finish(ratings, mu, b_user, b_item, P, Q)


@register
class ALS(_ExplicitALSBase):
    """ALS for explicit ratings with biases: r̂ = μ + b_u + b_i + x_uᵀy_i, each half-step an exact
    ridge regression over the observed ratings (user factors and bias together, then items).

    factors, iterations; reg: L2 weight on the factors, reg_bias: on the biases, both multiplied
    by the row's rating count when weighted_reg (ALS-WR, Zhou et al. 2008); init_std and seed:
    the starting factors.
    """

    name = "als"
    description = "ALS for explicit ratings with user and item biases (exact ridge solves)"

    def __init__(
        self,
        *,
        factors: int = 20,
        iterations: int = 15,
        reg: float = 0.1,
        reg_bias: float = 0.1,
        weighted_reg: bool = True,
        init_std: float = 0.1,
        seed: int | None = None,
    ) -> None:
        self.factors = factors
        self.iterations = iterations
        self.reg = reg
        self.reg_bias = reg_bias
        self.weighted_reg = weighted_reg
        self.init_std = init_std
        self.seed = seed

    def _validate_params(self) -> None:
        check_int(self.factors, "factors", "ALS", low=1)
        check_int(self.iterations, "iterations", "ALS", low=1)
        check_float(self.reg, "reg", "ALS", low=0.0, low_open=True)
        check_float(self.reg_bias, "reg_bias", "ALS", low=0.0, low_open=True)
        check_bool(self.weighted_reg, "weighted_reg", "ALS")
        check_float(self.init_std, "init_std", "ALS", low=0.0)
        check_seed(self.seed, "seed", "ALS")

    def _fit(self, train: Interactions, valid: Interactions | None) -> None:
        self._solve(
            train,
            factors=int(self.factors),
            iterations=int(self.iterations),
            reg_user=float(self.reg),
            reg_item=float(self.reg),
            reg_bias=float(self.reg_bias),
            biased=True,
            weighted=bool(self.weighted_reg),
            init_std=float(self.init_std),
            seed=self.seed,
        )


@register
class PMF(_ExplicitALSBase):
    """Probabilistic MF (Salakhutdinov & Mnih 2007): r_ui ~ N(μ + x_uᵀy_i, σ²) with priors
    x_u ~ N(0, σ_U²·I), y_i ~ N(0, σ_V²·I). Its MAP estimate minimises
        Σ (r_ui − μ − x_uᵀy_i)² + (σ²/σ_U²)‖X‖² + (σ²/σ_V²)‖Y‖²,
    found here by alternating exact ridge solves (μ: the training mean).

    sigma, sigma_user, sigma_item: the standard deviations above; biased: add b_u, b_i with the
    item prior (a common extension). For the full posterior use "bpmf".
    """

    name = "pmf"
    description = "Probabilistic MF: MAP under Gaussian priors (alternating exact solves)"

    def __init__(
        self,
        *,
        factors: int = 10,
        iterations: int = 20,
        sigma: float = 1.0,
        sigma_user: float = 0.5,
        sigma_item: float = 0.5,
        biased: bool = False,
        init_std: float = 0.1,
        seed: int | None = None,
    ) -> None:
        self.factors = factors
        self.iterations = iterations
        self.sigma = sigma
        self.sigma_user = sigma_user
        self.sigma_item = sigma_item
        self.biased = biased
        self.init_std = init_std
        self.seed = seed

    def _validate_params(self) -> None:
        check_int(self.factors, "factors", "PMF", low=1)
        check_int(self.iterations, "iterations", "PMF", low=1)
        for name in ("sigma", "sigma_user", "sigma_item"):
            check_float(getattr(self, name), name, "PMF", low=0.0, low_open=True)
        check_bool(self.biased, "biased", "PMF")
        check_float(self.init_std, "init_std", "PMF", low=0.0)
        check_seed(self.seed, "seed", "PMF")

    def _fit(self, train: Interactions, valid: Interactions | None) -> None:
        noise = float(self.sigma) ** 2
        reg_item = noise / float(self.sigma_item) ** 2
        self._solve(
            train,
            factors=int(self.factors),
            iterations=int(self.iterations),
            reg_user=noise / float(self.sigma_user) ** 2,
            reg_item=reg_item,
            reg_bias=reg_item,
            biased=bool(self.biased),
            weighted=False,
            init_std=float(self.init_std),
            seed=self.seed,
        )
