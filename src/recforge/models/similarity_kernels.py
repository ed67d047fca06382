"""Compiled (numba) top-k similarity: each row's sparse products and its top k in one pass.

For row i the kernel walks i's stored columns u and, through the transpose, every row j that
also stores u, accumulating into dense per-thread scratch only what the kind needs (products,
shared-column counts, sums and sums of squares over the shared columns). It then turns the
touched rows' sums into similarities and selects the k best positive ones (a partition), so no
dense [rows, rows] block is ever formed. Rows are independent: split across numba's threads
(chunk c takes rows c, c + chunks, …, so rows of similar cost, which often sit together, are
shared out), the result does not depend on their number.

A row is told its touched rows one of two ways: while it accumulates it lists each row the
first time it touches it, or, when it makes more than SCAN_SHARE times as many updates as there
are rows, it scans all the sums afterwards, which then costs less than listing. Plain cosine (no
shrinkage or support) has its own kernel, `topk_cosine_rows`, that keeps one sum, and on 0/1
values adds counts without reading them.
"""

from __future__ import annotations

import numpy as np
from numba import njit, prange

__all__ = ["KIND_CODES", "topk_cosine_rows", "topk_rows"]

KIND_CODES = {"cosine": 0, "pearson": 1, "common_cosine": 2, "jaccard": 3}


@njit(inline="always")
def _better(vals, cols, a, b):  # type: ignore[no-untyped-def]
    """Whether candidate a ranks before b: the larger value, then the lower column."""
    return vals[a] > vals[b] or (vals[a] == vals[b] and cols[a] < cols[b])


@njit(inline="always")
def _swap(vals, cols, a, b):  # type: ignore[no-untyped-def]
    vals[a], vals[b] = vals[b], vals[a]
    cols[a], cols[b] = cols[b], cols[a]


@njit
def _select(vals, cols, size, k):  # type: ignore[no-untyped-def]
    """Reorder the candidates vals/cols[:size] in place so that the first min(k, size) are the
    best (the larger value, then the lower column; a strict order, as columns differ), in no
    particular order among themselves: quickselect, median-of-three pivots."""
    lo, hi, target = 0, size - 1, k - 1
    while lo < hi:
        mid = (lo + hi) // 2
        if _better(vals, cols, mid, lo):
            _swap(vals, cols, mid, lo)
        if _better(vals, cols, hi, lo):
            _swap(vals, cols, hi, lo)
        if _better(vals, cols, mid, hi):
            _swap(vals, cols, mid, hi)  # now lo ≥ hi ≥ mid: the median sits at hi, the pivot
        store = lo
        for t in range(lo, hi):
            if _better(vals, cols, t, hi):
                _swap(vals, cols, t, store)
                store += 1
        _swap(vals, cols, store, hi)
        if store == target:
            return
        if store < target:
            lo = store + 1
        else:
            hi = store - 1


SCAN_SHARE = 2.0  # a row that makes more than SCAN_SHARE·n updates scans its sums


@njit(inline="always")
def _keep(cand_vals, cand_cols, size, k, b, counts, out_cols, out_vals):  # type: ignore[no-untyped-def]
    """Write the best min(k, size) of the candidates vals/cols[:size] as output row b."""
    if size > k:
        _select(cand_vals, cand_cols, size, k)
        size = k
    counts[b] = size
    for c in range(size):
        out_vals[b, c] = cand_vals[c]
        out_cols[b, c] = cand_cols[c]


@njit(inline="always")
def _updates(indptr, indices, t_indptr, i):  # type: ignore[no-untyped-def]
    """How many sums row i updates: the stored entries of its columns' transpose rows."""
    ops = 0
    for p in range(indptr[i], indptr[i + 1]):
        ops += t_indptr[indices[p] + 1] - t_indptr[indices[p]]
    return ops


@njit(parallel=True, nogil=True, cache=True)
def topk_cosine_rows(  # type: ignore[no-untyped-def]
    indptr, indices, data, t_indptr, t_indices, t_data, norms, start, stop, k, unit, chunks
):
    """`topk_rows` for kind "cosine" with no shrinkage and no minimum support: one sum per
    touched row. unit: every stored value is 1, so the sums are counts and the values are not
    read (norms must then be the square roots of the row lengths). Returns as `topk_rows`."""
    n = indptr.size - 1
    rows = stop - start
    counts = np.zeros(rows, dtype=np.int64)
    out_cols = np.full((rows, k), -1, dtype=np.int32)
    out_vals = np.zeros((rows, k), dtype=np.float32)
    for chunk in prange(chunks):
        prods = np.zeros(n)
        # A row is listed when its sum is 0 before an update: the first time, or again after
        # products that cancelled (listed twice, it is read once: the first read zeroes it).
        # A listing row makes fewer than SCAN_SHARE·n updates, which bounds the list.
        touched = np.zeros(int(SCAN_SHARE * n) + 1, dtype=np.int32)
        cand_vals = np.zeros(n)
        cand_cols = np.zeros(n, dtype=np.int64)
        for b in range(chunk, rows, chunks):
            i = start + b
            track = _updates(indptr, indices, t_indptr, i) < SCAN_SHARE * n
            n_touched = 0
            for p in range(indptr[i], indptr[i + 1]):
                u = indices[p]
                x = data[p]
                if track:
                    for q in range(t_indptr[u], t_indptr[u + 1]):
                        j = t_indices[q]
                        touched[n_touched] = j  # kept only when the sum is 0 (no branch)
                        n_touched += prods[j] == 0.0
                        prods[j] += 1.0 if unit else x * t_data[q]
                else:
                    for q in range(t_indptr[u], t_indptr[u + 1]):
                        prods[t_indices[q]] += 1.0 if unit else x * t_data[q]
            size = 0
            for t in range(n_touched if track else n):
                j = touched[t] if track else t
                value = prods[j]
                prods[j] = 0.0
                if value > 0.0:  # a cosine that is not positive is never kept
                    sim = np.float64(np.float32(value / (norms[i] * norms[j])))  # ranked as stored
                    if j != i and sim > 0 and np.isfinite(sim):
                        cand_vals[size] = sim
                        cand_cols[size] = j
                        size += 1
            _keep(cand_vals, cand_cols, size, k, b, counts, out_cols, out_vals)
    return counts, out_cols, out_vals


@njit(parallel=True, nogil=True, cache=True)
def topk_rows(  # type: ignore[no-untyped-def]
    indptr, indices, data, t_indptr, t_indices, t_data, norms, start, stop, kind, k, shrinkage,
    min_support, chunks,
):  # fmt: skip
    """The ≤ k most similar other rows of rows start … stop − 1 of X (CSR [n, m]), positive
    similarities only.

    indptr/indices/data: X; t_*: its transpose (CSR [m, n]); norms float64 [n]: the rows'
    Euclidean norms (read by cosine); kind: a KIND_CODES value; shrinkage multiplies by
    (n_ij − 1) / (n_ij − 1 + shrinkage) where > 0, n_ij the shared columns; pairs sharing fewer
    than min_support columns get 0; chunks: how many interleaved pieces the rows are cut into
    for the threads. Returns (counts int64 [B], columns int32 [B, k], values float32 [B, k])
    for the B = stop − start rows: row b's first counts[b] entries (in no particular order) are its
    best, ties to the lower column.
    """
    n = indptr.size - 1
    rows = stop - start
    counts = np.zeros(rows, dtype=np.int64)
    out_cols = np.full((rows, k), -1, dtype=np.int32)
    out_vals = np.zeros((rows, k), dtype=np.float32)
    for chunk in prange(chunks):
        prods = np.zeros(n)
        freq = np.zeros(n)
        sum_i = np.zeros(n)
        sum_j = np.zeros(n)
        sq_i = np.zeros(n)
        sq_j = np.zeros(n)
        touched = np.zeros(n + 1, dtype=np.int32)  # one spare: the branchless append
        cand_vals = np.zeros(n)
        cand_cols = np.zeros(n, dtype=np.int64)
        for b in range(chunk, rows, chunks):
            i = start + b
            track = _updates(indptr, indices, t_indptr, i) < SCAN_SHARE * n
            n_touched = 0
            for p in range(indptr[i], indptr[i + 1]):
                u = indices[p]
                x = data[p]
                for q in range(t_indptr[u], t_indptr[u + 1]):
                    j = t_indices[q]
                    y = t_data[q]
                    if track:
                        touched[n_touched] = j  # kept only the first time (no branch)
                        n_touched += freq[j] == 0.0
                    prods[j] += x * y
                    freq[j] += 1.0
                    if kind == 1:
                        sum_i[j] += x
                        sum_j[j] += y
                    if kind == 1 or kind == 2:
                        sq_i[j] += x * x
                        sq_j[j] += y * y
            size = 0
            for t in range(n_touched if track else n):
                j = touched[t] if track else t
                if freq[j] == 0.0:
                    continue  # untouched (only met when scanning)
                if kind == 0:
                    den = norms[i] * norms[j]
                    sim = prods[j] / den if den > 0 else 0.0
                elif kind == 3:
                    stored_i = indptr[i + 1] - indptr[i]
                    sim = freq[j] / (stored_i + (indptr[j + 1] - indptr[j]) - freq[j])
                elif kind == 2:
                    den = np.sqrt(sq_i[j] * sq_j[j])
                    sim = prods[j] / den if den > 0 else 0.0
                else:
                    f = freq[j]
                    num = f * prods[j] - sum_i[j] * sum_j[j]
                    den = np.sqrt((f * sq_i[j] - sum_i[j] ** 2) * (f * sq_j[j] - sum_j[j] ** 2))
                    sim = num / den if den > 0 else 0.0
                if shrinkage > 0:
                    sim *= (freq[j] - 1.0) / (freq[j] - 1.0 + shrinkage)
                if not np.isfinite(sim) or (freq[j] < min_support and min_support > 1):
                    sim = 0.0
                sim = np.float64(np.float32(sim))  # ranked as stored, so ties are the output's
                if j != i and sim > 0:
                    cand_vals[size] = sim
                    cand_cols[size] = j
                    size += 1
                prods[j] = 0.0
                freq[j] = 0.0
                sum_i[j] = 0.0
                sum_j[j] = 0.0
                sq_i[j] = 0.0
                sq_j[j] = 0.0
            _keep(cand_vals, cand_cols, size, k, b, counts, out_cols, out_vals)
    return counts, out_cols, out_vals
