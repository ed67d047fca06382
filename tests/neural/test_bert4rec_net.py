"""BERT4RecNet: bidirectional, blind to padding, finite on empty rows, the same in eval and
training mode, and its MASK token an input only."""

from __future__ import annotations

import torch

from recforge.neural.bert4rec_net import BERT4RecNet

MASK = 10  # n_items + 1


def net() -> BERT4RecNet:
    torch.manual_seed(0)
    return BERT4RecNet(
        n_users=3, n_items=9, dim=8, max_len=6, blocks=2, heads=2, inner_size=16, dropout=0.0
    )


def test_states_are_finite_and_equal_in_eval_and_training_mode() -> None:
    model = net()
    seq = torch.tensor([
        [0, 0, 0, 0, 0, 0], [0, 0, 0, 0, 0, 4], [0, 0, 3, 1, 2, MASK], [5, MASK, 7, 8, 9, 1],
    ])  # fmt: skip
    model.train()
    trained = model(seq)
    model.eval()
    with torch.no_grad():
        evaluated = model(seq)  # torch's fused inference path
        alone = model(seq[:1])  # a batch of nothing but padding
    assert torch.isfinite(evaluated).all()
    assert torch.isfinite(alone).all()
    torch.testing.assert_close(evaluated, trained.detach(), rtol=1e-5, atol=1e-5)
    with torch.no_grad():
        assert torch.isfinite(model.last_state(torch.zeros(2, 6, dtype=torch.long))).all()


def test_a_position_sees_later_items() -> None:
    model = net().eval()
    a = torch.tensor([[0, 2, 3, 4, 5, 6]])
    b = torch.tensor([[0, 2, 3, 4, 9, 1]])  # differs from position 4 on
    with torch.no_grad():
        sa, sb = model(a), model(b)
    for position in range(1, 4):  # every earlier real position reads the change
        assert not torch.allclose(sa[0, position], sb[0, position])


def test_padding_does_not_change_the_real_positions() -> None:
    model = net().eval()
    with torch.no_grad():
        padded = model(torch.tensor([[0, 0, 0, 3, 7, MASK]]))
        bare = model(torch.tensor([[3, 7, MASK]]))  # the same items with no padding at all
    torch.testing.assert_close(padded[:, -3:], bare)
    assert torch.count_nonzero(model.items.weight[0]) == 0


def test_last_state_reads_the_newest_items_then_the_mask() -> None:
    model = net().eval()
    seq = torch.tensor([[1, 2, 3, 4, 5, 6], [9, 2, 3, 4, 5, 6], [0, 0, 0, 0, 8, 2]])
    with torch.no_grad():
        states = model.last_state(seq)
        expected = model(torch.tensor([[2, 3, 4, 5, 6, MASK], [0, 0, 0, 8, 2, MASK]]))[:, -1]
    torch.testing.assert_close(states[0], states[1])  # the oldest item is dropped
    torch.testing.assert_close(states[[0, 2]], expected)
    assert states.shape == (3, 9)
    assert (states[:, -1] == 1).all()  # the bias column


def test_the_mask_token_is_never_scored() -> None:
    model = net()
    with torch.no_grad():
        model.item_bias.copy_(torch.arange(9.0))
    vectors = model.item_vectors(None)
    assert vectors.shape == (9, 9)  # n_items rows: not the padding, not the MASK
    torch.testing.assert_close(vectors[:, :-1], model.items.weight[1:10])
    torch.testing.assert_close(vectors[:, -1], torch.arange(9.0))
    torch.testing.assert_close(model.item_vectors(torch.tensor([4, 0])), vectors[[4, 0]])
