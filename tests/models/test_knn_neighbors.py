"""neighbors="auto": the held-out item of each user, the per-row cut of the similarity, the
held-out NDCG against a dense reference, and the choice the model keeps."""

from __future__ import annotations

from pathlib import Path

import numpy as np
import pytest
import scipy.sparse as sp
from hypothesis import given, settings
from hypothesis import strategies as st

from recforge import load
from recforge.data import Interactions
from recforge.errors import ParameterError
from recforge.models import get, knn_neighbors
from recforge.models.knn_neighbors import (
    NEIGHBOR_CANDIDATES,
    choose_neighbors,
    held_out_ndcg,
    hold_out_one,
    truncate_rows,
)
from recforge.models.similarity import topk_similarity


def random_ratings(
    seed: int, users: int = 30, items: int = 25, density: float = 0.3
) -> Interactions:
    rng = np.random.default_rng(seed)
    present = rng.random((users, items)) < density
    u, i = np.nonzero(present)
    return Interactions.from_arrays(
        [f"u{x}" for x in u],
        [f"i{x}" for x in i],
        rng.integers(1, 6, u.size).astype(float),
        rng.integers(0, 1000, u.size),
    )


@settings(deadline=None, max_examples=40)
@given(seed=st.integers(0, 10_000), k=st.integers(1, 8))
def test_truncate_rows_keeps_each_rows_k_largest(seed: int, k: int) -> None:
    rng = np.random.default_rng(seed)
    dense = np.where(rng.random((7, 9)) < 0.6, rng.permutation(63).reshape(7, 9) + 1.0, 0.0)
    cut = truncate_rows(sp.csr_array(dense), (k,))[k].toarray()
    for row, full in zip(cut, dense, strict=True):
        want = np.sort(full[full > 0])[::-1][:k]
        np.testing.assert_array_equal(np.sort(row[row > 0])[::-1], want)
        assert np.all((row == 0) | (row == full))


def test_the_newest_item_is_held_out_and_short_histories_are_left_alone() -> None:
    # user 0: items 0, 1, 2 at times 5, 9, 1 → item 1 held out; user 1 has two items only
    matrix = sp.csr_array(([4.0, 5.0, 3.0, 2.0, 1.0], [0, 1, 2, 0, 2], [0, 3, 5]), shape=(2, 3))
    times = np.array([5, 9, 1, 7, 8])
    rest, users, items = hold_out_one(matrix, times, np.random.default_rng(0))
    assert users.tolist() == [0]
    assert items.tolist() == [1]
    np.testing.assert_array_equal(rest.toarray(), [[4.0, 0.0, 3.0], [2.0, 0.0, 1.0]])


def test_without_timestamps_one_random_item_per_user_is_held_out() -> None:
    data = random_ratings(3)
    rest, users, items = hold_out_one(data.matrix, None, np.random.default_rng(1))
    counts = np.diff(data.matrix.indptr)
    assert users.tolist() == np.flatnonzero(counts >= 3).tolist()
    assert rest.nnz == data.nnz - users.size
    full, kept = data.matrix.toarray(), rest.toarray()
    assert np.all(full[users, items] > 0)
    assert np.all(kept[users, items] == 0)
    kept[users, items] = full[users, items]
    np.testing.assert_array_equal(kept, full)


def test_many_users_are_sampled_down(monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setattr(knn_neighbors, "HELD_OUT_USERS", 5)
    data = random_ratings(4)
    _, users, _ = hold_out_one(data.matrix, None, np.random.default_rng(0))
    assert users.size == 5
    assert np.all(np.diff(users) > 0)


def reference_ndcg(
    rest: np.ndarray, S: np.ndarray, users: np.ndarray, items: np.ndarray, side: str
) -> float:
    """Dense NDCG@10: the held-out item's rank among the unseen items, ties counted ahead."""
    total = 0.0
    for user, item in zip(users, items, strict=True):
        scores = rest[user] @ S if side == "item" else S[user] @ rest
        scores = np.where(rest[user] != 0, -np.inf, scores)
        if scores[item] <= 0:
            continue
        ahead = sum(1 for j in range(scores.size) if j != item and scores[j] >= scores[item])
        total += 1.0 / np.log2(ahead + 2.0) if ahead < 10 else 0.0
    return total / len(users)


@pytest.mark.parametrize("side", ["item", "user"])
@pytest.mark.parametrize("seed", [0, 1, 2])
def test_held_out_ndcg_matches_a_dense_reference(side: str, seed: int) -> None:
    data = random_ratings(seed)
    rest, users, items = hold_out_one(data.matrix, data.timestamps, np.random.default_rng(seed))
    rows = sp.csr_array(rest.T) if side == "item" else rest
    S = topk_similarity(rows, "cosine", neighbors=5)
    got = held_out_ndcg(rest, S, users, items, side)
    assert got == pytest.approx(reference_ndcg(rest.toarray(), S.toarray(), users, items, side))
    assert got > 0  # the random data leaves hits to check


def test_a_tie_with_the_held_out_item_counts_against_it() -> None:
    # one user: rest holds item 0; items 1 and 2 are equally similar to it; 2 is held out
    rest = sp.csr_array(np.array([[1.0, 0.0, 0.0]]))
    S = sp.csr_array(np.array([[0.0, 0.5, 0.5], [0.5, 0.0, 0.0], [0.5, 0.0, 0.0]]))
    got = held_out_ndcg(rest, S, np.array([0]), np.array([2]), "item")
    assert got == pytest.approx(1.0 / np.log2(3.0))  # second place, not first


def test_the_choice_is_the_best_candidate_and_ties_go_to_the_larger() -> None:
    data = random_ratings(5, users=60, items=40)

    def similarity(matrix: sp.csr_array, neighbors: int) -> sp.csr_array:
        return topk_similarity(sp.csr_array(matrix.T), "cosine", neighbors=neighbors)

    best, scores = choose_neighbors(data.matrix, data.timestamps, "item", similarity, 0)
    assert list(scores) == list(NEIGHBOR_CANDIDATES)
    top = max(scores.values())
    assert scores[best] == top
    assert best == max(k for k, v in scores.items() if v == top)
    empty = sp.csr_array((2, 3))
    assert choose_neighbors(empty, None, "item", similarity, 0) == (max(NEIGHBOR_CANDIDATES), {})


@pytest.mark.parametrize("name", ["itemknn", "userknn"])
def test_auto_fits_as_the_count_it_chose_and_saves_it(name: str, tmp_path: Path) -> None:
    data = random_ratings(6, users=60, items=40)
    auto = get(name).fit(data)
    assert auto.neighbors == "auto"
    assert auto.neighbors_ in NEIGHBOR_CANDIDATES
    assert auto.neighbor_candidates_.tolist() == list(NEIGHBOR_CANDIDATES)
    chosen = auto.neighbor_scores_[auto.neighbor_candidates_.tolist().index(auto.neighbors_)]
    assert chosen == auto.neighbor_scores_.max()
    fixed = get(name, neighbors=auto.neighbors_).fit(data)
    assert fixed.neighbor_candidates_.size == 0
    np.testing.assert_array_equal(auto.score(np.arange(5)), fixed.score(np.arange(5)))
    loaded = load(auto.save(tmp_path / name))
    assert loaded.neighbors_ == auto.neighbors_
    np.testing.assert_array_equal(loaded.neighbor_scores_, auto.neighbor_scores_)
    np.testing.assert_array_equal(loaded.score(np.arange(5)), auto.score(np.arange(5)))


@pytest.mark.parametrize("bad", ["many", 0, 2.5])
def test_neighbors_must_be_auto_or_a_positive_int(bad: object) -> None:
    with pytest.raises(ParameterError, match="'neighbors'"):
        get("itemknn", neighbors=bad).fit(random_ratings(0))
