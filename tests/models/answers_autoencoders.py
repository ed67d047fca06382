"""Known answers and bad parameters of the autoencoders (I-/U-AutoRec, Mult-VAE, Mult-DAE)."""

from __future__ import annotations

from collections.abc import Callable
from typing import Any

import numpy as np

from recforge.models import get

from .conformance import checkerboard


def _autorec_answer(name: str) -> Callable[[Any], None]:
    """Unregularised, the autoencoder reproduces every observed rating of the checkerboard."""

    def answer(model: Any) -> None:
        data = checkerboard()
        seeded = get(
            name, hidden=16, reg=0.0, lr=0.03, lr_schedule="constant", epochs=300, seed=0
        ).fit(data)
        users, items, ratings = data.coo()
        np.testing.assert_allclose(seeded.predict(users, items), ratings, atol=0.1)

    return answer


def _multinomial_answer(name: str) -> Callable[[Any], None]:
    """Items 0, 2, 4 are seen by users 0, 2, 4 only (1, 3, 5 by 1, 3, 5): each user's unseen
    items of their own parity must come first."""

    def answer(model: Any) -> None:
        seeded = get(name, hidden=32, latent=8, epochs=100, lr=0.01, seed=0).fit(checkerboard())
        ids, _ = seeded.recommend(np.arange(6), k=4)
        for u in range(6):
            own = {i for i in range(6) if (i + u) % 2 == 0} - set(seeded.seen_[[u]].indices)
            assert set(ids[u, : len(own)].tolist()) == own, (name, u, ids[u])

    return answer


KNOWN_ANSWERS: dict[str, Callable[[Any], None]] = {
    "iautorec": _autorec_answer("iautorec"),
    "uautorec": _autorec_answer("uautorec"),
    "multvae": _multinomial_answer("multvae"),
    "multdae": _multinomial_answer("multdae"),
}

BAD_PARAMS: dict[str, list[dict[str, Any]]] = {
    "iautorec": [
        {"hidden": 0},
        {"activation": "softmax"},
        {"output_activation": None},
        {"reg": -1.0},
        {"valid_metric": "rmse@10"},
    ],
    "uautorec": [
        {"hidden": 2.5},
        {"reg": "big"},
        {"history_rating": "five"},
        {"history_rating": float("nan")},
        {"lr": 0.0},
    ],
    "multvae": [
        {"hidden": 0},
        {"latent": -1},
        {"dropout": 1.0},
        {"anneal_cap": -0.1},
        {"anneal_steps": -1},
        {"anneal_steps": 1.5},
    ],
    "multdae": [{"latent": 0}, {"dropout": -0.1}, {"reg": -1.0}, {"batch_size": 0}],
}
