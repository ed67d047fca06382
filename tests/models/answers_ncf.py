"""Known answers and bad parameters of GMF, MLP, NeuMF and DeepRating.

The ranking models refit seeded and must show the checkerboard's parity structure (a user's
unseen items of their own parity rank first) and score exactly as their formulas recomputed by
hand in float64 numpy from their weights. DeepRating must learn the checkerboard's ratings and
predict exactly as its network recomputed by hand, unknown ids included.
"""

from __future__ import annotations

from collections.abc import Callable
from typing import Any

import numpy as np
import torch
from torch import nn

from recforge.models import get

from .conformance import checkerboard


def _weights(module: nn.Module) -> dict[str, np.ndarray]:
    return {k: v.detach().double().numpy() for k, v in module.state_dict().items()}


def _linears(module: nn.Module) -> list[tuple[np.ndarray, np.ndarray]]:
    """(W, b) of the Linear layers of `module`, in order."""
    return [
        (m.weight.detach().double().numpy(), m.bias.detach().double().numpy())
        for m in module.modules()
        if isinstance(m, nn.Linear)
    ]


def relu(x: np.ndarray) -> np.ndarray:
    return np.maximum(x, 0.0)


def mlp_features(branch: nn.Module, users: np.ndarray, items: np.ndarray) -> np.ndarray:
    """tower([p_u, q_i]) for every pair [B, M, ·]: ReLU after every layer (none without one)."""
    w = _weights(branch)
    p, q = w["user_embedding.weight"][users], w["item_embedding.weight"][items]
    x = np.concatenate(
        [np.repeat(p[:, None], len(items), 1), np.repeat(q[None], len(users), 0)], axis=2
    )
    for W, b in _linears(branch):
        x = relu(x @ W.T + b)
    return x


def gmf_features(branch: nn.Module, users: np.ndarray, items: np.ndarray) -> np.ndarray:
    """p_u ⊙ q_i for every pair [B, M, d]."""
    w = _weights(branch)
    return w["user_embedding.weight"][users][:, None] * w["item_embedding.weight"][items][None]


def ncf_reference(model: Any) -> np.ndarray:
    """Logits [n_users, n_items] of a fitted GMF / MLP / NeuMF, by its formula."""
    users, items = np.arange(model.n_users_), np.arange(model.n_items_)
    net = model.module_
    if model.name == "gmf":
        features = gmf_features(net.branch, users, items)
    elif model.name == "mlp":
        features = mlp_features(net.branch, users, items)
    else:
        features = np.concatenate(
            [gmf_features(net.gmf, users, items), mlp_features(net.mlp, users, items)], axis=2
        )
    (h, b), *_ = _linears(net.output)
    return features @ h[0] + b[0]


def deep_rating_reference(model: Any, users: np.ndarray, items: np.ndarray) -> np.ndarray:
    """DeepRating's predictions for pairs (−1: unknown → the mean field vector of its side),
    by its formula: clip(μ + MLP([fields(u), fields(i)]))."""
    net = model.module_
    with torch.no_grad():
        U = net.users(torch.arange(model.n_users_)).flatten(1).double().numpy()
        V = net.items(torch.arange(model.n_items_)).flatten(1).double().numpy()
    U = np.vstack([U, U.mean(axis=0)])  # row −1: the mean
    V = np.vstack([V, V.mean(axis=0)])
    x = np.concatenate([U[users], V[items]], axis=1)
    layers = _linears(net)
    for W, b in layers[:-1]:
        x = relu(x @ W.T + b)
    W, b = layers[-1]
    out = model.global_mean_ + (x @ W.T + b)[:, 0]
    return np.clip(out, model.rating_min_, model.rating_max_)


def assert_parity(model: Any, what: str) -> None:
    """Items 0, 2, 4 are seen by users 0, 2, 4 only (1, 3, 5 by 1, 3, 5): each user's unseen
    items of their own parity must come first."""
    ids, _ = model.recommend(np.arange(6), k=4)
    for u in range(6):
        own = {i for i in range(6) if (i + u) % 2 == 0} - set(model.seen_[[u]].indices)
        assert set(ids[u, : len(own)].tolist()) == own, (what, u, ids[u])


def _ncf_answer(
    name: str, params: dict[str, Any], losses: tuple[str, ...]
) -> Callable[[Any], None]:
    def answer(model: Any) -> None:
        np.testing.assert_allclose(model.score(np.arange(6)), ncf_reference(model), atol=1e-5)
        for loss in losses:
            seeded = get(name, loss=loss, lr=0.05, batch_size=15, seed=0, **params)
            seeded.fit(checkerboard())
            assert_parity(seeded, f"{name} {loss}")
            np.testing.assert_allclose(seeded.score(np.arange(6)), ncf_reference(seeded), atol=1e-5)

    return answer


def _deep_rating_answer(model: Any) -> None:
    users = np.array([0, 1, 5, -1, 2, -1])
    items = np.array([0, 3, 5, 2, -1, -1])
    np.testing.assert_allclose(
        model.predict(users, items), deep_rating_reference(model, users, items), atol=1e-5
    )
    data = checkerboard()
    seeded = get(
        "deeprating", input_dropout=0.0, dropout=0.0, epochs=150, lr=0.01, batch_size=15, seed=0
    ).fit(data)
    u, i, r = data.coo()
    predicted = seeded.predict(u, i)
    assert np.sqrt(np.mean((predicted - r) ** 2)) < 0.05  # the training RMSE
    grid_u, grid_i = (a.ravel() for a in np.meshgrid(np.arange(-1, 6), np.arange(-1, 6)))
    np.testing.assert_allclose(
        seeded.predict(grid_u, grid_i), deep_rating_reference(seeded, grid_u, grid_i), atol=1e-4
    )


KNOWN_ANSWERS: dict[str, Callable[[Any], None]] = {
    "gmf": _ncf_answer("gmf", {"factors": 4, "epochs": 150}, ("bce", "bpr")),
    # A flexible MLP trained with BCE memorises that users 0 and 2 never chose item 4 (it is
    # among their sampled negatives); the pairwise loss ranks by parity.
    "mlp": _ncf_answer("mlp", {"layers": [32, 16], "epochs": 300}, ("bpr",)),
    "neumf": _ncf_answer("neumf", {"factors": 4, "layers": [16, 8], "epochs": 150}, ("bce", "bpr")),
    "deeprating": _deep_rating_answer,
}

BAD_PARAMS: dict[str, list[dict[str, Any]]] = {
    "gmf": [
        {"factors": 0},
        {"loss": "softmax"},
        {"negatives": 0},
        {"sampler": "zipf"},
        {"epochs": 0},
    ],
    "mlp": [
        {"layers": []},
        {"layers": [7, 4]},
        {"layers": [8, 0]},
        {"layers": "64,32"},
        {"dropout": 1.0},
        {"loss": "mse"},
    ],
    "neumf": [
        {"factors": 2.0},
        {"layers": [64, 32.0]},
        {"dropout": -0.1},
        {"pretrain": 1},
        {"alpha": 1.5},
        {"negatives": None},
        {"sampler": "uniform "},
    ],
    "deeprating": [
        {"factors": 0},
        {"input_dropout": 1.0},
        {"dropout": -0.5},
        {"valid_metric": "rmse@10"},
        {"batch_size": 0},
    ],
}
