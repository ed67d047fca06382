"""Deterministic top-k over score rows: best first, ties broken by the lower column index."""

from __future__ import annotations

import numpy as np

__all__ = ["topk", "topk_padded"]


def topk(scores: np.ndarray, k: int) -> tuple[np.ndarray, np.ndarray]:
    """Top-k columns of each row.

    scores: float [B, N] (NaN counts as -inf); k ≥ 1.
    Returns (columns int64 [B, min(k, N)], values float32 [B, min(k, N)]), best first. Equal
    scores come in increasing column order, so a row's result never depends on its batch.
    torch.topk does the selection (much faster than numpy's argpartition); rows where a
    tie straddles the k-th place are redone exactly.
    """
    s = np.ascontiguousarray(scores, dtype=np.float32)
    if bool(np.isnan(s).any()):
        s = np.where(np.isnan(s), np.float32(-np.inf), s)
    n_rows, n_cols = s.shape
    k = min(k, n_cols)
    if n_rows == 0 or k == 0:
        return np.zeros((n_rows, k), dtype=np.int64), np.zeros((n_rows, k), dtype=np.float32)
    if n_rows == 1:
        return _topk_row(s[0], k)
    import torch

    st = torch.from_numpy(s)
    values_t, cols_t = torch.topk(st, k, dim=1, largest=True, sorted=True)
    cols, values = cols_t.numpy(), values_t.numpy()
    if k < n_cols:
        threshold = values[:, -1:]
        n_tied = np.count_nonzero(s == threshold, axis=1)
        n_tied_chosen = np.count_nonzero(values == threshold, axis=1)
        straddle = np.flatnonzero(n_tied > n_tied_chosen)
        if straddle.size:
            cols = cols.copy()
            cols[straddle] = _exact_set(s[straddle], k)
    # Order the chosen set: by value descending, then by column ascending.
    vals = np.take_along_axis(s, cols, axis=1)
    order = np.lexsort((cols, -vals), axis=1)
    cols = np.take_along_axis(cols, order, axis=1).astype(np.int64)
    return cols, np.take_along_axis(vals, order, axis=1)


def topk_padded(scores: np.ndarray, k: int) -> tuple[np.ndarray, np.ndarray]:
    """`topk` as recommendations: ids int32 [B, min(k, N)] and scores float32 [B, min(k, N)] for
    scores [B, N], where −inf scores (excluded items) come out as id −1, score −inf. A k above N
    gives every column: the width never exceeds what can be ranked, so a huge k costs no memory."""
    cols, values = topk(scores, min(k, scores.shape[1]))
    ids = np.where(np.isneginf(values), -1, cols).astype(np.int32)
    return ids, values.astype(np.float32, copy=False)


def _topk_row(row: np.ndarray, k: int) -> tuple[np.ndarray, np.ndarray]:
    """`topk` of one row float32 [N] without NaN (a request's list): a partition finds the k-th
    value, then every column at or above it is ordered exactly. Returns ([1, k], [1, k])."""
    if k < row.size:
        threshold = np.partition(row, row.size - k)[row.size - k]
        chosen = np.flatnonzero(row >= threshold)  # increasing columns, ties included
    else:
        chosen = np.arange(row.size)
    order = np.argsort(-row[chosen], kind="stable")[:k]  # stable: ties keep column order
    cols = chosen[order].astype(np.int64)
    return cols[None, :], row[cols][None, :]


def _exact_set(s: np.ndarray, k: int) -> np.ndarray:
    """The k best columns per row, taking the lowest columns among ties at the boundary."""
    n_rows = s.shape[0]
    part = np.argpartition(-s, k - 1, axis=1)[:, :k]
    threshold = np.take_along_axis(s, part, axis=1).min(axis=1, keepdims=True)
    above = s > threshold
    tied = s == threshold
    need = k - above.sum(axis=1, keepdims=True)
    chosen = above | (tied & (np.cumsum(tied, axis=1) <= need))
    return np.nonzero(chosen)[1].reshape(n_rows, k)
