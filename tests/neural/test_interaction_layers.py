"""The feature-interaction building blocks, checked against explicit formulas."""

from __future__ import annotations

import numpy as np
import pytest
import torch
from hypothesis import given, settings
from hypothesis import strategies as st
from torch import nn

from recforge.data.features import Feature, FeatureTable
from recforge.data.idmap import IdMap
from recforge.neural.fields import EntityFields
from recforge.neural.interaction_layers import (
    CrossNetV2,
    CrossTower,
    DeepTower,
    FieldInteractionNet,
    FMInteraction,
    InteractingLayer,
    InteractingTower,
    PairFields,
    first_order,
    fm_pairwise,
)

shapes = st.tuples(st.integers(1, 4), st.integers(1, 6), st.integers(1, 5))


def tensor(shape: tuple[int, ...], seed: int) -> torch.Tensor:
    return torch.from_numpy(np.random.default_rng(seed).normal(size=shape))


@settings(deadline=None, max_examples=60)
@given(shape=shapes, seed=st.integers(0, 2**16))
def test_fm_trick_equals_the_explicit_pairwise_sum(shape: tuple[int, int, int], seed: int) -> None:
    v = tensor(shape, seed)
    n, f, _ = shape
    explicit = np.zeros(n)
    for i in range(f):
        for j in range(i + 1, f):
            explicit += (v[:, i] * v[:, j]).sum(-1).numpy()
    np.testing.assert_allclose(fm_pairwise(v).numpy(), explicit, atol=1e-10)
    np.testing.assert_allclose(FMInteraction()(v).numpy(), explicit, atol=1e-10)


def test_fm_of_two_fields_is_their_dot_product() -> None:
    v = torch.tensor([[[1.0, 2.0], [3.0, -1.0]]])
    assert fm_pairwise(v).tolist() == [1.0]  # 1·3 + 2·(−1)


def test_first_order_sums_one_dimensional_fields() -> None:
    w = torch.tensor([[[0.5], [-1.0], [2.0]], [[0.0], [1.0], [1.0]]])
    assert first_order(w).tolist() == [1.5, 2.0]


@settings(deadline=None, max_examples=30)
@given(n=st.integers(1, 4), dim=st.integers(1, 6), seed=st.integers(0, 2**16))
def test_cross_layer_by_hand(n: int, dim: int, seed: int) -> None:
    torch.manual_seed(seed)
    net = CrossNetV2(dim, 2).double()
    x0 = tensor((n, dim), seed)
    w1, b1 = (t.detach().numpy() for t in (net.layers[0].weight, net.layers[0].bias))
    w2, b2 = (t.detach().numpy() for t in (net.layers[1].weight, net.layers[1].bias))
    x = x0.numpy()
    x1 = x * (x @ w1.T + b1) + x  # x0 ⊙ (W x + b) + x
    x2 = x * (x1 @ w2.T + b2) + x1
    np.testing.assert_allclose(net(x0).detach().numpy(), x2, atol=1e-10)


def test_cross_network_without_layers_is_the_identity() -> None:
    x0 = torch.randn(3, 4)
    assert torch.equal(CrossNetV2(4, 0)(x0), x0)


def attention_by_hand(layer: InteractingLayer, e: np.ndarray) -> np.ndarray:
    """The same layer with explicit loops over rows, heads and fields."""
    wq, wk, wv, wr = (
        m.weight.detach().numpy() for m in (layer.query, layer.key, layer.value, layer.residual)
    )
    h, a = layer.heads, layer.head_dim
    n, f, _ = e.shape
    out = np.zeros((n, f, h * a))
    for r in range(n):
        q, k, v = e[r] @ wq.T, e[r] @ wk.T, e[r] @ wv.T
        for head in range(h):
            cols = slice(head * a, (head + 1) * a)
            for i in range(f):
                logits = np.array([q[i, cols] @ k[j, cols] for j in range(f)]) / np.sqrt(a)
                weights = np.exp(logits - logits.max())
                weights /= weights.sum()
                out[r, i, cols] = sum(weights[j] * v[j, cols] for j in range(f))
        out[r] += e[r] @ wr.T
    return np.maximum(out, 0.0)


@settings(deadline=None, max_examples=25)
@given(
    shape=shapes,
    heads=st.integers(1, 3),
    head_dim=st.integers(1, 4),
    seed=st.integers(0, 2**16),
)
def test_interacting_layer_by_hand(
    shape: tuple[int, int, int], heads: int, head_dim: int, seed: int
) -> None:
    torch.manual_seed(seed)
    layer = InteractingLayer(shape[2], heads, head_dim).double()
    e = tensor(shape, seed)
    out = layer(e)
    assert out.shape == (shape[0], shape[1], heads * head_dim)
    np.testing.assert_allclose(
        out.detach().numpy(), attention_by_hand(layer, e.numpy()), atol=1e-10
    )


@settings(deadline=None, max_examples=25)
@given(shape=shapes, seed=st.integers(0, 2**16))
def test_interacting_layer_commutes_with_permuting_fields(
    shape: tuple[int, int, int], seed: int
) -> None:
    torch.manual_seed(seed)
    layer = InteractingLayer(shape[2], 2, 3).double()
    e = tensor(shape, seed)
    perm = torch.from_numpy(np.random.default_rng(seed).permutation(shape[1]))
    torch.testing.assert_close(layer(e[:, perm]), layer(e)[:, perm])


def test_interacting_layer_residual_when_attention_is_silent() -> None:
    # With zero values every head outputs 0: the layer is ReLU(e W_res) exactly.
    torch.manual_seed(0)
    layer = InteractingLayer(4, 2, 3)
    with torch.no_grad():
        layer.value.weight.zero_()
    e = torch.randn(5, 3, 4)
    expected = torch.relu(e @ layer.residual.weight.T)
    torch.testing.assert_close(layer(e), expected)
    assert (expected > 0).any()
    assert (expected == 0).any()


@pytest.mark.parametrize(
    "tower",
    [
        DeepTower(3, 4, [8, 5], 0.0),
        DeepTower(3, 4, [], 0.0),
        CrossTower(3, 4, 2, [6], 0.0),
        InteractingTower(3, 4, 2, 3),
    ],
)
def test_towers_give_one_logit_per_row(tower: nn.Module) -> None:
    assert tower(torch.randn(7, 3, 4)).shape == (7,)


def test_deep_tower_without_hidden_layers_is_linear() -> None:
    torch.manual_seed(0)
    tower = DeepTower(2, 3, [], 0.0)
    v = torch.randn(4, 2, 3)
    (linear,) = tower.mlp
    assert isinstance(linear, nn.Linear)
    torch.testing.assert_close(tower(v), v.flatten(1) @ linear.weight[0] + linear.bias[0])


def test_cross_tower_stacks_the_cross_network_under_the_mlp() -> None:
    torch.manual_seed(0)
    tower = CrossTower(2, 3, 1, [], 0.0)
    v = torch.randn(4, 2, 3)
    (linear,) = tower.mlp
    assert isinstance(linear, nn.Linear)
    expected = tower.cross(v.flatten(1)) @ linear.weight[0] + linear.bias[0]
    torch.testing.assert_close(tower(v), expected)


# ---------------------------------------------------------------------- the field stack
def pair_fields(dim: int, with_context: bool = True) -> PairFields:
    users = FeatureTable(IdMap(np.arange(3)), [Feature.categorical("group", ["a", "b", "a"])])
    items = FeatureTable(
        IdMap(np.arange(4)),
        [
            Feature.multi_hot("tags", [["x"], ["x", "y"], [], ["y"]]),
            Feature.numeric("year", [1.0, 2.0, 3.0, None]),
        ],
    )
    contexts = FeatureTable(IdMap(np.arange(2)), [Feature.categorical("slot", ["am", "pm"])])
    return PairFields(
        EntityFields.from_table(3, users, dim),
        EntityFields.from_table(4, items, dim),
        EntityFields.from_table(2, contexts, dim, with_id=False) if with_context else None,
    )


def fm_net() -> FieldInteractionNet:
    torch.manual_seed(0)
    net = FieldInteractionNet(pair_fields(4), pair_fields(1), [FMInteraction()], n_users=3)
    with torch.no_grad():
        for p in net.parameters():
            p.normal_()  # away from the small initial values, so every part counts
    return net


def test_pair_fields_stack_user_context_and_item_fields() -> None:
    fields = pair_fields(4)
    assert fields.n_fields == 2 + 1 + 3  # user id, group; slot; item id, tags, year
    assert fields.query(torch.tensor([0, 2]), torch.tensor([1, 0])).shape == (2, 3, 4)
    assert fields.items(torch.tensor([[0, 1, 3], [2, 2, 0]])).shape == (2, 3, 3, 4)
    torch.testing.assert_close(
        fields.items(torch.tensor([[0, 1], [3, 2]]))[1, 0], fields.item(torch.tensor([3]))[0]
    )


def test_fm_net_logit_by_hand() -> None:
    net = fm_net()
    users, items, contexts = (
        torch.tensor([0, 2]),
        torch.tensor([[1, 3], [0, 2]]),
        torch.tensor([1, 0]),
    )
    logits, size = net(users, items, contexts)
    assert net.linear is not None
    assert net.bias is not None
    assert net.fields.context is not None
    assert net.linear.context is not None
    for b in range(2):
        for k in range(2):
            u, i, c = users[b : b + 1], items[b, k : k + 1], contexts[b : b + 1]
            v = torch.cat([net.fields.user(u), net.fields.context(c), net.fields.item(i)], 1)
            w = torch.cat([net.linear.user(u), net.linear.context(c), net.linear.item(i)], 1)
            pairs = sum(
                (v[0, f] * v[0, g]).sum()
                for f in range(v.shape[1])
                for g in range(f + 1, v.shape[1])
            )
            expected = net.bias + w.sum() + pairs
            torch.testing.assert_close(logits[b, k], expected)
    # the L2 size: mean over pairs of the squared norms of their fields, both widths
    q = net.fields.query(users, contexts).pow(2).sum((1, 2)).mean()
    q1 = net.linear.query(users, contexts).pow(2).sum((1, 2)).mean()
    it = net.fields.items(items).pow(2).sum((2, 3)).mean()
    it1 = net.linear.items(items).pow(2).sum((2, 3)).mean()
    torch.testing.assert_close(size, q + q1 + it + it1)


def test_shared_items_broadcast_like_per_user_items() -> None:
    net = fm_net()
    users, contexts = torch.tensor([0, 1, 2]), torch.tensor([0, 1, 1])
    all_items = torch.arange(4)
    shared = net.combine(net.query_side(users, contexts), net.item_side(all_items))
    own = net(users, all_items.expand(3, 4), contexts)[0]
    assert shared.shape == (3, 4)
    torch.testing.assert_close(shared, own)


def test_net_without_linear_part_has_no_bias() -> None:
    torch.manual_seed(0)
    net = FieldInteractionNet(pair_fields(4, with_context=False), None, [FMInteraction()], 3)
    assert net.bias is None
    users, items = torch.tensor([1]), torch.tensor([[0, 3]])
    logits, _ = net(users, items, torch.zeros(1, dtype=torch.int64))
    v = torch.cat([net.fields.user(users).expand(2, -1, -1), net.fields.item(items[0])], 1)
    torch.testing.assert_close(logits[0], fm_pairwise(v))
