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


def test_attention_is_the_masks_softmax_over_the_items_it_reads() -> None:
    """attention(seq): the last block's softmax(q·k / √d_head) of the MASK row, averaged over
    heads and recomputed here from the projection weights, column by column of `seq` (its
    column 0, which the MASK's sequence drops, −inf; padding 0); explain ranks a user's
    items by it."""
    fitted = model(blocks=2, heads=2).fit(cycle())
    net = fitted.module_
    seq = net.history[:3].clone()
    seq[2, :2] = 0  # a user with padding in front
    with torch.no_grad():
        weights = net.attention(seq)
        shifted = torch.cat([seq[:, 1:], torch.full_like(seq[:, :1], net.mask_code)], dim=1)
        x, mask = net._inputs(shifted)
        x = net.blocks.layers[0](x, src_mask=mask)
        last = net.blocks.layers[1]
        h = last.norm1(x)
        q, k, _ = (h @ last.self_attn.in_proj_weight.T + last.self_attn.in_proj_bias).chunk(3, -1)
        B, L, d = q.shape
        per_head = [
            torch.softmax(
                q[:, -1, None, j * d // 2 : (j + 1) * d // 2]
                @ k[:, :, j * d // 2 : (j + 1) * d // 2].transpose(1, 2)
                / (d / 2) ** 0.5
                + mask.view(B, 2, L, L)[:, j, -1:, :],
                dim=-1,
            )[:, 0]
            for j in range(2)
        ]
        expected = (per_head[0] + per_head[1]) / 2  # [B, L] over the shifted columns
    assert torch.isinf(weights[:, 0]).all()
    torch.testing.assert_close(weights[:, 1:], expected[:, :-1], rtol=1e-5, atol=1e-6)
    assert (weights[2, 1:2] == 0).all()  # padding (column 1 of user 2) gets nothing
    assert (weights[:, 1:].sum(dim=1) < 1).all()  # the MASK's weight on itself left out
    items, explained, how = fitted.explain(0, int(fitted.recommend([0], k=1)[0][0, 0]), n=3)
    assert how == "attention"
    order = np.argsort(-weights[0, 1:].numpy(), kind="stable")[:3]
    assert items.tolist() == (seq[0, 1:].numpy()[order] - 1).tolist()
    np.testing.assert_allclose(explained, weights[0, 1:].numpy()[order], rtol=1e-6)


def test_bert4rec_refuses_data_without_timestamps() -> None:
    data = Interactions.from_arrays([0, 0, 1], [0, 1, 1], [1.0, 1.0, 1.0])
    with pytest.raises(DataError, match="no timestamps; load them with a timestamp column"):
        get("bert4rec", epochs=1).fit(data)
