"""Compiled (numba) construction of a CSR pattern from (row, column) index pairs."""

from __future__ import annotations

import numba
import numpy as np
from numba import njit, prange

__all__ = ["stable_csr", "take"]


def stable_csr(
    rows: np.ndarray, cols: np.ndarray, n_rows: int, n_cols: int
) -> tuple[np.ndarray, np.ndarray, np.ndarray]:
    """The CSR layout of the pairs (rows[t], cols[t]) [n], repeated pairs kept.

    Two stable counting sorts (by column, then by row), so each row's columns ascend and a
    repeated pair's slots stand side by side in input order. Pairs already grouped by row (rows
    non-decreasing, as files sorted by user are) skip both: each row's columns are only sorted
    in place of the row, rows in parallel. Returns (indptr [n_rows + 1], indices [n] (the
    columns), origin [n]: the input position t behind each slot), all int32 when n < 2³¹, else
    int64.
    """
    n = rows.size
    index = np.int32 if n < 2**31 else np.int64
    indptr = np.zeros(n_rows + 1, dtype=index)
    indices = np.empty(n, dtype=index)
    origin = np.empty(n, dtype=index)
    if n < 2**32 and _grouped(rows, indptr):  # (a row's offsets fit a sort key's low half)
        _sort_each_row(cols, n_cols, indptr, indices, origin, 8 * numba.get_num_threads())
        return indptr, indices, origin
    scratch = (np.empty(n, dtype=index), np.empty(n, dtype=index))
    _fill(rows, cols, n_cols, *scratch, indptr, indices, origin)
    return indptr, indices, origin


@njit(parallel=True, nogil=True, cache=True)
def take(values, positions):  # type: ignore[no-untyped-def]
    """values[positions] ([n] of values' dtype) on all of numba's threads."""
    out = np.empty(positions.size, dtype=values.dtype)
    for t in prange(positions.size):
        out[t] = values[positions[t]]
    return out


@njit(nogil=True, cache=True)
def _grouped(rows, indptr):  # type: ignore[no-untyped-def]
    """Whether rows never decrease; if so, indptr [n_rows + 1] is filled from their counts."""
    for t in range(1, rows.size):
        if rows[t] < rows[t - 1]:
            return False
    for t in range(rows.size):
        indptr[rows[t] + 1] += 1
    for r in range(indptr.size - 1):
        indptr[r + 1] += indptr[r]
    return True


INSERTION_ROWS = 32  # rows up to this long are sorted by insertion, longer ones by radix


RADIX = 256  # buckets per pass of `_radix_sort`


@njit(nogil=True, cache=True)
def _radix_sort(keys, spare, counts, size, n_cols):  # type: ignore[no-untyped-def]
    """Sort keys[:size] (column·2³² + offset) by column, stably: LSD radix, a byte a pass,
    as many passes as n_cols needs; spare [size] and counts [RADIX + 1] are scratch."""
    src, dst = keys, spare
    shift = 32
    while (n_cols - 1) >> (shift - 32) > 0:
        counts[:] = 0
        for a in range(size):
            counts[((src[a] >> shift) & (RADIX - 1)) + 1] += 1
        for d in range(RADIX):
            counts[d + 1] += counts[d]
        for a in range(size):
            digit = (src[a] >> shift) & (RADIX - 1)
            dst[counts[digit]] = src[a]
            counts[digit] += 1
        src, dst = dst, src
        shift += 8
    if src is not keys:
        keys[:size] = src[:size]


@njit(parallel=True, nogil=True, cache=True)
def _sort_each_row(cols, n_cols, indptr, indices, origin, chunks):  # type: ignore[no-untyped-def]
    """For pairs grouped by row: each row's slots in stable column order (indices, origin).

    A row out of order is sorted as keys column·2³² + offset in the row (columns < n_cols),
    unique, so any sort is stable; in per-thread scratch (no allocation per row), rows split
    into `chunks` ranges.
    """
    n_rows = indptr.size - 1
    longest = 0
    for r in range(n_rows):
        longest = max(longest, indptr[r + 1] - indptr[r])
    per_chunk = (n_rows + chunks - 1) // chunks
    for chunk in prange(chunks):
        keys = np.empty(longest, dtype=np.int64)
        spare = np.empty(longest, dtype=np.int64)
        counts = np.empty(RADIX + 1, dtype=np.int64)
        for r in range(chunk * per_chunk, min(n_rows, (chunk + 1) * per_chunk)):
            start, end = indptr[r], indptr[r + 1]
            ordered = True
            for t in range(start + 1, end):
                if cols[t] < cols[t - 1]:
                    ordered = False
                    break
            if ordered:
                for t in range(start, end):
                    indices[t] = cols[t]
                    origin[t] = t
                continue
            size = end - start
            for a in range(size):
                keys[a] = (np.int64(cols[start + a]) << 32) | a
            if size <= INSERTION_ROWS:
                for a in range(1, size):
                    key = keys[a]
                    b = a - 1
                    while b >= 0 and keys[b] > key:
                        keys[b + 1] = keys[b]
                        b -= 1
                    keys[b + 1] = key
            else:
                _radix_sort(keys, spare, counts, size, n_cols)
            for a in range(size):
                indices[start + a] = keys[a] >> 32
                origin[start + a] = start + (keys[a] & 0xFFFFFFFF)


@njit(nogil=True, cache=True)
def _fill(rows, cols, n_cols, order, row_of, indptr, indices, origin):  # type: ignore[no-untyped-def]
    """`stable_csr`'s work into preallocated arrays. Scratch [n]: order (input positions by
    column) and row_of (their rows), so the second pass reads in sequence."""
    n = rows.size
    n_rows = indptr.size - 1
    col_start = np.zeros(n_cols + 1, dtype=np.int64)
    for t in range(n):
        col_start[cols[t] + 1] += 1
    for c in range(n_cols):
        col_start[c + 1] += col_start[c]
    at = col_start[:-1].copy()
    for t in range(n):  # input positions by column, input order kept within a column
        c = cols[t]
        order[at[c]] = t
        row_of[at[c]] = rows[t]
        at[c] += 1
    slots = np.zeros(n_rows + 1, dtype=np.int64)
    for t in range(n):
        slots[rows[t] + 1] += 1
    for r in range(n_rows):
        slots[r + 1] += slots[r]
    for r in range(n_rows + 1):
        indptr[r] = slots[r]
    for c in range(n_cols):  # by column into row slots: columns ascend within a row
        for s in range(col_start[c], col_start[c + 1]):
            r = row_of[s]
            slot = slots[r]
            indices[slot] = c
            origin[slot] = order[s]
            slots[r] = slot + 1
