"""Bayesian probabilistic MF (Salakhutdinov & Mnih 2008), sampled by Gibbs.

Model: r_ui ~ N(μ + x_uᵀy_i, 1/α); x_u ~ N(μ_U, Λ_U⁻¹), y_i ~ N(μ_V, Λ_V⁻¹); each
(μ, Λ) ~ Normal-Wishart(μ₀ = 0, β₀, W₀ = I, ν₀ = k). One sweep samples (μ_U, Λ_U) | X, every
x_u | rest, (μ_V, Λ_V) | Y, every y_i | rest. Predictions average r̂ over the samples kept
after burn-in; since an average of products is a product of stacked factors, the kept samples
are stored side by side (k·samples columns) and score like one factor model.
"""

from __future__ import annotations

import numpy as np
import scipy.sparse as sp
from scipy.stats import wishart

from recforge._validation import check_float, check_int, check_seed
from recforge.data.interactions import Interactions
from recforge.models.mf import _RatingFactorModel
from recforge.models.registry import register

__all__ = ["BPMF"]


@register
class BPMF(_RatingFactorModel):
    """Bayesian PMF by Gibbs sampling; the prediction is the posterior mean (clipped).

    factors: k; samples: sweeps kept; burn_in: sweeps discarded first; alpha: the rating
    precision (2 in the paper); beta0: the prior's confidence in μ₀ = 0; seed: the chain.
    """

    name = "bpmf"
    description = "Bayesian probabilistic MF (Gibbs sampling, Normal-Wishart priors)"

    def __init__(
        self,
        *,
        factors: int = 10,
        samples: int = 100,
        burn_in: int = 20,
        alpha: float = 2.0,
        beta0: float = 2.0,
        seed: int | None = None,
    ) -> None:
        self.factors = factors
        self.samples = samples
        self.burn_in = burn_in
        self.alpha = alpha
        self.beta0 = beta0
        self.seed = seed

    def _validate_params(self) -> None:
        check_int(self.factors, "factors", "BPMF", low=1)
        check_int(self.samples, "samples", "BPMF", low=1)
        check_int(self.burn_in, "burn_in", "BPMF", low=0)
        check_float(self.alpha, "alpha", "BPMF", low=0.0, low_open=True)
        check_float(self.beta0, "beta0", "BPMF", low=0.0, low_open=True)
        check_seed(self.seed, "seed", "BPMF")

    def _fit(self, train: Interactions, valid: Interactions | None) -> None:
        from recforge.models.bpmf_kernels import sample_rows

        by_user = train.matrix
        by_item = sp.csr_array(by_user.T)
        by_item.sort_indices()
        ratings = by_user.data.astype(np.float64)
        mu = float(ratings.mean())
        t_user, t_item = ratings - mu, by_item.data.astype(np.float64) - mu
        rng = np.random.default_rng(self.seed)
        k, alpha = int(self.factors), float(self.alpha)
        X = rng.normal(0.0, 0.1, (train.n_users, k))
        Y = rng.normal(0.0, 0.1, (train.n_items, k))
        kept_x, kept_y = [], []
        for sweep in range(int(self.burn_in) + int(self.samples)):
            mean_u, prec_u = self._hyper(X, rng)
            sample_rows(
                by_user.indptr, by_user.indices, t_user, X, Y, mean_u, prec_u, alpha,
                rng.standard_normal(X.shape),
            )  # fmt: skip
            mean_v, prec_v = self._hyper(Y, rng)
            sample_rows(
                by_item.indptr, by_item.indices, t_item, Y, X, mean_v, prec_v, alpha,
                rng.standard_normal(Y.shape),
            )  # fmt: skip
            if sweep >= int(self.burn_in):
                kept_x.append(X.copy())
                kept_y.append(Y.copy())
        scale = 1.0 / np.sqrt(len(kept_x))  # Σ_s x_sᵀy_s / S as one dot product
        zeros_u, zeros_i = np.zeros(train.n_users), np.zeros(train.n_items)
        self._finish(
            ratings, mu, zeros_u, zeros_i, np.hstack(kept_x) * scale, np.hstack(kept_y) * scale
        )

    def _hyper(self, F: np.ndarray, rng: np.random.Generator) -> tuple[np.ndarray, np.ndarray]:
        """(μ, Λ) ~ the Normal-Wishart posterior given the rows of F [n, k]."""
        n, k = F.shape
        beta0, nu0 = float(self.beta0), k
        mean = F.mean(axis=0)
        centred = F - mean
        scatter = centred.T @ centred
        beta_n, nu_n = beta0 + n, nu0 + n
        mu_n = (n * mean) / beta_n  # μ₀ = 0
        W_inv = np.eye(k) + scatter + (beta0 * n / beta_n) * np.outer(mean, mean)  # W₀ = I
        W = np.linalg.inv(W_inv)
        W = (W + W.T) / 2
        precision = np.atleast_2d(wishart.rvs(df=nu_n, scale=W, random_state=rng))
        cov = np.linalg.inv(beta_n * precision)
        mean_sample = rng.multivariate_normal(mu_n, (cov + cov.T) / 2)
        return mean_sample, precision
