"""Checks that every registered model must pass (the implicit-style conformance mixin).

Each check takes a model name; `test_conformance.py` runs every check on every model in the
registry, so a newly registered model joins automatically.
"""

from __future__ import annotations

from pathlib import Path
from typing import Any

import numpy as np
import pytest

from recforge import load
from recforge.data import Feature, FeatureTable, Interactions
from recforge.errors import DataError, NotFittedError, ParameterError, UnsupportedOperationError
from recforge.models import get, model_class


def checkerboard() -> Interactions:
    """6 users × 6 items: user u rated item i iff u + i is even, minus (0, 4), (2, 4) and (1, 5).

    Ratings are 1 + (u + 2i) mod 5, timestamps increase with (u, i). Item counts: 0→3, 1→3, 2→3,
    3→3, 4→1, 5→2. Raw ids are strings "u0"… / "i0"…, so indices equal the numbers.
    """
    users, items, ratings, ts = [], [], [], []
    removed = {(0, 4), (2, 4), (1, 5)}
    for u in range(6):
        for i in range(6):
            if (u + i) % 2 == 0 and (u, i) not in removed:
                users.append(f"u{u}")
                items.append(f"i{i}")
                ratings.append(1 + (u + 2 * i) % 5)
                ts.append(1_000 + 10 * u + i)
    return Interactions.from_arrays(users, items, ratings, ts)


def assert_scores_close(got: np.ndarray, expected: np.ndarray) -> None:
    """Equal up to float32 rounding: products may round differently in a batch (BLAS gemm)
    and alone (gemv), which matters only next to 0 (-inf pads must match exactly)."""
    finite = np.isfinite(expected)
    np.testing.assert_array_equal(got[~finite], expected[~finite])
    scale = max(1.0, float(np.abs(expected[finite]).max())) if finite.any() else 1.0
    np.testing.assert_allclose(got[finite], expected[finite], rtol=1e-6, atol=1e-6 * scale)


def checkerboard_features() -> FeatureTable:
    """Item features for the checkerboard: a parity category, a multi-hot set and a title."""
    return FeatureTable(
        checkerboard().item_ids,
        [
            Feature.categorical("parity", ["even" if i % 2 == 0 else "odd" for i in range(6)]),
            Feature.multi_hot("tags", [["low"] if i < 3 else ["high"] for i in range(6)]),
            Feature.text(
                "title", [f"film {'even' if i % 2 == 0 else 'odd'} {i}" for i in range(6)]
            ),
        ],
    )


def fitted(name: str, data: Interactions | None = None, **params: Any) -> Any:
    model = get(name, **params)
    features = checkerboard_features() if model.uses_item_features else None
    return model.fit(data if data is not None else checkerboard(), item_features=features)


def check_batch_equals_single(name: str) -> None:
    """Users scored in a batch or alone, and new users' histories too (`check_histories`)."""
    model = fitted(name)
    users = np.arange(model.n_users_)
    ids, scores = model.recommend(users, k=4)
    for u in users:
        one_ids, one_scores = model.recommend(int(u), k=4)
        np.testing.assert_array_equal(one_ids[0], ids[u])
        assert_scores_close(one_scores[0], scores[u])
    full = model.score(users)
    for u in users:
        assert_scores_close(model.score([u])[0], full[u])
    check_histories(model)


def check_exclude_seen(name: str) -> None:
    data = checkerboard()
    model = fitted(name, data)
    users = np.arange(model.n_users_)
    ids, _ = model.recommend(users, k=data.n_items)
    seen = data.binary().toarray().astype(bool)
    for u in users:
        row = ids[u][ids[u] >= 0]
        assert not seen[u, row].any(), f"user {u} got seen items {row[seen[u, row]]}"
        assert set(row) == set(np.flatnonzero(~seen[u])), "every unseen item must be ranked"
    with_seen, _ = model.recommend(users, k=data.n_items, exclude_seen=False)
    assert (with_seen >= 0).all()
    assert all(set(row) == set(range(data.n_items)) for row in with_seen)


def check_seed_reproduces(name: str) -> None:
    a = fitted(name, seed=3)
    b = fitted(name, seed=3)
    users = np.arange(a.n_users_)
    np.testing.assert_array_equal(a.score(users), b.score(users))
    np.testing.assert_array_equal(a.recommend(users, k=3)[0], b.recommend(users, k=3)[0])


def check_save_load(name: str, tmp_path: Path) -> None:
    model = fitted(name)
    path = model.save(tmp_path / "model")
    loaded = load(path)
    same_dir = load(tmp_path)  # the directory above it ('recforge train --out') works too
    users = np.arange(model.n_users_)
    assert type(loaded) is type(model)
    assert loaded.get_params() == model.get_params()
    assert loaded.user_ids_ == model.user_ids_
    assert loaded.item_ids_ == model.item_ids_
    np.testing.assert_array_equal(loaded.score(users), model.score(users))
    np.testing.assert_array_equal(same_dir.score(users), model.score(users))
    for a, b in zip(loaded.recommend(users, k=3), model.recommend(users, k=3), strict=True):
        np.testing.assert_array_equal(a, b)
    if model.predicts_ratings:
        pairs_u, pairs_i = np.array([0, 1, -1, 2]), np.array([1, 0, 3, -1])
        np.testing.assert_array_equal(
            loaded.predict(pairs_u, pairs_i), model.predict(pairs_u, pairs_i)
        )


def check_not_fitted(name: str, tmp_path: Path) -> None:
    model = get(name)
    calls = [
        lambda: model.score([0]),
        lambda: model.recommend([0]),
        lambda: model.predict([0], [0]),
        lambda: model.save(tmp_path / "m.npz"),
    ]
    for call in calls:
        with pytest.raises(NotFittedError, match=r"not fitted yet\. Call 'fit'"):
            call()


def check_never_fitted_non_finite(name: str, tmp_path: Path) -> None:
    """A fit that diverges (an absurd learning rate) fails with one line naming the learning
    rate and leaves the model unfitted; a fit that does not diverge holds finite state."""
    params = get(name).get_params()
    key = next((k for k in ("lr", "learning_rate") if k in params), None)
    model = get(name, **({key: 1e12} if key else {}))
    features = checkerboard_features() if model.uses_item_features else None
    try:
        model.fit(checkerboard(), item_features=features)
    except ParameterError as err:
        message = str(err)
        assert "\n" not in message
        assert "diverged while fitting" in message
        assert f"lower {key}" in message
        with pytest.raises(NotFittedError):
            model.save(tmp_path / "diverged")
        return
    assert not np.isnan(model.score(np.arange(model.n_users_))).any()


def check_bad_parameters(name: str, bad: list[dict[str, Any]]) -> None:
    assert bad, f"list some bad parameter values for {name!r} in BAD_PARAMS"
    for params in bad:
        (param,) = params
        with pytest.raises(ParameterError, match=rf"'{param}' parameter of \w+ must"):
            fitted(name, **params)
    with pytest.raises(ParameterError, match="has no parameter 'no_such_param'"):
        get(name, no_such_param=1)
    model = fitted(name)
    with pytest.raises(ParameterError, match=r"'k' parameter of recommend must be an int ≥ 1"):
        model.recommend([0], k=0)
    with pytest.raises(ParameterError, match="out of range"):
        model.score([model.n_users_])


def check_padding_and_candidates(name: str) -> None:
    data = checkerboard()
    model = fitted(name, data)
    ids, scores = model.recommend([0], k=data.n_items + 3)
    assert ids.shape == scores.shape == (1, data.n_items), "k above the catalogue: its width"
    n_unseen = data.n_items - data.user_counts()[0]
    assert (ids[0, :n_unseen] >= 0).all()
    assert (ids[0, n_unseen:] == -1).all()
    assert np.isneginf(scores[0, n_unseen:]).all()
    assert np.all(np.diff(scores[0, :n_unseen]) <= 0), "scores must come best first"
    candidates = np.array([5, 3, 0])
    ids, _ = model.recommend([0, 1], k=3, candidates=candidates, exclude_seen=False)
    assert set(ids[0]) == set(candidates)
    full = model.score([0, 1])
    assert_scores_close(model.score([0, 1], candidates), full[:, candidates])


def check_known_answer(name: str, known: dict[str, Any]) -> None:
    assert name in known, (
        f"model {name!r} has no known answer on the checkerboard; add one to KNOWN_ANSWERS in "
        "tests/models/test_conformance.py"
    )
    model_class(name)  # registered
    known[name](fitted(name))


def check_explain(name: str) -> None:
    """explain names the user's own items, best first: exact parts of the score (they sum to
    it), the model's item similarities (equal to what similar_items gives) or attention
    weights (non-negative)."""
    data = checkerboard()
    model = fitted(name, data)
    user = 0
    item = int(model.recommend([user], k=1)[0][0, 0])
    try:
        items, weights, how = model.explain(user, item, n=3)
    except UnsupportedOperationError:
        with pytest.raises(UnsupportedOperationError):
            model.similar_items([item], k=1)
        return
    seen = set(np.flatnonzero(data.binary().toarray()[user]))
    assert items.size <= 3
    assert set(items.tolist()) <= seen
    assert np.all(np.diff(weights) <= 0), "weights must come largest first"
    assert how in {"contribution", "similarity", "attention"}
    if how == "attention":
        assert np.all(np.isfinite(weights))
        assert np.all(weights >= 0)
    elif how == "contribution":
        _, every, _ = model.explain(user, item, n=data.n_items)
        assert_scores_close(np.array([every.sum()]), model.score([user], [item])[0])
    else:
        ids, sims = model.similar_items([item], k=data.n_items)
        similarity = dict(zip(ids[0].tolist(), sims[0].tolist(), strict=True))
        for j, w in zip(items.tolist(), weights.tolist(), strict=True):
            if np.isfinite(w):
                assert_scores_close(np.array([w]), np.array([similarity[j]]))
    with pytest.raises(ParameterError, match="'n' parameter of explain"):
        model.explain(user, item, n=0)


def check_histories(model: Any) -> None:
    """recommend_for_histories gives each history, in any batch, the row that
    recommend_for_history gives it alone, its own items left out; a model that cannot score
    a history refuses both."""
    histories = [[0, 2], [5], [3, 1, 4], [2, 0]]  # the last: the first's items, other order
    if not model.supports_history:
        for call in (
            lambda: model.recommend_for_history([0], k=2),
            lambda: model.recommend_for_histories(histories, k=2),
        ):
            with pytest.raises(UnsupportedOperationError, match="supports_history"):
                call()
        return
    ids, scores = model.recommend_for_histories(histories, k=6)
    assert ids.shape == scores.shape == (len(histories), 6)
    for row, history in enumerate(histories):
        one_ids, one_scores = model.recommend_for_history(history, k=6)
        assert_scores_close(scores[row], one_scores[0])
        np.testing.assert_array_equal(ids[row], one_ids[0])
        shown = ids[row][ids[row] >= 0]
        assert set(shown.tolist()) == set(range(6)) - set(history), "all but the history"
    with pytest.raises(DataError, match="history 1 is empty"):
        model.recommend_for_histories([[0], []], k=2)
