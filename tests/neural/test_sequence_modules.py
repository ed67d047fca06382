"""SASRecNet: causal, blind to padding, and the same in eval and training mode."""

from __future__ import annotations

import torch

from recforge.neural.sequence_modules import SASRecNet


def net() -> SASRecNet:
    torch.manual_seed(0)
    return SASRecNet(n_users=3, n_items=9, dim=8, max_len=6, blocks=2, heads=2, dropout=0.0)


def test_states_are_finite_and_equal_in_eval_and_training_mode() -> None:
    model = net()
    seq = torch.tensor([[0, 0, 0, 0, 0, 4], [0, 0, 3, 1, 2, 9], [5, 6, 7, 8, 9, 1]])
    model.train()
    trained = model(seq)
    model.eval()
    with torch.no_grad():
        evaluated = model(seq)  # torch's fused inference path
    assert torch.isfinite(evaluated).all()
    torch.testing.assert_close(evaluated, trained.detach(), rtol=1e-5, atol=1e-5)


def test_a_position_never_sees_later_items() -> None:
    model = net().eval()
    a = torch.tensor([[0, 2, 3, 4, 5, 6]])
    b = torch.tensor([[0, 2, 3, 4, 9, 1]])  # differs from position 4 on
    with torch.no_grad():
        sa, sb = model(a), model(b)
    torch.testing.assert_close(sa[:, :4], sb[:, :4])
    assert not torch.allclose(sa[:, 4:], sb[:, 4:])


def test_padding_does_not_change_the_real_positions() -> None:
    model = net().eval()
    with torch.no_grad():
        padded = model(torch.tensor([[0, 0, 0, 0, 3, 7]]))
        bare = model(torch.tensor([[3, 7]]))  # the same items with no padding at all
    torch.testing.assert_close(padded[:, -2:], bare)
    assert torch.count_nonzero(model.items.weight[0]) == 0


def test_attention_of_the_newest_position_sums_to_one_and_skips_padding() -> None:
    model = net().eval()
    seq = torch.tensor([[0, 0, 0, 5, 2, 9], [1, 2, 3, 4, 5, 6]])
    with torch.no_grad():
        weights = model.attention(seq)
    assert weights.shape == (2, 6)
    torch.testing.assert_close(weights.sum(dim=1), torch.ones(2))
    assert torch.all(weights[0, :3] == 0)
    assert torch.all(weights[1] > 0)
