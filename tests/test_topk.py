"""Top-k selection: every path (one row, many rows) equals a full sort by (-score, column)."""

from __future__ import annotations

import numpy as np
from hypothesis import given, settings
from hypothesis import strategies as st

from recforge._topk import topk, topk_padded


def reference(scores: np.ndarray, k: int) -> tuple[np.ndarray, np.ndarray]:
    s = np.where(np.isnan(scores), -np.inf, scores).astype(np.float32)
    cols = np.array([np.lexsort((np.arange(row.size), -row))[:k] for row in s], dtype=np.int64)
    cols = cols.reshape(s.shape[0], min(k, s.shape[1]))
    return cols, np.take_along_axis(s, cols, axis=1)


@st.composite
def score_rows(draw: st.DrawFn) -> tuple[np.ndarray, int]:
    n_rows = draw(st.integers(1, 4))
    n_cols = draw(st.integers(1, 30))
    # few distinct values, so ties straddle the k-th place often; -inf and NaN as excluded
    values = st.sampled_from([0.0, 1.0, 2.0, 2.5, -1.0, -np.inf, np.nan])
    flat = draw(st.lists(values, min_size=n_rows * n_cols, max_size=n_rows * n_cols))
    k = draw(st.integers(1, n_cols + 3))
    return np.array(flat, dtype=np.float32).reshape(n_rows, n_cols), k


@settings(max_examples=300, deadline=None)
@given(score_rows())
def test_topk_matches_a_full_sort(case: tuple[np.ndarray, int]) -> None:
    scores, k = case
    cols, values = topk(scores, k)
    want_cols, want_values = reference(scores, k)
    np.testing.assert_array_equal(cols, want_cols)
    np.testing.assert_array_equal(values, want_values)
    for row in range(scores.shape[0]):  # one row alone (the serving path) gives the same row
        one_cols, one_values = topk(scores[row : row + 1], k)
        np.testing.assert_array_equal(one_cols[0], want_cols[row])
        np.testing.assert_array_equal(one_values[0], want_values[row])


def test_topk_padded_marks_excluded_items_and_is_never_wider_than_the_columns() -> None:
    scores = np.array([[3.0, -np.inf, 1.0]], dtype=np.float32)
    ids, values = topk_padded(scores, 5)
    np.testing.assert_array_equal(ids, [[0, 2, -1]])
    np.testing.assert_array_equal(values[0, :2], [3.0, 1.0])
    assert np.isneginf(values[0, 2:]).all()
    ids, values = topk_padded(scores, 10**12)  # a huge k allocates nothing beyond N
    assert ids.shape == values.shape == (1, 3)
