"""Compiled (numba, parallel over items) ridge regressions of the neighbourhood-restricted EASE."""

from __future__ import annotations

import numpy as np
from numba import njit, prange

__all__ = ["restricted_ridge"]


@njit(parallel=True, nogil=True, cache=True)
def restricted_ridge(indptr, indices, values, k, reg, out_rows, out_weights):  # type: ignore[no-untyped-def]
    """For each item j, EASE's column j restricted to j's k nearest items.

    indptr, indices, values: the Gram matrix G = XᵀX [n, n] in CSR, symmetric, each row's
        columns ascending (float64 values: co-occurrence counts).
    The neighbours N_j are the k columns of row j with the largest counts, j itself excluded
    (ties: the lower index first); the weights solve the ridge regression of item j's column
    of X on theirs, b = (G[N_j, N_j] + reg·I)⁻¹ G[N_j, j] — EASE's closed form restricted
    to N_j (with every other item as N_j it is EASE's column exactly).
    out_rows: int [n, k], N_j ascending; out_weights: float [n, k], b. Rows with fewer
    than k neighbours leave the rest as the caller filled it (−1 and 0).
    """
    n = indptr.size - 1
    for j in prange(n):
        start, end = indptr[j], indptr[j + 1]
        columns = np.empty(end - start, dtype=np.int64)
        counts = np.empty(end - start)
        m = 0
        for t in range(start, end):
            if indices[t] != j:
                columns[m] = indices[t]
                counts[m] = values[t]
                m += 1
        size = min(k, m)
        if size == 0:
            continue
        order = np.argsort(-counts[:m], kind="mergesort")[:size]  # stable: lower index first
        chosen = np.sort(columns[order])
        system = np.empty((size, size))
        target = np.zeros(size)
        for a in range(size):
            row = chosen[a]
            row_columns = indices[indptr[row] : indptr[row + 1]]
            row_values = values[indptr[row] : indptr[row + 1]]
            where = np.searchsorted(row_columns, chosen[a:])  # G is symmetric: c ≥ a
            for c in range(a, size):
                p = where[c - a]
                found = p < row_columns.size and row_columns[p] == chosen[c]
                system[a, c] = system[c, a] = row_values[p] if found else 0.0
            system[a, a] += reg
            p = np.searchsorted(row_columns, j)
            if p < row_columns.size and row_columns[p] == j:
                target[a] = row_values[p]
        weights = _solve_positive_definite(system, target)
        for a in range(size):
            out_rows[j, a] = chosen[a]
            out_weights[j, a] = weights[a]


@njit(nogil=True, cache=True)
def _solve_positive_definite(system, target):  # type: ignore[no-untyped-def]
    """x with system·x = target for a symmetric positive definite `system` [k, k]: Cholesky
    (k³/3 flops, half of LU's) then two triangular substitutions."""
    lower = np.linalg.cholesky(system)
    k = target.size
    y = np.empty(k)
    for a in range(k):  # L y = target
        total = target[a]
        for c in range(a):
            total -= lower[a, c] * y[c]
        y[a] = total / lower[a, a]
    x = np.empty(k)
    for a in range(k - 1, -1, -1):  # Lᵀ x = y
        total = y[a]
        for c in range(a + 1, k):
            total -= lower[c, a] * x[c]
        x[a] = total / lower[a, a]
    return x
