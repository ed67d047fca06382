"""DeepRating: the network's layout, side features, unknown ids, clipping, saving."""

from __future__ import annotations

import json
from pathlib import Path

import numpy as np
import pytest
import torch

from recforge import load
from recforge.data import (
    Feature,
    FeatureTable,
    IdMap,
    Interactions,
    load_movielens,
    random_split,
)
from recforge.errors import DataError
from recforge.evaluation import evaluate
from recforge.models import get

from .answers_ncf import deep_rating_reference
from .conformance import checkerboard, checkerboard_features

FAST = {"epochs": 5, "batch_size": 8, "lr": 0.01, "seed": 0, "progress": False}


def user_features() -> FeatureTable:
    """A categorical group and a numeric age for the checkerboard's users."""
    return FeatureTable(
        checkerboard().user_ids,
        [
            Feature.categorical("group", ["a" if u < 3 else "b" for u in range(6)]),
            Feature.numeric("age", [20.0 + 5 * u for u in range(6)]),
        ],
    )


def test_layers_follow_the_seed_architecture() -> None:
    model = get("deeprating", factors=64, input_dropout=0.3, dropout=0.4, **FAST)
    net = model.fit(checkerboard()).module_
    linears = [m for m in net.modules() if isinstance(m, torch.nn.Linear)]
    assert [(m.in_features, m.out_features) for m in linears] == [
        (128, 64),
        (64, 16),
        (16, 4),
        (4, 1),
    ]
    rates = [m.p for m in net.modules() if isinstance(m, torch.nn.Dropout)]
    assert rates == [0.3, 0.4, 0.4, 0.4]


def test_predictions_centre_on_the_mean_and_stay_in_the_rating_range() -> None:
    model = get("deeprating", **FAST).fit(checkerboard())
    assert model.global_mean_ == pytest.approx(46 / 15)
    assert (model.rating_min_, model.rating_max_) == (1.0, 5.0)
    users, items = (a.ravel() for a in np.meshgrid(np.arange(-1, 6), np.arange(-1, 6)))
    predicted = model.predict(users, items)
    assert predicted.min() >= 1.0
    assert predicted.max() <= 5.0
    # score ranks by the same prediction, unclipped
    scores = model.score(np.arange(6))
    np.testing.assert_allclose(
        np.clip(scores, 1, 5), model.predict(*np.divmod(np.arange(36), 6)).reshape(6, 6), atol=1e-5
    )


def test_clipping_to_the_training_range() -> None:
    model = get("deeprating", **FAST).fit(checkerboard())
    model.global_mean_ = 100.0  # push every prediction above the range
    assert (model.predict([0, -1], [1, 2]) == 5.0).all()
    assert (model.score([0]) > 5.0).all()


def test_unknown_ids_get_the_mean_field_vector() -> None:
    model = get("deeprating", **FAST).fit(
        checkerboard(), user_features=user_features(), item_features=checkerboard_features()
    )
    users = np.array([-1, -1, 3, -1])
    items = np.array([0, 5, -1, -1])
    got = model.predict(users, items)
    np.testing.assert_allclose(got, deep_rating_reference(model, users, items), atol=1e-5)
    # an unknown user's predictions still depend on the item
    assert got[0] != got[1]


def test_side_features_add_fields_that_are_saved(tmp_path: Path) -> None:
    data = checkerboard()
    plain = get("deeprating", **FAST).fit(data)
    assert plain.module_.users.n_fields == plain.module_.items.n_fields == 1
    model = get("deeprating", **FAST).fit(
        data, user_features=user_features(), item_features=checkerboard_features()
    )
    net = model.module_
    # users: id, group, age; items: id, parity, tags (the text title is skipped)
    assert [s["name"] for s in json.loads(model.user_fields_)] == ["id", "group", "age"]
    assert [(s["name"], s["kind"]) for s in json.loads(model.item_fields_)] == [
        ("id", "id"),
        ("parity", "categorical"),
        ("tags", "multi_hot"),
    ]
    assert net.first.in_features == (3 + 3) * model.factors
    assert not np.allclose(model.score(np.arange(6)), plain.score(np.arange(6)))
    loaded = load(model.save(tmp_path / "m.npz"))  # rebuilt from the saved layout alone
    assert loaded.user_fields_ == model.user_fields_
    assert loaded.item_fields_ == model.item_fields_
    for key, value in net.state_dict().items():
        torch.testing.assert_close(loaded.module_.state_dict()[key], value)
    users, items = np.array([0, 4, -1, 2]), np.array([1, -1, 3, 2])
    np.testing.assert_array_equal(loaded.predict(users, items), model.predict(users, items))


def test_features_of_other_ids_are_aligned() -> None:
    # The table's ids differ from the training ones: u0 is missing and u6 is a stranger.
    table = FeatureTable(
        IdMap(np.array([f"u{u}" for u in range(1, 7)])),
        [Feature.categorical("group", ["a", "a", "b", "b", "b", "c"])],
    )
    model = get("deeprating", **FAST).fit(checkerboard(), user_features=table)
    codes = model.module_.users.categories[:, 0].tolist()  # category code + 1; 0: missing
    assert codes[0] == 0
    assert codes[1] == codes[2] != codes[3] == codes[4] == codes[5]
    assert min(codes[1:]) >= 1


def test_needs_explicit_ratings() -> None:
    implicit = Interactions.from_arrays(["a", "a", "b"], ["x", "y", "x"])
    with pytest.raises(DataError, match="DeepRating needs explicit ratings"):
        get("deeprating", **FAST).fit(implicit)


def test_early_stopping_watches_rmse() -> None:
    assert get("deeprating").get_params()["valid_metric"] == "rmse"
    data = checkerboard()
    parts = random_split(data, test=0.3, seed=1)
    model = get("deeprating", **FAST).fit(parts.train, parts.test)
    rmse = [e["rmse"] for e in model.training_history_.epochs]
    assert len(rmse) == FAST["epochs"]
    assert model.training_history_.best_value == min(rmse)


@pytest.mark.ml100k
def test_deep_rating_on_ml100k(ml100k_dir: Path) -> None:
    ml = load_movielens(ml100k_dir)
    split = random_split(ml.interactions, test=0.2, seed=0)
    # smaller, shorter and less dropped-out than the defaults (test RMSE ≈ 0.92), to stay fast
    model = get(
        "deeprating",
        factors=32,
        input_dropout=0.0,
        dropout=0.2,
        epochs=5,
        batch_size=2048,
        lr=0.01,
        seed=0,
    )
    model.fit(split.train, user_features=ml.user_features, item_features=ml.item_features)
    assert evaluate(model, split.test, train=split.train, metrics=["rmse"])["rmse"] < 0.95
