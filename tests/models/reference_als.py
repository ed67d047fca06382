"""ALS references: each half-step solved row by row with numpy's dense solver."""

from __future__ import annotations

from typing import Any

import numpy as np

from recforge.data import Interactions


def reference_explicit_als(
    data: Interactions,
    *,
    factors: int,
    iterations: int,
    reg_user: float,
    reg_item: float,
    reg_bias: float,
    biased: bool,
    weighted: bool,
    seed: int,
    init_std: float = 0.1,
) -> dict[str, Any]:
    R = data.matrix.toarray().astype(np.float64)
    rated = np.zeros(R.shape, dtype=bool)
    rated[data.matrix.nonzero()] = True
    mu = float(R[rated].mean())
    rng = np.random.default_rng(seed)
    P = rng.normal(0.0, init_std, (data.n_users, factors))
    Q = rng.normal(0.0, init_std, (data.n_items, factors))
    bu, bi = np.zeros(data.n_users), np.zeros(data.n_items)

    def half(R: np.ndarray, rated: np.ndarray, Y: np.ndarray, other: np.ndarray, reg: float):
        X, b = np.zeros((R.shape[0], factors)), np.zeros(R.shape[0])
        for u in range(R.shape[0]):
            cols = np.flatnonzero(rated[u])
            if cols.size == 0:
                continue
            Z = np.hstack([Y[cols], np.ones((cols.size, 1))]) if biased else Y[cols]
            target = R[u, cols] - mu - (other[cols] if biased else 0.0)
            scale = cols.size if weighted else 1.0
            penalty = [reg * scale] * factors + ([reg_bias * scale] if biased else [])
            solution = np.linalg.solve(Z.T @ Z + np.diag(penalty), Z.T @ target)
            X[u] = solution[:factors]
            if biased:
                b[u] = solution[factors]
        return X, b

    for _ in range(iterations):
        P, bu = half(R, rated, Q, bi, reg_user)
        Q, bi = half(R.T, rated.T, P, bu, reg_item)
    return {"mu": mu, "bu": bu, "bi": bi, "x": P, "q": Q}


def reference_ials(
    data: Interactions, *, factors: int, iterations: int, reg: float, alpha: float, seed: int
) -> tuple[np.ndarray, np.ndarray]:
    """Exact solves of Hu et al.'s weighted least squares, user then item, from the same start."""
    R = data.matrix.toarray().astype(np.float64)
    observed = R > 0
    rng = np.random.default_rng(seed)
    X = rng.normal(0.0, 0.01, (data.n_users, factors))
    Y = rng.normal(0.0, 0.01, (data.n_items, factors))
    C = 1.0 + alpha * R
    for _ in range(iterations):
        for u in range(data.n_users):
            W = np.diag(C[u])
            X[u] = np.linalg.solve(Y.T @ W @ Y + reg * np.eye(factors), Y.T @ W @ observed[u])
        for i in range(data.n_items):
            W = np.diag(C[:, i])
            Y[i] = np.linalg.solve(X.T @ W @ X + reg * np.eye(factors), X.T @ W @ observed[:, i])
    return X, Y
