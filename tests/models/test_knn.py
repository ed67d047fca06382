"""Item- and user-KNN: every similarity against its definition, KNNBaseline's estimate,
summed-similarity ranking, top-k pruning across blocks, new-user histories."""

from __future__ import annotations

import warnings
from pathlib import Path

import numpy as np
import pytest
import scipy.sparse as sp
from hypothesis import given, settings
from hypothesis import strategies as st

from recforge import load
from recforge.data import Interactions, random_split
from recforge.errors import DataError, DataWarning, ParameterError
from recforge.evaluation import rmse
from recforge.models import get
from recforge.models import similarity as similarity_module
from recforge.models.similarity import SIMILARITY_KINDS, topk_similarity

from .conformance import checkerboard
from .reference_knn import dense_similarity, knn_baseline_estimate


def random_matrix(seed: int, rows: int = 9, cols: int = 12, density: float = 0.45) -> np.ndarray:
    rng = np.random.default_rng(seed)
    present = rng.random((rows, cols)) < density
    return np.where(present, rng.integers(1, 6, (rows, cols)).astype(float), 0.0)


@settings(deadline=None, max_examples=40)
@given(
    seed=st.integers(0, 10_000),
    kind=st.sampled_from(SIMILARITY_KINDS),
    shrinkage=st.sampled_from([0.0, 3.0]),
    min_support=st.integers(1, 3),
    neighbors=st.integers(1, 9),
    block_cells=st.sampled_from([12, 40, 1 << 20]),
    density=st.sampled_from([0.1, 0.45]),  # sparse rows keep a list of touched rows, dense scan
    constant=st.sampled_from([None, 1.0, -2.5]),  # one repeated value: cosine counts
)
def test_topk_similarity_matches_the_definitions(
    seed: int,
    kind: str,
    shrinkage: float,
    min_support: int,
    neighbors: int,
    block_cells: int,
    density: float,
    constant: float | None,
) -> None:
    dense = random_matrix(seed, density=density)
    present = dense != 0
    if constant is not None:
        dense = np.where(present, constant, 0.0)
    elif kind == "common_cosine" or (kind == "cosine" and seed % 2):
        dense = np.where(present, dense - 3.0, 0.0)  # residuals: signs vary, some exactly 0
    # Built from the pattern, so a residual of exactly 0 is still a shared column.
    X = sp.csr_array((dense[present], np.nonzero(present)), shape=dense.shape)
    saved = similarity_module._BLOCK_CELLS
    similarity_module._BLOCK_CELLS = block_cells  # several blocks of rows
    try:
        got = topk_similarity(
            X, kind, neighbors=neighbors, shrinkage=shrinkage, min_support=min_support
        ).toarray()
    finally:
        similarity_module._BLOCK_CELLS = saved
    expected = dense_similarity(dense, present, kind, shrinkage, min_support)
    for row, want in zip(got, expected, strict=True):
        kept = np.flatnonzero(row)
        positive = np.sort(want[want > 1e-12])[::-1]
        assert kept.size == min(neighbors, positive.size)
        np.testing.assert_allclose(row[kept], want[kept], rtol=1e-5, atol=1e-6)
        if kept.size:  # nothing better was dropped
            assert row[kept].min() >= positive[kept.size - 1] - 1e-6


@pytest.mark.parametrize("kind", SIMILARITY_KINDS)
@pytest.mark.parametrize("density", [0.05, 0.5])
@pytest.mark.parametrize("constant", [None, 1.0, 0.5])
def test_topk_similarity_with_mixed_signs_matches_the_definitions(
    kind: str, density: float, constant: float | None
) -> None:
    """Rows share scratch sums in the kernel: a row whose sums end negative must leave none
    behind for the next (40 rows, values of both signs; sparse rows keep a touched list, dense
    ones scan). One repeated value (constant) takes plain cosine's path for 0/1 values."""
    dense = random_matrix(7, rows=40, cols=25, density=density)
    present = dense != 0
    dense = np.where(present, dense - 3.0 if constant is None else constant, 0.0)
    X = sp.csr_array((dense[present], np.nonzero(present)), shape=dense.shape)
    got = topk_similarity(X, kind, neighbors=39).toarray()
    expected = dense_similarity(dense, present, kind, 0.0, 1)
    np.testing.assert_allclose(got, np.where(expected > 1e-12, expected, 0.0), atol=1e-6)


def test_item_knn_reproduces_surprises_knn_baseline() -> None:
    data = checkerboard()
    model = get("itemknn", k=2, neighbors=6, ranking="predicted").fit(data)
    R = data.matrix.toarray().astype(float)
    rated = R > 0
    baseline = (model.global_mean_ + model.user_bias_[:, None] + model.item_bias_[None, :]).astype(
        float
    )
    residual = np.where(rated, R - baseline, 0.0)
    sim = dense_similarity(residual.T, rated.T, "common_cosine", shrinkage=100.0)
    got = model.score(np.arange(6))
    for u in range(6):
        for i in range(6):
            want = np.clip(knn_baseline_estimate(R, rated, baseline, sim, u, i, k=2), 1, 5)
            assert model.predict([u], [i])[0] == pytest.approx(want, abs=1e-5)
            assert got[u, i] == pytest.approx(
                knn_baseline_estimate(R, rated, baseline, sim, u, i, k=2), abs=1e-5
            )


@pytest.mark.parametrize("name", ["itemknn", "userknn"])
def test_ratings_rank_by_rating_weighted_summed_cosine(name: str) -> None:
    """On ratings the ranking is Σ r·cosine of the rating vectors (item-KNN: R·S over items;
    user-KNN: S·R over users), while predict stays KNNBaseline."""
    data = checkerboard()
    model = get(name, neighbors=10).fit(data)
    predicting = get(name, neighbors=10, ranking="predicted").fit(data)
    R = data.matrix.toarray().astype(float)
    if name == "itemknn":
        expected = R @ dense_similarity(R.T, R.T > 0, "cosine")
    else:
        expected = dense_similarity(R, R > 0, "cosine") @ R
    np.testing.assert_allclose(model.score(np.arange(6)), expected, rtol=1e-5, atol=1e-6)
    users, items = np.repeat(np.arange(6), 6), np.tile(np.arange(6), 6)
    np.testing.assert_array_equal(model.predict(users, items), predicting.predict(users, items))
    assert not np.allclose(model.score(np.arange(6)), predicting.score(np.arange(6)))


def test_item_knn_explains_a_rating_ranking_by_exact_contributions() -> None:
    data = checkerboard()
    model = get("itemknn", neighbors=10).fit(data)
    ids, scores = model.recommend([0], k=1)
    _, weights, how = model.explain(0, int(ids[0, 0]), n=10)
    assert how == "contribution"
    assert float(weights.sum()) == pytest.approx(float(scores[0, 0]), rel=1e-5)


def test_min_rating_learns_from_liked_ratings_and_never_recommends_the_others(
    tmp_path: Path,
) -> None:
    users = [0, 0, 0, 1, 1, 1, 2, 2, 2, 3, 3]
    items = [0, 1, 2, 0, 1, 3, 1, 2, 3, 0, 3]
    ratings = [5, 1, 4, 5, 4, 2, 5, 4, 1, 4, 5]
    data = Interactions.from_arrays(users, items, ratings)
    model = get("itemknn", neighbors=10).fit(data, min_rating=4)
    same = get("itemknn", neighbors=10).fit(data.subset(data.matrix.data >= 4))
    np.testing.assert_allclose(model.score(np.arange(4)), same.score(np.arange(4)), rtol=1e-6)
    assert model.disliked_ is not None
    assert model.disliked_.toarray().astype(bool).tolist()[0] == [False, True, False, False]
    ids, _ = model.recommend(np.arange(4), k=4)
    for user in range(4):  # every rated item is left out, liked or not
        assert not set(ids[user][ids[user] >= 0].tolist()) & set(data.binary()[[user]].indices)
    assert 1 not in model.explain(0, 3, n=5)[0].tolist()  # user 0's 1★ item explains nothing
    loaded = load(model.save(tmp_path / "knn", ratings=data))
    assert loaded.min_rating_ == 4.0
    np.testing.assert_array_equal(loaded.recommend(np.arange(4), k=4)[0], ids)
    with pytest.raises(ParameterError, match="'min_rating' parameter of fit applies to ratings"):
        get("itemknn").fit(implicit_data(), min_rating=4)
    with pytest.raises(DataError, match="lower min_rating"):
        get("itemknn").fit(data, min_rating=6)


def test_rating_prediction_picks_its_neighbours_from_every_similar_item() -> None:
    """The ranking keeps `neighbors` similarities per item; KNNBaseline picks its k among all
    of them (predict_neighbors None, as Surprise), unless predict_neighbors caps the pool."""
    dense = random_matrix(3, rows=30, cols=10, density=0.6)
    users, items = np.nonzero(dense)
    data = Interactions.from_arrays(users, items, dense[users, items])
    full = get("itemknn", k=3, neighbors=9).fit(data)
    narrow_ranking = get("itemknn", k=3, neighbors=1).fit(data)
    capped = get("itemknn", k=3, neighbors=9, predict_neighbors=1).fit(data)
    users, items = np.repeat(np.arange(30), 10), np.tile(np.arange(10), 30)
    np.testing.assert_array_equal(narrow_ranking.predict(users, items), full.predict(users, items))
    assert np.diff(narrow_ranking.rank_indptr_).max() == 1
    assert np.diff(capped.sim_indptr_).max() == 1
    assert not np.allclose(capped.predict(users, items), full.predict(users, items))


def implicit_data() -> Interactions:
    users = [0, 0, 0, 1, 1, 2, 2, 2, 3, 3, 4]
    items = [0, 1, 2, 0, 1, 1, 2, 3, 3, 4, 4]
    return Interactions.from_arrays(users, items)


def test_item_knn_ranks_implicit_feedback_by_summed_cosine() -> None:
    data = implicit_data()
    model = get("itemknn", neighbors=10).fit(data)
    assert model.similarity_ == "cosine"
    B = data.binary().toarray()
    sim = dense_similarity(B.T, B.T > 0, "cosine")
    np.testing.assert_allclose(model.score(np.arange(5)), B @ sim, rtol=1e-6)
    ids, _ = model.recommend([1], k=1)  # user 1 has items 0, 1: item 2 shares most with them
    assert ids[0, 0] == 2


@pytest.mark.parametrize("similarity", ["cosine", "pearson", "adjusted_cosine", "jaccard"])
def test_user_knn_is_item_knn_on_the_transposed_data(similarity: str) -> None:
    data = checkerboard()
    users, items, ratings = data.coo()
    flipped = Interactions.from_arrays(items, users, ratings)
    by_user = get("userknn", similarity=similarity).fit(data)
    by_item = get("itemknn", similarity=similarity).fit(flipped)
    S = by_user._similarity().toarray()
    assert S.any()
    np.testing.assert_allclose(S, by_item._similarity().toarray(), rtol=1e-6)


def test_user_knn_implicit_scores_are_neighbour_sums() -> None:
    data = implicit_data()
    model = get("userknn", similarity="jaccard", neighbors=10).fit(data)
    B = data.binary().toarray()
    sim = dense_similarity(B, B > 0, "jaccard")
    np.testing.assert_allclose(model.score(np.arange(5)), sim @ B, rtol=1e-6)


def test_a_new_user_is_served_from_a_history() -> None:
    model = get("itemknn", neighbors=10).fit(implicit_data())
    ids, _ = model.recommend_for_history([0, 1], k=3)
    assert ids.shape == (1, 3)
    assert not {0, 1} & set(ids[0].tolist())
    assert ids[0, 0] == 2
    with pytest.raises(DataError, match="at least one item"):
        model.recommend_for_history([], k=3)


def test_rating_similarities_are_refused_on_implicit_data() -> None:
    with pytest.raises(ParameterError, match="'pearson_baseline', which needs ratings"):
        get("itemknn", similarity="pearson_baseline").fit(implicit_data())


def test_implicit_models_do_not_predict_ratings() -> None:
    from recforge.errors import UnsupportedOperationError

    model = get("itemknn").fit(implicit_data())
    with pytest.raises(UnsupportedOperationError, match="implicit feedback"):
        model.predict([0], [3])


def test_similar_items_come_from_the_kept_neighbours() -> None:
    model = get("itemknn", neighbors=2).fit(implicit_data())
    ids, sims = model.similar_items([1], k=4)
    assert ids[0, 2:].tolist() == [-1, -1]
    S = model._similarity().toarray()
    assert sims[0, 0] == pytest.approx(S[1].max())


@pytest.mark.ml100k
@pytest.mark.parametrize("name", ["itemknn", "userknn"])
def test_knn_baseline_rmse_on_movielens_100k(ml100k: Interactions, name: str) -> None:
    split = random_split(ml100k, test=0.2, seed=0)
    with warnings.catch_warnings():
        warnings.simplefilter("ignore", DataWarning)
        model = get(name).fit(split.train)
    users, items, ratings = split.test.coo()
    bias_only = get("bias").fit(split.train).predict(users, items)
    assert rmse(ratings, model.predict(users, items)) < rmse(ratings, bias_only) - 0.01
