"""Surprise's SGD loops for SVD and SVD++, written slowly and literally, as known answers.

Ratings are visited user by user (CSR order), as recforge visits them without shuffling; the
factors start from the same generator calls as recforge's.
"""

from __future__ import annotations

from typing import Any

import numpy as np

from recforge.data import Interactions


def reference_svd(
    data: Interactions, *, factors: int, n_epochs: int, lr: float, reg: float, seed: int
) -> dict[str, Any]:
    m = data.matrix
    rng = np.random.default_rng(seed)
    P = rng.normal(0.0, 0.1, (data.n_users, factors))
    Q = rng.normal(0.0, 0.1, (data.n_items, factors))
    bu, bi = np.zeros(data.n_users), np.zeros(data.n_items)
    mu = float(m.data.astype(np.float64).mean())
    for _ in range(n_epochs):
        for u in range(data.n_users):
            for t in range(m.indptr[u], m.indptr[u + 1]):
                i, r = int(m.indices[t]), float(m.data[t])
                err = r - (mu + bu[u] + bi[i] + float(P[u] @ Q[i]))
                bu[u] += lr * (err - reg * bu[u])
                bi[i] += lr * (err - reg * bi[i])
                p, q = P[u].copy(), Q[i].copy()
                P[u] += lr * (err * q - reg * p)
                Q[i] += lr * (err * p - reg * q)
    return {"mu": mu, "bu": bu, "bi": bi, "x": P, "q": Q}


def reference_svdpp(
    data: Interactions, *, factors: int, n_epochs: int, lr: float, reg: float, seed: int
) -> dict[str, Any]:
    m = data.matrix
    rng = np.random.default_rng(seed)
    P = rng.normal(0.0, 0.1, (data.n_users, factors))
    Q = rng.normal(0.0, 0.1, (data.n_items, factors))
    Y = rng.normal(0.0, 0.1, (data.n_items, factors))
    bu, bi = np.zeros(data.n_users), np.zeros(data.n_items)
    mu = float(m.data.astype(np.float64).mean())
    for _ in range(n_epochs):
        for u in range(data.n_users):
            rated = m.indices[m.indptr[u] : m.indptr[u + 1]]
            root = np.sqrt(len(rated))
            for t in range(m.indptr[u], m.indptr[u + 1]):
                i, r = int(m.indices[t]), float(m.data[t])
                implicit = Y[rated].sum(axis=0) / root  # recomputed for every rating
                err = r - (mu + bu[u] + bi[i] + float(Q[i] @ (P[u] + implicit)))
                bu[u] += lr * (err - reg * bu[u])
                bi[i] += lr * (err - reg * bi[i])
                p, q = P[u].copy(), Q[i].copy()
                P[u] += lr * (err * q - reg * p)
                Q[i] += lr * (err * (p + implicit) - reg * q)
                for j in rated:  # every rated item's implicit factor moves, every rating
                    Y[j] += lr * (err * q / root - reg * Y[j])
    x = P.copy()
    for u in range(data.n_users):
        rated = m.indices[m.indptr[u] : m.indptr[u + 1]]
        if len(rated):
            x[u] += Y[rated].sum(axis=0) / np.sqrt(len(rated))
    return {"mu": mu, "bu": bu, "bi": bi, "x": x, "q": Q}


def reference_nmf(
    data: Interactions, *, factors: int, n_epochs: int, reg: float, biased: bool, seed: int
) -> dict[str, Any]:
    """Surprise's NMF epoch: num/denominators from the epoch's start factors, then the update."""
    users, items = data.matrix.nonzero()
    ratings = data.matrix.data.astype(np.float64)
    rng = np.random.default_rng(seed)
    P = rng.uniform(0.0, 1.0, (data.n_users, factors))
    Q = rng.uniform(0.0, 1.0, (data.n_items, factors))
    bu, bi = np.zeros(data.n_users), np.zeros(data.n_items)
    mu = float(ratings.mean()) if biased else 0.0
    for _ in range(n_epochs):
        user_num, user_den = np.zeros_like(P), np.zeros_like(P)
        item_num, item_den = np.zeros_like(Q), np.zeros_like(Q)
        for u, i, r in zip(users, items, ratings, strict=True):
            est = float(P[u] @ Q[i]) + (mu + bu[u] + bi[i] if biased else 0.0)
            err = r - est
            if biased:
                bu[u] += 0.005 * (err - 0.02 * bu[u])
                bi[i] += 0.005 * (err - 0.02 * bi[i])
            user_num[u] += Q[i] * r
            user_den[u] += Q[i] * est
            item_num[i] += P[u] * r
            item_den[i] += P[u] * est
        n_u = np.bincount(users, minlength=data.n_users)[:, None]
        n_i = np.bincount(items, minlength=data.n_items)[:, None]
        P = P * user_num / (user_den + n_u * reg * P)
        Q = Q * item_num / (item_den + n_i * reg * Q)
    return {"mu": mu, "bu": bu, "bi": bi, "x": P, "q": Q}


def assert_matches(model: Any, expected: dict[str, Any]) -> None:
    assert model.global_mean_ == expected["mu"]
    np.testing.assert_allclose(model.user_bias_, expected["bu"], atol=1e-6)
    np.testing.assert_allclose(model.item_bias_, expected["bi"], atol=1e-6)
    np.testing.assert_allclose(model.user_factors_, expected["x"], atol=1e-6)
    np.testing.assert_allclose(model.item_factors_, expected["q"], atol=1e-6)
