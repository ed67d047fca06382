"""Fixtures shared by the whole suite: tiny hand-made data and, where present, MovieLens 100K."""

from __future__ import annotations

import os
from pathlib import Path

import numpy as np
import pytest

from recforge.data import Interactions


def _data_home() -> Path:
    return Path(os.environ.get("RECFORGE_DATA", Path.home() / ".cache" / "recforge"))


@pytest.fixture(scope="session")
def ml100k_dir() -> Path:
    """Directory holding MovieLens 100K (u.data, u.item, u.user); skips when it is absent."""
    path = _data_home() / "ml-100k"
    if not (path / "u.data").exists():
        pytest.skip(f"MovieLens 100K not found under {path}; set RECFORGE_DATA")
    return path


@pytest.fixture(scope="session")
def ml100k(ml100k_dir: Path) -> Interactions:
    """MovieLens 100K ratings (skips when absent)."""
    from recforge.data import load_movielens

    return load_movielens(ml100k_dir).interactions


@pytest.fixture
def tiny_explicit() -> Interactions:
    """4 users × 5 items, ratings 1–5 with timestamps; raw ids are strings u1…u4 / i1…i5."""
    users = ["u1", "u1", "u1", "u2", "u2", "u3", "u3", "u3", "u4", "u4"]
    items = ["i1", "i2", "i3", "i1", "i4", "i2", "i3", "i5", "i4", "i5"]
    ratings = [5, 3, 4, 4, 2, 1, 5, 4, 3, 5]
    ts = np.arange(10, dtype=np.int64) * 100 + 1_000_000
    return Interactions.from_arrays(users, items, ratings, ts)
