"""Known answers and bad parameters of the sequence models (SASRec)."""

from __future__ import annotations

from collections.abc import Callable
from typing import Any

import numpy as np

from recforge.data import Interactions
from recforge.models import get


def cycle() -> Interactions:
    """12 users walk the ring of items 0 → 1 → … → 7 → 0 for 6 steps, user u from item u mod 8;
    raw ids are the numbers, so indices equal them."""
    users, items, times = [], [], []
    for u in range(12):
        for t in range(6):
            users.append(u)
            items.append((u + t) % 8)
            times.append(t)
    return Interactions.from_arrays(users, items, np.ones(len(users)), times)


def assert_follows_the_ring(model: Any) -> None:
    """After item i comes item i + 1, for the users of `cycle()` (from their stored sequence)
    and for new sessions, read in the order given: [i + 2, i] asks for i + 1, [i, i + 2] for
    i + 3."""
    ids, _ = model.recommend(np.arange(12), k=1)
    np.testing.assert_array_equal(ids[:, 0], [(u + 6) % 8 for u in range(12)])
    for i in range(8):
        ids, _ = model.recommend_for_history([(i - 1) % 8, i], k=1)
        assert ids[0, 0] == (i + 1) % 8, (i, ids)
        ids, _ = model.recommend_for_history([(i + 2) % 8, i], k=1)
        assert ids[0, 0] == (i + 1) % 8, (i, ids)
        ids, _ = model.recommend_for_history([i, (i + 2) % 8], k=1)
        assert ids[0, 0] == (i + 3) % 8, (i, ids)


def _sasrec_answer(model: Any) -> None:
    """After item i comes item i + 1: for users (from their stored sequence) and for new
    sessions, read in the order given: [i + 2, i] asks for i + 1, [i, i + 2] for i + 3."""
    data = cycle()
    seeded = get(
        "sasrec", factors=16, heads=1, blocks=1, max_len=4, dropout=0.0, epochs=150, lr=0.01,
        batch_size=16, seed=0, progress=False,
    ).fit(data)  # fmt: skip
    assert_follows_the_ring(seeded)


KNOWN_ANSWERS: dict[str, Callable[[Any], None]] = {"sasrec": _sasrec_answer}

BAD_PARAMS: dict[str, list[dict[str, Any]]] = {
    "sasrec": [
        {"factors": 0},
        {"max_len": 0},
        {"blocks": 0},
        {"heads": 3},
        {"dropout": 1.0},
        {"stride": 0},
        {"stride": 51},
        {"stride": 2.5},
        {"norm": "middle"},
    ],
}
