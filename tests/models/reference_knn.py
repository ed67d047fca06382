"""Similarities and Surprise's KNNBaseline estimate, written densely and literally."""

from __future__ import annotations

import numpy as np


def dense_similarity(
    X: np.ndarray, present: np.ndarray, kind: str, shrinkage: float = 0.0, min_support: int = 1
) -> np.ndarray:
    """[n, n] similarities between the rows of X (0 where not `present`), pair by pair."""
    n = X.shape[0]
    out = np.zeros((n, n))
    for a in range(n):
        for b in range(n):
            if a == b:
                continue
            common = present[a] & present[b]
            freq = int(common.sum())
            if freq < min_support:
                continue
            x, y = X[a, common], X[b, common]
            if kind == "cosine":
                den = np.linalg.norm(X[a]) * np.linalg.norm(X[b])
                sim = float(X[a] @ X[b]) / den if den else 0.0
            elif kind == "jaccard":
                sim = freq / (present[a].sum() + present[b].sum() - freq)
            elif kind == "common_cosine":
                den = np.sqrt((x**2).sum() * (y**2).sum())
                sim = float(x @ y) / den if den else 0.0
            else:  # pearson over the common support
                dx, dy = x - x.mean(), y - y.mean()
                den = np.sqrt((dx**2).sum() * (dy**2).sum())
                sim = float(dx @ dy) / den if den else 0.0
            if shrinkage:
                sim *= (freq - 1) / (freq - 1 + shrinkage)
            out[a, b] = sim
    return out


def knn_baseline_estimate(
    R: np.ndarray, rated: np.ndarray, baseline: np.ndarray, sim: np.ndarray, u: int, i: int, k: int
) -> float:
    """Surprise's item-based KNNBaseline.estimate: the k most similar items u rated, positive
    similarities only, weighting residuals from the baseline."""
    neighbours = [(sim[i, j], j) for j in np.flatnonzero(rated[u])]
    neighbours.sort(key=lambda t: -t[0])
    num = den = 0.0
    for s, j in neighbours[:k]:
        if s > 0:
            num += s * (R[u, j] - baseline[u, j])
            den += s
    return float(baseline[u, i] + (num / den if den else 0.0))
