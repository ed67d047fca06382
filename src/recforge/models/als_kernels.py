"""Compiled (numba, parallel over rows) half-steps of alternating least squares.

Each function solves for every row of `X` with the other side `Y` held fixed, reading the
row's observations from a CSR (indptr, indices, values).
"""

from __future__ import annotations

import numpy as np
from numba import njit, prange

__all__ = ["explicit_half_step", "implicit_cg_half_step"]


@njit(parallel=True, nogil=True, cache=True, fastmath=True)
def implicit_cg_half_step(indptr, indices, confidence, X, Y, gram, reg, cg_steps):  # type: ignore[no-untyped-def]
    """Hu, Koren & Volinsky's weighted least squares for each row x_u, by conjugate gradient
    (Takács et al. 2011), warm-started from the current x_u:

        min_x Σ_i c_ui (p_ui − xᵀy_i)² + reg‖x‖²,  p_ui = 1 on observed entries, 0 elsewhere,
        c_ui = confidence on observed entries, 1 elsewhere.
    The system is (YᵀY + Yᵤᵀ(Cᵤ − I)Yᵤ + reg·I) x = Yᵤᵀ Cᵤ 1; `gram` = YᵀY [k, k] (float64).
    X [n, k] float64 is updated in place; Y [m, k] float64. No allocation per entry.
    """
    n, k = X.shape
    for u in prange(n):
        x = np.empty(k)
        r = np.empty(k)
        p = np.empty(k)
        Ap = np.empty(k)
        for f in range(k):
            x[f] = X[u, f]
        for a in range(k):  # r = −(YᵀY + reg·I) x + Σ_i (c − (c − 1)·y_iᵀx) y_i
            total = 0.0
            for b in range(k):
                total += gram[a, b] * x[b]
            r[a] = -total - reg * x[a]
        for t in range(indptr[u], indptr[u + 1]):
            i = indices[t]
            c = confidence[t]
            dot = 0.0
            for f in range(k):
                dot += Y[i, f] * x[f]
            weight = c - (c - 1.0) * dot
            for f in range(k):
                r[f] += weight * Y[i, f]
        rs_old = 0.0
        for f in range(k):
            p[f] = r[f]
            rs_old += r[f] * r[f]
        for _ in range(cg_steps):
            if rs_old < 1e-20:
                break
            for a in range(k):
                total = 0.0
                for b in range(k):
                    total += gram[a, b] * p[b]
                Ap[a] = total + reg * p[a]
            for t in range(indptr[u], indptr[u + 1]):
                i = indices[t]
                dot = 0.0
                for f in range(k):
                    dot += Y[i, f] * p[f]
                weight = (confidence[t] - 1.0) * dot
                for f in range(k):
                    Ap[f] += weight * Y[i, f]
            pAp = 0.0
            for f in range(k):
                pAp += p[f] * Ap[f]
            step = rs_old / pAp
            rs_new = 0.0
            for f in range(k):
                x[f] += step * p[f]
                r[f] -= step * Ap[f]
                rs_new += r[f] * r[f]
            for f in range(k):
                p[f] = r[f] + (rs_new / rs_old) * p[f]
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
