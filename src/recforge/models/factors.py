"""Helpers shared by the latent-factor models: cosine neighbours and dot-product scores."""

from __future__ import annotations

import numpy as np

from recforge._topk import topk_padded

__all__ = ["cosine_neighbours"]


def cosine_neighbours(
    factors: np.ndarray, items: np.ndarray, k: int
) -> tuple[np.ndarray, np.ndarray]:
    """The k items whose factor rows [I, d] have the highest cosine with each of `items` [B],
    the item itself excluded: (ids int32 [B, k], cosines float32 [B, k]), −1 padded."""
    norms = np.linalg.norm(factors, axis=1)
    norms[norms == 0] = 1.0
    unit = factors / norms[:, None]
    sims = unit[items] @ unit.T
    sims[np.arange(items.size), items] = -np.inf
    return topk_padded(sims, k)
