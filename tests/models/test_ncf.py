"""GMF, MLP and NeuMF: scoring by formula, pre-training, the loss / sampler / dropout options."""

from __future__ import annotations

from pathlib import Path
from typing import Any

import numpy as np
import pytest
import torch

from recforge import load
from recforge.data import Interactions, user_split
from recforge.errors import ParameterError
from recforge.evaluation import evaluate
from recforge.models import GMF, MLP, NeuMF, get
from recforge.neural.loop import Step
from recforge.neural.sampling import NegativeSampler

from .answers_ncf import ncf_reference
from .conformance import checkerboard

FAST = {"epochs": 3, "batch_size": 8, "lr": 0.01, "seed": 0, "progress": False}


@pytest.mark.parametrize(
    ("name", "params"),
    [
        ("gmf", {"factors": 3}),
        ("mlp", {"layers": [6]}),
        ("mlp", {"layers": [8, 4]}),
        ("mlp", {"layers": [8, 6, 4, 2], "dropout": 0.3}),
        ("neumf", {"factors": 2, "layers": [4]}),
        ("neumf", {"factors": 3, "layers": [8, 4, 2], "dropout": 0.2}),
    ],
)
def test_scores_follow_the_formula(name: str, params: dict[str, Any]) -> None:
    model = get(name, **params, **FAST).fit(checkerboard())
    users = np.arange(6)
    np.testing.assert_allclose(model.score(users), ncf_reference(model), atol=1e-5)
    np.testing.assert_allclose(
        model.score(users, [4, 1]), ncf_reference(model)[:, [4, 1]], atol=1e-5
    )


def test_grid_scoring_chunks_users(monkeypatch: pytest.MonkeyPatch) -> None:
    import recforge.neural.ncf_modules as ncf_modules

    model = get("neumf", factors=3, layers=[8, 4], **FAST).fit(checkerboard())
    whole = model.score(np.arange(6))
    monkeypatch.setattr(ncf_modules, "GRID_VALUES", 6 * 4)  # one user per chunk
    np.testing.assert_allclose(model.score(np.arange(6)), whole, atol=1e-6)


def test_mlp_without_hidden_layers_ranks_alike_for_everyone() -> None:
    # layers=[8]: the logit is hᵀ[p_u, q_i] + b = a_u + b_i, so no user-item interaction.
    model = get("mlp", layers=[8], **FAST).fit(checkerboard())
    s = model.score(np.arange(6)).astype(np.float64)
    np.testing.assert_allclose(s - s[:, :1] - s[:1, :] + s[0, 0], 0.0, atol=1e-6)


def _capture_init(monkeypatch: pytest.MonkeyPatch) -> dict[str, torch.Tensor]:
    """The state of NeuMF's network as built, before its own training."""
    captured: dict[str, torch.Tensor] = {}
    build = NeuMF._build_module

    def spy(self: NeuMF, train: Interactions | None) -> Any:
        net = build(self, train)
        if train is not None:
            captured.update({k: v.detach().clone() for k, v in net.state_dict().items()})
        return net

    monkeypatch.setattr(NeuMF, "_build_module", spy)
    return captured


def test_pretraining_starts_neumf_from_the_fitted_gmf_and_mlp(
    monkeypatch: pytest.MonkeyPatch,
) -> None:
    data = checkerboard()
    sizes = {"factors": 3, "layers": [8, 4], "negatives": 2}
    init = _capture_init(monkeypatch)
    neumf = get("neumf", pretrain=True, alpha=0.3, **sizes, **FAST).fit(data)
    # the same fits, done apart: GMF and MLP with NeuMF's sizes and training parameters
    gmf = GMF(factors=3, negatives=2, **FAST).fit(data).module_
    mlp = MLP(layers=[8, 4], negatives=2, **FAST).fit(data).module_
    for key, value in gmf.branch.state_dict().items():
        torch.testing.assert_close(init[f"gmf.{key}"], value)
    for key, value in mlp.branch.state_dict().items():
        torch.testing.assert_close(init[f"mlp.{key}"], value)
    torch.testing.assert_close(
        init["output.weight"], torch.cat([0.3 * gmf.output.weight, 0.7 * mlp.output.weight], 1)
    )
    torch.testing.assert_close(init["output.bias"], 0.3 * gmf.output.bias + 0.7 * mlp.output.bias)
    # and NeuMF then trained on from there
    assert not torch.equal(
        neumf.module_.gmf.user_embedding.weight, init["gmf.user_embedding.weight"]
    )


def test_without_pretraining_neumf_starts_fresh(monkeypatch: pytest.MonkeyPatch) -> None:
    init = _capture_init(monkeypatch)
    get("neumf", factors=3, layers=[8, 4], **FAST).fit(checkerboard())
    gmf = GMF(factors=3, **FAST).fit(checkerboard()).module_
    assert not torch.allclose(init["gmf.user_embedding.weight"], gmf.branch.user_embedding.weight)
    assert init["gmf.user_embedding.weight"].std() < 0.05  # N(0, 0.01²) at the start


def test_pretraining_passes_valid_to_the_sub_models(monkeypatch: pytest.MonkeyPatch) -> None:
    data = checkerboard()
    outer = user_split(data, test=0.34, seed=0)
    fits: list[tuple[str, bool]] = []
    for cls in (GMF, MLP):
        fit = cls.fit

        def spy(self: Any, train: Any, valid: Any = None, _fit: Any = fit, **kw: Any) -> Any:
            fits.append((type(self).__name__, valid is not None))
            return _fit(self, train, valid, **kw)

        monkeypatch.setattr(cls, "fit", spy)
    model = get("neumf", pretrain=True, **FAST).fit(outer.train, outer.test)
    assert fits == [("GMF", True), ("MLP", True)]
    assert "ndcg@10" in model.training_history_.epochs[0]


def test_resuming_skips_pretraining(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    data = checkerboard()
    first = get("neumf", pretrain=True, **FAST).fit(data, run_dir=tmp_path)

    def refuse(*args: Any, **kwargs: Any) -> Any:
        raise AssertionError("a resumed run must not pre-train again")

    monkeypatch.setattr(GMF, "fit", refuse)
    resumed = get("neumf", pretrain=True, **FAST).fit(data, run_dir=tmp_path, resume=True)
    np.testing.assert_array_equal(resumed.score(np.arange(6)), first.score(np.arange(6)))


def test_loss_negatives_and_sampler_reach_the_training(monkeypatch: pytest.MonkeyPatch) -> None:
    calls: list[tuple[str, int]] = []
    sample = NegativeSampler.sample

    def spy(self: NegativeSampler, users: torch.Tensor, n: int, generator: Any) -> Any:
        calls.append((self.kind, n))
        return sample(self, users, n, generator)

    monkeypatch.setattr(NegativeSampler, "sample", spy)
    users = np.arange(6)
    base = get("gmf", **FAST).fit(checkerboard()).score(users)
    assert set(calls) == {("uniform", 4)}  # the defaults
    calls.clear()
    popular = get("gmf", sampler="popularity", negatives=2, **FAST).fit(checkerboard())
    assert set(calls) == {("popularity", 2)}
    assert not np.allclose(popular.score(users), base)
    assert not np.allclose(get("gmf", loss="bpr", **FAST).fit(checkerboard()).score(users), base)


def test_bpr_and_bce_losses_by_hand(monkeypatch: pytest.MonkeyPatch) -> None:
    # The batch loss of one fixed batch, recomputed from the network's logits.
    for loss in ("bce", "bpr"):
        model = get("neumf", factors=2, layers=[4, 2], loss=loss, negatives=3, **FAST)
        model.fit(checkerboard())
        users, items = torch.tensor([0, 3]), torch.tensor([2, 5])
        generator = torch.Generator().manual_seed(0)
        negatives = model._sampler.sample(users, 3, generator)
        generator.manual_seed(0)
        got = model._batch_loss(model.module_, (users, items), Step(0, 0, generator)).detach()
        with torch.no_grad():
            pos = model.module_(users, items[:, None])[:, 0].double()
            neg = model.module_(users, negatives).double()
        if loss == "bce":
            want = -torch.log(torch.sigmoid(pos)) - torch.log(1 - torch.sigmoid(neg)).mean(1)
        else:
            want = -torch.log(torch.sigmoid(pos[:, None] - neg)).mean(1)
        assert float(got) == pytest.approx(float(want.mean()), rel=1e-5)


def test_dropout_is_active_in_training_only() -> None:
    model = get("mlp", layers=[8, 6, 4], dropout=0.5, **FAST).fit(checkerboard())
    net = model.module_
    users, items = torch.arange(6), torch.arange(6).repeat(6, 1)
    net.train()
    with torch.no_grad():
        a, b = net(users, items), net(users, items)
    assert not torch.equal(a, b)
    net.eval()
    with torch.no_grad():
        torch.testing.assert_close(net(users, items), net(users, items))
    rates = [m.p for m in net.modules() if isinstance(m, torch.nn.Dropout)]
    assert rates == [0.5, 0.5]  # on the embeddings, and before the third layer


def test_layers_are_checked() -> None:
    with pytest.raises(ParameterError, match=r"'layers' parameter of NeuMF .* e\.g\. \[64, 32"):
        get("neumf", layers=[5, 2]).fit(checkerboard())
    model = get("mlp", layers=(8, 4), **FAST).fit(checkerboard())  # a tuple works too
    assert model.module_.branch.user_embedding.embedding_dim == 4


def test_save_load_keeps_the_architecture(tmp_path: Path) -> None:
    model = get("neumf", factors=3, layers=[8, 6, 2], dropout=0.1, **FAST).fit(checkerboard())
    loaded = load(model.save(tmp_path / "m.npz"))
    assert loaded.get_params()["layers"] == [8, 6, 2]
    np.testing.assert_array_equal(loaded.score(np.arange(6)), model.score(np.arange(6)))


@pytest.mark.ml100k
def test_neumf_beats_popularity_on_ml100k(ml100k: Interactions) -> None:
    outer = user_split(ml100k, test=0.2, order="time")
    kw = {"train": outer.train, "k": 10, "metrics": ["ndcg"]}
    popularity = evaluate(get("popularity").fit(outer.train), outer.test, **kw)["ndcg@10"]
    # smaller and shorter than the defaults (NDCG@10 ≈ 0.17), to stay fast: ≈ 0.16 vs 0.113
    model = get("neumf", factors=16, layers=[32, 16], epochs=4, batch_size=2048, lr=0.01, seed=0)
    neumf = evaluate(model.fit(outer.train), outer.test, **kw)["ndcg@10"]
    assert neumf > popularity + 0.03, (neumf, popularity)
