"""Every registered model passes the same checks (see conformance.py)."""

from __future__ import annotations

import importlib
import pkgutil
from collections.abc import Callable
from pathlib import Path
from typing import Any

import numpy as np
import pytest

from recforge.models import available, get

from .conformance import (
    check_bad_parameters,
    check_batch_equals_single,
    check_exclude_seen,
    check_explain,
    check_known_answer,
    check_never_fitted_non_finite,
    check_not_fitted,
    check_padding_and_candidates,
    check_save_load,
    check_seed_reproduces,
    checkerboard,
    fitted,
)
from .reference_als import reference_explicit_als, reference_ials
from .reference_knn import dense_similarity, knn_baseline_estimate
from .reference_mf import assert_matches, reference_nmf, reference_svd, reference_svdpp

MODELS = list(available())


def _popularity_answer(model: Any) -> None:
    # Item counts on the checkerboard: 0→3, 1→3, 2→3, 3→3, 4→1, 5→2.
    # User 0 saw {0, 2}; unseen by count: 1 (3), 3 (3), 5 (2), 4 (1); the tie 1/3 goes to 1.
    ids, scores = model.recommend([0], k=4)
    assert ids[0].tolist() == [1, 3, 5, 4]
    assert scores[0].tolist() == [3.0, 3.0, 2.0, 1.0]


def _bias_answer(model: Any) -> None:
    # Ratings 1 + (u + 2i) mod 5 per user: u0 {i0: 1, i2: 5}, u1 {i1: 4, i3: 3},
    # u2 {i0: 3, i2: 2}, u3 {i1: 1, i3: 5, i5: 4}, u4 {i0: 5, i2: 4, i4: 3}, u5 {i1: 3, i3: 2,
    # i5: 1}: sums 6 + 7 + 5 + 10 + 12 + 6 = 46 over 15 ratings, so μ = 46/15.
    # The biases are recomputed with Surprise's ALS loop (items, then users, 10 epochs).
    data = model.seen_
    users, items = data.nonzero()
    ratings = np.array([1 + (u + 2 * i) % 5 for u, i in zip(users, items, strict=True)], float)
    mu = ratings.mean()
    b_u = np.zeros(6)
    b_i = np.zeros(6)
    for _ in range(10):
        for i in range(6):
            mask = items == i
            b_i[i] = (ratings[mask] - mu - b_u[users[mask]]).sum() / (10 + mask.sum())
        for u in range(6):
            mask = users == u
            b_u[u] = (ratings[mask] - mu - b_i[items[mask]]).sum() / (15 + mask.sum())
    assert model.global_mean_ == pytest.approx(46 / 15)
    np.testing.assert_allclose(model.item_bias_, b_i, atol=1e-6)
    np.testing.assert_allclose(model.user_bias_, b_u, atol=1e-6)
    # User 0 has seen items 0 and 2: the best unseen item is the one with the largest bias.
    ids, _ = model.recommend([0], k=1)
    unseen = [1, 3, 4, 5]
    assert ids[0, 0] == unseen[int(np.argmax(b_i[unseen]))]


def _sgd_answer(name: str, reference: Callable[..., dict[str, Any]]) -> Callable[[Any], None]:
    """SGD factors from random starts: refit with a seed and compare with Surprise's loop."""

    def answer(model: Any) -> None:
        params = {"factors": 3, "n_epochs": 4, "lr": 0.05, "reg": 0.1}
        seeded = get(name, seed=11, **params).fit(checkerboard())
        assert_matches(seeded, reference(checkerboard(), seed=11, **params))

    return answer


def _nmf_answer(model: Any) -> None:
    assert (model.user_factors_ >= 0).all()
    assert (model.item_factors_ >= 0).all()
    seeded = get("nmf", seed=4, factors=3, n_epochs=5, reg_user=0.1, reg_item=0.1).fit(
        checkerboard()
    )
    expected = reference_nmf(checkerboard(), factors=3, n_epochs=5, reg=0.1, biased=False, seed=4)
    assert_matches(seeded, expected)


def _knn_answer(name: str) -> Callable[[Any], None]:
    """KNNBaseline with pearson_baseline similarities, recomputed densely (Surprise's loops)."""

    def answer(model: Any) -> None:
        seeded = get(name, k=2, neighbors=6).fit(checkerboard())
        data = checkerboard()
        R = data.matrix.toarray().astype(float)
        rated = R > 0
        baseline = seeded.global_mean_ + seeded.user_bias_[:, None] + seeded.item_bias_[None, :]
        residual = np.where(rated, R - baseline, 0.0)
        if name == "userknn":  # compare users; the neighbours are users who rated the item
            R, rated, baseline, residual = R.T, rated.T, baseline.T, residual.T
        sim = dense_similarity(residual.T, rated.T, "common_cosine", shrinkage=100.0)
        for a in range(6):
            for b in range(6):
                want = knn_baseline_estimate(R, rated, baseline, sim, a, b, k=2)
                u, i = (b, a) if name == "userknn" else (a, b)
                assert seeded.predict([u], [i])[0] == pytest.approx(np.clip(want, 1, 5), abs=1e-5)

    return answer


def _ease_answer(model: Any) -> None:
    X = checkerboard().binary().toarray().astype(np.float64)
    P = np.linalg.inv(X.T @ X + model.reg * np.eye(6))
    B = np.eye(6) - P / np.diag(P)[None, :]
    np.fill_diagonal(B, 0.0)
    np.testing.assert_allclose(model.weights_, B, atol=1e-6)


def _sparse_ease_answer(model: Any) -> None:
    """Every item a neighbour (k ≥ I − 1): EASE's weights exactly; k = 2: each column the
    ridge regression on the column's two most co-occurring items (ties: lower index)."""
    X = checkerboard().binary().toarray().astype(np.float64)
    gram = X.T @ X
    full = get("sparseease", reg=model.reg, neighbours=10).fit(checkerboard())
    _ease_answer(type("Dense", (), {"reg": model.reg, "weights_": full.weights.toarray()}))
    two = get("sparseease", reg=model.reg, neighbours=2).fit(checkerboard())
    expected = np.zeros((6, 6))
    for j in range(6):
        others = [i for i in range(6) if i != j]
        chosen = sorted(sorted(others, key=lambda i: (-gram[j, i], i))[:2])
        system = gram[np.ix_(chosen, chosen)] + model.reg * np.eye(2)
        expected[chosen, j] = np.linalg.solve(system, gram[chosen, j])
    np.testing.assert_allclose(two.weights.toarray(), expected, atol=1e-6)


def _ials_answer(model: Any) -> None:
    seeded = get("ials", factors=2, iterations=3, reg=0.2, alpha=1.5, cg_steps=25, seed=9)
    seeded.fit(checkerboard())
    X, Y = reference_ials(checkerboard(), factors=2, iterations=3, reg=0.2, alpha=1.5, seed=9)
    np.testing.assert_allclose(seeded.user_factors_, X, atol=2e-4)
    np.testing.assert_allclose(seeded.item_factors_, Y, atol=2e-4)


def _alternating_answer(name: str) -> Callable[[Any], None]:
    def answer(model: Any) -> None:
        if name == "als":
            seeded = get("als", factors=2, iterations=2, reg=0.5, reg_bias=0.5, seed=3)
            regs = {"reg_user": 0.5, "reg_item": 0.5, "reg_bias": 0.5}
            flags = {"biased": True, "weighted": True}
        else:
            seeded = get("pmf", factors=2, iterations=2, sigma_user=1.0, sigma_item=1.0, seed=3)
            regs = {"reg_user": 1.0, "reg_item": 1.0, "reg_bias": 1.0}
            flags = {"biased": False, "weighted": False}
        seeded.fit(checkerboard())
        expected = reference_explicit_als(
            checkerboard(), factors=2, iterations=2, seed=3, **regs, **flags
        )
        assert_matches(seeded, expected)

    return answer


def _puresvd_answer(model: Any) -> None:
    R = checkerboard().matrix.toarray().astype(np.float64)
    U, s, Vt = np.linalg.svd(R)
    k = model.item_factors_.shape[1]
    np.testing.assert_allclose(model.score(np.arange(6)), (U[:, :k] * s[:k]) @ Vt[:k], atol=1e-5)


def _bpr_answer(model: Any) -> None:
    # Items 1, 3, 5 are rated by users 1, 3, 5 only (and 0, 2, 4 by 0, 2, 4): BPR must rank
    # the unseen items of a user's own parity first.
    seeded = get("bpr", factors=4, epochs=300, seed=2).fit(checkerboard())
    ids, _ = seeded.recommend(np.arange(6), k=4)
    for u in range(6):
        own = {i for i in range(6) if (i + u) % 2 == 0} - set(seeded.seen_[[u]].indices)
        assert set(ids[u, : len(own)].tolist()) == own


def _bpmf_answer(model: Any) -> None:
    # The posterior mean of a kept-sample stack is one dot product: check it by hand.
    seeded = get("bpmf", factors=2, samples=3, burn_in=1, seed=0).fit(checkerboard())
    assert seeded.user_factors_.shape == (6, 6)
    u, i = 1, 3
    by_sample = [
        seeded.user_factors_[u, 2 * s : 2 * s + 2] @ seeded.item_factors_[i, 2 * s : 2 * s + 2]
        for s in range(3)
    ]
    expected = np.clip(seeded.global_mean_ + sum(by_sample), 1, 5)
    assert seeded.predict([u], [i])[0] == pytest.approx(expected, abs=1e-5)


def _content_answer(model: Any) -> None:
    # Blocks, each a unit vector: parity one-hot, tags one-hot, title tf-idf over the words in
    # ≥ 2 titles ("film" in all 6: idf 1; "even"/"odd" in 3: idf ln(7/4) + 1; digits dropped).
    idf = np.log(7 / 4) + 1
    title = np.array([1.0, idf]) / np.hypot(1.0, idf)
    vectors = []
    for i in range(6):
        parity = [1.0, 0.0] if i % 2 == 0 else [0.0, 1.0]
        tags = [0.0, 1.0] if i < 3 else [1.0, 0.0]  # vocabulary in first-seen order: low, high
        words = [title[0], title[1], 0.0] if i % 2 == 0 else [title[0], 0.0, title[1]]
        vectors.append(np.array(parity + tags[::-1] + words) / np.sqrt(3))
    V = np.array(vectors)
    R = checkerboard().matrix.toarray()
    rated = R > 0
    means = R.sum(axis=1) / rated.sum(axis=1)
    W = np.where(rated, np.maximum(R - means[:, None], 0.0), 0.0)
    expected = W @ V @ V.T
    np.testing.assert_allclose(model.score(np.arange(6)), expected, atol=1e-5)


def _hybrid_answer(model: Any) -> None:
    def z(rows: np.ndarray) -> np.ndarray:
        rows = rows.astype(np.float64)
        return (rows - rows.mean(axis=1, keepdims=True)) / rows.std(axis=1, keepdims=True)

    users = np.arange(6)
    content = fitted("content").score(users)
    # Every checkerboard user has 2–3 interactions, under the default threshold of 5.
    assert model.sources(users).tolist() == ["content"] * 6
    np.testing.assert_allclose(model.score(users), z(content), atol=1e-5)
    blended = fitted("hybrid", cf="popularity", weight=0.25, min_user_interactions=1)
    counts = np.tile(checkerboard().item_counts(), (6, 1))
    np.testing.assert_allclose(
        blended.score(users), 0.25 * z(counts) + 0.75 * z(content), atol=1e-5
    )
    assert blended.recommend_explained([0], k=2).source.tolist() == ["blend"]


KNOWN_ANSWERS: dict[str, Callable[[Any], None]] = {
    "popularity": _popularity_answer,
    "bias": _bias_answer,
    "svd": _sgd_answer("svd", reference_svd),
    "svdpp": _sgd_answer("svdpp", reference_svdpp),
    "nmf": _nmf_answer,
    "itemknn": _knn_answer("itemknn"),
    "ease": _ease_answer,
    "sparseease": _sparse_ease_answer,
    "content": _content_answer,
    "hybrid": _hybrid_answer,
    "puresvd": _puresvd_answer,
    "bpr": _bpr_answer,
    "bpmf": _bpmf_answer,
    "ials": _ials_answer,
    "als": _alternating_answer("als"),
    "pmf": _alternating_answer("pmf"),
    "userknn": _knn_answer("userknn"),
}

BAD_PARAMS: dict[str, list[dict[str, Any]]] = {
    "popularity": [{"weighted": "yes"}, {"seed": -1}],
    "bias": [{"reg_items": -1.0}, {"reg_users": "a"}, {"n_epochs": 0}, {"seed": 1.5}],
    "svd": [{"factors": 0}, {"lr": 0.0}, {"reg": -1.0}, {"biased": 1}, {"init_std": "x"}],
    "nmf": [{"init_low": -1.0}, {"init_high": 0.0}, {"reg_user": -0.1}, {"biased": None}],
    "puresvd": [{"factors": 0}, {"factors": 2.5}, {"seed": "s"}],
    "bpr": [{"epochs": 0}, {"lr": 0.0}, {"reg": -0.1}, {"factors": None}],
    "bpmf": [{"samples": 0}, {"burn_in": -1}, {"alpha": 0.0}, {"beta0": "x"}],
    "hybrid": [
        {"cf": "hybrid"},
        {"cf_params": [1]},
        {"weight": 1.5},
        {"min_user_interactions": -1},
    ],
    "content": [{"text_weight": -1.0}, {"min_df": 0}, {"seed": 0.5}],
    "ease": [{"reg": 0.0}, {"reg": "big"}, {"dtype": "float16"}, {"seed": -3}],
    "sparseease": [{"reg": -1.0}, {"neighbours": 0}, {"neighbours": 2.5}, {"seed": "x"}],
    "ials": [{"factors": 0}, {"alpha": -1.0}, {"cg_steps": 0}, {"init_std": 0.0}],
    "als": [{"reg": 0.0}, {"weighted_reg": "yes"}, {"iterations": 0}, {"reg_bias": -1.0}],
    "pmf": [{"sigma": 0.0}, {"sigma_user": -1.0}, {"biased": 0}, {"factors": "k"}],
    "itemknn": [{"similarity": "msd"}, {"neighbors": 0}, {"k": 0}, {"shrinkage": -1.0}],
    "userknn": [{"min_k": -1}, {"min_support": 0}, {"seed": "x"}, {"similarity": 3}],
    "svdpp": [{"factors": 1.5}, {"n_epochs": 0}, {"lr": -0.1}, {"shuffle": "no"}, {"seed": -2}],
}


def _torchmf_answer(model: Any) -> None:
    # As for BPR: the unseen items of a user's own parity come first, with every loss.
    for loss in ("bpr", "bce", "sampled_softmax", "softmax"):
        params = {"negatives": 2} if loss == "sampled_softmax" else {}
        seeded = get(
            "torchmf", factors=4, loss=loss, epochs=150, lr=0.05, batch_size=4, seed=1, **params
        ).fit(checkerboard())
        ids, _ = seeded.recommend(np.arange(6), k=4)
        for u in range(6):
            own = {i for i in range(6) if (i + u) % 2 == 0} - set(seeded.seen_[[u]].indices)
            assert set(ids[u, : len(own)].tolist()) == own, (loss, u)


KNOWN_ANSWERS["torchmf"] = _torchmf_answer
BAD_PARAMS["torchmf"] = [
    {"factors": 0},
    {"loss": "hinge"},
    {"sampler": "zipf"},
    {"lr": 0.0},
    {"optimizer": "lbfgs"},
    {"device": "tpu"},
    {"valid_metric": "ndcg"},
    {"clip_grad_norm": -1.0},
]

# Families of models keep their answers in answers_<family>.py (KNOWN_ANSWERS, BAD_PARAMS).
for _info in pkgutil.iter_modules([str(Path(__file__).parent)]):
    if _info.name.startswith("answers_"):
        _module = importlib.import_module(f"{__package__}.{_info.name}")
        KNOWN_ANSWERS.update(_module.KNOWN_ANSWERS)
        BAD_PARAMS.update(_module.BAD_PARAMS)


@pytest.mark.parametrize("name", MODELS)
def test_known_answer_on_checkerboard(name: str) -> None:
    check_known_answer(name, KNOWN_ANSWERS)


@pytest.mark.parametrize("name", MODELS)
def test_batch_equals_single(name: str) -> None:
    check_batch_equals_single(name)


@pytest.mark.parametrize("name", MODELS)
def test_exclude_seen(name: str) -> None:
    check_exclude_seen(name)


@pytest.mark.parametrize("name", MODELS)
def test_seed_reproduces(name: str) -> None:
    check_seed_reproduces(name)


@pytest.mark.parametrize("name", MODELS)
def test_save_load_round_trip(name: str, tmp_path: Path) -> None:
    check_save_load(name, tmp_path)


@pytest.mark.parametrize("name", MODELS)
def test_errors_before_fit(name: str, tmp_path: Path) -> None:
    check_not_fitted(name, tmp_path)


@pytest.mark.parametrize("name", MODELS)
def test_a_diverged_fit_is_refused(name: str, tmp_path: Path) -> None:
    check_never_fitted_non_finite(name, tmp_path)


@pytest.mark.parametrize("name", MODELS)
def test_bad_parameters(name: str) -> None:
    check_bad_parameters(name, BAD_PARAMS.get(name, []))


@pytest.mark.parametrize("name", MODELS)
def test_padding_and_candidates(name: str) -> None:
    check_padding_and_candidates(name)


@pytest.mark.parametrize("name", MODELS)
def test_explain(name: str) -> None:
    check_explain(name)
