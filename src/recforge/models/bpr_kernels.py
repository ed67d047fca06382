"""Compiled (numba) SGD epoch of Bayesian personalised ranking with sampled negatives."""

from __future__ import annotations

import numpy as np
from numba import njit

__all__ = ["bpr_epoch"]


@njit(nogil=True, cache=True)
def bpr_epoch(indptr, indices, owners, X, Y, bias, lr, reg, samples, seed):  # type: ignore[no-untyped-def]
    """`samples` SGD steps of BPR-Opt (Rendle et al. 2009); returns the mean log-likelihood.

    Each step draws a training interaction (u, i) uniformly and an item j that u never saw
    (uniform, redrawn until unseen), then ascends ln σ(x̂_ui − x̂_uj) − reg·‖θ‖²/2 with
    x̂_ui = x_uᵀy_i + b_i. indptr/indices: the training CSR (columns ascending);
    owners [nnz]: the user of each entry. X [U, k], Y [I, k], bias [I] (float32) in place.
    """
    np.random.seed(seed)  # noqa: NPY002 (numba's own generator, seeded per call)
    n_items, k = Y.shape
    nnz = indices.size
    total = 0.0
    for _ in range(samples):
        t = np.random.randint(nnz)  # noqa: NPY002
        u = owners[t]
        i = indices[t]
        start, end = indptr[u], indptr[u + 1]
        if end - start >= n_items:
            continue  # the user saw every item: no negative exists
        while True:
            j = np.random.randint(n_items)  # noqa: NPY002
            at = start + np.searchsorted(indices[start:end], j)
            if at == end or indices[at] != j:
                break
        diff = bias[i] - bias[j]
        for f in range(k):
            diff += X[u, f] * (Y[i, f] - Y[j, f])
        z = 1.0 / (1.0 + np.exp(diff))  # σ(−diff): the gradient weight
        total += -np.log1p(np.exp(-diff)) if diff > -30.0 else diff
        bias[i] += lr * (z - reg * bias[i])
        bias[j] += lr * (-z - reg * bias[j])
        for f in range(k):
            xf = X[u, f]
            yi = Y[i, f]
            yj = Y[j, f]
            X[u, f] += lr * (z * (yi - yj) - reg * xf)
            Y[i, f] += lr * (z * xf - reg * yi)
            Y[j, f] += lr * (-z * xf - reg * yj)
    return total / max(samples, 1)
