"""LightGCN: the normalised adjacency, propagation, its gradient, the loss, the score cache."""

from __future__ import annotations

from pathlib import Path

import numpy as np
import pytest
import scipy.sparse as sp
import torch

from recforge import load
from recforge.artifact import ARRAYS_FILE
from recforge.data import Interactions, user_split
from recforge.evaluation import evaluate
from recforge.models import get
from recforge.neural import losses
from recforge.neural.graph import LightGCNEncoder, normalized_adjacency, sparse_tensor
from recforge.neural.loop import Step

from .answers_graph_towers import dense_adjacency
from .conformance import checkerboard


def numpy_final(model: object, layers: int) -> tuple[np.ndarray, np.ndarray]:
    """The mean of E⁰ … E^K recomputed densely from the model's weights."""
    module = model.module_  # type: ignore[attr-defined]
    E = np.concatenate(
        [
            module.user_embedding.weight.detach().cpu().numpy(),
            module.item_embedding.weight.detach().cpu().numpy(),
        ]
    ).astype(np.float64)
    A = dense_adjacency(model.seen_.toarray())  # type: ignore[attr-defined]
    total, x = E.copy(), E
    for _ in range(layers):
        x = A @ x
        total += x
    final = total / (layers + 1)
    n_users = model.n_users_  # type: ignore[attr-defined]
    return final[:n_users], final[n_users:]


def test_adjacency_of_an_item_without_interactions_has_a_zero_row() -> None:
    seen = sp.csr_array(np.array([[1, 0, 1], [1, 0, 0]], dtype=np.float32))
    A = normalized_adjacency(seen).toarray()
    assert np.isfinite(A).all()
    np.testing.assert_array_equal(A[2 + 1], 0.0)  # item 1: no user
    np.testing.assert_allclose(A, dense_adjacency(seen.toarray()), atol=1e-7)
    np.testing.assert_allclose(A, A.T)


def test_propagation_gradient_matches_dense_autograd() -> None:
    A = normalized_adjacency(checkerboard().binary())
    torch.manual_seed(0)
    module = LightGCNEncoder(6, 6, 3, 2, sparse_tensor(A))
    users, items = module.propagate()
    weights = torch.randn(6, 3)
    (users * weights).sum().add((items * weights.flip(0)).sum()).backward()
    dense = torch.tensor(A.toarray(), dtype=torch.float64)
    E = torch.cat([module.user_embedding.weight, module.item_embedding.weight]).detach().double()
    E.requires_grad_(True)
    final = (E + dense @ E + dense @ (dense @ E)) / 3
    (final[:6] * weights.double()).sum().add(
        (final[6:] * weights.flip(0).double()).sum()
    ).backward()
    assert E.grad is not None
    got = torch.cat([module.user_embedding.weight.grad, module.item_embedding.weight.grad])
    np.testing.assert_allclose(got.numpy(), E.grad.numpy(), atol=1e-6)
    np.testing.assert_allclose(users.detach().numpy(), final[:6].detach().numpy(), atol=1e-6)


@pytest.mark.parametrize("layers", [0, 1, 3])
def test_scores_are_dot_products_of_the_layer_mean(layers: int) -> None:
    model = get("lightgcn", layers=layers, epochs=3, seed=0).fit(checkerboard())
    users, items = numpy_final(model, layers)
    np.testing.assert_allclose(model.score(np.arange(6)), users @ items.T, atol=1e-5)
    if layers == 0:  # plain MF: the ego embeddings themselves
        W = model.module_.user_embedding.weight.detach().numpy()
        H = model.module_.item_embedding.weight.detach().numpy()
        np.testing.assert_allclose(model.score(np.arange(6)), W @ H.T, atol=1e-6)


def test_batch_loss_is_bpr_plus_reg_on_the_ego_embeddings() -> None:
    model = get("lightgcn", negatives=3, reg=0.01, epochs=1, seed=0).fit(checkerboard())
    module = model.module_
    module.train()
    users, items = torch.tensor([0, 3, 4]), torch.tensor([2, 5, 4])
    gen = torch.Generator().manual_seed(7)
    loss = model._batch_loss(module, (users, items), Step(0, 0, gen))
    negatives = model._sampler.sample(users, 3, torch.Generator().manual_seed(7))
    assert negatives.shape == (3, 3)
    assert not model.seen_.toarray()[users.numpy()[:, None], negatives.numpy()].any()
    U, V = (torch.from_numpy(x) for x in numpy_final(model, 3))
    pos = (U[users] * V[items]).sum(-1)
    neg = (U[users][:, None, :] * V[negatives]).sum(-1)
    W, H = module.user_embedding.weight.double(), module.item_embedding.weight.double()
    penalty = (
        W[users].pow(2).sum(-1).mean()
        + H[items].pow(2).sum(-1).mean()
        + H[negatives].pow(2).sum(-1).mean()
    )
    expected = losses.bpr_loss(pos, neg).double() + 0.01 * penalty
    assert float(loss.detach()) == pytest.approx(float(expected.detach()), rel=1e-5)


def test_score_cache_follows_training_steps() -> None:
    model = get("lightgcn", epochs=2, seed=0).fit(checkerboard())
    users = np.arange(6)
    before = model.score(users)
    assert model.module_._cache is not None
    np.testing.assert_array_equal(model.score(users), before)  # served from the cache
    # One more optimiser step: the next score must see the new weights.
    module = model.module_
    module.train()
    optimizer = torch.optim.Adam(module.parameters(), lr=0.1)
    batch = (torch.tensor([0, 1, 4]), torch.tensor([0, 3, 4]))
    model._batch_loss(module, batch, Step(0, 0, torch.Generator().manual_seed(0))).backward()
    optimizer.step()
    after = model.score(users)
    assert not np.allclose(after, before)
    U, V = numpy_final(model, 3)
    np.testing.assert_allclose(after, U @ V.T, atol=1e-5)
    # load_state_dict (how early stopping restores the best epoch) refreshes it as well.
    module.load_state_dict({k: torch.zeros_like(v) for k, v in module.state_dict().items()})
    np.testing.assert_array_equal(model.score(users), np.zeros((6, 6), np.float32))


def test_validation_during_training_does_not_leave_a_stale_cache() -> None:
    data = checkerboard()
    held_out = Interactions.from_arrays(["u0", "u2", "u1"], ["i4", "i4", "i5"])
    valid, _ = held_out.restrict(data.user_ids, data.item_ids)
    model = get("lightgcn", epochs=6, patience=6, seed=0)
    model.fit(data, valid=valid)  # validation scores (and caches) after every epoch
    assert all("ndcg@10" in record for record in model.training_history_.epochs)
    assert len(model.training_history_.epochs) == 6
    U, V = numpy_final(model, 3)
    np.testing.assert_allclose(model.score(np.arange(6)), U @ V.T, atol=1e-5)


def test_adjacency_is_rebuilt_at_load_not_saved(tmp_path: Path) -> None:
    model = get("lightgcn", epochs=2, seed=0).fit(checkerboard())
    assert not any("adjacency" in key for key in model.module_.state_dict())
    path = model.save(tmp_path / "m")
    with np.load(path / ARRAYS_FILE) as npz:
        assert not any("adjacency" in key for key in npz.files)
    loaded = load(path)
    np.testing.assert_allclose(
        loaded.module_.adjacency.to_dense().numpy(), model.module_.adjacency.to_dense().numpy()
    )
    np.testing.assert_array_equal(loaded.score(np.arange(6)), model.score(np.arange(6)))


def test_similar_items_are_cosines_of_the_final_item_embeddings() -> None:
    model = get("lightgcn", seed=0).fit(checkerboard())
    _, V = numpy_final(model, 3)
    unit = V / np.linalg.norm(V, axis=1, keepdims=True)
    cos = unit @ unit.T
    ids, sims = model.similar_items([0, 3], k=5)
    for row, item in enumerate([0, 3]):
        assert item not in ids[row]
        assert sorted(ids[row].tolist()) == [j for j in range(6) if j != item]
        np.testing.assert_allclose(sims[row], cos[item, ids[row]], atol=1e-5)
        assert np.all(np.diff(sims[row]) <= 0)
    # The nearest items share the parity of the query: they have the same users.
    assert (ids[:, 0] % 2).tolist() == [0, 1]


@pytest.mark.ml100k
def test_lightgcn_beats_popularity_on_movielens_100k(ml100k: Interactions) -> None:
    split = user_split(ml100k, test=0.2, order="time")
    popular = get("popularity").fit(split.train)
    base = evaluate(popular, split.test, train=split.train, k=10, metrics=["ndcg"])["ndcg@10"]
    model = get("lightgcn", layers=1, epochs=5, batch_size=8192, lr=0.03, seed=0, progress=False)
    model.fit(split.train)
    got = evaluate(model, split.test, train=split.train, k=10, metrics=["ndcg"])["ndcg@10"]
    assert got > base + 0.02, (got, base)
