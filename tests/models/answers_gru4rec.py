"""Known answer and bad parameters of GRU4Rec: the ring of items SASRec learns too."""

from __future__ import annotations

from collections.abc import Callable
from typing import Any

from recforge.models import get

from .answers_sequence import assert_follows_the_ring, cycle


def ring_gru4rec(loss: str = "softmax", seed: int = 0) -> Any:
    """GRU4Rec fitted on the ring (`cycle()`); the sampled losses draw 4 of the 8 items.

    A little weight decay keeps the GRU reading mostly its newest item, which the skipped
    sessions of `assert_follows_the_ring` need: the ring alone never shows a skip.
    """
    negatives = {} if loss == "softmax" else {"negatives": 4}
    return get(
        "gru4rec", factors=16, hidden=32, max_len=4, dropout=0.0, loss=loss, epochs=60,
        lr=0.01, weight_decay=1e-3, batch_size=16, seed=seed, progress=False, **negatives,
    ).fit(cycle())  # fmt: skip


def _gru4rec_answer(model: Any) -> None:
    assert_follows_the_ring(ring_gru4rec())


KNOWN_ANSWERS: dict[str, Callable[[Any], None]] = {"gru4rec": _gru4rec_answer}

BAD_PARAMS: dict[str, list[dict[str, Any]]] = {
    "gru4rec": [
        {"factors": 0},
        {"hidden": 0},
        {"layers": 0},
        {"max_len": 0},
        {"dropout": 1.0},
        {"loss": "ce"},
        {"negatives": 0},
    ],
}
