"""Beyond-accuracy measures of top-k lists: coverage, novelty, diversity, popularity bias.

lists: int [U, k] item indices per user, best first; -1 pads short lists and is ignored.
"""

from __future__ import annotations

import numpy as np
import scipy.sparse as sp

__all__ = [
    "average_popularity",
    "catalogue_coverage",
    "gini_index",
    "intra_list_diversity",
    "novelty",
]


def catalogue_coverage(lists: np.ndarray, n_items: int) -> float:
    """Share of the catalogue that appears in at least one list."""
    shown = np.unique(lists[lists >= 0])
    return float(shown.size / n_items) if n_items else 0.0


def novelty(lists: np.ndarray, item_popularity: np.ndarray, n_users: int) -> np.ndarray:
    """Per-list mean self-information −log2(p_i), p_i = share of train users who had item i.

    item_popularity: int [n_items] train interaction counts; unseen items count as 1 user.
    Returns float [U] (NaN for empty lists).
    """
    p = np.maximum(item_popularity, 1) / max(n_users, 1)
    info = -np.log2(np.minimum(p, 1.0))
    valid = lists >= 0
    per_item = np.where(valid, info[np.maximum(lists, 0)], 0.0)
    with np.errstate(invalid="ignore"):
        return per_item.sum(axis=1) / valid.sum(axis=1)


def average_popularity(lists: np.ndarray, item_popularity: np.ndarray) -> np.ndarray:
    """Per-list average train popularity (ARP) of the recommended items, float [U]."""
    valid = lists >= 0
    per_item = np.where(valid, item_popularity[np.maximum(lists, 0)], 0.0)
    with np.errstate(invalid="ignore"):
        return per_item.sum(axis=1) / valid.sum(axis=1)


def gini_index(lists: np.ndarray, n_items: int) -> float:
    """Gini index of how often each catalogue item is recommended (0 = even, → 1 = concentrated)."""
    counts = np.sort(np.bincount(lists[lists >= 0], minlength=n_items).astype(np.float64))
    total = counts.sum()
    if total == 0 or n_items < 2:
        return 0.0
    ranks = np.arange(1, n_items + 1)
    return float(((2 * ranks - n_items - 1) * counts).sum() / (n_items * total))


def intra_list_diversity(lists: np.ndarray, item_features: np.ndarray | sp.sparray) -> np.ndarray:
    """Per-list mean pairwise cosine distance (1 − cos) of item feature vectors, float [U].

    item_features: [n_items, d] dense or sparse. Lists with fewer than two items give NaN;
    items without features (zero rows) are at distance 1 from everything.
    """
    dense = item_features.toarray() if isinstance(item_features, sp.sparray) else item_features
    features = np.asarray(dense, dtype=np.float64)
    norms = np.linalg.norm(features, axis=1, keepdims=True)
    unit = np.divide(features, norms, out=np.zeros_like(features), where=norms > 0)
    valid = lists >= 0
    vectors = unit[np.maximum(lists, 0)] * valid[..., None]  # [U, k, d]
    sims = np.einsum("ukd,ujd->ukj", vectors, vectors)  # [U, k, k]
    n = valid.sum(axis=1).astype(np.float64)
    pair_sum = (sims.sum(axis=(1, 2)) - np.einsum("ukk->u", sims)) / 2.0
    n_pairs = n * (n - 1) / 2.0
    with np.errstate(invalid="ignore", divide="ignore"):
        return np.where(n_pairs > 0, 1.0 - pair_sum / n_pairs, np.nan)
