"""Caser beyond the conformance suite: its training examples, its padding row, its losses,
and what it refuses."""

from __future__ import annotations

import numpy as np
import pytest
import torch

from recforge.data import Interactions
from recforge.data.sequences import next_item_windows
from recforge.errors import DataError, ParameterError
from recforge.models import get

from .answers_sequence import cycle


def test_caser_refuses_data_without_timestamps() -> None:
    data = Interactions.from_arrays([0, 0, 1], [0, 1, 1], [1.0, 1.0, 1.0])
    with pytest.raises(DataError, match="no timestamps; load them with a timestamp column"):
        get("caser", epochs=1).fit(data)


def test_caser_needs_some_filters() -> None:
    with pytest.raises(ParameterError, match="'horizontal' parameter of Caser must be an int"):
        get("caser", vertical=0, horizontal=0, epochs=1).fit(cycle())


def test_every_item_after_the_first_is_one_stored_position() -> None:
    """12 users × 6 items: 5 targets each, stored as flat positions with their users; the
    windows cut from them hold the up to max_len items before each target, right-aligned."""
    model = get("caser", max_len=3, epochs=1, progress=False).fit(cycle())
    positions, users = model._examples(cycle())
    assert positions.shape == users.shape == (60,)
    np.testing.assert_array_equal(users.numpy(), np.repeat(np.arange(12), 5))
    inputs, targets = next_item_windows(model._histories, positions.numpy()[:5], 3)
    # user 0 walks 0, 1, …, 5 (codes + 1, 0 = padding)
    np.testing.assert_array_equal(inputs, [[0, 0, 1], [0, 1, 2], [1, 2, 3], [2, 3, 4], [3, 4, 5]])
    np.testing.assert_array_equal(targets, [1, 2, 3, 4, 5])


def test_the_padding_row_stays_zero_after_training() -> None:
    model = get(
        "caser", factors=8, max_len=8, epochs=5, batch_size=16, weight_decay=1e-2, reg=1e-2,
        seed=0, progress=False,
    ).fit(cycle())  # fmt: skip
    assert torch.count_nonzero(model.module_.items.weight[0]) == 0
    assert torch.count_nonzero(model.module_.items.weight[1:]) > 0


@pytest.mark.parametrize("loss", ["sampled", "bpr-max"])
def test_the_sampled_losses_learn_the_ring(loss: str) -> None:
    model = get(
        "caser", factors=16, max_len=3, dropout=0.0, loss=loss, negatives=8, epochs=60,
        lr=0.02, batch_size=60, seed=0, progress=False,
    ).fit(cycle())  # fmt: skip
    for i in range(8):
        ids, _ = model.recommend_for_history([(i - 1) % 8, i], k=1)
        assert ids[0, 0] == (i + 1) % 8, (loss, i, ids)


def two_tastes() -> Interactions:
    """24 users over 12 items: each alternates a common item (0–3) with one of its group's
    own items (4–7 for users 0–11, 8–11 for users 12–23). After a common item, which item
    comes next depends on the user's group, not on the item."""
    users, items, times = [], [], []
    for user in range(24):
        own = 4 if user < 12 else 8
        for t in range(8):
            users.append(user)
            items.append((user + t // 2) % 4 if t % 2 == 0 else own + (user + t // 2 * 3) % 4)
            times.append(t)
    return Interactions.from_arrays(users, items, None, times)


def test_an_anonymous_session_folds_in_its_own_taste() -> None:
    """Caser reading one item (max_len 1) cannot tell the groups apart after a common item;
    a session (common, own, common) can, through the user vector it folds in (fold_in > 0),
    which the users' mean (fold_in = 0) cannot: it names the same group for both."""
    model = get(
        "caser", factors=16, max_len=1, dropout=0.0, epochs=100, lr=0.02, batch_size=64,
        seed=0, progress=False,
    ).fit(two_tastes())  # fmt: skip
    hits = {0: 0, 10: 0}
    for steps in hits:
        model.fold_in = steps
        for start in range(12):
            for own in (4, 8):
                session = [start % 4, own + start % 4, (start + 1) % 4]
                ids, _ = model.recommend_for_history(session, k=1)
                hits[steps] += int(own <= ids[0, 0] < own + 4)
    assert hits[10] == 24, hits  # sessions whose next item is of their own group
    assert hits[0] <= 14, hits


def test_a_long_session_folds_in_only_its_newest_transitions(
    monkeypatch: pytest.MonkeyPatch,
) -> None:
    """Past the memory budget (cells of the [transitions, n_items] arrays) only the newest
    transitions are fitted: the older part of the session then changes nothing."""
    from recforge.models import caser as caser_module

    model = get(
        "caser", factors=16, max_len=1, dropout=0.0, epochs=20, lr=0.02, batch_size=64,
        seed=0, progress=False,
    ).fit(two_tastes())  # fmt: skip
    recent = [0, 8, 1, 9, 2]
    budget = caser_module.FOLD_IN_CELLS
    for older in ([4, 3, 5], [11, 3, 10]):
        monkeypatch.setattr(caser_module, "FOLD_IN_CELLS", 4 * model.n_items_)
        short = model._sequence_scores(np.array(recent))
        capped = model._sequence_scores(np.array(older + recent))
        np.testing.assert_allclose(capped, short, rtol=1e-5, atol=1e-6)
        monkeypatch.setattr(caser_module, "FOLD_IN_CELLS", budget)
        full = model._sequence_scores(np.array(older + recent))
        assert not np.allclose(full, short, rtol=1e-5, atol=1e-6)
