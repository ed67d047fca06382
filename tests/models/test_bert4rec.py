"""BERT4Rec beyond the conformance suite: how it masks its training windows, what it reads to
predict, and what it refuses."""

from __future__ import annotations

from typing import Any

import numpy as np
import pytest
import torch

from recforge.data import Interactions
from recforge.data.sequences import history_windows
from recforge.errors import DataError
from recforge.models import get
from recforge.neural.loop import Step

from .answers_sequence import cycle

MAX_LEN = 4


def model(**params: Any) -> Any:
    """An unfitted BERT4Rec (making training rows needs only its parameters); one copy of each
    window unless asked."""
    defaults = {"factors": 8, "heads": 1, "blocks": 1, "inner_size": 16, "max_len": MAX_LEN}
    defaults["copies"] = 1
    return get("bert4rec", epochs=2, seed=0, progress=False, **(defaults | params))


def cloze(bert4rec: Any, seed: int = 0) -> tuple[torch.Tensor, torch.Tensor, torch.Tensor]:
    """The windows of the ring and the (inputs, masked) rows the model trains on."""
    (windows,) = bert4rec._examples(cycle())
    generator = torch.Generator().manual_seed(seed)
    inputs, masked = bert4rec._cloze(windows, Step(0, 0, generator))
    return windows, inputs, masked


def test_every_item_is_in_one_training_window() -> None:
    (windows,) = model()._examples(cycle())
    np.testing.assert_array_equal(windows.numpy(), history_windows(cycle().histories(), MAX_LEN))
    assert windows.shape == (24, MAX_LEN)  # 6 items a user: 2 oldest (padded), then 4


def test_copies_repeat_every_window_and_mask_each_copy_afresh() -> None:
    (windows,) = model(copies=3)._examples(cycle())
    once = history_windows(cycle().histories(), MAX_LEN)
    np.testing.assert_array_equal(windows.numpy(), np.concatenate([once] * 3))
    generator = torch.Generator().manual_seed(0)
    _, masked = model(copies=3, next_item_ratio=0.0)._cloze(windows, Step(0, 0, generator))
    first, second, third = masked.split(once.shape[0])
    assert not (torch.equal(first, second) and torch.equal(second, third))


def test_cloze_rows_mask_at_least_one_real_item_and_never_padding() -> None:
    for ratio, most in ((1e-9, 1), (0.5, MAX_LEN), (1.0, MAX_LEN)):
        windows, inputs, masked = cloze(model(next_item_ratio=0.0, mask_ratio=ratio))
        torch.testing.assert_close(inputs, windows)  # the whole window, as it is
        counts = masked.sum(dim=1)
        assert (counts >= 1).all()
        assert (counts <= most).all()
        assert not (masked & (windows == 0)).any()
        if ratio == 1.0:
            assert torch.equal(masked, windows > 0)
    _, _, once = cloze(model(next_item_ratio=0.0, mask_ratio=1e-9))
    _, _, again = cloze(model(next_item_ratio=0.0, mask_ratio=1e-9))
    assert torch.equal(once, again)  # the loop's generator decides
    _, _, other = cloze(model(next_item_ratio=0.0, mask_ratio=1e-9), seed=1)
    assert not torch.equal(once, other)


def test_next_item_rows_are_prefixes_with_their_newest_item_masked() -> None:
    windows, inputs, masked = cloze(model(next_item_ratio=1.0))
    assert masked[:, -1].all()
    assert not masked[:, :-1].any()
    lengths = set()
    for window, row in zip(windows.tolist(), inputs.tolist(), strict=True):
        items = [c for c in window if c]
        kept = [c for c in row if c]
        assert items[: len(kept)] == kept  # a prefix of the window's items,
        assert row == [0] * (MAX_LEN - len(kept)) + kept  # right-aligned
        lengths.add(len(kept))
    assert lengths == {1, 2, 3, 4}  # the prefixes of every length get trained


def test_scores_read_the_newest_items_then_the_mask() -> None:
    fitted = model().fit(cycle())
    net = fitted.module_
    users = np.arange(12)
    history = net.history.clone()
    inputs = torch.cat([history[:, 1:], torch.full((12, 1), net.mask_code)], dim=1)
    with torch.no_grad():
        expected = net(inputs)[:, -1] @ net.item_vectors(None).T
    np.testing.assert_allclose(fitted.score(users), expected.numpy(), rtol=1e-5, atol=1e-5)
    # a session of a user's items gets the user's scores (the seen items excluded both ways)
    for u in (0, 5):
        ids, scores = fitted.recommend_for_history(cycle().histories().of(u), k=2)
        want_ids, want_scores = fitted.recommend([u], k=2)
        np.testing.assert_array_equal(ids, want_ids)
        np.testing.assert_allclose(scores, want_scores, rtol=1e-5)


def test_bert4rec_refuses_data_without_timestamps() -> None:
    data = Interactions.from_arrays([0, 0, 1], [0, 1, 1], [1.0, 1.0, 1.0])
    with pytest.raises(DataError, match="no timestamps; load them with a timestamp column"):
        get("bert4rec", epochs=1).fit(data)
