"""Compiled (numba) SGD epoch of Bayesian personalised ranking with sampled negatives."""

from __future__ import annotations

import numpy as np
from numba import njit

__all__ = ["BITMAP_CELLS", "bpr_epoch", "seen_bitmap"]

BITMAP_CELLS = 1 << 29  # users × items up to which "seen?" is a bitmap (64 MiB), not a search


def seen_bitmap(indptr: np.ndarray, indices: np.ndarray, n_items: int) -> np.ndarray:
    """uint8 [⌈n_users · n_items / 8⌉]: bit u·n_items + i (little-endian within a byte) set
    where user u saw item i; empty when the catalogue is too large for one (BITMAP_CELLS)."""
    n_users = indptr.size - 1
    if n_users * n_items > BITMAP_CELLS:
        return np.zeros(0, dtype=np.uint8)
    cells = np.repeat(np.arange(n_users, dtype=np.int64), np.diff(indptr)) * n_items + indices
    present = np.zeros(n_users * n_items, dtype=bool)
    present[cells] = True
    return np.packbits(present, bitorder="little")


@njit(inline="always")
def _draw(state, bound):  # type: ignore[no-untyped-def]
    """A uniform integer in [0, bound) from the xorshift64* generator state[0] (advanced)."""
    x = state[0]
    x ^= x >> np.uint64(12)
    x ^= x << np.uint64(25)
    x ^= x >> np.uint64(27)
    state[0] = x
    high = (x * np.uint64(2685821657736338717)) >> np.uint64(32)  # its best 32 bits
    return np.int64((high * np.uint64(bound)) >> np.uint64(32))


# reassociation lets the dot product vectorise; NaN and inf keep their meaning (a diverging fit
# must surface as non-finite factors, not as undefined behaviour)
@njit(nogil=True, cache=True, fastmath={"reassoc", "contract"}, error_model="numpy")
def bpr_epoch(indptr, indices, owners, X, Y, bias, lr, reg, samples, seed, seen_bits):  # type: ignore[no-untyped-def]
    """`samples` SGD steps of BPR-Opt (Rendle et al. 2009); returns the share of steps whose
    pair was already ordered (x̂_ui > x̂_uj) before the step.

    Each step draws a training interaction (u, i) uniformly and an item j that u never saw
    (uniform, redrawn until unseen), then ascends ln σ(x̂_ui − x̂_uj) − reg·‖θ‖²/2 with
    x̂_ui = x_uᵀy_i + b_i. indptr/indices: the training CSR (columns ascending);
    owners [nnz]: the user of each entry. X [U, k], Y [I, k], bias [I] (float32) in place.
    seen_bits: `seen_bitmap` of the CSR, or empty to look j up in u's row by binary search.
    seed starts the xorshift64* generator, so an epoch is a function of its inputs.
    """
    state = np.empty(1, dtype=np.uint64)
    state[0] = np.uint64(seed) * np.uint64(0x9E3779B97F4A7C15) + np.uint64(1)  # never 0
    n_items, k = Y.shape
    nnz = indices.size
    use_bits = seen_bits.size > 0
    ordered = 0
    for _ in range(samples):
        t = _draw(state, nnz)
        u = owners[t]
        i = indices[t]
        start, end = indptr[u], indptr[u + 1]
        if end - start >= n_items:
            continue  # the user saw every item: no negative exists
        while True:
            j = _draw(state, n_items)
            if use_bits:
                cell = u * n_items + j
                if not (seen_bits[cell >> 3] >> (cell & 7)) & 1:
                    break
            else:
                at = start + np.searchsorted(indices[start:end], j)
                if at == end or indices[at] != j:
                    break
        x_u, y_i, y_j = X[u], Y[i], Y[j]
        diff = bias[i] - bias[j]
        for f in range(k):
            diff += x_u[f] * (y_i[f] - y_j[f])
        z = 1.0 / (1.0 + np.exp(diff))  # σ(−diff): the gradient weight
        ordered += diff > 0
        bias[i] += lr * (z - reg * bias[i])
        bias[j] += lr * (-z - reg * bias[j])
        for f in range(k):
            xf = x_u[f]
            yi = y_i[f]
            yj = y_j[f]
            x_u[f] = xf + lr * (z * (yi - yj) - reg * xf)
            y_i[f] = yi + lr * (z * xf - reg * yi)
            y_j[f] = yj + lr * (-z * xf - reg * yj)
    return ordered / max(samples, 1)
