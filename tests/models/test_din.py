"""DIN beyond the conformance suite: side features as fields, explanations by attention,
sessions, chunked scoring."""

from __future__ import annotations

from pathlib import Path

import numpy as np
import pytest
import torch

import recforge.models.din as din_module
from recforge import load
from recforge.data import Feature, FeatureTable, Interactions
from recforge.errors import DataError
from recforge.models import Recommender, get

from .answers_sequence import cycle

QUICK = {"factors": 4, "max_len": 4, "epochs": 2, "seed": 0, "progress": False}
GENRE_SIZE = 80  # items per genre


def test_din_refuses_data_without_timestamps() -> None:
    data = Interactions.from_arrays([0, 0, 1], [0, 1, 1], [1.0, 1.0, 1.0])
    with pytest.raises(DataError, match="no timestamps; load them with a timestamp column"):
        get("din", epochs=1).fit(data)


def genre_sequences() -> tuple[Interactions, FeatureTable, np.ndarray]:
    """32 users, each 5 random items of one genre (even users A, odd B) of 80 items each: an
    item is seen about once, too rarely to learn from its id, but its genre is clear.
    Returns the data, the genres as item features and whether each item is of genre A."""
    rng = np.random.default_rng(0)
    users, items, times = [], [], []
    for u in range(32):
        for t, i in enumerate(rng.permutation(GENRE_SIZE)[:5] + GENRE_SIZE * (u % 2)):
            users.append(u)
            items.append(int(i))
            times.append(t)
    data = Interactions.from_arrays(users, items, np.ones(len(users)), times)
    raw = data.item_ids.to_raw(np.arange(data.n_items)).astype(int)
    is_a = raw < GENRE_SIZE
    genres = FeatureTable(data.item_ids, [Feature.categorical("genre", np.where(is_a, "A", "B"))])
    return data, genres, is_a


def _genre_auc(model: Recommender, data: Interactions, is_a: np.ndarray) -> float:
    """Mean over users of P(an unseen item of the user's genre outscores one of the other)."""
    scores = model.score(np.arange(data.n_users))
    seen = data.binary().toarray().astype(bool)
    aucs = []
    for u in range(data.n_users):
        own = is_a if u % 2 == 0 else ~is_a
        mine, other = scores[u, own & ~seen[u]], scores[u, ~own]
        aucs.append(float((mine[:, None] > other[None, :]).mean()))
    return float(np.mean(aucs))


def test_item_features_flow_into_the_fields_and_rank_items_by_genre() -> None:
    data, genres, is_a = genre_sequences()
    params = {"factors": 8, "max_len": 4, "epochs": 12, "lr": 0.01, "batch_size": 32, "seed": 0}
    with_genres = get("din", progress=False, **params).fit(data, item_features=genres)
    ids_only = get("din", progress=False, **params).fit(data)
    assert [s.name for s in with_genres.module_.items.specs] == ["id", "genre"]
    assert with_genres.module_.item_width == 2 * 8
    assert _genre_auc(with_genres, data, is_a) > 0.95
    assert _genre_auc(ids_only, data, is_a) < 0.7  # ids alone: about chance
    # an item's genre is read when it is scored: give item 0 the other genre
    before = with_genres.score(np.arange(4))
    with torch.no_grad():
        categories = with_genres.module_.items.categories
        categories[0, 0] = 3 - categories[0, 0]  # codes + 1: 1 ↔ 2
    after = with_genres.score(np.arange(4))
    assert not np.allclose(after[:, 0], before[:, 0])
    np.testing.assert_array_equal(after[:, 1:], before[:, 1:])


def test_user_features_are_fields_and_a_saved_model_scores_the_same(tmp_path: Path) -> None:
    data = cycle()
    ages = FeatureTable(data.user_ids, [Feature.categorical("age", ["young", "old"] * 6)])
    tags = FeatureTable(data.item_ids, [Feature.multi_hot("tags", [["x"], ["y", "z"]] * 4)])
    model = get("din", **QUICK).fit(data, user_features=ages, item_features=tags)
    assert [s.name for s in model.module_.users.specs] == ["age"]  # no user id: see the module
    assert [s.name for s in model.module_.items.specs] == ["id", "tags"]
    loaded = load(model.save(tmp_path / "din"))
    np.testing.assert_array_equal(loaded.score(np.arange(12)), model.score(np.arange(12)))
    np.testing.assert_array_equal(
        loaded.recommend_for_history([1, 2], k=3)[0], model.recommend_for_history([1, 2], k=3)[0]
    )


def test_a_user_is_scored_as_a_session_of_their_stored_window() -> None:
    data = cycle()  # 6 items per user, 4 kept
    model = get("din", **QUICK).fit(data)
    for u in (0, 5):
        window = [(u + t) % 8 for t in range(2, 6)]
        ids, scores = model.recommend_for_history(window, k=4)  # the 4 items not in it
        np.testing.assert_allclose(scores[0], model.score([u], ids[0])[0], rtol=1e-6)
    # a session is read from its newest max_len items only
    ids, scores = model.recommend_for_history([7, 0, 1, 2, 3], k=3)  # all but the 5
    short_ids, short_scores = model.recommend_for_history([0, 1, 2, 3], k=4)  # and item 7
    kept = short_ids[0] != 7
    np.testing.assert_array_equal(ids[0], short_ids[0, kept])
    np.testing.assert_allclose(scores[0], short_scores[0, kept], rtol=1e-6)


def test_explain_gives_the_attention_of_the_stored_window() -> None:
    # user 0: 9, 1, 2, 8, 3 in time order; max_len 4 keeps 1, 2, 8, 3 (9 is left out)
    users = [0] * 5 + [1] * 3
    items = [9, 1, 2, 8, 3, 4, 5, 6]
    data = Interactions.from_arrays(users, items, np.ones(8), [0, 1, 2, 3, 4, 0, 1, 2])
    model = get("din", **QUICK).fit(data)
    idx = data.item_ids.to_index
    candidate = int(idx([5])[0])
    found, weights, how = model.explain(0, candidate, n=10)
    assert how == "attention"
    assert set(found.tolist()) == set(idx([1, 2, 8, 3]).tolist())
    window = model.module_.history[:1]
    with torch.no_grad():
        raw = model.module_.eval().attention_weights(window, torch.tensor([candidate]))[0, 0]
    expected = dict(zip((window[0] - 1).tolist(), raw.tolist(), strict=True))
    for item, weight in zip(found.tolist(), weights.tolist(), strict=True):
        assert weight == pytest.approx(expected[item], rel=1e-6)
    assert np.all(np.diff(weights) <= 0)


def test_scores_do_not_depend_on_the_chunk_size(monkeypatch: pytest.MonkeyPatch) -> None:
    data = cycle()
    model = get("din", **QUICK).fit(data)
    whole = model.score(np.arange(12))
    session = model.recommend_for_history([3, 4], k=8)
    monkeypatch.setattr(din_module, "SCORE_FLOATS", 1)  # one user × one item at a time
    assert model._score_pairs() == 1
    np.testing.assert_allclose(model.score(np.arange(12)), whole, rtol=1e-6, atol=1e-7)
    for chunked, one in zip(model.recommend_for_history([3, 4], k=8), session, strict=True):
        np.testing.assert_allclose(chunked, one, rtol=1e-6)


def test_similar_items_are_the_cosine_of_the_item_field_vectors() -> None:
    model = get("din", **QUICK).fit(cycle())
    ids, sims = model.similar_items([2], k=3)
    with torch.no_grad():
        vectors = model.module_.item_vectors(torch.arange(model.n_items_)).numpy()
    unit = vectors / np.linalg.norm(vectors, axis=1, keepdims=True)
    cosine = unit @ unit[2]
    cosine[2] = -np.inf
    np.testing.assert_array_equal(ids[0], np.argsort(-cosine, kind="stable")[:3])
    np.testing.assert_allclose(sims[0], np.sort(cosine)[::-1][:3], rtol=1e-5, atol=1e-6)
