"""The switching hybrid: which rule serves whom, cold items, new users."""

from __future__ import annotations

import numpy as np

from recforge.data import Feature, FeatureTable, Interactions
from recforge.models import get


def shop() -> tuple[Interactions, FeatureTable]:
    """Users 0–3 have 6 interactions each, user 4 one, user 5 none; items 6 and 7 are new."""
    users, items = [], []
    for u in range(4):
        for i in range(6):
            if (u + i) % 3:
                users.append(u)
                items.append(i)
    users.append(4)
    items.append(0)
    everything = Interactions.from_arrays([*users, 5, 5, 5], [*items, 5, 6, 7])
    data = Interactions.from_arrays(users, items).restrict(
        everything.user_ids, everything.item_ids
    )[0]
    genres = [["a"], ["a"], ["b"], ["b"], ["c"], ["c"], ["a"], ["b"]]
    features = FeatureTable.from_rows(
        list(range(8)), [Feature.multi_hot("genres", genres)], align_to=data.item_ids
    )
    return data, features


def test_each_user_is_served_by_the_rule_their_history_allows() -> None:
    data, features = shop()
    model = get("hybrid", cf="ease", min_user_interactions=3).fit(data, item_features=features)
    assert model.sources(np.arange(6)).tolist() == ["blend"] * 4 + ["content", "popularity"]
    result = model.recommend_explained([0, 4, 5], k=3)
    assert result.source.tolist() == ["blend", "content", "popularity"]
    popular = np.argsort(-data.item_counts(), kind="stable")[:3]
    assert result.ids[2].tolist() == popular.tolist()


def test_new_items_get_their_content_score_inside_the_blend() -> None:
    data, features = shop()
    model = get("hybrid", cf="ease", weight=1.0, min_user_interactions=3)
    model.fit(data, item_features=features)
    scores = model.score([0])[0]
    content = model._content.score([0])[0].astype(np.float64)
    z = (content - content.mean()) / content.std()
    np.testing.assert_allclose(scores[[6, 7]], z[[6, 7]], rtol=1e-5)


def test_a_new_user_gets_content_from_a_history() -> None:
    data, features = shop()
    model = get("hybrid", cf="ease").fit(data, item_features=features)
    ids, _ = model.recommend_for_history([2, 3], k=1)
    assert ids[0, 0] == 7  # the only unseen "b" item


def test_cf_params_reach_the_cf_model_and_may_set_its_seed() -> None:
    data, features = shop()
    model = get("hybrid", cf="bpr", cf_params={"epochs": 3, "seed": 7, "factors": 4}, seed=1)
    model.fit(data, item_features=features)
    assert model._cf.get_params()["seed"] == 7
    assert model._cf.item_factors_.shape == (8, 4)
