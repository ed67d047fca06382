"""Compiled (numba) epochs for the rating factor models: biased MF, SVD++ and NMF.

All follow Surprise's update rules exactly (one rating at a time, the old factor values on the
right-hand side), so a model trained here can be checked against a slow Python loop.
"""

from __future__ import annotations

import numpy as np
from numba import njit

__all__ = ["biased_mf_epoch", "implicit_sums", "nmf_epoch", "svdpp_epoch"]


@njit(nogil=True, cache=True)
def biased_mf_epoch(users, items, ratings, order, mu, b_user, b_item, P, Q, lr, reg, biased):  # type: ignore[no-untyped-def]
    """One pass over the ratings in `order`; returns the sum of squared errors before updates.

    users, items: int [n]; ratings: float64 [n]; order: int64 [n] (positions to visit).
    b_user [U], b_item [I], P [U, k], Q [I, k]: float64, updated in place.
    biased=False drops μ and the biases (Funk's plain SVD).
    """
    k = P.shape[1]
    total = 0.0
    for t in order:
        u = users[t]
        i = items[t]
        dot = 0.0
        for f in range(k):
            dot += P[u, f] * Q[i, f]
        estimate = mu + b_user[u] + b_item[i] + dot if biased else dot
        err = ratings[t] - estimate
        total += err * err
        if biased:
            b_user[u] += lr * (err - reg * b_user[u])
            b_item[i] += lr * (err - reg * b_item[i])
        for f in range(k):
            p = P[u, f]
            q = Q[i, f]
            P[u, f] += lr * (err * q - reg * p)
            Q[i, f] += lr * (err * p - reg * q)
    return total


@njit(nogil=True, cache=True)
def svdpp_epoch(indptr, indices, ratings, user_order, mu, b_user, b_item, P, Q, Y, lr, reg):  # type: ignore[no-untyped-def]
    """One SVD++ pass, user by user in `user_order`; returns the sum of squared errors.

    indptr [U + 1], indices [n], ratings float64 [n]: the training CSR (N(u) = the row of u).
    P [U, k], Q [I, k], Y [I, k] (implicit factors), biases: float64, updated in place.

    Surprise updates every y_j, j ∈ N(u), after each rating of u: y_j ← a·y_j + v_t with
    a = 1 − lr·reg and a step v_t shared by all j. The same affine map for every j means the
    user's T steps compose to y_j ← a^T·y_j + D, with D accumulated as D ← a·D + v_t, and the
    implicit sum s = |N(u)|^-½ Σ_j y_j follows s ← a·s + lr·err·q_i. So each rating costs O(k)
    instead of O(|N(u)|·k), with the same result.
    """
    k = P.shape[1]
    decay = 1.0 - lr * reg
    s = np.empty(k)
    shift = np.empty(k)
    total = 0.0
    for u in user_order:
        start = indptr[u]
        end = indptr[u + 1]
        if end == start:
            continue
        scale = 1.0 / np.sqrt(end - start)
        s[:] = 0.0
        for t in range(start, end):
            j = indices[t]
            for f in range(k):
                s[f] += Y[j, f]
        for f in range(k):
            s[f] *= scale
        shift[:] = 0.0
        for t in range(start, end):
            i = indices[t]
            dot = 0.0
            for f in range(k):
                dot += Q[i, f] * (P[u, f] + s[f])
            err = ratings[t] - (mu + b_user[u] + b_item[i] + dot)
            total += err * err
            b_user[u] += lr * (err - reg * b_user[u])
            b_item[i] += lr * (err - reg * b_item[i])
            for f in range(k):
                p = P[u, f]
                q = Q[i, f]
                P[u, f] += lr * (err * q - reg * p)
                Q[i, f] += lr * (err * (p + s[f]) - reg * q)
                shift[f] = decay * shift[f] + lr * err * q * scale
                s[f] = decay * s[f] + lr * err * q
        factor = decay ** (end - start)
        for t in range(start, end):
            j = indices[t]
            for f in range(k):
                Y[j, f] = factor * Y[j, f] + shift[f]
    return total


@njit(nogil=True, cache=True)
def implicit_sums(indptr, indices, Y, out):  # type: ignore[no-untyped-def]
    """out[u] = |N(u)|^-½ Σ_{j ∈ N(u)} Y[j] for every row u of the CSR (0 for empty rows)."""
    for u in range(indptr.size - 1):
        start = indptr[u]
        end = indptr[u + 1]
        out[u, :] = 0.0
        if end == start:
            continue
        for t in range(start, end):
            out[u, :] += Y[indices[t], :]
        out[u, :] *= 1.0 / np.sqrt(end - start)


@njit(nogil=True, cache=True)
def nmf_epoch(users, items, ratings, mu, b_user, b_item, P, Q, reg_p, reg_q, lr_b, reg_b, biased):  # type: ignore[no-untyped-def]
    """One epoch of Luo et al.'s multiplicative NMF on the observed ratings (Surprise's NMF).

    With P and Q fixed for the pass: for each rating, est = (μ + b_u + b_i +) p_u·q_i, the
    biases take an SGD step, and num/denominators gather q_i·r, q_i·est (users) and p_u·r,
    p_u·est (items). Then p_uf *= num / (denom + |I(u)|·reg_p·p_uf), likewise q_if. Factors
    that start ≥ 0 stay ≥ 0. Returns the sum of squared errors.
    """
    n_users, k = P.shape
    n_items = Q.shape[0]
    user_num = np.zeros((n_users, k))
    user_den = np.zeros((n_users, k))
    item_num = np.zeros((n_items, k))
    item_den = np.zeros((n_items, k))
    user_count = np.zeros(n_users)
    item_count = np.zeros(n_items)
    total = 0.0
    for t in range(ratings.size):
        u = users[t]
        i = items[t]
        r = ratings[t]
        dot = 0.0
        for f in range(k):
            dot += P[u, f] * Q[i, f]
        estimate = mu + b_user[u] + b_item[i] + dot if biased else dot
        err = r - estimate
        total += err * err
        if biased:
            b_user[u] += lr_b * (err - reg_b * b_user[u])
            b_item[i] += lr_b * (err - reg_b * b_item[i])
        for f in range(k):
            user_num[u, f] += Q[i, f] * r
            user_den[u, f] += Q[i, f] * estimate
            item_num[i, f] += P[u, f] * r
            item_den[i, f] += P[u, f] * estimate
        user_count[u] += 1.0
        item_count[i] += 1.0
    for u in range(n_users):
        for f in range(k):
            den = user_den[u, f] + user_count[u] * reg_p * P[u, f]
            if den > 0.0:
                P[u, f] *= user_num[u, f] / den
    for i in range(n_items):
        for f in range(k):
            den = item_den[i, f] + item_count[i] * reg_q * Q[i, f]
            if den > 0.0:
                Q[i, f] *= item_num[i, f] / den
    return total
