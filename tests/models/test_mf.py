"""Biased MF ("svd") and SVD++: Surprise's updates, predictions, similar items, real data."""

from __future__ import annotations

import numpy as np
import pytest

from recforge.data import Interactions, random_split
from recforge.errors import DataError
from recforge.evaluation import rmse
from recforge.models import get

from .conformance import checkerboard
from .reference_mf import assert_matches, reference_nmf, reference_svd, reference_svdpp

PARAMS = {"factors": 5, "n_epochs": 6, "lr": 0.02, "reg": 0.05}


def uneven() -> Interactions:
    """Users with 1 to 7 ratings, so |N(u)| varies (SVD++'s implicit term)."""
    rng = np.random.default_rng(4)
    users, items, ratings = [], [], []
    for u in range(7):
        for i in rng.choice(9, size=u + 1, replace=False):
            users.append(u)
            items.append(int(i))
            ratings.append(float(rng.integers(1, 6)))
    return Interactions.from_arrays(users, items, ratings)


@pytest.mark.parametrize(
    ("name", "reference"), [("svd", reference_svd), ("svdpp", reference_svdpp)]
)
def test_sgd_matches_surprises_loop_on_uneven_users(name: str, reference: object) -> None:
    data = uneven()
    model = get(name, seed=5, **PARAMS).fit(data)
    assert_matches(model, reference(data, seed=5, **PARAMS))  # type: ignore[operator]


def test_biased_nmf_matches_surprises_loop() -> None:
    data = uneven()
    model = get("nmf", seed=8, factors=4, n_epochs=7, reg_user=0.08, reg_item=0.08, biased=True)
    model.fit(data)
    expected = reference_nmf(data, factors=4, n_epochs=7, reg=0.08, biased=True, seed=8)
    assert_matches(model, expected)
    assert (model.item_factors_ >= 0).all()


def test_plain_funk_svd_has_no_mean_or_biases() -> None:
    model = get("svd", biased=False, seed=1, factors=4).fit(checkerboard())
    assert model.global_mean_ == 0.0
    assert not model.user_bias_.any()
    assert not model.item_bias_.any()
    expected = model.user_factors_[2] @ model.item_factors_[3]
    assert model.predict([2], [3])[0] == pytest.approx(np.clip(expected, 1, 5), abs=1e-6)


def test_unbiased_models_predict_the_mean_for_unknown_users_and_items() -> None:
    for model in (
        get("nmf", seed=0).fit(checkerboard()),
        get("svd", biased=False, seed=0).fit(checkerboard()),
    ):
        np.testing.assert_allclose(model.predict([-1, 0], [0, -1]), [46 / 15] * 2, rtol=1e-6)


@pytest.mark.parametrize("name", ["svd", "svdpp"])
def test_unknown_users_and_items_fall_back_to_the_biases(name: str) -> None:
    model = get(name, seed=0).fit(checkerboard())
    mu, b_u, b_i = model.global_mean_, model.user_bias_, model.item_bias_
    got = model.predict([-1, 3, -1], [2, -1, -1])
    expected = np.clip([mu + b_i[2], mu + b_u[3], mu], 1, 5)
    np.testing.assert_allclose(got, expected, atol=1e-6)


@pytest.mark.parametrize("name", ["svd", "svdpp"])
def test_predictions_stay_in_the_training_rating_range(name: str) -> None:
    model = get(name, seed=0, lr=0.2, n_epochs=50).fit(checkerboard())
    users, items = np.meshgrid(np.arange(6), np.arange(6))
    got = model.predict(users.ravel(), items.ravel())
    assert got.min() >= 1.0
    assert got.max() <= 5.0


def test_shuffle_changes_the_order_but_stays_reproducible() -> None:
    a = get("svd", shuffle=True, seed=2).fit(checkerboard())
    b = get("svd", shuffle=True, seed=2).fit(checkerboard())
    c = get("svd", shuffle=False, seed=2).fit(checkerboard())
    np.testing.assert_array_equal(a.item_factors_, b.item_factors_)
    assert not np.allclose(a.item_factors_, c.item_factors_)


@pytest.mark.parametrize("name", ["svd", "svdpp", "nmf"])
def test_implicit_data_is_refused_with_a_hint(name: str) -> None:
    data = Interactions.from_arrays([0, 1], [1, 0])
    with pytest.raises(DataError, match="implicit; load them with a rating column"):
        get(name).fit(data)


def test_similar_items_rank_by_factor_cosine() -> None:
    model = get("svd", seed=0, factors=2).fit(checkerboard())
    model.item_factors_ = np.array(
        [[1, 0], [0.9, 0.1], [0, 1], [-1, 0], [0.5, 0.5], [1, 0.01]], dtype=np.float32
    )
    ids, sims = model.similar_items([0], k=3)
    assert ids[0].tolist() == [5, 1, 4]
    assert sims[0, 0] == pytest.approx(1 / np.sqrt(1 + 1e-4), abs=1e-6)
    ids, _ = model.similar_items([3], k=10)
    assert 3 not in ids[0]
    assert ids[0, 5] == -1  # five other items, then padding


@pytest.mark.ml100k
@pytest.mark.parametrize(("name", "ceiling"), [("svd", 0.95), ("svdpp", 0.94), ("nmf", 0.98)])
def test_rmse_on_movielens_100k(ml100k: Interactions, name: str, ceiling: float) -> None:
    split = random_split(ml100k, test=0.2, seed=0)
    model = get(name, seed=0).fit(split.train)
    users, items, ratings = split.test.coo()
    bias_only = get("bias").fit(split.train).predict(users, items)
    ours = model.predict(users, items)
    assert rmse(ratings, ours) < ceiling
    if name != "nmf":  # unbiased NMF does not beat the biases on ML-100K (nor in Surprise)
        assert rmse(ratings, ours) < rmse(ratings, bias_only) - 0.005
