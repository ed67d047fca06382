"""Ranking metrics, vectorised over users, from a hit matrix.

hits: bool [U, K] — hits[u, r] is True when the item at rank r (0-based) of user u's list is
relevant. n_relevant: int [U] — the user's number of relevant (test) items, ≥ 1.
Every function returns per-user values float64 [U] for one cut-off k ≤ K.

Definitions (binary relevance):
    precision@k = |top-k ∩ rel| / k
    recall@k    = |top-k ∩ rel| / |rel|
    hit_rate@k  = 1 if |top-k ∩ rel| > 0 else 0
    mrr@k       = 1 / (rank of the first relevant item, 1-based) within the top k, else 0
    ndcg@k      = Σ_{r<k} hit_r / log2(r + 2)  ÷  Σ_{r<min(|rel|, k)} 1 / log2(r + 2)
    map@k       = Σ_{r<k} precision@(r+1) · hit_r  ÷  min(|rel|, k)
    auc         = 1 − (Σ_{p∈rel} #negatives scored above p, ties ½) / (|rel| · #negatives)
"""

from __future__ import annotations

import numpy as np

__all__ = [
    "RANKING_METRICS",
    "auc_from_counts",
    "hit_rate_at_k",
    "map_at_k",
    "mrr_at_k",
    "ndcg_at_k",
    "precision_at_k",
    "ranking_metric",
    "recall_at_k",
]

RANKING_METRICS = ("precision", "recall", "ndcg", "map", "mrr", "hit_rate")


def _top(hits: np.ndarray, k: int) -> np.ndarray:
    if k < 1 or k > hits.shape[1]:
        raise ValueError(f"k must be in [1, {hits.shape[1]}], got {k}")
    return np.asarray(hits[:, :k], dtype=bool)


def precision_at_k(hits: np.ndarray, n_relevant: np.ndarray, k: int) -> np.ndarray:
    return np.asarray(_top(hits, k).sum(axis=1) / k, dtype=np.float64)


def recall_at_k(hits: np.ndarray, n_relevant: np.ndarray, k: int) -> np.ndarray:
    return _top(hits, k).sum(axis=1) / np.asarray(n_relevant, dtype=np.float64)


def hit_rate_at_k(hits: np.ndarray, n_relevant: np.ndarray, k: int) -> np.ndarray:
    return np.asarray(_top(hits, k).any(axis=1), dtype=np.float64)


def mrr_at_k(hits: np.ndarray, n_relevant: np.ndarray, k: int) -> np.ndarray:
    top = _top(hits, k)
    first = top.argmax(axis=1)
    return np.where(top.any(axis=1), 1.0 / (first + 1.0), 0.0)


def _discounts(k: int) -> np.ndarray:
    return 1.0 / np.log2(np.arange(2, k + 2, dtype=np.float64))


def ndcg_at_k(hits: np.ndarray, n_relevant: np.ndarray, k: int) -> np.ndarray:
    top = _top(hits, k)
    disc = _discounts(k)
    dcg = top @ disc
    ideal = np.cumsum(disc)[np.minimum(np.asarray(n_relevant), k) - 1]
    return dcg / ideal


def map_at_k(hits: np.ndarray, n_relevant: np.ndarray, k: int) -> np.ndarray:
    top = _top(hits, k).astype(np.float64)
    precision_at_rank = np.cumsum(top, axis=1) / np.arange(1, k + 1)
    return (precision_at_rank * top).sum(axis=1) / np.minimum(np.asarray(n_relevant), k)


_FUNCTIONS = {
    "precision": precision_at_k,
    "recall": recall_at_k,
    "ndcg": ndcg_at_k,
    "map": map_at_k,
    "mrr": mrr_at_k,
    "hit_rate": hit_rate_at_k,
}


def ranking_metric(name: str, hits: np.ndarray, n_relevant: np.ndarray, k: int) -> np.ndarray:
    """Per-user values of the ranking metric `name` (one of RANKING_METRICS) at k."""
    return _FUNCTIONS[name](hits, n_relevant, k)


def auc_from_counts(
    negatives_above: np.ndarray, n_relevant: np.ndarray, n_negatives: np.ndarray
) -> np.ndarray:
    """Per-user AUC from Σ over positives of the negatives scored above them (ties count ½).

    negatives_above: float [U]; n_relevant, n_negatives: int [U]. Users with no negatives get
    AUC 1 (nothing can be ranked above their positives).
    """
    pairs = np.asarray(n_relevant, dtype=np.float64) * np.asarray(n_negatives, dtype=np.float64)
    with np.errstate(invalid="ignore", divide="ignore"):
        auc = 1.0 - np.asarray(negatives_above, dtype=np.float64) / pairs
    return np.where(pairs > 0, auc, 1.0)
