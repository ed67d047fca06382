"""Rating-prediction errors."""

from __future__ import annotations

import numpy as np

from recforge.errors import DataError

__all__ = ["mae", "rmse"]


def _pair(y_true: np.ndarray, y_pred: np.ndarray) -> tuple[np.ndarray, np.ndarray]:
    t = np.asarray(y_true, dtype=np.float64)
    p = np.asarray(y_pred, dtype=np.float64)
    if t.shape != p.shape:
        raise DataError(f"y_true and y_pred differ in shape: {t.shape} vs {p.shape}")
    if t.size == 0:
        raise DataError("no ratings to compare")
    return t, p


def rmse(y_true: np.ndarray, y_pred: np.ndarray) -> float:
    """Root mean squared error of predictions [n] against ratings [n]."""
    t, p = _pair(y_true, y_pred)
    return float(np.sqrt(np.mean((t - p) ** 2)))


def mae(y_true: np.ndarray, y_pred: np.ndarray) -> float:
    """Mean absolute error of predictions [n] against ratings [n]."""
    t, p = _pair(y_true, y_pred)
    return float(np.mean(np.abs(t - p)))
