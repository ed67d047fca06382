"""The evaluator: full ranking, exclusions, batching, sampled mode, recommendation files."""

from __future__ import annotations

import math
from pathlib import Path

import numpy as np
import pytest
import scipy.sparse as sp
from hypothesis import given, settings
from hypothesis import strategies as st

from recforge.data import IdMap, Interactions
from recforge.errors import DataError, ParameterError
from recforge.evaluation import evaluate, evaluate_recommendations, read_recommendations
from recforge.evaluation import evaluator as evaluator_module


class FixedScores:
    """A scorer that returns a fixed score matrix [n_users, n_items]."""

    predicts_ratings = False

    def __init__(self, scores: np.ndarray) -> None:
        self.scores = np.asarray(scores, dtype=np.float32)
        self.n_users_, self.n_items_ = self.scores.shape

    def score(self, users: np.ndarray, items: np.ndarray | None = None) -> np.ndarray:
        rows = self.scores[np.asarray(users)]
        return rows if items is None else rows[:, items]


def build(pairs: list[tuple[int, int]], n_users: int, n_items: int) -> Interactions:
    users = np.array([p[0] for p in pairs], dtype=np.int64)
    items = np.array([p[1] for p in pairs], dtype=np.int64)
    return Interactions.from_indices(
        users,
        items,
        None,
        None,
        user_ids=IdMap(np.arange(n_users)),
        item_ids=IdMap(np.arange(n_items)),
        explicit=False,
    )


def test_full_ranking_known_answer() -> None:
    # 1 user, 6 items. Scores rank items 0 > 1 > 2 > 3 > 4 > 5. Train: item 0 (excluded).
    # Test: items 2 and 5. Ranked unseen list: 1, 2, 3, 4, 5 → hits at ranks 2 and 5.
    scores = np.array([[6, 5, 4, 3, 2, 1]], dtype=float)
    train = build([(0, 0)], 1, 6)
    test = build([(0, 2), (0, 5)], 1, 6)
    result = evaluate(FixedScores(scores), test, train=train, k=[1, 2, 5])
    assert result["precision@2"] == pytest.approx(0.5)
    assert result["recall@2"] == pytest.approx(0.5)
    assert result["recall@5"] == pytest.approx(1.0)
    assert result["hit_rate@1"] == 0.0
    assert result["mrr@5"] == pytest.approx(0.5)
    dcg = 1 / math.log2(3) + 1 / math.log2(6)
    assert result["ndcg@5"] == pytest.approx(dcg / (1 + 1 / math.log2(3)))
    # AUC: negatives are items 1, 3, 4 (item 0 excluded). Item 2 has 1 negative above it,
    # item 5 has 3: AUC = 1 − 4 / (2 · 3).
    assert result["auc"] == pytest.approx(1 - 4 / 6)
    assert result["coverage@5"] == pytest.approx(5 / 6)
    assert result.protocol == "full"


def test_nan_scores_are_refused_rather_than_measured() -> None:
    """A NaN score once made AUC 1.0076 and a 'nan' in --json: such a model is refused."""
    scores = np.array([[0.3, np.nan, 0.1, 0.2], [0.1, 0.2, 0.3, 0.4]])
    test = build([(0, 1), (1, 3)], 2, 4)
    with pytest.raises(DataError, match=r"^FixedScores gave NaN scores, so it cannot be evaluated"):
        evaluate(FixedScores(scores), test, k=[2], metrics=["ndcg", "auc"])
    finite = evaluate(FixedScores(np.nan_to_num(scores, nan=0.0)), test, k=[2], metrics=["auc"])
    assert 0.0 <= finite.as_dict()["auc"] <= 1.0


def test_excluded_items_are_never_ranked_and_overlap_is_reported() -> None:
    scores = np.array([[9, 8, 1, 0]], dtype=float)
    train = build([(0, 0), (0, 1)], 1, 4)
    test = build([(0, 1), (0, 3)], 1, 4)  # item 1 is in both train and test
    result = evaluate(FixedScores(scores), test, train=train, k=[1])
    # Ranked unseen list: 2, 3. Item 1 is not relevant any more; item 3 is at rank 2.
    assert result["hit_rate@1"] == 0.0
    assert any("also appear in train" in note for note in result.notes)


def test_valid_items_are_excluded_too() -> None:
    scores = np.array([[9, 8, 1, 0]], dtype=float)
    train = build([(0, 0)], 1, 4)
    valid = build([(0, 1)], 1, 4)
    test = build([(0, 2)], 1, 4)
    with_valid = evaluate(FixedScores(scores), test, train=train, valid=valid, k=[1])
    without = evaluate(FixedScores(scores), test, train=train, k=[1])
    assert with_valid["hit_rate@1"] == 1.0
    assert without["hit_rate@1"] == 0.0


@settings(max_examples=40, deadline=None)
@given(st.integers(0, 10_000), st.integers(1, 7))
def test_batched_equals_unbatched(seed: int, batch_size: int) -> None:
    rng = np.random.default_rng(seed)
    n_users, n_items = 9, 15
    scores = rng.integers(0, 5, (n_users, n_items)).astype(float)  # many ties
    mask = rng.random((n_users, n_items))
    train = build(
        [(u, i) for u in range(n_users) for i in range(n_items) if mask[u, i] < 0.3],
        n_users,
        n_items,
    )
    test = build(
        [(u, i) for u in range(n_users) for i in range(n_items) if mask[u, i] > 0.8],
        n_users,
        n_items,
    )
    if test.nnz == 0:
        return
    model = FixedScores(scores)
    a = evaluate(model, test, train=train, k=[1, 3, 5], batch_size=batch_size)
    b = evaluate(model, test, train=train, k=[1, 3, 5], batch_size=n_users)
    assert a.keys() == b.keys()
    for key in a:
        assert a[key] == pytest.approx(b[key]), key
        if not key.startswith(("arp", "novelty")):
            assert 0.0 <= a[key] <= 1.0


def test_auc_matches_brute_force() -> None:
    rng = np.random.default_rng(3)
    n_users, n_items = 6, 20
    scores = rng.integers(0, 6, (n_users, n_items)).astype(float)
    train = build([(u, i) for u in range(n_users) for i in range(0, 4)], n_users, n_items)
    test = build(
        [(u, i) for u in range(n_users) for i in rng.choice(np.arange(4, 20), 3, replace=False)],
        n_users,
        n_items,
    )
    result = evaluate(FixedScores(scores), test, train=train, metrics=["auc"])
    aucs = []
    for u in range(n_users):
        pos = test.matrix[[u]].indices
        neg = [i for i in range(4, n_items) if i not in pos]
        wins = sum(
            (scores[u, p] > scores[u, n]) + 0.5 * (scores[u, p] == scores[u, n])
            for p in pos
            for n in neg
        )
        aucs.append(wins / (len(pos) * len(neg)))
    assert result["auc"] == pytest.approx(np.mean(aucs))


def random_scored_split(
    seed: int, n_users: int, n_items: int, per_user: int, every: int
) -> tuple[np.ndarray, Interactions, Interactions]:
    """Random scores [n_users, n_items], and test / train: every `every`-th of per_user random
    interactions per user is a test one."""
    rng = np.random.default_rng(seed)
    scores = rng.standard_normal((n_users, n_items))
    pairs = [(u, i) for u in range(n_users) for i in rng.choice(n_items, per_user, replace=False)]
    data = build(pairs, n_users, n_items)
    mask = np.zeros(data.nnz, dtype=bool)
    mask[::every] = True
    return scores, data.subset(mask), data.subset(~mask)


def test_sampled_mode_is_labelled_and_deterministic() -> None:
    scores, test, train = random_scored_split(0, 20, 300, 12, 4)
    model = FixedScores(scores)
    a = evaluate(model, test, train=train, sampled_negatives=50, seed=1, k=[10])
    b = evaluate(model, test, train=train, sampled_negatives=50, seed=1, k=[10])
    c = evaluate(model, test, train=train, sampled_negatives=50, seed=2, k=[10])
    assert a.protocol == "sampled-50"
    assert "SAMPLED" in a.to_table()
    assert dict(a) == dict(b)
    assert dict(a) != dict(c)
    full = evaluate(model, test, train=train, k=[10])
    assert a["hit_rate@10"] >= full["hit_rate@10"]  # easier: fewer competitors


def test_sampled_mode_perfect_model_scores_one() -> None:
    n_users, n_items = 5, 200
    test = build([(u, 100 + u) for u in range(n_users)], n_users, n_items)
    scores = np.zeros((n_users, n_items))
    scores[np.arange(n_users), 100 + np.arange(n_users)] = 1.0
    result = evaluate(FixedScores(scores), test, sampled_negatives=99, k=[1])
    assert result["ndcg@1"] == 1.0
    assert result["auc"] == 1.0


def test_sampled_batches_are_bounded_without_changing_the_result(
    monkeypatch: pytest.MonkeyPatch,
) -> None:
    scores, test, train = random_scored_split(3, 30, 400, 15, 3)
    whole = evaluate(FixedScores(scores), test, train=train, sampled_negatives=100, seed=4)
    monkeypatch.setattr(evaluator_module, "SAMPLED_CELLS", 1)  # one user per batch
    alone = evaluate(FixedScores(scores), test, train=train, sampled_negatives=100, seed=4)
    assert dict(whole) == dict(alone)


def test_sampled_negatives_must_leave_items_out() -> None:
    """As many negatives as items once took 6 GB and more than that an OOM kill; it is refused."""
    model = FixedScores(np.zeros((2, 30)))
    with pytest.raises(ParameterError, match=r"^sampled_negatives \(5000\) must be below the "
                       r"catalogue's 30 items; leave it out"):  # fmt: skip
        evaluate(model, build([(0, 1)], 2, 30), sampled_negatives=5000)


def test_bad_arguments_are_clear() -> None:
    model = FixedScores(np.zeros((2, 3)))
    test = build([(0, 1)], 2, 3)
    with pytest.raises(ParameterError, match="'k' parameter of evaluate must be an int ≥ 1"):
        evaluate(model, test, k=[0])
    with pytest.raises(ParameterError, match="unknown metric 'ndgc'"):
        evaluate(model, test, metrics=["ndgc"])
    with pytest.raises(ParameterError, match="predicts ratings"):
        evaluate(model, test, metrics=["rmse"])
    with pytest.raises(DataError, match="model knows"):
        evaluate(model, build([(0, 1)], 2, 4))


def test_recommendations_file_round_trip(tmp_path: Path) -> None:
    test = Interactions.from_arrays(["a", "a", "b"], ["x", "y", "z"])
    train = Interactions.from_arrays(["a", "b", "b"], ["w", "w", "x"])
    path = tmp_path / "recs.tsv"
    path.write_text("a\ty,w,q\nb\tz\nghost\tx\n")
    recs = read_recommendations(path)
    assert recs == {"a": ["y", "w", "q"], "b": ["z"], "ghost": ["x"]}
    result = evaluate_recommendations(recs, test, train=train, k=[1, 3])
    # a: [y, w, q] → hit at rank 1, 1 of 2 relevant; b: [z] → hit at rank 1.
    assert result["precision@1"] == 1.0
    assert result["recall@3"] == pytest.approx((0.5 + 1.0) / 2)
    assert result["seen_items_recommended"] == 1.0  # w was in a's train
    assert any("no test interactions" in note for note in result.notes)


def test_recommendations_file_errors(tmp_path: Path) -> None:
    bad = tmp_path / "bad.tsv"
    bad.write_text("a\tx,y\nb x,y\n")
    with pytest.raises(DataError, match=r"bad\.tsv:2: expected user<TAB>"):
        read_recommendations(bad)
    dup = tmp_path / "dup.tsv"
    dup.write_text("a\tx\na\ty\n")
    with pytest.raises(DataError, match=r"dup\.tsv:2: user 'a' already has a list"):
        read_recommendations(dup)
    with pytest.raises(DataError, match="no such recommendations file"):
        read_recommendations(tmp_path / "missing.tsv")


def test_diversity_uses_item_features() -> None:
    scores = np.array([[3, 2, 1, 0]], dtype=float)
    test = build([(0, 0)], 1, 4)
    features = sp.csr_array(np.array([[1, 0], [1, 0], [0, 1], [0, 1]], dtype=np.float32))
    result = evaluate(
        FixedScores(scores), test, k=[2], metrics=["diversity"], item_features=features
    )
    assert result["diversity@2"] == pytest.approx(0.0)  # items 0 and 1 share their feature
