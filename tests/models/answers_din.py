"""Known answer and bad parameters of DIN: SASRec's ring of items, read by target attention."""

from __future__ import annotations

from collections.abc import Callable
from typing import Any

import numpy as np

from recforge.models import get

from .answers_sequence import cycle

RING: dict[str, Any] = {
    "factors": 8, "max_len": 4, "epochs": 40, "lr": 0.01, "batch_size": 16, "seed": 0,
    "progress": False,
}  # fmt: skip


def _din_answer(model: Any) -> None:
    """After item i comes item i + 1: for users (from their stored window) and for new sessions
    [i − 1, i]; and the item that determines the next one, its predecessor, has the largest
    attention weight. (DIN reads a history as a set, so unlike SASRec it is not asked to tell
    [i + 2, i] from [i, i + 2].)"""
    seeded = get("din", **RING).fit(cycle())
    ids, _ = seeded.recommend(np.arange(12), k=1)
    np.testing.assert_array_equal(ids[:, 0], [(u + 6) % 8 for u in range(12)])
    for i in range(8):
        ids, _ = seeded.recommend_for_history([(i - 1) % 8, i], k=1)
        assert ids[0, 0] == (i + 1) % 8, (i, ids)
    for u in range(12):
        items, weights, how = seeded.explain(u, (u + 6) % 8, n=4)
        assert how == "attention"
        assert items[0] == (u + 5) % 8, (u, items, weights)
        assert weights[0] > 0


KNOWN_ANSWERS: dict[str, Callable[[Any], None]] = {"din": _din_answer}

BAD_PARAMS: dict[str, list[dict[str, Any]]] = {
    "din": [
        {"factors": 0},
        {"max_len": 0},
        {"attention_layers": [0]},
        {"attention_layers": 80},
        {"layers": [32, True]},
        {"activation": "relu"},
        {"dropout": 1.0},
        {"negatives": 0},
    ],
}
