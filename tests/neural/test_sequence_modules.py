"""SASRecNet, in both layouts: causal, blind to padding, and the same in eval and training
mode."""

from __future__ import annotations

import pytest
import torch

from recforge.neural.sequence_modules import SASRecNet


@pytest.fixture(params=["post", "pre"])
def norm(request: pytest.FixtureRequest) -> str:
    return str(request.param)


def make_net(norm: str, positions_from: str = "newest") -> SASRecNet:
    torch.manual_seed(0)
    return SASRecNet(
        n_users=3, n_items=9, dim=8, max_len=6, blocks=2, heads=2, dropout=0.0, norm=norm,
        positions_from=positions_from,
    )  # fmt: skip


def test_states_are_finite_and_equal_in_eval_and_training_mode(norm: str) -> None:
    model = make_net(norm)
    seq = torch.tensor([[0, 0, 0, 0, 0, 4], [0, 0, 3, 1, 2, 9], [5, 6, 7, 8, 9, 1]])
    model.train()
    trained = model(seq)
    model.eval()
    with torch.no_grad():
        evaluated = model(seq)  # torch's fused inference path
    assert torch.isfinite(evaluated).all()
    torch.testing.assert_close(evaluated, trained.detach(), rtol=1e-5, atol=1e-5)


def test_a_position_never_sees_later_items(norm: str) -> None:
    model = make_net(norm).eval()
    a = torch.tensor([[0, 2, 3, 4, 5, 6]])
    b = torch.tensor([[0, 2, 3, 4, 9, 1]])  # differs from position 4 on
    with torch.no_grad():
        sa, sb = model(a), model(b)
    torch.testing.assert_close(sa[:, :4], sb[:, :4])
    assert not torch.allclose(sa[:, 4:], sb[:, 4:])


def test_padding_does_not_change_the_real_positions(norm: str) -> None:
    model = make_net(norm).eval()
    with torch.no_grad():
        padded = model(torch.tensor([[0, 0, 0, 0, 3, 7]]))
        bare = model(torch.tensor([[3, 7]]))  # the same items with no padding at all
    torch.testing.assert_close(padded[:, -2:], bare)
    assert torch.count_nonzero(model.items.weight[0]) == 0


def test_counted_from_the_oldest_item_a_prefix_gets_the_state_it_has_in_the_window(
    norm: str,
) -> None:
    """RecBole's positions: an item's position is the number of items before it in the
    window, so a window's column 2 and the 3-item prefix alone (padded) agree; counted from
    the newest item they do not, the prefix's newest item taking the last position."""
    window = torch.tensor([[4, 2, 7, 1, 5, 6]])
    prefix = torch.tensor([[0, 0, 0, 4, 2, 7]])
    oldest, newest = make_net(norm, "oldest").eval(), make_net(norm).eval()
    with torch.no_grad():
        torch.testing.assert_close(oldest(window)[:, :3], oldest(prefix)[:, 3:])
        assert not torch.allclose(newest(window)[:, :3], newest(prefix)[:, 3:])
        # padding still changes nothing, and the first item always has the first position
        torch.testing.assert_close(oldest(prefix)[:, 3:], oldest(torch.tensor([[4, 2, 7]])))


def test_attention_of_the_newest_position_sums_to_one_and_skips_padding(norm: str) -> None:
    model = make_net(norm).eval()
    seq = torch.tensor([[0, 0, 0, 5, 2, 9], [1, 2, 3, 4, 5, 6]])
    with torch.no_grad():
        weights = model.attention(seq)
    assert weights.shape == (2, 6)
    torch.testing.assert_close(weights.sum(dim=1), torch.ones(2))
    assert torch.all(weights[0, :3] == 0)
    assert torch.all(weights[1] > 0)


def test_the_layouts_differ_where_their_papers_do() -> None:
    """post (BERT's, RecBole's): layers normalise after the residual sum, weights start at
    std 0.02; pre (the SASRec paper's code): layers normalise first, a final norm."""
    post, pre = make_net("post"), make_net("pre")
    assert not post.blocks.layers[0].norm_first
    assert pre.blocks.layers[0].norm_first
    attention = post.blocks.layers[0].self_attn.in_proj_weight.detach()
    assert abs(float(attention.std()) - 0.02) < 0.005
    assert float(post.blocks.layers[0].self_attn.in_proj_bias.detach().abs().max()) == 0.0
    assert abs(float(pre.items.weight.detach()[1:].std()) - 8**-0.5) < 0.1
    # the attention explanation reads the last layer's input as that layer does
    seq = torch.tensor([[0, 0, 3, 1, 2, 9]])
    with torch.no_grad():
        x, mask = post.eval()._inputs(seq)
        x = post.blocks.layers[0](x, src_mask=mask)
        _, expected = post.blocks.layers[1].self_attn(x, x, x, attn_mask=mask)
        torch.testing.assert_close(post.attention(seq), expected[:, -1, :])


def test_ffn_dropout_drops_the_feed_forward_hidden_layer_and_nothing_else() -> None:
    """torch's layer drops the feed-forward's hidden layer with `dropout`, RecBole's does not:
    ffn_dropout sets that one rate apart from the others."""
    seq = torch.tensor([[0, 0, 3, 1, 2, 9], [5, 6, 7, 8, 9, 1]])
    torch.manual_seed(0)
    only_ffn = SASRecNet(3, 9, 8, 6, 2, 2, dropout=0.0, norm="post", ffn_dropout=0.5)
    with torch.no_grad():
        training = only_ffn.train()(seq)
        evaluated = only_ffn.eval()(seq)
    assert not torch.allclose(training, evaluated)  # the hidden layer was dropped
    torch.manual_seed(0)
    recbole_like = SASRecNet(3, 9, 8, 6, 2, 2, dropout=0.5, norm="post", ffn_dropout=0.0)
    for layer in recbole_like.blocks.layers:
        assert (layer.dropout.p, layer.dropout1.p, layer.dropout2.p) == (0.0, 0.5, 0.5)
        assert layer.self_attn.dropout == 0.5
    assert [layer.dropout.p for layer in make_net("post").blocks.layers] == [0.0, 0.0]
