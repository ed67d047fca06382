"""Synthetic data: counts, determinism, heavy tails, latent structure and timestamps."""

from __future__ import annotations

import re

import numpy as np
import pytest
from hypothesis import given, settings
from hypothesis import strategies as st

from recforge.data.split import leave_last_out
from recforge.data.synthetic import synthetic_arrays, synthetic_interactions, synthetic_model
from recforge.errors import ParameterError

START, END = 1_577_836_800, 1_577_836_800 + 3 * 365 * 86_400


def top_share(counts: np.ndarray, fraction: float = 0.1) -> float:
    """Share of all interactions held by the top `fraction` of ids."""
    ranked = np.sort(counts)[::-1]
    return float(ranked[: max(1, int(fraction * ranked.size))].sum() / ranked.sum())


def test_counts_and_shape() -> None:
    x = synthetic_interactions(300, 400, 6000, seed=1)
    assert x.matrix.shape == (300, 400)
    assert 0.99 * 6000 <= x.nnz <= 6000
    assert int(x.user_counts().min()) >= 1
    assert int(x.user_counts().max()) <= 200  # capped at n_items // 2
    assert not x.explicit
    assert set(x.matrix.data.tolist()) == {1.0}
    assert x.user_ids.raw_ids.tolist() == list(range(300))
    assert x.timestamps is not None


def test_arrays_columns_and_dtypes() -> None:
    cols = synthetic_arrays(50, 80, 700, explicit=True, seed=2)
    assert set(cols) == {"user", "item", "rating", "timestamp"}
    assert cols["user"].dtype == np.int64
    assert cols["item"].dtype == np.int64
    assert cols["rating"].dtype == np.float32
    assert cols["timestamp"].dtype == np.int64
    assert len({c.size for c in cols.values()}) == 1
    assert set(np.unique(cols["rating"]).tolist()) <= {1.0, 2.0, 3.0, 4.0, 5.0}
    plain = synthetic_arrays(50, 80, 700, timestamps=False, seed=2)
    assert set(plain) == {"user", "item", "weight"}


def test_no_repeated_pairs_and_sorted_by_user() -> None:
    cols = synthetic_arrays(100, 60, 2500, seed=5)
    keys = cols["user"] * 60 + cols["item"]
    assert np.unique(keys).size == keys.size
    assert bool((np.diff(cols["user"]) >= 0).all())


def test_deterministic_under_seed() -> None:
    a = synthetic_arrays(200, 300, 4000, explicit=True, seed=11)
    b = synthetic_arrays(200, 300, 4000, explicit=True, seed=11)
    c = synthetic_arrays(200, 300, 4000, explicit=True, seed=12)
    for key in a:
        assert np.array_equal(a[key], b[key])
    assert not np.array_equal(a["item"][: c["item"].size], c["item"][: a["item"].size])


def test_popularity_is_heavy_tailed_and_follows_the_exponent() -> None:
    skewed = synthetic_interactions(2000, 5000, 50_000, seed=3)
    flat = synthetic_interactions(2000, 5000, 50_000, popularity_exponent=0.0, seed=3)
    assert top_share(skewed.item_counts()) > 0.5  # top 10% of items: a clear majority
    assert top_share(flat.item_counts()) < 0.3
    assert top_share(skewed.user_counts()) > 0.2  # active users: twice their share


def test_latent_structure_is_measurable() -> None:
    x = synthetic_interactions(2000, 5000, 50_000, explicit=True, seed=3)
    truth = synthetic_model(2000, 5000, seed=3)
    assert truth.n_clusters == 16
    rows, items, ratings = x.coo()
    same = truth.user_cluster[rows] == truth.item_cluster[items]
    # Users pick their own cluster's items far more often than 1 in 16.
    assert same.mean() > 3 / truth.n_clusters
    # Ratings follow the latent dot product.
    assert ratings[same].mean() > ratings[~same].mean() + 0.4
    # Users of one cluster overlap more than users of different clusters.
    b = x.binary().astype(np.float64)
    co = (b @ b.T).toarray()
    deg = x.user_counts().astype(np.float64)
    jaccard = co / (deg[:, None] + deg[None, :] - co)
    np.fill_diagonal(jaccard, np.nan)
    same_cluster = truth.user_cluster[:, None] == truth.user_cluster[None, :]
    assert np.nanmean(jaccard[same_cluster]) > 1.25 * np.nanmean(jaccard[~same_cluster])


def test_model_is_consistent() -> None:
    m = synthetic_model(30, 40, factors=4, seed=0)
    assert m.user_factors.shape == (30, 4)
    assert m.item_factors.shape == (40, 4)
    assert m.n_clusters == 4
    assert m.item_popularity.sum() == pytest.approx(1.0)
    assert m.user_activity.sum() == pytest.approx(1.0)
    assert np.allclose(m.cluster_items.sum(axis=1), 1.0)
    again = synthetic_model(30, 40, factors=4, seed=0)
    assert np.array_equal(m.item_cluster, again.item_cluster)


def test_timestamps_increase_within_each_user() -> None:
    cols = synthetic_arrays(300, 500, 8000, seed=4)
    user, ts = cols["user"], cols["timestamp"]
    same_user = user[1:] == user[:-1]
    assert bool((np.diff(ts)[same_user] > 0).all())
    assert int(ts.min()) >= START
    assert int(ts.max()) <= END


def test_leave_last_out_on_synthetic_data() -> None:
    x = synthetic_interactions(100, 200, 3000, seed=6)
    s = leave_last_out(x)
    assert s.test.nnz == 100  # every user has at least 2 interactions here
    assert s.train.nnz + s.test.nnz == x.nnz


def test_fewer_interactions_than_users() -> None:
    x = synthetic_interactions(50, 20, 10, seed=0)
    assert x.matrix.shape == (50, 20)
    assert x.nnz == 10


@pytest.mark.parametrize(
    ("kwargs", "message"),
    [
        (
            {"n_users": 2, "n_items": 4, "n_interactions": 5},
            "The 'n_interactions' parameter of synthetic_arrays must be an int ≤ n_users × "
            "max(1, n_items // 2) = 4",
        ),
        (
            {"n_users": 0, "n_items": 4, "n_interactions": 1},
            "The 'n_users' parameter of synthetic_arrays must be an int ≥ 1. Got 0 instead.",
        ),
        (
            {"n_users": 5, "n_items": 4, "n_interactions": 5, "popularity_exponent": -1},
            "The 'popularity_exponent' parameter of synthetic_arrays must be a finite number ≥ 0",
        ),
        (
            {"n_users": 5, "n_items": 4, "n_interactions": 5, "explicit": "yes"},
            "The 'explicit' and 'timestamps' parameters of synthetic_arrays must be bools",
        ),
        (
            {"n_users": 5, "n_items": 4, "n_interactions": 5, "factors": 0},
            "The 'factors' parameter of synthetic_arrays must be an int ≥ 1",
        ),
    ],
)
def test_parameter_errors(kwargs: dict[str, object], message: str) -> None:
    with pytest.raises(ParameterError, match=re.escape(message)):
        synthetic_arrays(**kwargs)  # type: ignore[arg-type]


@settings(deadline=None, max_examples=40)
@given(
    st.integers(1, 40),
    st.integers(1, 40),
    st.integers(1, 400),
    st.integers(1, 8),
    st.floats(0.0, 2.0),
    st.integers(0, 2**32 - 1),
)
def test_any_valid_size_gives_distinct_pairs(
    n_users: int, n_items: int, n: int, factors: int, exponent: float, seed: int
) -> None:
    n = min(n, n_users * max(1, n_items // 2))
    cols = synthetic_arrays(
        n_users, n_items, n, factors=factors, popularity_exponent=exponent, seed=seed
    )
    size = cols["user"].size
    assert 0.95 * n <= size <= n
    keys = cols["user"] * n_items + cols["item"]
    assert np.unique(keys).size == size
    assert int(cols["user"].max()) < n_users
    assert int(cols["item"].max()) < n_items
    counts = np.bincount(cols["user"], minlength=n_users)
    assert int(counts.max()) <= max(1, n_items // 2)
