"""Known answer and bad parameters of BERT4Rec: the ring of items SASRec learns too."""

from __future__ import annotations

from collections.abc import Callable
from typing import Any

from recforge.models import get

from .answers_sequence import assert_follows_the_ring, cycle


def _bert4rec_answer(model: Any) -> None:
    """After item i comes item i + 1: for users (from their stored sequence, MASK after it) and
    for new sessions, read in the order given: [i + 2, i] asks for i + 1, [i, i + 2] for i + 3
    (a MASK after the newest item, never before it)."""
    seeded = get(
        "bert4rec", factors=16, heads=1, blocks=1, inner_size=32, max_len=4, dropout=0.0,
        copies=1, epochs=150, lr=0.01, batch_size=16, seed=0, progress=False,
    ).fit(cycle())  # fmt: skip
    assert_follows_the_ring(seeded)
    for i in range(8):  # and a session of one item
        ids, _ = seeded.recommend_for_history([i], k=1)
        assert ids[0, 0] == (i + 1) % 8, (i, ids)


KNOWN_ANSWERS: dict[str, Callable[[Any], None]] = {"bert4rec": _bert4rec_answer}

BAD_PARAMS: dict[str, list[dict[str, Any]]] = {
    "bert4rec": [
        {"factors": 0},
        {"max_len": 1},
        {"blocks": 0},
        {"heads": 3},
        {"inner_size": 0},
        {"dropout": 1.0},
        {"mask_ratio": 0.0},
        {"mask_ratio": 1.5},
        {"next_item_ratio": -0.1},
        {"copies": 0},
        {"copies": 1.5},
        {"loss": "bpr"},
        {"negatives": 0},
    ],
}
