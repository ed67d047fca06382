"""Content-based model and TF-IDF: cold-start items, histories, missing features."""

from __future__ import annotations

import numpy as np
import pytest

from recforge.data import Feature, FeatureTable, Interactions
from recforge.data.text import tfidf
from recforge.errors import DataError
from recforge.models import get


def test_tfidf_known_answer() -> None:
    matrix, words = tfidf(["Toy Story (1995)", "Toy Soldiers", "", "Heat (1995)"])
    assert words.tolist() == ["toy", "story", "1995", "soldiers", "heat"]
    idf = {w: np.log(5 / (1 + df)) + 1 for w, df in zip(words, [2, 1, 2, 1, 1], strict=True)}
    first = np.array([idf["toy"], idf["story"], idf["1995"], 0, 0])
    np.testing.assert_allclose(matrix.toarray()[0], first / np.linalg.norm(first), rtol=1e-6)
    assert not matrix.toarray()[2].any()
    pruned, kept = tfidf(["Toy Story (1995)", "Toy Soldiers", "", "Heat (1995)"], min_df=2)
    assert kept.tolist() == ["toy", "1995"]
    assert pruned.shape == (4, 2)


def catalogue() -> tuple[Interactions, FeatureTable]:
    """Users 0–2 like comedies (items 0–2), user 3 likes dramas (3–4); items 5 and 7 (dramas)
    and 6 (a comedy) have no interactions at all (cold start), only features."""
    users = [0, 0, 1, 1, 2, 2, 3, 3]
    items = [0, 1, 1, 2, 0, 2, 3, 4]
    data = Interactions.from_arrays(users, items)
    everything = Interactions.from_arrays([*users, 0, 0, 0], [*items, 5, 6, 7])
    data = data.restrict(everything.user_ids, everything.item_ids)[0]
    genres = [["comedy"]] * 3 + [["drama"]] * 3 + [["comedy"], ["drama"]]
    features = FeatureTable.from_rows(
        list(range(8)), [Feature.multi_hot("genres", genres)], align_to=data.item_ids
    )
    return data, features


def test_cold_start_items_are_recommended_from_their_features() -> None:
    data, features = catalogue()
    model = get("content").fit(data, item_features=features)
    ids, _ = model.recommend([3], k=2)
    assert set(ids[0].tolist()) == {5, 7}  # the unseen dramas, one of them never interacted with
    ids, _ = model.recommend([0], k=2)
    assert set(ids[0].tolist()) == {2, 6}


def test_a_history_is_served_and_similar_items_share_features() -> None:
    data, features = catalogue()
    model = get("content").fit(data, item_features=features)
    ids, _ = model.recommend_for_history([3], k=3)
    assert set(ids[0].tolist()) == {4, 5, 7}
    ids, sims = model.similar_items([6], k=3)
    assert set(ids[0].tolist()) == {0, 1, 2}
    np.testing.assert_allclose(sims[0], 1.0, rtol=1e-6)


def test_fit_without_item_features_names_the_fix() -> None:
    data, _ = catalogue()
    with pytest.raises(DataError, match="pass item_features=<FeatureTable> to fit"):
        get("content").fit(data)


@pytest.mark.ml100k
def test_content_beats_random_on_movielens(ml100k_dir: object) -> None:
    from recforge.data import load_movielens, user_split
    from recforge.evaluation import evaluate

    ml = load_movielens(ml100k_dir)  # type: ignore[arg-type]
    parts = user_split(ml.interactions, test=0.2, seed=0)
    model = get("content").fit(parts.train, item_features=ml.item_features)
    result = evaluate(model, parts.test, train=parts.train, k=[10], metrics=["ndcg"])
    assert result.as_dict()["ndcg@10"] > 0.03  # random ranking scores about 0.006
