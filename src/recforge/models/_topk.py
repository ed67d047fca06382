"""Deterministic top-k over score rows: best first, ties broken by the lower column index."""

from __future__ import annotations

import numpy as np

__all__ = ["topk"]


def topk(scores: np.ndarray, k: int) -> tuple[np.ndarray, np.ndarray]:
    """Top-k columns of each row.

    scores: float [B, N] (NaN counts as -inf); k ≥ 1.
    Returns (columns int64 [B, min(k, N)], values float32 [B, min(k, N)]), best first; equal
    scores come in increasing column order, so a row's result never depends on its batch.
    """
    s = np.asarray(scores, dtype=np.float32)
    if bool(np.isnan(s).any()):
        s = np.where(np.isnan(s), np.float32(-np.inf), s)
    n_rows, n_cols = s.shape
    k = min(k, n_cols)
    if n_rows == 0 or k == 0:
        return np.zeros((n_rows, k), dtype=np.int64), np.zeros((n_rows, k), dtype=np.float32)
    if k < n_cols:
        part = np.argpartition(-s, k - 1, axis=1)[:, :k]
        threshold = np.take_along_axis(s, part, axis=1).min(axis=1, keepdims=True)
        above = s > threshold
        tied = s == threshold
        need = k - above.sum(axis=1, keepdims=True)
        chosen = above | (tied & (np.cumsum(tied, axis=1) <= need))
        cols = np.nonzero(chosen)[1].reshape(n_rows, k)  # ascending column order per row
    else:
        cols = np.broadcast_to(np.arange(n_cols), (n_rows, n_cols))
    vals = np.take_along_axis(s, cols, axis=1)
    order = np.argsort(-vals, axis=1, kind="stable")
    cols = np.take_along_axis(cols, order, axis=1).astype(np.int64)
    return cols, np.take_along_axis(vals, order, axis=1)
