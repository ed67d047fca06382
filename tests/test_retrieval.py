"""recforge.retrieval: embedding models' retrieval vectors, the faiss ANN index (HNSW, IVF) with
exact exclusions, recommend_ann, and saving the index."""

from __future__ import annotations

import sys
from pathlib import Path
from typing import Any

import numpy as np
import pytest

from recforge.data import Interactions
from recforge.errors import DataError, ParameterError, UnsupportedOperationError
from recforge.models import available, get, model_class
from recforge.retrieval import EMBEDDING_MODELS, ANNIndex, recommend_ann, retrieval_vectors

QUICK: dict[str, Any] = {"epochs": 2, "progress": False, "seed": 0}
RATING_MODELS = {"svd", "svdpp", "nmf", "als", "pmf", "bpmf"}
PARAMS: dict[str, dict[str, Any]] = {
    "svd": {"factors": 8, "seed": 0},
    "svdpp": {"factors": 8, "seed": 0},
    "nmf": {"factors": 8, "biased": True, "seed": 0},
    "als": {"factors": 8, "seed": 0},
    "pmf": {"factors": 8, "biased": True, "seed": 0},
    "bpmf": {"factors": 4, "samples": 3, "burn_in": 1, "seed": 0},
    "ials": {"factors": 8, "seed": 0},
    "bpr": {"factors": 8, "epochs": 5, "seed": 0},
    "puresvd": {"factors": 8, "seed": 0},
    "torchmf": {"factors": 8, **QUICK},
    "gmf": {"factors": 8, **QUICK},
    "twotower": {"factors": 8, "hidden": 16, **QUICK},
    "lightgcn": {"factors": 8, "layers": 2, **QUICK},
    "sasrec": {"factors": 8, "max_len": 6, **QUICK},
    "gru4rec": {"factors": 8, "hidden": 8, "max_len": 6, **QUICK},
    "caser": {"factors": 8, "max_len": 3, "vertical": 1, "horizontal": 2, **QUICK},
    "bert4rec": {"factors": 8, "max_len": 6, **QUICK},
}


def _interactions(explicit: bool, n_users: int = 40, n_items: int = 60) -> Interactions:
    rng = np.random.default_rng(0)
    pairs = sorted(
        {(int(rng.integers(n_users)), int(rng.integers(n_items))) for _ in range(n_users * 12)}
    )
    users, items = (np.array(c) for c in zip(*pairs, strict=True))
    ratings = rng.integers(1, 6, users.size).astype(float) if explicit else None
    times = rng.permutation(users.size)  # the sequence models read each user's order
    return Interactions.from_arrays(users, items, ratings, times)


def _clustered(n: int, d: int, seed: int) -> np.ndarray:
    """Vectors with neighbour structure: 40 cluster centres plus noise, varying norms."""
    rng = np.random.default_rng(seed)
    centres = rng.standard_normal((40, d))
    x = centres[rng.integers(40, size=n)] + 0.4 * rng.standard_normal((n, d))
    return (x * rng.lognormal(0.0, 0.3, (n, 1))).astype(np.float32)


def _exact(items: np.ndarray, queries: np.ndarray, k: int, exclude: list[np.ndarray] | None):
    """Exact (ids [B, k], scores [B, k]): float64 products, ties to the lower id, -1/-inf pads."""
    scores = queries.astype(np.float64) @ items.astype(np.float64).T
    if exclude is not None:
        for row, ex in enumerate(exclude):
            scores[row, ex] = -np.inf
    ids = np.full((len(queries), k), -1)
    vals = np.full((len(queries), k), -np.inf)
    for row in range(len(queries)):
        order = np.lexsort((np.arange(items.shape[0]), -scores[row]))[:k]
        order = order[np.isfinite(scores[row, order])]
        ids[row, : order.size] = order
        vals[row, : order.size] = scores[row, order]
    return ids, vals


def _recall(found: np.ndarray, truth: np.ndarray) -> float:
    return float(
        np.mean([np.intersect1d(a, b).size / b.size for a, b in zip(found, truth, strict=True)])
    )


@pytest.fixture(scope="module")
def vectors() -> tuple[np.ndarray, np.ndarray]:
    return _clustered(4000, 16, seed=1), _clustered(100, 16, seed=2)


@pytest.fixture(scope="module", params=["hnsw", "ivf"])
def index(request: pytest.FixtureRequest, vectors: tuple[np.ndarray, np.ndarray]) -> ANNIndex:
    items, _ = vectors
    if request.param == "hnsw":
        return ANNIndex.build(items, "hnsw", M=16, ef_search=64)
    return ANNIndex.build(items, "ivf", nlist=64, nprobe=12)


# ---------------------------------------------------------------------------- model vectors
def test_embedding_models_are_the_ones_with_retrieval_vectors() -> None:
    having = {name for name in available() if hasattr(model_class(name), "retrieval_vectors")}
    assert having == set(EMBEDDING_MODELS)
    assert set(PARAMS) == set(EMBEDDING_MODELS)


@pytest.mark.parametrize("name", EMBEDDING_MODELS)
def test_retrieval_vectors_reproduce_the_scores(name: str) -> None:
    model = get(name, **PARAMS[name]).fit(_interactions(explicit=name in RATING_MODELS))
    U, V = retrieval_vectors(model)
    assert U.dtype == V.dtype == np.float32
    assert U.shape[0] == model.n_users_
    assert V.shape[0] == model.n_items_
    assert U.shape[1] == V.shape[1]
    full = model.score(np.arange(model.n_users_))
    scale = max(1.0, float(np.abs(full).max()))
    for u in range(model.n_users_):
        np.testing.assert_allclose(U[u] @ V.T, model.score([u])[0], rtol=1e-5, atol=1e-5 * scale)
    some = np.array([3, 0, 7])
    # a deep tower may round a batch of 3 and one of all users differently
    np.testing.assert_allclose(model.retrieval_user_vectors(some), U[some], rtol=1e-5, atol=1e-6)


# ---------------------------------------------------------------------------- the index
def test_recall_against_exact_search(index: ANNIndex, vectors: Any) -> None:
    items, queries = vectors
    ids, scores = index.search(queries, 10)
    truth, _ = _exact(items, queries, 10, None)
    assert _recall(ids, truth) >= 0.9
    assert ids.dtype == np.int32
    assert scores.dtype == np.float32
    assert ids.shape == (100, 10)
    # the scores are the exact inner products, best first, ties to the lower id
    exact = np.einsum("bkd,bd->bk", items[ids].astype(np.float64), queries.astype(np.float64))
    np.testing.assert_allclose(scores, exact, rtol=1e-6, atol=1e-6)
    assert bool(np.all(np.diff(scores, axis=1) <= 0))


@pytest.mark.parametrize("selector", [False, True])
def test_exclusions_are_exact(
    index: ANNIndex, vectors: Any, selector: bool, monkeypatch: pytest.MonkeyPatch
) -> None:
    items, queries = vectors
    rng = np.random.default_rng(3)
    truth, _ = _exact(items, queries, 30, None)
    # each query excludes 15 of its own top 30 (the answer's neighbourhood) and 60 other items
    exclude = [
        np.concatenate([rng.choice(t, 15, replace=False), rng.choice(len(items), 60, False)])
        for t in truth
    ]
    calls: list[bool] = []
    search = index._raw_search

    def spy(*args: Any, **kwargs: Any) -> Any:
        calls.append(kwargs.get("exclude") is not None)
        return search(*args, **kwargs)

    monkeypatch.setattr(index, "_raw_search", spy)
    if selector:  # k + |excluded| ≥ 70 > 69: every row through faiss's ID selector
        monkeypatch.setattr(index, "overfetch_limit", 69)
    ids, _ = index.search(queries, 10, exclude=exclude)
    assert all(calls) if selector else not any(calls)
    for row, ex in zip(ids, exclude, strict=True):
        assert not np.isin(row, ex).any()
    assert bool((ids >= 0).all())
    kept, _ = _exact(items, queries, 10, exclude)
    assert _recall(ids, kept) >= 0.9


def test_padding_when_fewer_than_k_items_remain(index: ANNIndex, vectors: Any) -> None:
    items, queries = vectors
    n = len(items)
    all_but_three = np.setdiff1d(np.arange(n), [5, 17, 3999])
    ids, scores = index.search(queries[:2], 5, exclude=[all_but_three, np.arange(n)])
    expected, _ = _exact(items, queries[:1], 3, [all_but_three])
    assert ids[0, :3].tolist() == expected[0].tolist()
    assert ids[0, 3:].tolist() == [-1, -1]
    assert np.isneginf(scores[0, 3:]).all()
    assert ids[1].tolist() == [-1] * 5
    assert np.isneginf(scores[1]).all()
    # k above the catalogue: every item, the width capped at the catalogue
    small = ANNIndex.build(items[:7], "hnsw")
    ids, scores = small.search(queries[:1], 10**9, exclude=[np.array([2])])
    assert ids.shape == scores.shape == (1, 7)
    assert sorted(ids[0, :6].tolist()) == [0, 1, 3, 4, 5, 6]
    assert ids[0, 6] == -1
    assert np.isneginf(scores[0, 6])


def test_short_approximate_rows_fall_back_to_an_exact_scan(vectors: Any) -> None:
    items, queries = vectors
    # one probed list of ~60 items cannot hold a top 200: those rows are scanned exactly
    index = ANNIndex.build(items, "ivf", nlist=64, nprobe=1)
    ids, scores = index.search(queries[:5], 200, exclude=[np.arange(50)] * 5)
    expected_ids, expected_scores = _exact(items, queries[:5], 200, [np.arange(50)] * 5)
    np.testing.assert_array_equal(ids, expected_ids)
    np.testing.assert_allclose(scores, expected_scores, rtol=1e-6, atol=1e-6)


def test_ties_go_to_the_lower_id() -> None:
    rng = np.random.default_rng(4)
    base = rng.standard_normal((50, 8)).astype(np.float32)
    items = np.concatenate([base, base])  # item j + 50 equals item j
    index = ANNIndex.build(items, "ivf", nprobe=2)  # nlist 2 (100 / 39): every list probed
    ids, scores = index.search(base[:4], 2)
    for row, (a, b) in enumerate(ids):
        assert scores[row, 0] == scores[row, 1]
        assert b == a + 50
        assert a < 50


def test_one_query_as_a_vector(index: ANNIndex, vectors: Any) -> None:
    _, queries = vectors
    one, _ = index.search(queries[0], 10)
    batch, _ = index.search(queries[:3], 10)
    np.testing.assert_array_equal(one[0], batch[0])


# ---------------------------------------------------------------------------- recommend_ann
@pytest.mark.parametrize("kind", ["hnsw", "ivf"])
def test_recommend_ann_equals_recommend_when_the_index_is_exact(kind: str) -> None:
    model = get("svd", factors=8, seed=0).fit(_interactions(explicit=True))
    _, V = retrieval_vectors(model)
    if kind == "hnsw":
        index = ANNIndex.build(V, "hnsw", ef_search=500)  # deeper than the catalogue
    else:
        index = ANNIndex.build(V, "ivf", nprobe=1000)  # capped at nlist: every list
    users = np.arange(model.n_users_)
    for exclude_seen in (True, False):
        ids, scores = recommend_ann(model, index, users, k=10, exclude_seen=exclude_seen)
        want_ids, want_scores = model.recommend(users, k=10, exclude_seen=exclude_seen)
        np.testing.assert_array_equal(ids, want_ids)
        np.testing.assert_allclose(scores, want_scores, rtol=1e-5, atol=1e-5)
    one, _ = recommend_ann(model, index, 3, k=5)
    assert one.shape == (1, 5)
    seen = model.seen_.indices[model.seen_.indptr[3] : model.seen_.indptr[4]]
    assert not np.isin(one, seen).any()


def test_recommend_ann_checks_the_index_matches_the_model() -> None:
    model = get("bpr", factors=4, epochs=2, seed=0).fit(_interactions(explicit=False))
    _, V = retrieval_vectors(model)
    with pytest.raises(ParameterError, match="items"):
        recommend_ann(model, ANNIndex.build(V[:-1], "hnsw"), [0])
    with pytest.raises(ParameterError, match="-d"):
        recommend_ann(model, ANNIndex.build(V[:, :-1], "hnsw"), [0])
    with pytest.raises(ParameterError, match="out of range"):
        recommend_ann(model, ANNIndex.build(V, "hnsw"), [10_000])


# ---------------------------------------------------------------------------- persistence
def test_save_and_load_round_trip(index: ANNIndex, vectors: Any, tmp_path: Path) -> None:
    items, queries = vectors
    knob = "ef_search" if index.kind == "hnsw" else "nprobe"
    index.set_search_params(**{knob: 16})
    try:
        exclude = [np.arange(q, q + 40) for q in range(len(queries))]
        before = index.search(queries, 10, exclude=exclude)
        path = index.save(tmp_path / "ann")
        assert sorted(p.name for p in path.iterdir()) == ["ann.json", "index.faiss"]
        loaded = ANNIndex.load(path)
        assert (loaded.kind, loaded.mips, loaded.n_items, loaded.dim) == (
            index.kind, index.mips, len(items), items.shape[1],
        )  # fmt: skip
        assert loaded.params == index.params
        assert loaded.params[knob] == 16
        np.testing.assert_array_equal(loaded.vectors, items)
        after = loaded.search(queries, 10, exclude=exclude)
        np.testing.assert_array_equal(after[0], before[0])
        np.testing.assert_array_equal(after[1], before[1])
        index.save(path)  # replaces an index directory
    finally:
        index.set_search_params(**{knob: 64 if index.kind == "hnsw" else 12})


def test_load_rejects_what_is_not_an_intact_index(index: ANNIndex, tmp_path: Path) -> None:
    with pytest.raises(DataError, match="no recforge ANN index"):
        ANNIndex.load(tmp_path)
    path = index.save(tmp_path / "ann")
    with (path / "index.faiss").open("r+b") as fh:
        fh.seek(100)
        fh.write(b"\x00\x01\x02")
    with pytest.raises(DataError, match="damaged"):
        ANNIndex.load(path)
    (tmp_path / "other").mkdir()
    (tmp_path / "other" / "notes.txt").write_text("mine")
    with pytest.raises(DataError, match="not a recforge ANN index directory"):
        index.save(tmp_path / "other")


# ---------------------------------------------------------------------------- errors
@pytest.mark.parametrize(
    ("name", "params"),
    [
        ("popularity", {}),
        ("itemknn", {}),
        # DIN's user state depends on the candidate item: no vector per user
        ("din", {"factors": 4, "max_len": 6, **QUICK}),
    ],
)
def test_a_model_without_embeddings_is_refused(name: str, params: dict[str, Any]) -> None:
    model = get(name, **params).fit(_interactions(explicit=False))
    index = ANNIndex.build(np.ones((model.n_items_, 4), dtype=np.float32), "ivf")
    for call in (lambda: retrieval_vectors(model), lambda: recommend_ann(model, index, [0])):
        with pytest.raises(UnsupportedOperationError, match="is not an embedding model") as err:
            call()
        message = str(err.value)
        assert "\n" not in message
        assert "ials" in message
        assert type(model).__name__ in message


def test_the_default_index_is_ivf_over_the_l2_reduction(vectors: Any) -> None:
    """The kind that held its recall on trained models (bench_ann.py --trained) is the default,
    as for `recforge index`."""
    items, _ = vectors
    index = ANNIndex.build(items)
    assert (index.kind, index.mips) == ("ivf", "l2")


def test_missing_faiss_gives_the_install_hint(monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setitem(sys.modules, "faiss", None)  # `import faiss` now raises ImportError
    with pytest.raises(UnsupportedOperationError) as err:
        ANNIndex.build(np.ones((10, 4), dtype=np.float32))
    assert "pip install 'recforge[ann]'" in str(err.value)
    assert "\n" not in str(err.value)


def test_bad_parameters(vectors: Any, index: ANNIndex) -> None:
    items, queries = vectors
    with pytest.raises(ParameterError, match="kind"):
        ANNIndex.build(items, "lsh")  # type: ignore[arg-type]
    with pytest.raises(ParameterError, match="nprobe"):
        ANNIndex.build(items, "hnsw", nprobe=4)
    with pytest.raises(ParameterError, match="mips"):
        ANNIndex.build(items, "ivf", mips="cosine")
    with pytest.raises(ParameterError, match="2-D"):
        ANNIndex.build(items[0], "hnsw")
    with pytest.raises(DataError, match="NaN"):
        ANNIndex.build(np.full((5, 2), np.nan), "hnsw")
    with pytest.raises(ParameterError, match="16-d"):
        index.search(queries[:, :4], 10)
    with pytest.raises(ParameterError, match="one id array per query"):
        index.search(queries[:2], 10, exclude=[np.arange(3)])
    with pytest.raises(ParameterError, match="out of range"):
        index.search(queries[:1], 10, exclude=[np.array([len(items)])])
    with pytest.raises(ParameterError, match="'k'"):
        index.search(queries[:1], 0)
    with pytest.raises(ParameterError, match="set_search_params"):
        index.set_search_params(M=3)
