"""Compiled (numba, parallel over rows) half-steps of alternating least squares.

Each function solves for every row of `X` with the other side `Y` held fixed, reading the
row's observations from a CSR (indptr, indices, values).
"""

from __future__ import annotations

import numpy as np
from numba import njit, prange

__all__ = ["explicit_half_step", "implicit_cg_half_step"]


@njit(parallel=True, nogil=True, cache=True)
def implicit_cg_half_step(indptr, indices, confidence, X, Y, gram, reg, cg_steps):  # type: ignore[no-untyped-def]
    """Hu, Koren & Volinsky's weighted least squares for each row x_u, by conjugate gradient
    (Takács et al. 2011), warm-started from the current x_u:

        min_x Σ_i c_ui (p_ui − xᵀy_i)² + reg‖x‖²,  p_ui = 1 on observed entries, 0 elsewhere,
        c_ui = confidence on observed entries, 1 elsewhere.
    The system is (YᵀY + Yᵤᵀ(Cᵤ − I)Yᵤ + reg·I) x = Yᵤᵀ Cᵤ 1; `gram` = YᵀY [k, k] (float64).
    X [n, k] float32 is updated in place; Y [m, k] float32.
    """
    n, k = X.shape
    for u in prange(n):
        x = X[u].astype(np.float64)
        r = -(gram @ x) - reg * x
        for t in range(indptr[u], indptr[u + 1]):
            y = Y[indices[t]].astype(np.float64)
            c = confidence[t]
            r += (c - (c - 1.0) * (y @ x)) * y
        p = r.copy()
        rs_old = r @ r
        for _ in range(cg_steps):
            if rs_old < 1e-20:
                break
            Ap = gram @ p + reg * p
            for t in range(indptr[u], indptr[u + 1]):
                y = Y[indices[t]].astype(np.float64)
                Ap += (confidence[t] - 1.0) * (y @ p) * y
            step = rs_old / (p @ Ap)
            x += step * p
            r -= step * Ap
            rs_new = r @ r
            p = r + (rs_new / rs_old) * p
            rs_old = rs_new
        for f in range(k):
            X[u, f] = x[f]


@njit(parallel=True, nogil=True, cache=True)
def explicit_half_step(  # type: ignore[no-untyped-def]
    indptr, indices, targets, X, bias, Y, other_bias, reg, reg_bias, biased, weighted
):
    """Ridge regression of each row's ratings on the fixed side, solved exactly:

        min_{x, b} Σ_i (t_ui − other_bias_i − b − xᵀy_i)² + λ‖x‖² + λ_b·b²
    (b and other_bias only when `biased`); t = rating − μ. λ = reg, or reg·n_u when `weighted`
    (ALS-WR, Zhou et al. 2008), likewise λ_b. X [n, k] and bias [n] (float64) are overwritten;
    rows without observations get zeros.
    """
    n, k = X.shape
    size = k + 1 if biased else k
    for u in prange(n):
        start, end = indptr[u], indptr[u + 1]
        if end == start:
            X[u, :] = 0.0
            if biased:
                bias[u] = 0.0
            continue
        A = np.zeros((size, size))
        rhs = np.zeros(size)
        for t in range(start, end):
            i = indices[t]
            residual = targets[t] - (other_bias[i] if biased else 0.0)
            for a in range(k):
                ya = Y[i, a]
                rhs[a] += residual * ya
                for b in range(a, k):
                    A[a, b] += ya * Y[i, b]
                if biased:
                    A[a, k] += ya
            if biased:
                A[k, k] += 1.0
                rhs[k] += residual
        for a in range(size):
            for b in range(a):
                A[a, b] = A[b, a]
        scale = float(end - start) if weighted else 1.0
        for f in range(k):
            A[f, f] += reg * scale
        if biased:
            A[k, k] += reg_bias * scale
        solution = np.linalg.solve(A, rhs)
        for f in range(k):
            X[u, f] = solution[f]
        if biased:
            bias[u] = solution[k]
