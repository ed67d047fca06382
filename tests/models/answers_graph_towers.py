"""Known answers and bad parameters of the graph and two-tower models (lightgcn, twotower)."""

from __future__ import annotations

from collections.abc import Callable
from typing import Any

import numpy as np

from recforge.models import get

from .conformance import checkerboard


def own_parity_first(model: Any) -> None:
    """Items 0, 2, 4 are rated by users 0, 2, 4 only (and 1, 3, 5 by 1, 3, 5): every user's
    unseen items of their own parity must come first."""
    ids, _ = model.recommend(np.arange(6), k=4)
    for u in range(6):
        own = {i for i in range(6) if (i + u) % 2 == 0} - set(model.seen_[[u]].indices)
        assert set(ids[u, : len(own)].tolist()) == own, u


def dense_adjacency(seen: np.ndarray) -> np.ndarray:
    """D^-1/2 A D^-1/2 for A = [[0, R], [Rᵀ, 0]], entry by entry."""
    n_users, n_items = seen.shape
    A = np.zeros((n_users + n_items, n_users + n_items))
    A[:n_users, n_users:] = seen
    A[n_users:, :n_users] = seen.T
    degree = A.sum(axis=1)
    out = np.zeros_like(A)
    for a in range(A.shape[0]):
        for b in range(A.shape[1]):
            if A[a, b]:
                out[a, b] = 1.0 / np.sqrt(degree[a] * degree[b])
    return out


def _lightgcn_answer(model: Any) -> None:
    R = checkerboard().binary().toarray()
    expected = dense_adjacency(R)
    # By hand: user 0 (2 items) – item 0 (3 users); user 4 (3 items) – item 4 (user 4 only).
    assert expected[0, 6 + 0] == np.float64(1 / np.sqrt(6))
    assert expected[4, 6 + 4] == np.float64(1 / np.sqrt(3))
    np.testing.assert_allclose(model.module_.adjacency.to_dense().numpy(), expected, atol=1e-7)
    # One propagation step: the final embedding is (E⁰ + ÂE⁰) / 2.
    one = get("lightgcn", layers=1, epochs=2, seed=0).fit(checkerboard())
    E0 = np.concatenate(
        [
            one.module_.user_embedding.weight.detach().numpy(),
            one.module_.item_embedding.weight.detach().numpy(),
        ]
    ).astype(np.float64)
    final = (E0 + expected @ E0) / 2
    np.testing.assert_allclose(one.score(np.arange(6)), final[:6] @ final[6:].T, atol=1e-5)
    # Seeded fits rank each user's own parity first.
    for seed in (0, 1):
        own_parity_first(get("lightgcn", seed=seed).fit(checkerboard()))


def _twotower_answer(model: Any) -> None:
    for loss in ("in_batch", "sampled"):
        seeded = get("twotower", loss=loss, negatives=4, seed=1).fit(checkerboard())
        own_parity_first(seeded)  # new users: test_two_tower.py


KNOWN_ANSWERS: dict[str, Callable[[Any], None]] = {
    "lightgcn": _lightgcn_answer,
    "twotower": _twotower_answer,
}

BAD_PARAMS: dict[str, list[dict[str, Any]]] = {
    "lightgcn": [
        {"factors": 0},
        {"layers": -1},
        {"layers": 1.5},
        {"reg": -1e-4},
        {"negatives": 0},
        {"lr": 0.0},
        {"batch_size": 0},
    ],
    "twotower": [
        {"factors": 0},
        {"hidden": 0},
        {"hidden_layers": -1},
        {"temperature": 0.0},
        {"loss": "bpr"},
        {"negatives": 0},
        {"sampler": "zipf"},
        {"history_len": 0},
        {"cold_dropout": 1.5},
        {"epochs": 0},
    ],
}
