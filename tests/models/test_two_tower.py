"""The two-tower model: histories, leakage, the loss, embeddings, side features, new users."""

from __future__ import annotations

import json
from pathlib import Path

import numpy as np
import pytest
import torch
import torch.nn.functional as F  # noqa: N812

from recforge import load
from recforge.data import Feature, FeatureTable, Interactions, user_split
from recforge.evaluation import evaluate
from recforge.models import get
from recforge.neural.loop import Step
from recforge.neural.towers import recent_items

from .conformance import checkerboard, checkerboard_features


def user_features() -> FeatureTable:
    """Checkerboard users: a parity group and an age."""
    return FeatureTable(
        checkerboard().user_ids,
        [
            Feature.categorical("group", ["even" if u % 2 == 0 else "odd" for u in range(6)]),
            Feature.numeric("age", [20.0 + 5 * u for u in range(6)]),
        ],
    )


def test_recent_items_keeps_the_newest_in_time_order() -> None:
    data = Interactions.from_arrays(
        ["a", "a", "a", "b", "c", "c"],
        ["x", "y", "z", "y", "z", "x"],
        timestamps=[30, 10, 20, 5, 1, 1],
    )
    x, y, z = (int(data.item_ids.to_index([name])[0]) + 1 for name in "xyz")
    a, b, c = (int(data.user_ids.to_index([name])[0]) for name in "abc")
    two = recent_items(data, 2)
    assert two[a].tolist() == [z, x]  # y (t=10) is the oldest of three: dropped
    assert two[b].tolist() == [y, 0]
    assert sorted(two[c].tolist()) == sorted([z, x])  # equal times: by item index
    assert recent_items(data, 4)[a].tolist() == [y, z, x, 0]


def test_history_buffer_and_tower_shapes_follow_the_parameters() -> None:
    model = get("twotower", factors=8, hidden=16, hidden_layers=2, history_len=2, epochs=1)
    model.fit(checkerboard())
    net = model.module_
    assert net.history.shape == (6, 2)
    widths = [(m.in_features, m.out_features) for m in net.user_mlp if hasattr(m, "in_features")]
    assert widths == [(2 * 8, 16), (16, 16), (16, 8)]  # [user id, pooled history] → 16 → 16 → 8
    linear = get("twotower", factors=8, hidden_layers=0, epochs=1).fit(checkerboard())
    assert [type(m).__name__ for m in linear.module_.item_mlp] == ["Linear"]


def test_pooled_history_leaves_out_the_examples_own_item() -> None:
    model = get("twotower", cold_dropout=0.0, epochs=2, seed=0).fit(checkerboard())
    net = model.module_
    table = net.item_ids.weight.detach()
    user, item = torch.tensor([4]), torch.tensor([4])  # user 4 saw items 0, 2 and 4
    assert sorted(net.history[4][net.history[4] > 0].tolist()) == [1, 3, 5]
    pooled = net.pool(net.history[user], exclude=item)
    torch.testing.assert_close(pooled[0], (table[0] + table[2]) / 2)
    torch.testing.assert_close(net.pool(net.history[user])[0], table[[0, 2, 4]].mean(0))
    fields = net.user_fields(user).flatten(1)
    by_hand = F.normalize(net.user_mlp(torch.cat([fields, pooled], dim=1)), dim=-1)
    torch.testing.assert_close(net.users(user, exclude=item), by_hand)


@pytest.mark.parametrize("loss", ["in_batch", "sampled"])
def test_batch_loss_is_the_corrected_softmax_over_the_candidates(loss: str) -> None:
    model = get(
        "twotower",
        loss=loss,
        negatives=3,
        sampler="uniform",
        temperature=0.5,
        cold_dropout=0.0,
        epochs=2,
        seed=0,
    ).fit(checkerboard())
    net = model.module_
    users, items = torch.tensor([0, 3, 4, 1]), torch.tensor([2, 5, 4, 3])
    got = model._batch_loss(net, (users, items), Step(0, 0, torch.Generator().manual_seed(5)))
    ids = items
    if loss == "sampled":
        extra = torch.randint(6, (3,), generator=torch.Generator().manual_seed(5))
        ids = torch.cat([items, extra])
    counts = torch.tensor(checkerboard().item_counts(), dtype=torch.float64)
    # The expected count of each candidate among a batch's: B·f_i (+ S·q_i, q uniform).
    expected = 4 * counts / counts.sum() + (3 / 6 if loss == "sampled" else 0.0)
    queries = torch.stack([net.users(users[[b]], exclude=items[[b]])[0] for b in range(4)])
    logits = (queries @ net.items(ids).T).double() / 0.5 - torch.log(expected[ids])[None, :]
    hits = items[:, None] == ids[None, :]
    hits[torch.arange(4), torch.arange(4)] = False
    logits[hits] = -torch.inf
    want = F.cross_entropy(logits, torch.arange(4))
    assert float(got.detach()) == pytest.approx(float(want.detach()), rel=1e-5)


def test_cold_dropout_hides_the_user_fields() -> None:
    for rate, trained in ((1.0, False), (0.0, True)):
        model = get("twotower", cold_dropout=rate, epochs=1, seed=0).fit(checkerboard())
        net = model.module_
        net.zero_grad()
        batch = (torch.tensor([0, 1, 2]), torch.tensor([0, 1, 2]))
        loss = model._batch_loss(net, batch, Step(0, 0, torch.Generator().manual_seed(0)))
        loss.backward()
        grad = net.user_fields.embeddings["f0"].weight.grad
        assert (grad is not None and bool(grad.abs().sum() > 0)) is trained


def test_embeddings_reproduce_the_scores() -> None:
    model = get("twotower", factors=16, seed=0).fit(checkerboard())
    items = model.item_embeddings()
    assert items.shape == (6, 16)
    assert items.dtype == np.float32
    np.testing.assert_allclose(np.linalg.norm(items, axis=1), 1.0, atol=1e-6)
    users = model.user_embeddings([3, 0, 5])
    assert users.shape == (3, 16)
    np.testing.assert_allclose(users @ items.T, model.score([3, 0, 5]), atol=1e-6)
    ids, sims = model.similar_items([1], k=5)
    np.testing.assert_allclose(sims[0], (items[1] @ items.T)[ids[0]], atol=1e-6)


def test_new_user_uses_zero_user_fields_and_the_mean_history() -> None:
    model = get("twotower", seed=0).fit(checkerboard(), user_features=user_features())
    net = model.module_
    history = torch.tensor([[1, 3]])  # items 0 and 2
    width = (net.user_fields.n_fields) * 64
    pooled = net.item_ids.weight[[0, 2]].mean(0, keepdim=True)
    x = torch.cat([torch.zeros(1, width), pooled], dim=1)
    user = F.normalize(net.user_mlp(x), dim=-1)
    expected = (user @ net.items().T).detach().numpy()[0]
    np.testing.assert_allclose(net.new_users(history).detach().numpy(), user.detach().numpy())
    ids, scores = model.recommend_for_history([2, 0], k=4)
    assert not {0, 2} & set(ids[0].tolist())
    np.testing.assert_allclose(scores[0], expected[ids[0]], atol=1e-6)


@pytest.mark.parametrize("loss", ["in_batch", "sampled"])
def test_recommend_for_history_puts_the_historys_parity_first(loss: str) -> None:
    model = get("twotower", loss=loss, negatives=4, seed=1).fit(checkerboard())
    for history in ([0], [1], [0, 2], [1, 3], [0, 4], [3, 5], [1, 5], [2, 4]):
        ids, _ = model.recommend_for_history(history, k=3)
        assert ids[0, 0] % 2 == history[0] % 2, (history, ids)


def test_side_features_are_used_saved_and_loaded(tmp_path: Path) -> None:
    data = checkerboard()
    model = get("twotower", factors=8, seed=0)
    model.fit(data, user_features=user_features(), item_features=checkerboard_features())
    users = [s["name"] for s in json.loads(model.user_fields_)]
    items = [s["name"] for s in json.loads(model.item_fields_)]
    assert users == ["id", "group", "age"]
    assert items == ["id", "parity", "tags"]  # the text title is left out
    assert model.module_.user_mlp[0].in_features == 4 * 8  # 3 user fields + the history
    assert model.module_.item_mlp[0].in_features == 3 * 8
    loaded = load(model.save(tmp_path / "m.npz"))
    assert loaded.user_fields_ == model.user_fields_
    assert loaded.item_fields_ == model.item_fields_
    for name, value in model.module_.state_dict().items():
        torch.testing.assert_close(loaded.module_.state_dict()[name], value)
    np.testing.assert_array_equal(loaded.score(np.arange(6)), model.score(np.arange(6)))
    np.testing.assert_array_equal(
        loaded.recommend_for_history([1, 3], k=2)[0], model.recommend_for_history([1, 3], k=2)[0]
    )
    # The features reach the towers: changing a user's age changes only their scores.
    numbers = model.module_.user_fields.numbers
    before = model.score(np.arange(6))
    numbers[2] += 3.0
    after = model.score(np.arange(6))
    assert not np.allclose(after[2], before[2])
    np.testing.assert_array_equal(np.delete(after, 2, axis=0), np.delete(before, 2, axis=0))


@pytest.mark.ml100k
def test_two_tower_beats_popularity_on_movielens_100k(ml100k: Interactions) -> None:
    split = user_split(ml100k, test=0.2, order="time")
    popular = get("popularity").fit(split.train)
    base = evaluate(popular, split.test, train=split.train, k=10, metrics=["ndcg"])["ndcg@10"]
    model = get("twotower", epochs=2, lr=1e-2, seed=0, progress=False)
    model.fit(split.train)
    got = evaluate(model, split.test, train=split.train, k=10, metrics=["ndcg"])["ndcg@10"]
    assert got > base + 0.02, (got, base)
