"""neighbors="auto" for item-/user-KNN: the ranking's neighbour count, chosen on held-out items of
the training data.

One item of each user with at least MIN_USER_ITEMS items is held out (the newest with
timestamps, a random one without), for at most HELD_OUT_USERS users drawn at random. The ranking
similarity is built on the rest with the largest candidate, cut to each candidate count, and
every cut ranks the held-out users' unseen items; the count with the best NDCG@10 of the held-out
items wins (ties go to the larger count). Which count suits depends on the data: many items per
user and a long tail of weak similarities favour few neighbours, dense catalogues more.
"""

from __future__ import annotations

from collections.abc import Callable

import numpy as np
import scipy.sparse as sp

__all__ = ["NEIGHBOR_CANDIDATES", "choose_neighbors", "hold_out_one", "truncate_rows"]

NEIGHBOR_CANDIDATES = (10, 20, 50, 100, 200)
HELD_OUT_USERS = 2000
MIN_USER_ITEMS = 3
CUTOFF = 10  # NDCG@CUTOFF decides
_BATCH_CELLS = 1 << 25  # dense score cells per batch (128 MiB of float32)

Similarity = Callable[[sp.csr_array, int], sp.csr_array]


def hold_out_one(
    matrix: sp.csr_array, timestamps: np.ndarray | None, rng: np.random.Generator
) -> tuple[sp.csr_array, np.ndarray, np.ndarray]:
    """Hold out one item of up to HELD_OUT_USERS users with ≥ MIN_USER_ITEMS items.

    matrix: CSR [n_users, n_items] of training values; timestamps: int64 [nnz] aligned with its
    slots, or None. Returns (rest: the matrix without the held-out entries, users: int64 [h]
    ascending, items: int64 [h] the held-out item of each).
    """
    counts = np.diff(matrix.indptr)
    eligible = np.flatnonzero(counts >= MIN_USER_ITEMS)
    if eligible.size > HELD_OUT_USERS:
        eligible = np.sort(rng.choice(eligible, HELD_OUT_USERS, replace=False))
    if timestamps is None:
        slots = matrix.indptr[eligible] + rng.integers(0, counts[eligible])
    else:  # the newest; equal times: the larger item index, as Interactions.time_order
        rows = np.repeat(np.arange(matrix.shape[0]), counts)
        order = np.lexsort((matrix.indices, timestamps, rows))
        slots = order[matrix.indptr[eligible + 1] - 1]
    keep = np.ones(matrix.nnz, dtype=bool)
    keep[slots] = False
    indptr = np.zeros_like(matrix.indptr)
    np.cumsum(np.bincount(np.repeat(np.arange(matrix.shape[0]), counts)[keep],
                          minlength=matrix.shape[0]), out=indptr[1:])  # fmt: skip
    rest = sp.csr_array((matrix.data[keep], matrix.indices[keep], indptr), shape=matrix.shape)
    return rest, eligible.astype(np.int64), matrix.indices[slots].astype(np.int64)


def truncate_rows(S: sp.csr_array, ks: tuple[int, ...]) -> dict[int, sp.csr_array]:
    """For each k of `ks`, the k largest entries of each row of S (CSR [n, m]); one sort."""
    lengths = np.diff(S.indptr)
    rows = np.repeat(np.arange(S.shape[0]), lengths)
    order = np.lexsort((-S.data, rows))  # by row, then by similarity, largest first
    rank = np.arange(S.nnz) - S.indptr[rows[order]]
    out = {}
    for k in ks:
        kept = order[rank < k]  # still grouped by row
        indptr = np.zeros_like(S.indptr)
        np.cumsum(np.minimum(lengths, k), out=indptr[1:])
        out[k] = sp.csr_array((S.data[kept], S.indices[kept], indptr), shape=S.shape)
    return out


def held_out_ndcg(
    rest: sp.csr_array, S: sp.csr_array, users: np.ndarray, items: np.ndarray, side: str
) -> float:
    """Mean NDCG@CUTOFF of each user's held-out item among the items not in `rest`, ranked by
    summed similarity (item side: rest[u] @ S; user side: S[u] @ rest). A held-out item scoring
    ≤ 0 is a miss; ties count against it."""
    batch = max(1, min(256, _BATCH_CELLS // max(rest.shape[1], 1)))
    total = 0.0
    for start in range(0, users.size, batch):
        chunk, targets = users[start : start + batch], items[start : start + batch]
        product = rest[chunk] @ S if side == "item" else S[chunk] @ rest
        scores = np.asarray(product.toarray(), dtype=np.float32)
        seen = rest[chunk]
        scores[np.repeat(np.arange(chunk.size), np.diff(seen.indptr)), seen.indices] = -np.inf
        target = scores[np.arange(chunk.size), targets]
        ahead = (scores > target[:, None]).sum(axis=1) + (scores == target[:, None]).sum(axis=1) - 1
        hit = (target > 0) & (ahead < CUTOFF)
        total += float(np.sum(1.0 / np.log2(ahead[hit] + 2.0)))
    return total / max(users.size, 1)


def choose_neighbors(
    matrix: sp.csr_array,
    timestamps: np.ndarray | None,
    side: str,
    similarity: Similarity,
    seed: int | None,
) -> tuple[int, dict[int, float]]:
    """The candidate count whose ranking scores the held-out items best, and each candidate's
    NDCG@CUTOFF. matrix: training values CSR [n_users, n_items]; similarity(values, neighbors):
    the ranking similarity CSR built from a values matrix of that shape; side: "item" or "user".
    Without a user to hold out: the largest candidate, no scores."""
    rng = np.random.default_rng(seed)
    rest, users, items = hold_out_one(matrix, timestamps, rng)
    largest = max(NEIGHBOR_CANDIDATES)
    if users.size == 0:
        return largest, {}
    cuts = truncate_rows(similarity(rest, largest), NEIGHBOR_CANDIDATES)
    scores = {k: held_out_ndcg(rest, cuts[k], users, items, side) for k in NEIGHBOR_CANDIDATES}
    best = max(NEIGHBOR_CANDIDATES, key=lambda k: (scores[k], k))
    return best, scores
