"""BPR, PureSVD and Bayesian PMF: reconstructions, known rankings, posterior recovery."""

from __future__ import annotations

import numpy as np
import pytest
from hypothesis import given, settings
from hypothesis import strategies as st

from recforge.data import Interactions
from recforge.errors import DataError
from recforge.evaluation import rmse
from recforge.models import get

from .conformance import checkerboard


def two_groups() -> Interactions:
    """Users 0–5 use items 0–4, users 6–11 items 5–9, each missing one item of their group."""
    users, items = [], []
    for u in range(12):
        group = range(5) if u < 6 else range(5, 10)
        for i in group:
            if i != group[u % 5]:
                users.append(u)
                items.append(i)
    return Interactions.from_arrays(users, items)


def low_rank_ratings(seed: int = 0) -> tuple[Interactions, Interactions]:
    """3 + x_uᵀy_i + N(0, 0.1²) on a 30 × 40 grid, half observed for training."""
    rng = np.random.default_rng(seed)
    X, Y = rng.normal(0, 0.8, (30, 2)), rng.normal(0, 0.8, (40, 2))
    R = 3 + X @ Y.T + rng.normal(0, 0.1, (30, 40))
    mask = rng.random(R.shape) < 0.5
    u, i = np.nonzero(mask)
    tu, ti = np.nonzero(~mask)
    train = Interactions.from_arrays(u, i, R[u, i])
    test = Interactions.from_arrays(tu, ti, R[tu, ti])
    return train, test


def test_bpr_ranks_each_users_missing_group_item_first() -> None:
    data = two_groups()
    model = get("bpr", factors=4, epochs=200, lr=0.05, seed=1).fit(data)
    ids, _ = model.recommend(np.arange(12), k=1)
    for u in range(12):
        group = range(5) if u < 6 else range(5, 10)
        assert ids[u, 0] == group[u % 5], f"user {u} got {ids[u, 0]}"


def test_bpr_is_reproducible_under_a_seed_and_differs_across_seeds() -> None:
    a = get("bpr", epochs=5, seed=4).fit(two_groups())
    b = get("bpr", epochs=5, seed=4).fit(two_groups())
    c = get("bpr", epochs=5, seed=5).fit(two_groups())
    np.testing.assert_array_equal(a.item_factors_, b.item_factors_)
    assert not np.allclose(a.item_factors_, c.item_factors_)


def two_large_groups() -> Interactions:
    """256 users and 256 items in two halves; each user has 12 random items of their half."""
    rng = np.random.default_rng(0)
    users, items = [], []
    for u in range(256):
        half = 0 if u < 128 else 128
        for i in rng.choice(128, size=12, replace=False):
            users.append(u)
            items.append(half + int(i))
    return Interactions.from_arrays(users, items)


def test_stratified_bpr_learns_the_groups_and_ignores_the_thread_count() -> None:
    import numba

    data = two_large_groups()
    params = {"factors": 8, "epochs": 30, "lr": 0.05, "strata": 4, "seed": 3}
    threads = numba.get_num_threads()
    try:
        numba.set_num_threads(1)
        alone = get("bpr", **params).fit(data)
    finally:
        numba.set_num_threads(threads)
    model = get("bpr", **params).fit(data)
    np.testing.assert_array_equal(alone.item_factors_, model.item_factors_)
    other = get("bpr", **{**params, "seed": 4}).fit(data)
    assert not np.allclose(other.item_factors_, model.item_factors_)
    ids, _ = model.recommend(np.arange(256), k=10)
    own_half = (ids >= 128) == (np.arange(256) >= 128)[:, None]
    assert own_half.mean() > 0.95, own_half.mean()


@settings(deadline=None, max_examples=60)
@given(n=st.integers(1, 200), strata=st.integers(1, 9), seed=st.integers(0, 10_000))
def test_balanced_groups_deal_each_run_of_the_order_to_distinct_groups(
    n: int, strata: int, seed: int
) -> None:
    from recforge.models.bpr_kernels import _balanced_groups, _generator

    order = np.random.default_rng(seed).permutation(n)
    group = _balanced_groups(order, strata, _generator(seed))
    assert group.min() >= 0
    assert group.max() < strata
    sizes = np.bincount(group, minlength=strata)
    assert sizes.max() - sizes.min() <= 1
    for first in range(0, n, strata):
        run = group[order[first : first + strata]]
        assert np.unique(run).size == run.size


def test_stratified_blocks_hold_every_entry_once_and_balance_item_popularity() -> None:
    """Dealt busiest first, item groups differ in interactions by at most the busiest item's
    count, where a random partition of Zipf-like data puts the heavy items together."""
    from recforge.models.bpr_kernels import _blocks, _generator

    rng = np.random.default_rng(1)
    n_users, n_items, strata = 400, 300, 4
    weights = 1.0 / np.arange(1, n_items + 1)
    users = np.repeat(np.arange(n_users), 15)
    items = np.concatenate([
        rng.choice(n_items, size=15, replace=False, p=weights / weights.sum())
        for _ in range(n_users)
    ])  # fmt: skip
    data = Interactions.from_arrays(users, items)
    m = data.matrix
    user_order = np.argsort(-data.user_counts(), kind="stable")
    item_order = np.argsort(-data.item_counts(), kind="stable")
    cell_ptr, entries, members, item_ptr = _blocks(
        m.indptr, m.indices, user_order, item_order, strata, _generator(5)
    )
    np.testing.assert_array_equal(np.sort(entries), np.arange(m.nnz))
    np.testing.assert_array_equal(np.sort(members), np.arange(n_items))
    group_of = np.empty(n_items, dtype=np.int64)
    for g in range(strata):
        group_of[members[item_ptr[g] : item_ptr[g + 1]]] = g
    cell_of_entry = np.repeat(np.arange(strata * strata), np.diff(cell_ptr))
    np.testing.assert_array_equal(cell_of_entry[np.argsort(entries)] % strata,
                                  group_of[m.indices])  # fmt: skip
    totals = np.bincount(group_of[m.indices], minlength=strata)
    assert totals.max() - totals.min() <= data.item_counts().max()


def test_bpr_seen_bitmap_marks_exactly_the_training_pairs() -> None:
    from recforge.models.bpr_kernels import seen_bitmap

    m = two_groups().matrix
    bits = np.unpackbits(seen_bitmap(m.indptr, m.indices, 10), bitorder="little")
    np.testing.assert_array_equal(bits[: 12 * 10].reshape(12, 10), m.toarray() > 0)


def test_bpr_epochs_take_the_same_steps_with_the_bitmap_or_the_binary_search() -> None:
    """Large catalogues look negatives up by binary search instead of the bitmap: same draws,
    so the same factors."""
    from recforge.models.bpr_kernels import bpr_epoch, seen_bitmap

    data = two_groups()
    m = data.matrix
    owners, _, _ = data.coo()
    start = np.random.default_rng(0).normal(0, 0.1, (22, 4)).astype(np.float32)
    runs = []
    for seen in (seen_bitmap(m.indptr, m.indices, 10), np.zeros(0, dtype=np.uint8)):
        X, Y, bias = start[:12].copy(), start[12:].copy(), np.zeros(10, dtype=np.float32)
        ordered = bpr_epoch(m.indptr, m.indices, owners, X, Y, bias, 0.05, 0.01, 500, 7, seen)
        runs.append((X, Y, bias, ordered))
    for got, want in zip(runs[0], runs[1], strict=True):
        np.testing.assert_array_equal(got, want)
    assert not np.array_equal(runs[0][1], start[12:])  # the steps did move the factors
    assert 0.0 <= runs[0][3] <= 1.0


def test_puresvd_is_the_rank_k_reconstruction() -> None:
    data = checkerboard()
    model = get("puresvd", factors=3, seed=0).fit(data)
    R = data.matrix.toarray().astype(np.float64)
    U, s, Vt = np.linalg.svd(R)
    best = (U[:, :3] * s[:3]) @ Vt[:3]
    np.testing.assert_allclose(model.score(np.arange(6)), best, atol=1e-5)


def test_puresvd_folds_in_a_history() -> None:
    data = two_groups()
    model = get("puresvd", factors=2, seed=0).fit(data)
    ids, _ = model.recommend_for_history([5, 6, 7], k=2)
    assert set(ids[0].tolist()) == {8, 9}
    with pytest.raises(DataError, match="at least one item"):
        model.recommend_for_history([], k=2)


def test_puresvd_with_as_many_factors_as_the_smaller_side_is_exact() -> None:
    data = checkerboard()
    model = get("puresvd", factors=50).fit(data)
    assert model.item_factors_.shape == (6, 6)
    np.testing.assert_allclose(model.score(np.arange(6)), data.matrix.toarray(), atol=1e-5)


def test_bpmf_recovers_held_out_low_rank_ratings() -> None:
    train, test = low_rank_ratings()
    model = get("bpmf", factors=2, samples=60, burn_in=20, alpha=50.0, seed=0).fit(train)
    users, items, ratings = test.coo()
    ours = rmse(ratings, model.predict(users, items))
    biases = rmse(ratings, get("bias").fit(train).predict(users, items))
    assert ours < 0.3
    assert ours < biases / 2


def test_bpmf_is_reproducible_under_a_seed() -> None:
    train, _ = low_rank_ratings(1)
    a = get("bpmf", samples=5, burn_in=2, seed=3).fit(train)
    b = get("bpmf", samples=5, burn_in=2, seed=3).fit(train)
    np.testing.assert_array_equal(a.user_factors_, b.user_factors_)
    assert a.user_factors_.shape == (30, 10 * 5)


@pytest.mark.ml100k
def test_bpmf_rmse_on_movielens_100k(ml100k: Interactions) -> None:
    from recforge.data import random_split

    split = random_split(ml100k, test=0.2, seed=0)
    users, items, ratings = split.test.coo()
    bayes = rmse(ratings, get("bpmf", seed=0).fit(split.train).predict(users, items))
    assert bayes < 0.915
