"""Compiled (numba) SGD epoch of Bayesian personalised ranking with sampled negatives."""

from __future__ import annotations

import numpy as np
from numba import njit, prange

__all__ = ["BITMAP_CELLS", "bpr_epoch", "bpr_epoch_stratified", "seen_bitmap"]

BITMAP_CELLS = 1 << 23  # users × items up to which "seen?" is a bitmap (1 MiB, cache-sized)


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


@njit(inline="always")
def _unseen(u, j, indptr, indices, seen_bits, n_items):  # type: ignore[no-untyped-def]
    """Whether user u never saw item j: the bitmap when there is one, else a binary search of
    u's row (columns ascending)."""
    if seen_bits.size > 0:
        cell = u * n_items + j
        return not (seen_bits[cell >> 3] >> (cell & 7)) & 1
    start, end = indptr[u], indptr[u + 1]
    at = start + np.searchsorted(indices[start:end], j)
    return at == end or indices[at] != j


@njit(inline="always")
def _step(X, Y, bias, u, i, j, lr, reg):  # type: ignore[no-untyped-def]
    """One ascent step of ln σ(x̂_ui − x̂_uj) − reg·‖θ‖²/2; returns 1 if the pair was already
    ordered (x̂_ui > x̂_uj) before it, else 0."""
    x_u, y_i, y_j = X[u], Y[i], Y[j]
    k = x_u.size
    diff = bias[i] - bias[j]
    for f in range(k):
        diff += x_u[f] * (y_i[f] - y_j[f])
    z = 1.0 / (1.0 + np.exp(diff))  # σ(−diff): the gradient weight
    bias[i] += lr * (z - reg * bias[i])
    bias[j] += lr * (-z - reg * bias[j])
    for f in range(k):
        xf = x_u[f]
        yi = y_i[f]
        yj = y_j[f]
        x_u[f] = xf + lr * (z * (yi - yj) - reg * xf)
        y_i[f] = yi + lr * (z * xf - reg * yi)
        y_j[f] = yj + lr * (-z * xf - reg * yj)
    return 1 if diff > 0 else 0


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
    state = _generator(seed)
    n_items = Y.shape[0]
    nnz = indices.size
    ordered = 0
    for _ in range(samples):
        t = _draw(state, nnz)
        u = owners[t]
        i = indices[t]
        if indptr[u + 1] - indptr[u] >= n_items:
            continue  # the user saw every item: no negative exists
        while True:
            j = _draw(state, n_items)
            if _unseen(u, j, indptr, indices, seen_bits, n_items):
                break
        ordered += _step(X, Y, bias, u, i, j, lr, reg)
    return ordered / max(samples, 1)


@njit(nogil=True, cache=True)
def _generator(seed):  # type: ignore[no-untyped-def]
    """A xorshift64* state (uint64 [1], never 0) from an integer seed."""
    state = np.empty(1, dtype=np.uint64)
    state[0] = np.uint64(seed) * np.uint64(0x9E3779B97F4A7C15) + np.uint64(1)
    _draw(state, 2)  # mix once, so nearby seeds part at once
    return state


@njit(nogil=True, cache=True)
def _balanced_groups(order, strata, state):  # type: ignore[no-untyped-def]
    """group int64 [n]: a fresh random partition of 0 … n − 1 into `strata` groups whose sizes
    differ by at most one, balanced along `order` (int64 [n]): each run of `strata` consecutive
    entries of it is dealt one to a group, in a random order."""
    n = order.size
    group = np.empty(n, dtype=np.int64)
    deal = np.arange(strata)
    for first in range(0, n, strata):
        for a in range(strata - 1, 0, -1):  # Fisher–Yates
            b = _draw(state, a + 1)
            deal[a], deal[b] = deal[b], deal[a]
        for r in range(min(strata, n - first)):
            group[order[first + r]] = deal[r]
    return group


@njit(nogil=True, cache=True)
def _blocks(indptr, indices, user_order, item_order, strata, state):  # type: ignore[no-untyped-def]
    """A fresh random partition of users and items into `strata` groups each, balanced along
    user_order and item_order (`_balanced_groups`), and the training entries of every (user
    group, item group) cell: (cell_ptr int64 [strata² + 1], entries int64 [nnz] grouped by cell,
    members int64 [n_items] listing each item group's items in turn, item_ptr int64
    [strata + 1] bounding them)."""
    n_users = indptr.size - 1
    n_items = item_order.size
    user_group = _balanced_groups(user_order, strata, state)
    item_group = _balanced_groups(item_order, strata, state)
    item_ptr = np.zeros(strata + 1, dtype=np.int64)
    for i in range(n_items):
        item_ptr[item_group[i] + 1] += 1
    for g in range(strata):
        item_ptr[g + 1] += item_ptr[g]
    members = np.empty(n_items, dtype=np.int64)
    at = item_ptr[:-1].copy()
    for i in range(n_items):
        members[at[item_group[i]]] = i
        at[item_group[i]] += 1
    cells = strata * strata
    cell_ptr = np.zeros(cells + 1, dtype=np.int64)
    for u in range(n_users):
        for t in range(indptr[u], indptr[u + 1]):
            cell_ptr[user_group[u] * strata + item_group[indices[t]] + 1] += 1
    for c in range(cells):
        cell_ptr[c + 1] += cell_ptr[c]
    at = cell_ptr[:-1].copy()
    entries = np.empty(indices.size, dtype=np.int64)
    for u in range(n_users):
        for t in range(indptr[u], indptr[u + 1]):
            c = user_group[u] * strata + item_group[indices[t]]
            entries[at[c]] = t
            at[c] += 1
    return cell_ptr, entries, members, item_ptr


NEGATIVE_DRAWS = 64  # a stratified step is skipped when this many draws all hit seen items


@njit(parallel=True, nogil=True, cache=True, fastmath={"reassoc", "contract"}, error_model="numpy")
def bpr_epoch_stratified(  # type: ignore[no-untyped-def]
    indptr, indices, owners, X, Y, bias, lr, reg, seed, seen_bits, strata, user_order, item_order
):
    """One BPR epoch as stratified SGD (DSGD, Gemulla et al. 2011): users and items are split
    at random into `strata` groups each (afresh every epoch, balanced along user_order and
    item_order, int64 permutations listing the busiest first: `_balanced_groups`); in each of
    `strata` sub-epochs the cells (g, (g + s) mod strata), which share no user and no item, run
    in parallel, each taking as many steps as it holds training entries: an entry of the cell
    drawn uniformly and a negative drawn uniformly from the cell's item group, redrawn while
    seen (at most NEGATIVE_DRAWS times, else the step is skipped). Every cell has its own
    generator, seeded from `seed`, so the result depends on `strata` but not on the number of
    threads. Arguments as `bpr_epoch`; returns the share of steps whose pair was already
    ordered.
    """
    n_items = Y.shape[0]
    cell_ptr, entries, members, item_ptr = _blocks(
        indptr, indices, user_order, item_order, strata, _generator(seed)
    )
    # the entries' users and items in cell order: a step reads one place, inside its cell
    cell_users = np.empty(entries.size, dtype=np.int32)
    cell_items = np.empty(entries.size, dtype=np.int32)
    for e in prange(entries.size):
        cell_users[e] = owners[entries[e]]
        cell_items[e] = indices[entries[e]]
    ordered = np.zeros(strata, dtype=np.int64)
    for sub in range(strata):
        for group in prange(strata):
            items = (group + sub) % strata
            cell = group * strata + items
            first, size = cell_ptr[cell], cell_ptr[cell + 1] - cell_ptr[cell]
            low, width = item_ptr[items], item_ptr[items + 1] - item_ptr[items]
            state = _generator(seed * 1_000_003 + sub * strata + group + 1)
            for _ in range(size):
                e = first + _draw(state, size)
                u = cell_users[e]
                for _ in range(NEGATIVE_DRAWS):
                    j = members[low + _draw(state, width)]
                    if _unseen(u, j, indptr, indices, seen_bits, n_items):
                        ordered[group] += _step(X, Y, bias, u, cell_items[e], j, lr, reg)
                        break
    return ordered.sum() / max(indices.size, 1)
