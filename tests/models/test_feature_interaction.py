"""FM, Wide&Deep, DeepFM, DCN-v2 and AutoInt: labels, side features, context, the shared field
layer, chunked scoring and what each parameter does."""

from __future__ import annotations

from pathlib import Path
from typing import Any

import numpy as np
import pytest
import torch
from torch import nn

import recforge.models.feature_interaction as fi
from recforge import load
from recforge.data import Feature, FeatureTable, Interactions
from recforge.data.idmap import IdMap
from recforge.errors import DataError
from recforge.models import get
from recforge.models.feature_interaction import FeatureInteractionModel, context_rows
from recforge.neural.fields import EntityFields
from recforge.neural.sampling import NegativeSampler

from .answers_feature_interaction import checkerboard_clicks
from .conformance import checkerboard

MODELS = ["fm", "widedeep", "deepfm", "dcnv2", "autoint"]
# A quick, steady fit of the small data sets below (one batch per epoch).
QUICK: dict[str, Any] = {"factors": 4, "batch_size": 64, "lr": 0.05, "progress": False}
MONDAY = 1_704_067_200  # 2024-01-01 00:00 UTC, a Monday


def parity_table(n: int, prefix: str) -> FeatureTable:
    ids = IdMap(np.array([f"{prefix}{k}" for k in range(n)]))
    return FeatureTable(ids, [Feature.categorical("parity", [str(k % 2) for k in range(n)])])


def with_cold_rows(labelled: bool) -> Interactions:
    """Users u0–u5 × items i0–i5 in a parity pattern plus a cold user u6 and cold items i6, i7
    that no interaction mentions. labelled: every pair shown, value 1 (clicked) iff u + i is
    even; otherwise only the even pairs, as implicit positives."""
    pairs = [(u, i) for u in range(6) for i in range(6) if labelled or (u + i) % 2 == 0]
    users, items = (np.array(column) for column in zip(*pairs, strict=True))
    return Interactions.from_indices(
        users,
        items,
        ((users + items) % 2 == 0).astype(np.float32) if labelled else None,
        None,
        user_ids=IdMap(np.array([f"u{k}" for k in range(7)])),
        item_ids=IdMap(np.array([f"i{k}" for k in range(8)])),
        explicit=False,
    )


# ---------------------------------------------------------------------- labels
def test_labels_values_learns_clicks_and_non_clicks() -> None:
    held_out = {(0, 4), (1, 5), (2, 3), (3, 0)}
    data = checkerboard_clicks(held_out)
    assert (data.matrix.data == 0).sum() == 16  # the non-clicks stay in the data
    model = get("fm", labels="values", epochs=150, seed=0, **QUICK).fit(data)
    probability = 1 / (1 + np.exp(-model.score(np.arange(6)).astype(np.float64)))
    clicked = (np.add.outer(np.arange(6), np.arange(6)) % 2) == 0
    assert (probability[clicked] > 0.5).all()
    assert (probability[~clicked] < 0.5).all()
    for u, i in held_out:  # never shown, predicted from the pattern
        assert (probability[u, i] > 0.5) == ((u + i) % 2 == 0)


def test_labels_values_trains_without_sampling(monkeypatch: pytest.MonkeyPatch) -> None:
    def refuse(*args: Any) -> None:
        raise AssertionError("labels='values' must not sample negatives")

    monkeypatch.setattr(NegativeSampler, "sample", refuse)
    get("deepfm", labels="values", epochs=2, seed=0, **QUICK).fit(checkerboard_clicks(set()))


@pytest.mark.parametrize("name", MODELS)
def test_labels_values_refuses_other_values(name: str) -> None:
    with pytest.raises(
        DataError, match=r"labels='values' needs 0/1 interaction values.*got 5\.0 and 11 more"
    ):
        get(name, labels="values", **QUICK).fit(checkerboard())  # ratings 1–5


# ---------------------------------------------------------------------- side features
KNOWN_PARAMS: dict[str, dict[str, Any]] = {
    "fm": {"epochs": 150},
    "widedeep": {"epochs": 150},
    "deepfm": {"epochs": 150},
    "dcnv2": {"epochs": 150},
    "autoint": {"epochs": 150, "lr": 0.02, "reg": 0.01},
}


@pytest.mark.parametrize("name", MODELS)
def test_side_features_reach_cold_users_and_items(name: str, tmp_path: Path) -> None:
    # Users and items have a parity feature; u6, i6 (even) and i7 (odd) appear in no labelled
    # pair, so only the features can tell whether they click.
    model = get(name, labels="values", seed=0, **{**QUICK, **KNOWN_PARAMS[name]}).fit(
        with_cold_rows(labelled=True),
        user_features=parity_table(7, "u"),
        item_features=parity_table(8, "i"),
    )
    assert [s.name for s in model.module_.fields.user.specs] == ["id", "parity"]
    assert [s.name for s in model.module_.fields.item.specs] == ["id", "parity"]
    scores = model.score(np.arange(7))
    same_parity = (np.add.outer(np.arange(7), np.arange(8)) % 2) == 0
    np.testing.assert_array_equal(scores > 0, same_parity)  # P(click) > ½ iff same parity
    loaded = load(model.save(tmp_path / "m.npz"))
    np.testing.assert_array_equal(loaded.score(np.arange(7)), scores)
    assert loaded.layout_ == model.layout_


@pytest.mark.parametrize("name", MODELS)
def test_user_features_rank_for_a_cold_user(name: str) -> None:
    model = get(name, seed=0, **{**QUICK, **KNOWN_PARAMS[name]}).fit(
        with_cold_rows(labelled=False), user_features=parity_table(7, "u")
    )
    scores = model.score([6])[0, :6]  # u6 is even and has no interaction
    assert scores[0::2].min() > scores[1::2].max(), scores


def test_text_features_are_skipped_and_numbers_used() -> None:
    items = FeatureTable(
        checkerboard().item_ids,
        [Feature.text("title", [f"t{i}" for i in range(6)]), Feature.numeric("year", range(6))],
    )
    model = get("fm", epochs=1, **QUICK).fit(checkerboard(), item_features=items)
    assert [s.kind for s in model.module_.fields.item.specs] == ["id", "numeric"]


# ---------------------------------------------------------------------- context
def test_context_rows_are_utc_weekday_and_hour() -> None:
    # 1970-01-01 was a Thursday (weekday 3); 2024-01-01 a Monday.
    assert context_rows(np.array([0])).tolist() == [3 * 24]
    ts = np.array([MONDAY + 8 * 3600 + 59, MONDAY + 6 * 86_400 + 23 * 3600, MONDAY - 1])
    assert context_rows(ts).tolist() == [8, 6 * 24 + 23, 6 * 24 + 23]


def morning_evening() -> Interactions:
    """8 users × 6 items: items 0–2 are read at 8 h, items 3–5 at 20 h, one a week (every
    timestamp a Monday, so the weekday tells nothing). Each user read two items of each group
    and left one of each unread; even users read their morning items last, odd users their
    evening items."""
    users, items, ts = [], [], []
    for u in range(8):
        unread = {u % 3, 3 + (u // 3 + u) % 3}
        morning = [i for i in range(3) if i not in unread]
        evening = [i for i in range(3, 6) if i not in unread]
        for week, i in enumerate(evening + morning if u % 2 == 0 else morning + evening):
            users.append(f"u{u}")
            items.append(f"i{i}")
            ts.append(MONDAY + week * 7 * 86_400 + (8 if i < 3 else 20) * 3600)
    return Interactions.from_arrays(users, items, None, ts)


@pytest.mark.parametrize("name", MODELS)
def test_time_context_fields_score_in_the_latest_context(name: str, tmp_path: Path) -> None:
    model = get(name, context="time", epochs=5, seed=0, **QUICK).fit(morning_evening())
    net = model.module_
    assert isinstance(net.fields.context, EntityFields)
    assert [s.name for s in net.fields.context.specs] == ["hour", "weekday"]
    latest = net.user_context.numpy()
    assert latest.tolist() == [8, 20] * 4  # Monday (weekday 0) at 8 h or 20 h
    users = np.arange(8)

    def in_context(rows: np.ndarray) -> np.ndarray:
        u = torch.from_numpy(users)
        with torch.no_grad():
            query = net.query_side(u, torch.from_numpy(rows))
            return net.combine(query, net.item_side(torch.arange(6))).numpy()

    scores = model.score(users)
    np.testing.assert_allclose(scores, in_context(latest), rtol=1e-6, atol=1e-7)
    other = in_context(latest[::-1].copy())
    assert not np.allclose(other, scores)  # the context changes the scores
    loaded = load(model.save(tmp_path / "m.npz"))
    np.testing.assert_array_equal(loaded.module_.user_context.numpy(), latest)
    np.testing.assert_array_equal(loaded.score(users), scores)


def test_fm_learns_which_items_go_with_the_hour() -> None:
    # Every user left one morning and one evening item unread; the hour of their last reading
    # decides which comes first.
    model = get("fm", context="time", epochs=100, seed=0, **QUICK).fit(morning_evening())
    ids, _ = model.recommend(np.arange(8), k=1)
    assert [bool(i < 3) for i in ids[:, 0]] == [True, False] * 4
    plain = get("fm", epochs=100, seed=0, **QUICK).fit(morning_evening())
    ids, _ = plain.recommend(np.arange(8), k=1)
    assert [bool(i < 3) for i in ids[:, 0]] != [True, False] * 4  # without it, no such rule


def test_context_needs_timestamps() -> None:
    data = Interactions.from_arrays(["a", "b"], ["x", "y"])
    with pytest.raises(DataError, match="context='time' needs interaction timestamps"):
        get("fm", context="time", **QUICK).fit(data)


def test_users_without_interactions_get_the_most_frequent_context() -> None:
    data = morning_evening()
    users, items, _ = data.coo()
    grown = Interactions.from_indices(
        users,
        items,
        None,
        np.asarray(data.timestamps),
        user_ids=IdMap(np.array([*data.user_ids.raw_ids, "zz"])),
        item_ids=data.item_ids,
        explicit=False,
    )
    model = get("fm", context="time", epochs=1, **QUICK).fit(grown)
    rows = context_rows(np.asarray(data.timestamps))
    assert model.module_.user_context[8] == np.bincount(rows).argmax()


# ---------------------------------------------------------------------- the shared layer
@pytest.mark.parametrize("name", MODELS)
def test_every_model_embeds_its_fields_with_entity_fields(name: str) -> None:
    model = get(name, context="time", epochs=1, **QUICK).fit(
        morning_evening(), item_features=parity_table(6, "i")
    )
    assert isinstance(model, FeatureInteractionModel)
    net = model.module_
    sides = [net.fields.user, net.fields.item, net.fields.context]
    if net.linear is not None:
        sides += [net.linear.user, net.linear.item, net.linear.context]
    assert all(type(side) is EntityFields for side in sides)
    inside = {id(m) for side in sides for m in side.modules()}
    embeddings = [m for m in net.modules() if isinstance(m, nn.Embedding)]
    assert embeddings
    assert all(id(m) in inside for m in embeddings), "an embedding outside EntityFields"
    assert net.fields.n_fields == 1 + 2 + 2  # user id; hour, weekday; item id, parity
    assert (net.linear is not None) == (name in ("fm", "widedeep", "deepfm"))


# ---------------------------------------------------------------------- scoring
@pytest.mark.parametrize("name", MODELS)
def test_chunked_scoring_equals_one_chunk(name: str, monkeypatch: pytest.MonkeyPatch) -> None:
    model = get(name, epochs=2, seed=0, **QUICK).fit(
        checkerboard(), item_features=parity_table(6, "i")
    )
    whole = model.score(np.arange(6))
    monkeypatch.setattr(fi, "SCORE_FLOATS", 1)  # one user per chunk
    assert model._score_pairs() == 1
    np.testing.assert_allclose(model.score(np.arange(6)), whole, rtol=1e-6, atol=1e-7)
    np.testing.assert_allclose(
        model.score(np.arange(6), [4, 1]), whole[:, [4, 1]], rtol=1e-6, atol=1e-7
    )


def test_attention_scores_in_smaller_chunks_than_fm() -> None:
    fm = get("fm", epochs=1, **QUICK).fit(checkerboard())
    autoint = get("autoint", epochs=1, **QUICK).fit(checkerboard())
    assert autoint._score_pairs() < fm._score_pairs() < fi.SCORE_FLOATS


# ---------------------------------------------------------------------- parameters
def test_factors_layers_and_dropout_shape_the_module() -> None:
    model = get("deepfm", factors=3, layers=[7, 5], dropout=0.25, epochs=1, progress=False)
    net = model.fit(checkerboard()).module_
    assert net.fields.user(torch.tensor([0])).shape == (1, 1, 3)
    linears = [m for m in net.terms[1].modules() if isinstance(m, nn.Linear)]
    assert [(m.in_features, m.out_features) for m in linears] == [(6, 7), (7, 5), (5, 1)]
    assert [m.p for m in net.terms[1].modules() if isinstance(m, nn.Dropout)] == [0.25] * 3


def test_cross_and_attention_layer_counts() -> None:
    dcn = get("dcnv2", cross_layers=4, layers=[], epochs=1, **QUICK).fit(checkerboard())
    assert len(dcn.module_.terms[0].cross.layers) == 4
    autoint = get("autoint", attention_layers=3, heads=5, epochs=1, **QUICK).fit(checkerboard())
    layers = autoint.module_.terms[0].layers
    assert len(layers) == 3
    assert [layer.heads for layer in layers] == [5, 5, 5]
    assert autoint.module_.terms[0].output.in_features == 2 * 5 * 4


def test_negatives_and_sampler_reach_the_sampler(monkeypatch: pytest.MonkeyPatch) -> None:
    calls: list[tuple[str, int]] = []
    original = NegativeSampler.sample

    def spy(self: NegativeSampler, users: torch.Tensor, n: int, generator: Any) -> torch.Tensor:
        calls.append((self.kind, n))
        return original(self, users, n, generator)

    monkeypatch.setattr(NegativeSampler, "sample", spy)
    get("fm", negatives=3, sampler="popularity", epochs=2, **QUICK).fit(checkerboard())
    assert calls == [("popularity", 3)] * 2


def test_reg_shrinks_the_embeddings() -> None:
    def size(reg: float) -> float:
        model = get("fm", reg=reg, epochs=60, seed=0, **QUICK).fit(checkerboard())
        return float(model.module_.fields.item(torch.arange(6)).detach().pow(2).sum())

    assert size(1.0) < 0.1 * size(0.0)


def test_parameters_are_listed_own_first() -> None:
    names = get("dcnv2").param_names()
    assert names[:9] == [
        "cross_layers",
        "layers",
        "dropout",
        "factors",
        "labels",
        "negatives",
        "sampler",
        "context",
        "reg",
    ]
    assert "epochs" in names
    assert repr(get("dcnv2", layers=[8], context="time")) == "DCNv2(layers=[8], context='time')"


# ---------------------------------------------------------------------- MovieLens 100K
@pytest.mark.ml100k
def test_deepfm_beats_popularity_on_ml100k(ml100k_dir: Path) -> None:
    from recforge.data import load_movielens, user_split
    from recforge.evaluation import evaluate

    ds = load_movielens(ml100k_dir)
    outer = user_split(ds.interactions, test=0.2, order="time")
    popularity = get("popularity").fit(outer.train)
    model = get("deepfm", epochs=3, batch_size=4096, lr=0.01, seed=0, progress=False)
    model.fit(outer.train, user_features=ds.user_features, item_features=ds.item_features)
    pop = evaluate(popularity, outer.test, train=outer.train, k=10, metrics=["ndcg"])
    deep = evaluate(model, outer.test, train=outer.train, k=10, metrics=["ndcg"])
    assert deep["ndcg@10"] > pop["ndcg@10"] + 0.01
