"""Known answer and bad parameters of Caser (the ring of items of answers_sequence)."""

from __future__ import annotations

from collections.abc import Callable
from typing import Any

from recforge.models import get

from .answers_sequence import assert_follows_the_ring, cycle


def _caser_answer(model: Any) -> None:
    """After item i comes item i + 1: for users (from their stored sequence) and for new
    sessions, read in the order given: [i + 2, i] asks for i + 1, [i, i + 2] for i + 3.

    On the ring every position of a window predicts the target equally well (the item k
    places back is the target − k − 1), so nothing in the data makes the newest item decide
    [i + 2, i]; weight decay does: the newest position is the only one every window has, so
    the smallest weights that fit all windows read mostly it (without it, some seeds answer
    i + 3 or i + 4)."""
    seeded = get(
        "caser", factors=16, max_len=5, dropout=0.0, epochs=80, lr=0.02, batch_size=60,
        weight_decay=1e-2, seed=0, progress=False,
    ).fit(cycle())  # fmt: skip
    assert_follows_the_ring(seeded)


KNOWN_ANSWERS: dict[str, Callable[[Any], None]] = {"caser": _caser_answer}

BAD_PARAMS: dict[str, list[dict[str, Any]]] = {
    "caser": [
        {"factors": 0},
        {"max_len": 0},
        {"vertical": -1},
        {"horizontal": 2.5},
        {"dropout": 1.0},
        {"reg": -1e-4},
        {"loss": "bpr"},
        {"negatives": 0},
    ],
}
