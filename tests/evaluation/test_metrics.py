"""Ranking, rating and beyond-accuracy metrics: hand-computed answers and properties."""

from __future__ import annotations

import math

import numpy as np
import pytest
from hypothesis import given, settings
from hypothesis import strategies as st

from recforge.evaluation import (
    auc_from_counts,
    average_popularity,
    catalogue_coverage,
    gini_index,
    hit_rate_at_k,
    intra_list_diversity,
    mae,
    map_at_k,
    mrr_at_k,
    ndcg_at_k,
    novelty,
    precision_at_k,
    recall_at_k,
    rmse,
)

# One user, list of 5, relevant items at ranks 2 and 4 (1-based), 3 relevant items in total.
HITS = np.array([[False, True, False, True, False]])
N_REL = np.array([3])


def test_precision_recall_hit_rate_known_answer() -> None:
    assert precision_at_k(HITS, N_REL, 5)[0] == pytest.approx(2 / 5)
    assert precision_at_k(HITS, N_REL, 2)[0] == pytest.approx(1 / 2)
    assert recall_at_k(HITS, N_REL, 5)[0] == pytest.approx(2 / 3)
    assert recall_at_k(HITS, N_REL, 1)[0] == 0.0
    assert hit_rate_at_k(HITS, N_REL, 1)[0] == 0.0
    assert hit_rate_at_k(HITS, N_REL, 2)[0] == 1.0


def test_mrr_known_answer() -> None:
    # First hit at rank 2 → 1/2; nothing in the top 1 → 0.
    assert mrr_at_k(HITS, N_REL, 5)[0] == pytest.approx(0.5)
    assert mrr_at_k(HITS, N_REL, 1)[0] == 0.0


def test_ndcg_known_answer() -> None:
    # DCG@5 = 1/log2(3) + 1/log2(5); ideal with 3 relevant = 1/log2(2) + 1/log2(3) + 1/log2(4).
    dcg = 1 / math.log2(3) + 1 / math.log2(5)
    idcg = 1 + 1 / math.log2(3) + 0.5
    assert ndcg_at_k(HITS, N_REL, 5)[0] == pytest.approx(dcg / idcg)
    # At k = 2 the ideal only has two slots: 1 + 1/log2(3); DCG@2 = 1/log2(3).
    assert ndcg_at_k(HITS, N_REL, 2)[0] == pytest.approx(
        (1 / math.log2(3)) / (1 + 1 / math.log2(3))
    )


def test_map_known_answer() -> None:
    # AP@5 = (P@2 + P@4) / min(3, 5) = (1/2 + 2/4) / 3 = 1/3.
    assert map_at_k(HITS, N_REL, 5)[0] == pytest.approx(1 / 3)
    # AP@2 = (1/2) / min(3, 2) = 1/4.
    assert map_at_k(HITS, N_REL, 2)[0] == pytest.approx(1 / 4)


def test_auc_known_answer() -> None:
    # 2 positives, 4 negatives; 1 negative above the first positive, 2.5 above the second
    # (one tie): AUC = 1 − 3.5 / 8.
    assert auc_from_counts(np.array([3.5]), np.array([2]), np.array([4]))[0] == pytest.approx(
        1 - 3.5 / 8
    )
    assert auc_from_counts(np.array([0.0]), np.array([1]), np.array([0]))[0] == 1.0


def test_rating_errors_known_answer() -> None:
    truth = np.array([1.0, 2.0, 3.0, 4.0])
    pred = np.array([1.5, 2.0, 2.0, 6.0])
    # errors 0.5, 0, −1, 2: RMSE = sqrt((0.25 + 0 + 1 + 4) / 4), MAE = 3.5 / 4.
    assert rmse(truth, pred) == pytest.approx(math.sqrt(5.25 / 4))
    assert mae(truth, pred) == pytest.approx(3.5 / 4)


def test_beyond_accuracy_known_answers() -> None:
    lists = np.array([[0, 1, -1], [1, 2, 3]])
    assert catalogue_coverage(lists, 8) == pytest.approx(4 / 8)
    popularity = np.array([4, 2, 1, 0, 0, 0, 0, 0])
    # 4 train users: p = 1, 0.5, 0.25, and an unseen item counts as 1 user → 0.25.
    nov = novelty(lists, popularity, 4)
    assert nov[0] == pytest.approx((0 + 1) / 2)
    assert nov[1] == pytest.approx((1 + 2 + 2) / 3)
    arp = average_popularity(lists, popularity)
    assert arp.tolist() == pytest.approx([3.0, 1.0])
    # Items recommended 1, 2, 1, 1 times out of 8 items: Gini of [0,0,0,0,1,1,1,2] sorted.
    counts = np.array([0, 0, 0, 0, 1, 1, 1, 2], dtype=float)
    ranks = np.arange(1, 9)
    expected = ((2 * ranks - 9) * counts).sum() / (8 * counts.sum())
    assert gini_index(lists, 8) == pytest.approx(expected)


def test_intra_list_diversity_known_answer() -> None:
    features = np.array([[1.0, 0.0], [0.0, 1.0], [1.0, 1.0]])
    # Pairs of [0, 1, 2]: cos(0,1) = 0, cos(0,2) = cos(1,2) = 1/√2 → mean distance
    # 1 − (0 + 2/√2) / 3.
    ild = intra_list_diversity(np.array([[0, 1, 2], [0, -1, -1]]), features)
    assert ild[0] == pytest.approx(1 - (2 / math.sqrt(2)) / 3)
    assert np.isnan(ild[1])


hit_rows = st.integers(1, 12).flatmap(
    lambda k: st.tuples(
        st.lists(st.lists(st.booleans(), min_size=k, max_size=k), min_size=1, max_size=6),
        st.integers(0, 5),
    )
)


@settings(max_examples=200, deadline=None)
@given(hit_rows)
def test_metrics_stay_in_unit_interval(case: tuple[list[list[bool]], int]) -> None:
    rows, extra = case
    hits = np.array(rows, dtype=bool)
    n_rel = hits.sum(axis=1) + extra
    n_rel = np.maximum(n_rel, 1)
    k = hits.shape[1]
    for fn in (precision_at_k, recall_at_k, ndcg_at_k, map_at_k, mrr_at_k, hit_rate_at_k):
        for cut in range(1, k + 1):
            values = fn(hits, n_rel, cut)
            assert np.all(values >= 0.0)
            assert np.all(values <= 1.0 + 1e-12)


@settings(max_examples=200, deadline=None)
@given(st.integers(1, 10), st.integers(1, 10))
def test_perfect_ranking_scores_one(n_relevant: int, k: int) -> None:
    hits = np.zeros((1, k), dtype=bool)
    hits[0, : min(n_relevant, k)] = True
    n_rel = np.array([n_relevant])
    assert ndcg_at_k(hits, n_rel, k)[0] == pytest.approx(1.0)
    assert map_at_k(hits, n_rel, k)[0] == pytest.approx(1.0)
    assert mrr_at_k(hits, n_rel, k)[0] == 1.0
    assert hit_rate_at_k(hits, n_rel, k)[0] == 1.0
    if n_relevant <= k:
        assert recall_at_k(hits, n_rel, k)[0] == pytest.approx(1.0)
    else:
        assert precision_at_k(hits, n_rel, k)[0] == pytest.approx(1.0)
