"""GRU4RecNet: blind to the left padding of right-aligned windows, causal, and the same in
eval and training mode without dropout."""

from __future__ import annotations

import pytest
import torch

from recforge.neural.gru4rec_net import GRU4RecNet


def net(layers: int = 1, dropout: float = 0.0) -> GRU4RecNet:
    torch.manual_seed(0)
    return GRU4RecNet(
        n_users=3, n_items=9, dim=8, hidden=12, layers=layers, max_len=5, dropout=dropout
    )


@pytest.mark.parametrize("layers", [1, 2])
def test_padding_does_not_change_the_real_positions(layers: int) -> None:
    model = net(layers).eval()
    with torch.no_grad():
        # each row has its own amount of padding, so each is rotated by its own shift
        padded = model(torch.tensor([[0, 0, 0, 3, 7], [0, 1, 3, 7, 2], [0, 0, 0, 0, 0]]))
        bare = model(torch.tensor([[3, 7]]))  # the same items with no padding at all
        longer = model(torch.tensor([[1, 3, 7, 2]]))
    torch.testing.assert_close(padded[0, -2:], bare[0])
    torch.testing.assert_close(padded[1, 1:], longer[0])
    assert torch.count_nonzero(padded[0, :3]) == 0  # padding positions have zero states
    assert torch.count_nonzero(padded[2]) == 0  # so does a row of padding only
    assert torch.count_nonzero(model.items.weight[0]) == 0


@pytest.mark.parametrize("layers", [1, 2])
def test_a_position_never_sees_later_items(layers: int) -> None:
    model = net(layers).eval()
    a = torch.tensor([[0, 2, 3, 4, 5]])
    b = torch.tensor([[0, 2, 3, 9, 1]])  # differs from position 3 on
    with torch.no_grad():
        sa, sb = model(a), model(b)
    torch.testing.assert_close(sa[:, :3], sb[:, :3])
    assert not torch.allclose(sa[:, 3:], sb[:, 3:])


@pytest.mark.parametrize("layers", [1, 2])
def test_states_are_finite_and_equal_in_eval_and_training_mode(layers: int) -> None:
    model = net(layers)
    seq = torch.tensor([[0, 0, 0, 0, 0], [0, 0, 0, 0, 4], [0, 3, 1, 2, 9], [5, 6, 7, 8, 9]])
    model.train()
    trained = model(seq)
    model.eval()
    with torch.no_grad():
        evaluated = model(seq)
    assert torch.isfinite(evaluated).all()
    torch.testing.assert_close(evaluated, trained.detach())
    torch.testing.assert_close(model.last_state(seq), evaluated[:, -1])


def test_dropout_acts_in_training_mode_only() -> None:
    model = net(layers=2, dropout=0.5)
    seq = torch.tensor([[0, 3, 1, 2, 9]])
    model.eval()
    with torch.no_grad():
        first, again = model(seq), model(seq)
        model.train()
        dropped = model(seq)
    torch.testing.assert_close(first, again)
    assert not torch.allclose(first, dropped)


def test_item_vectors_are_the_tied_input_embeddings() -> None:
    model = net()
    items = torch.tensor([0, 4, 8])
    torch.testing.assert_close(model.item_vectors(items), model.items.weight[items + 1])
    torch.testing.assert_close(model.item_vectors(None)[items], model.item_vectors(items))
    assert model.item_vectors(None).shape == (9, 8)
