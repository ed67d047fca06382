"""Approximate top-k retrieval for embedding models, with faiss (HNSW or IVF).

Exact top-k (`Recommender.recommend`) stays the default and is the right choice for small
catalogues. An embedding model, one whose score is an inner product s(u, i) = U[u]·V[i] (see
`retrieval_vectors`), can instead index its item vectors once and answer a user in a small
fraction of an exact scan's time, for a small loss of recall (measured figures:
benchmarks/README.md (ann)):

    U, V = retrieval_vectors(model)                      # float32 [n_users, d'], [n_items, d']
    index = ANNIndex.build(V, kind="hnsw")               # or kind="ivf"
    ids, scores = recommend_ann(model, index, users, k=10)

Only the candidate search is approximate. Excluded items (a user's training items) are removed
exactly: the index is asked for k + |excluded| candidates (or, for a long history, told to skip
the excluded ids), so no excluded item ever comes back and k items come back whenever k remain;
the scores returned are the exact inner products, recomputed from the stored vectors, ordered
best first with ties to the lower id, as `recommend` orders them.

faiss is optional: `pip install 'recforge[ann]'`.
"""

from __future__ import annotations

import hashlib
import json
import math
from collections.abc import Sequence
from pathlib import Path
from typing import TYPE_CHECKING, Any, ClassVar, Literal

import numpy as np

from recforge import atomic_dir
from recforge._validation import check_choice, check_int
from recforge.errors import DataError, ParameterError, UnsupportedOperationError

if TYPE_CHECKING:
    from recforge.models.base import Recommender

__all__ = ["EMBEDDING_MODELS", "ANNIndex", "recommend_ann", "retrieval_vectors"]

# Registered models whose score is an inner product of stored (or once-computed) vectors; for
# the next-item models a user's vector is the state after their stored sequence.
EMBEDDING_MODELS = (
    "svd",
    "svdpp",
    "nmf",
    "als",
    "pmf",
    "bpmf",
    "ials",
    "bpr",
    "puresvd",
    "torchmf",
    "gmf",
    "twotower",
    "lightgcn",
    "sasrec",
    "gru4rec",
    "caser",
    "bert4rec",
)

FORMAT = "recforge-ann"
FORMAT_VERSION = 1
MANIFEST_FILE = "ann.json"
INDEX_FILE = "index.faiss"

KINDS = ("hnsw", "ivf")
CANDIDATE_BUDGET = 1 << 16  # candidates rescored at once (rows × candidates per row)
# Defaults checked on trained iALS models (ML-100K and a 1M-item synthetic log; bench_ann.py
# --trained) as well as on bench_ann.py's generated catalogue: a larger ef_search (hnsw) or
# nprobe (ivf) raises recall@10 against exact search and the latency with it. IVF is the default
# kind: on the 1M-item trained model it keeps recall close to exact at its default nprobe, where
# no ef_search or mips of HNSW came close. Measured figures: benchmarks/README.md (ann).
HNSW_DEFAULTS: dict[str, Any] = {"M": 32, "ef_construction": 100, "ef_search": 128, "mips": "ip"}
IVF_DEFAULTS: dict[str, Any] = {"nlist": None, "nprobe": 64, "mips": "l2"}


def _faiss() -> Any:
    """The faiss module, or UnsupportedOperationError with the install hint."""
    try:
        import faiss
    except ImportError:
        raise UnsupportedOperationError(
            "approximate retrieval needs faiss, which is not installed: pip install 'recforge[ann]'"
        ) from None
    return faiss


# ---------------------------------------------------------------------------- model vectors
def retrieval_vectors(model: Recommender) -> tuple[np.ndarray, np.ndarray]:
    """(U float32 [n_users, d'], V float32 [n_items, d']) with model.score(u) == U[u] @ V.T up to
    float rounding; raises UnsupportedOperationError for a model that is not an inner product."""
    _check_embedding_model(model)
    model._check_fitted("retrieval_vectors")
    users, items = model.retrieval_vectors()  # type: ignore[attr-defined]
    return users, items


def _check_embedding_model(model: Recommender) -> None:
    if not callable(getattr(model, "retrieval_vectors", None)) or not callable(
        getattr(model, "retrieval_user_vectors", None)
    ):
        raise UnsupportedOperationError(
            f"{type(model).__name__} is not an embedding model; ANN retrieval needs one of: "
            f"{', '.join(EMBEDDING_MODELS)}"
        )


def recommend_ann(
    model: Recommender,
    index: ANNIndex,
    users: Any,
    k: int = 10,
    exclude_seen: bool = True,
) -> tuple[np.ndarray, np.ndarray]:
    """`model.recommend(users, k, exclude_seen)` answered from `index` (built on the model's
    item vectors, `retrieval_vectors(model)[1]`).

    users: user indices [B] (a single int gives one row).
    Returns (ids int32 [B, k'], scores float32 [B, k']) with k' = min(k, n_items), best first,
    ties to the lower index; the user's training items (model.excluded()) are never returned when
    exclude_seen; rows are padded with id -1 and score -inf only where fewer than k' items remain.
    """
    _check_embedding_model(model)
    model._check_fitted("recommend_ann")
    if not isinstance(index, ANNIndex):
        raise ParameterError(
            f"recommend_ann needs an ANNIndex (ANNIndex.build(retrieval_vectors(model)[1])); "
            f"got {type(index).__name__}"
        )
    k = check_int(k, "k", "recommend_ann", low=1)
    u = model._as_users(users, "recommend_ann")
    if index.n_items != model.n_items_:
        raise ParameterError(
            f"the index holds {index.n_items} items but {type(model).__name__} has "
            f"{model.n_items_}; build it from retrieval_vectors(model)[1]"
        )
    queries = model.retrieval_user_vectors(u)  # type: ignore[attr-defined]
    if queries.shape[1] != index.dim:
        raise ParameterError(
            f"the index has {index.dim}-d vectors but {type(model).__name__}'s retrieval vectors "
            f"are {queries.shape[1]}-d; build it from retrieval_vectors(model)[1]"
        )
    exclude = None
    if exclude_seen:
        excluded = model.excluded()
        indptr, indices = excluded.indptr, excluded.indices
        exclude = [indices[indptr[user] : indptr[user + 1]] for user in u]
    return index.search(queries, k, exclude=exclude)


# ---------------------------------------------------------------------------- the index
class ANNIndex:
    """A faiss index over item vectors [n_items, d] for maximum inner product search.

    Build with `ANNIndex.build`, or read one written by `save` with `ANNIndex.load`.

    kind "hnsw" (faiss IndexHNSWFlat): a proximity graph; M links per node, ef_construction
    candidates while inserting, ef_search while searching (recall and latency grow with it).
    kind "ivf" (faiss IndexIVFFlat): k-means partitions the items into nlist lists (default
    4·√n, at most n/39 so that every centroid has its 39 training points) and a query scans
    the nprobe lists nearest to it.

    mips says how inner products are searched: "ip" searches faiss's METRIC_INNER_PRODUCT
    directly; "l2" uses the MIPS → L2 reduction (each item gets the extra coordinate
    √(max‖v‖² − ‖v‖²) and each query 0, so the nearest item in L2 is the one of largest inner
    product). On embeddings with popularity-like norms (the catalogue of benchmarks/bench_ann.py,
    and trained iALS) the reduction costs HNSW recall at its default search depth (the extra
    coordinate is large for every low-norm item, which seems to leave the graph a poor guide) but
    raises IVF's recall and speed (k-means partitions L2 space, which the reduction makes the
    right space). So the defaults are "ip" for hnsw and "l2" for ivf.

    Which kind: "ivf" (the default) holds its recall on large trained catalogues; "hnsw" can be
    faster on small or well-spread ones but lost much recall on a 1M-item trained model at every
    setting measured (benchmarks/README.md, ann), so check it on yours (`recforge index --check`).

    Search is batch-friendly: one faiss call per group of rows needing a similar number of
    candidates. `overfetch_limit`: a row whose k + |excluded| is above it (a user with a long
    history) is searched alone with a faiss ID selector that skips its excluded items, HNSW
    looking overfetch_limit deep, since over-fetching would make HNSW search k + |excluded|
    deep (several times slower for a long history, for about the same recall).
    A row where the approximate search finds fewer than k eligible items although k remain
    falls back to an exact scan of all items.
    """

    overfetch_limit: ClassVar[int] = 512

    def __init__(
        self,
        index: Any,
        vectors: np.ndarray,
        kind: str,
        mips: str,
        params: dict[str, Any],
        meta: dict[str, Any] | None = None,
    ) -> None:
        """Use `build` or `load`; `vectors` float32 [n, d] are the item vectors (a view of the
        HNSW storage, or a copy for IVF, whose lists hold them in cluster order)."""
        self._index = index
        self._vectors = vectors
        self._kind = kind
        self._mips = mips
        self._params = params
        self.meta: dict[str, Any] = dict(meta or {})  # what `save` records beside the index

    # ------------------------------------------------------------------ properties
    @property
    def n_items(self) -> int:
        """Number of indexed items n (ids are 0 … n-1)."""
        return int(self._vectors.shape[0])

    @property
    def dim(self) -> int:
        """Dimension d of the item and query vectors."""
        return int(self._vectors.shape[1])

    @property
    def kind(self) -> str:
        """ "hnsw" or "ivf"."""
        return self._kind

    @property
    def mips(self) -> str:
        """ "ip" (faiss inner product metric) or "l2" (the MIPS → L2 reduction)."""
        return self._mips

    @property
    def params(self) -> dict[str, Any]:
        """The build and search parameters (M, ef_construction, ef_search; nlist, nprobe)."""
        return dict(self._params)

    @property
    def vectors(self) -> np.ndarray:
        """The item vectors float32 [n, d] (read-only)."""
        view = self._vectors.view()
        view.flags.writeable = False
        return view

    @property
    def faiss_index(self) -> Any:
        """The faiss index itself (to inspect or serialise; adding items to it breaks this
        wrapper, whose ids and vectors it would no longer match)."""
        return self._index

    def set_search_params(self, **knobs: int) -> None:
        """Change the search-time knob: ef_search (hnsw) or nprobe (ivf, at most nlist); a
        higher value finds more of the true top-k, more slowly. Kept by `save`."""
        allowed = ("ef_search",) if self._kind == "hnsw" else ("nprobe",)
        unknown = sorted(set(knobs) - set(allowed))
        if unknown:
            raise ParameterError(
                f"set_search_params has no parameter {unknown[0]!r} for a {self._kind} index; "
                f"it takes: {', '.join(allowed)}"
            )
        if "ef_search" in knobs:
            ef = check_int(knobs["ef_search"], "ef_search", "set_search_params", low=1)
            self._index.hnsw.efSearch = ef
            self._params["ef_search"] = ef
        if "nprobe" in knobs:
            nlist = int(self._params["nlist"])
            nprobe = check_int(knobs["nprobe"], "nprobe", "set_search_params", low=1, high=nlist)
            self._index.nprobe = nprobe
            self._params["nprobe"] = nprobe

    def __repr__(self) -> str:
        knobs = ", ".join(f"{k}={v!r}" for k, v in self._params.items())
        return f"ANNIndex(kind={self._kind!r}, n_items={self.n_items}, dim={self.dim}, {knobs})"

    # ------------------------------------------------------------------ building
    @classmethod
    def build(
        cls,
        item_vectors: np.ndarray,
        kind: Literal["hnsw", "ivf"] = "ivf",
        **params: Any,
    ) -> ANNIndex:
        """Index item vectors float [n, d] (row i is item i).

        hnsw params: M (32), ef_construction (100), ef_search (128), mips ("ip").
        ivf params: nlist (4·√n; at most n/39), nprobe (64; at most nlist), mips ("l2").
        faiss builds on all its OpenMP threads (faiss.omp_set_num_threads to change).
        """
        faiss = _faiss()
        kind_name = check_choice(kind, "kind", KINDS, "ANNIndex.build")
        vectors = _as_matrix(item_vectors, "item_vectors", "ANNIndex.build")
        n, d = vectors.shape
        if n == 0:
            raise DataError("ANNIndex.build needs at least one item vector")
        if not bool(np.isfinite(vectors).all()):
            raise DataError("ANNIndex.build: the item vectors hold NaN or infinite values")
        defaults = HNSW_DEFAULTS if kind_name == "hnsw" else IVF_DEFAULTS
        unknown = sorted(set(params) - set(defaults))
        if unknown:
            raise ParameterError(
                f"ANNIndex.build has no parameter {unknown[0]!r} for kind {kind_name!r}; its "
                f"parameters are: {', '.join(defaults)}"
            )
        p = defaults | params
        mips = check_choice(p["mips"], "mips", ("ip", "l2"), "ANNIndex.build")
        data = _augment_items(vectors) if mips == "l2" else vectors
        width = data.shape[1]
        metric = faiss.METRIC_INNER_PRODUCT if mips == "ip" else faiss.METRIC_L2
        if kind_name == "hnsw":
            M = check_int(p["M"], "M", "ANNIndex.build", low=2)
            ef_c = check_int(p["ef_construction"], "ef_construction", "ANNIndex.build", low=1)
            ef_s = check_int(p["ef_search"], "ef_search", "ANNIndex.build", low=1)
            index = faiss.IndexHNSWFlat(width, M, metric)
            index.hnsw.efConstruction = ef_c
            index.hnsw.efSearch = ef_s
            index.add(data)
            stored = _hnsw_vectors(faiss, index, d)
            final = {"M": M, "ef_construction": ef_c, "ef_search": ef_s}
        else:
            default_nlist = round(4.0 * math.sqrt(n))
            nlist = p["nlist"] if p["nlist"] is not None else default_nlist
            nlist = min(check_int(nlist, "nlist", "ANNIndex.build", low=1), max(1, n // 39))
            nprobe = min(check_int(p["nprobe"], "nprobe", "ANNIndex.build", low=1), nlist)
            index = faiss.index_factory(width, f"IVF{nlist},Flat", metric)
            index.train(data)
            index.add(data)
            index.nprobe = nprobe
            index.make_direct_map()  # lets `load` read the vectors back in item order
            stored = np.array(vectors, dtype=np.float32, order="C")
            final = {"nlist": nlist, "nprobe": nprobe}
        return cls(index, stored, kind_name, mips, final | {"mips": mips})

    # ------------------------------------------------------------------ searching
    def search(
        self,
        queries: np.ndarray,
        k: int,
        exclude: Sequence[np.ndarray] | None = None,
    ) -> tuple[np.ndarray, np.ndarray]:
        """Top-k items by inner product for queries float [B, d] ([d]: one query).

        exclude: per query, item ids [e_b] that must not be returned (None: none).
        Returns (ids int32 [B, k'], scores float32 [B, k']) with k' = min(k, n_items): best
        first, ties to the lower id, the scores exact inner products; padded with -1 / -inf only
        where fewer than k' items are left after the exclusions.
        """
        q = _as_matrix(queries, "queries", "ANNIndex.search", one_row=True)
        if q.shape[1] != self.dim:
            raise ParameterError(
                f"The queries passed to ANNIndex.search must be {self.dim}-d like the index. "
                f"Got shape {q.shape} instead."
            )
        B, n = q.shape[0], self.n_items
        k = min(check_int(k, "k", "ANNIndex.search", low=1), n)
        excluded = self._exclusions(exclude, B)
        ids = np.full((B, k), -1, dtype=np.int32)
        scores = np.full((B, k), -np.inf, dtype=np.float32)
        if B == 0:
            return ids, scores
        counts = np.array([e.size for e in excluded], dtype=np.int64)
        need = np.minimum(k + counts, n)
        fetch = np.minimum(2 ** np.ceil(np.log2(need)).astype(np.int64), n)  # groups of rows
        alone = need > self.overfetch_limit
        for size in np.unique(fetch[~alone]):
            rows = np.flatnonzero((fetch == size) & ~alone)
            step = max(1, CANDIDATE_BUDGET // int(size))  # bounds the rescoring arrays
            for start in range(0, rows.size, step):
                part = rows[start : start + step]
                found = self._raw_search(q[part], int(size))
                self._finish(q, part, found, excluded, k, ids, scores)
        for row in np.flatnonzero(alone):
            found = self._raw_search(
                q[row : row + 1], k, exclude=excluded[row], depth=self.overfetch_limit
            )
            self._finish(q, np.array([row]), found, excluded, k, ids, scores)
        # rows the approximate search left short although k items remain: scan them exactly
        left = np.minimum(k, n - counts)
        short = np.flatnonzero(np.count_nonzero(ids >= 0, axis=1) < left)
        for row in short:
            self._finish(q, np.array([row]), self._exact_candidates(q[row], k, excluded[row]),
                         excluded, k, ids, scores)  # fmt: skip
        return ids, scores

    def _exclusions(self, exclude: Sequence[np.ndarray] | None, B: int) -> list[np.ndarray]:
        """Sorted unique int64 id arrays, one per query."""
        if exclude is None:
            return [np.zeros(0, dtype=np.int64)] * B
        if len(exclude) != B:
            raise ParameterError(
                f"The 'exclude' parameter of ANNIndex.search must hold one id array per query "
                f"({B}). Got {len(exclude)} instead."
            )
        out = []
        for e in exclude:
            arr = np.asarray(e)
            if arr.size == 0:
                out.append(np.zeros(0, dtype=np.int64))
                continue
            if arr.ndim != 1 or arr.dtype.kind not in "iu":
                raise ParameterError(
                    "The 'exclude' parameter of ANNIndex.search must hold 1-D integer id "
                    f"arrays. Got dtype {arr.dtype}, shape {arr.shape} instead."
                )
            arr = np.unique(arr.astype(np.int64))
            if arr[0] < 0 or arr[-1] >= self.n_items:
                bad = arr[0] if arr[0] < 0 else arr[-1]
                raise ParameterError(
                    f"item id {int(bad)} in 'exclude' of ANNIndex.search is out of range "
                    f"[0, {self.n_items})"
                )
            out.append(arr)
        return out

    def _raw_search(
        self, q: np.ndarray, size: int, exclude: np.ndarray | None = None, depth: int = 0
    ) -> Any:
        """faiss's candidate ids int64 [R, size] (-1 where it found fewer) for queries [R, d],
        skipping the ids `exclude` when given; HNSW looks at least max(size, depth) deep."""
        faiss = _faiss()
        data = np.ascontiguousarray(q, dtype=np.float32)
        if self._mips == "l2":
            data = np.hstack([data, np.zeros((data.shape[0], 1), dtype=np.float32)])
        selector = None
        if exclude is not None and exclude.size:
            selector = faiss.IDSelectorNot(faiss.IDSelectorBatch(exclude))
        if self._kind == "hnsw":
            # faiss's HNSW keeps only ef candidates: the search must look at least `size` deep
            ef = max(int(self._params["ef_search"]), size, depth)
            params = faiss.SearchParametersHNSW(efSearch=ef, sel=selector)
        else:
            params = faiss.SearchParametersIVF(nprobe=int(self._params["nprobe"]), sel=selector)
        _, found = self._index.search(data, size, params=params)
        return found

    def _exact_candidates(self, query: np.ndarray, k: int, exclude: np.ndarray) -> np.ndarray:
        """The exact top candidates int64 [1, ≤ k + 8] of one query [d] among the eligible items
        (a margin over k, so that float32 rounding of the scan cannot drop a true top-k item)."""
        scores = self._vectors @ np.asarray(query, dtype=np.float32)
        scores[exclude] = -np.inf
        take = min(k + 8, scores.size)
        top = np.argpartition(-scores, take - 1)[:take]
        return np.where(np.isfinite(scores[top]), top, -1)[None, :].astype(np.int64)

    def _finish(
        self,
        q: np.ndarray,
        rows: np.ndarray,
        found: np.ndarray,
        excluded: list[np.ndarray],
        k: int,
        ids: np.ndarray,
        scores: np.ndarray,
    ) -> None:
        """Write rows' top k of the candidates `found` [R, C] into ids / scores: excluded and
        missing (-1) candidates dropped, the rest scored exactly (float64 inner products of the
        float32 vectors), best first, ties to the lower id."""
        n = self.n_items
        cand = np.asarray(found, dtype=np.int64)
        valid = cand >= 0
        key = rows[:, None].astype(np.int64) * n + cand  # (row, id) as one int64
        banned = [r * n + excluded[r] for r in rows if excluded[r].size]
        if banned:
            valid &= ~np.isin(key, np.concatenate(banned))
        safe = np.where(valid, cand, 0)
        exact = np.einsum(
            "rcd,rd->rc",
            self._vectors[safe].astype(np.float64),
            q[rows].astype(np.float64),
        )
        exact = np.where(valid, exact, -np.inf).astype(np.float32)
        order = np.lexsort((np.where(valid, cand, n), -exact), axis=1)[:, :k]
        top_ids = np.take_along_axis(np.where(valid, cand, -1), order, axis=1)
        top_scores = np.take_along_axis(exact, order, axis=1)
        width = top_ids.shape[1]
        ids[rows, :width] = top_ids
        scores[rows, :width] = top_scores
        ids[rows, width:] = -1
        scores[rows, width:] = -np.inf

    # ------------------------------------------------------------------ persistence
    def save(self, directory: str | Path) -> Path:
        """Write the index as `directory` (ann.json and index.faiss, faiss's own binary format;
        no pickle), replacing an index directory already there, atomically. `meta` (JSON
        values, e.g. which model the index was built for) is recorded in ann.json."""
        faiss = _faiss()
        target = Path(directory)
        if target.exists() and not (
            target.is_dir() and ((target / MANIFEST_FILE).is_file() or not any(target.iterdir()))
        ):
            raise DataError(
                f"{target}: exists and is not a recforge ANN index directory; choose a new path"
            )
        target.parent.mkdir(parents=True, exist_ok=True)
        staging = atomic_dir.staging_dir(target)
        try:
            index_path = staging / INDEX_FILE
            faiss.write_index(self._index, str(index_path))
            manifest = {
                "format": FORMAT,
                "format_version": FORMAT_VERSION,
                "faiss_version": getattr(faiss, "__version__", "?"),
                "kind": self._kind,
                "mips": self._mips,
                "n_items": self.n_items,
                "dim": self.dim,
                "params": self._params,
                "meta": self.meta,
                "index_sha256": _sha256(index_path),
            }
            (staging / MANIFEST_FILE).write_text(json.dumps(manifest, indent=1))
            atomic_dir.publish(staging, target)
        except BaseException:
            atomic_dir.discard(staging)
            raise
        return target

    @classmethod
    def load(cls, directory: str | Path) -> ANNIndex:
        """Read an index written by `save` (its file hash checked first)."""
        faiss = _faiss()
        where = atomic_dir.resolve(directory)  # every file from one save (see atomic_dir)
        try:
            manifest = json.loads((where / MANIFEST_FILE).read_text())
        except FileNotFoundError:
            raise DataError(f"{where}: no recforge ANN index there (no {MANIFEST_FILE})") from None
        except (json.JSONDecodeError, UnicodeDecodeError) as exc:
            raise DataError(
                f"{where / MANIFEST_FILE}: the index manifest is damaged ({exc})"
            ) from None
        if not isinstance(manifest, dict) or manifest.get("format") != FORMAT:
            raise DataError(f"{where}: not a recforge ANN index")
        if manifest.get("format_version") != FORMAT_VERSION:
            raise DataError(
                f"{where}: ANN index format {manifest.get('format_version')} cannot be read by "
                f"this recforge (format {FORMAT_VERSION}); rebuild the index"
            )
        index_path = where / INDEX_FILE
        if not index_path.is_file() or _sha256(index_path) != manifest.get("index_sha256"):
            raise DataError(f"{index_path}: missing or damaged (its SHA-256 does not match)")
        index = faiss.read_index(str(index_path))
        kind, mips, d = manifest["kind"], manifest["mips"], int(manifest["dim"])
        if kind == "hnsw":
            vectors = _hnsw_vectors(faiss, index, d)
        else:
            vectors = np.ascontiguousarray(index.reconstruct_n(0, index.ntotal)[:, :d])
        if vectors.shape != (int(manifest["n_items"]), d):
            raise DataError(f"{where}: the index does not match its manifest")
        return cls(index, vectors, kind, mips, dict(manifest["params"]), manifest.get("meta"))


# ---------------------------------------------------------------------------- helpers
def _as_matrix(values: Any, name: str, owner: str, *, one_row: bool = False) -> np.ndarray:
    arr = np.asarray(values)
    if one_row and arr.ndim == 1:
        arr = arr[None, :]
    if arr.ndim != 2 or arr.dtype.kind not in "fiu":
        raise ParameterError(
            f"The {name!r} parameter of {owner} must be a 2-D float array. Got "
            f"{'dtype ' + str(arr.dtype) + ', ' if arr.dtype.kind not in 'fiu' else ''}"
            f"shape {arr.shape} instead."
        )
    return np.ascontiguousarray(arr, dtype=np.float32)


def _augment_items(vectors: np.ndarray) -> np.ndarray:
    """The MIPS → L2 reduction of items [n, d]: [v, √(max‖v‖² − ‖v‖²)] as float32 [n, d + 1]."""
    sq = np.einsum("nd,nd->n", vectors, vectors, dtype=np.float64)
    extra = np.sqrt(np.maximum(sq.max() - sq, 0.0))
    return np.hstack([vectors, extra[:, None]]).astype(np.float32)


class _Owned:
    """Exposes a numpy view of faiss-owned memory while holding the faiss object, so that the
    array made from it (whose base this is) keeps the memory alive."""

    def __init__(self, owner: Any, view: np.ndarray) -> None:
        self.owner = owner
        self.__array_interface__ = view.__array_interface__


def _hnsw_vectors(faiss: Any, index: Any, d: int) -> np.ndarray:
    """The item vectors [n, d] as a view of the HNSW index's flat storage (no copy; the first d
    columns when the reduction added one); the view keeps the index alive."""
    storage = faiss.downcast_index(index.storage)
    width = int(storage.d)
    flat = faiss.rev_swig_ptr(storage.get_xb(), int(index.ntotal) * width)
    full = np.asarray(_Owned(index, np.asarray(flat).reshape(int(index.ntotal), width)))
    return full[:, :d]


def _sha256(path: Path) -> str:
    digest = hashlib.sha256()
    with path.open("rb") as fh:
        for block in iter(lambda: fh.read(1 << 20), b""):
            digest.update(block)
    return digest.hexdigest()
