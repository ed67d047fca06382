"""Sequence windows: right-aligned, 0-padded, and never looking past the predicted item."""

from __future__ import annotations

import numpy as np
import pytest
from hypothesis import given, settings
from hypothesis import strategies as st

from recforge.data import IdMap, Interactions
from recforge.data.interactions import Histories
from recforge.data.sequences import (
    PAD,
    history_windows,
    last_items,
    next_item_positions,
    next_item_windows,
    sequence_chunks,
    shifted_sequences,
    shifted_windows,
)
from recforge.errors import ParameterError


def known() -> Histories:
    """u0: items 3, 1, 4 (in time order); u1: none; u2: 2; u3: 0, 2, 3, 1."""
    users = np.array([0, 0, 0, 2, 3, 3, 3, 3])
    items = np.array([4, 3, 1, 2, 0, 2, 3, 1])
    times = np.array([30, 10, 20, 5, 1, 2, 3, 4])
    data = Interactions.from_indices(
        users, items, np.ones(8), times,
        user_ids=IdMap(np.arange(4)), item_ids=IdMap(np.arange(5)), explicit=False,
    )  # fmt: skip
    return data.histories()


def test_known_windows() -> None:
    h = known()
    np.testing.assert_array_equal(h.of(0), [3, 1, 4])
    np.testing.assert_array_equal(last_items(h, [0, 1, 2, 3], 3), [
        [4, 2, 5], [0, 0, 0], [0, 0, 3], [3, 4, 2],
    ])  # fmt: skip
    positions = next_item_positions(h)
    inputs, targets = next_item_windows(h, positions, 2)
    np.testing.assert_array_equal(targets, [1, 4, 2, 3, 1])
    np.testing.assert_array_equal(inputs, [[0, 4], [4, 2], [0, 1], [1, 3], [3, 4]])
    inputs, targets = shifted_sequences(h, [0, 2, 3], 3)
    np.testing.assert_array_equal(inputs, [[0, 4, 2], [0, 0, 0], [1, 3, 4]])
    np.testing.assert_array_equal(targets, [[0, 2, 5], [0, 0, 0], [3, 4, 2]])
    assert next_item_positions(h, min_history=3).tolist() == [positions[-1]]


@st.composite
def histories(draw: st.DrawFn) -> Histories:
    n_users = draw(st.integers(1, 6))
    n_items = draw(st.integers(1, 12))
    pairs = draw(
        st.lists(
            st.tuples(st.integers(0, n_users - 1), st.integers(0, n_items - 1)),
            unique=True,
            max_size=40,
        )
    )
    if not pairs:
        pairs = [(0, 0)]
    times = draw(st.lists(st.integers(0, 5), min_size=len(pairs), max_size=len(pairs)))
    users, items = zip(*pairs, strict=True)
    return Interactions.from_arrays(
        np.array(users), np.array(items), np.ones(len(pairs)), np.array(times)
    ).histories()


@settings(max_examples=150, deadline=None)
@given(histories(), st.integers(1, 6))
def test_windows_hold_only_the_past_of_the_same_user(h: Histories, length: int) -> None:
    positions = next_item_positions(h)
    inputs, targets = next_item_windows(h, positions, length)
    counts = np.diff(h.indptr)
    assert positions.size == int(np.maximum(counts - 1, 0).sum())
    for row, pos in enumerate(positions):
        user = int(np.searchsorted(h.indptr, pos, side="right") - 1)
        start = int(h.indptr[user])
        past = h.items[max(start, pos - length) : pos] + 1  # the user's items before pos
        assert targets[row] == h.items[pos]
        n_pad = length - past.size
        assert (inputs[row, :n_pad] == PAD).all()  # padding only on the left
        np.testing.assert_array_equal(inputs[row, n_pad:], past)
    for u in range(counts.size):
        newest = h.of(u)[-length:] + 1
        window = last_items(h, [u], length)[0]
        np.testing.assert_array_equal(window[length - newest.size :], newest)
        assert (window[: length - newest.size] == PAD).all()
        x, y = shifted_sequences(h, [u], length)
        # each target is the item right after its input, and a padded input has no target
        seq = h.of(u) + 1
        for t in range(length):
            if y[0, t] != PAD:
                where = int(np.flatnonzero(seq == y[0, t])[0])
                assert where >= 1
                assert x[0, t] == seq[where - 1]
            else:
                assert x[0, t] == PAD or (t == length - 1 and seq.size == 0)


def test_bad_arguments_get_one_line_errors() -> None:
    h = known()
    with pytest.raises(ParameterError, match="'length' parameter of last_items"):
        last_items(h, [0], 0)
    with pytest.raises(ParameterError, match="positions must lie in"):
        next_item_windows(h, np.array([99]), 3)
    with pytest.raises(ParameterError, match="'min_history' parameter"):
        next_item_positions(h, min_history=0)
    with pytest.raises(ParameterError, match="'stride' parameter of sequence_chunks"):
        sequence_chunks(h, 3, stride=4)
    with pytest.raises(ParameterError, match="'scored' parameter of shifted_windows"):
        shifted_windows(h, np.array([3]), np.array([0]), 3, scored=0)


@settings(max_examples=150, deadline=None)
@given(histories(), st.integers(1, 5), st.data())
def test_chunks_make_every_item_but_the_first_a_target_once(
    h: Histories, length: int, data: st.DataObject
) -> None:
    stride = data.draw(st.none() | st.integers(1, length), label="stride")
    ends, starts = sequence_chunks(h, length, stride)
    inputs, targets = shifted_windows(h, ends, starts, length, scored=stride)
    scored = length if stride is None else stride
    got: list[tuple[int, int]] = []
    for row in range(ends.size):
        user = int(np.searchsorted(h.indptr, starts[row], side="right") - 1)
        for t in np.flatnonzero(targets[row]):
            assert t >= length - scored  # only the last `scored` columns predict
            got.append((user, int(targets[row, t]) - 1))
            seq = h.of(user)
            where = int(np.flatnonzero(seq == targets[row, t] - 1)[0])
            assert inputs[row, t] == seq[where - 1] + 1  # the item right before the target
            # the columns up to t hold the items before the target, as many as fit
            before = inputs[row, : t + 1]
            assert np.count_nonzero(before) == min(where, t + 1)
            assert np.array_equal(
                before[before > 0] - 1, seq[where - before[before > 0].size : where]
            )
    want = [(u, int(i)) for u in range(h.indptr.size - 1) for i in h.of(u)[1:]]
    assert sorted(got) == sorted(want)


def test_overlapping_chunks_known_answer() -> None:
    """One history 0 … 6 (codes 1 … 7), length 4, stride 2: windows end at 7, 5, 3 and score
    their last 2 columns, the first two read as context."""
    h = Histories(np.array([0, 7]), np.arange(7, dtype=np.int32), None)
    ends, starts = sequence_chunks(h, 4, stride=2)
    assert ends.tolist() == [7, 5, 3]
    assert starts.tolist() == [0, 0, 0]
    inputs, targets = shifted_windows(h, ends, starts, 4, scored=2)
    assert inputs.tolist() == [[3, 4, 5, 6], [1, 2, 3, 4], [0, 0, 1, 2]]
    assert targets.tolist() == [[0, 0, 6, 7], [0, 0, 4, 5], [0, 0, 2, 3]]


@settings(max_examples=100, deadline=None)
@given(histories(), st.integers(1, 5))
def test_history_windows_hold_every_item_once_in_order(h: Histories, length: int) -> None:
    expected = []
    for u in range(h.indptr.size - 1):
        codes = h.of(u).astype(np.int64) + 1
        padded = np.concatenate([np.zeros((-codes.size) % length, np.int64), codes])
        expected.extend(padded.reshape(-1, length))  # oldest first, padding only in the first
    windows = history_windows(h, length)
    np.testing.assert_array_equal(windows, np.array(expected).reshape(-1, length))
    assert (windows[:, -1] != PAD).all()  # right-aligned: no window is empty
    with pytest.raises(ParameterError, match="'length' parameter of history_windows"):
        history_windows(h, 0)
