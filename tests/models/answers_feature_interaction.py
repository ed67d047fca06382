"""Known answers and bad parameters of FM, Wide&Deep, DeepFM, DCN-v2 and AutoInt.

Each known answer (1) recomputes the fitted model's scores by hand, in float64 numpy from its
weights, with the formula the model documents, and (2) refits it seeded and checks the
checkerboard's parity structure: a user's unseen items of their own parity rank first.
"""

from __future__ import annotations

from collections.abc import Callable
from typing import Any

import numpy as np
import torch
from torch import nn

from recforge.data import Feature, FeatureTable, Interactions
from recforge.models import get

from .conformance import checkerboard


def _numpy(t: torch.Tensor) -> np.ndarray:
    return t.detach().double().numpy()


def _fields(model: Any) -> tuple[np.ndarray, np.ndarray | None]:
    """Every (user, item) pair's stacked fields v [6, 6, F, d] and first-order sum [6, 6]."""
    net = model.module_
    users, items = torch.arange(6), torch.arange(6)
    u, i = _numpy(net.fields.user(users)), _numpy(net.fields.item(items))
    v = np.concatenate([np.repeat(u[:, None], 6, axis=1), np.repeat(i[None, :], 6, axis=0)], axis=2)
    if net.linear is None:
        return v, None
    wu, wi = _numpy(net.linear.user(users)).sum((1, 2)), _numpy(net.linear.item(items)).sum((1, 2))
    return v, _numpy(net.bias) + wu[:, None] + wi[None, :]


def _pairwise(v: np.ndarray) -> np.ndarray:
    f = v.shape[-2]
    return sum((v[..., a, :] * v[..., b, :]).sum(-1) for a in range(f) for b in range(a + 1, f))


def _mlp(sequential: nn.Sequential, x: np.ndarray) -> np.ndarray:
    linears = [m for m in sequential if isinstance(m, nn.Linear)]
    for j, layer in enumerate(linears):
        x = x @ _numpy(layer.weight).T + _numpy(layer.bias)
        if j < len(linears) - 1:
            x = np.maximum(x, 0.0)
    return x[..., 0]


def _cross(cross: Any, x0: np.ndarray) -> np.ndarray:
    x = x0
    for layer in cross.layers:
        x = x0 * (x @ _numpy(layer.weight).T + _numpy(layer.bias)) + x
    return x


def _attention(layer: Any, e: np.ndarray) -> np.ndarray:
    """softmax(Q Kᵀ/√a) V per head, concatenated, plus the residual projection, then ReLU."""
    h, a = layer.heads, layer.head_dim
    q, k, v, r = (
        e @ _numpy(m.weight).T for m in (layer.query, layer.key, layer.value, layer.residual)
    )
    out = np.empty_like(r)
    for head in range(h):
        cols = slice(head * a, (head + 1) * a)
        logits = q[..., cols] @ np.swapaxes(k[..., cols], -1, -2) / np.sqrt(a)
        weights = np.exp(logits - logits.max(-1, keepdims=True))
        weights /= weights.sum(-1, keepdims=True)
        out[..., cols] = weights @ v[..., cols]
    return np.maximum(out + r, 0.0)


def _by_hand(name: str, model: Any) -> np.ndarray:
    v, wide = _fields(model)
    flat = v.reshape(6, 6, -1)
    terms = model.module_.terms
    if name == "fm":
        return wide + _pairwise(v)
    if name == "widedeep":
        return wide + _mlp(terms[0].mlp, flat)
    if name == "deepfm":
        return wide + _pairwise(v) + _mlp(terms[1].mlp, flat)
    if name == "dcnv2":
        return _mlp(terms[0].mlp, _cross(terms[0].cross, flat))
    for layer in terms[0].layers:  # autoint
        v = _attention(layer, v)
    out = terms[0].output
    return v.reshape(6, 6, -1) @ _numpy(out.weight)[0] + _numpy(out.bias)[0]


def _parity_features() -> dict[str, FeatureTable]:
    data = checkerboard()
    parity = [str(k % 2) for k in range(6)]
    return {
        "user_features": FeatureTable(data.user_ids, [Feature.categorical("parity", parity)]),
        "item_features": FeatureTable(data.item_ids, [Feature.categorical("parity", parity)]),
    }


REMOVED = {(0, 4), (2, 4), (1, 5)}  # the checkerboard's missing even pairs


def checkerboard_clicks(held_out: set[tuple[int, int]] = REMOVED) -> Interactions:
    """The checkerboard as click data: every (user, item) of 6 × 6 shown once, clicked (1) iff
    u + i is even, except the `held_out` pairs, which are not in the data."""
    pairs = [(u, i) for u in range(6) for i in range(6) if (u, i) not in held_out]
    users = [f"u{u}" for u, _ in pairs]
    items = [f"i{i}" for _, i in pairs]
    labels = [1.0 if (u + i) % 2 == 0 else 0.0 for u, i in pairs]
    return Interactions.from_arrays(users, items, labels, explicit=False)


QUICK: dict[str, Any] = {"factors": 4, "batch_size": 64, "lr": 0.05, "progress": False}
# FM, a biased MF on ids alone, finds the parity of implicit positives as BPR does (the deep
# models memorise the sampled negatives of 15 positives instead).
IMPLICIT_FM: dict[str, Any] = {"factors": 4, "epochs": 150, "lr": 0.05, "batch_size": 16}
# Every model finds it from clicks and non-clicks (labels="values").
CLICKS: dict[str, dict[str, Any]] = {
    "fm": {"epochs": 100},
    "widedeep": {"epochs": 100},
    "deepfm": {"epochs": 100},
    "dcnv2": {"epochs": 100, "lr": 0.02},
    "autoint": {"epochs": 100, "reg": 0.01},
}


def _answer(name: str) -> Callable[[Any], None]:
    def answer(model: Any) -> None:
        with_features = get(name, seed=5, epochs=3, progress=False)
        with_features.fit(checkerboard(), **_parity_features())
        for fitted in (model, with_features):
            np.testing.assert_allclose(
                fitted.score(np.arange(6)), _by_hand(name, fitted), rtol=1e-5, atol=1e-6
            )
        # the held-out pairs are predicted clicks, every odd pair a non-click
        clicks = get(name, labels="values", seed=0, **{**QUICK, **CLICKS[name]})
        scores = clicks.fit(checkerboard_clicks()).score(np.arange(6))
        np.testing.assert_array_equal(scores > 0, np.add.outer(range(6), range(6)) % 2 == 0)
        if name == "fm":  # a user's unseen items of their own parity rank first
            seeded = get("fm", seed=2, negatives=2, progress=False, **IMPLICIT_FM)
            ids, _ = seeded.fit(checkerboard()).recommend(np.arange(6), k=4)
            for u in range(6):
                own = {i for i in range(6) if (i + u) % 2 == 0} - set(seeded.seen_[[u]].indices)
                assert set(ids[u, : len(own)].tolist()) == own, (u, ids[u])

    return answer


NAMES = ("fm", "widedeep", "deepfm", "dcnv2", "autoint")
KNOWN_ANSWERS: dict[str, Callable[[Any], None]] = {name: _answer(name) for name in NAMES}

_COMMON: list[dict[str, Any]] = [
    {"factors": 0},
    {"labels": "clicks"},
    {"negatives": 0},
    {"sampler": "zipf"},
    {"context": "hour"},
    {"reg": -1.0},
]
_DEEP: list[dict[str, Any]] = [
    {"layers": [0]},
    {"layers": 64},
    {"layers": [32, True]},
    {"dropout": 1.0},
    {"dropout": -0.1},
]
BAD_PARAMS: dict[str, list[dict[str, Any]]] = {
    "fm": [*_COMMON, {"lr": 0.0}, {"epochs": 0}],
    "widedeep": [*_COMMON, *_DEEP],
    "deepfm": [*_COMMON, *_DEEP, {"optimizer": "lbfgs"}],
    "dcnv2": [*_COMMON, *_DEEP, {"cross_layers": -1}, {"cross_layers": 1.5}],
    "autoint": [*_COMMON, {"attention_layers": 0}, {"heads": 0}, {"heads": "2"}],
}
