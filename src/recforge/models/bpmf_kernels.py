"""Compiled (numba, parallel over rows) Gibbs draws of the BPMF factor rows."""

from __future__ import annotations

import numpy as np
from numba import njit, prange

__all__ = ["sample_rows"]


@njit(parallel=True, nogil=True, cache=True)
def sample_rows(indptr, indices, targets, X, Y, prior_mean, prior_precision, alpha, noise):  # type: ignore[no-untyped-def]
    """Draw every row x_u of X [n, k] from its conditional N(m, Λ⁻¹):

        Λ = Λ_prior + α Σ_{i ∈ row u} y_i y_iᵀ,   m = Λ⁻¹ (α Σ y_i t_ui + Λ_prior μ_prior),
    as x_u = m + L⁻ᵀ z with Λ = L Lᵀ and z = noise[u] (standard normals drawn by the caller, so
    the chain does not depend on thread scheduling). targets: ratings − μ, in CSR order.
    """
    n, k = X.shape
    prior_term = prior_precision @ prior_mean
    for u in prange(n):
        precision = prior_precision.copy()
        rhs = prior_term.copy()
        for t in range(indptr[u], indptr[u + 1]):
            y = Y[indices[t]]
            for a in range(k):
                rhs[a] += alpha * targets[t] * y[a]
                for b in range(k):
                    precision[a, b] += alpha * y[a] * y[b]
        L = np.linalg.cholesky(precision)
        mean = np.linalg.solve(L.T, np.linalg.solve(L, rhs))
        X[u, :] = mean + np.linalg.solve(L.T, noise[u])
