"""EASE, iALS, explicit ALS and PMF against dense references; fold-in for new users."""

from __future__ import annotations

import numpy as np
import pytest
from hypothesis import given, settings
from hypothesis import strategies as st

from recforge.data import Interactions, random_split
from recforge.errors import DataError
from recforge.evaluation import rmse
from recforge.models import get
from recforge.models.ease import invert_spd_in_place

from .conformance import checkerboard
from .reference_als import reference_explicit_als, reference_ials
from .reference_mf import assert_matches


def implicit_counts() -> Interactions:
    rng = np.random.default_rng(3)
    users, items, counts = [], [], []
    for u in range(8):
        for i in rng.choice(10, size=3 + u % 4, replace=False):
            users.append(u)
            items.append(int(i))
            counts.append(float(rng.integers(1, 4)))
    return Interactions.from_arrays(users, items, counts, explicit=False)


@pytest.mark.parametrize("dtype", ["float32", "float64"])
def test_ease_weights_follow_the_closed_form(dtype: str) -> None:
    data = implicit_counts()
    model = get("ease", reg=2.0, dtype=dtype).fit(data)
    X = data.binary().toarray().astype(np.float64)
    P = np.linalg.inv(X.T @ X + 2.0 * np.eye(X.shape[1]))
    B = np.eye(X.shape[1]) - P / np.diag(P)[None, :]
    np.fill_diagonal(B, 0.0)
    assert model.weights_.dtype == np.float32
    np.testing.assert_allclose(model.weights_, B, atol=1e-5)
    np.testing.assert_allclose(model.score(np.arange(8)), X @ B, atol=1e-5)


@settings(max_examples=40, deadline=None)
@given(
    n=st.integers(1, 40),
    block=st.integers(1, 16),
    order=st.sampled_from("CF"),
    seed=st.integers(0, 2**16),
)
def test_the_in_place_inverse_of_a_positive_definite_matrix(
    n: int, block: int, order: str, seed: int
) -> None:
    """Any size, block size of the mirroring and memory order: the full inverse, symmetric,
    written into the matrix itself."""
    rng = np.random.default_rng(seed)
    a = rng.standard_normal((n + 2, n))
    matrix = np.array(a.T @ a + 0.5 * np.eye(n), order=order)
    expected = np.linalg.inv(matrix)
    memory = matrix.ctypes.data
    invert_spd_in_place(matrix, block=block)
    assert matrix.ctypes.data == memory
    np.testing.assert_allclose(matrix, expected, rtol=1e-8, atol=1e-10)
    np.testing.assert_array_equal(matrix, matrix.T)


def test_the_in_place_inverse_refuses_a_matrix_that_is_not_positive_definite() -> None:
    with pytest.raises(DataError, match=r"not positive definite.*raise reg"):
        invert_spd_in_place(np.array([[1.0, 2.0], [2.0, 1.0]]))


def test_ease_serves_a_history_like_a_known_user() -> None:
    data = implicit_counts()
    model = get("ease", reg=2.0).fit(data)
    history = data.matrix[[5]].indices
    ids, scores = model.recommend_for_history(history, k=4)
    known_ids, known_scores = model.recommend([5], k=4)
    np.testing.assert_array_equal(ids, known_ids)
    np.testing.assert_allclose(scores, known_scores, rtol=1e-5)
    with pytest.raises(DataError, match="at least one item"):
        model.recommend_for_history([], k=3)


def test_ease_similar_items_are_the_recommendations_for_that_item_alone() -> None:
    model = get("ease", reg=2.0).fit(implicit_counts())
    for item in range(model.n_items_):
        ids, sims = model.similar_items([item], k=3)
        expected_ids, expected = model.recommend_for_history([item], k=3)
        np.testing.assert_array_equal(ids, expected_ids)
        np.testing.assert_allclose(sims, expected, rtol=1e-6)
        np.testing.assert_allclose(sims[0], model.weights_[item, ids[0]])


def test_ials_converges_to_the_exact_alternating_solution() -> None:
    data = implicit_counts()
    model = get("ials", factors=3, iterations=4, reg=0.1, alpha=2.0, cg_steps=30, seed=2)
    model.fit(data)
    X, Y = reference_ials(data, factors=3, iterations=4, reg=0.1, alpha=2.0, seed=2)
    np.testing.assert_allclose(model.user_factors_, X, atol=2e-4)
    np.testing.assert_allclose(model.item_factors_, Y, atol=2e-4)


def test_ials_fold_in_matches_the_users_own_solve() -> None:
    users, items, _ = implicit_counts().coo()
    data = Interactions.from_arrays(users, items)
    model = get("ials", factors=4, iterations=6, reg=0.1, alpha=3.0, cg_steps=30, seed=0)
    model.fit(data)
    history = data.matrix[[2]].indices
    ids, _ = model.recommend_for_history(history, k=5)
    known, _ = model.recommend([2], k=5)
    np.testing.assert_array_equal(ids, known)


def test_ials_refuses_negative_values() -> None:
    data = Interactions.from_arrays([0, 1], [0, 1], [1.0, -2.0], explicit=False)
    with pytest.raises(DataError, match="non-negative"):
        get("ials").fit(data)


@pytest.mark.parametrize("weighted", [True, False])
def test_explicit_als_matches_exact_ridge_solves(weighted: bool) -> None:
    data = checkerboard()
    params = {"factors": 2, "iterations": 3, "reg": 0.3, "reg_bias": 0.2, "seed": 6}
    model = get("als", weighted_reg=weighted, **params).fit(data)
    expected = reference_explicit_als(
        data, factors=2, iterations=3, reg_user=0.3, reg_item=0.3, reg_bias=0.2,
        biased=True, weighted=weighted, seed=6,
    )  # fmt: skip
    assert_matches(model, expected)


def test_pmf_is_map_with_the_priors_as_ridge_weights() -> None:
    data = checkerboard()
    model = get("pmf", factors=2, iterations=3, sigma=1.0, sigma_user=0.5, sigma_item=2.0, seed=1)
    model.fit(data)
    expected = reference_explicit_als(
        data, factors=2, iterations=3, reg_user=4.0, reg_item=0.25, reg_bias=0.25,
        biased=False, weighted=False, seed=1,
    )  # fmt: skip
    assert_matches(model, expected)


@pytest.mark.ml100k
@pytest.mark.parametrize("name", ["als", "pmf"])
def test_alternating_rating_models_beat_the_biases(ml100k: Interactions, name: str) -> None:
    split = random_split(ml100k, test=0.2, seed=0)
    users, items, ratings = split.test.coo()
    bias_only = rmse(ratings, get("bias").fit(split.train).predict(users, items))
    params = {"biased": True} if name == "pmf" else {}
    ours = rmse(ratings, get(name, seed=0, **params).fit(split.train).predict(users, items))
    assert ours < bias_only + (0.0 if name == "als" else 0.01)


def test_ials_runs_blas_single_threaded_inside_its_parallel_kernel(
    monkeypatch: pytest.MonkeyPatch,
) -> None:
    """Each parallel row of the kernel calls BLAS; a BLAS pool per call oversubscribes."""
    from threadpoolctl import threadpool_info

    from recforge.data import synthetic_interactions
    from recforge.models import als_kernels

    seen: list[int] = []
    real = als_kernels.implicit_cg_half_step

    def spying(*args):  # type: ignore[no-untyped-def]
        seen.extend(info["num_threads"] for info in threadpool_info() if info["user_api"] == "blas")
        return real(*args)

    monkeypatch.setattr(als_kernels, "implicit_cg_half_step", spying)
    get("ials", iterations=1, seed=0).fit(synthetic_interactions(20, 15, 120, seed=0))
    assert seen
    assert set(seen) == {1}
