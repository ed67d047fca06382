"""Helpers shared by the latent-factor models."""

from __future__ import annotations

import numpy as np

__all__ = ["cosine_rows"]


def cosine_rows(factors: np.ndarray, items: np.ndarray) -> np.ndarray:
    """float32 [B, I]: the cosine between the factor rows [I, d] of `items` [B] and all rows."""
    norms = np.linalg.norm(factors, axis=1)
    norms[norms == 0] = 1.0
    unit = factors / norms[:, None]
    return np.asarray(unit[items] @ unit.T, dtype=np.float32)
